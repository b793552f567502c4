"""Signing in through the organisation's identity provider (OpenID Connect), and the admin's page for
connecting it. The rules of who gets in are kidrate.sign_on.rules (pure); this module reads the request,
asks the provider through Authlib, and records every step in the audit log (never a token)."""

from __future__ import annotations

import re
import time

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from kidrate.extensions import db, rate_limits
from kidrate.models import SignOnProvider, Unit, User, UserIdentity, utcnow
from kidrate.protection.access import (
    allow,
    allow_forms_to,
    audit,
    begin_second_step,
    current_staff_session,
    end_sessions_of,
    public,
    safe_next,
)
from kidrate.protection.accounts import user_for_link_token
from kidrate.sign_on import client as provider_client
from kidrate.sign_on import identities
from kidrate.sign_on.client import CLOCK_SKEW_SECONDS, ProviderError
from kidrate.sign_on.rules import ROLES, decide, group_lines, parse_group_lines, person_from_claims
from kidrate.staff import bp
from kidrate.staff.account import complete_sign_in
from kidrate.staff.forms import EmptyForm, SignOnForm
from kidrate.staff.tablet import hand_over_case_id, locked_page, unlocked

FLOW_KEY = "sign_on"


def _refusals() -> dict[str, str]:
    return {
        "unknown_person": _("Your account at your organisation is not connected to an account here. Ask your "
                            "organisation's kidrate administrator for an invitation, and open it before signing in."),
        "no_group": _("Your account at your organisation is not in a group that gives access to kidrate. Ask your "
                      "organisation's administrator."),
        "inactive": _("Your account here is switched off. Ask your organisation's kidrate administrator."),
        "no_mfa": _("Your organisation requires that you sign in with more than one factor (such as a code or an "
                    "app), and your organisation's sign-in did not confirm that you did. Sign in again with your "
                    "second factor."),
        "other_organisation": _("Your account here belongs to another organisation than the one you signed in "
                                "through."),
        "linked_elsewhere": _("Your account at your organisation is already connected to another account here. "
                              "Ask your organisation's kidrate administrator."),
        "state": _("The sign-in could not be completed: it was started in another window, or took too long, "
                   "or already used. Start again."),
        "provider_error": _("Your organisation's account service did not complete the sign-in. Start again; if "
                            "it keeps happening, tell your organisation's kidrate administrator."),
        "token": _("The answer from your organisation's account service could not be trusted, so you were not "
                   "signed in. Tell your organisation's kidrate administrator."),
        "unreachable": _("Your organisation's account service did not answer. Try again in a while, or sign in "
                         "with a password if your organisation allows it."),
        "not_available": _("Signing in through this organisation's account service is not switched on."),
    }


def _refused(reason: str, *, user_id: int | None = None, organisation_id: int | None = None, status: int = 403):
    # Recorded in the organisation's log; a request that names no organisation (a guessed address, an
    # answer nobody started) is nobody's to read, and would only let anyone fill the log.
    if organisation_id is not None or user_id is not None:
        audit("sign_in_refused", user_id=user_id, target=f"provider:{reason}", organisation_id=organisation_id)
        db.session.commit()
    return render_template("staff/sign_on_refused.html", message=_refusals()[reason]), status


@bp.after_request
def _forms_may_go_to_the_provider(response):
    """A session that came from the provider signs out (and unlocks a handed-over device) through it: its
    pages' forms may end there (access.allow_forms_to; the invitation's page says so itself)."""
    row = g.get("staff_session")  # as the request found it: no new query
    try:
        if row is not None and row.provider_id is not None:
            provider = db.session.get(SignOnProvider, row.provider_id)
            if provider is not None:
                allow_forms_to(*provider_client.form_origins(provider))
    except SQLAlchemyError:  # the database went away: the error page needs no form to the provider
        pass
    return response


def _callback_url() -> str:
    return current_app.config["KIDRATE"].base_url + url_for("staff.sign_on_callback")


@bp.get("/sign-in/provider/<int:organisation_id>")
@public
@rate_limits.sign_in
def sign_on_start(organisation_id: int):
    provider = identities.enabled_provider(db.session, organisation_id)
    if provider is None:
        return _refused("not_available", status=404)
    return _sign_in_at(provider, next=safe_next(request.args.get("next")))


def _to_provider(provider: SignOnProvider, flow: dict, **params):
    """Authlib's redirect to the provider's sign-in, the flow kept for the callback; None where the
    provider does not answer as its issuer."""
    client = provider_client.client_for(provider)
    try:
        provider_client.checked_metadata(client, provider.issuer)
    except ProviderError:
        return None
    session[FLOW_KEY] = {"provider": provider.id, **flow}
    return client.authorize_redirect(_callback_url(), **params)


def _sign_in_at(provider: SignOnProvider, **flow):
    return (_to_provider(provider, flow, ui_locales=session.get("locale") or None)
            or _refused("unreachable", organisation_id=provider.organisation_id, status=502))


@bp.get("/sign-in/provider/callback")
@public
@rate_limits.sign_in
def sign_on_callback():
    flow = session.pop(FLOW_KEY, None)
    started = isinstance(flow, dict) and isinstance(flow.get("provider"), int)
    provider = db.session.get(SignOnProvider, flow["provider"]) if started else None
    if provider is None or not provider.enabled:
        return _refused("state", status=400)
    locked = current_staff_session()
    if locked is not None and locked.locked and flow.get("unlock") != locked.id:
        return locked_page(status=400)  # a locked device signs nobody in: it only unlocks
    org_id = provider.organisation_id
    client = provider_client.client_for(provider)
    try:
        token = client.authorize_access_token(leeway=CLOCK_SKEW_SECONDS)
    except MismatchingStateError:
        return _refused("state", organisation_id=org_id, status=400)
    except OAuthError:
        return _refused("provider_error", organisation_id=org_id, status=400)
    except (JoseError, AuthlibBaseError):  # the signature (joserfc) or a claim (Authlib's checks) does not hold
        return _refused("token", organisation_id=org_id, status=400)
    except (RequestException, ValueError):
        return _refused("unreachable", organisation_id=org_id, status=502)
    claims = token.get("userinfo")  # the validated ID token's claims; none without an ID token
    person = person_from_claims(claims, provider.group_claim, provider.subject_claim) if claims else None
    if person is None:  # nothing vouched for, or nobody named by the organisation's claim
        return _refused("token", organisation_id=org_id, status=400)
    return _after_provider(provider, person, flow, claims)


def _after_provider(provider: SignOnProvider, person, flow: dict, claims):
    org_id = provider.organisation_id
    if flow.get("unlock") is not None:
        return _unlock(provider, person, flow, claims)
    linked = identities.linked_user(db.session, provider.issuer, person.subject)
    invited = db.session.get(User, flow["invited"]) if isinstance(flow.get("invited"), int) else None
    rules = identities.rules_of(provider)
    by_email = None
    if rules.trust_email and person.email and person.email_verified:
        by_email = db.session.scalar(select(User).where(User.organisation_id == org_id, User.email == person.email))
    decision = decide(person, rules, linked=identities.account_of(linked),
                      invited=identities.account_of(invited), by_email=identities.account_of(by_email))
    if decision.refused is not None:
        known = decision.account or identities.account_of(linked or invited)
        return _refused(decision.refused, user_id=known.id if known else None, organisation_id=org_id)
    user = db.session.get(User, decision.account.id) if decision.account is not None else _new_user(provider, person,
                                                                                                      decision)
    if decision.link or decision.create:
        identities.link(db.session, user, provider.issuer, person.subject)
        audit("identity_linked", user_id=user.id, target=f"user:{user.id}")
    if (decision.role is not None and (user.role, user.unit_id) != (decision.role, decision.unit_id)
            and not _last_admin(user, decision.role)):
        user.role, user.unit_id = decision.role, decision.unit_id
        audit("role_from_groups", user_id=user.id, target=f"user:{user.id}:role,unit")
    identities.used(db.session, provider.issuer, person.subject)
    target = safe_next(flow.get("next"))
    if decision.totp:  # the provider did not say it asked for a second factor: kidrate's own
        begin_second_step(user, "code" if user.totp_enabled_at is not None else "enrol", target, provider.id)
        db.session.commit()
        return redirect(url_for("staff.sign_in_code" if user.totp_enabled_at is not None else "staff.sign_in_enrol"))
    return complete_sign_in(user, target, "mfa", provider.id)


def _last_admin(user: User, role: str) -> bool:
    """The groups would take the organisation's last active administrator's role: kept (as the admin
    pages keep it), so that someone can still mend the group rules."""
    if user.role != "admin" or role == "admin":
        return False
    return not db.session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == user.organisation_id, User.role == "admin", User.active.is_(True), User.id != user.id))


def _new_user(provider: SignOnProvider, person, decision) -> User:
    """An account for a person a group lets in, where the organisation turned that on."""
    base = re.sub(r"[^a-z0-9._@-]", "", (person.email or "").lower())[:60] or f"sso-{person.subject[:20]}"
    username, n = base, 1
    while db.session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        n += 1
        username = f"{base}-{n}"
    user = User(organisation_id=provider.organisation_id, unit_id=decision.unit_id, username=username,
                display_name=(person.name or person.email or username)[:120], role=decision.role,
                email=person.email if person.email_verified else None, locale=session.get("locale") or "sv")
    db.session.add(user)
    db.session.flush()
    audit("create_user", user_id=user.id, target=f"user:{user.id}")
    return user


@bp.post("/unlock/provider")
@allow("therapist")
@rate_limits.sign_in
def unlock_through_provider():
    """A device handed to a child, unlocked by the therapist signing in again at the organisation's
    provider: asked to sign in anew there (prompt=login, max_age=0), so the provider's own session on the
    device is not enough."""
    locked = current_staff_session()
    if locked is None or not locked.locked:
        return redirect(url_for("staff.home"))
    if not EmptyForm().validate_on_submit():
        return locked_page(status=400)
    provider = db.session.get(SignOnProvider, locked.provider_id) if locked.provider_id else None
    if provider is None or not provider.enabled:
        return locked_page(status=400)
    return (_to_provider(provider, {"unlock": locked.id, "at": int(time.time())}, prompt="login", max_age=0)
            or locked_page(status=502, error=_refusals()["unreachable"]))


def _unlock(provider: SignOnProvider, person, flow: dict, claims):
    """The therapist of the locked session signed in again at the provider, just now: the device unlocks
    as with the password. Anyone else, or an old sign-in, leaves it locked."""
    locked = current_staff_session()
    user = db.session.get(User, locked.user_id) if locked is not None and locked.locked else None
    linked = identities.linked_user(db.session, provider.issuer, person.subject)
    auth_time = claims.get("auth_time")
    fresh = isinstance(auth_time, int | float) and auth_time >= flow.get("at", 0) - CLOCK_SKEW_SECONDS
    case_id = hand_over_case_id(locked)
    if user is None or linked is None or linked.id != user.id or not user.active or not fresh:
        audit("unlock_failed", case_id=case_id, user_id=user.id if user else None)
        db.session.commit()
        return locked_page(status=403, error=_("That sign-in does not unlock this device: it must be the person "
                                               "who handed it over, signing in again now."))
    return unlocked(user, case_id)


@bp.post("/invite/<token>/provider")
@public
@rate_limits.sign_in
def sign_on_from_invitation(token: str):
    """Accepting an invitation by signing in through the organisation's provider: the person there is
    linked to the invited account."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = user_for_link_token(db.session, token, "invite")
    provider = identities.enabled_provider(db.session, user.organisation_id) if user is not None else None
    if user is None or provider is None or identities.identity_of(db.session, user) is not None:
        return render_template("staff/link_invalid.html"), 404
    return _sign_in_at(provider, invited=user.id)


# --- The admin's page -------------------------------------------------------------------------------


def _settings_problems() -> dict[str, str]:
    return {
        "issuer_form": _("Write the issuer's address as the provider gives it, such as https://login.example.se/realms/kommun."),
        "issuer_https": _("The issuer's address must begin with https://."),
        "unreachable": _("The provider did not answer at this address (its /.well-known/openid-configuration). "
                         "Check the address, and that this server may reach it."),
        "not_a_provider": _("The address answered, but not as an OpenID Connect provider."),
        "issuer_differs": _("The provider calls itself by another issuer address. Use exactly the one it gives."),
        "no_pkce": _("The provider does not support PKCE (S256), which kidrate requires."),
    }


def _group_problem(kind: str, line: int) -> str:
    return {
        "form": _("Line %(line)s: write “group = role” or “group = role, unit”.", line=line),
        "role": _("Line %(line)s: the role must be one of %(roles)s.", line=line, roles=", ".join(ROLES)),
        "unit": _("Line %(line)s: there is no unit by that name in your organisation.", line=line),
        "twice": _("Line %(line)s: that group already has a line above.", line=line),
    }[kind]


@bp.route("/admin/sign-on", methods=["GET", "POST"])
@allow("admin")
def admin_sign_on():
    org_id = g.user.organisation_id
    provider = identities.provider_of(db.session, org_id)
    units = {u.name: u.id for u in db.session.scalars(select(Unit).where(Unit.organisation_id == org_id))}
    used = _identity_used(org_id)
    form = SignOnForm(obj=provider) if request.method == "GET" and provider is not None else SignOnForm()
    if request.method == "GET" and provider is not None:
        form.group_roles_text.data = group_lines(identities.rules_of(provider).group_roles,
                                                 {v: k for k, v in units.items()})
        form.mfa_acr_text.data = " ".join(provider.mfa_acr_values or ())
    if form.validate_on_submit():
        saved = _save_settings(form, provider, units, used)
        if saved is not None:
            return saved
    callback = _callback_url()
    status = 400 if request.method == "POST" else 200
    return render_template("staff/admin_sign_on.html", form=form, provider=provider, callback=callback,
                           identities_used=used, sign_in_url=current_app.config["KIDRATE"].base_url
                           + url_for("staff.sign_on_start", organisation_id=org_id)), status


# What changed, in the audit log's short words (never a value: the secret least of all).
# (All of them fit the audit target's 80 characters.)
SETTING_CODES = {
    "issuer": "issuer", "client_id": "client", "client_secret": "secret", "subject_claim": "sub",
    "enabled": "on", "trust_email": "email", "group_claim": "claim", "extra_scopes": "scopes",
    "group_roles": "groups", "create_users": "create", "mfa_acr_values": "acr", "mfa_rule": "mfa",
    "passwords_off": "pw",
}


def _identity_used(org_id: int) -> bool:
    """Someone of the organisation has signed in through the provider: it works."""
    return bool(db.session.scalar(select(func.count()).select_from(UserIdentity).join(User)
                                  .where(User.organisation_id == org_id, UserIdentity.last_used_at.is_not(None))))


def _save_settings(form: SignOnForm, provider: SignOnProvider | None, units: dict[str, int], used: bool):
    issuer = form.issuer.data.strip()
    problem = provider_client.issuer_problem(issuer, production=current_app.config["KIDRATE"].production)
    if problem is None:
        try:
            provider_client.discover(issuer)
        except ProviderError as error:
            problem = error.args[0]
    if problem is not None:
        form.issuer.errors.append(_settings_problems()[problem])
    group_roles, problems = parse_group_lines(form.group_roles_text.data or "", units)
    form.group_roles_text.errors.extend(_group_problem(kind, line) for line, kind in problems)
    if provider is None and not form.client_secret.data:
        form.client_secret.errors.append(_("Give the client secret the provider made for kidrate."))
    if form.passwords_off.data and not used:
        form.passwords_off.errors.append(_("Passwords can be switched off once someone of your organisation has "
                                           "signed in through the provider."))
    if form.create_users.data and not group_roles:
        form.create_users.errors.append(_("Accounts can be made at sign-in only when groups decide the role."))
    if form.errors or problem is not None or problems:
        return None
    values = {
        "issuer": issuer, "client_id": form.client_id.data.strip(), "enabled": form.enabled.data,
        "subject_claim": (form.subject_claim.data or "").strip() or "sub",
        "trust_email": form.trust_email.data, "group_claim": (form.group_claim.data or "").strip(),
        "extra_scopes": " ".join((form.extra_scopes.data or "").split()),
        "group_roles": [{"group": r.group, "role": r.role, "unit_id": r.unit_id} for r in group_roles],
        "create_users": form.create_users.data, "mfa_acr_values": (form.mfa_acr_text.data or "").split(),
        "mfa_rule": form.mfa_rule.data, "passwords_off": form.passwords_off.data,
    }
    creating = provider is None
    if creating:
        provider = SignOnProvider(organisation_id=g.user.organisation_id)
        db.session.add(provider)
    changed = [SETTING_CODES[name] for name, value in values.items() if getattr(provider, name, None) != value]
    for name, value in values.items():
        setattr(provider, name, value)
    if form.client_secret.data:
        provider.client_secret = form.client_secret.data
        changed.append(SETTING_CODES["client_secret"])
    provider.updated_at = utcnow()
    audit("sign_on_settings", target="created" if creating else ",".join(changed) or "none")
    db.session.commit()
    flash(_("The sign-in settings are saved."), "info")
    return redirect(url_for("staff.admin_sign_on"))


@bp.post("/admin/users/<int:user_id>/identity/remove")
@allow("admin")
def admin_user_unlink(user_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != g.user.organisation_id:
        abort(404)
    if identities.unlink(db.session, user):
        end_sessions_of(user, "unlinked")
        audit("identity_unlinked", target=f"user:{user.id}")
        flash(_("%(name)s's connection to the identity provider is removed.", name=user.display_name), "info")
    db.session.commit()
    return redirect(url_for("staff.admin_user_edit", user_id=user.id))

"""Signing in and out (password, then a two-factor code where the account has one), two-factor
set-up, accepting an invitation, resetting a password, choosing a language.

Every failed password or code counts against the account: after five in a row it is locked for a
while (kidrate/protection/two_factor.py has the backoff). A failure says the same whether the account exists,
is locked or the password was wrong.
"""

from __future__ import annotations

import time

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_, select, update

from kidrate.extensions import db, rate_limits
from kidrate.languages.i18n import LOCALE_COOKIE, STAFF_LOCALES
from kidrate.models import Organisation, SignOnProvider, User, utcnow
from kidrate.protection import two_factor
from kidrate.protection.access import (
    allow,
    allow_forms_to,
    audit,
    begin_second_step,
    current_staff_session,
    end_sessions_of,
    keep_signed_in,
    pending_provider,
    pending_target,
    pending_user,
    public,
    safe_next,
    sign_in,
    sign_out_session,
)
from kidrate.protection.accounts import check_password, hash_password, user_for_link_token
from kidrate.sign_on import client as provider_client
from kidrate.sign_on import identities
from kidrate.staff import bp
from kidrate.staff.forms import CodeForm, EmptyForm, EnrolForm, ProfileForm, SetPasswordForm, SignInForm

ALL_ROLES = ("social_worker", "therapist", "analyst", "admin", "auditor")
HOME_BY_ROLE = {
    "social_worker": "staff.case_list",
    "therapist": "staff.case_list",
    "analyst": "staff.report",
    "admin": "staff.admin_users",
    "auditor": "staff.audit_log",
}


def _password_failed() -> str:
    return _("Wrong username or password. After several failed attempts in a row, signing in pauses "
             "for a while.")


def _code_failed() -> str:
    return _("The code is not right. After several failed attempts in a row, signing in pauses for a while.")


@bp.get("/")
@allow(*ALL_ROLES)
def home():
    return redirect(url_for(HOME_BY_ROLE[g.user.role]))


# --- Signing in ----------------------------------------------------------------------------------


def _locked(user: User) -> bool:
    return two_factor.is_locked(user.locked_until, utcnow())


def _count_failure(user: User, step: str) -> None:
    """A failed password or code: counted in one UPDATE (parallel attempts all count), and the
    account locked when the count calls for it."""
    audit("sign_in_failed", user_id=user.id, target=step)
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(failed_sign_ins=User.failed_sign_ins + 1)
        .returning(User.failed_sign_ins)
    ).scalar_one()
    lock = two_factor.lock_for(failures)
    if lock is not None:
        db.session.execute(update(User).where(User.id == user.id).values(locked_until=utcnow() + lock))
        audit("sign_in_locked", user_id=user.id, target=f"minutes:{int(lock.total_seconds()) // 60}")


def _use_second_factor(user: User, raw: str, purpose: str) -> str | None:
    """"totp" or "recovery" when this is a valid code for the account, now used up; else None."""
    code = two_factor.clean_code(raw)
    if two_factor.looks_like_totp(code):
        step = two_factor.matching_step(user.totp_secret or "", code, time.time(), user.totp_last_step)
        if step is None:
            return None
        # Only if no later step was accepted meanwhile: of two requests with one code, one wins.
        claimed = db.session.execute(
            update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
        ).rowcount
        return "totp" if claimed == 1 else None
    # PostgreSQL locks the row, so that one recovery code cannot be spent twice at the same moment.
    db.session.refresh(user, with_for_update=True)
    remaining = two_factor.use_recovery_code(user.recovery_codes, code)
    if remaining is None:
        return None
    user.recovery_codes = remaining
    audit("recovery_code_used", user_id=user.id, target=purpose)
    return "recovery"


def _start_session(user: User, method: str, provider_id: int | None = None) -> None:
    """Signed in: a fresh session, the failure count and any lock cleared, recorded (not committed).
    provider_id: the first step was the organisation's identity provider (method names the second)."""
    sign_in(user, provider_id)
    if provider_id is not None:
        method = f"provider+{method}"
    user.failed_sign_ins = 0
    user.locked_until = None
    audit("sign_in", user_id=user.id, target=method)


def complete_sign_in(user: User, target: str | None, method: str, provider_id: int | None = None):
    _start_session(user, method, provider_id)
    db.session.commit()
    if method == "recovery":
        flash(ngettext("You signed in with a recovery code; %(num)s is left. You can make new ones on the "
                       "two-factor page of your account.",
                       "You signed in with a recovery code; %(num)s are left. You can make new ones on the "
                       "two-factor page of your account.", len(user.recovery_codes or [])), "info")
    return redirect(target or url_for("staff.home"))


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
@public
@rate_limits.sign_in
def sign_in_page():
    if request.method == "GET" and "lang" in request.args:
        return _choose_language(request.args.get("lang", ""))
    form = SignInForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        # The password is checked in every case, so the time taken tells nothing either.
        password_ok = check_password(user, form.password.data)
        passwords_off = password_ok and identities.passwords_off(db.session, user)
        if user is not None and _locked(user):
            audit("sign_in_failed", user_id=user.id, target="locked")
        elif passwords_off and user.role != "admin":
            audit("sign_in_failed", user_id=user.id, target="password_off")
            db.session.commit()
            flash(_("Your organisation signs in through its own account service: use the button for it below."),
                  "error")
            return _sign_in_form(form, 400)
        elif password_ok:
            if passwords_off:
                # An admin's way back in when the provider fails: allowed, and on record.
                audit("password_recovery", user_id=user.id)
            target = safe_next(request.args.get("next"))
            if user.totp_enabled_at is not None:
                begin_second_step(user, "code", target)
                db.session.commit()
                return redirect(url_for("staff.sign_in_code"))
            if current_app.config["KIDRATE"].require_totp:
                begin_second_step(user, "enrol", target)
                db.session.commit()
                return redirect(url_for("staff.sign_in_enrol"))
            return complete_sign_in(user, target, "password")
        elif user is not None:
            _count_failure(user, "password")
        else:
            audit("sign_in_failed", target="password")
        db.session.commit()
        flash(_password_failed(), "error")
    return _sign_in_form(form, 200 if request.method == "GET" else 400)


def _sign_in_form(form: SignInForm, status: int):
    return render_template("staff/sign_in.html", form=form, staff_locales=STAFF_LOCALES,
                           next_target=request.args.get("next"),
                           providers=identities.sign_in_choices(db.session)), status


def _choose_language(code: str):
    """The language of the pages before signing in (Svenska / English on the sign-in page): kept in a
    cookie of its own, then the sign-in page again, at the same address without the choice in it."""
    response = redirect(url_for("staff.sign_in", next=request.args.get("next") or None))
    if code in STAFF_LOCALES:
        response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _sign_in_again():
    flash(_("Sign in again, please: the time for this step ran out."), "info")
    return redirect(url_for("staff.sign_in"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@public
@rate_limits.sign_in
def sign_in_code():
    user = pending_user("code")
    if user is None:
        return _sign_in_again()
    form = CodeForm()
    if form.validate_on_submit():
        if _locked(user):
            audit("sign_in_failed", user_id=user.id, target="locked")
        else:
            method = _use_second_factor(user, form.code.data, "sign_in")
            if method is not None:
                return complete_sign_in(user, pending_target(), method, pending_provider())
            _count_failure(user, "code")
        db.session.commit()
        form.code.errors.append(_code_failed())
    return render_template("staff/sign_in_code.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@public
@rate_limits.sign_in
def sign_in_enrol():
    """Two-factor is required and this account has none yet: setting it up is the only way on."""
    user = pending_user("enrol")
    if user is None:
        return _sign_in_again()
    return _enrolment(user, forced=True)


@bp.post("/sign-in/cancel")
@public
def sign_in_cancel():
    if not EmptyForm().validate_on_submit():
        abort(400)
    sign_out_session("signed_in_again")
    db.session.commit()
    return redirect(url_for("staff.sign_in"))


@bp.post("/sign-out")
@allow(*ALL_ROLES)
def sign_out():
    if not EmptyForm().validate_on_submit():
        abort(400)
    row = current_staff_session()
    provider = db.session.get(SignOnProvider, row.provider_id) if row is not None and row.provider_id else None
    sign_out_session()  # ends the session on the server: a copy of the cookie is dead too
    db.session.commit()
    flash(_("You have signed out."), "info")
    after = url_for("staff.sign_in")
    # Signed in through the organisation's provider: its session ends too, where it allows that.
    ending = provider_client.logout_url(provider, current_app.config["KIDRATE"].base_url + after) if provider else None
    return redirect(ending or after)


# --- Two-factor set-up ---------------------------------------------------------------------------


def _enrolment(user: User, *, forced: bool):
    """Show a secret as QR code and text; switch two-factor on once a code from it is confirmed."""
    if user.totp_secret is None:
        # Kept (not yet switched on) until confirmed, so reloading the page keeps the QR code scanned.
        user.totp_secret = two_factor.new_secret()
        db.session.commit()
    form = EnrolForm()
    if form.validate_on_submit():
        step = two_factor.matching_step(user.totp_secret, two_factor.clean_code(form.code.data), time.time(), None)
        if step is not None:
            codes = two_factor.new_recovery_codes()
            user.totp_enabled_at = utcnow()
            user.totp_last_step = step
            user.recovery_codes = [two_factor.recovery_hash(c) for c in codes]
            audit("totp_enrolled", user_id=user.id)
            if forced:
                target, provider_id = pending_target(), pending_provider()
                end_sessions_of(user, "two_factor")
                _start_session(user, "totp", provider_id)
            else:
                target = None
                keep_signed_in(user)
            db.session.commit()
            return render_template("staff/two_factor_codes.html", codes=codes, enrolled=True,
                                   next_url=target or url_for("staff.home"))
        form.code.errors.append(_("That code is not right. Check that the time on your phone is correct, "
                                  "and enter the code the app shows now."))
    uri = two_factor.provisioning_uri(user.totp_secret, user.username)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/two_factor_setup.html", form=form, forced=forced,
                           qr_svg=two_factor.qr_svg(uri, _("QR code to scan with the authenticator app")),
                           secret=two_factor.grouped(user.totp_secret)), status


def _manage_page(off_form: CodeForm | None = None, codes_form: CodeForm | None = None, status: int = 200):
    return render_template("staff/two_factor.html", off_form=off_form or CodeForm(prefix="off"),
                           codes_form=codes_form or CodeForm(prefix="codes"),
                           required=current_app.config["KIDRATE"].require_totp,
                           codes_left=len(g.user.recovery_codes or [])), status


def _refused_without_code(prefix: str, purpose: str):
    """The management page again (400) unless the form carries a valid current or recovery code."""
    form = CodeForm(prefix=prefix)
    page_form = {"off": "off_form", "codes": "codes_form"}[prefix]
    if not form.validate_on_submit():
        return _manage_page(**{page_form: form}, status=400)
    if _use_second_factor(g.user, form.code.data, purpose) is None:
        db.session.rollback()
        form.code.errors.append(_("The code is not right."))
        return _manage_page(**{page_form: form}, status=400)
    return None


@bp.route("/profile/two-factor", methods=["GET", "POST"])
@allow(*ALL_ROLES)
@rate_limits.sign_in
def two_factor_page():
    if g.user.totp_enabled_at is None:
        return _enrolment(g.user, forced=False)
    if request.method == "POST":
        return redirect(url_for("staff.two_factor_page"))  # already on (a form sent twice)
    return _manage_page()


@bp.post("/profile/two-factor/off")
@allow(*ALL_ROLES)
@rate_limits.sign_in
def two_factor_off():
    if g.user.totp_enabled_at is None:
        return redirect(url_for("staff.two_factor_page"))
    if current_app.config["KIDRATE"].require_totp:
        flash(_("Two-factor sign-in is required here and cannot be turned off."), "error")
        return redirect(url_for("staff.two_factor_page"))
    refused = _refused_without_code("off", "turn_off")
    if refused:
        return refused
    g.user.totp_secret = None
    g.user.totp_enabled_at = None
    g.user.totp_last_step = None
    g.user.recovery_codes = []
    audit("totp_disabled")
    keep_signed_in(g.user)
    db.session.commit()
    flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("staff.profile"))


@bp.post("/profile/two-factor/recovery-codes")
@allow(*ALL_ROLES)
@rate_limits.sign_in
def two_factor_recovery_codes():
    if g.user.totp_enabled_at is None:
        return redirect(url_for("staff.two_factor_page"))
    refused = _refused_without_code("codes", "renew")
    if refused:
        return refused
    codes = two_factor.new_recovery_codes()
    g.user.recovery_codes = [two_factor.recovery_hash(c) for c in codes]
    audit("recovery_codes_renewed")
    db.session.commit()
    return render_template("staff/two_factor_codes.html", codes=codes, enrolled=False,
                           next_url=url_for("staff.profile"))


# --- Passwords set through a link, and the profile ------------------------------------------------


def _set_password_via_link(token: str, purpose: str):
    user = user_for_link_token(db.session, token, purpose)
    # An invitation accepted by signing in through the organisation's provider is spent.
    if user is None or (purpose == "invite" and identities.identity_of(db.session, user) is not None):
        return render_template("staff/link_invalid.html"), 404
    provider = identities.enabled_provider(db.session, user.organisation_id) if purpose == "invite" else None
    if provider is not None:
        allow_forms_to(*provider_client.form_origins(provider))  # its button's form ends at the provider
    passwords = not (provider is not None and provider.passwords_off and user.role != "admin")
    form = SetPasswordForm()
    if passwords and form.validate_on_submit():
        user.password_hash = hash_password(form.password.data)
        audit("password_set", user_id=user.id, target=purpose)
        end_sessions_of(user, "password")
        sign_out_session("password")
        db.session.commit()
        flash(_("Your password is set. Sign in with it."), "info")
        return redirect(url_for("staff.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/set_password.html", form=form, user=user, purpose=purpose, passwords=passwords,
                           provider_action=url_for("staff.sign_on_from_invitation", token=token)
                           if provider is not None else None,
                           organisation=db.session.get(Organisation, user.organisation_id).name), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
@rate_limits.sign_in
def accept_invite(token: str):
    return _set_password_via_link(token, "invite")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@rate_limits.sign_in
def reset_password(token: str):
    return _set_password_via_link(token, "reset")


@bp.route("/profile", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def profile():
    form = ProfileForm(locale=g.user.locale)
    if form.validate_on_submit():
        g.user.locale = form.locale.data
        session["locale"] = form.locale.data
        db.session.commit()
        return redirect(url_for("staff.profile"))
    return render_template("staff/profile.html", form=form,
                           two_factor_on=g.user.totp_enabled_at is not None)

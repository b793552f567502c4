"""Administration: staff accounts (by invitation link) and units. An admin reads no case."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import Case, StaffSession, Unit, User, utcnow
from kidrate.protection.access import allow, audit, end_sessions_of, keep_signed_in
from kidrate.protection.accounts import account_link_token
from kidrate.sign_on import identities
from kidrate.staff import bp
from kidrate.staff.forms import EditUserForm, EmptyForm, NewUserForm, UnitForm

UNIT_KIND_FOR_ROLE = {"social_worker": "authority", "therapist": "open_care"}


def _units() -> list[Unit]:
    return list(db.session.scalars(
        select(Unit).where(Unit.organisation_id == g.user.organisation_id).order_by(Unit.kind, Unit.name)
    ))


def _user_in_org(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.organisation_id != g.user.organisation_id:
        abort(404)
    return user


def _account_link(user: User, purpose: str) -> str:
    endpoint = "staff.accept_invite" if purpose == "invite" else "staff.reset_password"
    return url_for(endpoint, token=account_link_token(user, purpose), _external=True)


@bp.get("/admin/users")
@allow("admin")
def admin_users():
    users = list(db.session.scalars(
        select(User).where(User.organisation_id == g.user.organisation_id).order_by(User.username)
    ))
    return render_template("staff/admin_users.html", users=users, empty_form=EmptyForm(), now=utcnow(),
                           live_sessions=_live_sessions_by_user())


def _live_sessions_by_user() -> dict[int, int]:
    """Sessions not ended and not gone idle, per user of the admin's organisation."""
    idle_since = utcnow() - timedelta(minutes=current_app.config["KIDRATE"].idle_minutes)
    rows = db.session.execute(
        select(StaffSession.user_id, func.count()).join(User, User.id == StaffSession.user_id)
        .where(User.organisation_id == g.user.organisation_id, StaffSession.ended_at.is_(None),
               StaffSession.last_seen_at > idle_since)
        .group_by(StaffSession.user_id)
    )
    return {user_id: count for user_id, count in rows}


@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow("admin")
def admin_user_new():
    form = NewUserForm()
    units = _units()
    form.unit.choices = [(0, "—")] + [(u.id, u.name) for u in units]
    if form.validate_on_submit():
        unit = next((u for u in units if u.id == form.unit.data), None)
        wanted_kind = UNIT_KIND_FOR_ROLE.get(form.role.data)
        if db.session.scalar(select(User.id).where(User.username == form.username.data)):
            form.username.errors.append(_("The username is taken."))
        elif wanted_kind and (unit is None or unit.kind != wanted_kind):
            form.unit.errors.append(_("Social workers belong to an authority unit, therapists to an "
                                      "open-care unit."))
        else:
            user = User(organisation_id=g.user.organisation_id, unit_id=unit.id if unit else None,
                        username=form.username.data, display_name=form.display_name.data.strip(),
                        role=form.role.data, locale=current_app.config["KIDRATE"].default_locale,
                        email=form.email.data)
            db.session.add(user)
            db.session.flush()
            audit("create_user", target=f"user:{user.id}")
            db.session.commit()
            return render_template("staff/account_link.html", user=user, purpose="invite",
                                   url=_account_link(user, "invite"))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/admin_user_new.html", form=form), status


def _active_admins_besides(user: User) -> int:
    # The other admins' rows stay locked to the end of the transaction (PostgreSQL), so that two admins
    # taking the role from each other at the same moment cannot both succeed.
    return len(db.session.scalars(
        select(User.id)
        .where(User.organisation_id == g.user.organisation_id, User.role == "admin", User.active.is_(True),
               User.id != user.id)
        .with_for_update()
    ).all())


def _open_cases_of_therapist(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Case).where(Case.therapist_id == user.id, Case.status == "assigned")
    )


def _posted_unit_outside(units: list[Unit]) -> bool:
    """A unit id that is not one of the organisation's: another organisation's unit is not there to name."""
    raw = request.form.get("unit", "")
    return raw.isdigit() and int(raw) != 0 and int(raw) not in {u.id for u in units}


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@allow("admin")
def admin_user_edit(user_id: int):
    """Name, role and unit. The organisation keeps an administrator; an admin changing their own role
    says so; a therapist with open cases keeps the role until the cases have another therapist."""
    user = _user_in_org(user_id)
    units = _units()
    if request.method == "POST" and _posted_unit_outside(units):
        abort(404)
    form = EditUserForm() if request.method == "POST" else EditUserForm(
        display_name=user.display_name, role=user.role, unit=user.unit_id or 0)
    form.unit.choices = [(0, "—")] + [(u.id, u.name) for u in units]
    own = user.id == g.user.id
    ask_own_role = False
    if form.validate_on_submit():
        unit = next((u for u in units if u.id == form.unit.data), None)
        role = form.role.data
        wanted_kind = UNIT_KIND_FOR_ROLE.get(role)
        if wanted_kind and (unit is None or unit.kind != wanted_kind):
            form.unit.errors.append(_("Social workers belong to an authority unit, therapists to an "
                                      "open-care unit."))
        elif user.role == "admin" and role != "admin" and user.active and _active_admins_besides(user) == 0:
            form.role.errors.append(_("The organisation must keep at least one active administrator. Make "
                                      "someone else an administrator first."))
        elif own and role != user.role and not form.confirm_own_role.data:
            ask_own_role = True
            form.role.errors.append(_("You are changing your own role. You will no longer reach the "
                                      "administration pages. Tick the box below to go ahead."))
        elif user.role == "therapist" and role != "therapist" and (open_cases := _open_cases_of_therapist(user)):
            form.role.errors.append(ngettext(
                "%(name)s is the therapist of %(num)s open case. The role can change when the case is closed.",
                "%(name)s is the therapist of %(num)s open cases. The role can change when the cases are closed.",
                open_cases, name=user.display_name))
        else:
            return _save_user(user, form.display_name.data.strip(), role, unit)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/admin_user_edit.html", form=form, user=user, own=own,
                           ask_own_role=ask_own_role, identity=identities.identity_of(db.session, user),
                           empty_form=EmptyForm()), status


def _save_user(user: User, name: str, role: str, unit: Unit | None):
    changed = [what for what, differs in (("name", name != user.display_name), ("role", role != user.role),
                                           ("unit", (unit.id if unit else None) != user.unit_id)) if differs]
    if not changed:
        flash(_("Nothing was changed for %(name)s.", name=user.display_name), "info")
        return redirect(url_for("staff.admin_users"))
    role_changed = role != user.role
    user.display_name, user.role, user.unit_id = name, role, unit.id if unit else None
    if role != "analyst":
        user.may_export_records = False  # a right given to an analyst does not follow a new role
    audit("edit_user", target=f"user:{user.id}:{','.join(changed)}")
    if role_changed:
        # The role is part of the session's fingerprint: the user's sessions end (an admin's own goes on).
        if user.id == g.user.id:
            keep_signed_in(user, "role_changed")
        else:
            end_sessions_of(user, "role_changed")
    db.session.commit()
    flash(_("The changes for %(name)s are saved.", name=user.display_name), "info")
    if user.id == g.user.id and role_changed:
        return redirect(url_for("staff.home"))
    return redirect(url_for("staff.admin_users"))


@bp.post("/admin/users/<int:user_id>/reset")
@allow("admin")
def admin_user_reset(user_id: int):
    user = _user_in_org(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    audit("issue_password_reset", target=f"user:{user.id}")
    db.session.commit()
    return render_template("staff/account_link.html", user=user, purpose="reset",
                           url=_account_link(user, "reset"))


@bp.post("/admin/users/<int:user_id>/active")
@allow("admin")
def admin_user_active(user_id: int):
    user = _user_in_org(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if user.id == g.user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("staff.admin_users"))
    user.active = not user.active
    if not user.active:  # ended for good: reactivating the account revives none of them
        end_sessions_of(user, "deactivated")
    audit("activate_user" if user.active else "deactivate_user", target=f"user:{user.id}")
    db.session.commit()
    return redirect(url_for("staff.admin_users"))


@bp.post("/admin/users/<int:user_id>/two-factor-reset")
@allow("admin")
def admin_user_two_factor_reset(user_id: int):
    """A lost phone: the user sets two-factor up again at their next sign-in (where it is required)
    or from their account page. Their sessions end (an admin resetting their own keeps this one)."""
    user = _user_in_org(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
    audit("totp_reset", target=f"user:{user.id}")
    if user.id == g.user.id:
        keep_signed_in(user)
    else:
        end_sessions_of(user, "two_factor")
    db.session.commit()
    flash(_("Two-factor sign-in for %(name)s is reset.", name=user.display_name), "info")
    return redirect(url_for("staff.admin_users"))


@bp.post("/admin/users/<int:user_id>/sessions/end")
@allow("admin")
def admin_user_end_sessions(user_id: int):
    """Sign a user out everywhere (a lost or shared device): every session of theirs ends at once. An
    admin ending their own keeps the one they are using."""
    user = _user_in_org(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    own = user.id == g.user.id
    ended = end_sessions_of(user, "admin", keep_current=own)
    audit("end_sessions", target=f"user:{user.id}")
    db.session.commit()
    if own:
        flash(ngettext("%(num)s other session of yours is ended.", "%(num)s other sessions of yours are ended.",
                       ended), "info")
    else:
        flash(ngettext("%(name)s is signed out everywhere (%(num)s session ended).",
                       "%(name)s is signed out everywhere (%(num)s sessions ended).", ended,
                       name=user.display_name), "info")
    return redirect(url_for("staff.admin_users"))


@bp.post("/admin/users/<int:user_id>/unlock")
@allow("admin")
def admin_user_unlock(user_id: int):
    """Lift a lock after failed sign-ins early (the person has been reached and it was them)."""
    user = _user_in_org(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    user.failed_sign_ins = 0
    user.locked_until = None
    audit("sign_in_unlocked", target=f"user:{user.id}")
    db.session.commit()
    flash(_("%(name)s can sign in again.", name=user.display_name), "info")
    return redirect(url_for("staff.admin_users"))


@bp.post("/admin/users/<int:user_id>/record-export")
@allow("admin")
def admin_user_record_export(user_id: int):
    """Allow (?allow=1) or withdraw (?allow=0) an analyst's downloads of record-level exports (SU-X: a row
    per case). The admin grants it and never holds it; only an analyst can. The wanted state is in the
    address, so a form sent twice does not undo itself."""
    user = _user_in_org(user_id)
    wanted = request.args.get("allow")
    if not EmptyForm().validate_on_submit() or wanted not in {"0", "1"}:
        abort(400)
    if user.role != "analyst":
        flash(_("Only analysts can be allowed record-level exports."), "error")
        return redirect(url_for("staff.admin_users"))
    allow_export = wanted == "1"
    if user.may_export_records != allow_export:
        user.may_export_records = allow_export
        audit("grant_record_export" if allow_export else "revoke_record_export", target=f"user:{user.id}")
        db.session.commit()
    if allow_export:
        flash(_("%(name)s may download record-level exports.", name=user.display_name), "info")
    else:
        flash(_("%(name)s may no longer download record-level exports.", name=user.display_name), "info")
    return redirect(url_for("staff.admin_users"))


@bp.route("/admin/units", methods=["GET", "POST"])
@allow("admin")
def admin_units():
    form = UnitForm()
    if form.validate_on_submit():
        unit = Unit(organisation_id=g.user.organisation_id, name=form.name.data.strip(), kind=form.kind.data)
        db.session.add(unit)
        db.session.flush()
        audit("create_unit", target=f"unit:{unit.id}")
        db.session.commit()
        flash(_("The unit is added."), "info")
        return redirect(url_for("staff.admin_units"))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/admin_units.html", form=form, units=_units()), status

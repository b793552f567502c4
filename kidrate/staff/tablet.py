"""Handing this device to the child: the therapist opens the due round's questions on their own
signed-in device, and the staff side stays locked until the therapist's password is given again.

The lock, and the link the hand-over opened, live in the session's row on the server (StaffSession;
see red_thread/tablet.py for the rules and protection/access.py enforce_access for where the lock is enforced). The
hand-over starts a new session row and unlocking another: a copy of the cookie from before either is
dead, and the changed cookie also keeps Chromium from showing a staff page again out of its
back/forward cache. When the locked session ends (unlocked, five wrong passwords, idle), its link
ends too if the child has not answered.
"""

from __future__ import annotations

import time
from datetime import datetime

from flask import abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from kidrate.extensions import db, rate_limits
from kidrate.languages.i18n import available_child_locales
from kidrate.models import AuditEvent, ChildLink, StaffSession, User
from kidrate.protection.access import (
    LOCKED_PAGE,
    allow,
    audit,
    case_or_404,
    current_staff_session,
    restart_session,
    sign_out_session,
)
from kidrate.protection.accounts import check_password
from kidrate.protection.crypto import current_keyring
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread import links, tablet
from kidrate.staff import bp
from kidrate.vocab import ROUND_ORDER


class UnlockForm(FlaskForm):
    # "new-password": a browser must not offer the therapist's saved password to whoever holds the device.
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
                             render_kw={"autocomplete": "new-password", "autocapitalize": "none",
                                        "spellcheck": "false"})


def hand_over_case_id(row: StaffSession | None) -> int | None:
    """The case whose round the locked session's device was handed over for."""
    link = db.session.get(ChildLink, row.hand_over_link_id) if row is not None and row.hand_over_link_id else None
    return link.round.case_id if link is not None else None


def locked_page(form: UnlockForm | None = None, *, status: int = 423, error: str | None = None):
    """The neutral page a locked device shows for every staff address: nothing of the staff side, only
    whether the child's answers have arrived (the child's pages end by pointing here)."""
    row = current_staff_session()
    link = db.session.get(ChildLink, row.hand_over_link_id) if row is not None and row.hand_over_link_id else None
    answered = link is not None and link.used_at is not None
    user = db.session.get(User, row.user_id) if row is not None else None
    # Signed in through the organisation's provider: unlocking by signing in there again; by the password
    # too where the account has one.
    return render_template("staff/locked.html", form=form or UnlockForm(), error=error, answered=answered,
                           through_provider=row is not None and row.provider_id is not None,
                           with_password=user is None or user.password_hash is not None), status


@bp.record_once
def _install_locked_page(state) -> None:
    # access.enforce_access shows this page for every staff address while the session is locked.
    state.app.extensions[LOCKED_PAGE] = locked_page


def _refuse(case, reason: str):
    from kidrate.staff.cases import _render_case

    if reason == "no_problems":
        flash(_("There is no problem in the child's words to rate yet."), "error")
    else:
        flash(_("The device can be handed to the child only for the round that is due."), "error")
    return _render_case(case, status=400)


@bp.post("/cases/<int:case_id>/rounds/<kind>/hand-over")
@allow("therapist")
def hand_over(case_id: int, kind: str):
    case = case_or_404(case_id)
    if kind not in ROUND_ORDER or case.status != "assigned":
        abort(404)
    rating_round = case.round(kind)
    reason = tablet.refusal(kind, case_rules.next_due(case).round_kind, rating_round.submission is not None,
                            bool(case_rules.child_problems(case)))
    if reason == "answered":
        abort(409)
    if reason is not None:
        return _refuse(case, reason)
    available = available_child_locales()
    language = case.child_language if case.child_language in available else "sv"
    link, token = links.issue(db.session, rating_round, language=language, created_by_id=g.user.id,
                              days=tablet.HAND_OVER_LINK_DAYS)
    link.expires_at = tablet.hand_over_link_expiry(link.created_at, link.expires_at,
                                                   current_app.config["KIDRATE"].idle_minutes)
    if rating_round.answered_how is None:
        rating_round.answered_how = "with_therapist"
    db.session.flush()
    audit("hand_over_device", case_id=case.id, target=f"{kind}:link:{link.id}")
    # A new, locked session: a copy of the cookie taken before the hand-over reaches nothing.
    locked = restart_session(g.user, "hand_over", locked=True, hand_over_link_id=link.id)
    db.session.commit()
    session.pop("unlock_failures", None)
    session.pop("shown_links", None)  # sealed for the session that just ended: of no use any more
    session[tablet.HAND_OVER_SEALED] = links.seal_token(current_keyring().current, token, link_id=link.id,
                                                    session_id=locked.id, until=link.expires_at)
    # The token is in this one redirect, to this device, and sealed in its cookie; nowhere else.
    return redirect(url_for("child.questions", token=token), code=303)


def _failures_logged_since(locked_at: datetime) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.user_id == g.user.id, AuditEvent.action == "unlock_failed", AuditEvent.at >= locked_at)
    ) or 0


def unlocked(user: User, case_id: int | None):
    """The therapist proved who they are (the password, or signing in again at the organisation's
    provider): the locked session ends (and its link, unanswered, with it: the link stays in the device's
    history); the therapist goes on in a new one, back at the case."""
    restart_session(user, "unlock")
    audit("unlock_device", case_id=case_id, user_id=user.id)
    db.session.commit()
    session.pop("unlock_failures", None)
    session["seen"] = int(time.time())
    if case_id is None:
        return redirect(url_for("staff.home"))
    return redirect(url_for("staff.case_view", case_id=case_id, _anchor="rounds"))


@bp.post("/unlock")
@allow("therapist")
@rate_limits.sign_in  # a password form: counted like sign-in, besides the failures that sign out
def unlock():
    locked = current_staff_session()
    if locked is None or not locked.locked:
        return redirect(url_for("staff.home"))
    form = UnlockForm()
    if not form.validate_on_submit():
        return locked_page(form, status=400)
    case_id = hand_over_case_id(locked)
    if check_password(g.user, form.password.data):
        return unlocked(g.user, case_id)

    audit("unlock_failed", case_id=case_id)
    db.session.commit()
    failures = tablet.failures_so_far(session.get("unlock_failures"), _failures_logged_since(locked.created_at))
    left = tablet.tries_left(failures)
    if left == 0:
        audit("unlock_signed_out", case_id=case_id)
        sign_out_session("unlock_failed")
        db.session.commit()
        flash(_("You were signed out after too many wrong passwords."), "error")
        return redirect(url_for("staff.sign_in"))
    session["unlock_failures"] = failures
    error = ngettext("Wrong password. One more wrong password signs you out.",
                     "Wrong password. After %(num)s more wrong passwords you will be signed out.", left)
    return locked_page(form, status=400, error=error)

"""Handing this device to the child: the therapist opens the due round's questions on their own
signed-in device, and the staff side stays locked until the therapist's password is given again.

The lock lives in the signed session cookie (see kidrate/tablet.py for the rules and
security.enforce_access for where it is enforced): changing the cookie also keeps Chromium from
showing a staff page again out of its back/forward cache.
"""

from __future__ import annotations

import time

from flask import abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from .. import cases as case_rules
from .. import links, tablet
from ..accounts import check_password
from ..extensions import db, rate_limits
from ..i18n import available_child_locales
from ..models import AuditEvent, ChildLink
from ..security import allow, audit, case_or_404
from ..vocab import ROUND_ORDER
from . import bp


class UnlockForm(FlaskForm):
    # "new-password": a browser must not offer the therapist's saved password to whoever holds the device.
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
                             render_kw={"autocomplete": "new-password", "autocapitalize": "none",
                                        "spellcheck": "false"})


def locked_page(form: UnlockForm | None = None, *, status: int = 423, error: str | None = None):
    """The neutral page a locked device shows for every staff address: nothing of the staff side."""
    return render_template("staff/locked.html", form=form or UnlockForm(), error=error), status


def while_locked(endpoint: str | None):
    """Called by security.enforce_access for staff endpoints while the session is locked: the locked
    page, or None where the request may go on (the unlock form; a session that has gone idle,
    which is then signed out)."""
    seen = session.get("seen")
    idle_limit = current_app.config["KIDRATE"].idle_minutes * 60
    if not isinstance(seen, int) or time.time() - seen > idle_limit:
        session.clear()
        return None
    if tablet.open_while_locked(endpoint):
        return None
    return locked_page()


def _refuse(case, reason: str):
    from .cases import _render_case

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
    if rating_round.answered_how is None:
        rating_round.answered_how = "with_therapist"
    db.session.flush()
    audit("hand_over_device", case_id=case.id, target=f"{kind}:link:{link.id}")
    db.session.commit()
    session["locked"] = True
    session["locked_at"] = int(time.time())
    session["locked_case"] = case.id
    session["locked_link"] = link.id
    session.pop("unlock_failures", None)
    # The token is in this one redirect, to this device, and nowhere else.
    return redirect(url_for("child.questions", token=token), code=303)


def _failures_logged_since_lock() -> int:
    since = tablet.locked_since(session.get("locked_at"))
    if since is None:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.user_id == g.user.id, AuditEvent.action == "unlock_failed", AuditEvent.at >= since)
    ) or 0


def _locked_case_id() -> int | None:
    case_id = session.get("locked_case")
    return case_id if isinstance(case_id, int) and not isinstance(case_id, bool) else None


@bp.post("/unlock")
@allow("therapist")
@rate_limits.sign_in  # a password form: counted like sign-in, besides the failures that sign out
def unlock():
    if not session.get("locked"):
        return redirect(url_for("staff.home"))
    form = UnlockForm()
    if not form.validate_on_submit():
        return locked_page(form, status=400)
    case_id = _locked_case_id()
    if check_password(g.user, form.password.data):
        link_id = session.get("locked_link")
        link = db.session.get(ChildLink, link_id) if isinstance(link_id, int) else None
        # The link opened on this device stays in its history: unanswered, it must not outlive the lock.
        if link is not None and link.round.case_id == case_id and links.revoke(link):
            audit("revoke_link", case_id=case_id, target=f"link:{link.id}")
        audit("unlock_device", case_id=case_id)
        db.session.commit()
        for key in tablet.SESSION_KEYS:
            session.pop(key, None)
        session["seen"] = int(time.time())
        if case_id is None:
            return redirect(url_for("staff.home"))
        return redirect(url_for("staff.case_view", case_id=case_id, _anchor="rounds"))

    audit("unlock_failed", case_id=case_id)
    db.session.commit()
    failures = tablet.failures_so_far(session.get("unlock_failures"), _failures_logged_since_lock())
    left = tablet.tries_left(failures)
    if left == 0:
        audit("unlock_signed_out", case_id=case_id)
        db.session.commit()
        session.clear()
        flash(_("You were signed out after too many wrong passwords."), "error")
        return redirect(url_for("staff.sign_in"))
    session["unlock_failures"] = failures
    error = ngettext("Wrong password. One more wrong password signs you out.",
                     "Wrong password. After %(num)s more wrong passwords you will be signed out.", left)
    return locked_page(form, status=400, error=error)

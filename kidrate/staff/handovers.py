"""The handover back to the authority: read a version, the social worker's inbox, mark as read."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import Case, Handover, SafetySignal, User, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.staff import bp
from kidrate.staff.forms import EmptyForm


def signal_history(case: Case) -> list[dict]:
    """Every safety signal the child's answers raised in the case, oldest first, with what is recorded
    of its handling (acknowledged by whom and when), as plain values for the handover page and PDF."""
    signals = list(db.session.scalars(
        select(SafetySignal).where(SafetySignal.case_id == case.id)
        .order_by(SafetySignal.created_at, SafetySignal.id)
    ))
    names = {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_({s.acknowledged_by_id for s in signals if s.acknowledged_by_id})))}
    return [
        {"kind": s.kind, "value": s.value, "previous_value": s.previous_value, "words": s.problem.words,
         "words_language": s.problem.words_language, "raised_at": s.created_at,
         "acknowledged_at": s.acknowledged_at, "acknowledged_by": names.get(s.acknowledged_by_id)}
        for s in signals
    ]


@bp.get("/handovers")
@allow("social_worker")
def handover_inbox():
    user = g.user
    handovers = list(
        db.session.scalars(
            select(Handover)
            .join(Case)
            .where(Case.authority_unit_id == user.unit_id, Case.organisation_id == user.organisation_id)
            .order_by(Handover.read_at.is_not(None), Handover.sent_at.desc())
        )
    )
    return render_template("staff/inbox.html", handovers=handovers, empty_form=EmptyForm())


@bp.get("/cases/<int:case_id>/handovers/<int:version>")
@allow("social_worker", "therapist")
def handover_view(case_id: int, version: int):
    case = case_or_404(case_id)
    handover = next((h for h in case.handovers if h.version == version), None)
    if handover is None:
        abort(404)
    audit("view_handover", case_id=case.id, target=f"version:{version}")
    db.session.commit()
    newer = case.handovers[-1] if case.handovers[-1].version != version else None
    return render_template("staff/handover.html", case=case, handover=handover, doc=handover.document,
                           newer=newer, signals=signal_history(case), empty_form=EmptyForm())


@bp.post("/cases/<int:case_id>/handovers/<int:version>/read")
@allow("social_worker")
def handover_mark_read(case_id: int, version: int):
    case = case_or_404(case_id)
    handover = next((h for h in case.handovers if h.version == version), None)
    if handover is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if handover.read_at is None:
        handover.read_at = utcnow()
        handover.read_by_id = g.user.id
        audit("read_handover", case_id=case.id, target=f"version:{version}")
        db.session.commit()
    flash(_("The handover of %(ref)s is marked as read.", ref=case.case_ref), "info")
    return redirect(url_for("staff.handover_inbox"))

"""The handover back to the authority: read a version, the social worker's inbox, mark as read."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, url_for
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import Case, Handover, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.staff import bp
from kidrate.staff.forms import EmptyForm


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
                           newer=newer, empty_form=EmptyForm())


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
    return redirect(url_for("staff.handover_inbox"))

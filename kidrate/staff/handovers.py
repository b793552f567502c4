"""The handover back to the authority: read a version, the social worker's inbox (handovers, and the
safety signals of the unit's cases with how each was handled), mark as read."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages.i18n import staff_datetime
from kidrate.models import Case, Handover, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import handover as handover_rules
from kidrate.red_thread import signals as signal_rules
from kidrate.red_thread.facts import gather
from kidrate.staff import bp
from kidrate.staff.forms import EmptyForm

# The inbox keeps a handled signal in view this long after it was acknowledged; the case page keeps all.
HANDLED_SIGNALS_SHOWN = timedelta(days=30)


@bp.app_template_filter("isodatetimeformat")
def isodatetimeformat(value: str | datetime | None) -> str:
    """A moment stored as ISO text in a handover document (or already a datetime), for the reader."""
    if not value:
        return "–"
    return staff_datetime(datetime.fromisoformat(value) if isinstance(value, str) else value)


def signal_history(case: Case) -> list[dict]:
    """Every safety signal of the case as it is now, in the shape a handover document lists them
    (kidrate/red_thread/handover.py): for documents compiled before they held their own."""
    return [handover_rules.signal_entry(s) for s in gather(case).signals]


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
    latest = {}
    for h in handovers:
        if h.version > latest.get(h.case_id, 0):
            latest[h.case_id] = h.version
    signals = signal_rules.unit_signals(db.session, user.organisation_id, user.unit_id,
                                        utcnow() - HANDLED_SIGNALS_SHOWN)
    return render_template("staff/inbox.html", handovers=handovers, latest=latest, signals=signals,
                           signal_summary={h.id: _signal_summary(h.document) for h in handovers},
                           empty_form=EmptyForm())


def _signal_summary(document: dict) -> tuple[int, int] | None:
    """(signals, of which not handled) as the handover was sent; None for documents before they held them."""
    if "signals" not in document:
        return None
    listed = document["signals"]
    return len(listed), sum(1 for s in listed if not s.get("handled_at"))


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
    document = handover.document
    return render_template("staff/handover.html", case=case, handover=handover, doc=document, newer=newer,
                           signals=signal_history(case) if "signals" not in document else None,
                           empty_form=EmptyForm())


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

"""Documents to download: the closure handover and the assignment as PDF (to print, to file in the
authority's own records) and as JSON (for the authority's systems, described by schemas/*.schema.json).

Access is the same as reading them on screen; every download is audited (never its content).
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import get_locale

from kidrate.extensions import db
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import documents
from kidrate.red_thread.assignment import compile_assignment
from kidrate.staff import attachment, bp
from kidrate.staff.handovers import signal_history

bp.add_app_template_global(documents.handover_chart, "handover_chart")


def _json(document: dict) -> str:
    return documents.document_json(document)  # the same bytes the PDF embeds


def _pdf_unavailable(case, error: documents.PdfUnavailable):
    current_app.logger.error("PDF rendering unavailable: %s", error)
    # Only the way back: this page shows nothing of the case, so it is not a read of it.
    return render_template("staff/pdf_unavailable.html", case_id=case.id), 503


def _handover(case_id: int, version: int):
    case = case_or_404(case_id)
    handover = next((h for h in case.handovers if h.version == version), None)
    if handover is None:
        abort(404)
    return case, handover


@bp.get("/cases/<int:case_id>/handovers/<int:version>.pdf")
@allow("social_worker", "therapist")
def handover_pdf(case_id: int, version: int):
    case, handover = _handover(case_id, version)
    try:
        pdf = documents.handover_pdf(handover.document, locale=str(get_locale()), case=case, handover=handover,
                                     signals=signal_history(case))
    except documents.PdfUnavailable as error:
        return _pdf_unavailable(case, error)
    audit("download_handover", case_id=case.id, target=f"version:{version}:pdf")
    db.session.commit()
    return attachment(pdf, "application/pdf", documents.download_name("handover", case.case_ref, "pdf", version))


@bp.get("/cases/<int:case_id>/handovers/<int:version>.json")
@allow("social_worker", "therapist")
def handover_json(case_id: int, version: int):
    case, handover = _handover(case_id, version)
    audit("download_handover", case_id=case.id, target=f"version:{version}:json")
    db.session.commit()
    # The stored snapshot, exactly as sent.
    return attachment(_json(handover.document), "application/json",
                     documents.download_name("handover", case.case_ref, "json", version))


def _assigned_case(case_id: int):
    case = case_or_404(case_id)
    if case.status == "draft" or case.purged_at is not None:
        abort(404)  # a draft is still being written; a purged case's content is gone
    return case


@bp.get("/cases/<int:case_id>/assignment.pdf")
@allow("social_worker", "therapist")
def assignment_pdf(case_id: int):
    case = _assigned_case(case_id)
    try:
        pdf = documents.assignment_pdf(compile_assignment(case), locale=str(get_locale()), case=case)
    except documents.PdfUnavailable as error:
        return _pdf_unavailable(case, error)
    audit("download_assignment", case_id=case.id, target="pdf")
    db.session.commit()
    return attachment(pdf, "application/pdf", documents.download_name("assignment", case.case_ref, "pdf"))


@bp.get("/cases/<int:case_id>/assignment.json")
@allow("social_worker", "therapist")
def assignment_json(case_id: int):
    case = _assigned_case(case_id)
    audit("download_assignment", case_id=case.id, target="json")
    db.session.commit()
    return attachment(_json(compile_assignment(case)), "application/json",
                     documents.download_name("assignment", case.case_ref, "json"))

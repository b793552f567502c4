"""Closing an intervention: the therapist's closure form and sending the handover to the social worker."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kidrate.extensions import db
from kidrate.models import Case, Closure, Problem
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.staff import bp
from kidrate.staff.cases import _ratings_table, refuse_if_purged
from kidrate.staff.forms import CorrectionForm, EmptyForm, closure_form_for
from kidrate.vocab import PARTICIPATION, ROUND_ORDER


@bp.route("/cases/<int:case_id>/closure", methods=["GET", "POST"])
@allow("therapist")
def closure_edit(case_id: int):
    case = case_or_404(case_id)
    if case.status == "draft":
        abort(404)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    problems = list(case.problems)
    form = closure_form_for(problems, data=_closure_data(case) if request.method == "GET" else None)
    if form.validate_on_submit():
        _save_closure(case, problems, form)
        audit("save_closure", case_id=case.id)
        db.session.commit()
        flash(_("The closure is saved. Check the handover and send it."), "info")
        return redirect(url_for("staff.closure_edit", case_id=case.id, _anchor="send"))
    if request.method == "GET":
        # The closure page shows the case's content (the child's words and ratings): a read, as the case page.
        audit("view_closure", case_id=case.id)
        db.session.commit()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "staff/closure.html", case=case, form=form, problems=problems, ratings=_ratings_table(case),
        round_order=ROUND_ORDER, send_form=EmptyForm(), correction_form=CorrectionForm(),
    ), status


def _closure_data(case: Case) -> dict:
    data: dict[str, object] = {}
    closure = case.closure
    if closure:
        data.update(
            reason=closure.reason, reason_text=closure.reason_text,
            concern_remaining="yes" if closure.concern_remaining else "no",
            concern_text=closure.concern_text, new_problems=closure.new_problems,
            recommendation=closure.recommendation,
        )
        data.update({f"part_{k}": v for k, v in (closure.participation or {}).items()})
    for p in case.problems:
        data[f"worked_{p.id}"] = p.worked_with
        data[f"comment_{p.id}"] = p.worked_with_comment
        data[f"attain_{p.id}"] = p.goal_attainment
    return data


def _save_closure(case: Case, problems: list[Problem], form) -> None:
    closure = case.closure or Closure(case=case)
    closure.reason = form.reason.data
    closure.reason_text = (form.reason_text.data or "").strip() or None
    closure.concern_remaining = form.concern_remaining.data == "yes"
    closure.concern_text = (form.concern_text.data or "").strip() or None
    closure.new_problems = (form.new_problems.data or "").strip() or None
    closure.recommendation = (form.recommendation.data or "").strip() or None
    closure.participation = {key: form[f"part_{key}"].data for key in PARTICIPATION}
    db.session.add(closure)
    for p in problems:
        p.worked_with = form[f"worked_{p.id}"].data
        p.worked_with_comment = (form[f"comment_{p.id}"].data or "").strip() or None
        p.goal_attainment = form[f"attain_{p.id}"].data if p.goal else None


@bp.post("/cases/<int:case_id>/handover")
@allow("therapist")
def handover_send(case_id: int):
    case = case_or_404(case_id)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    if case.closure is None:
        flash(_("Fill in and save the closure form first."), "error")
        return redirect(url_for("staff.closure_edit", case_id=case.id))
    note = None
    if case.handovers:
        form = CorrectionForm()
        if not form.validate_on_submit():
            flash(_("Say what was corrected before sending a new version."), "error")
            return redirect(url_for("staff.closure_edit", case_id=case.id, _anchor="send"))
        note = form.note.data.strip()
    elif not EmptyForm().validate_on_submit():
        abort(400)
    handover = case_rules.send_handover(db.session, case, g.user, note)
    db.session.flush()
    audit("send_handover", case_id=case.id, target=f"version:{handover.version}")
    db.session.commit()
    flash(_("The handover is sent to the social worker."), "info")
    return redirect(url_for("staff.handover_view", case_id=case.id, version=handover.version))

"""The social worker's assignment: the child's problems in the child's words, and the hand-over to open
care."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _

from kidrate.extensions import db
from kidrate.models import Problem
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.staff import bp
from kidrate.staff.cases import CASE_ROLES, _problem_form, _render_case
from kidrate.staff.forms import AssignForm, EmptyForm


@bp.post("/cases/<int:case_id>/problems")
@allow(*CASE_ROLES)
def problem_add(case_id: int):
    case = case_or_404(case_id)
    form = _problem_form()
    if g.user.role == "social_worker":
        if case.status != "draft":
            abort(409)
    else:
        if not case_rules.may_add_child_problem_at_start(case):
            abort(409)
        form.source.data = "child"
    if not form.validate_on_submit():
        return _render_case(case, problem_form=form, status=400)
    is_child = form.source.data == "child"
    problem = Problem(
        case=case,
        source=form.source.data,
        words=form.words.data.strip(),
        words_language=form.words_language.data if is_child else None,
        category=form.category.data,
        category_text=(form.category_text.data or "").strip() or None,
        goal=(form.goal.data or "").strip() or None,
        added_at_start=g.user.role == "therapist",
    )
    db.session.add(problem)
    db.session.flush()
    audit("add_problem", case_id=case.id, target=f"problem:{problem.id}")
    db.session.commit()
    flash(_("The problem is added."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="problems"))


@bp.post("/cases/<int:case_id>/problems/<int:problem_id>/delete")
@allow("social_worker")
def problem_delete(case_id: int, problem_id: int):
    case = case_or_404(case_id)
    problem = db.session.get(Problem, problem_id)
    if problem is None or problem.case_id != case.id:
        abort(404)
    if case.status != "draft" or not EmptyForm().validate_on_submit():
        abort(409)
    db.session.delete(problem)
    audit("delete_problem", case_id=case.id, target=f"problem:{problem_id}")
    db.session.commit()
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="problems"))


@bp.post("/cases/<int:case_id>/assign")
@allow("social_worker")
def case_assign(case_id: int):
    case = case_or_404(case_id)
    if case.status != "draft":
        abort(409)
    form = AssignForm()
    therapists = {t.id: t for t in case_rules.assignable_therapists(db.session, case.organisation_id)}
    form.therapist.choices = [(tid, t.display_name) for tid, t in therapists.items()]
    if not form.validate_on_submit():
        return _render_case(case, assign_form=form, status=400)
    if not case_rules.child_problems(case):
        flash(_("Write down the child's own problems, in the child's words, before handing the case over."),
              "error")
        return _render_case(case, assign_form=form, status=400)
    case_rules.assign(case, therapists[form.therapist.data])
    audit("assign_case", case_id=case.id, target=f"user:{form.therapist.data}")
    db.session.commit()
    flash(_("The assignment is handed over to open care."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id))



"""Cases along the red thread: the social worker's assignment, the therapist's rounds and links,
closure. Views parse the request, check access, call kidrate.cases, and render."""

from __future__ import annotations

import segno
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages.i18n import CHILD_LOCALES, available_child_locales, draft_child_locales, language_label
from kidrate.languages.link_message import ADDRESSEES, link_message, suggested_addressee
from kidrate.models import Case, ChildLink, Closure, Problem, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread import links
from kidrate.red_thread.signals import open_signal_counts
from kidrate.staff import bp
from kidrate.staff.forms import (
    AssignForm,
    CaseForm,
    CorrectionForm,
    EmptyForm,
    IssueLinkForm,
    ProblemForm,
    closure_form_for,
)
from kidrate.staff.timeline import earlier_timeline
from kidrate.vocab import PARTICIPATION, ROUND_ORDER, WORKED_WITH

CASE_ROLES = ("social_worker", "therapist")


def _language_choices(codes=CHILD_LOCALES, drafts: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Languages for a select; those whose child catalogue is not yet reviewed say so."""
    return [(code, _("%(language)s — draft translation", language=language_label(code)) if code in drafts
             else language_label(code)) for code in codes]


def _problem_form(**kwargs) -> ProblemForm:
    form = ProblemForm(**kwargs)
    form.words_language.choices = _language_choices()
    return form


@bp.get("/cases")
@allow(*CASE_ROLES)
def case_list():
    user = g.user
    query = select(Case).where(Case.organisation_id == user.organisation_id)
    if user.role == "therapist":
        query = query.where(Case.therapist_id == user.id, Case.status != "draft")
    else:
        query = query.where(Case.authority_unit_id == user.unit_id)
    search = (request.args.get("q") or "").strip()[:40]
    if search:
        query = query.where(Case.case_ref == search)
    cases = list(db.session.scalars(query.order_by(Case.status, Case.created_at.desc())))
    earlier = []
    if search and user.role == "social_worker":
        earlier = case_rules.earlier_cases(db.session, search, user.unit_id)
        audit("search_case_ref", target=f"{len(cases)}")
        db.session.commit()
    due = {case.id: case_rules.next_due(case) for case in cases}
    # Safety signals are the therapist's to see (and the list holds only their own cases).
    signals = open_signal_counts(db.session, [c.id for c in cases]) if user.role == "therapist" else {}
    return render_template("staff/case_list.html", cases=cases, due=due, search=search, earlier=earlier,
                           signals=signals)


@bp.route("/cases/new", methods=["GET", "POST"])
@allow("social_worker")
def case_new():
    form = CaseForm()
    form.child_language.choices = _language_choices()
    form.family_languages.choices = _language_choices()
    if form.validate_on_submit():
        case = case_rules.open_case(
            db.session, g.user,
            case_ref=form.case_ref.data,
            age=form.age.data,
            gender=form.gender.data,
            child_language=form.child_language.data,
            family_languages=form.family_languages.data or [],
            intervention_types=form.intervention_types.data,
            intervention_text=(form.intervention_text.data or "").strip() or None,
            follow_up_date=form.follow_up_date.data,
        )
        db.session.flush()
        audit("create_case", case_id=case.id)
        db.session.commit()
        return redirect(url_for("staff.case_view", case_id=case.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/case_new.html", form=form), status


@bp.get("/cases/<int:case_id>")
@allow(*CASE_ROLES)
def case_view(case_id: int):
    case = case_or_404(case_id)
    audit("view_case", case_id=case.id)
    db.session.commit()
    return _render_case(case)


def _render_case(case: Case, *, problem_form: ProblemForm | None = None, assign_form: AssignForm | None = None,
                 status: int = 200):
    user = g.user
    now = utcnow()
    context = {
        "case": case,
        "now": now,
        "due": case_rules.next_due(case),
        "child_problems": case_rules.child_problems(case),
        "investigation_problems": [p for p in case.problems if p.source == "investigation"],
        "round_order": ROUND_ORDER,
        "ratings": _ratings_table(case),
        "empty_form": EmptyForm(),
        "worked_with": WORKED_WITH,
    }
    if user.role == "social_worker":
        context["earlier"] = case_rules.earlier_cases(db.session, case.case_ref, case.authority_unit_id, case.id)
        context["timeline"] = earlier_timeline(context["earlier"])
        if case.status == "draft":
            context["problem_form"] = problem_form or _problem_form(words_language=case.child_language)
            if assign_form is None:
                assign_form = AssignForm()
            assign_form.therapist.choices = [
                (t.id, f"{t.display_name} ({t.unit.name if t.unit else '-'})")
                for t in case_rules.assignable_therapists(db.session, case.organisation_id)
            ]
            context["assign_form"] = assign_form
    else:
        if case_rules.may_add_child_problem_at_start(case):
            context["problem_form"] = problem_form or _problem_form(words_language=case.child_language)
        if case.status == "assigned":
            link_form = IssueLinkForm()
            available = available_child_locales()
            link_form.language.choices = _language_choices(available, draft_child_locales())
            link_form.language.data = case.child_language if case.child_language in available else "sv"
            context["link_form"] = link_form
    if case.status != "closed" and case_rules.child_problems(case):
        from kidrate.staff.languages import translation_form

        context["translation_form"] = translation_form(case)
    return render_template("staff/case.html", **context), status


def _ratings_table(case: Case) -> dict[tuple[int, str], object]:
    """(problem id, round kind) → the child's Rating, for the case page's table."""
    table = {}
    for rnd in case.rounds:
        if rnd.submission:
            for rating in rnd.submission.ratings:
                table[(rating.problem_id, rnd.kind)] = rating
    return table


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


@bp.post("/cases/<int:case_id>/rounds/<kind>/links")
@allow("therapist")
def link_issue(case_id: int, kind: str):
    case = case_or_404(case_id)
    if kind not in ROUND_ORDER or case.status != "assigned":
        abort(404)
    rating_round = case.round(kind)
    if rating_round.submission is not None:
        abort(409)
    form = IssueLinkForm()
    form.language.choices = _language_choices(available_child_locales(), draft_child_locales())
    if not form.validate_on_submit():
        return _render_case(case, status=400)
    if not case_rules.child_problems(case):
        flash(_("There is no problem in the child's words to rate yet."), "error")
        return _render_case(case, status=400)
    settings = current_app.config["KIDRATE"]
    link, token = links.issue(db.session, rating_round, language=form.language.data,
                              created_by_id=g.user.id, days=settings.link_days)
    db.session.flush()
    audit("issue_link", case_id=case.id, target=f"{kind}:link:{link.id}")
    db.session.commit()
    url = url_for("child.questions", token=token, _external=True)
    qr_svg = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff",
                                                   svgclass="qr", lineclass=None, omitsize=True)
    # The message to send with the link, in the child's language and the family's: to the child, or to
    # the guardian; the one that fits the child's age first, the other one tap away on the same page.
    languages = [link.language] + [code for code in case.family_languages or []
                                   if code in available_child_locales() and code != link.language]
    last_day = links.shown_last_day(link)
    addressees = sorted(ADDRESSEES, key=lambda who: who != suggested_addressee(case.age))
    messages = [(who, [(code, link_message(url, last_day, code, who)) for code in languages]) for who in addressees]
    # The token is shown in this one response and never again.
    return render_template("staff/link_issued.html", case=case, link=link, url=url, qr_svg=qr_svg,
                           kind=kind, messages=messages)


@bp.post("/cases/<int:case_id>/links/<int:link_id>/revoke")
@allow("therapist")
def link_revoke(case_id: int, link_id: int):
    case = case_or_404(case_id)
    link = db.session.get(ChildLink, link_id)
    if link is None or link.round.case_id != case.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if links.revoke(link):
        audit("revoke_link", case_id=case.id, target=f"link:{link.id}")
        db.session.commit()
        flash(_("The link is revoked. It can no longer be used."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="rounds"))


def refuse_if_purged(case: Case):
    """A purged case has no content to show or correct (kidrate/protection/retention.py): say so, change nothing."""
    if case.purged_at is None:
        return None
    flash(_("The content of this case was removed by retention on %(date)s.", date=format_date(case.purged_at)),
          "error")
    return redirect(url_for("staff.case_view", case_id=case.id))


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

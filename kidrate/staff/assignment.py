"""The social worker's assignment: the child's problems in the child's words, and the hand-over to open
care; after it, the assignment's amendments (corrected words, withdrawn and added problems), which both
the social worker and the therapist make and see."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kidrate.extensions import db
from kidrate.languages.i18n import language_label
from kidrate.models import Case, Problem
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import amendments, script_check
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread.assignment import compile_assignment, handover_blockers
from kidrate.staff import bp
from kidrate.staff.cases import (
    CASE_ROLES,
    _language_choices,
    _problem_form,
    _render_case,
    problem_page,
    refuse_if_purged,
)
from kidrate.staff.forms import (
    AssignForm,
    CorrectWordsForm,
    EmptyForm,
    ProblemAddedForm,
    ProblemForm,
    WithdrawProblemForm,
)

SCRIPT_NAMES = {
    script_check.LATIN: _l("Latin letters"),
    script_check.ARABIC: _l("Arabic script"),
    script_check.CYRILLIC: _l("Cyrillic letters"),
    script_check.ETHIOPIC: _l("Ge'ez (Ethiopic) script"),
    script_check.GREEK: _l("Greek letters"),
    script_check.HEBREW: _l("Hebrew script"),
    script_check.OTHER: _l("another script"),
}

REFUSALS = {
    amendments.DRAFT: _l("The assignment is not handed over yet: edit the problem instead."),
    amendments.CLOSED: _l("The case is closed, so its assignment can no longer be amended. The therapist can "
                          "send a corrected version of the handover instead."),
    amendments.PURGED: _l("The content of this case was removed by retention: there is nothing to amend."),
    amendments.WITHDRAWN: _l("This problem is already withdrawn."),
    amendments.UNCHANGED: _l("The words and their language are the same as before: nothing was changed."),
}

BLOCKERS = {
    "no_child_problem": _l("Write down the child's own problems, in the child's words, before handing the case "
                           "over."),
    "other_without_text": _l("A problem in the category “Other” does not say which problem it is:"),
    "no_goal": _l("A problem the child named has no goal, and it is not marked to be set with the child:"),
}


def _problem_or_404(case: Case, problem_id: int) -> Problem:
    problem = db.session.get(Problem, problem_id)
    if problem is None or problem.case_id != case.id:
        abort(404)
    return problem


def script_warning(words: str | None, language: str | None, confirmed: bool) -> str | None:
    """The warning to show when the words' script does not fit the language chosen (and the person has
    not yet confirmed that it does); None when all is well."""
    if confirmed:
        return None
    found = script_check.mismatch(words or "", language)
    if found is None:
        return None
    return _("These words are written in %(script)s, but the language chosen is %(language)s. The child's page "
             "shows and reads them as %(language)s. Choose the right language, or, if it is right, tick the box "
             "and save again.", script=SCRIPT_NAMES[found.found], language=language_label(language))


def _posted_words(form, is_child: bool) -> tuple[str, str | None, str | None]:
    """The posted words (trimmed), their language (a child's problem only) and the script warning, if any."""
    words = (form.words.data or "").strip()
    language = form.words_language.data if is_child else None
    return words, language, (script_warning(words, language, form.script_confirmed.data) if is_child else None)


def _refused(case: Case, code: str, anchor: str = "problems"):
    flash(str(REFUSALS[code]), "error")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor=anchor), code=303)


# --- Writing the assignment -------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/problems")
@allow(*CASE_ROLES)
def problem_add(case_id: int):
    """A problem: written into the draft, named by the child to the therapist at the start, or (after
    hand-over) added as an amendment with why."""
    case = case_or_404(case_id)
    if (purged := refuse_if_purged(case)) is not None:
        return purged
    social_worker = g.user.role == "social_worker"
    at_start = not social_worker and case_rules.may_add_child_problem_at_start(case)
    amending = case.status != "draft" and not at_start
    if amending and (refused := amendments.refusal(case)):
        return _refused(case, refused)
    form = _problem_form(ProblemAddedForm if amending else ProblemForm)
    if not social_worker:
        form.source.data = "child"
    valid = form.validate_on_submit()
    is_child = form.source.data == "child"
    # Said together with any other message, so that everything is put right in one go.
    words, language, warning = _posted_words(form, is_child)
    if not valid or warning:
        return _render_case(case, problem_form=form, script_warning=warning, status=400)
    problem = Problem(
        source=form.source.data,
        words=words,
        words_language=language,
        category=form.category.data,
        category_text=(form.category_text.data or "").strip() or None,
        goal=(form.goal.data or "").strip() or None,
        goal_with_child=bool(is_child and form.goal_with_child.data and not (form.goal.data or "").strip()),
        added_at_start=at_start,
    )
    if amending:
        amendments.add(case, problem, form.reason.data, g.user)
    else:
        problem.case = case
    db.session.add(problem)
    db.session.flush()
    audit("amend_add_problem" if amending else "add_problem", case_id=case.id, target=f"problem:{problem.id}")
    db.session.commit()
    flash(_("The problem is added, as an amendment both sides see.") if amending else _("The problem is added."),
          "info")
    # Back at the form, with what was just added shown above it: the next problem can be typed at once.
    return redirect(url_for("staff.case_view", case_id=case.id, added=problem.id, _anchor="add-problem"))


@bp.route("/cases/<int:case_id>/problems/<int:problem_id>/edit", methods=["GET", "POST"])
@allow("social_worker")
def problem_edit(case_id: int, problem_id: int):
    """Every field of a problem, while the assignment is a draft (after hand-over: amendments)."""
    case = case_or_404(case_id)
    problem = _problem_or_404(case, problem_id)
    if (purged := refuse_if_purged(case)) is not None:
        return purged
    if case.status != "draft":
        flash(_("The assignment is handed over: correct the words or withdraw the problem as an amendment, "
                "which both sides see."), "error")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor=f"problem-{problem.id}"), code=303)
    if request.method == "GET":
        form = _problem_form(obj=problem)
        audit("view_case", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
        return render_template("staff/problem_edit.html", case=case, problem=problem, form=form)
    form = _problem_form()
    valid = form.validate_on_submit()
    is_child = form.source.data == "child"
    words, language, warning = _posted_words(form, is_child)
    if valid and not warning:
        if words != problem.words:
            # Translations and recordings were of the earlier words: never show or play them as these.
            problem.translations.clear()
            problem.recordings.clear()
        goal = (form.goal.data or "").strip() or None
        problem.source = form.source.data
        problem.words = words
        problem.words_language = language
        problem.category = form.category.data
        problem.category_text = (form.category_text.data or "").strip() or None
        problem.goal = goal
        problem.goal_with_child = bool(is_child and form.goal_with_child.data and not goal)
        audit("edit_problem", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
        flash(_("The problem is saved."), "info")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor=f"problem-{problem.id}"))
    return render_template("staff/problem_edit.html", case=case, problem=problem, form=form,
                           script_warning=warning), 400


@bp.post("/cases/<int:case_id>/problems/<int:problem_id>/delete")
@allow("social_worker")
def problem_delete(case_id: int, problem_id: int):
    case = case_or_404(case_id)
    problem = _problem_or_404(case, problem_id)
    if case.status != "draft" or not EmptyForm().validate_on_submit():
        abort(409)
    db.session.delete(problem)
    audit("delete_problem", case_id=case.id, target=f"problem:{problem_id}")
    db.session.commit()
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="problems"))


# --- Handing over, after seeing the assignment as the therapist will -----------------------------------


def _therapist_choices(case: Case) -> dict:
    return {t.id: t for t in case_rules.assignable_therapists(db.session, case.organisation_id)}


def _assign_form(case: Case, query=None) -> tuple[AssignForm, dict]:
    """The therapist's choice: from the address (the GET to the confirmation page, which changes nothing,
    so without a CSRF token) or from the confirmation page's POST."""
    therapists = _therapist_choices(case)
    form = AssignForm(formdata=query, meta={"csrf": False}) if query is not None else AssignForm()
    form.therapist.choices = [(tid, f"{t.display_name} ({t.unit.name if t.unit else '-'})")
                              for tid, t in therapists.items()]
    return form, therapists


def _blockers(case: Case) -> list[dict]:
    problems = {p.id: p for p in case.problems}
    return [{"text": BLOCKERS[code], "problem": problems.get(problem_id)}
            for code, problem_id in handover_blockers(list(case.problems))]


def _already_handed_over(case: Case):
    flash(_("The assignment was already handed over."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id), code=303)


@bp.route("/cases/<int:case_id>/assign", methods=["GET", "POST"])
@allow("social_worker")
def case_assign(case_id: int):
    """GET: the assignment as the chosen therapist will receive it, and the question: hand it over?
    POST (from that page only, with `confirmed`): hand it over, once."""
    if request.method == "POST":
        return _hand_over(case_id)
    case = case_or_404(case_id)
    if (purged := refuse_if_purged(case)) is not None:
        return purged
    if case.status != "draft":
        return _already_handed_over(case)
    form, therapists = _assign_form(case, request.args)
    if not form.validate():
        return _render_case(case, assign_form=form, status=400)
    therapist = therapists[form.therapist.data]
    audit("view_case", case_id=case.id, target="assignment")
    db.session.commit()
    return render_template("staff/assign_confirm.html", case=case, therapist=therapist, blockers=_blockers(case),
                           doc=compile_assignment(case, therapist=therapist), confirm_form=AssignForm())


def _hand_over(case_id: int):
    case = case_or_404(case_id)
    if (purged := refuse_if_purged(case)) is not None:
        return purged
    if case.status != "draft":
        return _already_handed_over(case)  # a second click, or a second tab
    form, therapists = _assign_form(case)
    if not form.validate_on_submit():
        return _render_case(case, assign_form=form, status=400)
    if form.confirmed.data != "yes":
        # Not from the confirmation page: show the assignment first.
        return redirect(url_for("staff.case_assign", case_id=case.id, therapist=form.therapist.data),
                        code=303)
    if _blockers(case):
        return redirect(url_for("staff.case_assign", case_id=case.id, therapist=form.therapist.data),
                        code=303)
    if not case_rules.assign_once(db.session, case, therapists[form.therapist.data]):
        db.session.rollback()
        return _already_handed_over(case)
    audit("assign_case", case_id=case.id, target=f"user:{form.therapist.data}")
    db.session.commit()
    flash(_("The assignment is handed over to open care."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id))


# --- Amendments after hand-over ------------------------------------------------------------------------


def _amendable(case_id: int, problem_id: int):
    """The case and the problem to amend, and the page that says no when it cannot be amended (the case
    closed, the problem already withdrawn); 404 for a problem of another case."""
    case = case_or_404(case_id)
    problem = _problem_or_404(case, problem_id)
    refused = amendments.refusal(case) or (amendments.WITHDRAWN if amendments.is_withdrawn(problem) else None)
    return case, problem, (_refused(case, refused, f"problem-{problem.id}") if refused else None)


@bp.route("/cases/<int:case_id>/problems/<int:problem_id>/correct", methods=["GET", "POST"])
@allow(*CASE_ROLES)
def problem_correct(case_id: int, problem_id: int):
    """Correct the words of a problem handed over: an amendment with why, the earlier words kept."""
    case, problem, refused = _amendable(case_id, problem_id)
    if refused:
        return refused
    is_child = problem.source == "child"
    if request.method == "GET":
        form = CorrectWordsForm(data={"words": problem.words, "words_language": problem.words_language})
    else:
        form = CorrectWordsForm()
    form.words_language.choices = _language_choices()
    warning = None
    if request.method == "POST":
        _words, language, warning = _posted_words(form, is_child)
    if request.method == "POST" and form.validate_on_submit() and not warning:
        had_translations = bool(problem.translations or problem.recordings)
        result = amendments.correct_words(problem, form.words.data, language, form.reason.data, g.user)
        if isinstance(result, str):
            return _refused(case, result, f"problem-{problem.id}")
        db.session.flush()
        audit("amend_words", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
        flash(_("The words are corrected, as an amendment both sides see."), "info")
        if had_translations and result.words_before != result.words_after:
            flash(_("The translations and recordings of the earlier words were removed: add them again for "
                    "the corrected words."), "info")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor="amendments"))
    return problem_page("staff/problem_correct.html", case, problem, form, script_warning=warning)


@bp.route("/cases/<int:case_id>/problems/<int:problem_id>/withdraw", methods=["GET", "POST"])
@allow(*CASE_ROLES)
def problem_withdraw(case_id: int, problem_id: int):
    """Withdraw a problem handed over: kept in the history, marked withdrawn, never asked again."""
    case, problem, refused = _amendable(case_id, problem_id)
    if refused:
        return refused
    form = WithdrawProblemForm()
    if form.validate_on_submit():
        result = amendments.withdraw(problem, form.reason.data, g.user)
        if isinstance(result, str):
            return _refused(case, result, f"problem-{problem.id}")
        db.session.flush()
        audit("withdraw_problem", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
        flash(_("The problem is withdrawn. It stays in the case's history, and the child is no longer asked "
                "about it."), "info")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor="amendments"))
    return problem_page("staff/problem_withdraw.html", case, problem, form)

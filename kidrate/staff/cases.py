"""Cases along the red thread: the social worker's assignment, the therapist's rounds and links,
closure. Views parse the request, check access, call kidrate.cases, and render."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages.i18n import CHILD_LOCALES, available_child_locales, draft_child_locales, language_label
from kidrate.models import Case, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread.amendments import case_amendments
from kidrate.red_thread.amendments import refusal as amendment_refusal
from kidrate.red_thread.signals import open_signal_counts
from kidrate.staff import bp
from kidrate.staff.forms import (
    AssignForm,
    CaseForm,
    EmptyForm,
    IssueLinkForm,
    ProblemAddedForm,
    ProblemForm,
)
from kidrate.staff.timeline import earlier_timeline
from kidrate.vocab import ROUND_ORDER, WORKED_WITH

CASE_ROLES = ("social_worker", "therapist")
# The statuses each role's list can be narrowed to (a therapist never sees a draft).
CASE_LIST_STATUSES = {"social_worker": ("draft", "assigned", "closed"), "therapist": ("assigned", "closed")}


def _language_choices(codes=CHILD_LOCALES, drafts: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Languages for a select; those whose child catalogue is not yet reviewed say so."""
    return [(code, _("%(language)s — draft translation", language=language_label(code)) if code in drafts
             else language_label(code)) for code in codes]


def staff_words_language() -> str:
    """The language staff most likely type in: their own interface language (not the child's: Swedish
    words typed for an Arabic-speaking child were stored as Arabic and shown right-to-left)."""
    code = str(get_locale() or "sv")
    return code if code in CHILD_LOCALES else "sv"


def _problem_form(form_class: type[ProblemForm] = ProblemForm, **kwargs) -> ProblemForm:
    form = form_class(**kwargs)
    form.words_language.choices = _language_choices()
    if form.words_language.data is None:
        form.words_language.data = staff_words_language()
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
        query = query.where(case_rules.case_ref_begins_with(search))
    # Unknown filter values are ignored (the list unfiltered), never an error: they come from an address.
    statuses = CASE_LIST_STATUSES[user.role]
    status = request.args.get("status", "")
    if status in statuses:
        query = query.where(Case.status == status)
    else:
        status = ""
    due_filter = request.args.get("due", "") if user.role == "therapist" else ""
    if due_filter not in case_rules.DUE_KINDS:
        due_filter = ""
    cases = list(db.session.scalars(query.order_by(Case.status, Case.created_at.desc())))
    due = {case.id: case_rules.next_due(case) for case in cases}
    if due_filter:
        cases = [c for c in cases if due_filter in case_rules.what_is_due(c, due[c.id])]
    earlier = []
    if search and user.role == "social_worker":
        earlier = case_rules.earlier_cases(db.session, search, user.unit_id)
        audit("search_case_ref", target=f"{len(cases)}")
        db.session.commit()
    # Signals not yet handled: the therapist's to handle, the social worker's to know of (each list holds
    # only the cases its reader may open).
    signals = open_signal_counts(db.session, [c.id for c in cases])
    filtered = bool(search or status or due_filter)
    return render_template("staff/case_list.html", cases=cases, due=due, search=search, earlier=earlier,
                           signals=signals, status=status, statuses=statuses, due_filter=due_filter,
                           due_kinds=case_rules.DUE_KINDS, filtered=filtered)


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
                 status: int = 200, script_warning: str | None = None):
    user = g.user
    now = utcnow()
    context = {
        "case": case,
        "script_warning": script_warning,  # the add-problem form's words do not fit the language chosen
        "now": now,
        "due": case_rules.next_due(case),
        "child_problems": case_rules.child_problems(case),
        # The case page lists withdrawn problems too (struck, with why); the child is never asked them.
        "listed_child_problems": case_rules.child_problems(case, withdrawn=True),
        "amendments": case_amendments(case),
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
            context["problem_form"] = problem_form or _problem_form()
            if assign_form is None:
                assign_form = AssignForm()
            assign_form.therapist.choices = [
                (t.id, f"{t.display_name} ({t.unit.name if t.unit else '-'})")
                for t in case_rules.assignable_therapists(db.session, case.organisation_id)
            ]
            context["assign_form"] = assign_form
    else:
        if case_rules.may_add_child_problem_at_start(case):
            context["problem_form"] = problem_form or _problem_form()
        if case.status == "assigned":
            link_form = IssueLinkForm()
            available = available_child_locales()
            link_form.language.choices = _language_choices(available, draft_child_locales())
            link_form.language.data = case.child_language if case.child_language in available else "sv"
            context["link_form"] = link_form
    if "problem_form" not in context and amendment_refusal(case) is None:
        # After hand-over (for the therapist, after the start too) a problem added is an amendment, with why.
        context["problem_form"] = problem_form or _problem_form(ProblemAddedForm)
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


def refuse_if_purged(case: Case):
    """A purged case has no content to show or correct (kidrate/protection/retention.py): say so, change nothing."""
    if case.purged_at is None:
        return None
    flash(_("The content of this case was removed by retention on %(date)s.", date=format_date(case.purged_at)),
          "error")
    return redirect(url_for("staff.case_view", case_id=case.id))


def problem_page(template: str, case: Case, problem, form, **context):
    """A page about one problem of a case (edit, correct, withdraw, set its goal): opening it is a read of
    the case, audited; shown again from a refused post, it answers 400."""
    if request.method == "GET":
        audit("view_case", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
    status = 400 if request.method == "POST" else 200
    return render_template(template, case=case, problem=problem, form=form, **context), status

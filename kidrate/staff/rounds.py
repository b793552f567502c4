"""The therapist's record of each round (how the child answered, why a rating is missing, whether
they have met the child alone), the red-thread checks shown on the case and closure pages, a goal
for a problem that has none, and the safety signals raised by the child's answers.

Views parse the request, check access and call the pure rules (kidrate.checks, kidrate.signals);
the template globals registered here feed the includes in the case, case list and closure pages."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from kidrate.extensions import db
from kidrate.models import Case, Problem, RatingRound, SafetySignal, User
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import signals as signal_rules
from kidrate.red_thread.checks import check_case
from kidrate.red_thread.facts import gather
from kidrate.staff import bp
from kidrate.staff.cases import _render_case, problem_page, refuse_if_purged
from kidrate.staff.forms import TEXT_MAX
from kidrate.vocab import ANSWERED_HOW, ROUND_ORDER, choices

# --- Forms ---------------------------------------------------------------------------------------


class RoundAnsweredForm(FlaskForm):
    answered_how = SelectField(_l("How the child answered"),
                               choices=[("", _l("Not recorded")), *choices(ANSWERED_HOW)])
    missing_reason = TextAreaField(_l("Why there is no rating from the child"),
                                   validators=[Optional(), Length(max=TEXT_MAX)])


class MetAloneForm(FlaskForm):
    met_alone = RadioField(_l("Have you met the child alone?"), choices=[("yes", _l("Yes")), ("no", _l("No"))],
                           validators=[InputRequired(message=_l("Answer yes or no."))])


class SignalNoteForm(FlaskForm):
    note = TextAreaField(
        _l("What was done"),
        validators=[DataRequired(message=_l("Write what was done about the signal before acknowledging it.")),
                    Length(max=TEXT_MAX)],
        description=_l("For example: talked with the child alone, told the social worker, made a report of "
                       "concern. The case's social worker reads this."),
    )


class GoalForm(FlaskForm):
    goal = TextAreaField(_l("Goal"), validators=[DataRequired(message=_l("Write the goal.")),
                                                Length(max=TEXT_MAX)])


# --- Rules of who may do what, here --------------------------------------------------------------


def may_set_goal(user: User, case: Case, problem: Problem) -> bool:
    """The social worker writes goals into the assignment; once it is with open care, the therapist
    may give a goal to a problem that has none (never rewrite the social worker's)."""
    if user.role == "social_worker":
        return case.status == "draft"
    return user.role == "therapist" and case.status == "assigned" and not (problem.goal or "").strip()


def _is_the_therapist(case: Case) -> bool:
    user = g.get("user")
    return user is not None and user.role == "therapist" and case.therapist_id == user.id


def _flash_errors(form: FlaskForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


def _recordable_round(case_id: int, kind: str) -> tuple[Case, RatingRound]:
    case = case_or_404(case_id)
    if kind not in ROUND_ORDER or case.status == "draft":
        abort(404)
    return case, case.round(kind)


# --- Routes --------------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/rounds/<kind>/answered")
@allow("therapist")
def round_answered(case_id: int, kind: str):
    case, rating_round = _recordable_round(case_id, kind)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    form = RoundAnsweredForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _render_case(case, status=400)
    reason = (form.missing_reason.data or "").strip() or None
    if reason and rating_round.submission is not None:
        flash(_("The child has answered this round: there is no missing rating to explain."), "error")
        return _render_case(case, status=400)
    rating_round.answered_how = form.answered_how.data or None
    rating_round.missing_reason = reason
    audit("record_round", case_id=case.id, target=kind)
    db.session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor=f"round-{kind}"))


@bp.post("/cases/<int:case_id>/met-alone")
@allow("therapist")
def met_alone(case_id: int):
    case = case_or_404(case_id)
    if case.status == "draft":
        abort(404)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    form = MetAloneForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _render_case(case, status=400)
    case.met_child_alone = form.met_alone.data == "yes"
    audit("record_met_alone", case_id=case.id)
    db.session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="met-alone"))


@bp.post("/cases/<int:case_id>/signals/<int:signal_id>/acknowledge")
@allow("therapist")
def signal_acknowledge(case_id: int, signal_id: int):
    case = case_or_404(case_id)
    signal = db.session.get(SafetySignal, signal_id)
    if signal is None or signal.case_id != case.id:
        abort(404)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    form = SignalNoteForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        if signal.acknowledged_at is None:
            # The case page again with the message beside this signal's note; nothing is stored.
            g.signal_forms = {signal.id: form}
            _flash_errors(form)
            return _render_case(case, status=400)
    elif signal_rules.acknowledge(signal, g.user.id, form.note.data):
        audit("acknowledge_signal", case_id=case.id, target=f"signal:{signal.id}")
        db.session.commit()
        flash(_("The signal is acknowledged, with what was done."), "info")
        if case.handovers:
            flash(_("The handover already sent does not change: send a corrected version to pass it on."), "info")
    else:
        flash(_("This signal was already acknowledged."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="signals"))


@bp.route("/cases/<int:case_id>/problems/<int:problem_id>/goal", methods=["GET", "POST"])
@allow("social_worker", "therapist")
def problem_goal(case_id: int, problem_id: int):
    case = case_or_404(case_id)
    problem = db.session.get(Problem, problem_id)
    if problem is None or problem.case_id != case.id:
        abort(404)
    if not may_set_goal(g.user, case, problem):
        abort(409)
    form = GoalForm(data={"goal": problem.goal} if request.method == "GET" else None)
    if form.validate_on_submit():
        problem.goal = form.goal.data.strip()
        audit("set_goal", case_id=case.id, target=f"problem:{problem.id}")
        db.session.commit()
        flash(_("The goal is saved."), "info")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor="problems"))
    return problem_page("staff/problem_goal.html", case, problem, form)


# --- What the case, closure and list pages show (template globals) ---------------------------------


@bp.app_template_global()
def red_thread_checks(case: Case) -> list[dict]:
    """The checks that fail for a case, for the signed-in user: the social worker sees them while
    writing the assignment, the therapist throughout. Each with the problem's words and a link."""
    user = g.get("user")
    if user is None or not (
        (user.role == "social_worker" and case.status == "draft") or _is_the_therapist(case)
    ):
        return []
    problems = {p.id: p for p in case.problems}
    on_closure_page = request.endpoint == "staff.closure_edit"
    items = []
    for finding in check_case(gather(case), date.today()):
        problem = problems.get(finding.problem_id) if finding.problem_id is not None else None
        fixable = {
            "goal": problem is not None and may_set_goal(user, case, problem),
            "closure": user.role == "therapist",
        }.get(finding.fix, True)
        url = url_for(finding.endpoint, case_id=case.id, **dict(finding.args), _anchor=finding.anchor) \
            if fixable else None
        if fixable and on_closure_page and finding.fix in ("met_alone", "signal"):
            url = f"#{finding.anchor}"  # the closure form records both: never leave a half-filled form
        items.append({"code": finding.code, "fix": finding.fix, "round": finding.round, "url": url,
                      "words": problem.words if problem else None, "child": bool(problem and problem.source == "child"),
                      "words_language": problem.words_language if problem else None})
    return items


@bp.app_template_global()
def safety_signals(case: Case) -> list[SafetySignal]:
    """Every safety signal of the case, handled or not, oldest first: for the case's therapist, who
    handles them, and the social workers of its unit, who are responsible for the child (case_or_404 has
    let only them this far). Nobody else's page shows them."""
    user = g.get("user")
    if user is None or not (_is_the_therapist(case) or user.role == "social_worker"):
        return []
    return signal_rules.case_signals(db.session, case)


@bp.app_template_global()
def signal_note_form(signal: SafetySignal) -> SignalNoteForm:
    """The form that acknowledges a signal: the one just refused, with its message, or a fresh one."""
    refused = g.get("signal_forms", {}).get(signal.id)
    return refused if refused is not None else SignalNoteForm(formdata=None)


@bp.app_template_global()
def round_answered_form(rating_round: RatingRound) -> RoundAnsweredForm:
    return RoundAnsweredForm(formdata=None, data={"answered_how": rating_round.answered_how or "",
                                                  "missing_reason": rating_round.missing_reason})


@bp.app_template_global()
def met_alone_form(case: Case) -> MetAloneForm:
    value = {True: "yes", False: "no"}.get(case.met_child_alone)
    return MetAloneForm(formdata=None, data={"met_alone": value})

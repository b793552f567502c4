"""Red-thread checks and the child's view of change: pure functions over a case's plain facts.

`check_case` looks at the facts `facts.gather` reads from a case and says what is missing along the
red thread: a child's problem without a goal, a problem about violence without a goal or not worked
with, a round without the child's rating and without a reason, goals that miss everything the child
named, a child the therapist never met alone, a safety signal not yet handled. None of them blocks
anything (sending a handover with a signal unhandled asks for a reason: kidrate/staff/closure.py):
each finding is a code, the problem or round it concerns, and where it is fixed. The views turn it
into words and a link.

`child_view` says, per problem the child named, how the child's own ratings moved, beside (never
instead of) the therapist's BBIC judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kidrate.red_thread.facts import CaseFacts, ProblemFact, RoundFact
from kidrate.vocab import ROUND_ORDER, VIOLENCE_CATEGORIES

# --- Findings ------------------------------------------------------------------------------------

CHILD_PROBLEM_WITHOUT_GOAL = "child_problem_without_goal"
# The social worker left the goal to be set with the child: open until the therapist sets it.
GOAL_WITH_CHILD = "goal_with_child"
VIOLENCE_WITHOUT_GOAL = "violence_without_goal"
VIOLENCE_NOT_WORKED_WITH = "violence_not_worked_with"
NO_START_RATING = "no_start_rating"
FOLLOW_UP_PASSED = "follow_up_passed"
NO_CLOSURE_RATING = "no_closure_rating"
GOALS_MISS_CHILD = "goals_miss_child"
NOT_MET_ALONE = "not_met_alone"
MET_ALONE_UNRECORDED = "met_alone_unrecorded"
SIGNAL_UNHANDLED = "signal_unhandled"

CODES = (
    SIGNAL_UNHANDLED, VIOLENCE_WITHOUT_GOAL, CHILD_PROBLEM_WITHOUT_GOAL, GOAL_WITH_CHILD, GOALS_MISS_CHILD,
    VIOLENCE_NOT_WORKED_WITH,
    NO_START_RATING, FOLLOW_UP_PASSED, NO_CLOSURE_RATING, NOT_MET_ALONE, MET_ALONE_UNRECORDED,
)


@dataclass(frozen=True)
class Finding:
    """One thing missing along the red thread, and where it is put right.

    `fix` names the kind of place ("goal", "closure", "round", "problems", "met_alone");
    `endpoint`, `args` and `anchor` are that place as a staff route (the view adds the case id)."""

    code: str
    problem_id: int | None = None
    round: str | None = None
    fix: str = "problems"
    endpoint: str = "staff.case_view"
    args: tuple[tuple[str, int | str], ...] = ()
    anchor: str | None = None

    def as_document(self) -> dict:
        """The finding as the handover stores it: codes and ids only, no words."""
        return {"code": self.code, "problem_id": self.problem_id, "round": self.round}


def _goal_finding(code: str, problem: ProblemFact) -> Finding:
    return Finding(code, problem_id=problem.id, fix="goal", endpoint="staff.problem_goal",
                   args=(("problem_id", problem.id),))


def _round_finding(code: str, kind: str) -> Finding:
    return Finding(code, round=kind, fix="round", anchor=f"round-{kind}")


def _has_goal(problem: ProblemFact) -> bool:
    return bool((problem.goal or "").strip())


def _answered(rnd: RoundFact | None) -> bool:
    """The child sent this round (declining every question is still the child's answer)."""
    return rnd is not None and rnd.submitted_at is not None


def _excused(rnd: RoundFact | None) -> bool:
    """The therapist has recorded why the child's rating is missing."""
    return rnd is not None and bool((rnd.missing_reason or "").strip())


def reference_date(facts: CaseFacts, today: date) -> date:
    """The day a case is judged on: today, or the day it closed if that came first."""
    if facts.closed_at is not None:
        return min(today, facts.closed_at.date())
    return today


def follow_up_due(facts: CaseFacts, today: date) -> bool:
    """Follow-up has come: its date has arrived, the child has answered it, or the case is closing."""
    day = reference_date(facts, today)
    return bool(
        (facts.follow_up_date is not None and facts.follow_up_date <= day)
        or _answered(facts.rounds.get("follow_up"))
        or facts.closure is not None
        or facts.closed_at is not None
    )


def check_case(facts: CaseFacts, today: date) -> list[Finding]:
    """Every red-thread check that fails for a case: safety signals not yet handled first, then
    problems, then rounds, then meeting alone."""
    findings: list[Finding] = [
        Finding(SIGNAL_UNHANDLED, problem_id=s.problem_id, fix="signal", anchor="signals")
        for s in facts.signals if s.handled_at is None
    ]
    # A problem withdrawn after hand-over is no longer worked on: nothing about it is missing.
    problems = [p for p in facts.problems if p.withdrawn_at is None]
    child = [p for p in problems if p.source == "child"]
    investigation = [p for p in problems if p.source != "child"]

    for p in problems:
        violence = p.category in VIOLENCE_CATEGORIES
        if violence and not _has_goal(p):
            findings.append(_goal_finding(VIOLENCE_WITHOUT_GOAL, p))
        elif p.source == "child" and not _has_goal(p):
            findings.append(_goal_finding(GOAL_WITH_CHILD if p.goal_with_child else CHILD_PROBLEM_WITHOUT_GOAL, p))
    if child and not any(_has_goal(p) for p in child) and any(_has_goal(p) for p in investigation):
        findings.append(Finding(GOALS_MISS_CHILD, fix="problems", anchor="problems"))
    for p in problems:
        if p.category in VIOLENCE_CATEGORIES and p.worked_with == "no":
            findings.append(Finding(VIOLENCE_NOT_WORKED_WITH, problem_id=p.id, fix="closure",
                                    endpoint="staff.closure_edit", anchor=f"problem-{p.id}"))

    if facts.assigned_at is None:  # the assignment is still being written: no rounds yet
        return findings

    day = reference_date(facts, today)
    rounds = facts.rounds
    if not _answered(rounds.get("start")) and not _excused(rounds.get("start")):
        findings.append(_round_finding(NO_START_RATING, "start"))
    follow_up = rounds.get("follow_up")
    if (facts.follow_up_date is not None and facts.follow_up_date < day
            and not _answered(follow_up) and not _excused(follow_up)):
        findings.append(_round_finding(FOLLOW_UP_PASSED, "follow_up"))
    closing = facts.closure is not None or facts.closed_at is not None
    if closing and not _answered(rounds.get("closure")) and not _excused(rounds.get("closure")):
        findings.append(_round_finding(NO_CLOSURE_RATING, "closure"))

    if facts.met_child_alone is False:
        findings.append(Finding(NOT_MET_ALONE, fix="met_alone", anchor="met-alone"))
    elif facts.met_child_alone is None and follow_up_due(facts, today):
        findings.append(Finding(MET_ALONE_UNRECORDED, fix="met_alone", anchor="met-alone"))
    return findings


# --- The child's view of change ---------------------------------------------------------------------

BETTER = 2  # last − first ≥ 2: better
WORSE = -2  # last − first ≤ −2: worse; in between (|difference| ≤ 1): about the same

REACHED = "reached"
IMPROVED = "better"
SAME = "same"
WORSENED = "worse"
NOT_ANSWERED = "not_answered"
VIEWS = (REACHED, IMPROVED, SAME, WORSENED, NOT_ANSWERED)


def _why(status: str, missing_reason: str | None) -> str:
    if status in {"declined", "dont_know", "not_asked"}:
        return status
    return "missing_reason" if (missing_reason or "").strip() else "no_submission"


def child_view(ratings: dict[str, dict], good_enough: int | None,
               missing_reasons: dict[str, str | None] | None = None) -> dict:
    """How the child's own ratings of one problem moved.

    `ratings` maps each round kind to {"status", "value"} (as `handover.rating_status` gives it);
    `good_enough` is the number the child chose at the start. The rule, in this order:
    "reached": the closure rating (else the last rating) is at least the good-enough number;
    "better": last − first ≥ 2; "same": |last − first| ≤ 1; "worse": last − first ≤ −2.
    "first" is the earliest rated round, "last" the closure rating, else the latest rated round after
    it; without two rated rounds the view is "not_answered", with why (from the round that is missing).
    """
    missing_reasons = missing_reasons or {}
    rated = [(kind, ratings[kind]["value"]) for kind in ROUND_ORDER
             if kind in ratings and ratings[kind].get("status") == "rated"]
    result = {"view": NOT_ANSWERED, "first": None, "last": None, "good_enough": good_enough,
              "difference": None, "why": None, "why_round": None, "missing_reason": None}
    if len(rated) < 2:
        # The round that is missing: the start if the child never rated it, else the closure.
        kind = "start" if not rated or rated[0][0] != "start" else "closure"
        status = ratings.get(kind, {}).get("status", "not_issued")
        reason = (missing_reasons.get(kind) or "").strip() or None
        result.update(first=rated[0][1] if rated else None, why=_why(status, reason), why_round=kind,
                      missing_reason=reason)
        return result
    (_first_kind, first), (_last_kind, last) = rated[0], rated[-1]
    difference = last - first
    if good_enough is not None and last >= good_enough:
        view = REACHED
    elif difference >= BETTER:
        view = IMPROVED
    elif difference <= WORSE:
        view = WORSENED
    else:
        view = SAME
    result.update(view=view, first=first, last=last, difference=difference)
    return result

"""A case read into plain facts: what the handover and the red-thread checks are computed from.

`gather` is the only part that touches the ORM; the dataclasses are plain, frozen values, so that
`handover.compile_handover` and `checks.check_case` are pure functions of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from kidrate.models import Case, utcnow
from kidrate.red_thread.amendments import AmendmentView, case_amendments


@dataclass(frozen=True)
class RatingFact:
    answer: str  # rated | declined | dont_know
    value: int | None
    good_enough: int | None = None  # at the start: the number at which the child says it is good enough


@dataclass(frozen=True)
class RoundFact:
    kind: str
    submitted_at: datetime | None = None
    added_text: str | None = None
    ratings: dict[int, RatingFact] = field(default_factory=dict)
    link_states: tuple[str, ...] = ()  # oldest first
    answered_how: str | None = None  # as the therapist recorded it
    missing_reason: str | None = None  # why there is no rating, in the therapist's words
    added_text_language: str | None = None  # the language of the child's page when they wrote it
    # Staff translations of the added text: (language, text), by language.
    added_text_translations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProblemFact:
    id: int
    source: str
    words: str
    category: str
    words_language: str | None = None
    # The child's words in Swedish, where they were said in another language and staff translated them.
    words_swedish: str | None = None
    category_text: str | None = None
    goal: str | None = None
    added_at_start: bool = False
    worked_with: str | None = None
    worked_with_comment: str | None = None
    goal_attainment: str | None = None
    goal_with_child: bool = False  # no goal yet, on purpose: to be set with the child
    withdrawn_at: datetime | None = None  # withdrawn after hand-over (an amendment says why)


@dataclass(frozen=True)
class ClosureFact:
    reason: str
    concern_remaining: bool
    reason_text: str | None = None
    concern_text: str | None = None
    new_problems: str | None = None
    participation: dict[str, str] = field(default_factory=dict)
    recommendation: str | None = None
    unhandled_signals_reason: str | None = None  # why it was sent while a safety signal was unhandled


@dataclass(frozen=True)
class SignalFact:
    """A safety signal the child's answers raised, and what the therapist recorded of its handling."""

    id: int
    problem_id: int
    kind: str  # low_violence | drop
    value: int
    raised_at: datetime
    previous_value: int | None = None
    words: str = ""
    words_language: str | None = None
    handled_at: datetime | None = None
    handled_by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    case_ref: str
    age: int
    gender: str
    child_language: str
    intervention_types: tuple[str, ...]
    created_at: datetime
    problems: tuple[ProblemFact, ...]
    rounds: dict[str, RoundFact]
    intervention_text: str | None = None
    assigned_at: datetime | None = None
    closed_at: datetime | None = None
    follow_up_date: date | None = None
    authority_unit: str = ""
    open_care_unit: str = ""
    therapist: str = ""
    closure: ClosureFact | None = None
    met_child_alone: bool | None = None
    # Corrections to the assignment after hand-over, oldest first (red_thread/amendments.py).
    amendments: tuple[AmendmentView, ...] = ()
    signals: tuple[SignalFact, ...] = ()  # oldest first


def gather(case: Case, now: datetime | None = None) -> CaseFacts:
    """Read a case (and what hangs on it) into plain facts. The only part that touches the ORM."""
    now = now or utcnow()
    rounds = {}
    for rnd in case.rounds:
        sub = rnd.submission
        rounds[rnd.kind] = RoundFact(
            kind=rnd.kind,
            submitted_at=sub.submitted_at if sub else None,
            added_text=sub.added_text if sub else None,
            ratings={r.problem_id: RatingFact(r.answer, r.value, r.good_enough) for r in sub.ratings}
            if sub else {},
            link_states=tuple(link.state(now) for link in rnd.links),
            answered_how=rnd.answered_how,
            missing_reason=rnd.missing_reason,
            added_text_language=next((link.language for link in rnd.links if sub and link.id == sub.link_id), None),
            added_text_translations=tuple((t.language, t.text) for t in sub.translations) if sub else (),
        )
    closure = case.closure
    return CaseFacts(
        case_ref=case.case_ref,
        age=case.age,
        gender=case.gender,
        child_language=case.child_language,
        intervention_types=tuple(case.intervention_types or ()),
        intervention_text=case.intervention_text,
        created_at=case.created_at,
        assigned_at=case.assigned_at,
        closed_at=case.closed_at,
        follow_up_date=case.follow_up_date,
        met_child_alone=case.met_child_alone,
        amendments=tuple(case_amendments(case)),
        authority_unit=case.authority_unit.name,
        open_care_unit=case.open_care_unit.name if case.open_care_unit else "",
        therapist=case.therapist.display_name if case.therapist else "",
        problems=tuple(
            ProblemFact(
                id=p.id, source=p.source, words=p.words, words_language=p.words_language,
                words_swedish=p.words_in("sv") if p.words_language not in (None, "sv") else None,
                category=p.category, category_text=p.category_text, goal=p.goal,
                added_at_start=p.added_at_start, worked_with=p.worked_with,
                worked_with_comment=p.worked_with_comment, goal_attainment=p.goal_attainment,
                goal_with_child=bool(p.goal_with_child), withdrawn_at=p.withdrawn_at,
            )
            for p in case.problems
        ),
        rounds=rounds,
        closure=ClosureFact(
            reason=closure.reason, reason_text=closure.reason_text,
            concern_remaining=closure.concern_remaining, concern_text=closure.concern_text,
            new_problems=closure.new_problems, participation=dict(closure.participation or {}),
            recommendation=closure.recommendation, unhandled_signals_reason=closure.unhandled_signals_reason,
        ) if closure else None,
        signals=tuple(
            SignalFact(
                id=s.id, problem_id=s.problem_id, kind=s.kind, value=s.value, previous_value=s.previous_value,
                raised_at=s.created_at, words=s.problem.words, words_language=s.problem.words_language,
                handled_at=s.acknowledged_at, note=s.acknowledged_note,
                handled_by=s.acknowledged_by.display_name if s.acknowledged_by else None,
            )
            for s in sorted(case.signals, key=lambda s: (s.created_at, s.id))
        ),
    )

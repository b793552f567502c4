"""Safety signals: raised the moment a child's answers hold a sign of danger.

A rating of 1 or 2 on a problem in the violence categories ("low_violence"), or any problem whose
rating dropped by 3 or more since the child last rated it ("drop"). A signal says what happened, not
what to do. The case's therapist handles it and acknowledges it with a note of what was done (who and
when are recorded); the case's social worker sees it too, and how it was handled. An acknowledged
signal stays in the case's history, and the handover lists every signal with its handling.

`signals_for` is the rule (pure); `record_signals` applies it to a submission being stored, in the same
transaction, so the signals exist the moment the child has sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from kidrate.models import Case, Rating, RatingRound, SafetySignal, Submission, utcnow
from kidrate.red_thread import events
from kidrate.vocab import VIOLENCE_CATEGORIES

LOW_VALUES = frozenset({1, 2})  # on a problem about violence
DROP = 3  # a fall of this much or more since the child last rated the problem


class Signal(NamedTuple):
    problem_id: int
    kind: str  # "low_violence" | "drop"
    value: int
    previous_value: int | None


def signals_for(ratings: Mapping[int, int | None], previous: Mapping[int, int],
                problems: Mapping[int, str]) -> list[Signal]:
    """The signals in one submission.

    `ratings`: problem id → the value the child gave now (None: declined or didn't know);
    `previous`: problem id → the value the child gave the last time they rated that problem;
    `problems`: problem id → its category. Problems not in `problems` are ignored."""
    found: list[Signal] = []
    for problem_id, value in ratings.items():
        if value is None or problem_id not in problems:
            continue
        before = previous.get(problem_id)
        if problems[problem_id] in VIOLENCE_CATEGORIES and value in LOW_VALUES:
            found.append(Signal(problem_id, "low_violence", value, before))
        if before is not None and before - value >= DROP:
            found.append(Signal(problem_id, "drop", value, before))
    return found


# Built once: it runs inside every child's send.
_PREVIOUS = (
    select(Rating.problem_id, Rating.value)
    .join(Submission, Rating.submission_id == Submission.id)
    .join(RatingRound, Submission.round_id == RatingRound.id)
    .where(RatingRound.case_id == bindparam("case_id"), RatingRound.id != bindparam("round_id"),
           Rating.answer == "rated", Rating.value.is_not(None))
    .order_by(Submission.submitted_at, Submission.id)
)


def previous_ratings(session: Session, case: Case, exclude_round_id: int) -> dict[int, int]:
    """Per problem, the value of the child's latest rating in the case's other (earlier) submissions:
    one query, as it runs inside the child's send."""
    rows = session.execute(_PREVIOUS, {"case_id": case.id, "round_id": exclude_round_id})
    # Oldest first: a later rating overwrites an earlier one.
    return {problem_id: value for problem_id, value in rows}


def record_signals(session: Session, rating_round: RatingRound, submission: Submission) -> list[SafetySignal]:
    """Add the signals of a submission being stored to the current transaction (flushes it)."""
    session.flush()  # the submission's id
    case = rating_round.case
    now = [(r.problem_id, r.value if r.answer == "rated" else None) for r in submission.ratings]
    found = signals_for(dict(now), previous_ratings(session, case, rating_round.id),
                        {p.id: p.category for p in case.problems})
    stored = [
        SafetySignal(case_id=case.id, submission_id=submission.id, problem_id=s.problem_id, kind=s.kind,
                     value=s.value, previous_value=s.previous_value, created_at=utcnow())
        for s in found
    ]
    session.add_all(stored)
    if stored:
        events.signals_raised.send(submission, case=case, signals=stored, session=session)
    return stored


def open_signal_counts(session: Session, case_ids: list[int]) -> dict[int, int]:
    """How many signals are not yet acknowledged, per case: one query for a whole case list."""
    return dict(session.execute(
        select(SafetySignal.case_id, func.count())
        .where(SafetySignal.case_id.in_(case_ids), SafetySignal.acknowledged_at.is_(None))
        .group_by(SafetySignal.case_id)
    ).all())


def open_signals(session: Session, case: Case) -> list[SafetySignal]:
    """The case's signals not yet acknowledged, oldest first."""
    return list(session.scalars(
        select(SafetySignal)
        .where(SafetySignal.case_id == case.id, SafetySignal.acknowledged_at.is_(None))
        .order_by(SafetySignal.created_at, SafetySignal.id)
    ))


def case_signals(session: Session, case: Case) -> list[SafetySignal]:
    """Every signal of the case, handled or not, oldest first: the case's history of them."""
    return list(session.scalars(
        select(SafetySignal).where(SafetySignal.case_id == case.id)
        .order_by(SafetySignal.created_at, SafetySignal.id)
    ))


def unit_signals(session: Session, organisation_id: int, unit_id: int | None,
                 handled_since: datetime) -> list[SafetySignal]:
    """The signals of an authority unit's cases that its social workers should see now: every one not
    yet acknowledged, and those acknowledged since `handled_since`; unhandled first, newest first."""
    rows = session.scalars(
        select(SafetySignal).join(Case, Case.id == SafetySignal.case_id)
        .where(Case.organisation_id == organisation_id, Case.authority_unit_id == unit_id,
               Case.purged_at.is_(None),
               or_(SafetySignal.acknowledged_at.is_(None), SafetySignal.acknowledged_at >= handled_since))
        .order_by(SafetySignal.acknowledged_at.is_not(None), SafetySignal.created_at.desc(), SafetySignal.id.desc())
    )
    return list(rows)


def acknowledge(signal: SafetySignal, user_id: int, note: str) -> bool:
    """Record what the therapist did about a signal, and who and when; False if it already was.

    The note is required: an acknowledgement without one says nothing to the social worker."""
    note = (note or "").strip()
    if not note:
        raise ValueError("a note of what was done is required")
    if signal.acknowledged_at is not None:
        return False
    signal.acknowledged_at = utcnow()
    signal.acknowledged_by_id = user_id
    signal.acknowledged_note = note
    return True

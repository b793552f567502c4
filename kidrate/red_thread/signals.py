"""Safety signals: raised the moment a child's answers hold a sign of danger.

A rating of 1 or 2 on a problem in the violence categories ("low_violence"), or any problem whose
rating dropped by 3 or more since the child last rated it ("drop"). A signal says what happened, not
what to do; it is the therapist's, and stays until they acknowledge it.

`signals_for` is the rule (pure); `record_signals` applies it to a submission being stored, in the same
transaction, so the signals exist the moment the child has sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kidrate.models import Case, RatingRound, SafetySignal, Submission, utcnow
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


def previous_ratings(case: Case, exclude_round_id: int) -> dict[int, int]:
    """Per problem, the value of the child's latest rating in the case's other (earlier) submissions."""
    earlier = sorted((rnd.submission for rnd in case.rounds
                      if rnd.id != exclude_round_id and rnd.submission is not None),
                     key=lambda sub: (sub.submitted_at, sub.id))
    values: dict[int, int] = {}
    for sub in earlier:  # oldest first: a later rating overwrites an earlier one
        for rating in sub.ratings:
            if rating.answer == "rated" and rating.value is not None:
                values[rating.problem_id] = rating.value
    return values


def record_signals(session: Session, rating_round: RatingRound, submission: Submission) -> list[SafetySignal]:
    """Add the signals of a submission being stored to the current transaction (flushes it)."""
    session.flush()  # the submission's id
    case = rating_round.case
    now = [(r.problem_id, r.value if r.answer == "rated" else None) for r in submission.ratings]
    found = signals_for(dict(now), previous_ratings(case, rating_round.id),
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


def acknowledge(signal: SafetySignal, user_id: int) -> bool:
    """Mark a signal as seen by the therapist; False if it already was."""
    if signal.acknowledged_at is not None:
        return False
    signal.acknowledged_at = utcnow()
    signal.acknowledged_by_id = user_id
    return True

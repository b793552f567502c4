"""The child's rating per problem and round, copied onto the problem (Problem.start_rating,
follow_up_rating, closure_rating).

Ratings stay the record; these columns are a summary the group report reads, so that a report over
a hundred thousand cases reads one row per problem instead of every rating with its submission and
round. One statement fills them, used wherever ratings are stored: the child's submission, the
migration that added the columns, and the benchmark's data set.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from kidrate.models import Problem, Rating, RatingRound, Submission
from kidrate.vocab import ROUND_ORDER

SUMMARY_COLUMNS = {kind: f"{kind}_rating" for kind in ROUND_ORDER}


def _summary_update(problem_ids: bool):
    per_problem = (
        select(Rating.problem_id.label("problem_id"),
               *[func.max(case((RatingRound.kind == kind, Rating.value))).label(kind) for kind in ROUND_ORDER])
        .join(Submission, Submission.id == Rating.submission_id)
        .join(RatingRound, RatingRound.id == Submission.round_id)
        .where(Rating.answer == "rated")
        .group_by(Rating.problem_id)
    )
    if problem_ids:
        per_problem = per_problem.where(Rating.problem_id.in_(bindparam("problem_ids", expanding=True)))
    rated = per_problem.subquery("rated")
    return (
        update(Problem).where(Problem.id == rated.c.problem_id)
        .values({column: rated.c[kind] for kind, column in SUMMARY_COLUMNS.items()})
        .execution_options(synchronize_session=False)
    )


# Built once: the child's send runs the first on every submission.
_FOR_PROBLEMS, _FOR_ALL = _summary_update(problem_ids=True), _summary_update(problem_ids=False)


def refresh_rating_summary(session: Session, problem_ids: Iterable[int] | None = None) -> None:
    """Copy the child's rated values (answer 'rated') onto the problems given, or onto every problem."""
    if problem_ids is None:
        session.execute(_FOR_ALL)
    else:
        session.execute(_FOR_PROBLEMS, {"problem_ids": list(problem_ids)})

"""Retention: a closed case's content is removed `retention_years` after closure, and audit events
after `audit_retention_years` (settings; README "Retention").

Purging keeps the Case row, its problems' areas, how they were worked with and the child's rating
per round (the summary columns), the closure's reason and concern flag, and the three rating
rounds: everything kidrate/statistics/report.py and the SU-X export count, so group figures do not change.
It removes every word and every trace of the child's answers: the child's and the investigation's
words (set to "", the column is required), translations, recordings, goals and comments, the
child's submissions and ratings, links, safety signals, the closure's free texts, the handover
snapshots, and the case's own free text and family languages. `purged_at` marks the case.

Values are written through the models' columns (ORM-enabled statements), never as SQL text, so the
columns' own types (encryption included) apply. This is the only module that deletes audit events:
with a Core delete on the session's connection, which kidrate/protection/audit.py's guard leaves alone.

`purge` flushes but does not commit: the caller commits, with its own audit event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kidrate.models import (
    AuditEvent,
    Case,
    ChildLink,
    Closure,
    Handover,
    Problem,
    ProblemAmendment,
    ProblemTranslation,
    Rating,
    RatingRound,
    Recording,
    SafetySignal,
    StaffSession,
    Submission,
    SubmissionTranslation,
)

# Cases per round of statements: well inside every database's limit on bound parameters.
BATCH = 500
NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class PurgeResult:
    cases: int
    audit_events: int
    dry_run: bool
    # organisation id (None: events of no organisation) → (cases purged, audit events removed)
    per_organisation: dict[int | None, tuple[int, int]] = field(default_factory=dict)
    # Staff sessions over for longer than SESSIONS_KEPT: their rows hold nothing worth keeping.
    staff_sessions: int = 0

    def summary(self) -> str:
        """Counts only, for the command line and the audit log."""
        return f"{self.cases} cases, {self.audit_events} audit events"


# An ended (or long idle) staff session's row is kept this long, then removed: it only ever answers
# "is this cookie still signed in?", and the audit log already holds who signed in and out when.
SESSIONS_KEPT = timedelta(days=30)


def years_before(moment: datetime, years: int) -> datetime:
    """The same date and time `years` calendar years earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _batches(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield list(ids[start:start + BATCH])


def _purge_cases(session: Session, ids: list[int], now: datetime) -> None:
    rounds = select(RatingRound.id).where(RatingRound.case_id.in_(ids))
    problems = select(Problem.id).where(Problem.case_id.in_(ids))
    submissions = select(Submission.id).where(Submission.round_id.in_(rounds))
    run = session.execute
    # Children before parents, so that foreign keys hold at every step on both databases.
    run(delete(SafetySignal).where(SafetySignal.case_id.in_(ids)), execution_options=NO_SYNC)
    run(delete(Rating).where(Rating.submission_id.in_(submissions)), execution_options=NO_SYNC)
    # Staff translations of what the child added hold the child's words too.
    run(delete(SubmissionTranslation).where(SubmissionTranslation.submission_id.in_(submissions)),
        execution_options=NO_SYNC)
    run(delete(Submission).where(Submission.round_id.in_(rounds)), execution_options=NO_SYNC)
    run(delete(ChildLink).where(ChildLink.round_id.in_(rounds)), execution_options=NO_SYNC)
    run(delete(ProblemTranslation).where(ProblemTranslation.problem_id.in_(problems)), execution_options=NO_SYNC)
    # Amendments hold the child's words (before and after) and the reasons.
    run(delete(ProblemAmendment).where(ProblemAmendment.problem_id.in_(problems)), execution_options=NO_SYNC)
    run(delete(Recording).where(Recording.problem_id.in_(problems)), execution_options=NO_SYNC)
    # Handovers are snapshots holding the child's words; a correction points at the version it replaces.
    run(update(Handover).where(Handover.case_id.in_(ids)).values(replaces_id=None), execution_options=NO_SYNC)
    run(delete(Handover).where(Handover.case_id.in_(ids)), execution_options=NO_SYNC)
    run(update(RatingRound).where(RatingRound.case_id.in_(ids)).values(missing_reason=None, answered_how=None),
        execution_options=NO_SYNC)
    run(update(Problem).where(Problem.case_id.in_(ids)).values(
        words="", words_language=None, category_text=None, goal=None, goal_attainment=None,
        worked_with_comment=None), execution_options=NO_SYNC)
    run(update(Closure).where(Closure.case_id.in_(ids)).values(
        reason_text=None, concern_text=None, new_problems=None, recommendation=None, participation={},
        unhandled_signals_reason=None),
        execution_options=NO_SYNC)
    run(update(Case).where(Case.id.in_(ids)).values(
        intervention_text=None, family_languages=[], scale_view=None, met_child_alone=None, purged_at=now),
        execution_options=NO_SYNC)


def purge(session: Session, now: datetime, retention_years: int, audit_retention_years: int,
          dry_run: bool = False) -> PurgeResult:
    """Purge the content of cases closed before `retention_years` ago, then remove audit events older
    than `audit_retention_years`. With dry_run, only count. `now` is naive UTC, as stored."""
    case_cutoff = years_before(now, retention_years)
    audit_cutoff = years_before(now, audit_retention_years)
    due = select(Case.id, Case.organisation_id).where(
        Case.status == "closed", Case.closed_at.is_not(None), Case.closed_at < case_cutoff, Case.purged_at.is_(None))
    cases = session.execute(due.order_by(Case.id)).all()
    events = session.execute(
        select(AuditEvent.organisation_id, func.count()).where(AuditEvent.at < audit_cutoff)
        .group_by(AuditEvent.organisation_id)).all()

    per_organisation: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for _id, organisation_id in cases:
        per_organisation[organisation_id][0] += 1
    for organisation_id, n in events:
        per_organisation[organisation_id][1] += n
    over = func.coalesce(StaffSession.ended_at, StaffSession.last_seen_at) < now - SESSIONS_KEPT
    sessions = session.scalar(select(func.count(StaffSession.id)).where(over)) or 0
    result = PurgeResult(cases=len(cases), audit_events=sum(n for _org, n in events), dry_run=dry_run,
                         per_organisation={k: (v[0], v[1]) for k, v in per_organisation.items()},
                         staff_sessions=sessions)
    if dry_run:
        return result

    for ids in _batches([case_id for case_id, _org in cases]):
        _purge_cases(session, ids, now)
    audit_table = AuditEvent.__table__
    session.connection().execute(delete(audit_table).where(audit_table.c.at < audit_cutoff))
    session.execute(delete(StaffSession).where(over))
    # Objects loaded before the purge must not write old values back or show them.
    session.expire_all()
    return result

"""How e-mail is going, for one organisation's admin: counts of the outbox rows of its own staff, and
the recent failures (whose, which kind, how often, the last error: never an address or content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from kidrate.models import OutboxMail, User, utcnow

RECENT = timedelta(days=7)


@dataclass(frozen=True)
class Counts:
    waiting: int  # not yet tried
    retrying: int  # failed, will be tried again
    failed: int  # given up after failing (in the last week)
    not_sent: int  # given up without trying: no longer wanted, no address, deactivated, too old (last week)
    sent: int  # in the last week


def counts(session: Session, organisation_id: int, now: datetime | None = None) -> Counts:
    since = (now or utcnow()) - RECENT
    open_ = OutboxMail.sent_at.is_(None) & OutboxMail.gave_up_at.is_(None)
    given_up = OutboxMail.gave_up_at.is_not(None) & (OutboxMail.gave_up_at >= since)

    def count(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(count(open_ & (OutboxMail.attempts == 0)), count(open_ & (OutboxMail.attempts > 0)),
               count(given_up & (OutboxMail.attempts > 0)), count(given_up & (OutboxMail.attempts == 0)),
               count(OutboxMail.sent_at.is_not(None) & (OutboxMail.sent_at >= since)))
        .join(User, User.id == OutboxMail.user_id).where(User.organisation_id == organisation_id)
    ).one()
    return Counts(*(int(v) for v in row))


def recent_failures(session: Session, organisation_id: int, now: datetime | None = None,
                    limit: int = 50) -> list[OutboxMail]:
    """Rows of the organisation's staff that failed at least once and are not sent: still retrying, or
    given up in the last week; newest first."""
    since = (now or utcnow()) - RECENT
    return list(session.scalars(
        select(OutboxMail).join(User, User.id == OutboxMail.user_id)
        .where(User.organisation_id == organisation_id, OutboxMail.sent_at.is_(None), OutboxMail.attempts > 0,
               or_(OutboxMail.gave_up_at.is_(None), OutboxMail.gave_up_at >= since))
        .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(limit)
        .options(selectinload(OutboxMail.user))
    ))

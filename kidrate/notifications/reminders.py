"""The daily check, run by every `kidrate send-mail`: follow-up dates a week away and children's links
that expire within two days unanswered become a notice to the case's therapist, once per case and
date, once per link, however often it runs (the outbox's unique key, outbox.enqueue_once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kidrate.models import Case, ChildLink, RatingRound, Submission, User, utcnow
from kidrate.notifications import outbox

FOLLOW_UP_AHEAD = timedelta(days=7)
LINK_AHEAD = timedelta(days=2)
# A link that lives this long or less (the tablet hand-over's minutes, a link of a day or two) is
# answered on the spot or soon: no reminder.
LINK_SHORTEST = timedelta(days=4)


@dataclass(frozen=True)
class Queued:
    follow_up: int = 0
    link_expiring: int = 0

    @property
    def total(self) -> int:
        return self.follow_up + self.link_expiring


def follow_ups_near(session: Session, today: date) -> list[tuple[Case, User]]:
    """Assigned cases whose follow-up date is within a week, the follow-up round not yet answered."""
    rows = session.execute(
        select(Case, User)
        .join(User, User.id == Case.therapist_id)
        .join(RatingRound, (RatingRound.case_id == Case.id) & (RatingRound.kind == "follow_up"))
        .outerjoin(Submission, Submission.round_id == RatingRound.id)
        .where(Case.status == "assigned", Case.follow_up_date.is_not(None),
               Case.follow_up_date >= today, Case.follow_up_date <= today + FOLLOW_UP_AHEAD,
               Submission.id.is_(None), User.email.is_not(None), User.active.is_(True))
        .order_by(Case.id)
    ).all()
    return [(case, user) for case, user in rows]


def links_expiring(session: Session, now: datetime) -> list[tuple[ChildLink, User]]:
    """Live links (not used, not revoked) that end within two days, of a round not yet answered, in a
    case still at open care; links that lived four days or less are left out."""
    rows = session.execute(
        select(ChildLink, User)
        .join(RatingRound, RatingRound.id == ChildLink.round_id)
        .join(Case, Case.id == RatingRound.case_id)
        .join(User, User.id == Case.therapist_id)
        .outerjoin(Submission, Submission.round_id == RatingRound.id)
        .where(ChildLink.used_at.is_(None), ChildLink.revoked_at.is_(None),
               ChildLink.expires_at > now, ChildLink.expires_at <= now + LINK_AHEAD,
               Case.status == "assigned", Submission.id.is_(None),
               User.email.is_not(None), User.active.is_(True))
        .order_by(ChildLink.id)
    ).all()
    return [(link, user) for link, user in rows if link.expires_at - link.created_at > LINK_SHORTEST]


def queue_reminders(session: Session, today: date | None = None, now: datetime | None = None) -> Queued:
    """Queue what is due today, each row committed as it is queued."""
    now = now or utcnow()
    today = today or date.today()
    follow_up = sum(
        outbox.enqueue_once(session, user, "follow_up", f"case:{case.id}:{case.follow_up_date.isoformat()}", now)
        for case, user in follow_ups_near(session, today))
    expiring = sum(outbox.enqueue_once(session, user, "link_expiring", f"link:{link.id}", now)
                   for link, user in links_expiring(session, now))
    return Queued(follow_up, expiring)

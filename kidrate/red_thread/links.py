"""One-time links for the child: issue, find, consume, revoke. The only code that touches tokens.

A token is 192 random bits, shown once to the therapist and stored only as its SHA-256. Opening a
link (GET) consumes nothing; only the child's submission does, atomically, in the same transaction
that stores the answers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kidrate.models import ChildLink, RatingRound, utcnow

TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue(
    session: Session, rating_round: RatingRound, *, language: str, created_by_id: int | None, days: int
) -> tuple[ChildLink, str]:
    """A new link for the round; any live earlier link for it is revoked (a child answers once)."""
    now = utcnow()
    for earlier in rating_round.links:
        if earlier.state(now) in {"issued", "opened"}:
            earlier.revoked_at = now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ChildLink(
        round=rating_round,
        token_hash=hash_token(token),
        language=language,
        created_by_id=created_by_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    return link, token


def find(session: Session, token: str) -> ChildLink | None:
    """The link for a token, whatever its state, or None for anything malformed or unknown."""
    if not _TOKEN_SHAPE.match(token):
        return None
    return session.scalar(select(ChildLink).where(ChildLink.token_hash == hash_token(token)))


def usable(link: ChildLink | None, now: datetime | None = None) -> bool:
    return link is not None and link.state(now or utcnow()) in {"issued", "opened"}


def consume(session: Session, link: ChildLink) -> bool:
    """Mark the link used if, and only if, it is still usable, in one conditional UPDATE.

    Two submissions racing on one link both run this; the database lets exactly one of them
    change the row. The caller stores the answers in the same transaction.
    """
    now = utcnow()
    result = session.execute(
        update(ChildLink)
        .where(
            ChildLink.id == link.id,
            ChildLink.used_at.is_(None),
            ChildLink.revoked_at.is_(None),
            ChildLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke(link: ChildLink) -> bool:
    if link.state(utcnow()) not in {"issued", "opened"}:
        return False
    link.revoked_at = utcnow()
    return True

"""One-time links for the child: issue, find, consume, revoke. The only code that touches tokens.

A token is 192 random bits, shown once to the therapist and stored only as its SHA-256. Opening a
link (GET) consumes nothing; only the child's submission does, atomically, in the same transaction
that stores the answers.

A link lives to the end of a whole day in Sweden: issued on day D (Europe/Stockholm) for N days, it
works until 23:59:59.999999 on day D + N there, whatever the clock time of issue and whether or not
summer time begins or ends in between. The message sent with it names that last day. Like every
datetime here, expires_at is stored as naive UTC.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from kidrate.config import LOCAL_ZONE
from kidrate.models import Case, ChildLink, RatingRound, utcnow
from kidrate.protection.crypto import DecryptionError, decrypt_text, encrypt_text

TOKEN_BYTES = 24
# After issuing, the therapist may need the link again (a reload, a second look at the QR code): for
# this long, and only in the signed-in session that issued it, the token can be shown again.
SHOW_AGAIN_MINUTES = 30
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def last_day(issued_at: datetime, days: int) -> date:
    """The last whole day a link issued at issued_at (naive UTC) works: days after the day of issue in Sweden."""
    return issued_at.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date() + timedelta(days=days)


def end_of_day(day: date) -> datetime:
    """The last moment of a day in Sweden, as naive UTC: one microsecond before the next day's midnight there."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_ZONE)
    return (next_midnight.astimezone(UTC) - timedelta(microseconds=1)).replace(tzinfo=None)


def expiry(issued_at: datetime, days: int) -> datetime:
    """When a link issued at issued_at (naive UTC) for days days stops working (naive UTC)."""
    return end_of_day(last_day(issued_at, days))


def shown_last_day(link: ChildLink) -> date:
    """The day in Sweden on which the link ends: the date its message names."""
    return link.expires_at.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()


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
        expires_at=expiry(now, days),
    )
    session.add(link)
    return link, token


def live(rating_round: RatingRound, now: datetime | None = None) -> ChildLink | None:
    """The round's link the child can still use, if any (issue() keeps at most one)."""
    now = now or utcnow()
    return next((lk for lk in reversed(rating_round.links) if usable(lk, now)), None)


# --- Showing a token again, without storing it -------------------------------------------------
#
# The token is sealed with the data key (AES-GCM, kidrate/protection/crypto.py) and the sealed value
# is kept by the issuing browser, in its signed session cookie: never in the database, never in a URL.
# The associated data names the link and the server-side session row, so a sealed token opens only
# for that link, in that session (signing out, the tablet hand-over or an idle end make it useless),
# and only until the time sealed inside it.


def _sealed_for(link_id: int, session_id: int) -> str:
    return f"child_link.token_shown:{link_id}:{session_id}"


def seal_token(key: bytes, token: str, *, link_id: int, session_id: int, until: datetime) -> str:
    payload = json.dumps({"token": token, "until": until.isoformat()})
    return encrypt_text(key, payload, _sealed_for(link_id, session_id))


def open_sealed_token(keys, sealed: object, link: ChildLink, *, session_id: int,
                      now: datetime | None = None) -> tuple[str, datetime] | None:
    """The token and until when it may be shown, if sealed is this link's, for this session, and not
    past its time; None for anything else (altered, another link or session, too late, malformed)."""
    if not isinstance(sealed, str):
        return None
    try:
        payload = json.loads(decrypt_text(keys, sealed, _sealed_for(link.id, session_id)))
        token, until = payload["token"], datetime.fromisoformat(payload["until"])
    except (DecryptionError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token) or hash_token(token) != link.token_hash:
        return None
    if until <= (now or utcnow()):
        return None
    return token, until


# The link with its round (and the round's submission, if any), case and the case's problems in one query:
# every child page needs them all. Built once: the loader options cost more to build than the query takes.
_FIND = (
    select(ChildLink)
    .join(ChildLink.round).join(RatingRound.case)
    .options(contains_eager(ChildLink.round).contains_eager(RatingRound.case).joinedload(Case.problems),
             contains_eager(ChildLink.round).joinedload(RatingRound.submission))
    .where(ChildLink.token_hash == bindparam("token_hash"))
)


def find(session: Session, token: str) -> ChildLink | None:
    """The link for a token, whatever its state, or None for anything malformed or unknown."""
    if not _TOKEN_SHAPE.match(token):
        return None
    return session.scalars(_FIND, {"token_hash": hash_token(token)}).unique().first()


_OPENED = (update(ChildLink).where(ChildLink.id == bindparam("link_id"), ChildLink.opened_at.is_(None))
           .values(opened_at=bindparam("now")).execution_options(synchronize_session=False))


def mark_opened(session: Session, link: ChildLink) -> None:
    """The link's first opening, in one prepared UPDATE (on every child's first page): the loaded link says
    so too, without the unit of work's flush."""
    now = utcnow()
    session.execute(_OPENED, {"link_id": link.id, "now": now})
    set_committed_value(link, "opened_at", now)


def usable(link: ChildLink | None, now: datetime | None = None) -> bool:
    return link is not None and link.state(now or utcnow()) in {"issued", "opened"}


_CONSUME = (
    update(ChildLink)
    .where(ChildLink.id == bindparam("link_id"), ChildLink.used_at.is_(None), ChildLink.revoked_at.is_(None),
           ChildLink.expires_at > bindparam("now"))
    .values(used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def consume(session: Session, link: ChildLink) -> bool:
    """Mark the link used if, and only if, it is still usable, in one conditional UPDATE.

    Two submissions racing on one link both run this; the database lets exactly one of them
    change the row. The caller stores the answers in the same transaction.
    """
    result = session.execute(_CONSUME, {"link_id": link.id, "now": utcnow()})
    return result.rowcount == 1


def revoke(link: ChildLink) -> bool:
    if link.state(utcnow()) not in {"issued", "opened"}:
        return False
    link.revoked_at = utcnow()
    return True

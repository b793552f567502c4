"""The outbox: who is to get an e-mail of which kind, queued in the transaction of what caused it.

A row holds the user, the kind and what it is about as ids ("case:12"), never content: the message is
made from the kind alone when it is sent (mail.py). Each user chooses which kinds they get; a user
without an e-mail address, or deactivated, gets none. Nothing is queued while e-mail is not set up
(no KIDRATE_SMTP_HOST), so nothing piles up to arrive all at once later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kidrate.models import OutboxMail, User, utcnow

# The notices a user can choose, by the role that gets them, each with what the user is told.
CHOICES: Mapping[str, Mapping[str, object]] = {
    "therapist": {
        "assigned": _l("A case is assigned to me"),
        "signal": _l("A child's answers raise a safety signal in one of my cases"),
        "follow_up": _l("A follow-up date of one of my cases is a week away"),
        "link_expiring": _l("A child's link expires within two days and is not yet answered"),
        "amendment": _l("The social worker amends the assignment of one of my cases"),
    },
    "social_worker": {
        "handover": _l("A closure handover arrives from open care"),
        "signal": _l("A child's answers raise a safety signal in a case I hold"),
        "amendment": _l("Open care amends the assignment of a case I hold"),
    },
}
NOTICES = ("assigned", "handover", "signal", "follow_up", "link_expiring", "amendment")
KINDS = (*NOTICES, "reset")  # a password-reset link: asked for, so never a choice

# The usual shape, in ASCII: a server without SMTPUTF8 could not take another, and one refused address
# must not hold up everyone's. Nothing that could break a header (spaces, line breaks, <>, commas).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalise_address(raw: str) -> str | None:
    """An e-mail address as stored (trimmed, lower case), or None when it cannot be one."""
    address = (raw or "").strip().lower()
    if len(address) > 254 or not _ADDRESS.match(address):
        return None
    return address


def choices_for(role: str) -> Mapping[str, object]:
    return CHOICES.get(role, {})


def wants(user: User, kind: str) -> bool:
    """Would this user get an e-mail of this kind now?"""
    if not user.active or not user.email:
        return False
    if kind == "reset":
        return True
    return kind in choices_for(user.role) and kind not in (user.notifications_off or [])


def mail_configured() -> bool:
    return has_app_context() and current_app.config["KIDRATE"].smtp_configured


def enqueue(session: Session, user: User | None, kind: str, about: str | None = None,
            now: datetime | None = None) -> OutboxMail | None:
    """Queue an e-mail of this kind for the user, in the session's transaction; None when the user would
    not get it, e-mail is not set up, or one about the same thing is already queued or sent."""
    if kind not in KINDS:
        raise ValueError(kind)
    if user is None or not mail_configured() or not wants(user, kind):
        return None
    if about is not None:
        with session.no_autoflush:  # the caller's changes are not ours to flush half-way
            if session.scalar(select(OutboxMail.id).where(
                    OutboxMail.user_id == user.id, OutboxMail.kind == kind, OutboxMail.about == about)):
                return None
    now = now or utcnow()
    row = OutboxMail(user_id=user.id, kind=kind, about=about, created_at=now, next_attempt_at=now, attempts=0)
    session.add(row)
    return row


def enqueue_once(session: Session, user: User, kind: str, about: str, now: datetime | None = None) -> bool:
    """Like enqueue, for the daily check that another run may do at the same moment: committed at once,
    and a row that the other run inserted first (the unique key refuses ours) counts as done. True when
    this call queued it."""
    try:
        queued = enqueue(session, user, kind, about, now) is not None
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return queued

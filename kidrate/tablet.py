"""Handing the staff device to the child (pure rules; the views are in staff/tablet.py).

The therapist opens the child's questions for the round that is due on their own signed-in device and
hands it over. The staff session is then locked: every staff page shows only a neutral locked page
with a password form, until the signed-in therapist's password is given. Too many wrong passwords
sign the session out completely.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Wrong passwords on the locked page before the session is signed out completely.
MAX_UNLOCK_FAILURES = 5
# A link opened on the staff device is meant to be answered there and then; it stays in that
# browser's history, so it lives one day at most (and is revoked on unlocking if still unanswered).
HAND_OVER_LINK_DAYS = 1
# Staff endpoints that still answer while the session is locked: the unlock form itself, and the
# installable app's manifest and service worker (no content).
OPEN_WHILE_LOCKED = frozenset({"staff.unlock", "staff.manifest", "staff.service_worker"})
# What the lock keeps in the signed session, besides the signed-in user.
SESSION_KEYS = ("locked", "locked_at", "locked_case", "locked_link", "unlock_failures")


def open_while_locked(endpoint: str | None) -> bool:
    return endpoint in OPEN_WHILE_LOCKED


def refusal(kind: str, due_kind: str | None, answered: bool, has_child_problems: bool) -> str | None:
    """Why the device cannot be handed over for this round now, or None if it can."""
    if answered:
        return "answered"
    if not has_child_problems:
        return "no_problems"
    if kind != due_kind:
        return "not_due"
    return None


def failures_so_far(counted_in_session: object, logged_since_lock: int) -> int:
    """Wrong passwords since the device was locked, this one included: the session's count before
    this one, plus one, or the audit log's count (this one logged already), whichever is larger.
    The session's own count can be reset by sending an older copy of the signed cookie; the audit
    log's cannot."""
    valid = isinstance(counted_in_session, int) and not isinstance(counted_in_session, bool)
    in_session = counted_in_session if valid and counted_in_session >= 0 else 0
    return max(in_session + 1, logged_since_lock)


def tries_left(failures: int) -> int:
    return max(0, MAX_UNLOCK_FAILURES - failures)


def locked_since(epoch_seconds: object) -> datetime | None:
    """The moment of locking (kept in the session as whole seconds) as naive UTC, like the audit log."""
    if not isinstance(epoch_seconds, int) or isinstance(epoch_seconds, bool) or epoch_seconds < 0:
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)

"""Handing the staff device to the child (pure rules; the views are in staff/tablet.py).

The therapist opens the child's questions for the round that is due on their own signed-in device and
hands it over. The staff session is then locked: every staff page shows only a neutral locked page
with a password form, until the signed-in therapist's password is given. Too many wrong passwords
sign the session out completely. The lock and the link it opened live in the session's row on the
server (StaffSession), not in the cookie; when that session ends, unanswered, the link ends too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Wrong passwords on the locked page before the session is signed out completely.
MAX_UNLOCK_FAILURES = 5
# A link opened on the staff device is meant to be answered there and then; it stays in that
# browser's history, so it lives one day at most, and never longer than the locked session (see
# hand_over_link_expiry), and is revoked when that session ends if still unanswered.
HAND_OVER_LINK_DAYS = 1
# Staff endpoints that still answer while the session is locked: the unlock form itself, and the
# installable app's manifest and service worker (no content).
# Unlocking: the password, or signing in again at the organisation's identity provider (its answer comes
# back to the callback).
OPEN_WHILE_LOCKED = frozenset({"staff.unlock", "staff.unlock_through_provider", "staff.sign_on_callback",
                               "staff.manifest", "staff.service_worker"})
# In the locked session's cookie: the hand-over's token, sealed for that session (links.seal_token), so
# that after a reload half-way the child's pages can start the questions again on this device.
HAND_OVER_SEALED = "hand_over_sealed"  # a cookie key, not a secret


def open_while_locked(endpoint: str | None) -> bool:
    return endpoint in OPEN_WHILE_LOCKED


def hand_over_link_expiry(issued_at: datetime, link_expires_at: datetime, idle_minutes: int) -> datetime:
    """When the hand-over's link expires: when the locked session goes idle at the latest. A locked
    session is never refreshed, so it is over idle_minutes after the hand-over, and the link with it,
    whether or not anyone asks for a staff page on the device again."""
    return min(link_expires_at, issued_at + timedelta(minutes=idle_minutes))


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
    """Wrong passwords since the device was locked, this one included: the cookie's count before
    this one, plus one, or the audit log's count (this one logged already), whichever is larger.
    The cookie's own count can be reset by sending an older copy of it; the audit log's cannot."""
    valid = isinstance(counted_in_session, int) and not isinstance(counted_in_session, bool)
    in_session = counted_in_session if valid and counted_in_session >= 0 else 0
    return max(in_session + 1, logged_since_lock)


def tries_left(failures: int) -> int:
    return max(0, MAX_UNLOCK_FAILURES - failures)

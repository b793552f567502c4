"""Security in one place: who may reach which route and case, staff sessions, response headers, the
audit trail, and keeping tokens out of logs."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, ChildLink, StaffSession, User, utcnow
from kidrate.protection import audit as _audit_log  # noqa: F401  (installs the append-only guard on every session)
from kidrate.red_thread import links, tablet

View = TypeVar("View", bound=Callable)


# --- Route access: denied by default -----------------------------------------------------------


def public(view: View) -> View:
    """Reachable without signing in (sign-in page, invitation, the child's token pages)."""
    view.kidrate_public = True  # type: ignore[attr-defined]
    return view


def allow(*roles: str) -> Callable[[View], View]:
    """The roles that may use a staff route. A route without this (and not public) is refused."""

    def mark(view: View) -> View:
        view.kidrate_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


# --- Staff sessions: a server-side identity for every signed-in browser ----------------------------
#
# The signed cookie holds a random token ("sid"); the database holds only its SHA-256, in a
# StaffSession row. The row is the authority: once it has ended (sign-out, idle, deactivation, a new
# password, a two-factor change, the tablet hand-over, an admin), no copy of the cookie works again.

SESSION_TOKEN_BYTES = 32
# last_seen_at is written at most this often: not a database write on every request.
SEEN_WRITE_EVERY = timedelta(seconds=60)
# The staff blueprint installs the locked page's renderer here (staff/tablet.py), so that this access
# layer need not import a view module.
LOCKED_PAGE = "kidrate.locked_page"


def session_fingerprint(user: User) -> str:
    """Binds a signed-in session to the account's current password and state (two-factor included):
    change any of them, even outside the app, and every other session of that account ends."""
    material = f"{user.id}:{user.password_hash}:{user.active}:{user.role}:{user.totp_enabled_at is not None}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _session_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_staff_session(user: User, *, locked: bool = False, hand_over_link_id: int | None = None,
                       provider_id: int | None = None) -> StaffSession:
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    row = StaffSession(user_id=user.id, token_hash=_session_token_hash(token), locked=locked,
                       hand_over_link_id=hand_over_link_id, provider_id=provider_id)
    db.session.add(row)
    session["sid"] = token
    g.staff_session = row
    return row


def current_staff_session() -> StaffSession | None:
    """The live session row this request's cookie names (looked up once per request), or None."""
    if "staff_session" not in g:
        token, uid = session.get("sid"), session.get("uid")
        row = None
        if isinstance(token, str) and token and isinstance(uid, int):
            row = db.session.scalar(select(StaffSession).where(StaffSession.token_hash == _session_token_hash(token)))
        g.staff_session = row if row is not None and row.ended_at is None and row.user_id == uid else None
    return g.staff_session


def end_staff_session(row: StaffSession, reason: str) -> None:
    """End a session for good. The child's link of a tablet hand-over dies with it unless it has been
    answered: it stays in the device's history. Not committed."""
    if row.ended_at is not None:
        return
    row.ended_at = utcnow()
    row.end_reason = reason
    link = db.session.get(ChildLink, row.hand_over_link_id) if row.hand_over_link_id is not None else None
    if link is not None and links.revoke(link):
        actor = g.get("user")
        audit("revoke_link", case_id=link.round.case_id, target=f"link:{link.id}",
              user_id=actor.id if actor is not None else row.user_id)
    if g.get("staff_session") is row:
        g.staff_session = None


def end_sessions_of(user: User, reason: str, *, keep_current: bool = False) -> int:
    """End every live session of the user, on every device (with keep_current, all but this
    request's own). How many ended. Not committed."""
    keep = current_staff_session() if keep_current else None
    rows = db.session.scalars(
        select(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    ).all()
    ending = [row for row in rows if row is not keep]
    for row in ending:
        end_staff_session(row, reason)
    return len(ending)


def sign_out_session(reason: str = "sign_out") -> None:
    """End this browser's session, on the server and in the cookie. Not committed."""
    row = current_staff_session()
    if row is not None:
        end_staff_session(row, reason)
    session.clear()


def sign_in(user: User, provider_id: int | None = None) -> None:
    """A fresh session for the user, row and cookie; whatever session this browser held ends (no
    fixation). provider_id: signed in through the organisation's identity provider. Not committed."""
    sign_out_session("signed_in_again")
    session["uid"] = user.id
    session["fp"] = session_fingerprint(user)
    session["seen"] = int(time.time())
    session["locale"] = user.locale
    session.permanent = True
    _new_staff_session(user, provider_id=provider_id)


def restart_session(user: User, reason: str, *, locked: bool = False,
                    hand_over_link_id: int | None = None) -> StaffSession:
    """The same user goes on in a new session row and the current one ends, so that a copy of the
    cookie taken before is dead (the tablet hand-over, and unlocking after it). Not committed."""
    row = current_staff_session()
    if row is not None:
        end_staff_session(row, reason)
    return _new_staff_session(user, locked=locked, hand_over_link_id=hand_over_link_id,
                              provider_id=row.provider_id if row is not None else None)


def keep_signed_in(user: User, reason: str = "two_factor") -> None:
    """After the user changed their own two-factor state: this session goes on, the others end.
    Not committed."""
    session["fp"] = session_fingerprint(user)
    end_sessions_of(user, reason, keep_current=True)


# Between the password and the second step (a code, or setting up two-factor where it is required)
# the session holds only this: never "uid", so enforce_access does not take it for a signed-in user.
PENDING_SECONDS = {"code": 5 * 60, "enrol": 15 * 60}  # setting up includes installing an app


def begin_second_step(user: User, step: str, target: str | None, provider_id: int | None = None) -> None:
    """provider_id: the first step was the organisation's identity provider, not a password."""
    sign_out_session("signed_in_again")
    session["pending"] = {"uid": user.id, "fp": session_fingerprint(user), "step": step,
                          "at": int(time.time()), "next": target, "provider": provider_id}
    session["locale"] = user.locale


def pending_user(step: str) -> User | None:
    """The account whose password was just given, while its second step is still fresh."""
    data = session.get("pending")
    if not isinstance(data, dict) or data.get("step") != step:
        return None
    at, uid = data.get("at"), data.get("uid")
    user = db.session.get(User, uid) if isinstance(uid, int) and isinstance(at, int) else None
    if (user is None or not user.active or time.time() - at > PENDING_SECONDS[step]
            or data.get("fp") != session_fingerprint(user)):
        session.pop("pending", None)
        return None
    return user


def pending_target() -> str | None:
    data = session.get("pending")
    return safe_next(data.get("next")) if isinstance(data, dict) else None


def pending_provider() -> int | None:
    data = session.get("pending")
    provider = data.get("provider") if isinstance(data, dict) else None
    return provider if isinstance(provider, int) else None


def safe_next(target: str | None) -> str | None:
    """Only a staff path on this site: never an absolute or scheme-relative URL, and nothing a
    browser would read differently (a backslash reads as a slash; tabs and newlines are dropped)."""
    if not target or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/staff/"):
        return None
    return target


def _gone_idle(row: StaffSession) -> bool:
    """Unused for longer than the idle limit by the server's record; the cookie's own record (exact to
    the second, while the server's is written once a minute) counts too."""
    limit = current_app.config["KIDRATE"].idle_minutes * 60
    seen = session.get("seen")
    if isinstance(seen, int) and time.time() - seen > limit:
        return True
    return (utcnow() - row.last_seen_at).total_seconds() > limit


# A session begun at the identity provider lasts at most a working day: then the provider is asked
# again, so someone the municipality removed there cannot go on here with an old session.
PROVIDER_SESSION = timedelta(hours=10)


def _sign_out_idle(row: StaffSession) -> None:
    end_staff_session(row, "idle")
    db.session.commit()
    session.clear()
    flash(_("You were signed out after a period of inactivity."), "info")


def _current_user() -> User | None:
    """The signed-in user, if the cookie names a live session of an account unchanged since. A
    session that has gone idle, or whose account changed, ends here for good."""
    row = current_staff_session()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if (user is None or not user.active or session.get("fp") != session_fingerprint(user)
            # a session from before two-factor was required: sign in again, and set it up (a session
            # through the identity provider had the provider's multi-factor or kidrate's own)
            or (current_app.config["KIDRATE"].require_totp and user.totp_enabled_at is None
                and row.provider_id is None)):
        end_staff_session(row, "account_changed")
        db.session.commit()
        return None
    if row.provider_id is not None and utcnow() - row.created_at > PROVIDER_SESSION:
        end_staff_session(row, "provider_again")
        db.session.commit()
        session.clear()
        flash(_("Sign in again, please: a session begun through your organisation's sign-in lasts at most a "
                "working day."), "info")
        return None
    if _gone_idle(row):
        _sign_out_idle(row)
        return None
    if not row.locked:  # tries at unlocking do not keep a locked session alive
        session["seen"] = int(time.time())
        now = utcnow()
        if now - row.last_seen_at >= SEEN_WRITE_EVERY:
            row.last_seen_at = now
            db.session.commit()
    return user


def _while_locked(endpoint: str) -> Response | None:
    """The device is in a child's hands (the tablet hand-over): every staff page, public ones too,
    shows only the locked page until the therapist's password is given. A locked session that has
    gone idle is signed out instead, and the child's link ends with it."""
    row = current_staff_session()
    if row is None or not row.locked:
        return None
    if _gone_idle(row):
        _sign_out_idle(row)
        return None
    if tablet.open_while_locked(endpoint):
        return None
    locked_page = current_app.extensions.get(LOCKED_PAGE)
    if locked_page is None:
        abort(423)
    return locked_page()


def enforce_access() -> Response | None:
    """before_request: every endpoint is staff-only and role-checked unless marked public."""
    g.user = None
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    view = current_app.view_functions.get(endpoint)
    if request.blueprint == "staff":
        locked = _while_locked(endpoint)
        if locked is not None:
            return locked
    if view is not None and getattr(view, "kidrate_public", False):
        return None

    user = _current_user()
    if user is None:
        session.pop("uid", None)
        session.pop("sid", None)
        if request.method == "GET":
            return redirect(url_for("staff.sign_in", next=request.path))
        abort(401)
    g.user = user

    roles = getattr(view, "kidrate_roles", None)
    if roles is None or user.role not in roles:
        abort(403)
    return None


# --- Case access: need-to-know -----------------------------------------------------------------


def may_read_case(user: User, case: Case) -> bool:
    if case.organisation_id != user.organisation_id:
        return False
    if user.role == "therapist":
        return case.therapist_id == user.id and case.status != "draft"
    if user.role == "social_worker":
        return user.unit_id is not None and case.authority_unit_id == user.unit_id
    return False  # analysts see aggregates only; admins manage users and units, not cases


def case_or_404(case_id: int) -> Case:
    """The case if the signed-in user may see it; otherwise 404, so nothing is revealed."""
    case = db.session.get(Case, case_id)
    if case is None or not may_read_case(g.user, case):
        abort(404)
    return case


# --- Audit trail -------------------------------------------------------------------------------


def audit(action: str, *, case_id: int | None = None, target: str | None = None,
          user_id: int | None = None, organisation_id: int | None = None) -> None:
    """Add an audit event to the current transaction. Never content, never a token.

    The event belongs to the organisation of the user (given, or signed in), else of the case, so
    that each organisation's auditor reads its own log (kidrate/protection/audit.py)."""
    user = g.get("user")
    if user_id is None and user is not None:
        user_id = user.id
    # Usually already in the session's identity map; no autoflush half-way through a view's changes.
    with db.session.no_autoflush:
        if organisation_id is None and user_id is not None:
            owner = user if user is not None and user.id == user_id else db.session.get(User, user_id)
            organisation_id = owner.organisation_id if owner is not None else None
        if organisation_id is None and case_id is not None:
            case = db.session.get(Case, case_id)
            organisation_id = case.organisation_id if case is not None else None
    db.session.add(AuditEvent(organisation_id=organisation_id, user_id=user_id, action=action, case_id=case_id,
                              target=target))


# --- Response headers --------------------------------------------------------------------------


def content_security_policy(form_action: tuple[str, ...] = ()) -> str:
    """The policy of every response; form_action: origins beyond this site a page's forms may end at (the
    browser applies form-action to the redirects after a form too)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        " ".join(("form-action 'self'", *form_action)),
        "frame-ancestors 'none'",
    ])


def allow_forms_to(*origins: str) -> None:
    """This response's page has forms whose answer redirects to these origins (checked origins only)."""
    g.form_action = (*g.get("form_action", ()), *origins)


PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(self), payment=(), usb=(), interest-cohort=()"


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("form_action", ())))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if current_app.config["KIDRATE"].https:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.endpoint != "static":
        # Every page holds something about a child: nothing may stay in a cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


# --- Tokens never reach a log ------------------------------------------------------------------

# A token in a path (/r/…, /staff/invite/…, /staff/reset/…), also inside a query value, plain or
# %-encoded (?next=%2Fr%2F…); the value of any query parameter whose name holds "token"; and an identity
# provider's answer (code, state, session_state: the code is worth a sign-in until it is used).
_TOKEN_PATH = re.compile(r"/(r|invite|reset)/[^\s\"?/&#]+")
_TOKEN_PATH_ENCODED = re.compile(r"%2F(r|invite|reset)%2F[^\s\"?/&#%]+", re.IGNORECASE)
_TOKEN_PARAMETER = re.compile(r"(?<![^\s\"?&;])([^\s\"?&;=#]*token[^\s\"?&;=#]*=|(?:code|state|session_state)=)"
                              r"[^\s\"&;#]*", re.IGNORECASE)


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/[redacted]", text)
    text = _TOKEN_PATH_ENCODED.sub(lambda m: f"%2F{m.group(1)}%2F[redacted]", text)
    return _TOKEN_PARAMETER.sub(lambda m: f"{m.group(1)}[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites log records so that a link's token (in /r/…, /invite/…, /reset/…, or a token= query
    parameter) or an identity provider's code never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_log_redaction(app: Flask) -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logging.getLogger(name).addFilter(RedactTokens())

"""Security in one place: who may reach which route and case, response headers, the audit trail,
and keeping tokens out of logs."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from . import audit as _audit_log  # noqa: F401  (installs the append-only guard on every session)
from .extensions import db
from .models import AuditEvent, Case, User

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


def session_fingerprint(user: User) -> str:
    """Binds a signed-in session to the account's current password and state (two-factor included):
    change any of them and every other session of that account ends."""
    material = f"{user.id}:{user.password_hash}:{user.active}:{user.role}:{user.totp_enabled_at is not None}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def sign_in(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["fp"] = session_fingerprint(user)
    session["seen"] = int(time.time())
    session["locale"] = user.locale
    session.permanent = True


def keep_signed_in(user: User) -> None:
    """After the user changed their own two-factor state: this session goes on, the others end."""
    session["fp"] = session_fingerprint(user)


# Between the password and the second step (a code, or setting up two-factor where it is required)
# the session holds only this: never "uid", so enforce_access does not take it for a signed-in user.
PENDING_SECONDS = {"code": 5 * 60, "enrol": 15 * 60}  # setting up includes installing an app


def begin_second_step(user: User, step: str, target: str | None) -> None:
    session.clear()
    session["pending"] = {"uid": user.id, "fp": session_fingerprint(user), "step": step,
                          "at": int(time.time()), "next": target}
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


def safe_next(target: str | None) -> str | None:
    """Only a staff path on this site: never an absolute or scheme-relative URL, and nothing a
    browser would read differently (a backslash reads as a slash; tabs and newlines are dropped)."""
    if not target or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/staff/"):
        return None
    return target


def _current_user() -> User | None:
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or session.get("fp") != session_fingerprint(user):
        return None
    if current_app.config["KIDRATE"].require_totp and user.totp_enabled_at is None:
        return None  # a session from before two-factor was required: sign in again, and set it up
    return user


def enforce_access() -> Response | None:
    """before_request: every endpoint is staff-only and role-checked unless marked public."""
    g.user = None
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    view = current_app.view_functions.get(endpoint)
    if session.get("locked") and request.blueprint == "staff":
        # The device is in a child's hands (staff/tablet.py): every staff page, public ones too,
        # shows only the locked page until the therapist's password is given.
        from .staff.tablet import while_locked

        locked = while_locked(endpoint)
        if locked is not None:
            return locked
    if view is not None and getattr(view, "kidrate_public", False):
        return None

    user = _current_user()
    idle_limit = current_app.config["KIDRATE"].idle_minutes * 60
    seen = session.get("seen")
    if user is not None and isinstance(seen, int) and time.time() - seen > idle_limit:
        session.clear()
        flash(_("You were signed out after a period of inactivity."), "info")
        user = None
    if user is None:
        session.pop("uid", None)
        if request.method == "GET":
            return redirect(url_for("staff.sign_in", next=request.path))
        abort(401)
    if not session.get("locked"):  # tries at unlocking do not keep a locked session alive
        session["seen"] = int(time.time())
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
    that each organisation's auditor reads its own log (kidrate/audit.py)."""
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

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(self), payment=(), usb=(), interest-cohort=()"


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
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

_TOKEN_PATH = re.compile(r"/(r|invite|reset)/[^\s\"?/]+")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites log records so that a link's token (in /r/…, /invite/…, /reset/…) never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_log_redaction(app: Flask) -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logging.getLogger(name).addFilter(RedactTokens())

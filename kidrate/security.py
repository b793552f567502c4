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
    """Binds a signed-in session to the account's current password and state: change either and
    every other session of that account ends."""
    material = f"{user.id}:{user.password_hash}:{user.active}:{user.role}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def sign_in(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["fp"] = session_fingerprint(user)
    session["seen"] = int(time.time())
    session["locale"] = user.locale
    session.permanent = True


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
          user_id: int | None = None) -> None:
    """Add an audit event to the current transaction. Never content, never a token."""
    if user_id is None and g.get("user") is not None:
        user_id = g.user.id
    db.session.add(AuditEvent(user_id=user_id, action=action, case_id=case_id, target=target))


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

"""Extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import Flask, Response, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from kidrate.config import LOCAL_ZONE


class Database:
    """One engine per app and a session per request (plain SQLAlchemy 2, no Flask wrapper needed)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))

    def init_app(self, app: Flask, url: str) -> None:
        options: dict[str, object] = {"future": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 15}
        else:
            # A database that does not answer is an error within seconds (a retry page, a failed
            # health check), not a request that hangs until the proxy gives up.
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=10,
                           connect_args={"connect_timeout": 5})
        self.engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session.configure(bind=self.engine)
        # A fresh session per request, even when an outer app context stays pushed (CLI, tests).
        app.teardown_request(lambda _exc: self.session.remove())
        app.teardown_appcontext(lambda _exc: self.session.remove())


def local_date_text(moment: str | None) -> str | None:
    """SQLite's local_date(): a stored naive-UTC moment ("YYYY-MM-DD HH:MM:SS[.ffffff]") as the
    municipality's calendar date ("YYYY-MM-DD"); PostgreSQL says the same with its time zone functions."""
    if moment is None:
        return None
    try:
        parsed = datetime.fromisoformat(moment)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date().isoformat()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.create_function("local_date", 1, local_date_text, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


db = Database()
babel = Babel()
csrf = CSRFProtect()


# --- Rate limits ---------------------------------------------------------------------------------

View = TypeVar("View", bound=Callable)
LIMITER = "kidrate.limiter"


def client_address() -> str:
    """Whom a rate limit counts: the client's address as the app sees it. Behind proxies that the
    operator has named (KIDRATE_TRUSTED_PROXIES), ProxyFix has already put the address the nearest of
    them saw there; X-Forwarded-For is never read here, or a client could pick its own count.
    Never the path: a child's link must not become a key in the store or a log."""
    return request.remote_addr or "unknown"


class _NoClientAddress(logging.Filter):
    """Flask-Limiter's own line on a breach names the client's address; ours names only the route."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ratelimit ")


_no_client_address = _NoClientAddress()


def _log_breach(_limit) -> None:
    current_app.logger.warning("rate limit reached at %s", request.endpoint)


def _retry_after(response: Response) -> Response:
    """Retry-After on every 429, whichever error page rendered it."""
    limiter = current_app.extensions.get(LIMITER)
    if response.status_code == 429 and limiter is not None and limiter.current_limit is not None:
        wait = int(limiter.current_limit.reset_at - time.time())
        response.headers["Retry-After"] = str(max(wait, 1))
    return response


class RateLimits:
    """Flask-Limiter, one Limiter per app: a Limiter keeps its storage on itself, and the tests run
    several apps (with different limits and stores) in one process.

    create_app says which blueprint counts against which limit (`limit_sign_in_posts`, `limit_every_route`);
    views opt in with `rate_limits.sign_in` (their POSTs count against KIDRATE_SIGN_IN_LIMIT). Counts are
    per client address and route, in Redis when KIDRATE_REDIS_URL is set (shared by every process), else
    in memory. This layer knows no blueprint of the app."""

    def sign_in(self, view: View) -> View:
        view.kidrate_sign_in_limit = True  # type: ignore[attr-defined]
        return view

    def init_app(self, app: Flask, settings) -> Limiter:
        redis = bool(settings.redis_url)
        if settings.production and not redis:
            # Said at every start, in every process: with several, each counts alone (gunicorn_conf.py
            # refuses more than one worker in this case).
            app.logger.warning(
                "KIDRATE_REDIS_URL is not set: this process counts rate limits on its own, so a client gets "
                "the sign-in and child limits once per process. Set KIDRATE_REDIS_URL, or run one process.")
        limiter = Limiter(
            key_func=client_address,
            storage_uri=settings.redis_url or "memory://",
            # Short timeouts, and counting in memory while Redis is away, rather than failing sign-in.
            storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if redis else {},
            in_memory_fallback_enabled=redis,
            # Processes of one deployment (one secret key) share counts; another on the same Redis does not.
            key_prefix="kidrate-" + hashlib.sha256(settings.secret_key.encode()).hexdigest()[:12],
            strategy="fixed-window",
            headers_enabled=False,
            on_breach=_log_breach,
        )
        limiter.init_app(app)
        app.extensions[LIMITER] = limiter
        app.after_request(_retry_after)
        logging.getLogger("flask-limiter").addFilter(_no_client_address)
        return limiter


    @staticmethod
    def limit_sign_in_posts(app: Flask, blueprint, limit: str) -> None:
        """The POSTs of the blueprint's views marked with `sign_in` count against `limit`."""
        app.extensions[LIMITER].limit(limit, methods=["POST"], exempt_when=_not_a_sign_in_view)(blueprint)

    @staticmethod
    def limit_every_route(app: Flask, blueprint, limit: str) -> None:
        app.extensions[LIMITER].limit(limit)(blueprint)


def _not_a_sign_in_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "kidrate_sign_in_limit", False)


rate_limits = RateLimits()


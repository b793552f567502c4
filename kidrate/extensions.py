"""Extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker


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
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session.configure(bind=self.engine)
        # A fresh session per request, even when an outer app context stays pushed (CLI, tests).
        app.teardown_request(lambda _exc: self.session.remove())
        app.teardown_appcontext(lambda _exc: self.session.remove())


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


db = Database()
babel = Babel()
csrf = CSRFProtect()

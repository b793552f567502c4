"""Real databases for the fault, process and concurrency tests: throwaway PostgreSQL databases on
the test server, and a second app bound to another database for the length of a `with` block."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from kidrate import create_app
from kidrate.extensions import db

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server() -> URL:
    """The PostgreSQL server the suite may use: the one KIDRATE_TEST_DATABASE_URL points at, else the
    local one CI runs (127.0.0.1:5432, user postgres)."""
    configured = os.environ.get("KIDRATE_TEST_DATABASE_URL", "")
    url = make_url(configured if configured.startswith("postgresql") else DEFAULT_SERVER)
    return url.set(drivername="postgresql+psycopg", database="postgres")


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    engine = create_engine(postgres_server(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return f"PostgreSQL not reachable at {postgres_server().render_as_string()}: {error.orig}"
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(prefix: str) -> Iterator[URL]:
    """A fresh, empty PostgreSQL database named <prefix>_<pid>, dropped afterwards whatever happens."""
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(postgres_server(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres_server().set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def app_on(base: Flask, database_url: str, **changes: object) -> Iterator[Flask]:
    """An app like the test session's (same secret and data keys, same instance folder) on another
    database. `db` is one object per process, so the session app's engine is put back afterwards."""
    settings = dataclasses.replace(base.config["KIDRATE"], database_url=database_url, **changes)
    session_engine = db.engine
    db.session.remove()
    app = create_app(settings)
    try:
        yield app
    finally:
        db.session.remove()
        db.engine.dispose()
        db.engine = session_engine
        db.session.configure(bind=session_engine)

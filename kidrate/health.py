"""/healthz for the load balancer: 200 when the database answers and its schema is the migrations'
head, else 503. Public and GET only; the body says nothing else (no versions, no errors), and like
every response it is never cached (access.set_security_headers)."""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app
from sqlalchemy import text

from kidrate.extensions import db
from kidrate.protection.access import public

bp = Blueprint("health", __name__)


@cache
def migrations_head() -> str:
    """The newest revision in migrations/: read once per process (the files do not change under it)."""
    from kidrate.cli import alembic_config

    # The script directory needs no database: a placeholder URL keeps the real one out of the config.
    return ScriptDirectory.from_config(alembic_config(url="sqlite://")).get_current_head() or ""


def database_ready() -> bool:
    try:
        head = migrations_head()
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # a database that hangs fails the check
                connection.execute(text("SET LOCAL statement_timeout = 2000"))  # this transaction only
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_heads()
    except Exception as error:  # any failure is "unavailable"; only its kind goes to the log
        current_app.logger.warning("healthz: unavailable (%s)", type(error).__name__)
        return False
    return bool(head) and tuple(current) == (head,)


# Fixed bodies, nothing else: a monitor may match them as text.
OK = '{"status": "ok"}'
UNAVAILABLE = '{"status": "unavailable"}'


@bp.get("/healthz")
@public
def healthz():
    if database_ready():
        return Response(OK, mimetype="application/json")
    return Response(UNAVAILABLE, status=503, mimetype="application/json")

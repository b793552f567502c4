"""/healthz: 200 {"status": "ok"} when the database answers and stands at the migrations' head;
503 {"status": "unavailable"} otherwise, and nothing else. Public, GET only, never cached.

The suite builds its schema with create_all (no alembic_version row), so a test stamps the head to
see the healthy state and removes the stamp again."""

from __future__ import annotations

import logging

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from kidrate import health
from kidrate.cli import alembic_config
from kidrate.extensions import db


@pytest.fixture
def stamped(app, database_url):
    command.stamp(alembic_config(database_url), "head")
    yield
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_ok_when_the_database_is_at_the_head(app, stamped):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == '{"status": "ok"}' and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_unavailable_without_a_revision(app):
    # As the suite's own schema is: made by create_all, never stamped.
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert response.headers["Cache-Control"] == "no-store"


def test_unavailable_at_another_revision(app, stamped):
    first = list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions())[-1].revision
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": first})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    assert first not in response.text


def test_unavailable_when_the_database_does_not_answer(app, stamped, monkeypatch, caplog):
    def refuse(*_args, **_kwargs):
        raise ConnectionRefusedError("db.example:5432 password=hunter2")

    monkeypatch.setattr(db.engine, "connect", refuse)
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == '{"status": "unavailable"}'
    # The log says what kind of failure, not its text (which may hold addresses or secrets).
    assert "hunter2" not in caplog.text and "ConnectionRefusedError" in caplog.text


def test_the_head_is_read_once_per_process(app, stamped, monkeypatch):
    health.migrations_head.cache_clear()
    calls = []
    real = ScriptDirectory.from_config

    def counting(config):
        calls.append(config)
        return real(config)

    monkeypatch.setattr(ScriptDirectory, "from_config", counting)
    client = app.test_client()
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    assert len(calls) == 1


def test_public_and_get_only(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 503  # not a redirect to sign-in
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/healthz").status_code == 405
    assert client.get("/staff/healthz").status_code != 200

"""Fixtures: one app per test session on a real database (SQLite by default, PostgreSQL when
KIDRATE_TEST_DATABASE_URL is set), emptied after every test; small factories; a signed-in client."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import text

from kidrate import create_app
from kidrate.config import load_settings
from kidrate.extensions import db
from kidrate.models import Base

from .factories import Factory

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("KIDRATE_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'kidrate-test.sqlite3'}"
    )


def reset_schema(engine) -> None:
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    Base.metadata.create_all(engine)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    settings = load_settings(
        {}, database_url=database_url, secret_key="test-secret-" + "x" * 40, testing=True,
        instance_path=tmp_path_factory.mktemp("instance"),
        # The suite signs in and opens child links hundreds of times from one address; the limits
        # themselves are tested on small apps of their own (test_sign_in_security.py).
        sign_in_limit="10000 per minute", child_limit="10000 per minute",
    )
    app = create_app(settings)
    reset_schema(db.engine)
    yield app
    db.session.remove()
    db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_database(app):
    yield
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def make(app):
    # No app context stays pushed: each request in a test gets its own, as in production.
    return Factory(db.session, app)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1) or match.group(2)


def sign_in(client, username: str, password: str = Factory.PASSWORD):
    page = client.get("/staff/sign-in")
    return client.post("/staff/sign-in", data={"csrf_token": csrf_token(page.text), "username": username,
                                         "password": password})


def english(client) -> None:
    """Pages shown before anyone signs in use the default locale (Swedish): ask for English."""
    with client.session_transaction() as s:
        s["locale"] = "en"


def session_of(client) -> dict:
    with client.session_transaction() as s:
        return dict(s)


def post_form(client, page_url: str, action: str, data: dict | None = None, **kwargs):
    """Open a page as a person would, take its CSRF token, and post a form."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    payload = {"csrf_token": csrf_token(page.text), **(data or {})}
    return client.post(action, data=payload, **kwargs)


HIDDEN_INPUT = re.compile(r'<input\b[^>]*\btype="hidden"[^>]*>')


def child_posts(client, token: str, answers: dict[int, str], enough: dict[int, str] | None = None,
                added_text: str | None = None) -> None:
    """GET the child's page and post its form as the browser would: its hidden fields plus the answers
    (and good-enough numbers, and added text, where given)."""
    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    hidden = {}
    for tag in HIDDEN_INPUT.findall(page.text):
        name, value = re.search(r'\bname="([^"]+)"', tag), re.search(r'\bvalue="([^"]*)"', tag)
        if name:
            hidden[name.group(1)] = value.group(1) if value else ""
    assert hidden.get("form_token"), "no form_token on the child's page"
    data = {**hidden, **{f"answer-{pid}": v for pid, v in answers.items()},
            **{f"enough-{pid}": v for pid, v in (enough or {}).items()}}
    if added_text is not None:
        data["added_text"] = added_text
    response = client.post(f"/r/{token}", data=data)
    assert response.status_code == 303, response.text


@pytest.fixture
def small_app(app, database_url, tmp_path):
    """Build further apps with their own (low) limits on the test database. create_app binds the
    global database handle to a new engine; the session's app gets its own back afterwards."""
    original = db.engine
    engines = []
    base = app.config["KIDRATE"]

    def build(*, secret_key: str | None = None, **overrides):
        db.session.remove()
        values = {"sign_in_limit": "3 per minute", "child_limit": "3 per minute", **overrides}
        settings = load_settings(
            {}, database_url=database_url, testing=True, instance_path=tmp_path / uuid.uuid4().hex,
            secret_key=secret_key or f"limits-{uuid.uuid4().hex}-{'x' * 20}", data_key=base.data_key, **values)
        other = create_app(settings)
        engines.append(db.engine)
        return other

    yield build
    db.session.remove()
    for engine in engines:
        engine.dispose()
    db.engine = original
    db.session.configure(bind=original)

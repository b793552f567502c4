"""Security headers on every kind of response, no cookies on the child's pages, tokens kept out of
logs, and oversized requests refused cleanly."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from kidrate import create_app
from kidrate.config import load_settings
from kidrate.extensions import db
from kidrate.models import Case
from kidrate.protection.access import RedactTokens, redact

from ..conftest import sign_in

CHILD_TOKEN = "AbCdEf0123456789AbCdEf0123456789"


@pytest.fixture
def token(make):
    """A live child link for a case handed over to a therapist."""
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    case = make.case(sw, therapist=t)
    return make.link(case)


def fetch(app, kind: str, token: str):
    """One response of each kind the app gives."""
    client = app.test_client()
    if kind == "sign_in":
        return client.get("/staff/sign-in")
    if kind == "staff":
        assert sign_in(client, "sw").status_code == 302
        return client.get("/staff/cases")
    if kind == "child":
        return client.get(f"/r/{token}")
    if kind == "child_gone":
        return client.get(f"/r/{CHILD_TOKEN}", headers={"Accept-Language": "en"})
    if kind == "child_thanks":
        return client.get("/r/thanks?lang=en")
    if kind == "not_found":
        return client.get("/no-such-page")
    if kind == "static":
        return client.get("/static/css/staff.css")
    raise AssertionError(kind)


EXPECTED_STATUS = {"sign_in": 200, "staff": 200, "child": 200, "child_gone": 404, "child_thanks": 200,
                   "not_found": 404, "static": 200}
KINDS = sorted(EXPECTED_STATUS)
CHILD_KINDS = ["child", "child_gone", "child_thanks"]


@pytest.mark.parametrize("kind", KINDS)
def test_security_headers_on_every_response(app, token, kind):
    """CSP without inline code and with frame-ancestors 'none', and the other hardening headers."""
    response = fetch(app, kind, token)
    try:
        assert response.status_code == EXPECTED_STATUS[kind]
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers.get("Permissions-Policy")
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # HTTPS is off in tests
    finally:
        response.close()


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "static"])
def test_pages_are_never_cached(app, token, kind):
    """Every page may say something about a child: Cache-Control: no-store on all but static files."""
    response = fetch(app, kind, token)
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(app):
    """Static files are the exception to no-store (they hold nothing about anyone)."""
    response = fetch(app, "static", "")
    try:
        assert "no-store" not in response.headers.get("Cache-Control", "")
    finally:
        response.close()


def test_the_child_page_is_the_childs_page(app, token):
    """The child fixture gives a real questions page, so the header tests look at the right thing."""
    page = fetch(app, "child", token)
    assert 'name="form_token"' in page.text
    gone = fetch(app, "child_gone", token)
    assert "be used any more" in gone.text


@pytest.mark.parametrize("kind", CHILD_KINDS)
def test_child_pages_set_no_cookie(app, token, kind):
    """The child's device keeps no trace: no Set-Cookie on any child page."""
    response = fetch(app, kind, token)
    assert "Set-Cookie" not in response.headers


def test_child_submission_sets_no_cookie(app, make, token):
    """Not even the answer, or a refused answer, sets a cookie."""
    client = app.test_client()
    response = client.post(f"/r/{token}", data={"form_token": "forged"})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers


def test_staff_pages_do_set_the_session_cookie(app, token):
    """Control for the test above: the staff sign-in page does set a cookie (for its CSRF token)."""
    assert "Set-Cookie" in fetch(app, "sign_in", token).headers


# --- Tokens never reach a log --------------------------------------------------------------------


def test_redact_removes_tokens_from_paths():
    """Child, invitation and reset tokens in a path become [redacted]; other paths stay."""
    line = f'GET /r/{CHILD_TOKEN} HTTP/1.1 then /invite/xyz.abc and /reset/abc.def?x=1 and /cases/12'
    cleaned = redact(line)
    assert CHILD_TOKEN not in cleaned
    assert "xyz.abc" not in cleaned and "abc.def" not in cleaned
    assert "/r/[redacted]" in cleaned and "/invite/[redacted]" in cleaned and "/reset/[redacted]" in cleaned
    assert "/cases/12" in cleaned and "?x=1" in cleaned


def test_redact_tokens_filter_rewrites_a_log_record():
    """The logging filter rewrites a record (with %-args, as werkzeug logs) and keeps it."""
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", f"GET /r/{CHILD_TOKEN} HTTP/1.1", 200), None)
    assert RedactTokens().filter(record) is True
    message = record.getMessage()
    assert CHILD_TOKEN not in message
    assert message == '127.0.0.1 - - "GET /r/[redacted] HTTP/1.1" 200'

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "GET %s", ("/staff/invite/xyz.abc",), None)
    assert RedactTokens().filter(record) is True
    assert "xyz.abc" not in record.getMessage()


def test_the_apps_loggers_redact_tokens(app, caplog):
    """Anything logged through the app's or werkzeug's logger has its tokens removed."""
    caplog.set_level(logging.DEBUG)
    with app.test_request_context():
        app.logger.warning("opened /r/%s", CHILD_TOKEN)
    logging.getLogger("werkzeug").info('"GET /invite/%s HTTP/1.1" 200 -', "xyz.abc")
    assert "/r/[redacted]" in caplog.text and "/invite/[redacted]" in caplog.text
    assert CHILD_TOKEN not in caplog.text and "xyz.abc" not in caplog.text


def test_no_token_in_logs_during_a_child_request(app, token, caplog):
    """Opening and answering a child's link logs nothing that contains the token."""
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    assert client.get(f"/r/{token}").status_code == 200
    client.post(f"/r/{token}", data={"form_token": "forged"})
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


# --- Oversized requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["sign_in", "child"])
def test_a_body_over_one_mebibyte_gets_413(app, token, page):
    """A request body over MAX_CONTENT_LENGTH is refused with 413, not a server error."""
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    path = "/staff/sign-in" if page == "sign_in" else f"/r/{token}"
    client = app.test_client()
    body = "username=x&password=" + "a" * (1024 * 1024 + 1)
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


# --- Route by route ----------------------------------------------------------------------------------


def _every_get_url(app, case_id: int) -> list[tuple[str, str]]:
    """(endpoint, URL) for every GET route, numbers filled with a real case's id, other parts with a
    placeholder: whatever each answers (a page, a redirect, 403, 404), its headers are checked."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        values = {arg: case_id if type(rule._converters[arg]).__name__ == "DatabaseId" else "x"
                  for arg in rule.arguments}
        if rule.endpoint == "static":
            values["filename"] = "css/staff.css"
        urls.append((rule.endpoint, rule.build(values, append_unknown=False)[1]))
    return sorted(urls)


@pytest.mark.parametrize("who", [None, "sw", "t"])
def test_security_headers_on_every_route(app, make, token, who):
    """Every GET route, signed out and signed in as the case's social worker and its therapist,
    answers with the hardening headers and, except static files, no-store."""
    case_id = db.session.scalar(select(Case.id))
    client = app.test_client()
    if who:
        assert sign_in(client, who).status_code == 302
    checked = 0
    for endpoint, url in _every_get_url(app, case_id):
        if endpoint in {"staff.sign_out"}:
            continue
        response = client.get(url)
        try:
            # /healthz says 503 here: the test schema is made without Alembic (tests/test_healthz.py).
            assert response.status_code < 500 or url == "/healthz", (url, response.status_code)
            headers = response.headers
            assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), url
            assert headers["X-Content-Type-Options"] == "nosniff", url
            assert headers["Referrer-Policy"] == "no-referrer", url
            assert headers.get("Permissions-Policy"), url
            if endpoint != "static":
                assert headers["Cache-Control"] == "no-store", url
        finally:
            response.close()
        checked += 1
    assert checked > 40


def test_over_https_hsts_and_secure_cookies(database_url, tmp_path):
    """With HTTPS on, every response carries HSTS and the session cookie is Secure, HttpOnly, SameSite."""
    secure = create_app(load_settings({}, database_url=database_url, secret_key="s" * 40, testing=True,
                                      instance_path=tmp_path, https=True))
    client = secure.test_client()
    response = client.get("/staff/sign-in", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secure.config["MAX_CONTENT_LENGTH"] == 1024 * 1024

"""Faults: the database going away in the middle of a child's submission, a read-only and a full
SQLite file, and malformed requests. Whatever breaks, the person sees a plain page saying what to do
(never a traceback), nothing is half-stored, and once the fault is gone a retry stores exactly once."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, event, func, select

from kidrate.extensions import db
from kidrate.models import Base, Case, ChildLink, Problem, Rating, Submission

from .childform import child_form, hidden_fields
from .conftest import csrf_token, sign_in
from .factories import Factory
from .realdb import app_on, postgres_unreachable, throwaway_database
from .tcp_proxy import TcpProxy

ENGLISH = {"Accept-Language": "en"}
TRY_AGAIN = "Nothing was sent"  # child/try_again.html
STAFF_TRY_AGAIN = "Nothing was saved. Try again in a moment."  # staff/error.html for a 5xx
LEAKS = ("Traceback", "OperationalError", "sqlalchemy", "psycopg", "sqlite3", 'File "')


def assert_plain(response) -> None:
    """An error page says nothing about the machinery behind it."""
    for leak in LEAKS:
        assert leak not in response.text, leak


def stored(engine) -> tuple[int, int, int]:
    """(submissions, ratings, links marked used), read past the app on a connection of its own."""
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(Submission)),
                conn.scalar(select(func.count()).select_from(Rating)),
                conn.scalar(select(func.count()).select_from(ChildLink).where(ChildLink.used_at.is_not(None))))


def seed_child_link(app, words=("Pappa slår mig.", "Jag har inga kompisar.")) -> tuple[str, list[int]]:
    """A case handed to a therapist with a live start link, through the given app's database."""
    make = Factory(db.session, app)
    sw = make.user("social_worker", username="sw")
    case = make.case(sw, therapist=make.user("therapist", username="t"), words=words)
    problem_ids = [p.id for p in case.problems]
    return make.link(case), problem_ids


# --- The database going away during a submission (PostgreSQL behind a proxy) ----------------------


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL database with the schema, for this module only."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with throwaway_database("kidrate_faults") as url:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def proxy(postgres):
    proxy = TcpProxy(postgres.url.host or "127.0.0.1", postgres.url.port or 5432)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied(app, postgres, proxy):
    """An app whose every database connection goes through the proxy."""
    url = postgres.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with app_on(app, url) as proxied_app:
        yield proxied_app
    with postgres.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@contextmanager
def cut_at(engine, statement: str, cut):
    """Call cut() once, just before the app sends the statement that starts with `statement`
    (or, for "COMMIT", just before it commits): the database disappears mid-transaction."""
    fired = []

    def before_execute(_conn, _cursor, sql, _params, _context, _many):
        if not fired and sql.lstrip().upper().startswith(statement):
            fired.append(sql)
            cut()

    def before_commit(_conn):
        if not fired:
            fired.append("COMMIT")
            cut()

    name, hook = ("commit", before_commit) if statement == "COMMIT" else ("before_cursor_execute", before_execute)
    event.listen(engine, name, hook)
    try:
        yield fired
    finally:
        event.remove(engine, name, hook)


CUT_POINTS = {
    "after the page loaded": None,
    "while consuming the link": "UPDATE CHILD_LINK",
    "while storing the submission": "INSERT INTO SUBMISSION",
    "while storing the ratings": "INSERT INTO RATING",
    "at commit": "COMMIT",
}


@pytest.mark.parametrize("point", list(CUT_POINTS))
def test_database_lost_during_a_submission_stores_nothing_and_a_retry_stores_once(proxied, proxy, postgres,
                                                                                    point):
    token, problem_ids = seed_child_link(proxied)
    client = proxied.test_client()
    page = client.get(f"/r/{token}", headers=ENGLISH)
    assert page.status_code == 200
    form = child_form(page.text, problem_ids)

    if CUT_POINTS[point] is None:
        proxy.cut()
        response = client.post(f"/r/{token}", data=form, headers=ENGLISH)
    else:
        with cut_at(db.engine, CUT_POINTS[point], proxy.cut) as fired:
            response = client.post(f"/r/{token}", data=form, headers=ENGLISH)
        assert fired, f"the submission never reached {CUT_POINTS[point]}"

    assert response.status_code == 503
    assert TRY_AGAIN in response.text
    assert_plain(response)
    assert stored(postgres) == (0, 0, 0)  # nothing half-stored, and the link is still usable

    proxy.restore()
    retry = client.post(f"/r/{token}", data=form, headers=ENGLISH)
    assert retry.status_code == 303 and "/r/thanks" in retry.headers["Location"]
    assert stored(postgres) == (1, len(problem_ids), 1)
    # and sending once more is recognised as the same submission, not stored again
    assert client.post(f"/r/{token}", data=form, headers=ENGLISH).status_code == 303
    assert stored(postgres) == (1, len(problem_ids), 1)


def test_the_childs_page_script_is_told_to_retry_when_the_database_is_gone(proxied, proxy, postgres):
    """child.js waits and sends again on {"status": "retry"}; it gives up on anything else."""
    token, problem_ids = seed_child_link(proxied)
    client = proxied.test_client()
    form = child_form(client.get(f"/r/{token}").text, problem_ids)
    proxy.cut()
    response = client.post(f"/r/{token}", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 503 and response.json == {"status": "retry"}
    proxy.restore()
    again = client.post(f"/r/{token}", data=form, headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json["status"] == "sent"
    assert stored(postgres) == (1, len(problem_ids), 1)


def test_a_database_restart_between_page_and_submission_goes_unnoticed(proxied, proxy, postgres):
    """The pooled connection died with the restart; pool_pre_ping finds that out and reconnects, so the
    child's first try is stored (without it, the first submission after a restart would fail)."""
    token, problem_ids = seed_child_link(proxied)
    client = proxied.test_client()
    form = child_form(client.get(f"/r/{token}").text, problem_ids)
    before = proxy.connections
    proxy.cut()
    proxy.restore()
    response = client.post(f"/r/{token}", data=form)
    assert response.status_code == 303
    assert proxy.connections > before  # a new connection was made
    assert stored(postgres) == (1, len(problem_ids), 1)


def test_opening_a_link_while_the_database_is_gone_asks_the_child_to_try_again(proxied, proxy, postgres):
    token, _ids = seed_child_link(proxied)
    proxy.cut()
    response = proxied.test_client().get(f"/r/{token}", headers=ENGLISH)
    assert response.status_code == 503 and TRY_AGAIN in response.text
    assert_plain(response)
    proxy.restore()
    assert proxied.test_client().get(f"/r/{token}").status_code == 200


def test_staff_see_a_plain_error_page_while_the_database_is_gone(proxied, proxy, postgres):
    seed_child_link(proxied)
    client = proxied.test_client()
    assert sign_in(client, "sw").status_code == 302
    new_case = client.get("/staff/cases/new")
    assert new_case.status_code == 200
    data = {"csrf_token": csrf_token(new_case.text), "case_ref": "BOU-DOWN-1", "age": "9", "gender": "boy",
            "child_language": "sv", "intervention_types": "traditional"}
    cases_before = _count(postgres, Case)

    proxy.cut()
    page = client.get("/staff/cases")  # the signed-in user cannot even be looked up
    assert page.status_code == 503 and STAFF_TRY_AGAIN in page.text
    assert_plain(page)
    posted = client.post("/staff/cases/new", data=data)
    assert posted.status_code == 503 and STAFF_TRY_AGAIN in posted.text
    assert_plain(posted)
    assert _count(postgres, Case) == cases_before

    proxy.restore()
    assert client.get("/staff/cases").status_code == 200  # still signed in: the session is a cookie
    assert client.post("/staff/cases/new", data=data).status_code == 302
    assert _count(postgres, Case) == cases_before + 1


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


# --- A read-only and a full SQLite file ------------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path):
    """An SQLite file with 512-byte pages (so a long text needs new pages), in WAL mode as the app uses it."""
    path = tmp_path / "faults.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA page_size=512")
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return path


def sqlite_stored(path) -> tuple[int, int, int]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return stored(engine)
    finally:
        engine.dispose()


@dataclass
class Prepared:
    token: str
    problem_ids: list[int]
    form: dict[str, str]  # the child's filled-in form
    cookie: object  # a social worker's signed-in session
    csrf: str  # and its CSRF token
    draft_id: int  # a draft case of theirs, to add problems to


def prepare(app, path) -> Prepared:
    """Schema, a case with a live link, the child's form, a signed-in social worker and a draft case,
    all made while the file is still writable and has room."""
    with app_on(app, f"sqlite:///{path}") as writable:
        Base.metadata.create_all(db.engine)
        token, problem_ids = seed_child_link(writable)
        page = writable.test_client().get(f"/r/{token}", headers=ENGLISH)
        staff = writable.test_client()
        assert sign_in(staff, "sw").status_code == 302
        new_case = staff.get("/staff/cases/new")
        created = staff.post("/staff/cases/new", data={
            "csrf_token": csrf_token(new_case.text), "case_ref": "BOU-DRAFT-1", "age": "9", "gender": "boy",
            "child_language": "sv", "intervention_types": "traditional"})
        assert created.status_code == 302
        return Prepared(token, problem_ids, child_form(page.text, problem_ids), staff.get_cookie("kidrate_session"),
                        csrf_token(new_case.text), int(created.headers["Location"].rsplit("/", 1)[-1]))


def signed_in(app, prepared: Prepared):
    client = app.test_client()
    client.set_cookie(prepared.cookie.key, prepared.cookie.value, domain=prepared.cookie.domain or "localhost")
    return client


def add_long_problem(client, prepared: Prepared):
    """A social worker adds a problem with long words to the draft case: new pages are needed."""
    return client.post(f"/staff/cases/{prepared.draft_id}/problems", data={
        "csrf_token": prepared.csrf, "source": "investigation", "words": "Föräldrarna bråkar ofta. " * 60,
        "category": "parenting"})


def count_rows(path, model) -> int:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return _count(engine, model)
    finally:
        engine.dispose()


LONG_TEXT = "Det här är mina egna ord. " * 70  # ~1 800 characters: needs new 512-byte pages


def test_a_read_only_database_file_refuses_cleanly_and_writes_nothing(app, sqlite_file):
    prepared = prepare(app, sqlite_file)
    problems_before = count_rows(sqlite_file, Problem)
    with app_on(app, f"sqlite:///file:{sqlite_file}?mode=ro&uri=true") as read_only:
        response = read_only.test_client().post(f"/r/{prepared.token}", data=prepared.form, headers=ENGLISH)
        assert response.status_code == 503 and TRY_AGAIN in response.text
        assert_plain(response)

        staff = signed_in(read_only, prepared)
        assert staff.get("/staff/cases").status_code == 200  # reading still works
        added = add_long_problem(staff, prepared)
        assert added.status_code == 503 and STAFF_TRY_AGAIN in added.text
        assert_plain(added)
    assert sqlite_stored(sqlite_file) == (0, 0, 0)
    assert count_rows(sqlite_file, Problem) == problems_before


def test_a_full_database_file_refuses_cleanly_and_writes_nothing(app, sqlite_file):
    prepared = prepare(app, sqlite_file)
    problems_before = count_rows(sqlite_file, Problem)

    def no_growth(dbapi_connection, _record):
        # The file may not grow by a single page on this connection: the disk is full.
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    with app_on(app, f"sqlite:///{sqlite_file}") as full:
        event.listen(db.engine, "connect", no_growth)
        response = full.test_client().post(f"/r/{prepared.token}", data={**prepared.form, "added_text": LONG_TEXT},
                                           headers=ENGLISH)
        assert response.status_code == 503 and TRY_AGAIN in response.text
        assert_plain(response)

        added = add_long_problem(signed_in(full, prepared), prepared)
        assert added.status_code == 503 and STAFF_TRY_AGAIN in added.text
        assert_plain(added)
    assert sqlite_stored(sqlite_file) == (0, 0, 0)
    assert count_rows(sqlite_file, Problem) == problems_before


def test_the_same_writes_succeed_on_a_writable_file_with_room(app, sqlite_file):
    """Control for the two tests above: they fail because of the file, not because of the writes."""
    prepared = prepare(app, sqlite_file)
    problems_before = count_rows(sqlite_file, Problem)
    with app_on(app, f"sqlite:///{sqlite_file}") as writable:
        response = writable.test_client().post(f"/r/{prepared.token}",
                                               data={**prepared.form, "added_text": LONG_TEXT})
        assert response.status_code == 303
        assert add_long_problem(signed_in(writable, prepared), prepared).status_code == 302
    assert sqlite_stored(sqlite_file) == (1, len(prepared.problem_ids), 1)
    assert count_rows(sqlite_file, Problem) == problems_before + 1


# --- Malformed requests: 4xx (or a plain page), never a 500 ------------------------------------------
# Each family of routes is one test looping over many malformations, so that one set of users is made
# per family and a failure lists every request that broke, not just the first.

MIB = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
INJECTED = "X-Injected"


@dataclass
class Bad:
    """One malformed request. `expect` is "4xx" where only a refusal is right, "any" where a page that
    simply ignores the bad part is right too (a garbled ?lang= on a GET); never a 5xx either way."""

    name: str
    method: str
    path: str
    expect: str = "4xx"
    data: bytes | str | dict | None = None
    content_type: str | None = None
    headers: dict | None = None
    environ: dict | None = None


def multipart(boundary: str, *parts: tuple[str, str], end: bool = True) -> bytes:
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in parts)
    return (body + (f"--{boundary}--\r\n" if end else "")).encode()


def malformed_bodies(path: str, token_field: str, token_value: str, field: str) -> list[Bad]:
    """Body malformations for one form: `field` is a text field of it, `token_field` its CSRF or form
    token with a valid value (so that requests get past that check and reach the form itself)."""
    token = [(token_field, token_value)]
    token_q = f"{token_field}={token_value}&"
    return [
        Bad("body over MAX_CONTENT_LENGTH", "POST", path, data=f"{field}=" + "a" * (MIB + 1), content_type=FORM),
        Bad("multipart over MAX_CONTENT_LENGTH", "POST", path, content_type="multipart/form-data; boundary=b",
            data=multipart("b", *token, (field, "a" * (MIB + 1)))),
        Bad("Content-Length of 10^30", "POST", path, data=f"{field}=x", content_type=FORM,
            environ={"CONTENT_LENGTH": "1" + "0" * 30}),
        Bad("negative Content-Length", "POST", path, data=f"{field}=x", content_type=FORM,
            environ={"CONTENT_LENGTH": "-1"}),
        Bad("non-numeric Content-Length", "POST", path, data=f"{field}=x", content_type=FORM,
            environ={"CONTENT_LENGTH": "twelve"}),
        Bad("Content-Length beyond the body (truncated)", "POST", path, data=f"{token_q}{field}=x",
            content_type=FORM, environ={"CONTENT_LENGTH": "5000"}),
        Bad("invalid UTF-8 in the form body", "POST", path, content_type=FORM,
            data=f"{token_q}{field}=".encode() + b"\xff\xfe%c3%28\xc3"),
        Bad("NUL in a form field", "POST", path, content_type=FORM, data=f"{token_q}{field}=a%00b"),
        Bad("multipart, boundary not in the body", "POST", path, content_type="multipart/form-data; boundary=zz",
            data=multipart("other", *token, (field, "x"))),
        Bad("multipart without a boundary", "POST", path, content_type="multipart/form-data",
            data=multipart("b", *token, (field, "x"))),
        Bad("multipart, truncated mid-part", "POST", path, content_type="multipart/form-data; boundary=b",
            data=multipart("b", *token, (field, "x"), end=False)[:-7]),
        Bad("multipart, part without a name", "POST", path, content_type="multipart/form-data; boundary=b",
            data=b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
        Bad("multipart, token and a part without a name", "POST", path,
            content_type="multipart/form-data; boundary=b",
            data=multipart("b", *token, end=False) + b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
        Bad("multipart, boundary of 200 characters", "POST", path,
            content_type="multipart/form-data; boundary=" + "b" * 200, data=multipart("b" * 200, (field, "x"))),
        Bad("JSON where a form is expected", "POST", path, content_type="application/json",
            data=json.dumps({field: "x", token_field: token_value})),
        Bad("JSON that is not JSON", "POST", path, content_type="application/json", data=b"{\xff"),
        Bad("2 000 form fields", "POST", path, content_type=FORM,
            data=token_q + "&".join(f"f{n}=x" for n in range(2000))),
        Bad("a form field name of 100 000 characters", "POST", path, content_type=FORM,
            data=token_q + "n" * 100_000 + "=x"),
    ]


def malformed_headers(path: str) -> list[Bad]:
    """Header and address malformations for a page that is fine to GET (with or without a query)."""
    query = "&" if "?" in path else "?"
    return [
        Bad("invalid UTF-8 in the query string", "GET", path + query + "lang=%ff%fe&view=%c3%28&next=%ff",
            expect="any"),
        Bad("raw non-UTF-8 bytes in the query string", "GET", path.partition("?")[0], expect="any",
            environ={"QUERY_STRING": "lang=\xff\xfe&view=\xc3&q=\xff"}),
        Bad("CR/LF in a query value", "GET",
            path + query + f"lang=en%0d%0a{INJECTED}:%201&next=/staff/%0d%0a{INJECTED}:1", expect="any"),
        Bad("CR/LF in Accept-Language", "GET", path, expect="any",
            environ={"HTTP_ACCEPT_LANGUAGE": f"en\r\n{INJECTED}: 1"}),
        Bad("nonsense Accept-Language", "GET", path, expect="any",
            headers={"Accept-Language": ";;;q=abc, *;q=-1, \x7f, zz-ZZ-ZZZZZZZZZZZZ;q=2, " + "x" * 5000}),
        Bad("nonsense Accept", "GET", path, expect="any", headers={"Accept": "application/json;q=abc, */*;q="}),
        Bad("CR/LF in a cookie", "GET", path, expect="any",
            environ={"HTTP_COOKIE": f"kidrate_session=a\r\n{INJECTED}: 1; other=\r\n"}),
        Bad("non-UTF-8 bytes in a cookie", "GET", path, expect="any",
            environ={"HTTP_COOKIE": "kidrate_session=\xff\xfe\xc3; x=\x00"}),
        Bad("forged session cookie", "GET", path, expect="any",
            headers={"Cookie": "kidrate_session=eyJ1aWQiOjF9.forged.signature"}),
        Bad("a Host that is not a host", "GET", path, expect="any", environ={"HTTP_HOST": "[::1"}),
        Bad("PUT", "PUT", path, data="x=1", content_type=FORM),
    ]


def check(client, bads: list[Bad]) -> list[str]:
    """Send every request; return what went wrong, one line each."""
    wrong = []
    for bad in bads:
        response = client.open(bad.path, method=bad.method, data=bad.data, content_type=bad.content_type,
                               headers=bad.headers or {}, environ_overrides=bad.environ or {})
        status, body = response.status_code, response.get_data(as_text=True)
        response.close()
        if status >= 500 or (bad.expect == "4xx" and not 400 <= status < 500):
            wrong.append(f"{bad.name}: {bad.method} {bad.path[:60]} -> {status}")
        elif any(leak in body for leak in LEAKS):
            wrong.append(f"{bad.name}: the page shows the machinery ({status})")
        elif any(INJECTED.lower() in key.lower() or "\n" in value or "\r" in value
                 for key, value in response.headers.items()):
            wrong.append(f"{bad.name}: a header was injected: {dict(response.headers)}")
        elif response.headers.get("X-Frame-Options") != "DENY":
            wrong.append(f"{bad.name}: answered without the security headers ({status})")
    return wrong


@pytest.fixture
def child_link(make):
    sw = make.user("social_worker", username="sw")
    case = make.case(sw, therapist=make.user("therapist", username="t"), words=("Pappa slår mig.",))
    return make.link(case), [p.id for p in case.problems]


def test_malformed_requests_to_the_childs_link_are_refused_and_store_nothing(app, child_link):
    token, (problem_id,) = child_link
    path = f"/r/{token}"
    form_token = hidden_fields(app.test_client().get(path).text)["form_token"]
    bads = [
        *malformed_bodies(path, "form_token", form_token, "added_text"),
        *malformed_headers(path),
        *malformed_headers("/r/thanks"),
        Bad("invalid UTF-8 in the link (percent-encoded)", "GET", "/r/%ff%fe" + "A" * 30),
        Bad("invalid UTF-8 in the link (raw bytes)", "GET", "/", environ={"PATH_INFO": "/r/\xff\xfe" + "A" * 30}),
        Bad("NUL in the link", "GET", "/r/%00" + "A" * 31),
        Bad("a link of 10 000 characters", "POST", "/r/" + "A" * 10_000, data="x=1", content_type=FORM),
        Bad("a recording id past any integer", "GET", f"{path}/audio/99999999999999999999"),
        Bad("a recording id that is not a number", "GET", f"{path}/audio/%ff"),
        Bad("JSON where a form is expected, asking for JSON", "POST", path, content_type="application/json",
            headers={"Accept": "application/json"}, data=f'{{"answer-{problem_id}": "5"}}'),
    ]
    wrong = check(app.test_client(), bads)
    assert not wrong, "\n".join(wrong)
    assert stored(db.engine) == (0, 0, 0)
    assert app.test_client().get(path).status_code == 200  # the link still works


def test_malformed_requests_to_the_sign_in_page_are_refused(app, make):
    make.user("social_worker", username="sw")
    client = app.test_client()
    csrf = csrf_token(client.get("/staff/sign-in").text)
    bads = [
        *malformed_bodies("/staff/sign-in", "csrf_token", csrf, "username"),
        *malformed_headers("/staff/sign-in"),
        Bad("NUL in the username", "POST", "/staff/sign-in", content_type=FORM,
            data=f"csrf_token={csrf}&username=sw%00&password=x"),
        Bad("invalid UTF-8 in the path", "GET", "/staff/%ff%fe"),
    ]
    wrong = check(client, bads)
    assert not wrong, "\n".join(wrong)


def test_a_next_address_with_cr_lf_does_not_reach_the_redirect(app, make):
    make.user("social_worker", username="sw")
    client = app.test_client()
    csrf = csrf_token(client.get("/staff/sign-in").text)
    response = client.post(f"/staff/sign-in?next=/staff/cases%0d%0aSet-Cookie:%20evil=1%0d%0a{INJECTED}:%201",
                           data={"csrf_token": csrf, "username": "sw", "password": Factory.PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] in {"/staff/", "/staff/cases"}
    assert "evil" not in str(response.headers) and INJECTED not in str(response.headers)
    # and a signed-out visit to an address holding CR/LF is sent to sign in with it safely quoted
    away = app.test_client().get(f"/staff/cases%0d%0a{INJECTED}:%201")
    assert away.status_code in {302, 404}
    assert all("\r" not in v and "\n" not in v for v in away.headers.values())


def test_malformed_requests_to_a_staff_form_are_refused_and_store_nothing(app, make):
    make.user("social_worker", username="sw")
    client = app.test_client()
    assert sign_in(client, "sw").status_code == 302
    csrf = csrf_token(client.get("/staff/cases/new").text)
    good = f"csrf_token={csrf}&gender=boy&child_language=sv&intervention_types=traditional"
    bads = [
        *malformed_bodies("/staff/cases/new", "csrf_token", csrf, "case_ref"),
        *malformed_headers("/staff/cases/new"),
        *malformed_headers("/staff/cases?q=%ff%00"),
        Bad("an age past any integer", "POST", "/staff/cases/new", content_type=FORM,
            data=good + "&case_ref=BOU-1&age=" + "9" * 5000),
        Bad("a date that is no date", "POST", "/staff/cases/new", content_type=FORM,
            data=good + "&case_ref=BOU-1&age=9&follow_up_date=2026-13-45"),
        Bad("a case id past any integer", "GET", "/staff/cases/99999999999999999999"),
        Bad("invalid UTF-8 in the path", "GET", "/staff/cases/%ff"),
    ]
    wrong = check(client, bads)
    assert not wrong, "\n".join(wrong)
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0

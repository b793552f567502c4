"""Two gunicorn processes on one PostgreSQL database, as production runs more capacity: a child's link
used through one process is refused by the other, a race across the two stores once, and the child's
rate limit, counted in Redis, holds across both.

The processes are real (separate OS processes, kidrate/gunicorn_conf.py, the database migrated with
`kidrate db upgrade`); the test talks to them over HTTP with the standard library only. Redis is
KIDRATE_TEST_REDIS_URL (default redis://127.0.0.1:6379/13); only that database is emptied, before each test.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, select

from kidrate.extensions import db
from kidrate.models import ChildLink, Rating, Submission
from kidrate.red_thread.links import hash_token

from .childform import child_form
from .factories import Factory
from .realdb import app_on, postgres_unreachable, throwaway_database
from .servers import (
    clean_environment,
    redis_flush,
    redis_unreachable,
    request,
    run_cli,
    start_gunicorn,
    stop,
    wait_ready,
)

REDIS_URL = os.environ.get("KIDRATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
CHILD_LIMIT = 5  # per minute and client address, across both processes
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {**FORM, "Accept": "application/json"}


@pytest.fixture(scope="module")
def cluster(app, tmp_path_factory):
    """A fresh database, migrated; two gunicorn processes on it sharing keys and Redis; four cases
    with live start links. Everything is stopped and dropped afterwards."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    redis_down = redis_unreachable(REDIS_URL)
    settings = app.config["KIDRATE"]
    with throwaway_database("kidrate_proc") as url:
        database_url = url.render_as_string(hide_password=False)
        env = clean_environment(
            KIDRATE_ENV="development", KIDRATE_DATABASE_URL=database_url,
            KIDRATE_SECRET_KEY=settings.secret_key,
            KIDRATE_DATA_KEY=base64.urlsafe_b64encode(settings.data_key).decode(),
            KIDRATE_INSTANCE_PATH=str(tmp_path_factory.mktemp("proc-instance")),
            KIDRATE_CHILD_LIMIT=f"{CHILD_LIMIT} per minute", KIDRATE_SIGN_IN_LIMIT="1000 per minute",
            KIDRATE_TRUSTED_PROXIES="1",  # the tests' own X-Forwarded-For, as from a proxy, gives addresses apart
            **({} if redis_down else {"KIDRATE_REDIS_URL": REDIS_URL}),
        )
        run_cli(env, "db", "upgrade")
        links = seed(app, database_url)
        logs = tmp_path_factory.mktemp("gunicorn")
        servers = []
        try:
            for name in ("a", "b"):
                servers.append(start_gunicorn(env, logs / f"{name}.log"))
            for server in servers:
                wait_ready(server)
            engine = create_engine(url)
            try:
                yield {"ports": [s.port for s in servers], "links": links, "engine": engine,
                       "redis_down": redis_down, "logs": [s.log for s in servers]}
            finally:
                engine.dispose()
        finally:
            stop(*servers)


def seed(app, database_url: str) -> list[tuple[str, list[int]]]:
    """Four cases with a live start link each (one per test), written with the same keys the processes use."""
    with app_on(app, database_url) as seeding:
        make = Factory(db.session, seeding)
        sw, therapist = make.user("social_worker"), make.user("therapist")
        links = []
        for _ in range(4):
            case = make.case(sw, therapist=therapist, words=("Pappa slår mig.", "Jag har inga kompisar."))
            links.append((make.link(case), [p.id for p in case.problems]))
        return links


@pytest.fixture
def fresh_limits(cluster):
    """Each test starts with no requests counted against the child's limit."""
    if not cluster["redis_down"]:
        redis_flush(REDIS_URL)
    return cluster


def post(port: int, token: str, form: dict, headers: dict = FORM):
    return request(port, "POST", f"/r/{token}", urlencode(form).encode(), headers)


def stored_for(engine, token: str) -> tuple[int, int]:
    """(submissions, ratings) for the round of one link, read directly from the database."""
    with engine.connect() as conn:
        link = conn.execute(select(ChildLink.round_id).where(ChildLink.token_hash == hash_token(token))).one()
        submissions = conn.scalar(select(func.count()).select_from(Submission)
                                  .where(Submission.round_id == link.round_id))
        ratings = conn.scalar(select(func.count()).select_from(Rating).join(Submission)
                              .where(Submission.round_id == link.round_id))
        return submissions, ratings


def test_a_link_used_through_one_process_is_refused_by_the_other(fresh_limits):
    a, b = fresh_limits["ports"]
    token, problem_ids = fresh_limits["links"][0]

    page = request(a, "GET", f"/r/{token}")
    assert page.status == 200
    form = child_form(page.text, problem_ids)
    sent = post(a, token, form)
    assert sent.status == 303 and "/r/thanks" in sent.headers["location"]

    assert request(b, "GET", f"/r/{token}").status == 404  # the other process: the link is gone
    other_device = post(b, token, {**form, "client_id": str(uuid.uuid4())}, JSON)
    assert (other_device.status, json.loads(other_device.text)["status"]) == (200, "already_sent")
    retried = post(b, token, form, JSON)  # the same submission sent again through the other process
    assert (retried.status, json.loads(retried.text)["status"]) == (200, "sent")
    assert stored_for(fresh_limits["engine"], token) == (1, len(problem_ids))


def test_a_race_across_both_processes_stores_once(fresh_limits):
    ports = fresh_limits["ports"]
    token, problem_ids = fresh_limits["links"][1]
    form = child_form(request(ports[0], "GET", f"/r/{token}").text, problem_ids)
    senders = CHILD_LIMIT - 1  # with the page load, exactly the child's limit
    barrier = threading.Barrier(senders)

    def send(n: int):
        barrier.wait(timeout=30)
        return post(ports[n % 2], token, {**form, "client_id": str(uuid.uuid4())}, JSON)

    with ThreadPoolExecutor(senders) as pool:
        replies = list(pool.map(send, range(senders)))
    told = sorted((r.status, json.loads(r.text)["status"]) for r in replies)
    assert told == [(200, "already_sent")] * (senders - 1) + [(200, "sent")], told
    assert stored_for(fresh_limits["engine"], token) == (1, len(problem_ids))


def test_the_childs_rate_limit_holds_across_both_processes(fresh_limits):
    """KIDRATE_CHILD_LIMIT=5 per minute, counted in Redis (KIDRATE_REDIS_URL): requests alternating
    between the two processes are refused with 429 from the sixth on, whichever process gets it."""
    if fresh_limits["redis_down"]:
        pytest.skip(fresh_limits["redis_down"])
    a, b = fresh_limits["ports"]
    token, _ids = fresh_limits["links"][2]
    statuses = [request((a, b)[n % 2], "GET", f"/r/{token}").status for n in range(CHILD_LIMIT + 3)]
    assert statuses == [200] * CHILD_LIMIT + [429] * 3, statuses
    # Staff pages are not under the child's limit.
    assert request(a, "GET", "/staff/sign-in").status == 200


# --- Malformed requests on the wire ----------------------------------------------------------------


def raw(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Send bytes as they are (no HTTP library to tidy them up) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)  # the client gives up mid-body
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def on_the_wire(path: str, *headers: str, body: bytes = b"", method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def test_malformed_requests_on_the_wire_get_4xx_and_leave_no_error_in_the_log(fresh_limits):
    """Through gunicorn's own parser and the app: what an attacker or a broken client can put on the
    wire is answered 4xx, no request ends in the app's "unhandled error", and the server keeps serving.
    Each request comes from an address of its own (X-Forwarded-For, trusted through
    KIDRATE_TRUSTED_PROXIES=1), so that no rate limit answers in the app's place."""
    a, _b = fresh_limits["ports"]
    token, _ids = fresh_limits["links"][3]  # live: the JSON body reaches the form check
    form = "Content-Type: application/x-www-form-urlencoded"
    cases = {
        "Content-Length of 10^30": on_the_wire("/staff/sign-in", form, "Content-Length: 1" + "0" * 30),
        "negative Content-Length": on_the_wire("/staff/sign-in", form, "Content-Length: -1"),
        "Content-Length and chunked at once": on_the_wire(
            "/staff/sign-in", form, "Content-Length: 4", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
        "a chunk size that is no number": on_the_wire(
            "/staff/sign-in", form, "Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n"),
        "raw bytes past ASCII in the request line": b"GET /r/thanks?lang=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        "a header of 20 000 bytes": on_the_wire("/staff/sign-in", "X-Long: " + "x" * 20_000, method="GET"),
        "a multipart part without a name": on_the_wire(
            "/staff/sign-in", "Content-Type: multipart/form-data; boundary=b", "Content-Length: 44",
            body=b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
        "JSON where the child's form is expected": on_the_wire(
            f"/r/{token}", "Content-Type: application/json", "Content-Length: 18", body=b'{"answer-1": "5"}\n'),
    }
    for n, (name, request_bytes) in enumerate(cases.items()):
        address = f"X-Forwarded-For: 10.9.{n}.1".encode()
        request_bytes = request_bytes.replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1\r\n" + address, 1)
        status_line = raw(a, request_bytes).split(b"\r\n", 1)[0]
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", status_line), (name, status_line)

    # A body cut short by a client that gives up: gunicorn and the app see the end of the stream.
    truncated = on_the_wire("/staff/sign-in", form, "Content-Length: 500", "X-Forwarded-For: 10.9.99.1",
                            body=b"username=x&password=")
    status_line = raw(a, truncated, half_close=True).split(b"\r\n", 1)[0]
    assert not status_line or re.match(rb"HTTP/1\.[01] 4\d\d ", status_line), status_line

    # CR/LF smuggled into an address that ends up in a redirect stays inside the Location header.
    answer = raw(a, on_the_wire("/staff/cases%0d%0aX-Injected:%201", method="GET"))
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert head.startswith((b"HTTP/1.1 302", b"HTTP/1.1 404")) and b"\r\nX-Injected" not in head, head

    assert request(a, "GET", "/staff/sign-in").status == 200  # still serving
    log = fresh_limits["logs"][0].read_text(errors="replace")
    assert "unhandled error" not in log and "Traceback" not in log

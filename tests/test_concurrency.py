"""Fifty submissions of one child link at the same moment: exactly one is stored, every other one is
told "already sent" (or, when it is the same submission sent again, "sent"), never a server error.

Runs on PostgreSQL only: there the requests really run in parallel on separate connections, and the
single-use rule rests on the database's row lock (links.consume); SQLite serialises every writer.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select

from kidrate.extensions import db
from kidrate.models import ChildLink, Rating, Submission

from .childform import child_form

CLIENTS = 50
SIX = ("1", "3", "5", "6", "8", "10")  # the view an eleven-year-old is shown
ALREADY_SENT = "Already sent"


@pytest.fixture(autouse=True)
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (set KIDRATE_TEST_DATABASE_URL): SQLite runs one writer at a time, "
                    "so there is no real race to test")


@pytest.fixture
def link(make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Pappa slår mig.", "Jag har inga kompisar.",
                                                                  "Skolan är jobbig."))
    return make.link(case), [p.id for p in case.problems]


def race(app, path: str, forms: list[dict], headers: list[dict]) -> list:
    """POST each form from its own thread and test client, all released at once by a barrier, and
    check that their transactions really overlapped (database connections in use at the same time)."""
    barrier = threading.Barrier(len(forms))
    lock, in_use, most = threading.Lock(), [0], [0]

    def checkout(*_args):
        with lock:
            in_use[0] += 1
            most[0] = max(most[0], in_use[0])

    def checkin(*_args):
        with lock:
            in_use[0] -= 1

    def one(index: int):
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(path, data=forms[index], headers=headers[index])
        response.get_data()
        response.close()
        return response

    event.listen(db.engine, "checkout", checkout)
    event.listen(db.engine, "checkin", checkin)
    try:
        with ThreadPoolExecutor(max_workers=len(forms)) as pool:
            responses = list(pool.map(one, range(len(forms))))
    finally:
        event.remove(db.engine, "checkout", checkout)
        event.remove(db.engine, "checkin", checkin)
    assert most[0] >= 5, f"only {most[0]} requests ever held a connection at once: no real race"
    return responses


def outcome(response) -> str:
    """What the child was told, whichever way the page asked (HTML form post or child.js's JSON)."""
    if response.status_code == 303 and "/r/thanks" in response.headers["Location"]:
        return "sent"
    if response.is_json:
        return f"{response.status_code} {response.json.get('status')}"
    if response.status_code == 200 and ALREADY_SENT in response.text:
        return "already_sent"
    return f"{response.status_code} other"


def stored() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Submission.id))),
            db.session.scalar(select(func.count(Rating.id))),
            db.session.scalar(select(func.count(ChildLink.id)).where(ChildLink.used_at.is_not(None))))


def test_fifty_different_submissions_of_one_link_store_exactly_one(app, link):
    """Fifty devices (each page load has its own client_id), half posting the HTML form, half through
    child.js (JSON): one is stored; the other 49 hear "already sent"."""
    token, problem_ids = link
    page = app.test_client().get(f"/r/{token}", headers={"Accept-Language": "en"})
    base = child_form(page.text, problem_ids)
    forms = [{**base, "client_id": str(uuid.uuid4()), **{f"answer-{p}": SIX[(n + p) % len(SIX)] for p in problem_ids}}
             for n in range(CLIENTS)]
    headers = [{"Accept-Language": "en", **({"Accept": "application/json"} if n % 2 else {})}
               for n in range(CLIENTS)]

    responses = race(app, f"/r/{token}", forms, headers)

    said = [outcome(r) for r in responses]
    winners = [n for n, s in enumerate(said) if s in {"sent", "200 sent"}]
    assert len(winners) == 1, Counter(said)
    losers = Counter(s for n, s in enumerate(said) if n not in winners)
    expected = Counter("200 already_sent" if n % 2 else "already_sent" for n in range(CLIENTS) if n not in winners)
    assert losers == expected  # each told in the form it asked for; no 5xx, no "gone", no error
    assert stored() == (1, len(problem_ids), 1)

    # The one stored is one of the fifty, whole: its client_id and its own answers.
    winner = db.session.scalar(select(Submission))
    sent_form = next(f for f in forms if f["client_id"] == winner.client_id)
    assert {r.problem_id: str(r.value) for r in winner.ratings} == {
        p: sent_form[f"answer-{p}"] for p in problem_ids}


def test_fifty_retries_of_the_same_submission_store_it_once_and_all_hear_sent(app, link):
    """One child's submission sent again and again (a double tap, child.js retrying after a lost
    answer): the same client_id each time, so every one of them is told "sent", and it is stored once."""
    token, problem_ids = link
    page = app.test_client().get(f"/r/{token}")
    form = child_form(page.text, problem_ids)
    assert form.get("client_id"), "the child's page carries a client_id"

    responses = race(app, f"/r/{token}", [form] * CLIENTS, [{}] * CLIENTS)

    told = Counter(outcome(r) for r in responses)
    assert told == Counter({"sent": CLIENTS}), told
    assert stored() == (1, len(problem_ids), 1)
    assert db.session.scalar(select(Submission.client_id)) == form["client_id"].lower()

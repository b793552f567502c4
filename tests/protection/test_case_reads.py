"""Every response that shows a case's content is audited, whatever route produced it: a walk over
every staff route of a case, GET and a POST that fails validation alike, as each person who may use
it, on a case in each state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Closure, User
from kidrate.red_thread import cases

from ..conftest import csrf_token, sign_in

SECRET = "HEMLIGA-ORD-4411"


@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", make.unit("authority", "Unit A"), username="sw")
    therapist = make.user("therapist", username="t")
    draft = make.case(sw, words=(SECRET,))
    assigned = make.case(sw, therapist=therapist, words=(SECRET,))
    make.link(assigned, "start")
    closed = make.case(sw, therapist=therapist, words=(SECRET,))
    closed = db.session.get(Case, closed.id)
    closed.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    cases.send_handover(db.session, closed, db.session.get(User, therapist.id))
    db.session.commit()
    return {"draft": draft.id, "assigned": assigned.id, "closed": closed.id}


def _events(case_id: int) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id == case_id))


def _case_routes(app):
    for rule in app.url_map.iter_rules():
        if "case_id" in rule.arguments and rule.endpoint.startswith("staff."):
            yield rule


def _url(app, rule, case: Case) -> str:
    params = {"case_id": case.id, "problem_id": case.problems[0].id, "kind": "start", "version": 1,
              "signal_id": 1, "translation_id": 1, "recording_id": 1,
              "link_id": case.rounds[0].links[0].id if case.rounds and case.rounds[0].links else 1}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: params[k] for k in rule.arguments})


# Posts that succeed with an empty form and change the case (or lock the device) go last, so that the
# walk over the others sees the case whole.
LAST = ("staff.problem_translation_delete", "staff.recording_delete", "staff.link_revoke", "staff.handover_mark_read",
        "staff.signal_acknowledge", "staff.problem_delete", "staff.case_assign", "staff.handover_send",
        "staff.hand_over")


def _walk(app, world, username: str, state: str) -> list[tuple[str, str]]:
    """Every case route, GET and an empty POST, as one person on one case; the (method, endpoint)
    of each response that showed the child's words, each checked to have left an audit event."""
    client = app.test_client()
    sign_in(client, username)
    case = db.session.get(Case, world[state])
    requests = sorted(((method, rule.endpoint, _url(app, rule, case))
                       for rule in _case_routes(app) for method in rule.methods & {"GET", "POST"}),
                      key=lambda r: (r[0] == "POST", LAST.index(r[1]) if r[1] in LAST else -1, r[1]))
    token = csrf_token(client.get("/staff/profile").text)
    shown = []
    for method, endpoint, url in requests:
        before = _events(world[state])
        if method == "GET":
            response = client.get(url)
        else:  # a form with nothing filled in: it fails validation wherever there is one
            response = client.post(url, data={"csrf_token": token, "language": "zz"})
        assert response.status_code < 500, (method, url)
        if SECRET.encode() in response.data:
            shown.append((method, endpoint))
            assert _events(world[state]) > before, f"{method} {url} as {username}: the case was shown unaudited"
    return shown


@pytest.mark.parametrize(("username", "state"), [
    ("sw", "draft"), ("sw", "assigned"), ("sw", "closed"), ("t", "assigned"), ("t", "closed"),
])
def test_every_response_showing_a_case_is_audited(app, world, username, state):
    shown = _walk(app, world, username, state)
    assert ("GET", "staff.case_view") in shown
    if (username, state) == ("t", "assigned"):
        # The walk did reach failed posts that show the case again, not only the case page itself.
        failed_posts = {endpoint for method, endpoint in shown if method == "POST"}
        assert {"staff.met_alone", "staff.closure_edit", "staff.link_issue"} <= failed_posts, failed_posts


@pytest.mark.parametrize(("path", "data"), [
    ("met-alone", {}),
    ("closure", {}),
    ("rounds/start/links", {"language": "zz"}),
])
def test_a_failed_form_that_shows_the_case_again_leaves_a_view_event(app, world, path, data):
    client = app.test_client()
    sign_in(client, "t")
    case_id = world["assigned"]
    token = csrf_token(client.get(f"/staff/cases/{case_id}").text)
    before = _events(case_id)
    response = client.post(f"/staff/cases/{case_id}/{path}", data={"csrf_token": token, **data})
    assert response.status_code == 400 and SECRET in response.text
    assert _events(case_id) == before + 1
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    therapist_id = db.session.scalar(select(User.id).where(User.username == "t"))
    assert (event.action, event.user_id) == ("view_case", therapist_id)
    assert event.target.startswith("page:staff.")


def test_a_page_whose_audit_event_cannot_be_written_is_not_shown(app, world, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from kidrate.protection import case_reads

    def refuse(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    client = app.test_client()
    sign_in(client, "t")
    case_id = world["assigned"]
    token = csrf_token(client.get(f"/staff/cases/{case_id}").text)
    monkeypatch.setattr(case_reads.Session, "commit", refuse)
    response = client.post(f"/staff/cases/{case_id}/met-alone", data={"csrf_token": token})
    assert response.status_code == 503 and SECRET not in response.text

"""Safety signals: the rule on its own, then raised by the child's real submission (POST /r/<token>) in
the same transaction, shown to the therapist and the social worker (list, case page, inbox), and
acknowledged through the case page with a note of what was done, which stays in the case's history."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, SafetySignal, User, utcnow
from kidrate.red_thread.signals import DROP, Signal, signals_for

from ..conftest import child_posts, csrf_token, post_form, sign_in
from .test_documents import flat

VIOLENCE = {1: "violence_abuse", 2: "family_violence", 3: "honour_violence"}
OTHER = {4: "school", 5: "child_mental_health"}
PROBLEMS = {**VIOLENCE, **OTHER}


# --- The rule ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("problem_id", sorted(VIOLENCE))
@pytest.mark.parametrize(("value", "fires"), [(1, True), (2, True), (3, False), (10, False)])
def test_a_low_rating_on_a_problem_about_violence(problem_id, value, fires):
    found = signals_for({problem_id: value}, {}, PROBLEMS)
    assert found == ([Signal(problem_id, "low_violence", value, None)] if fires else [])


@pytest.mark.parametrize("value", [1, 2])
def test_a_low_rating_on_another_problem_is_no_signal(value):
    assert signals_for({4: value, 5: value}, {}, PROBLEMS) == []


@pytest.mark.parametrize(("before", "now", "fires"), [(8, 5, True), (8, 4, True), (10, 1, True), (8, 6, False),
                                                      (5, 5, False), (3, 9, False)])
def test_a_drop_since_the_last_rating(before, now, fires):
    found = signals_for({4: now}, {4: before}, PROBLEMS)
    assert found == ([Signal(4, "drop", now, before)] if fires else [])


def test_both_signals_on_one_problem_and_nothing_for_unanswered_or_unknown_problems():
    found = signals_for({1: 2, 4: None, 99: 1}, {1: 9, 4: 9, 99: 9}, PROBLEMS)
    assert found == [Signal(1, "low_violence", 2, 9), Signal(1, "drop", 2, 9)]


@given(before=st.none() | st.integers(1, 10), now=st.integers(1, 10), violence=st.booleans())
def test_the_rule_holds_for_every_pair_of_ratings(before, now, violence):
    problem_id = 1 if violence else 4
    found = signals_for({problem_id: now}, {} if before is None else {problem_id: before}, PROBLEMS)
    kinds = [s.kind for s in found]
    assert ("low_violence" in kinds) == (violence and now <= 2)
    assert ("drop" in kinds) == (before is not None and before - now >= DROP)
    assert all(s.value == now and s.previous_value == before and s.problem_id == problem_id for s in found)


# --- Raised by the child's real submission ------------------------------------------------------------

@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="t")
    make.user("therapist", username="t2")
    case = make.case(sw, therapist=therapist, words=("Pappa slår mig.", "Jag har inga kompisar."))
    case = db.session.get(Case, case.id)
    hurt, lonely = case.problems
    lonely.category = "child_mental_health"
    db.session.commit()
    return {"case_id": case.id, "hurt": hurt.id, "lonely": lonely.id, "make": make}


def _signals(case_id: int) -> list[SafetySignal]:
    db.session.expire_all()
    return list(db.session.scalars(select(SafetySignal).where(SafetySignal.case_id == case_id)
                                   .order_by(SafetySignal.id)))


def test_signals_are_raised_the_moment_the_child_submits(app, world, client):
    make, case_id, hurt, lonely = world["make"], world["case_id"], world["hurt"], world["lonely"]
    case = db.session.get(Case, case_id)
    # 3, 6 and 8 are on every view of the scale the child may be shown; 1 is too
    child_posts(client, make.link(case, "start"), {hurt: "3", lonely: "8"})
    assert _signals(case_id) == []

    child_posts(app.test_client(), make.link(case, "follow_up"), {hurt: "1", lonely: "3"})
    found = _signals(case_id)
    follow_up = db.session.get(Case, case_id).round("follow_up").submission
    assert {(s.problem_id, s.kind, s.value, s.previous_value) for s in found} == {
        (hurt, "low_violence", 1, 3), (lonely, "drop", 3, 8)}
    assert all(s.submission_id == follow_up.id and s.acknowledged_at is None for s in found)


def test_a_drop_is_measured_from_the_last_time_the_child_rated_the_problem(app, world, client):
    make, case_id, hurt, lonely = world["make"], world["case_id"], world["hurt"], world["lonely"]
    case = db.session.get(Case, case_id)
    child_posts(client, make.link(case, "start"), {hurt: "8", lonely: "8"})
    child_posts(app.test_client(), make.link(case, "follow_up"), {hurt: "declined", lonely: "6"})
    assert _signals(case_id) == []
    child_posts(app.test_client(), make.link(case, "closure"), {hurt: "3", lonely: "3"})
    found = {(s.problem_id, s.kind, s.value, s.previous_value) for s in _signals(case_id)}
    assert found == {(hurt, "drop", 3, 8), (lonely, "drop", 3, 6)}


def test_a_submission_that_is_not_stored_raises_nothing(app, world, client):
    make, case_id, hurt, lonely = world["make"], world["case_id"], world["hurt"], world["lonely"]
    token = make.link(db.session.get(Case, case_id), "start")
    page = client.get(f"/r/{token}")
    response = client.post(f"/r/{token}", data={"form_token": "forged", f"answer-{hurt}": "1",
                                                f"answer-{lonely}": "1"})
    assert response.status_code == 400 and page.status_code == 200
    assert _signals(case_id) == []


# --- Shown to the therapist, acknowledged through the case page ------------------------------------

def _raise(app, world) -> None:
    case = db.session.get(Case, world["case_id"])
    child_posts(app.test_client(), world["make"].link(case, "start"), {world["hurt"]: "1", world["lonely"]: "6"})


def test_the_therapist_sees_what_happened_on_the_list_and_the_case(app, world, client):
    _raise(app, world)
    sign_in(client, "t")
    listing = client.get("/staff/cases").text
    assert "1 safety signal" in listing
    page = client.get(f"/staff/cases/{world['case_id']}").text
    assert "Safety signals from the child&#39;s answers" in page
    assert "Rated 1 of 10 on a problem about violence:" in page and 'dir="auto">Pappa slår mig.</bdi>”' in page
    assert page.index("Safety signals from the child&#39;s answers") < page.index("The child&#39;s problems, in the")


def test_a_drop_reads_as_what_happened(app, world, client):
    case = db.session.get(Case, world["case_id"])
    child_posts(app.test_client(), world["make"].link(case, "start"), {world["lonely"]: "8", world["hurt"]: "8"})
    child_posts(app.test_client(), world["make"].link(case, "follow_up"), {world["lonely"]: "3", world["hurt"]: "8"})
    sign_in(client, "t")
    page = client.get(f"/staff/cases/{world['case_id']}").text
    assert "Dropped from 8 to 3 since the last round:" in page and 'dir="auto">Jag har inga kompisar.</bdi>”' in page


def test_the_social_worker_sees_the_signal_on_the_list_and_the_case_but_does_not_acknowledge_it(app, world, client):
    _raise(app, world)
    sign_in(client, "sw")
    assert "1 safety signal" in client.get("/staff/cases").text
    page = client.get(f"/staff/cases/{world['case_id']}").text
    text = flat(page)
    assert "Safety signals from the child's answers" in text
    assert "1 signal is not handled yet. The therapist has not yet recorded what was done." in text
    assert "Rated 1 of 10 on a problem about violence: “Pappa slår mig.”" in text
    assert "/acknowledge" not in page and "signal-note-" not in page


NOTE = "Pratade med barnet enskilt samma dag. Ringde socialsekreteraren."


def _acknowledge_url(world, signal) -> str:
    return f"/staff/cases/{world['case_id']}/signals/{signal.id}/acknowledge"


def test_acknowledging_needs_a_note_of_what_was_done(app, world, client):
    _raise(app, world)
    (signal,) = _signals(world["case_id"])
    sign_in(client, "t")
    page_url = f"/staff/cases/{world['case_id']}"
    action = _acknowledge_url(world, signal)
    assert f'action="{action}"' in client.get(page_url).text
    for empty in ("", "   \n "):
        refused = post_form(client, page_url, action, {"note": empty})
        assert refused.status_code == 400
        assert "Write what was done about the signal before acknowledging it." in flat(refused.text)
        assert 'aria-invalid="true"' in refused.text  # beside the signal's own note field
    too_long = post_form(client, page_url, action, {"note": "x" * 2001})
    assert too_long.status_code == 400
    (signal,) = _signals(world["case_id"])
    assert (signal.acknowledged_at, signal.acknowledged_by_id, signal.acknowledged_note) == (None, None, None)
    assert not list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "acknowledge_signal")))


def test_acknowledging_records_what_who_and_when_and_the_signal_stays_in_the_history(app, world, client):
    _raise(app, world)
    (signal,) = _signals(world["case_id"])
    sign_in(client, "t")
    page_url = f"/staff/cases/{world['case_id']}"
    action = _acknowledge_url(world, signal)
    before = utcnow()
    response = post_form(client, page_url, action, {"note": f"  {NOTE}  "})
    assert response.status_code == 302 and response.headers["Location"].endswith("#signals")
    (signal,) = _signals(world["case_id"])
    therapist_id = db.session.scalar(select(User.id).where(User.username == "t"))
    assert signal.acknowledged_note == NOTE and signal.acknowledged_by_id == therapist_id
    assert before <= signal.acknowledged_at <= utcnow()
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "acknowledge_signal")))
    assert [(e.case_id, e.target) for e in events] == [(world["case_id"], f"signal:{signal.id}")]
    assert NOTE not in repr([(e.action, e.target) for e in events])  # audit events never hold the words

    # Not handled any more: no count on the list, but the case keeps it, with what was done, who and when.
    assert "safety signal" not in client.get("/staff/cases").text
    for who in ("t", "sw"):
        other = app.test_client()
        sign_in(other, who)
        text = flat(other.get(page_url).text)
        assert "Safety signals from the child's answers" in text and "not handled yet" not in text
        assert re.search(r"Handled Rated 1 of 10 on a problem about violence: “Pappa slår mig\.” \(raised [^)]+\) "
                         rf"Acknowledged [^.]+ by [^.]+\. What was done: {re.escape(NOTE)}", text), text
    # A second press changes nothing and logs nothing more.
    post_form(client, page_url, action, {"note": "Något annat."})
    assert _signals(world["case_id"])[0].acknowledged_note == NOTE
    assert len(list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "acknowledge_signal")))) == 1


def test_acknowledging_needs_the_right_person_case_and_form(app, world, make, client):
    _raise(app, world)
    (signal,) = _signals(world["case_id"])
    action = _acknowledge_url(world, signal)
    for who, code in (("sw", 403), ("t2", 404)):
        other = app.test_client()
        sign_in(other, who)
        token = csrf_token(other.get("/staff/profile").text)
        assert other.post(action, data={"csrf_token": token, "note": NOTE}).status_code == code
    sign_in(client, "t")
    assert client.post(action, data={"note": NOTE}).status_code == 400  # no CSRF token
    other_case = make.case(db.session.get(Case, world["case_id"]).social_worker,
                           therapist=db.session.get(Case, world["case_id"]).therapist)
    token = csrf_token(client.get("/staff/profile").text)
    wrong_case = f"/staff/cases/{other_case.id}/signals/{signal.id}/acknowledge"
    assert client.post(wrong_case, data={"csrf_token": token, "note": NOTE}).status_code == 404
    missing = f"/staff/cases/{world['case_id']}/signals/999999/acknowledge"
    assert client.post(missing, data={"csrf_token": token, "note": NOTE}).status_code == 404
    assert _signals(world["case_id"])[0].acknowledged_at is None


def test_the_inbox_shows_the_units_signals_with_how_each_was_handled(app, world, make, client):
    _raise(app, world)
    sw = db.session.scalar(select(User).where(User.username == "sw"))
    make.user("social_worker", make.unit("authority", "Annan enhet"), username="sw_other")
    sign_in(client, "sw")
    inbox = flat(client.get("/staff/handovers").text)
    case_ref = db.session.get(Case, world["case_id"]).case_ref
    assert "Safety signals in your unit's cases" in inbox
    assert re.search(rf"{re.escape(case_ref)} Rated 1 of 10 on a problem about violence: “Pappa slår mig\.” "
                     r"[0-9-]+ [0-9:]+ Not handled yet\.", inbox), inbox
    other = app.test_client()
    sign_in(other, "sw_other")
    assert "Pappa slår mig." not in other.get("/staff/handovers").text  # another unit's case: not there

    therapist = app.test_client()
    sign_in(therapist, "t")
    (signal,) = _signals(world["case_id"])
    post_form(therapist, f"/staff/cases/{world['case_id']}", _acknowledge_url(world, signal), {"note": NOTE})
    inbox = flat(client.get("/staff/handovers").text)
    name = db.session.get(Case, world["case_id"]).therapist.display_name
    assert re.search(rf"Acknowledged [^.]+ by {re.escape(name)}\. What was done: {re.escape(NOTE)}", inbox), inbox
    assert "Not handled yet" not in inbox and sw.unit_id is not None


def test_an_unhandled_signal_is_an_open_check_for_the_therapist(app, world, client):
    _raise(app, world)
    sign_in(client, "t")
    page = client.get(f"/staff/cases/{world['case_id']}").text
    text = flat(page)
    assert "A safety signal is not handled (no note of what was done): “Pappa slår mig.” Write what was done" in text
    assert f'href="/staff/cases/{world["case_id"]}#signals"' in page

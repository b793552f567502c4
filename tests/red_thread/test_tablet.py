"""Handing the therapist's device to the child: the due round's questions open on it, the staff side
locks until the therapist's password is given, five wrong passwords sign out."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, ChildLink, Rating, RatingRound, Submission
from kidrate.protection.accounts import hash_password
from kidrate.red_thread import tablet

from ..conftest import csrf_token, sign_in
from ..factories import Factory

WORDS = ("Pappa slår mig.", "Jag har inga kompisar.")
LOCKED = "This device is locked"


@pytest.fixture
def tablet_case(app, make: Factory):
    sw = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="tess")
    return make.case(sw, therapist=therapist, words=WORDS, child_language="sv", case_ref="BOU-TABLET-1")


def signed_in(app, username: str = "tess"):
    client = app.test_client()
    sign_in(client, username)
    return client


def hand_over(client, case_id: int, kind: str = "start"):
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200
    return client.post(f"/staff/cases/{case_id}/rounds/{kind}/hand-over", data={"csrf_token": csrf_token(page.text)})


def unlock(client, password: str):
    page = client.get("/staff/cases")
    return client.post("/staff/unlock", data={"csrf_token": csrf_token(page.text), "password": password})


def answered_how(case_id: int, kind: str = "start") -> str | None:
    db.session.remove()
    return db.session.scalar(select(RatingRound.answered_how).where(RatingRound.case_id == case_id,
                                                                    RatingRound.kind == kind))


def actions() -> list[str]:
    db.session.remove()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_case_page_offers_the_hand_over_for_the_due_round_only(app, tablet_case):
    page = signed_in(app).get(f"/staff/cases/{tablet_case.id}").text
    assert "Hand this device to the child" in page
    assert f"/staff/cases/{tablet_case.id}/rounds/start/hand-over" in page
    assert "/rounds/follow_up/hand-over" not in page and "/rounds/closure/hand-over" not in page
    assert "Hand this device to the child" not in signed_in(app, "sw").get(f"/staff/cases/{tablet_case.id}").text


def test_hand_over_opens_the_childs_questions_and_locks_the_staff_side(app, tablet_case):
    client = signed_in(app)
    response = hand_over(client, tablet_case.id)
    assert response.status_code == 303
    child_url = response.headers["Location"]
    assert re.fullmatch(r"/r/[A-Za-z0-9_-]{32}", child_url)
    assert answered_how(tablet_case.id) == "with_therapist"
    assert "hand_over_device" in actions()
    link = db.session.scalar(select(ChildLink))
    assert link.language == "sv" and link.created_by_id is not None
    assert (link.expires_at - link.created_at).days <= tablet.HAND_OVER_LINK_DAYS

    # Every staff address now shows the neutral locked page, and nothing of the case.
    token = None
    for url in ("/staff/", "/staff/cases", f"/staff/cases/{tablet_case.id}", f"/staff/cases/{tablet_case.id}/together",
                "/staff/profile", "/staff/sign-in", "/staff/handovers", "/"):
        page = client.get(url, follow_redirects=True)
        assert page.status_code == 423, url
        assert LOCKED in page.text and "BOU-TABLET-1" not in page.text and WORDS[0] not in page.text, url
        assert "Sign out" not in page.text and "Cases" not in page.text, url
        assert page.headers["Cache-Control"] == "no-store"
        token = csrf_token(page.text)
    # Posting to a staff form does nothing either: not even signing out.
    assert client.post("/staff/sign-out", data={"csrf_token": token}).status_code == 423
    assert client.post(f"/staff/cases/{tablet_case.id}/rounds/start/links",
                       data={"csrf_token": token, "language": "sv"}).status_code == 423
    assert db.session.scalar(select(func.count(ChildLink.id))) == 1

    # The child's page works, and shows nothing of the staff side.
    child_page = client.get(child_url)
    assert child_page.status_code == 200 and WORDS[0] in child_page.text
    assert "BOU-TABLET-1" not in child_page.text and "Logga ut" not in child_page.text
    assert LOCKED not in child_page.text
    form_token = re.search(r'name="form_token" value="([^"]+)"', child_page.text).group(1)
    ids = [p.id for p in db.session.get(Case, tablet_case.id).problems]
    sent = client.post(child_url, data={"form_token": form_token, "view": "ten", f"answer-{ids[0]}": "4",
                                        f"answer-{ids[1]}": "declined"})
    assert sent.status_code == 303 and "/r/thanks" in sent.headers["Location"], sent.text
    thanks = client.get(sent.headers["Location"])
    assert thanks.status_code == 200 and "Tack!" in thanks.text
    assert "Sign out" not in thanks.text and "Logga ut" not in thanks.text and LOCKED not in thanks.text

    db.session.remove()
    assert db.session.scalar(select(func.count(Submission.id))) == 1
    assert sorted(db.session.execute(select(Rating.answer, Rating.value)).all(), key=str) == [
        ("declined", None), ("rated", 4)]
    assert answered_how(tablet_case.id) == "with_therapist"
    # Still locked after the child has sent.
    assert client.get(f"/staff/cases/{tablet_case.id}").status_code == 423


def test_a_recorded_way_of_answering_is_kept(app, tablet_case):
    rnd = db.session.scalar(select(RatingRound).where(RatingRound.case_id == tablet_case.id,
                                                      RatingRound.kind == "start"))
    rnd.answered_how = "with_interpreter"
    db.session.commit()
    assert hand_over(signed_in(app), tablet_case.id).status_code == 303
    assert answered_how(tablet_case.id) == "with_interpreter"


def test_the_right_password_unlocks_and_an_unused_link_dies(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    response = unlock(client, Factory.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{tablet_case.id}#rounds")
    page = client.get(f"/staff/cases/{tablet_case.id}")
    assert page.status_code == 200 and "BOU-TABLET-1" in page.text
    # The link opened on the device (still in its history) no longer works.
    db.session.remove()
    assert db.session.scalar(select(ChildLink)).revoked_at is not None
    assert actions()[-3:] == ["revoke_link", "unlock_device", "view_case"]


def test_a_wrong_password_keeps_it_locked(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    response = unlock(client, "not the password")
    assert response.status_code == 400 and LOCKED in response.text
    assert "Wrong password. After 4 more wrong passwords you will be signed out." in response.text
    assert client.get(f"/staff/cases/{tablet_case.id}").status_code == 423
    assert "unlock_failed" in actions()
    # An empty password is a form error, not a try.
    empty = unlock(client, "")
    assert empty.status_code == 400 and "Enter your password." in empty.text
    assert actions().count("unlock_failed") == 1


def test_five_wrong_passwords_sign_out_completely(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    for _ in range(4):
        assert unlock(client, "wrong").status_code == 400
    last = unlock(client, "wrong")
    assert last.status_code == 302 and "/staff/sign-in" in last.headers["Location"]
    # Signed out, the page speaks the default language (Swedish) again.
    assert "för många felaktiga lösenord" in client.get(last.headers["Location"]).text
    # Signed out: the staff side asks for a sign-in, the right password on the old form does nothing.
    response = client.get(f"/staff/cases/{tablet_case.id}")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert actions().count("unlock_failed") == 5 and "unlock_signed_out" in actions()


def test_resetting_the_count_in_the_cookie_does_not_buy_more_tries(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    for _ in range(3):
        unlock(client, "wrong")
    with client.session_transaction() as session:  # as if an older copy of the cookie were sent
        session["unlock_failures"] = 0
    assert unlock(client, "wrong").status_code == 400
    assert unlock(client, "wrong").status_code == 302
    assert client.get("/staff/cases").status_code == 302


def test_another_users_password_does_not_unlock(app, make, tablet_case):
    colleague = make.user("therapist", username="colleague")
    with app.app_context():
        colleague.password_hash = hash_password("the colleague's own password")
    db.session.merge(colleague)
    db.session.commit()
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    assert unlock(client, "the colleague's own password").status_code == 400
    assert client.get("/staff/cases").status_code == 423


def test_a_locked_session_that_goes_idle_is_signed_out(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = client.get(f"/staff/cases/{tablet_case.id}")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    with client.session_transaction() as session:
        assert "locked" not in session and "uid" not in session


def test_trying_to_unlock_does_not_keep_the_session_alive(app, tablet_case):
    client = signed_in(app)
    hand_over(client, tablet_case.id)
    with client.session_transaction() as session:
        before = session["seen"] = int(time.time()) - 60
    unlock(client, "wrong")
    with client.session_transaction() as session:
        assert session["seen"] == before


def test_only_the_due_unanswered_round_of_ones_own_case(app, make, tablet_case):
    client = signed_in(app)
    # Not the round that is due: a clear message, nothing stored, not locked.
    response = hand_over(client, tablet_case.id, "follow_up")
    assert response.status_code == 400 and "only for the round that is due" in response.text
    assert db.session.scalar(select(func.count(ChildLink.id))) == 0
    assert client.get("/staff/cases").status_code == 200
    assert hand_over(client, tablet_case.id, "nonsense").status_code == 404
    # Another therapist, the social worker.
    make.user("therapist", username="other")
    assert hand_over_as(app, "other", tablet_case.id) == 404
    assert hand_over_as(app, "sw", tablet_case.id) == 403
    assert db.session.scalar(select(func.count(ChildLink.id))) == 0


def hand_over_as(app, username: str, case_id: int) -> int:
    client = signed_in(app, username)
    token = csrf_token(client.get("/staff/profile").text)
    return client.post(f"/staff/cases/{case_id}/rounds/start/hand-over", data={"csrf_token": token}).status_code


def test_an_answered_round_cannot_be_handed_over_again(app, tablet_case):
    client = signed_in(app)
    child_url = hand_over(client, tablet_case.id).headers["Location"]
    child_page = client.get(child_url)
    form_token = re.search(r'name="form_token" value="([^"]+)"', child_page.text).group(1)
    ids = [p.id for p in db.session.get(Case, tablet_case.id).problems]
    client.post(child_url, data={"form_token": form_token, "view": "ten", **{f"answer-{i}": "5" for i in ids}})
    assert unlock(client, Factory.PASSWORD).status_code == 302
    assert hand_over(client, tablet_case.id, "start").status_code == 409
    # The next round is now the due one.
    assert hand_over(client, tablet_case.id, "follow_up").status_code == 303


def test_without_csrf_nothing_happens(app, tablet_case):
    client = signed_in(app)
    response = client.post(f"/staff/cases/{tablet_case.id}/rounds/start/hand-over")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(ChildLink.id))) == 0
    hand_over(client, tablet_case.id)
    assert client.post("/staff/unlock", data={"password": Factory.PASSWORD}).status_code == 400
    assert client.get("/staff/cases").status_code == 423


def test_unlock_without_a_lock_goes_home(app, tablet_case):
    client = signed_in(app)
    token = csrf_token(client.get("/staff/profile").text)
    response = client.post("/staff/unlock", data={"csrf_token": token, "password": "x"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")


# --- The rules, without a request ---------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (("start", "start", False, True), None),
    (("start", "start", True, True), "answered"),
    (("follow_up", "start", False, True), "not_due"),
    (("start", "start", False, False), "no_problems"),
    (("closure", None, False, True), "not_due"),
])
def test_refusal(args, expected):
    assert tablet.refusal(*args) == expected


@pytest.mark.parametrize(("in_session", "logged", "expected"), [
    (None, 1, 1), (0, 1, 1), (3, 4, 4), (3, 1, 4), (0, 4, 4), ("3", 1, 1), (-2, 0, 1), (True, 0, 1),
])
def test_failures_count_the_larger_of_session_and_log(in_session, logged, expected):
    assert tablet.failures_so_far(in_session, logged) == expected


def test_tries_left():
    assert [tablet.tries_left(n) for n in (0, 4, 5, 9)] == [5, 1, 0, 0]
    assert tablet.open_while_locked("staff.unlock") and not tablet.open_while_locked("staff.case_view")

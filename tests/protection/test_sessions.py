"""Staff sessions with a server-side identity: the cookie holds a random token, the database a row
(StaffSession) that sign-out, idleness, deactivation, a new password, a two-factor change, the tablet
hand-over and an admin end for good, whatever copy of the cookie is presented afterwards; the child's
link of a hand-over ends with its locked session."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from kidrate.extensions import db
from kidrate.models import AuditEvent, ChildLink, StaffSession, User, utcnow
from kidrate.protection import two_factor

from ..conftest import child_posts, csrf_token, post_form, session_of, sign_in
from ..factories import Factory

NEW_PASSWORD = "a long new passphrase"


# --- Helpers --------------------------------------------------------------------------------------


def copy_of(app, client):
    """Another browser holding a copy of the client's session cookie, as someone who took it would."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "no session cookie to copy"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def signed_in_as(app, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def is_signed_out(response) -> bool:
    return response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def sessions_of(user_id: int) -> list[StaffSession]:
    db.session.remove()
    return list(db.session.scalars(select(StaffSession).where(StaffSession.user_id == user_id)
                                   .order_by(StaffSession.id)))


def live_session_of(user_id: int) -> StaffSession:
    live = [row for row in sessions_of(user_id) if row.ended_at is None]
    assert len(live) == 1, live
    return live[0]


def move_last_seen_back(user_id: int, by: timedelta) -> None:
    db.session.execute(update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
                       .values(last_seen_at=utcnow() - by))
    db.session.commit()


def actions() -> list[AuditEvent]:
    db.session.remove()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps_ahead * two_factor.STEP_SECONDS)


def full_sign_in(app, username: str, code: str):
    client = app.test_client()
    assert sign_in(client, username).headers["Location"] == "/staff/sign-in/code"
    page = client.get("/staff/sign-in/code")
    response = client.post("/staff/sign-in/code", data={"csrf_token": csrf_token(page.text), "code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    return client


def idle_limit(app) -> timedelta:
    return timedelta(minutes=app.config["KIDRATE"].idle_minutes)


@pytest.fixture
def admin(app, make: Factory):
    make.user("admin", username="boss")
    return signed_in_as(app, "boss")


def admin_posts(admin_client, action: str):
    return post_form(admin_client, "/staff/admin/users", action)


# --- The cookie and the row -----------------------------------------------------------------------


def test_the_cookie_holds_a_token_and_the_database_only_its_hash(app, make):
    user = make.user("social_worker", username="sara")
    client = signed_in_as(app, "sara")
    token = session_of(client)["sid"]
    assert len(token) >= 43
    row = live_session_of(user.id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not row.locked and row.end_reason is None
    stored = " ".join(f"{e.action} {e.target}" for e in actions())
    assert token not in stored and row.token_hash not in stored


def test_a_copied_cookie_is_refused_after_sign_out(app, make):
    user = make.user("social_worker", username="sara")
    client = signed_in_as(app, "sara")
    thief = copy_of(app, client)
    assert thief.get("/staff/cases").status_code == 200  # while signed in, a copy works like the original

    assert is_signed_out(post_form(client, "/staff/profile", "/staff/sign-out"))
    for url in ("/staff/cases", "/staff/profile"):
        assert is_signed_out(thief.get(url)), url
    token = csrf_token(client.get("/staff/sign-in").text)
    assert thief.post("/staff/profile", data={"csrf_token": token, "locale": "sv"}).status_code in (400, 401)
    [row] = sessions_of(user.id)
    assert row.ended_at is not None and row.end_reason == "sign_out"


def test_signing_in_again_ends_the_browsers_earlier_session(app, make):
    user = make.user("social_worker", username="sara")
    client = signed_in_as(app, "sara")
    before = copy_of(app, client)
    assert sign_in(client, "sara").status_code == 302
    assert is_signed_out(before.get("/staff/cases"))
    assert client.get("/staff/cases").status_code == 200
    assert [row.end_reason for row in sessions_of(user.id)] == ["signed_in_again", None]


def test_deactivating_and_reactivating_revives_no_session(app, make, admin):
    user = make.user("therapist", username="tove")
    victim = signed_in_as(app, "tove")
    thief = copy_of(app, victim)
    action = f"/staff/admin/users/{user.id}/active"
    assert admin_posts(admin, action).status_code == 302  # deactivated
    assert admin_posts(admin, action).status_code == 302  # and active again
    db.session.remove()
    assert db.session.get(User, user.id).active
    assert is_signed_out(victim.get("/staff/cases"))
    assert is_signed_out(thief.get("/staff/cases"))
    assert [row.end_reason for row in sessions_of(user.id)] == ["deactivated"]
    assert signed_in_as(app, "tove").get("/staff/cases").status_code == 200  # a new sign-in works


def test_a_new_password_ends_every_session(app, make, admin):
    user = make.user("therapist", username="tove")
    laptop, phone = signed_in_as(app, "tove"), signed_in_as(app, "tove")
    thief = copy_of(app, laptop)
    page = admin_posts(admin, f"/staff/admin/users/{user.id}/reset")
    url = page.text.split('value="http://localhost', 1)[1].split('"', 1)[0]
    assert url.startswith("/staff/reset/")
    guest = app.test_client()
    response = post_form(guest, url, url, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 302
    for client in (laptop, phone, thief):
        assert is_signed_out(client.get("/staff/cases"))
    assert [row.end_reason for row in sessions_of(user.id)] == ["password", "password"]


def test_a_two_factor_reset_ends_sessions_even_once_it_is_set_up_again(app, make, admin):
    """The old fingerprint comes back once two-factor is on again: only the ended row keeps the old
    session dead."""
    user, secret, _codes = make.user_with_totp("therapist", username="tove")
    victim = full_sign_in(app, "tove", code_at(secret))
    thief = copy_of(app, victim)
    assert admin_posts(admin, f"/staff/admin/users/{user.id}/two-factor-reset").status_code == 302

    again = signed_in_as(app, "tove")  # two-factor is not required here: the password alone, then set up
    assert again.get("/staff/profile/two-factor").status_code == 200
    db.session.remove()
    new_secret = db.session.get(User, user.id).totp_secret
    done = post_form(again, "/staff/profile/two-factor", "/staff/profile/two-factor", {"code": code_at(new_secret)})
    assert done.status_code == 200
    assert again.get("/staff/cases").status_code == 200
    assert is_signed_out(victim.get("/staff/cases"))
    assert is_signed_out(thief.get("/staff/cases"))
    assert sessions_of(user.id)[0].end_reason == "two_factor"


def test_turning_two_factor_off_and_on_ends_the_other_devices_only(app, make):
    user, secret, codes = make.user_with_totp("therapist", username="tove")
    here = full_sign_in(app, "tove", code_at(secret))
    elsewhere = full_sign_in(app, "tove", codes[0])
    page = here.get("/staff/profile/two-factor")
    off = here.post("/staff/profile/two-factor/off",
                    data={"off-csrf_token": csrf_token(page.text), "off-code": codes[1]})
    assert off.status_code == 302
    assert here.get("/staff/profile").status_code == 200
    here.get("/staff/profile/two-factor")
    db.session.remove()
    new_secret = db.session.get(User, user.id).totp_secret
    on = post_form(here, "/staff/profile/two-factor", "/staff/profile/two-factor", {"code": code_at(new_secret)})
    assert on.status_code == 200
    assert here.get("/staff/cases").status_code == 200
    assert is_signed_out(elsewhere.get("/staff/cases"))


# --- Idle, on the server ------------------------------------------------------------------------


def test_idle_on_the_server_signs_out(app, make):
    user = make.user("social_worker", username="sara")
    client = signed_in_as(app, "sara")
    thief = copy_of(app, client)
    move_last_seen_back(user.id, idle_limit(app) + timedelta(minutes=1))
    assert is_signed_out(client.get("/staff/cases"))
    assert is_signed_out(thief.get("/staff/cases"))
    [row] = sessions_of(user.id)
    assert row.end_reason == "idle"


def test_last_seen_is_written_at_most_once_a_minute(app, make):
    user = make.user("social_worker", username="sara")
    client = signed_in_as(app, "sara")
    move_last_seen_back(user.id, timedelta(seconds=30))
    before = live_session_of(user.id).last_seen_at
    assert client.get("/staff/cases").status_code == 200
    assert live_session_of(user.id).last_seen_at == before
    move_last_seen_back(user.id, idle_limit(app) - timedelta(minutes=1))
    assert client.get("/staff/cases").status_code == 200  # still inside the limit
    assert utcnow() - live_session_of(user.id).last_seen_at < timedelta(seconds=10)


# --- The tablet hand-over -----------------------------------------------------------------------


@pytest.fixture
def tablet_case(make: Factory):
    sw = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="tess")
    return make.case(sw, therapist=therapist, words=("Pappa slår mig.",), case_ref="BOU-SESSION-1")


def hand_over(client, case_id: int) -> str:
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200
    response = client.post(f"/staff/cases/{case_id}/rounds/start/hand-over",
                           data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    return response.headers["Location"]


def unlock(client, password: str):
    page = client.get("/staff/cases")
    return client.post("/staff/unlock", data={"csrf_token": csrf_token(page.text), "password": password})


def therapist_id() -> int:
    db.session.remove()
    return db.session.scalar(select(User.id).where(User.username == "tess"))


def test_a_cookie_copied_before_the_hand_over_reaches_nothing_after_it(app, tablet_case):
    device = signed_in_as(app, "tess")
    copied = copy_of(app, device)
    hand_over(device, tablet_case.id)
    for url in ("/staff/cases", f"/staff/cases/{tablet_case.id}", "/staff/profile"):
        assert is_signed_out(copied.get(url)), url
        assert device.get(url).status_code == 423, url
    rows = sessions_of(therapist_id())
    assert [(row.end_reason, row.locked) for row in rows] == [("hand_over", False), (None, True)]
    assert rows[1].hand_over_link_id is not None
    assert "locked" not in session_of(device)  # the lock is on the server, not in the cookie


def test_unlocking_starts_a_new_session_too(app, tablet_case):
    device = signed_in_as(app, "tess")
    hand_over(device, tablet_case.id)
    copied_while_locked = copy_of(app, device)
    assert unlock(device, Factory.PASSWORD).status_code == 302
    assert device.get("/staff/cases").status_code == 200
    assert is_signed_out(copied_while_locked.get("/staff/cases"))
    assert [row.end_reason for row in sessions_of(therapist_id())] == ["hand_over", "unlock", None]


def test_five_wrong_unlock_passwords_end_the_childs_link(app, tablet_case):
    device = signed_in_as(app, "tess")
    child_url = hand_over(device, tablet_case.id)
    assert device.get(child_url).status_code == 200  # opened on the device: it is in its history
    for _ in range(5):
        response = unlock(device, "not the password")
    assert is_signed_out(response)
    again = app.test_client().get(child_url)
    assert again.status_code == 404 and "Pappa slår mig." not in again.text
    db.session.remove()
    link = db.session.scalar(select(ChildLink))
    assert link.revoked_at is not None and link.used_at is None
    revoked = [e for e in actions() if e.action == "revoke_link"]
    assert [e.target for e in revoked] == [f"link:{link.id}"] and revoked[0].case_id == tablet_case.id
    assert sessions_of(therapist_id())[-1].end_reason == "unlock_failed"


def test_an_idle_locked_session_ends_the_childs_link(app, tablet_case):
    device = signed_in_as(app, "tess")
    child_url = hand_over(device, tablet_case.id)
    move_last_seen_back(therapist_id(), idle_limit(app) + timedelta(minutes=1))
    assert is_signed_out(device.get("/staff/cases"))
    assert app.test_client().get(child_url).status_code == 404
    db.session.remove()
    assert db.session.scalar(select(ChildLink)).revoked_at is not None
    assert sessions_of(therapist_id())[-1].end_reason == "idle"


def test_the_hand_over_link_expires_when_the_lock_goes_idle(app, tablet_case):
    """Even if nobody asks for a staff page on the device again, the link is over when its locked
    session is: a locked session is never refreshed."""
    hand_over(signed_in_as(app, "tess"), tablet_case.id)
    db.session.remove()
    link = db.session.scalar(select(ChildLink))
    assert link.expires_at - link.created_at <= idle_limit(app)


def test_an_answered_link_stays_answered_when_the_lock_ends(app, tablet_case):
    device = signed_in_as(app, "tess")
    child_url = hand_over(device, tablet_case.id)
    db.session.remove()
    problem_ids = [p.id for p in db.session.get(type(tablet_case), tablet_case.id).problems]
    child_posts(device, child_url.rsplit("/", 1)[1], {pid: "5" for pid in problem_ids})
    for _ in range(5):
        unlock(device, "wrong")
    db.session.remove()
    link = db.session.scalar(select(ChildLink))
    assert link.used_at is not None and link.revoked_at is None


# --- The admin ends a user's sessions -----------------------------------------------------------


def test_an_admin_ends_all_sessions_of_a_user(app, make, admin):
    user = make.user("therapist", username="tove")
    laptop, phone = signed_in_as(app, "tove"), signed_in_as(app, "tove")
    page = admin.get("/staff/admin/users")
    assert "2 sessions" in page.text
    action = f"/staff/admin/users/{user.id}/sessions/end"
    assert f'action="{action}"' in page.text
    assert admin.post(action).status_code == 400  # no CSRF token: nothing ends
    assert laptop.get("/staff/cases").status_code == 200

    response = admin_posts(admin, action)
    assert response.status_code == 302
    assert "signed out everywhere (2 sessions ended)" in admin.get("/staff/admin/users").text
    assert is_signed_out(laptop.get("/staff/cases")) and is_signed_out(phone.get("/staff/cases"))
    assert admin.get("/staff/admin/users").status_code == 200  # the admin's own session goes on
    assert [row.end_reason for row in sessions_of(user.id)] == ["admin", "admin"]
    [event] = [e for e in actions() if e.action == "end_sessions"]
    assert event.target == f"user:{user.id}" and event.user_id != user.id


def test_an_admin_of_another_organisation_gets_404(app, make, admin):
    user = make.user("therapist", username="tove")
    victim = signed_in_as(app, "tove")
    make.outsider("admin", "otherboss")
    stranger = signed_in_as(app, "otherboss")
    assert admin_posts(stranger, f"/staff/admin/users/{user.id}/sessions/end").status_code == 404
    assert victim.get("/staff/cases").status_code == 200
    assert not any(e.action == "end_sessions" for e in actions())
    # The user's own organisation's admin can.
    assert admin_posts(admin, f"/staff/admin/users/{user.id}/sessions/end").status_code == 302
    assert is_signed_out(victim.get("/staff/cases"))


def test_an_admin_ending_their_own_keeps_this_one(app, make, admin):
    boss_id = db.session.scalar(select(User.id).where(User.username == "boss"))
    elsewhere = signed_in_as(app, "boss")
    page = admin.get("/staff/admin/users")
    assert "End my other sessions" in page.text
    assert admin_posts(admin, f"/staff/admin/users/{boss_id}/sessions/end").status_code == 302
    page = admin.get("/staff/admin/users")
    assert page.status_code == 200 and "1 other session of yours is ended." in page.text
    assert is_signed_out(elsewhere.get("/staff/admin/users"))
    assert [row.end_reason for row in sessions_of(boss_id)] == [None, "admin"]

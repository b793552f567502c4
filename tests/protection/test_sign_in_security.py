"""Staff sign-in hardening: two-factor codes (TOTP) and recovery codes, two-factor required by
configuration, the admin's reset, lockout with backoff, the password minimum, and rate limits on
sign-in and on the child's links (in memory and shared through Redis)."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from kidrate.config import ConfigError, load_settings
from kidrate.extensions import db
from kidrate.models import AuditEvent, User, utcnow
from kidrate.protection import two_factor

from ..conftest import csrf_token, english, post_form, session_of, sign_in
from ..factories import Factory

WRONG = "Wrong username or password. After several failed attempts in a row, signing in pauses for a while."
CODE_WRONG = "The code is not right. After several failed attempts in a row, signing in pauses for a while."
FLASH = re.compile(r'<p class="(?:flash|error)[^"]*"[^>]*>([^<]*)</p>')




def fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def events(action: str, user_id: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps_ahead * two_factor.STEP_SECONDS)


def messages(response) -> list[str]:
    return [m.strip() for m in FLASH.findall(response.text)]


def enter_code(client, code: str):
    page = client.get("/staff/sign-in/code")
    assert page.status_code == 200, page.status_code
    return client.post("/staff/sign-in/code", data={"csrf_token": csrf_token(page.text), "code": code})


def full_sign_in(client, username: str, code: str):
    response = sign_in(client, username)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in/code"
    return enter_code(client, code)


def require_totp(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "KIDRATE", dataclasses.replace(app.config["KIDRATE"], require_totp=True))


# --- The rules, as pure functions ----------------------------------------------------------------


@pytest.mark.parametrize(("failures", "minutes"), [
    (1, None), (4, None), (5, 15), (6, None), (9, None), (10, 30), (15, 60), (20, 120), (35, 960),
    (40, 1440), (45, 1440), (10**6, 1440),
])
def test_lock_doubles_at_every_fifth_failure_up_to_a_day(failures, minutes):
    lock = two_factor.lock_for(failures)
    assert (None if lock is None else lock / timedelta(minutes=1)) == minutes


def test_a_code_is_accepted_once_and_never_an_older_one():
    secret = two_factor.new_secret()
    now = time.time()
    step = int(now) // 30
    code = pyotp.TOTP(secret).at(now)
    assert two_factor.matching_step(secret, code, now, None) == step
    assert two_factor.matching_step(secret, code, now, step) is None  # replay
    assert two_factor.matching_step(secret, pyotp.TOTP(secret).at(now - 30), now, step) is None  # older
    assert two_factor.matching_step(secret, pyotp.TOTP(secret).at(now + 30), now, step) == step + 1  # drift
    assert two_factor.matching_step(secret, pyotp.TOTP(secret).at(now - 300), now, None) is None  # too old
    for bad in ("", "12345", "1234567", "abcdef", "12 34 56"):
        assert two_factor.matching_step(secret, bad, now, None) is None


def test_recovery_codes_are_high_entropy_hashed_and_used_once():
    codes = two_factor.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", c) for c in codes)
    hashes = [two_factor.recovery_hash(c) for c in codes]
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    typed = codes[3].lower().replace("-", " ")  # as a person might type it
    left = two_factor.use_recovery_code(hashes, typed)
    assert left is not None and len(left) == 9 and two_factor.recovery_hash(codes[3]) not in left
    assert two_factor.use_recovery_code(left, codes[3]) is None
    assert two_factor.use_recovery_code(hashes, "AAAA-AAAA-AAAA-AAAA") is None
    assert two_factor.use_recovery_code([], codes[0]) is None


# --- Enrolment and signing in with a code ---------------------------------------------------------


def test_enrol_from_the_profile_then_sign_in_with_a_code(app, make):
    """The profile leads to set-up: a QR code and the key as text; a wrong code switches nothing on;
    the right one does, shows ten recovery codes once and stores only their hashes. The next
    sign-in asks for a code after the password."""
    user = make.user("therapist", username="tove")
    client = app.test_client()
    assert sign_in(client, "tove").status_code == 302
    assert 'href="/staff/profile/two-factor"' in client.get("/staff/profile").text
    page = client.get("/staff/profile/two-factor")
    assert page.status_code == 200
    assert '<svg viewBox=' in page.text and 'class="qr"' in page.text and "style=" not in page.text
    secret = fresh(user.id).totp_secret
    assert secret and two_factor.grouped(secret) in page.text
    assert client.get("/staff/profile/two-factor").text.count(two_factor.grouped(secret)) == 1  # same key on reload
    assert fresh(user.id).totp_secret == secret

    wrong = post_form(client, "/staff/profile/two-factor", "/staff/profile/two-factor", {"code": "000000"})
    assert wrong.status_code == 400 and "That code is not right." in wrong.text
    assert fresh(user.id).totp_enabled_at is None

    done = post_form(client, "/staff/profile/two-factor", "/staff/profile/two-factor", {"code": code_at(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", done.text)
    assert len(codes) == 10
    stored = fresh(user.id)
    assert stored.totp_enabled_at is not None and stored.totp_last_step is not None
    assert sorted(stored.recovery_codes) == sorted(two_factor.recovery_hash(c) for c in codes)
    assert not any(c in str(stored.recovery_codes) for c in codes)
    assert len(events("totp_enrolled", user.id)) == 1
    assert client.get("/staff/cases").status_code == 200  # this session goes on
    assert "Manage two-factor sign-in" in client.get("/staff/profile").text

    other = app.test_client()
    response = sign_in(other, "tove")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in/code"
    assert "uid" not in session_of(other)
    response = enter_code(other, code_at(secret, 1))  # the enrolment used up the current step
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert session_of(other)["uid"] == user.id
    assert other.get("/staff/cases").status_code == 200
    signed_in = events("sign_in", user.id)
    assert [e.target for e in signed_in] == ["password", "totp"]


def test_half_signed_in_is_not_signed_in_and_expires(app, make):
    """After the password alone no staff page opens; the code step expires after five minutes and
    goes back to the password."""
    make.user_with_totp("social_worker", username="sara")
    client = app.test_client()
    english(client)
    sign_in(client, "sara")
    assert "pending" in session_of(client) and "uid" not in session_of(client)
    for path in ("/staff/", "/staff/cases", "/staff/profile", "/staff/profile/two-factor"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"], path
    assert client.post("/staff/cases/new", data={"csrf_token": csrf_token(client.get("/staff/sign-in").text)}
                       ).status_code == 401
    with client.session_transaction() as s:
        s["pending"] = {**s["pending"], "at": s["pending"]["at"] - 301}
    response = client.get("/staff/sign-in/code")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in"
    assert "pending" not in session_of(client)
    # With no password given at all, the code step is not there either.
    assert app.test_client().get("/staff/sign-in/code").status_code == 302


def test_the_next_page_survives_the_code_step(app, make):
    _user, secret, _codes = make.user_with_totp("social_worker", username="sara")
    client = app.test_client()
    page = client.get("/staff/sign-in?next=/staff/profile")
    response = client.post("/staff/sign-in?next=/staff/profile", data={
        "csrf_token": csrf_token(page.text), "username": "sara", "password": Factory.PASSWORD})
    assert response.headers["Location"] == "/staff/sign-in/code"
    response = enter_code(client, code_at(secret))
    assert response.status_code == 302 and response.headers["Location"] == "/staff/profile"


def test_wrong_code_is_refused_and_counted(app, make):
    user, secret, _codes = make.user_with_totp("therapist", username="tove")
    client = app.test_client()
    sign_in(client, "tove")
    right = code_at(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = enter_code(client, wrong)
    assert response.status_code == 400 and CODE_WRONG in response.text
    assert "uid" not in session_of(client)
    assert fresh(user.id).failed_sign_ins == 1
    failed = events("sign_in_failed", user.id)
    assert [e.target for e in failed] == ["code"]
    assert enter_code(client, "").status_code == 400  # an empty field is a form error, not an attempt
    assert fresh(user.id).failed_sign_ins == 1
    assert enter_code(client, right).status_code == 302
    assert fresh(user.id).failed_sign_ins == 0


@pytest.mark.parametrize("typed", ["١٢٣٤٥٦", "１２３４５６", "\x00" * 6, "😀😀😀", "ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ",
                                   "9" * 40, "9" * 41, "<script>", "' OR 1=1 --"])
def test_odd_codes_are_refused_cleanly(app, make, typed):
    """Whatever is typed as a code gets a 400 with a message: never a 500, never a sign-in."""
    make.user_with_totp("therapist", username="tove")
    client = app.test_client()
    english(client)
    sign_in(client, "tove")
    response = enter_code(client, typed)
    assert response.status_code == 400 and '<p class="error">' in response.text
    assert "uid" not in session_of(client)


def test_digits_of_other_scripts_count_as_digits(app, make):
    _user, secret, _codes = make.user_with_totp("therapist", username="tove")
    arabic = code_at(secret).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert full_sign_in(app.test_client(), "tove", arabic).status_code == 302


def test_a_code_is_not_accepted_twice(app, make):
    _user, secret, _codes = make.user_with_totp("therapist", username="tove")
    code = code_at(secret)
    assert full_sign_in(app.test_client(), "tove", code).status_code == 302
    again = app.test_client()
    response = full_sign_in(again, "tove", code)
    assert response.status_code == 400 and CODE_WRONG in response.text
    assert "uid" not in session_of(again)
    assert enter_code(again, code_at(secret, 1)).status_code == 302


def test_a_recovery_code_works_once(app, make):
    user, _secret, codes = make.user_with_totp("therapist", username="tove")
    client = app.test_client()
    english(client)
    response = full_sign_in(client, "tove", "  " + codes[0].lower() + " ")
    assert response.status_code == 302
    assert "9 are left" in client.get(response.headers["Location"], follow_redirects=True).text
    assert len(fresh(user.id).recovery_codes) == 9
    assert len(events("recovery_code_used", user.id)) == 1
    assert [e.target for e in events("sign_in", user.id)] == ["recovery"]
    again = app.test_client()
    assert full_sign_in(again, "tove", codes[0]).status_code == 400
    assert "uid" not in session_of(again)
    assert full_sign_in(app.test_client(), "tove", codes[1]).status_code == 302
    assert len(fresh(user.id).recovery_codes) == 8


def test_cancel_ends_the_half_signed_in_state(app, make):
    make.user_with_totp("therapist", username="tove")
    client = app.test_client()
    sign_in(client, "tove")
    page = client.get("/staff/sign-in/code")
    assert 'action="/staff/sign-in/cancel"' in page.text
    response = client.post("/staff/sign-in/cancel", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and "pending" not in session_of(client)
    assert client.get("/staff/sign-in/code").status_code == 302
    assert app.test_client().post("/staff/sign-in/cancel").status_code == 400  # CSRF


# --- Turning off, new recovery codes --------------------------------------------------------------


def test_turning_off_needs_a_valid_code(app, make):
    user, secret, _codes = make.user_with_totp("analyst", username="ana")
    client = app.test_client()
    assert full_sign_in(client, "ana", code_at(secret)).status_code == 302
    page = client.get("/staff/profile/two-factor")
    assert page.status_code == 200 and "10 unused recovery codes" in page.text
    token = csrf_token(page.text)
    response = client.post("/staff/profile/two-factor/off", data={"off-csrf_token": token, "off-code": "123456"})
    assert response.status_code == 400 and "The code is not right." in response.text
    assert fresh(user.id).totp_enabled_at is not None
    response = client.post("/staff/profile/two-factor/off", data={"off-csrf_token": token, "off-code": ""})
    assert response.status_code == 400 and fresh(user.id).totp_enabled_at is not None
    response = client.post("/staff/profile/two-factor/off",
                           data={"off-csrf_token": token, "off-code": code_at(secret, 1)})
    assert response.status_code == 302
    stored = fresh(user.id)
    assert stored.totp_enabled_at is None and stored.totp_secret is None and stored.recovery_codes == []
    assert len(events("totp_disabled", user.id)) == 1
    assert client.get("/staff/cases").status_code in (200, 403)  # still signed in
    assert client.get("/staff/profile").status_code == 200
    assert sign_in(app.test_client(), "ana").headers["Location"] == "/staff/"


def test_cannot_turn_off_when_required(app, make, monkeypatch):
    user, secret, _codes = make.user_with_totp("analyst", username="ana")
    require_totp(app, monkeypatch)
    client = app.test_client()
    assert full_sign_in(client, "ana", code_at(secret)).status_code == 302
    page = client.get("/staff/profile/two-factor")
    assert "off-code" not in page.text
    response = client.post("/staff/profile/two-factor/off",
                           data={"off-csrf_token": csrf_token(page.text), "off-code": code_at(secret, 1)})
    assert response.status_code == 302
    assert fresh(user.id).totp_enabled_at is not None
    assert events("totp_disabled") == []


def test_new_recovery_codes_need_a_code_and_replace_the_old(app, make):
    user, secret, old_codes = make.user_with_totp("admin", username="boss")
    client = app.test_client()
    assert full_sign_in(client, "boss", code_at(secret)).status_code == 302
    token = csrf_token(client.get("/staff/profile/two-factor").text)
    response = client.post("/staff/profile/two-factor/recovery-codes",
                           data={"codes-csrf_token": token, "codes-code": "999999"})
    assert response.status_code == 400
    assert sorted(fresh(user.id).recovery_codes) == sorted(two_factor.recovery_hash(c) for c in old_codes)
    response = client.post("/staff/profile/two-factor/recovery-codes",
                           data={"codes-csrf_token": token, "codes-code": old_codes[5]})
    assert response.status_code == 200
    new_codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", response.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert sorted(fresh(user.id).recovery_codes) == sorted(two_factor.recovery_hash(c) for c in new_codes)
    assert len(events("recovery_codes_renewed", user.id)) == 1
    assert full_sign_in(app.test_client(), "boss", old_codes[0]).status_code == 400
    assert full_sign_in(app.test_client(), "boss", new_codes[0]).status_code == 302


# --- Two-factor required by configuration ---------------------------------------------------------


def test_required_two_factor_forces_enrolment_and_nothing_else(app, make, monkeypatch):
    user = make.user("social_worker", username="sara")
    before = app.test_client()
    assert sign_in(before, "sara").status_code == 302  # signed in before it was required
    require_totp(app, monkeypatch)
    response = before.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]

    client = app.test_client()
    response = sign_in(client, "sara")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in/two-factor"
    assert "uid" not in session_of(client)
    token = csrf_token(client.get("/staff/sign-in/two-factor").text)
    for path in ("/staff/", "/staff/cases", "/staff/profile", "/staff/profile/two-factor", "/staff/handovers"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"], path
    for path in ("/staff/cases/new", "/staff/profile/two-factor", "/staff/profile/two-factor/off"):
        assert client.post(path, data={"csrf_token": token}).status_code == 401, path
    assert client.get("/staff/sign-in/code").status_code == 302

    page = client.get("/staff/sign-in/two-factor")
    assert page.status_code == 200 and 'class="qr"' in page.text
    assert 'action="/staff/sign-in/cancel"' in page.text
    secret = fresh(user.id).totp_secret
    response = client.post("/staff/sign-in/two-factor", data={"csrf_token": csrf_token(page.text), "code": "000000"})
    assert response.status_code == 400 and "uid" not in session_of(client)
    response = client.post("/staff/sign-in/two-factor",
                           data={"csrf_token": csrf_token(page.text), "code": code_at(secret)})
    assert response.status_code == 200
    assert len(re.findall(r"<code>([A-Z2-7-]{19})</code>", response.text)) == 10
    assert session_of(client)["uid"] == user.id
    assert client.get("/staff/cases").status_code == 200
    assert len(events("totp_enrolled", user.id)) == 1

    # From now on the password alone is not enough.
    assert sign_in(app.test_client(), "sara").headers["Location"] == "/staff/sign-in/code"


def test_required_enrolment_expires(app, make, monkeypatch):
    make.user("social_worker", username="sara")
    require_totp(app, monkeypatch)
    client = app.test_client()
    sign_in(client, "sara")
    with client.session_transaction() as s:
        s["pending"] = {**s["pending"], "at": s["pending"]["at"] - 16 * 60}
    assert client.get("/staff/sign-in/two-factor").status_code == 302


# --- The admin's reset ----------------------------------------------------------------------------


def test_admin_resets_a_lost_phone(app, make):
    user, secret, _codes = make.user_with_totp("therapist", username="tove")
    victim = app.test_client()
    assert full_sign_in(victim, "tove", code_at(secret)).status_code == 302
    make.user("admin", username="boss")
    admin = app.test_client()
    assert sign_in(admin, "boss").status_code == 302
    page = admin.get("/staff/admin/users")
    assert f'action="/staff/admin/users/{user.id}/two-factor-reset"' in page.text
    response = admin.post(f"/staff/admin/users/{user.id}/two-factor-reset", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    stored = fresh(user.id)
    assert (stored.totp_secret, stored.totp_enabled_at, stored.totp_last_step, stored.recovery_codes) == (
        None, None, None, [])
    reset = events("totp_reset")
    assert len(reset) == 1 and reset[0].target == f"user:{user.id}" and reset[0].user_id != user.id
    assert victim.get("/staff/cases").status_code == 302  # that session has ended
    assert sign_in(app.test_client(), "tove").headers["Location"] == "/staff/"  # set it up again later
    assert admin.post(f"/staff/admin/users/{user.id}/two-factor-reset").status_code == 400  # CSRF


# --- Lockout --------------------------------------------------------------------------------------


def test_five_failures_lock_with_the_same_message_as_a_wrong_password(app, make):
    user = make.user("social_worker", username="sara")
    make.user("social_worker", username="other")
    client = app.test_client()
    english(client)
    for _ in range(5):
        response = sign_in(client, "sara", "not the password at all")
        assert response.status_code == 400 and messages(response) == [WRONG]
    stored = fresh(user.id)
    assert stored.failed_sign_ins == 5
    assert utcnow() + timedelta(minutes=14) < stored.locked_until < utcnow() + timedelta(minutes=16)
    locked = events("sign_in_locked", user.id)
    assert len(locked) == 1 and locked[0].target == "minutes:15"

    right_but_locked = sign_in(client, "sara")
    unknown = sign_in(client, "nobody-at-all")
    for response in (right_but_locked, unknown):
        assert response.status_code == 400 and messages(response) == [WRONG]
        assert "uid" not in session_of(client)
    assert right_but_locked.text.replace(csrf_token(right_but_locked.text), "") == \
        unknown.text.replace(csrf_token(unknown.text), "").replace("nobody-at-all", "sara")
    assert fresh(user.id).failed_sign_ins == 5  # tries while locked do not add up
    assert events("sign_in_failed", user.id)[-1].target == "locked"
    assert sign_in(app.test_client(), "other").status_code == 302  # only that account


def test_lock_expires_and_success_resets(app, make):
    user = make.user("social_worker", username="sara")
    for _ in range(5):
        sign_in(app.test_client(), "sara", "wrong password here")
    db.session.execute(update(User).where(User.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert sign_in(app.test_client(), "sara").status_code == 302
    stored = fresh(user.id)
    assert stored.failed_sign_ins == 0 and stored.locked_until is None


def test_an_admin_lifts_a_lock_early(app, make):
    user = make.user("therapist", username="tove")
    for _ in range(5):
        sign_in(app.test_client(), "tove", "wrong password!")
    assert fresh(user.id).locked_until is not None
    assert sign_in(app.test_client(), "tove").status_code == 400  # locked: the right password fails too
    make.user("admin", username="boss")
    admin = app.test_client()
    assert sign_in(admin, "boss").status_code == 302
    page = admin.get("/staff/admin/users")
    assert f'action="/staff/admin/users/{user.id}/unlock"' in page.text
    assert admin.post(f"/staff/admin/users/{user.id}/unlock").status_code == 400  # CSRF
    assert admin.post(f"/staff/admin/users/{user.id}/unlock",
                      data={"csrf_token": csrf_token(page.text)}).status_code == 302
    stored = fresh(user.id)
    assert stored.locked_until is None and stored.failed_sign_ins == 0
    assert [e.target for e in events("sign_in_unlocked")] == [f"user:{user.id}"]
    assert sign_in(app.test_client(), "tove").status_code == 302
    assert f'action="/staff/admin/users/{user.id}/unlock"' not in admin.get("/staff/admin/users").text


def test_lock_doubles_when_failures_go_on(app, make):
    user = make.user("social_worker", username="sara")
    for _ in range(5):
        sign_in(app.test_client(), "sara", "wrong password here")
    for _ in range(5):  # after the first lock has run out
        db.session.execute(update(User).where(User.id == user.id).values(locked_until=None))
        db.session.commit()
        sign_in(app.test_client(), "sara", "wrong password here")
    stored = fresh(user.id)
    assert stored.failed_sign_ins == 10
    assert utcnow() + timedelta(minutes=29) < stored.locked_until < utcnow() + timedelta(minutes=31)


def test_wrong_codes_lock_too(app, make):
    user, secret, codes = make.user_with_totp("therapist", username="tove")
    client = app.test_client()
    sign_in(client, "tove")
    for _ in range(5):
        assert enter_code(client, "000000").status_code == 400
    assert fresh(user.id).locked_until is not None
    response = enter_code(client, code_at(secret))
    assert response.status_code == 400 and CODE_WRONG in response.text and "uid" not in session_of(client)
    assert enter_code(client, codes[0]).status_code == 400
    assert len(fresh(user.id).recovery_codes) == 10  # a locked account spends no recovery code
    assert fresh(user.id).totp_last_step is None


def test_unknown_user_is_checked_against_a_dummy_hash(app, make, monkeypatch):
    """No account, no password, deactivated: argon2 verifies all the same, so timing tells nothing."""
    from argon2 import PasswordHasher

    calls = []
    original = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(h) or original(self, h, p))
    make.user("social_worker", username="sara")
    sign_in(app.test_client(), "nobody")
    sign_in(app.test_client(), "sara", "wrong password here")
    assert len(calls) == 2 and all(h.startswith("$argon2") for h in calls)


# --- Passwords of at least 12 characters ----------------------------------------------------------


@pytest.mark.parametrize("purpose", ["invite", "reset"])
def test_a_password_needs_twelve_characters(app, make, purpose):
    from kidrate.protection.accounts import account_link_token

    user = make.user("social_worker", username="nina")
    with app.test_request_context():
        url = f"/staff/{purpose}/{account_link_token(user, purpose)}"
    client = app.test_client()
    english(client)
    before = fresh(user.id).password_hash
    response = post_form(client, url, url, {"password": "elevenchars", "repeat": "elevenchars"})
    assert response.status_code == 400 and "Use at least 12 characters." in response.text
    assert fresh(user.id).password_hash == before
    response = post_form(client, url, url, {"password": "twelve chars", "repeat": "twelve chars"})
    assert response.status_code == 302
    assert sign_in(app.test_client(), "nina", "twelve chars").status_code == 302


# --- Rate limits ----------------------------------------------------------------------------------


def test_a_bad_limit_is_a_config_error(tmp_path):
    for name in ("KIDRATE_SIGN_IN_LIMIT", "KIDRATE_CHILD_LIMIT"):
        for bad in ("ten a minute", "10 per fortnight", "0 per minute", ""):
            with pytest.raises(ConfigError, match=name):
                load_settings({name: bad}, secret_key="k" * 40, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="KIDRATE_REDIS_URL"):
        load_settings({"KIDRATE_REDIS_URL": "http://127.0.0.1:6379"}, secret_key="k" * 40, instance_path=tmp_path)
    ok = load_settings({"KIDRATE_SIGN_IN_LIMIT": "5/minute; 100 per day"}, secret_key="k" * 40, instance_path=tmp_path)
    assert ok.sign_in_limit == "5/minute; 100 per day"


def sign_in_posts(client, n: int, **kwargs) -> list:
    token = csrf_token(client.get("/staff/sign-in").text)
    return [client.post("/staff/sign-in", data={"csrf_token": token, "username": "nobody", "password": "x" * 12},
                        **kwargs) for _ in range(n)]


def test_sign_in_is_rate_limited_per_address(small_app, make):
    limited = small_app()
    make.user("social_worker", username="sara")
    client = limited.test_client()
    english(client)
    responses = sign_in_posts(client, 4)
    assert [r.status_code for r in responses] == [400, 400, 400, 429]
    refused = responses[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts" in refused.text and "Wait a minute and try again." in refused.text
    assert refused.headers["Content-Security-Policy"] and refused.headers["Cache-Control"] == "no-store"
    # Even the right password waits; showing the form does not count.
    assert sign_in(client, "sara").status_code == 429
    assert client.get("/staff/sign-in").status_code == 200
    # Another address has its own count, and so do other forms.
    assert sign_in_posts(client, 1, environ_overrides={"REMOTE_ADDR": "203.0.113.7"})[0].status_code == 400
    other = limited.test_client()
    assert sign_in(other, "sara", Factory.PASSWORD).status_code == 429
    # X-Forwarded-For counts only from proxies KIDRATE_TRUSTED_PROXIES names (none here; test_proxy_trust.py).
    far = {"REMOTE_ADDR": "198.51.100.9"}
    statuses = [r.status_code for r in sign_in_posts(limited.test_client(), 4, environ_overrides=far,
                                                     headers={"X-Forwarded-For": "203.0.113.99"})]
    assert statuses == [400, 400, 400, 429]


def test_code_step_and_password_links_are_rate_limited(small_app, make):
    limited = small_app()
    user, _secret, _codes = make.user_with_totp("therapist", username="tove")
    client = limited.test_client()
    sign_in(client, "tove")
    token = csrf_token(client.get("/staff/sign-in/code").text)
    statuses = [client.post("/staff/sign-in/code", data={"csrf_token": token, "code": "000000"}).status_code
                for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert fresh(user.id).failed_sign_ins == 3  # the refused request never reached the check
    # Counted before the CSRF check: a request without a token costs as much as one with it.
    statuses = [client.post("/staff/invite/not-a-token", data={"password": "x"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_the_tablet_unlock_is_rate_limited_like_sign_in(small_app, make):
    """The device-unlock form takes a password too: it counts against the sign-in limit."""
    limited = small_app()
    make.user("therapist", username="tess")
    client = limited.test_client()
    assert sign_in(client, "tess").status_code == 302
    statuses = [client.post("/staff/unlock", data={"password": "x" * 12}).status_code for _ in range(4)]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429


def test_child_links_are_rate_limited_in_the_childs_language(small_app, make, caplog):
    limited = small_app()
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    token = make.link(make.case(sw, therapist=t))
    client = limited.test_client()
    caplog.set_level(logging.DEBUG)
    assert [client.get(f"/r/{token}").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(f"/r/{token}", headers={"Accept-Language": "ar"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert 'lang="ar"' in refused.text and "حدث خطأ" in refused.text  # "Something went wrong"
    assert "Set-Cookie" not in refused.headers
    # The page's own script waits and sends the answers again by itself.
    posts = [client.post(f"/r/{token}", headers={"Accept": "application/json"}, data={"x": "1"}) for _ in range(4)]
    assert [p.status_code for p in posts] == [400, 400, 400, 429]  # each route counts on its own
    assert posts[-1].get_json() == {"status": "retry"}
    # A different child's address is not held up; nor are the staff pages.
    assert client.get(f"/r/{token}", environ_overrides={"REMOTE_ADDR": "203.0.113.8"}).status_code == 200
    assert client.get("/staff/sign-in").status_code == 200
    assert token not in caplog.text
    assert "rate limit reached at child.questions" in caplog.text
    assert not [r for r in caplog.records if r.name == "flask-limiter"]  # it would name the address


def test_no_code_or_token_in_logs(small_app, make, caplog):
    limited = small_app(sign_in_limit="5 per minute")
    _user, secret, codes = make.user_with_totp("therapist", username="tove")
    caplog.set_level(logging.DEBUG)
    client = limited.test_client()
    used = code_at(secret)
    assert full_sign_in(client, "tove", used).status_code == 302
    other = limited.test_client()
    assert full_sign_in(other, "tove", "123456").status_code == 400
    assert enter_code(other, codes[2]).status_code == 302
    third = limited.test_client()
    sign_in(third, "tove")
    statuses = [enter_code(third, "000000").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    for secret_text in (used, secret, codes[2], codes[2].replace("-", ""), Factory.PASSWORD):
        assert secret_text not in caplog.text
    stored = " ".join(f"{e.action} {e.target}" for e in db.session.scalars(select(AuditEvent)))
    assert used not in stored and codes[2] not in stored and "tove" not in stored


# --- Shared counts through Redis -----------------------------------------------------------------

REDIS_URL = os.environ.get("KIDRATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own (it follows from the secret key); only its keys are removed."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    secret_key = f"redis-test-{uuid.uuid4().hex}-{'x' * 16}"
    from hashlib import sha256

    prefix = "kidrate-" + sha256(secret_key.encode()).hexdigest()[:12]
    yield secret_key, prefix, client
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_two_processes_share_the_count_through_redis(small_app, make, redis_prefix):
    secret_key, prefix, redis = redis_prefix
    first = small_app(secret_key=secret_key, redis_url=REDIS_URL)
    second = small_app(secret_key=secret_key, redis_url=REDIS_URL)
    elsewhere = small_app(redis_url=REDIS_URL)  # another deployment on the same Redis
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    token = make.link(make.case(sw, therapist=t))

    assert [r.status_code for r in sign_in_posts(first.test_client(), 2)] == [400, 400]
    assert [r.status_code for r in sign_in_posts(second.test_client(), 2)] == [400, 429]
    assert sign_in_posts(first.test_client(), 1)[0].status_code == 429
    assert sign_in_posts(elsewhere.test_client(), 1)[0].status_code == 400

    assert [first.test_client().get(f"/r/{token}").status_code for _ in range(2)] == [200, 200]
    assert second.test_client().get(f"/r/{token}").status_code == 200
    refused = second.test_client().get(f"/r/{token}")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60

    keys = [k.decode() for k in redis.scan_iter(match=f"*{prefix}*")]
    assert keys and not any(token in k for k in keys)
    assert {k.split("/")[-4] for k in keys} == {"staff.sign_in", "child.questions"}


def test_redis_away_falls_back_to_counting_in_memory(small_app, make):
    """With Redis gone, sign-in still works and is still limited (per process)."""
    limited = small_app(redis_url="redis://127.0.0.1:1/0")
    make.user("social_worker", username="sara")
    statuses = [r.status_code for r in sign_in_posts(limited.test_client(), 4)]
    assert statuses == [400, 400, 400, 429]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "sign_in_failed")) == 3

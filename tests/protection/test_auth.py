"""Staff sign-in and accounts: passwords, sessions, redirects after sign-in, CSRF, invitations,
password resets, deactivation, new-user validation and the session cookie's flags."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from kidrate import create_app
from kidrate.config import load_settings
from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, User
from kidrate.protection.accounts import account_link_token, hash_password

from ..conftest import csrf_token, english, post_form, session_of, sign_in
from ..factories import Factory

WRONG = "Wrong username or password."
NEW_PASSWORD = "a long new passphrase"
ACCOUNT_LINK = re.compile(r'value="http://localhost(/staff/(?:invite|reset)/[^"]+)"')




def invited(make, role: str = "social_worker", username: str = "invitee") -> User:
    """A user who has been invited but has not chosen a password yet."""
    user = make.user(role, username=username)
    db.session.get(User, user.id).password_hash = None
    db.session.commit()
    return db.session.get(User, user.id)


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def account_link(response) -> str:
    assert response.status_code == 200, response.status_code
    match = ACCOUNT_LINK.search(response.text)
    assert match, "no account link on the page"
    return match.group(1)


def set_password(client, url: str, password: str, repeat: str | None = None):
    return post_form(client, url, url, {"password": password, "repeat": password if repeat is None else repeat})


# --- Signing in ---------------------------------------------------------------------------------


def test_right_password_signs_in_and_goes_home(app, make):
    """The right password: a redirect to the start page, and the session names the user."""
    user = make.user("social_worker", username="sara")
    client = app.test_client()
    response = sign_in(client, "sara")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    assert session_of(client)["uid"] == user.id
    assert client.get("/staff/cases").status_code == 200
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "sign_in",
                                                        AuditEvent.user_id == user.id)) == 1


@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "deactivated", "invited"])
def test_failed_sign_in_says_the_same_and_is_audited_without_the_password(app, make, case):
    """Every failure gives the same message and status, sets no uid and audits no password."""
    make.user("social_worker", username="sara")
    make.user("social_worker", username="gone", active=False)
    invited(make, username="newbie")
    username, password = {
        "wrong_password": ("sara", "not the password at all"),
        "unknown_user": ("nobody", Factory.PASSWORD),
        "deactivated": ("gone", Factory.PASSWORD),
        "invited": ("newbie", "anything at all 123"),  # no password is set: nothing can match
    }[case]
    expected_uid = None if case == "unknown_user" else user_named(username).id
    client = app.test_client()
    english(client)
    response = sign_in(client, username, password)
    assert response.status_code == 400
    assert WRONG in response.text
    assert "uid" not in session_of(client)
    assert client.get("/staff/cases").status_code == 302
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")))
    assert len(events) == 1
    assert events[0].user_id == expected_uid
    stored = " ".join(str(getattr(events[0], c.key)) for c in AuditEvent.__table__.columns)
    assert password not in stored


def test_sign_in_clears_the_session(app, make):
    """Whatever was in the session before signing in is gone after it (no session fixation)."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    with client.session_transaction() as s:
        s["stale"] = "left by someone else"
        s["uid"] = 999_999
    assert sign_in(client, "sara").status_code == 302
    session = session_of(client)
    assert "stale" not in session
    assert session["uid"] == user_named("sara").id


def test_sign_out_clears_the_session(app, make):
    """Signing out (a POST with CSRF) ends the session: the next page asks to sign in again."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    response = post_form(client, "/staff/profile", "/staff/sign-out")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")
    assert "uid" not in session_of(client)
    response = client.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_sign_out_needs_csrf(app, make):
    """A sign-out without the CSRF token (a cross-site POST) is refused and signs nobody out."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    assert client.post("/staff/sign-out").status_code == 400
    assert client.get("/staff/cases").status_code == 200


def browser_host(location: str) -> str:
    """The host a browser would go to: it drops tabs and newlines and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/sign-in", cleaned)).netloc


@pytest.mark.parametrize(("target", "expected"), [
    ("/staff/profile", "/staff/profile"),
    ("/staff/cases?q=BOU", "/staff/cases?q=BOU"),
    ("https://evil.example/", "/staff/"),
    ("//evil.example", "/staff/"),
    ("///evil.example", "/staff/"),
    ("javascript:alert(1)", "/staff/"),
    ("profile", "/staff/"),
    ("/\\evil.example", None),  # browsers read /\ as //
    ("/\t/evil.example", None),  # browsers drop tabs from URLs
])
def test_next_is_followed_only_to_a_local_path(app, make, target, expected):
    """After sign-in, ?next= is followed only when it is a path on this site."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    page = client.get("/staff/sign-in", query_string={"next": target})
    response = client.post("/staff/sign-in", query_string={"next": target}, data={
        "csrf_token": csrf_token(page.text), "username": "sara", "password": Factory.PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    if expected is not None:
        assert location == expected
    assert browser_host(location) == "localhost", location


def test_a_page_asked_for_before_sign_in_is_shown_after_it(app, make):
    """An anonymous GET is sent to sign-in with next=, which then leads back to that page."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    response = client.get("/staff/profile")
    assert response.status_code == 302
    sign_in_url = response.headers["Location"]
    assert sign_in_url == "/staff/sign-in?next=/staff/profile"
    page = client.get(sign_in_url)
    response = client.post(sign_in_url, data={"csrf_token": csrf_token(page.text), "username": "sara",
                                              "password": Factory.PASSWORD})
    assert response.headers["Location"] == "/staff/profile"


# --- Sessions end ---------------------------------------------------------------------------------


def test_idle_session_is_signed_out(app, make):
    """A session unused for longer than the idle limit is ended at the next request."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    idle = app.config["KIDRATE"].idle_minutes * 60
    with client.session_transaction() as s:
        s["seen"] = int(time.time()) - idle + 60  # still inside the limit
    assert client.get("/staff/cases").status_code == 200
    with client.session_transaction() as s:
        s["seen"] = int(time.time()) - idle - 60
    response = client.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert "uid" not in session_of(client)
    assert client.get("/staff/cases").status_code == 302


def test_idle_session_cannot_post_either(app, make):
    """An idle session cannot change anything: a POST is refused, not carried out."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    token = csrf_token(client.get("/staff/profile").text)
    with client.session_transaction() as s:
        s["seen"] = int(time.time()) - app.config["KIDRATE"].idle_minutes * 60 - 60
    response = client.post("/staff/profile", data={"csrf_token": token, "locale": "sv"})
    assert response.status_code == 401
    assert user_named("sara").locale == "en"


def test_password_change_ends_other_sessions(app, make):
    """Changing the password in the database ends every session signed in with the old one."""
    user = make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    assert client.get("/staff/cases").status_code == 200
    with app.app_context():
        new_hash = hash_password(NEW_PASSWORD)
    db.session.get(User, user.id).password_hash = new_hash
    db.session.commit()
    response = client.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert "uid" not in session_of(client)


def test_role_change_ends_sessions(app, make):
    """A changed role also ends the session, so old rights do not linger."""
    user = make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    db.session.get(User, user.id).role = "analyst"
    db.session.commit()
    assert client.get("/staff/profile").status_code == 302


def test_forged_uid_in_a_session_is_not_enough(app, make):
    """A session naming a user without the matching fingerprint is not signed in."""
    user = make.user("social_worker", username="sara")
    client = app.test_client()
    with client.session_transaction() as s:
        s.update(uid=user.id, fp="0" * 32, seen=int(time.time()))
    assert client.get("/staff/cases").status_code == 302


# --- CSRF ---------------------------------------------------------------------------------------


def test_staff_post_without_csrf_is_refused_and_changes_nothing(app, make):
    """A signed-in POST without (or with a wrong) CSRF token gets 400, and no case is created."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    sign_in(client, "sara")
    data = {"case_ref": "BOU-2026-1", "age": "12", "gender": "boy", "child_language": "sv",
            "family_languages": ["sv"], "intervention_types": ["traditional"],
            "follow_up_date": (date.today() + timedelta(days=30)).isoformat()}
    assert client.post("/staff/cases/new", data=data).status_code == 400
    assert client.post("/staff/cases/new", data={**data, "csrf_token": "forged"}).status_code == 400
    assert db.session.scalar(select(func.count(Case.id))) == 0
    # The same form with the token does create the case, so the refusal above was the CSRF check.
    assert post_form(client, "/staff/cases/new", "/staff/cases/new", data).status_code == 302
    assert db.session.scalar(select(func.count(Case.id))) == 1


def test_sign_in_without_csrf_is_refused(app, make):
    """Even the sign-in form needs its CSRF token (no login CSRF)."""
    make.user("social_worker", username="sara")
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"username": "sara", "password": Factory.PASSWORD})
    assert response.status_code == 400
    assert "uid" not in session_of(client)


# --- Invitations and password resets ------------------------------------------------------------


@pytest.fixture
def admin_client(app, make):
    make.user("admin", username="boss")
    client = app.test_client()
    assert sign_in(client, "boss").status_code == 302
    return client


def test_invitation_sets_a_password_once(app, make, admin_client):
    """An admin invites; the link sets a password of 12+ characters once, then is dead."""
    unit = make.unit("authority")
    response = post_form(admin_client, "/staff/admin/users/new", "/staff/admin/users/new", {
        "username": "nina", "display_name": "Nina Nilsson", "role": "social_worker", "unit": str(unit.id)})
    url = account_link(response)
    assert url.startswith("/staff/invite/")
    nina = user_named("nina")
    assert nina.password_hash is None and nina.unit_id == unit.id and nina.role == "social_worker"

    guest = app.test_client()
    english(guest)
    page = guest.get(url)
    assert page.status_code == 200 and 'name="password"' in page.text and "nina" in page.text

    response = set_password(guest, url, "too short")
    assert response.status_code == 400 and "Use at least 12 characters." in response.text
    response = set_password(guest, url, NEW_PASSWORD, repeat=NEW_PASSWORD + "!")
    assert response.status_code == 400 and "The passwords do not match." in response.text
    assert user_named("nina").password_hash is None

    response = set_password(guest, url, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")
    assert user_named("nina").password_hash

    assert sign_in(app.test_client(), "nina", NEW_PASSWORD).status_code == 302
    assert guest.get(url).status_code == 404
    token = csrf_token(guest.get("/staff/sign-in").text)
    response = guest.post(url, data={"csrf_token": token, "password": "another passphrase",
                                     "repeat": "another passphrase"})
    assert response.status_code == 404
    assert sign_in(app.test_client(), "nina", NEW_PASSWORD).status_code == 302


def flip_first(token: str, at: int) -> str:
    """The token with one character changed (a leading one: a final base64 character may only carry
    padding bits, so changing it need not change the decoded signature)."""
    return token[:at] + ("B" if token[at] == "A" else "A") + token[at + 1:]


@pytest.mark.parametrize("tamper", [
    lambda t: flip_first(t, t.rindex(".") + 1),  # the signature
    lambda t: flip_first(t, 0),  # the payload
    lambda t: "not-a-token",
])
def test_tampered_invitation_is_404(app, make, tamper):
    """An invitation whose token was changed in any way is not found."""
    user = invited(make)
    with app.test_request_context():
        token = account_link_token(user, "invite")
    client = app.test_client()
    assert client.get(f"/staff/invite/{token}").status_code == 200
    assert client.get(f"/staff/invite/{tamper(token)}").status_code == 404


def test_link_for_one_purpose_does_not_work_for_the_other(app, make):
    """An invitation token is no password-reset token, and the reverse."""
    user = make.user("social_worker")
    with app.test_request_context():
        invite, reset = account_link_token(user, "invite"), account_link_token(user, "reset")
    client = app.test_client()
    assert client.get(f"/staff/reset/{invite}").status_code == 404
    assert client.get(f"/staff/invite/{reset}").status_code == 404


def test_expired_invitation_is_404(app, make, monkeypatch):
    """An invitation older than KIDRATE_INVITE_HOURS no longer works."""
    user = invited(make)
    max_age = app.config["KIDRATE"].invite_hours * 3600
    with app.test_request_context():
        fresh = account_link_token(user, "invite")
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - max_age - 60)
        expired = account_link_token(user, "invite")
        monkeypatch.undo()
    client = app.test_client()
    assert client.get(f"/staff/invite/{fresh}").status_code == 200
    assert client.get(f"/staff/invite/{expired}").status_code == 404
    token = csrf_token(client.get(f"/staff/invite/{fresh}").text)
    response = client.post(f"/staff/invite/{expired}", data={"csrf_token": token, "password": NEW_PASSWORD,
                                                       "repeat": NEW_PASSWORD})
    assert response.status_code == 404
    assert user_named("invitee").password_hash is None


def test_invitation_for_a_deactivated_user_is_404(app, make):
    """Deactivating an invited user kills the invitation."""
    user = invited(make)
    with app.test_request_context():
        token = account_link_token(user, "invite")
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert app.test_client().get(f"/staff/invite/{token}").status_code == 404


def test_password_reset_kills_the_old_password_and_sessions(app, make, admin_client):
    """A reset link sets a new password; the old one and every old session stop working."""
    user = make.user("therapist", username="tove")
    old = app.test_client()
    sign_in(old, "tove")
    assert old.get("/staff/cases").status_code == 200

    url = account_link(post_form(admin_client, "/staff/admin/users", f"/staff/admin/users/{user.id}/reset"))
    assert url.startswith("/staff/reset/")
    assert old.get("/staff/cases").status_code == 200  # issuing a link alone changes nothing

    guest = app.test_client()
    english(guest)
    assert guest.get(url).status_code == 200
    assert set_password(guest, url, "short").status_code == 400
    assert sign_in(app.test_client(), "tove").status_code == 302  # the old password still works

    response = set_password(guest, url, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")

    response = old.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert sign_in(app.test_client(), "tove", Factory.PASSWORD).status_code == 400
    assert sign_in(app.test_client(), "tove", NEW_PASSWORD).status_code == 302
    assert guest.get(url).status_code == 404
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "password_set",
                                                        AuditEvent.user_id == user.id)) == 1


# --- Administration of accounts -----------------------------------------------------------------


def test_deactivation_ends_the_users_session_and_sign_in(app, make, admin_client):
    """A deactivated user is signed out at once and cannot sign in again."""
    user = make.user("social_worker", username="sara")
    victim = app.test_client()
    sign_in(victim, "sara")
    assert victim.get("/staff/cases").status_code == 200

    response = post_form(admin_client, "/staff/admin/users", f"/staff/admin/users/{user.id}/active")
    assert response.status_code == 302
    assert user_named("sara").active is False

    response = victim.get("/staff/cases")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert sign_in(app.test_client(), "sara").status_code == 400
    assert "Deactivated" in admin_client.get("/staff/admin/users").text

    # Activating again lets the user sign in once more.
    post_form(admin_client, "/staff/admin/users", f"/staff/admin/users/{user.id}/active")
    assert sign_in(app.test_client(), "sara").status_code == 302


def test_admin_cannot_deactivate_themself(app, admin_client):
    """An admin's own account stays active, and the admin stays signed in."""
    boss = user_named("boss")
    response = post_form(admin_client, "/staff/admin/users", f"/staff/admin/users/{boss.id}/active")
    assert response.status_code == 302
    assert user_named("boss").active is True
    page = admin_client.get("/staff/admin/users")
    assert page.status_code == 200
    assert "You cannot deactivate your own account." in page.text


@pytest.mark.parametrize("username", ["Nina", "nina nilsson", "ni", "nina!", "ninå"])
def test_new_username_must_be_lower_case_without_spaces(app, make, admin_client, username):
    """Usernames are lower-case letters, digits and . _ - only; anything else is refused."""
    unit = make.unit("authority")
    response = post_form(admin_client, "/staff/admin/users/new", "/staff/admin/users/new", {
        "username": username, "display_name": "Nina", "role": "social_worker", "unit": str(unit.id)})
    assert response.status_code == 400
    assert '<p class="error">' in response.text
    assert "/staff/invite/" not in response.text
    assert db.session.scalar(select(func.count(User.id))) == 1  # only the admin


def test_bad_username_message(app, make, admin_client):
    """Upper case gets a message that says what is allowed."""
    response = post_form(admin_client, "/staff/admin/users/new", "/staff/admin/users/new", {
        "username": "Nina", "display_name": "Nina", "role": "analyst", "unit": "0"})
    assert response.status_code == 400
    assert "Use lower-case letters, digits and . _ - only." in response.text


def test_duplicate_username_is_refused(app, make, admin_client):
    """A username already taken (in any organisation) is refused with a message."""
    make.user("analyst", username="taken")
    response = post_form(admin_client, "/staff/admin/users/new", "/staff/admin/users/new", {
        "username": "taken", "display_name": "Someone else", "role": "analyst", "unit": "0"})
    assert response.status_code == 400
    assert "The username is taken." in response.text
    assert db.session.scalar(select(func.count(User.id)).where(User.username == "taken")) == 1


@pytest.mark.parametrize(("role", "kind", "ok"), [
    ("therapist", "authority", False),
    ("therapist", None, False),
    ("social_worker", "open_care", False),
    ("social_worker", None, False),
    ("therapist", "open_care", True),
    ("social_worker", "authority", True),
    ("analyst", None, True),
])
def test_unit_kind_must_fit_the_role(app, make, admin_client, role, kind, ok):
    """Social workers belong to an authority unit and therapists to an open-care unit."""
    unit_id = make.unit(kind).id if kind else 0
    response = post_form(admin_client, "/staff/admin/users/new", "/staff/admin/users/new", {
        "username": "newone", "display_name": "New One", "role": role, "unit": str(unit_id)})
    created = user_named("newone")
    if ok:
        assert response.status_code == 200 and "/staff/invite/" in response.text
        assert created is not None and created.role == role
    else:
        assert response.status_code == 400
        assert ('<p class="error">Social workers belong to an authority unit, therapists to an open-care unit.</p>'
                in response.text)
        assert created is None


# --- The session cookie ---------------------------------------------------------------------------


def session_cookie(response, name: str = "kidrate_session") -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def cookie_flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_session_cookie_is_http_only_and_same_site_lax(app, make):
    """The cookie set at sign-in is HttpOnly and SameSite=Lax; without HTTPS it is not Secure."""
    make.user("social_worker", username="sara")
    response = sign_in(app.test_client(), "sara")
    assert response.status_code == 302
    flags = cookie_flags(session_cookie(response))
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def https_app(app, database_url, tmp_path):
    """A second app on the same database with KIDRATE_HTTPS on. The database handle is global, so
    it is pointed back at the main app's engine afterwards."""
    original = db.engine
    db.session.remove()
    other = create_app(load_settings({}, database_url=database_url, secret_key="y" * 40, testing=True,
                                     https=True, instance_path=tmp_path))
    yield other
    db.session.remove()
    db.engine.dispose()
    db.engine = original
    db.session.configure(bind=original)


def test_with_https_the_cookie_is_secure_and_hsts_is_sent(https_app, make):
    """With KIDRATE_HTTPS the session cookie is Secure and every response carries HSTS."""
    make.user("social_worker", username="sara")
    client = https_app.test_client()
    base = "https://localhost"
    page = client.get(f"{base}/staff/sign-in")
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.post(f"{base}/staff/sign-in", headers={"Referer": f"{base}/staff/sign-in"}, data={
        "csrf_token": csrf_token(page.text), "username": "sara", "password": Factory.PASSWORD})
    assert response.status_code == 302, response.text
    flags = cookie_flags(session_cookie(response))
    assert {"secure", "httponly", "samesite=lax"} <= flags
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    home = client.get(f"{base}/staff/cases")
    assert home.status_code == 200
    assert "Strict-Transport-Security" in home.headers

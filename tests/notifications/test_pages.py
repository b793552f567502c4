"""Forgot password? by e-mail, the admin's view of e-mail, unread counts in the staff menu, marking a
handover read from the top of its page, and the e-mail settings."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from kidrate.config import ConfigError, load_settings
from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Closure, Organisation, OutboxMail, User, utcnow
from kidrate.red_thread import cases

from ..conftest import csrf_token, english, post_form, sign_in

FORGOT = "/staff/sign-in/forgot"


def ask_for_a_new_password(client, address: str):
    english(client)
    page = client.get(FORGOT)
    assert page.status_code == 200
    return client.post(FORGOT, data={"csrf_token": csrf_token(page.text), "email": address})


def answer_of(response) -> str:
    """The page's main text, without the form token (which differs per session)."""
    main = response.text[response.text.index('<main id="main">'):]
    return re.sub(r'value="[^"]*"', "", main)


# --- Forgot password? -------------------------------------------------------------------------------


def test_the_sign_in_page_links_to_forgot_password(app, mail_settings):
    client = app.test_client()
    assert f'href="{FORGOT}"' in client.get("/staff/sign-in").text


def test_forgot_password_mails_a_link_that_sets_a_new_password(app, make, smtp, mail_settings, send_mail):
    user = make.user("social_worker", email="sara@kommun.example")
    response = ask_for_a_new_password(app.test_client(), " Sara@Kommun.Example ")
    assert response.status_code == 200
    [row] = db.session.scalars(select(OutboxMail)).all()
    # Only who and which kind: the link is signed when the e-mail goes.
    assert (row.user_id, row.kind, row.about, row.last_error) == (user.id, "reset", None, None)
    db.session.remove()
    assert smtp.inbox.received == []  # the request never waits for the mail server

    send_mail()
    [received] = smtp.inbox.received
    assert received.to == ["sara@kommun.example"]
    assert user.username in received.text
    link = re.search(r"https://kidrate\.kommun\.example(/staff/reset/[\w.-]+)", received.body)
    assert link, received.text
    client = app.test_client()
    response = post_form(client, link.group(1), link.group(1),
                         {"password": "a brand new password", "repeat": "a brand new password"})
    assert response.status_code == 302
    assert sign_in(app.test_client(), user.username, "a brand new password").status_code == 302
    # The link worked once.
    assert app.test_client().get(link.group(1)).status_code == 404


def test_the_answer_is_the_same_whether_or_not_the_address_exists(app, make, smtp, mail_settings, send_mail):
    make.user("therapist", email="tove@kommun.example")
    make.user("therapist", email="gone@kommun.example", active=False)
    known = ask_for_a_new_password(app.test_client(), "tove@kommun.example")
    unknown = ask_for_a_new_password(app.test_client(), "nobody@kommun.example")
    deactivated = ask_for_a_new_password(app.test_client(), "gone@kommun.example")
    assert known.status_code == unknown.status_code == deactivated.status_code == 200
    assert answer_of(known) == answer_of(unknown) == answer_of(deactivated)
    assert "If the address belongs to an account here" in known.text
    send_mail()
    assert [r.to for r in smtp.inbox.received] == [["tove@kommun.example"]]


def test_asking_again_and_again_sends_one_email(app, make, smtp, mail_settings, send_mail):
    make.user("therapist", email="tove@kommun.example")
    client = app.test_client()
    for _ in range(3):
        assert ask_for_a_new_password(client, "tove@kommun.example").status_code == 200
    send_mail()
    assert len(smtp.inbox.received) == 1


def test_forgot_password_is_audited_without_the_address(app, make, smtp, mail_settings):
    user = make.user("therapist", email="tove@kommun.example")
    ask_for_a_new_password(app.test_client(), "tove@kommun.example")
    ask_for_a_new_password(app.test_client(), "nobody@kommun.example")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset_requested")
                                .order_by(AuditEvent.id)).all()
    assert [(e.user_id, e.organisation_id, e.target) for e in events] == [
        (user.id, user.organisation_id, "email"), (None, None, "unknown")]
    for event in db.session.scalars(select(AuditEvent)):
        assert "kommun.example" not in f"{event.target} {event.action}"


def test_forgot_password_is_rate_limited_like_signing_in(app):
    assert getattr(app.view_functions["staff.forgot_password"], "kidrate_sign_in_limit", False)


def test_a_malformed_address_is_refused_without_saying_more(app, mail_settings):
    response = ask_for_a_new_password(app.test_client(), "not-an-address\r\nBcc: x@evil.example")
    assert response.status_code == 400
    assert "does not look like an e-mail address" in response.text
    assert db.session.scalars(select(OutboxMail)).all() == []


# --- The admin ------------------------------------------------------------------------------------


def test_the_admin_page_says_when_email_is_not_set_up(app, make):
    admin = make.user("admin")
    client = app.test_client()
    sign_in(client, admin.username)
    page = client.get("/staff/admin/email")
    assert page.status_code == 200
    assert "E-mail is not set up" in page.text


def test_the_admin_sees_only_their_organisations_outbox(app, make, smtp, mail_settings, send_mail):
    admin = make.user("admin")
    sw = make.user("social_worker", email="sara@kommun.example")
    therapist = make.user("therapist", email="tove@kommun.example")
    smtp.inbox.refuse["tove@kommun.example"] = "451 4.3.0 Try again later"
    case = make.case(sw)
    client = app.test_client()
    sign_in(client, sw.username)
    post_form(client, f"/staff/cases/{case.id}", f"/staff/cases/{case.id}/assign",
              {"therapist": therapist.id, "confirmed": "yes"})
    send_mail()

    other = Organisation(name="Annan kommun")
    db.session.add(other)
    db.session.flush()
    outsider = User(organisation_id=other.id, username="outsider", display_name="Outsider", role="admin",
                    password_hash=admin.password_hash, locale="en", email="admin@annan.example")
    db.session.add(outsider)
    db.session.commit()

    own = app.test_client()
    sign_in(own, admin.username)
    page = own.get("/staff/admin/email").text
    assert "kidrate sends e-mail through 127.0.0.1" in page
    assert re.search(r"<dt>Failed, will be tried again</dt><dd>1</dd>", page)
    assert therapist.display_name in page and "The mail server refused the address (451)" in page
    assert "tove@kommun.example" not in page  # the table names the person, not the address

    theirs = app.test_client()
    sign_in(theirs, "outsider")
    page = theirs.get("/staff/admin/email").text
    assert re.search(r"<dt>Failed, will be tried again</dt><dd>0</dd>", page)
    assert therapist.display_name not in page


def test_the_admin_sets_an_address_when_inviting_and_later(app, make):
    admin = make.user("admin")
    unit = make.unit("open_care")
    client = app.test_client()
    sign_in(client, admin.username)
    response = post_form(client, "/staff/admin/users/new", "/staff/admin/users/new",
                         {"username": "nyanstalld", "display_name": "Ny Anställd", "role": "therapist",
                          "unit": unit.id, "email": "Ny@Kommun.Example"})
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "nyanstalld"))
    assert user.email == "ny@kommun.example"
    db.session.remove()

    page = f"/staff/admin/users/{user.id}/email"
    assert post_form(client, page, page, {"email": "bad address"}).status_code == 400
    assert post_form(client, page, page, {"email": ""}).status_code == 302
    assert db.session.get(User, user.id).email is None
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.target == f"user:{user.id}"))]
    assert "set_email" in actions


def test_an_admin_cannot_set_another_organisations_address(app, make):
    admin = make.user("admin")
    outsider = make.outsider("therapist", "outsider")
    client = app.test_client()
    sign_in(client, admin.username)
    page = client.get("/staff/admin/users").text
    response = client.post(f"/staff/admin/users/{outsider.id}/email",
                           data={"csrf_token": csrf_token(page), "email": "mine@evil.example"})
    assert response.status_code == 404
    assert db.session.get(User, outsider.id).email is None


# --- Unread counts and marking a handover read -----------------------------------------------------


def _handover(app, make):
    sw = make.user("social_worker")
    therapist = make.user("therapist")
    case = make.case(sw, therapist=therapist)
    with app.app_context():
        case = db.session.get(Case, case.id)
        case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
        cases.send_handover(db.session, case, db.session.get(User, therapist.id))
        db.session.commit()
    return sw, therapist, case


def test_the_menu_counts_unread_handovers_until_marked_read(app, make):
    sw, _therapist, case = _handover(app, make)
    client = app.test_client()
    sign_in(client, sw.username)
    home = client.get("/staff/cases").text
    assert re.search(r'Handovers <span class="badge warn" aria-hidden="true">1</span>'
                     r'<span class="visually-hidden">1 unread</span>', home)

    page = client.get(f"/staff/cases/{case.id}/handovers/1").text
    # At the top, before the handover itself, behind a confirmation that needs no script.
    top = page.index('<details class="mark-read">')
    assert top < page.index("</details>") < page.index("<h2")
    confirm = page[top:page.index("</details>")]
    assert "<summary>Mark as read</summary>" in confirm and "Yes, mark as read" in confirm
    assert f'action="/staff/cases/{case.id}/handovers/1/read"' in confirm

    response = client.post(f"/staff/cases/{case.id}/handovers/1/read", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    inbox = client.get(response.headers["Location"]).text
    assert f"The handover of {case.case_ref} is marked as read." in inbox  # it says so
    home = client.get("/staff/cases").text
    assert "unread</span>" not in home
    assert '<details class="mark-read">' not in client.get(f"/staff/cases/{case.id}/handovers/1").text


def test_a_replaced_version_is_not_counted_apart_from_its_correction(app, make):
    sw, therapist, case = _handover(app, make)
    with app.app_context():
        cases.send_handover(db.session, db.session.get(Case, case.id), db.session.get(User, therapist.id),
                            "Rättat målet för problem 1.")
        db.session.commit()
    client = app.test_client()
    sign_in(client, sw.username)
    assert re.search(r'<span class="visually-hidden">1 unread</span>', client.get("/staff/cases").text)


def test_the_menu_counts_a_therapists_new_cases_until_opened(app, make, mail_settings):
    sw = make.user("social_worker")
    therapist = make.user("therapist")
    other = make.user("therapist")
    first, second = make.case(sw), make.case(sw)
    client = app.test_client()
    sign_in(client, sw.username)
    for case in (first, second):
        post_form(client, f"/staff/cases/{case.id}", f"/staff/cases/{case.id}/assign",
                  {"therapist": therapist.id, "confirmed": "yes"})

    mine = app.test_client()
    sign_in(mine, therapist.username)
    listing = mine.get("/staff/cases").text
    assert '<span class="visually-hidden">2 new</span>' in listing
    assert listing.count('<span class="badge">New</span>') == 2
    mine.get(f"/staff/cases/{first.id}")
    listing = mine.get("/staff/cases").text
    assert '<span class="visually-hidden">1 new</span>' in listing
    assert listing.count('<span class="badge">New</span>') == 1

    theirs = app.test_client()
    sign_in(theirs, other.username)
    assert "new</span>" not in theirs.get("/staff/cases").text
    # The social worker opening the case does not make it seen for the therapist.
    client.get(f"/staff/cases/{second.id}")
    assert '<span class="visually-hidden">1 new</span>' in mine.get("/staff/cases").text


# --- Settings ---------------------------------------------------------------------------------------


def test_email_settings_are_checked_at_start(tmp_path):
    base = {"secret_key": "k" * 40, "instance_path": tmp_path}
    assert not load_settings({}, **base).smtp_configured
    ok = load_settings({"KIDRATE_SMTP_HOST": "smtp.kommun.example", "KIDRATE_SMTP_FROM": "kidrate@kommun.example",
                        "KIDRATE_SMTP_PORT": "25", "KIDRATE_SMTP_STARTTLS": "false"}, **base)
    assert ok.smtp_configured and ok.smtp_port == 25 and not ok.smtp_starttls
    assert ok.smtp_password == "" and "smtp_password" not in repr(ok)
    bad = [
        ({"KIDRATE_SMTP_HOST": "smtp.kommun.example"}, "KIDRATE_SMTP_FROM"),
        ({"KIDRATE_SMTP_HOST": "smtp.kommun.example", "KIDRATE_SMTP_FROM": "nobody"}, "KIDRATE_SMTP_FROM"),
        ({"KIDRATE_SMTP_HOST": "smtp.kommun.example", "KIDRATE_SMTP_FROM": "a@b.example",
          "KIDRATE_SMTP_USER": "kidrate"}, "KIDRATE_SMTP_USER"),
        ({"KIDRATE_SMTP_PORT": "70000"}, "KIDRATE_SMTP_PORT"),
        ({"KIDRATE_SMTP_PORT": "smtp"}, "KIDRATE_SMTP_PORT"),
        ({"KIDRATE_SMTP_STARTTLS": "maybe"}, "KIDRATE_SMTP_STARTTLS"),
        ({"KIDRATE_SMTP_HOST": "smtp.kommun.example", "KIDRATE_SMTP_FROM": "a@b.example\r\nBcc: x@evil.example"},
         "KIDRATE_SMTP_FROM"),
    ]
    for environ, name in bad:
        with pytest.raises(ConfigError, match=name):
            load_settings(environ, **base)


def test_in_production_the_password_travels_encrypted_and_links_are_https(tmp_path):
    production = {"KIDRATE_ENV": "production", "KIDRATE_SECRET_KEY": "k" * 40,
                  "KIDRATE_DATA_KEY": "A" * 43 + "=", "KIDRATE_INSTANCE_PATH": str(tmp_path),
                  "KIDRATE_SMTP_HOST": "smtp.kommun.example", "KIDRATE_SMTP_FROM": "kidrate@kommun.example",
                  "KIDRATE_BASE_URL": "https://kidrate.kommun.example"}
    assert load_settings(production).smtp_starttls
    with pytest.raises(ConfigError, match="KIDRATE_SMTP_STARTTLS"):
        load_settings({**production, "KIDRATE_SMTP_USER": "u", "KIDRATE_SMTP_PASSWORD": "p",
                       "KIDRATE_SMTP_STARTTLS": "false"})
    with pytest.raises(ConfigError, match="KIDRATE_BASE_URL"):
        load_settings({**production, "KIDRATE_BASE_URL": "http://127.0.0.1:5000"})


def test_links_in_emails_come_from_the_base_url_not_the_request(app, make, smtp, mail_settings, send_mail):
    """A forged Host header cannot point a reset link elsewhere."""
    make.user("therapist", email="tove@kommun.example")
    client = app.test_client()
    english(client)
    page = client.get(FORGOT, headers={"Host": "evil.example"})
    client.post(FORGOT, data={"csrf_token": csrf_token(page.text), "email": "tove@kommun.example"},
                headers={"Host": "evil.example"})
    send_mail()
    [received] = smtp.inbox.received
    assert "evil.example" not in received.text
    assert "https://kidrate.kommun.example/staff/reset/" in received.body


def test_a_reset_waiting_too_long_is_not_sent(app, make, smtp, mail_settings, send_mail):
    make.user("therapist", email="tove@kommun.example")
    ask_for_a_new_password(app.test_client(), "tove@kommun.example")
    hours = mail_settings.invite_hours
    db.session.execute(update(OutboxMail).values(created_at=utcnow().replace(microsecond=0)
                                                 - __import__("datetime").timedelta(hours=hours + 1)))
    db.session.commit()
    assert "1 not sent" in send_mail()
    assert smtp.inbox.received == []


def test_addresses_are_checked_and_stored_in_one_form():
    from kidrate.notifications.outbox import normalise_address

    assert normalise_address("  Sara.Lind+kidrate@Kommun.Example ") == "sara.lind+kidrate@kommun.example"
    for bad in ("", "sara", "sara@", "@kommun.example", "sara@kommun", "sa ra@kommun.example",
                "sara@kommun.example\r\nBcc: x@evil.example", "sara@kommun.example, x@evil.example",
                "Sara <sara@kommun.example>", "åsa@kommun.example", "a" * 65 + "@kommun.example"):
        assert normalise_address(bad) is None, bad


def test_roles_without_notices_still_give_an_address_for_forgotten_passwords(app, make):
    admin = make.user("admin")
    client = app.test_client()
    sign_in(client, admin.username)
    page = "/staff/profile/notifications"
    assert 'name="notices"' not in client.get(page).text
    response = post_form(client, page, page, {"email": "admin@kommun.example", "password": make.PASSWORD})
    assert response.status_code == 302
    assert db.session.get(User, admin.id).email == "admin@kommun.example"
    assert "admin@kommun.example" in client.get("/staff/profile").text

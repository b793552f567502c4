"""E-mail notices through a real SMTP server: each kind arrives at the right address and says nothing of
the child; sending retries when the server is away; each user's choices hold; the daily reminders come
once; nothing is queued while e-mail is not set up."""

from __future__ import annotations

import re
import ssl
import time
from datetime import date, timedelta

from sqlalchemy import select, update

from kidrate.extensions import db
from kidrate.models import Case, ChildLink, Closure, OutboxMail, User, utcnow
from kidrate.notifications import mail
from kidrate.red_thread import cases

from ..conftest import child_posts, english, post_form, sign_in
from .conftest import TlsSmtpServer

WORDS = "Pappa slår mig när han är arg."
CASE_REF = "BOU-2026-4711"
CATEGORY = ("violence_abuse", "Subjected to violence/abuse", "Utsatt för våld")
ADDED = "Jag vill att pappa slutar."


def assert_says_nothing_of_the_child(received) -> None:
    for forbidden in (WORDS, CASE_REF, ADDED, *CATEGORY):
        assert forbidden.lower() not in received.text.lower(), forbidden


def rows(kind: str | None = None) -> list[OutboxMail]:
    query = select(OutboxMail).order_by(OutboxMail.id)
    if kind:
        query = query.where(OutboxMail.kind == kind)
    rows = list(db.session.scalars(query))
    db.session.remove()
    return rows


def people(make):
    sw = make.user("social_worker", email="sara@kommun.example")
    therapist = make.user("therapist", email="tove@kommun.example")
    return sw, therapist


def assign_through_the_page(app, case_id: int, sw: User, therapist: User) -> None:
    client = app.test_client()
    sign_in(client, sw.username)
    response = post_form(client, f"/staff/cases/{case_id}", f"/staff/cases/{case_id}/assign",
                         {"therapist": therapist.id, "confirmed": "yes"})
    assert response.status_code == 302, response.text


def send_handover(app, case_id: int, therapist_id: int) -> None:
    with app.app_context():
        case = db.session.get(Case, case_id)
        case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
        cases.send_handover(db.session, case, db.session.get(User, therapist_id))
        db.session.commit()


# --- Each kind, to the right address, and nothing of the child ----------------------------------------


def test_an_assigned_case_mails_the_therapist_and_nothing_of_the_child(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw, words=(WORDS,), case_ref=CASE_REF)
    assign_through_the_page(app, case.id, sw, therapist)
    assert [r.kind for r in rows()] == ["assigned"]
    assert smtp.inbox.received == []  # queued, not sent by the request

    output = send_mail()
    assert "sent 1 e-mail(s) for 1 notice(s)" in output
    [received] = smtp.inbox.received
    assert received.to == ["tove@kommun.example"]
    message = received.message
    assert message["From"] == "kidrate <kidrate@kommun.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "https://kidrate.kommun.example/staff/sign-in" in received.text
    assert_says_nothing_of_the_child(received)
    [row] = rows()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert send_mail().startswith("queued 0 reminder(s); sent 0 e-mail(s)")  # sent once
    assert len(smtp.inbox.received) == 1


def test_a_handover_mails_the_social_worker(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    other_sw = make.user("social_worker", email="other@kommun.example")
    case = make.case(sw, therapist=therapist, words=(WORDS,), case_ref=CASE_REF)
    child_posts(app.test_client(), make.link(case, "start"), {case.problems[0].id: "8"}, added_text=ADDED)
    send_handover(app, case.id, therapist.id)
    send_mail()
    [received] = smtp.inbox.received
    assert received.to == ["sara@kommun.example"]
    assert smtp.inbox.to(other_sw.email) == []
    assert_says_nothing_of_the_child(received)


def test_a_safety_signal_mails_the_therapist_and_the_social_worker_once_per_submission(
        app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw, therapist=therapist, words=(WORDS, "Mamma skriker."), case_ref=CASE_REF)
    child_posts(app.test_client(), make.link(case, "start"), {p.id: "1" for p in case.problems}, added_text=ADDED)
    assert [r.kind for r in rows()] == ["signal", "signal"]  # two signals, one notice each
    send_mail()
    assert sorted(r.to[0] for r in smtp.inbox.received) == ["sara@kommun.example", "tove@kommun.example"]
    for received in smtp.inbox.received:
        assert_says_nothing_of_the_child(received)


def test_no_signal_no_notice(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw, therapist=therapist)
    child_posts(app.test_client(), make.link(case, "start"), {case.problems[0].id: "8"})
    assert rows() == []


def test_a_follow_up_date_a_week_away_is_a_reminder_once(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    near = make.case(sw, therapist=therapist, case_ref=CASE_REF, words=(WORDS,),
                     follow_up_date=date.today() + timedelta(days=5))
    make.case(sw, therapist=therapist, follow_up_date=date.today() + timedelta(days=30))  # not yet
    answered = make.case(sw, therapist=therapist, follow_up_date=date.today() + timedelta(days=2))
    child_posts(app.test_client(), make.link(answered, "follow_up"), {answered.problems[0].id: "6"})

    assert send_mail().startswith("queued 1 reminder(s); sent 1 e-mail(s)")
    assert send_mail().startswith("queued 0 reminder(s); sent 0 e-mail(s)")  # the daily check, again
    [received] = smtp.inbox.received
    assert received.to == ["tove@kommun.example"]
    assert_says_nothing_of_the_child(received)
    assert [(r.kind, r.about) for r in rows("follow_up")] == [
        ("follow_up", f"case:{near.id}:{near.follow_up_date.isoformat()}")]

    # A new date is a new reminder.
    db.session.execute(update(Case).where(Case.id == near.id).values(follow_up_date=date.today() + timedelta(days=6)))
    db.session.commit()
    assert send_mail().startswith("queued 1 reminder(s)")


def test_a_link_about_to_expire_unanswered_is_a_reminder_once(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw, therapist=therapist, case_ref=CASE_REF, words=(WORDS,))
    make.link(case, "start")
    short = make.case(sw, therapist=therapist)
    make.link(short, "start")
    now = utcnow()
    db.session.execute(update(ChildLink).where(ChildLink.round_id == case.round("start").id)
                       .values(created_at=now - timedelta(days=13), expires_at=now + timedelta(hours=30)))
    # A link that lives a day (as the tablet hand-over's do, and shorter) gets no reminder.
    db.session.execute(update(ChildLink).where(ChildLink.round_id == short.round("start").id)
                       .values(expires_at=now + timedelta(hours=20)))
    db.session.commit()

    assert send_mail().startswith("queued 1 reminder(s); sent 1 e-mail(s)")
    assert send_mail().startswith("queued 0 reminder(s)")
    [received] = smtp.inbox.received
    assert received.to == ["tove@kommun.example"]
    assert_says_nothing_of_the_child(received)
    [row] = rows("link_expiring")
    assert re.fullmatch(r"link:\d+", row.about)


def test_notices_waiting_for_one_person_are_one_email(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    for n in range(3):
        case = make.case(sw, case_ref=f"BOU-{n}")
        assign_through_the_page(app, case.id, sw, therapist)
    assert send_mail().startswith("queued 0 reminder(s); sent 1 e-mail(s) for 3 notice(s)")
    assert len(smtp.inbox.received) == 1


# --- Choices, addresses, and e-mail not set up --------------------------------------------------------


def test_each_user_chooses_which_notices(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    db.session.get(User, sw.id).notifications_off = ["signal"]  # only the therapist's choices at play here
    db.session.commit()
    client = app.test_client()
    sign_in(client, therapist.username)
    page = "/staff/profile/notifications"
    assert client.get(page).text.count("<input checked id=\"notices-") == 5  # every notice on at first
    # Off: a case assigned. On: safety signals (only the boxes left ticked are sent).
    response = post_form(client, page, page, {"email": "tove@kommun.example", "notices": ["signal"]})
    assert response.status_code == 302
    assert db.session.get(User, therapist.id).notifications_off == ["amendment", "assigned", "follow_up",
                                                                    "link_expiring"]
    db.session.remove()

    case = make.case(sw)
    assign_through_the_page(app, case.id, sw, therapist)
    assert rows() == []
    child_posts(app.test_client(), make.link(case, "start"), {case.problems[0].id: "1"})
    assert [r.kind for r in rows()] == ["signal"]

    # A notice queued before the user switched it off is not sent either.
    response = post_form(client, page, page, {"email": "tove@kommun.example", "notices": []})
    assert "sent 0 e-mail(s) for 0 notice(s); 0 to retry, 0 given up, 1 not sent" in send_mail()
    assert smtp.inbox.received == []


def test_the_social_worker_can_switch_handovers_off(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    client = app.test_client()
    sign_in(client, sw.username)
    page = "/staff/profile/notifications"
    assert post_form(client, page, page, {"email": sw.email}).status_code == 302
    case = make.case(sw, therapist=therapist)
    send_handover(app, case.id, therapist.id)
    assert rows() == []


def test_no_address_or_deactivated_no_email(app, make, smtp, mail_settings, send_mail):
    sw = make.user("social_worker", email="sara@kommun.example")
    nameless = make.user("therapist")
    leaving = make.user("therapist", email="leaving@kommun.example")
    for therapist in (nameless, leaving):
        assign_through_the_page(app, make.case(sw).id, sw, therapist)
    assert [r.user_id for r in rows()] == [leaving.id]  # no address, nothing queued
    db.session.execute(update(User).where(User.id == leaving.id).values(active=False))
    db.session.commit()
    assert "1 not sent" in send_mail()
    assert smtp.inbox.received == []
    assert rows()[0].last_error == "deactivated"


def test_changing_ones_address_needs_the_password(app, make, smtp, mail_settings):
    _sw, therapist = people(make)
    client = app.test_client()
    sign_in(client, therapist.username)
    page = "/staff/profile/notifications"
    response = post_form(client, page, page, {"email": "attacker@evil.example", "password": "wrong password!"})
    assert response.status_code == 400
    assert db.session.get(User, therapist.id).email == "tove@kommun.example"
    db.session.remove()
    response = post_form(client, page, page, {"email": " Tove.Ny@Kommun.Example ", "password": make.PASSWORD,
                                              "notices": ["assigned"]})
    assert response.status_code == 302
    assert db.session.get(User, therapist.id).email == "tove.ny@kommun.example"
    db.session.remove()
    response = post_form(client, page, page, {"email": "not an address", "password": make.PASSWORD})
    assert response.status_code == 400


def test_nothing_is_queued_or_sent_while_email_is_not_set_up(app, make, smtp, send_mail):
    sw, therapist = people(make)
    case = make.case(sw)
    assign_through_the_page(app, case.id, sw, therapist)
    assert rows() == []
    assert "e-mail is not set up" in send_mail()
    client = app.test_client()
    english(client)  # the pages before signing in speak the default locale (Swedish)
    page = client.get("/staff/sign-in/forgot")
    assert "administrator" in page.text and 'name="email"' not in page.text


# --- When sending fails -------------------------------------------------------------------------------


def test_the_server_away_the_notice_waits_and_a_later_run_sends_it(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw)
    assign_through_the_page(app, case.id, sw, therapist)
    smtp.stop()
    output = send_mail()
    assert "1 to retry" in output and "connection refused" in output
    [row] = rows()
    assert row.attempts == 1 and row.sent_at is None and row.gave_up_at is None
    assert row.last_error == "connection refused"
    assert row.next_attempt_at > utcnow()
    assert "sent 0 e-mail(s)" in send_mail()  # not due yet: the backoff holds

    smtp.start()
    db.session.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))  # time passes
    db.session.commit()
    assert "sent 1 e-mail(s)" in send_mail()
    [row] = rows()
    assert row.attempts == 2 and row.sent_at is not None and row.last_error is None
    assert [r.to for r in smtp.inbox.received] == [["tove@kommun.example"]]


def test_waits_grow_and_end(app, make, smtp, mail_settings):
    sw, therapist = people(make)
    case = make.case(sw)
    assign_through_the_page(app, case.id, sw, therapist)
    smtp.stop()
    waits = []
    with app.app_context():
        now = utcnow()
        for _attempt in range(mail.MAX_ATTEMPTS):
            mail.send_due(db.session, mail_settings, now=now)
            row = db.session.scalar(select(OutboxMail))
            if row.gave_up_at:
                break
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
        assert row.gave_up_at is not None and row.attempts == mail.MAX_ATTEMPTS
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) == mail.LONGEST_WAIT


def test_an_address_refused_for_good_is_given_up_and_the_others_go(app, make, smtp, mail_settings, send_mail):
    sw = make.user("social_worker", email="sara@kommun.example")
    refused = make.user("therapist", email="nobody@kommun.example")
    fine = make.user("therapist", email="tove@kommun.example")
    smtp.inbox.refuse["nobody@kommun.example"] = "550 5.1.1 No such user nobody@kommun.example"
    for therapist in (refused, fine):
        assign_through_the_page(app, make.case(sw).id, sw, therapist)
    output = send_mail()
    assert "sent 1 e-mail(s)" in output and "1 given up" in output
    assert [r.to for r in smtp.inbox.received] == [["tove@kommun.example"]]
    given_up = next(r for r in rows() if r.user_id == refused.id)
    assert given_up.gave_up_at is not None and given_up.last_error == "address refused 550"
    assert "nobody" not in given_up.last_error  # the server's text is not kept


def test_a_passing_refusal_is_tried_again(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    smtp.inbox.refuse[therapist.email] = "451 4.3.0 Try again later"
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    assert "1 to retry" in send_mail()
    [row] = rows()
    assert row.gave_up_at is None and row.last_error == "address refused 451"


def test_two_runs_never_send_one_row_twice(app, make, smtp, mail_settings):
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    with app.app_context():
        first = mail._claim(db.session, utcnow())
        second = mail._claim(db.session, utcnow())
    assert len(first) == 1 and second == []


def test_sent_rows_are_forgotten_after_a_month(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    send_mail()
    db.session.execute(update(OutboxMail).values(sent_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert "removed 1 old" in send_mail()
    assert rows() == []


def test_a_notice_days_old_is_no_longer_news(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    db.session.execute(update(OutboxMail).values(created_at=utcnow() - timedelta(days=4)))
    db.session.commit()
    assert "1 not sent" in send_mail()
    assert smtp.inbox.received == []
    assert rows()[0].last_error == "too old"


def test_many_queued_notices_are_sent_in_one_connection(app, make, smtp, mail_settings, send_mail):
    """200 staff with a notice each: 200 e-mails, one run (the README's figure is measured like this)."""
    sw = make.user("social_worker", email="sara@kommun.example")
    therapists = [make.user("therapist", email=f"t{n}@kommun.example") for n in range(200)]
    now = utcnow()
    db.session.add_all(OutboxMail(user_id=t.id, kind="assigned", about=f"case:{n}", created_at=now,
                                  next_attempt_at=now) for n, t in enumerate(therapists))
    db.session.commit()
    started = time.perf_counter()
    output = send_mail()
    took = time.perf_counter() - started
    assert "sent 200 e-mail(s) for 200 notice(s)" in output, output
    assert len(smtp.inbox.received) == 200
    assert took < 30, took
    assert sw  # the social worker got nothing
    assert smtp.inbox.to(sw.email) == []


def test_two_runs_queueing_one_reminder_at_once_queue_it_once(app, make, smtp, mail_settings, monkeypatch):
    """The other run inserts the same reminder between this run's check and its insert: the unique key
    refuses this one, and that counts as done."""
    from kidrate.notifications import outbox, reminders

    sw, therapist = people(make)
    case = make.case(sw, therapist=therapist, follow_up_date=date.today() + timedelta(days=3))
    about = f"case:{case.id}:{case.follow_up_date.isoformat()}"
    real = outbox.enqueue

    def meanwhile_the_other_run(session, user, kind, about=None, now=None):
        row = real(session, user, kind, about, now)
        with db.engine.begin() as other:
            other.execute(OutboxMail.__table__.insert().values(
                user_id=user.id, kind=kind, about=about, created_at=utcnow(), attempts=0,
                next_attempt_at=utcnow()))
        return row

    monkeypatch.setattr(outbox, "enqueue", meanwhile_the_other_run)
    with app.app_context():
        assert reminders.queue_reminders(db.session).total == 0
    assert [(r.kind, r.about) for r in rows()] == [("follow_up", about)]


def test_the_service_will_not_run_without_email_set_up(app):
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 1 and "e-mail is not set up" in result.output


# --- STARTTLS and signing in at the server ------------------------------------------------------------


def _through(app, tls_smtp, monkeypatch, **changes):
    import dataclasses

    values = {"smtp_host": "127.0.0.1", "smtp_port": tls_smtp.port, "smtp_from": "kidrate@kommun.example",
              "smtp_starttls": True, "smtp_user": TlsSmtpServer.USER, "smtp_password": TlsSmtpServer.PASSWORD}
    settings = dataclasses.replace(app.config["KIDRATE"], **{**values, **changes})
    monkeypatch.setitem(app.config, "KIDRATE", settings)


def test_starttls_and_a_password_with_a_trusted_certificate(app, make, tls_smtp, monkeypatch, send_mail):
    _through(app, tls_smtp, monkeypatch)
    trusted = ssl.create_default_context(cafile=tls_smtp.cert_file)
    monkeypatch.setattr(mail.ssl, "create_default_context", lambda: trusted)  # the organisation's CA
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    assert "sent 1 e-mail(s)" in send_mail()
    assert [r.to for r in tls_smtp.inbox.received] == [["tove@kommun.example"]]
    assert tls_smtp.logins == [(b"kidrate", True)]


def test_a_certificate_nobody_trusts_is_refused_before_the_password_goes(app, make, tls_smtp, monkeypatch,
                                                                         send_mail):
    _through(app, tls_smtp, monkeypatch)
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    output = send_mail()
    assert "1 to retry" in output and "tls failed" in output
    assert tls_smtp.inbox.received == [] and tls_smtp.logins == []


def test_a_wrong_password_at_the_server_is_retried_and_said(app, make, tls_smtp, monkeypatch, send_mail):
    _through(app, tls_smtp, monkeypatch, smtp_password="not the password")
    trusted = ssl.create_default_context(cafile=tls_smtp.cert_file)
    monkeypatch.setattr(mail.ssl, "create_default_context", lambda: trusted)
    sw, therapist = people(make)
    assign_through_the_page(app, make.case(sw).id, sw, therapist)
    assert "1 to retry" in send_mail()
    assert rows()[0].last_error == "login refused 535"


def test_an_amendment_mails_the_other_side_of_the_case(app, make, smtp, mail_settings, send_mail):
    sw, therapist = people(make)
    case = make.case(sw, therapist=therapist, words=(WORDS, "test annan"), case_ref=CASE_REF)
    stray = case.problems[1].id
    client = app.test_client()
    sign_in(client, therapist.username)
    page = f"/staff/cases/{case.id}/problems/{stray}/withdraw"
    response = post_form(client, page, page, {"reason": "Ett testproblem som kom med av misstag."})
    assert response.status_code == 302
    assert [(r.kind, r.user_id) for r in rows()] == [("amendment", sw.id)]  # the social worker, not the author
    send_mail()
    [received] = smtp.inbox.received
    assert received.to == ["sara@kommun.example"]
    assert_says_nothing_of_the_child(received)
    assert "test annan" not in received.text and "testproblem" not in received.text

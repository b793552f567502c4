"""Notices in Chromium, with a real SMTP server (aiosmtpd) receiving what `kidrate send-mail` sends: a
child's low rating mails the therapist and the social worker; a handover mails the social worker, whose
menu counts it until it is marked as read at the top of the handover; "Forgot your password?" mails a
link that sets a new one. No mail holds the child's words, the category or the case reference."""

from __future__ import annotations

import re

from kidrate.extensions import db
from kidrate.models import User

from ..conftest import child_posts
from ..factories import Factory
from ..notifications.conftest import mail_settings, send_mail, smtp  # noqa: F401  (fixtures)
from ..red_thread.test_documents import close

LAPTOP = {"width": 1366, "height": 768}
WORDS = "Pappa slår mamma när han har druckit."
CASE_REF = "BOU-MAIL-2026"


def _people(make: Factory) -> tuple[User, User]:
    sw = make.user("social_worker", username="mail-sara", email="sara.mail@kommun.example")
    therapist = make.user("therapist", username="mail-tove", email="tove.mail@kommun.example")
    for user in (sw, therapist):
        db.session.get(User, user.id).locale = "sv"
    db.session.commit()
    return sw, therapist


def _says_nothing_of_the_child(mail) -> None:
    for secret in (WORDS, CASE_REF, "våld", "violence"):
        assert secret.lower() not in mail.text.lower()


def _sign_in(page, username: str, password: str = Factory.PASSWORD) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/(?!sign-in)"))


def test_notices_arrive_and_the_menu_counts_until_read(browser, live_server, app, make, smtp,  # noqa: F811
                                                       mail_settings, send_mail):  # noqa: F811
    sw, therapist = _people(make)
    case = make.case(sw, therapist=therapist, words=(WORDS,), case_ref=CASE_REF)
    # The child rates the problem about violence 1: a safety signal, one notice to each of the two.
    child_posts(app.test_client(), make.link(case, "start"), {case.problems[0].id: "1"})
    send_mail()
    assert sorted(m.to[0] for m in smtp.inbox.received) == ["sara.mail@kommun.example", "tove.mail@kommun.example"]

    with app.app_context():  # as the send would run in the therapist's request
        close(case.id, db.session.get(User, therapist.id))
    send_mail()
    [handover_mail] = smtp.inbox.to("sara.mail@kommun.example")[1:]
    for mail in smtp.inbox.received:
        _says_nothing_of_the_child(mail)
    assert "https://kidrate.kommun.example/staff/" in handover_mail.body  # a link to sign in, nothing more

    context = browser.new_context(viewport=LAPTOP, base_url=live_server)
    page = context.new_page()
    _sign_in(page, "mail-sara")
    menu = page.locator("header nav, nav").first
    assert re.search(r"Överlämningar\s*1", menu.inner_text())
    page.goto("/staff/handovers")
    page.locator(f"main a[href*='/cases/{case.id}/handovers/1']").first.click()
    mark = page.locator("details.mark-read")
    assert mark.bounding_box()["y"] < LAPTOP["height"]  # at the top, not under the handover
    mark.locator("summary").click()
    mark.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/handovers"))
    assert not re.search(r"Överlämningar\s*1", page.locator("header nav, nav").first.inner_text())
    context.close()


def test_forgot_password_by_mail_in_the_browser(browser, live_server, make, smtp, mail_settings,  # noqa: F811
                                                send_mail):  # noqa: F811
    _people(make)
    context = browser.new_context(viewport=LAPTOP, base_url=live_server)
    page = context.new_page()
    page.goto("/staff/sign-in")
    page.get_by_role("link", name=re.compile("Glömt|Forgot")).click()
    page.fill("input[name=email]", "sara.mail@kommun.example")
    page.locator("main button[type=submit]").click()
    said_for_a_known_address = page.locator("main").inner_text()
    # The same answer for an address nobody has.
    page.goto("/staff/sign-in/forgot")
    page.fill("input[name=email]", "nobody@kommun.example")
    page.locator("main button[type=submit]").click()
    assert page.locator("main").inner_text() == said_for_a_known_address

    send_mail()
    [mail] = smtp.inbox.received
    assert mail.to == ["sara.mail@kommun.example"]
    link = re.search(r"https://kidrate\.kommun\.example(/staff/reset/\S+)", mail.body).group(1)
    page.goto(link)
    new_password = "en lång mening som lösenord 2026"
    page.fill("input[name=password]", new_password)
    page.fill("input[name=repeat]", new_password)
    page.locator("main button[type=submit]").click()
    context.clear_cookies()
    _sign_in(page, "mail-sara", new_password)
    context.close()

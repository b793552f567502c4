"""The therapist gives the child a link, in a real browser (Chromium, 1366×768, Swedish): what is due is
on the first screen of the case page; issuing lands on the link's own page, which a reload leaves as
it is; a new link while one is live asks first and stops the old one only then; the link has its own
copy button, and without JavaScript it can still be selected in its box. Screenshots in
KIDRATE_SHOTS."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import ChildLink, User, utcnow

from ..factories import Factory
from .conftest import LAPTOP, assert_accessible, shot

REF = "BOU-LANK-2026"
WORDS = ("Jag vill inte gå till skolan.", "Mamma och pappa bråkar.", "Jag har ingen att prata med.")
CHILD_LINK = re.compile(r"/r/[A-Za-z0-9_-]{32}$")


@pytest.fixture
def case_id(make: Factory, live_server):
    therapist = make.user("therapist", username="link-therapist")
    case = make.case(make.user("social_worker"), therapist=therapist, words=WORDS, case_ref=REF, age=12,
                     family_languages=["sv", "ar"])
    user = db.session.get(User, therapist.id)
    user.locale = "sv"
    db.session.commit()
    return case.id


@pytest.fixture
def laptop(browser, live_server):
    context = browser.new_context(viewport=LAPTOP, locale="sv-SE", base_url=live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    yield context
    context.close()


@pytest.fixture
def laptop_without_js(browser, live_server):
    context = browser.new_context(viewport=LAPTOP, locale="sv-SE", base_url=live_server, java_script_enabled=False)
    yield context
    context.close()


def sign_in(page) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", "link-therapist")
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/cases"))


def stored_links(case_id: int) -> list[tuple[int, str]]:
    db.session.remove()
    rows = db.session.scalars(select(ChildLink).order_by(ChildLink.id)).all()
    return [(lk.id, lk.state(utcnow())) for lk in rows if lk.round.case_id == case_id]


def on_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"]


def test_issue_reload_and_replace_a_link(laptop, case_id, axe):
    page = laptop.new_page()
    sign_in(page)
    page.goto("/staff/cases")
    interactions = 1  # open the case from the list
    page.locator(f"main a:has-text('{REF}')").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}$"))
    shot(page, "case-page-first-screen")
    shot(page, "case-page-full", full_page=True)
    # What is due, and its button, on the first laptop screen: no scrolling to give the child a link.
    assert on_first_screen(page, "#next form[action$='/rounds/start/links'] button[type=submit]")
    assert on_first_screen(page, "#next form.hand-over button")
    assert_accessible(axe, page, "therapist's case page")

    # Case list → link ready: open the case, press the button (2 interactions).
    page.locator("#next form[action$='/rounds/start/links'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}/links/\d+$"))
    interactions += 1
    assert interactions <= 3
    print(f"\ncase list -> the child's link ready: {interactions} interactions")
    link_page = page.url
    url = page.locator("#child-link").input_value()
    assert CHILD_LINK.search(url) and url.split("/r/")[1] not in link_page
    shot(page, "link-page")
    assert_accessible(axe, page, "link page")

    # The link's own copy button copies the link.
    copy = page.locator("button[data-copy='child-link']")
    assert copy.is_visible()
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == url

    # Reloading: the same link, nothing issued, nothing revoked.
    for _ in range(2):
        page.reload()
        assert page.locator("#child-link").input_value() == url
    assert [state for _id, state in stored_links(case_id)] == ["issued"]
    page.goto(f"/staff/cases/{case_id}")
    html = page.content()
    assert html.count("Återkallad") + html.count("Revoked") == 0
    live_words = page.locator("#next").inner_text()
    assert "Skapad, inte öppnad än" in live_words or "Created, not opened yet" in live_words
    shot(page, "case-page-live-link")
    # A check's link into a closed section opens the section at its place.
    assert not page.locator("#round-start").is_visible()
    page.locator(".checks a[href$='#round-start']").click()
    page.locator("#round-start").wait_for(state="visible")
    shot(page, "case-page-check-opens-round")

    # A new link while this one is live: a confirmation first, and the old one still works meanwhile.
    page.locator("#next form[action$='/rounds/start/links'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}/rounds/start/links$"))
    shot(page, "link-confirm")
    assert_accessible(axe, page, "confirmation")
    confirm = page.locator("main form button.danger")
    assert confirm.is_visible()
    assert [state for _id, state in stored_links(case_id)] == ["issued"]
    confirm.click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}/links/\d+$"))
    new_url = page.locator("#child-link").input_value()
    assert new_url != url
    assert [state for _id, state in stored_links(case_id)] == ["revoked", "issued"]


def test_the_link_and_the_confirmation_without_javascript(laptop_without_js, case_id):
    page = laptop_without_js.new_page()
    sign_in(page)
    page.goto(f"/staff/cases/{case_id}")
    page.locator("#next form[action$='/rounds/start/links'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}/links/\d+$"))
    box = page.locator("#child-link")
    assert box.is_visible() and box.get_attribute("readonly") is not None
    assert CHILD_LINK.search(box.input_value())
    assert not page.locator("button[data-copy='child-link']").is_visible()  # no script, no copy button
    shot(page, "link-page-without-js")
    # The section menu opens its closed section without a script too.
    page.goto(f"/staff/cases/{case_id}")
    page.locator("nav.case-sections a[href='#rounds']").click()
    page.locator("#round-start").wait_for(state="visible")
    page.goto(f"/staff/cases/{case_id}")
    page.locator("#next form[action$='/rounds/start/links'] button[type=submit]").click()
    page.locator("main form button.danger").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}/links/\d+$"))
    assert [state for _id, state in stored_links(case_id)] == ["revoked", "issued"]

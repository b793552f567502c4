"""Staff pages in Chromium: the group report and the case list on a 320 px wide screen (tables scroll in
their own box, which the keyboard reaches; nothing else scrolls sideways), the sign-in page's language
choice, and an admin editing a staff member. Screenshots in KIDRATE_SHOTS (a temporary folder by default)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import User

from ..factories import Factory
from ..statistics.test_report import world  # noqa: F401  (the report's closed cases, small counts among them)
from .conftest import AXE_OPTIONS, assert_accessible, shot

NARROW = {"width": 320, "height": 640}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def narrow(browser, live_server):
    context = browser.new_context(viewport=NARROW, base_url=live_server, locale="sv-SE")
    yield context
    context.close()


@pytest.fixture
def laptop(browser, live_server):
    context = browser.new_context(viewport=LAPTOP, base_url=live_server, locale="sv-SE")
    yield context
    context.close()


def _swedish(username: str) -> None:
    db.session.scalar(select(User).where(User.username == username)).locale = "sv"
    db.session.commit()


def sign_in(page, username: str) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/(?!sign-in)"))


def _page_scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")


def test_the_report_at_320_px_scrolls_tables_in_boxes_the_keyboard_reaches(narrow, world, axe):  # noqa: F811
    _swedish("analyst")
    page = narrow.new_page()
    sign_in(page, "analyst")
    page.goto("/staff/report")
    assert page.locator("h2.chart-title").count() == 3
    results = axe.run(page, options=AXE_OPTIONS)
    rules = {v["id"] for v in results.response["violations"]}
    assert "scrollable-region-focusable" not in rules, results.generate_report()
    assert "duplicate-id" not in rules and "duplicate-id-aria" not in rules
    assert_accessible(axe, page, "the report at 320 px")
    assert not _page_scrolls_sideways(page)
    # Each wide table's box: a named region that takes focus and scrolls with the arrow keys.
    box = page.locator("section.report-table").first
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-labelledby")
    wide = page.evaluate("""() => [...document.querySelectorAll('section.report-table')]
        .filter(b => b.scrollWidth > b.clientWidth).length""")
    assert wide > 0, "at 320 px some table should be wider than its box"
    scroller = page.locator("section.report-table").nth(
        page.evaluate("""() => [...document.querySelectorAll('section.report-table')]
            .findIndex(b => b.scrollWidth > b.clientWidth)"""))
    scroller.focus()
    assert page.evaluate("document.activeElement.classList.contains('report-table')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # (Polled from here: the page's CSP allows no eval, which wait_for_function needs.)
    for _ in range(20):
        if page.evaluate("document.activeElement.scrollLeft") > 0:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("document.activeElement.scrollLeft") > 0
    scroller.scroll_into_view_if_needed()
    shot(page, "report-320-table", full_page=False)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "report-320-top", full_page=False)
    page.set_viewport_size(LAPTOP)
    page.locator("section.report-charts").scroll_into_view_if_needed()
    shot(page, "report-charts-laptop", full_page=False)


def test_the_case_list_at_320_px(narrow, make, axe):
    social = make.user("social_worker", username="narrow-sw")
    _swedish("narrow-sw")
    for n in range(3):
        make.case(social, case_ref=f"WALK-2026-01{n}")
    page = narrow.new_page()
    sign_in(page, "narrow-sw")
    page.fill("#q", "walk-2026-01")
    page.locator("form.case-filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"q=walk"))
    assert page.locator("table tbody tr").count() == 3
    assert_accessible(axe, page, "the case list at 320 px")
    assert not _page_scrolls_sideways(page)
    shot(page, "case-list-320", full_page=True)


def test_the_sign_in_page_switches_language_and_the_users_own_applies_after(laptop, make):
    make.user("analyst", username="lang-analyst")
    _swedish("lang-analyst")
    page = laptop.new_page()
    page.goto("/staff/sign-in")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator("h1").inner_text() == "Logga in"
    shot(page, "sign-in-sv", full_page=False)
    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/staff/sign-in$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.get_by_role("navigation", name="Language").locator("[aria-current=true]").inner_text() == "English"
    shot(page, "sign-in-en", full_page=False)
    page.reload()
    assert page.locator("h1").inner_text() == "Sign in"  # kept
    sign_in(page, "lang-analyst")
    assert page.locator("html").get_attribute("lang") == "sv"  # the user's own setting


def test_an_admin_edits_a_staff_member(laptop, make, axe):
    make.user("admin", username="edit-admin")
    _swedish("edit-admin")
    make.unit("authority", "Barn och unga")
    open_care = make.unit("open_care", "Öppenvården")
    worker = make.user("social_worker", username="anna", unit=make.unit("authority", "Barn och unga"))
    page = laptop.new_page()
    sign_in(page, "edit-admin")
    page.goto("/staff/admin/users")
    page.locator(f'a[href="/staff/admin/users/{worker.id}/edit"]').click()
    page.wait_for_url(re.compile(r"/edit$"))
    assert_accessible(axe, page, "the edit form")
    page.fill("input[name=display_name]", "Anna Andersson")
    page.select_option("select[name=role]", "therapist")
    page.select_option("select[name=unit]", str(open_care.id))
    shot(page, "admin-edit-user", full_page=False)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/admin/users$"))
    row = page.locator("tr", has_text="anna")
    assert "Anna Andersson" in row.inner_text() and "Öppenvården" in row.inner_text()
    assert page.locator(".flash").count() == 1
    shot(page, "admin-users-after-edit", full_page=False)
    # Changing one's own role asks first (with another admin there: the last one could not change it at all).
    make.user("admin", username="second-admin")
    own = db.session.scalar(select(User.id).where(User.username == "edit-admin"))
    page.goto(f"/staff/admin/users/{own}/edit")
    page.select_option("select[name=role]", "analyst")
    page.locator("main button[type=submit]").click()
    assert page.locator("input[name=confirm_own_role]").is_visible()
    assert page.locator("[role=alert]").count() == 1
    shot(page, "admin-edit-own-role", full_page=False)

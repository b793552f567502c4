"""Handing the therapist's tablet to the child, in a real browser: after the hand-over, going Back
never shows the staff case page (with Chromium's back/forward cache on, as in everyday use, and
off, as Playwright launches it by default); the child answers, sees the neutral thank-you page, and
the therapist's password unlocks. Plus the follow-up page on a tablet, upright and sideways."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import RatingRound

from ..factories import Factory
from .conftest import CHROMIUM, CHROMIUM_ARGS, SHOTS, assert_accessible

REF = "BOU-SURFPLATTA-5"
WORDS = ("Pappa skriker.", "Jag är ensam.")
LOCKED = "This device is locked"
TABLET = {"width": 768, "height": 1024}
GIVE_BACK = re.compile(r"(?i)ge (nu |då )?tillbaka surfplattan eller datorn|give the tablet or computer back")
NO_LINK = re.compile(r"(?i)öppna din länk|open your link")


@pytest.fixture(scope="module", params=["bfcache on", "bfcache off"])
def tablet_browser(request, browser):
    if request.param == "bfcache off":
        yield browser  # as Playwright launches Chromium by default
        return
    # Playwright turns Chromium's back/forward cache off; a family's tablet has it on.
    with_cache = browser.browser_type.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             ignore_default_args=["--disable-back-forward-cache"])
    yield with_cache
    with_cache.close()


@pytest.fixture
def tablet(tablet_browser, live_server):
    context = tablet_browser.new_context(viewport=TABLET, has_touch=True, is_mobile=True, base_url=live_server)
    yield context
    context.close()


@pytest.fixture
def case_id(make: Factory, live_server):
    sw = make.user("social_worker")
    therapist = make.user("therapist", username="tablet-therapist")
    return make.case(sw, therapist=therapist, words=WORDS, case_ref=REF, age=15).id


def sign_in(page) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", "tablet-therapist")
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/cases"))


def shows_no_staff_page(page) -> None:
    html = page.content()
    assert REF not in html and "Sign out" not in html and "Hand this device" not in html


def test_back_after_hand_over_never_shows_the_staff_case_page(tablet, case_id, axe):
    page = tablet.new_page()
    sign_in(page)
    page.goto(f"/staff/cases/{case_id}")
    assert REF in page.content()
    page.locator("form.hand-over button").tap()
    page.wait_for_url(re.compile(r"/r/[A-Za-z0-9_-]{32}$"))
    child_url = page.url
    assert WORDS[0] in page.content()

    # Back, straight away: the case page's address now shows only the locked page.
    page.go_back()
    page.wait_for_load_state()
    assert re.search(rf"/staff/cases/{case_id}$", page.url)
    shows_no_staff_page(page)
    assert LOCKED in page.content()
    assert_accessible(axe, page, "locked page")
    page.go_forward()
    page.wait_for_load_state()
    shows_no_staff_page(page)
    page.goto(f"/staff/cases/{case_id}")  # as a curious child might
    shows_no_staff_page(page)

    # The child answers on the device and sees the neutral thank-you page.
    page.goto(child_url)
    for choice in ("7", "declined"):
        page.locator(f"fieldset.step:visible input[name^='answer-'][value='{choice}']").tap()
        page.locator("button.next").tap()
    page.locator("button.next").tap()  # past "anything to add?"
    page.locator("#check").wait_for(state="visible")
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    shows_no_staff_page(page)
    assert LOCKED not in page.content()
    # It ends on giving the device back, not on a link the child does not have; a reload shows the same.
    for _ in range(2):
        assert GIVE_BACK.search(page.content()) and not NO_LINK.search(page.content())
        shows_no_staff_page(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "tablet-give-back.png"))
        assert_accessible(axe, page, "give-back page", every_rule=True)
        page.reload()
    # From there, the adult's way to the lock.
    page.locator("main a[href='/staff/']").tap()
    page.wait_for_url(re.compile(r"/staff/$"))
    assert LOCKED in page.content() and "answers have arrived" in page.content()
    page.screenshot(path=str(SHOTS / "tablet-locked-after.png"))
    db.session.remove()
    how = db.session.scalar(select(RatingRound.answered_how).where(RatingRound.case_id == case_id,
                                                                   RatingRound.kind == "start"))
    assert how == "with_therapist"

    # However far back the child goes, no staff page.
    for _ in range(6):
        page.go_back()
        page.wait_for_load_state()
        shows_no_staff_page(page)

    # The therapist's password unlocks.
    page.goto(f"/staff/cases/{case_id}")
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}#rounds$"))
    assert REF in page.content()


def test_a_reload_half_way_asks_to_give_the_device_back(tablet, case_id, axe):
    page = tablet.new_page()
    sign_in(page)
    page.goto(f"/staff/cases/{case_id}")
    page.locator("form.hand-over button").tap()
    page.wait_for_url(re.compile(r"/r/[A-Za-z0-9_-]{32}$"))
    page.locator("fieldset.step:visible input[name^='answer-'][value='7']").tap()
    page.reload()
    page.wait_for_load_state()
    html = page.content()
    assert GIVE_BACK.search(html) and not NO_LINK.search(html), page.url
    shows_no_staff_page(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tablet-reload-half-way.png"))
    assert_accessible(axe, page, "start-again page", every_rule=True)
    # The child starts again on the same device, without the adult.
    page.locator("main a.button").tap()
    page.locator("fieldset.step:visible input[name^='answer-']").first.wait_for(state="visible")
    assert WORDS[0] in page.content()


@pytest.mark.parametrize("viewport", [TABLET, {"width": 1024, "height": 768}], ids=["upright", "sideways"])
def test_follow_up_page_on_a_tablet_right_to_left(tablet, case_id, axe, viewport):
    page = tablet.new_page()
    page.set_viewport_size(viewport)
    sign_in(page)
    page.goto(f"/staff/cases/{case_id}/together?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("section.together-problem").count() == 2
    # Nothing runs off the side, in either orientation.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # Right to left: the first round sits at the right.
    first, last = page.locator("section.together-problem").first.locator("li.together-round").all()[::2]
    assert first.bounding_box()["x"] > last.bounding_box()["x"]
    assert_accessible(axe, page, f"follow-up page ({viewport['width']}×{viewport['height']})")

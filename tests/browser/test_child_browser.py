"""The child's flow in a real browser, on a 360×640 touch phone: three views, JavaScript on and off,
Swedish and Arabic, the quick exit, the offline retry, no request leaving the origin, and axe."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import Submission

from .conftest import assert_accessible, stored_ratings

EXIT = "https://www.smhi.se/"


def only_own_origin(context, live_server) -> None:
    strangers = [u for u in context.requests if not u.startswith(live_server) and not u.startswith("data:")]
    assert strangers == []


def tap_through(page, choose_per_question) -> None:
    """Answer every question step by step with taps, then reach the check step."""
    for choose in choose_per_question:
        choose(page)
        page.locator("button.next").tap()
    page.locator("button.next").tap()  # past "anything to add?"
    page.locator("#check").wait_for(state="visible")


@pytest.mark.parametrize(("view", "age", "choices", "expected"), [
    ("ten", 15, ["7", "declined"], [(None, "declined", "ten"), (7, "rated", "ten")]),
    ("six", 10, ["8", "dont_know"], [(None, "dont_know", "six"), (8, "rated", "six")]),
    ("two_step", 6, [("not_good", "quite"), "declined"], [(None, "declined", "two_step"), (3, "rated", "two_step")]),
])
def test_whole_flow_with_javascript_in_each_view(phone, child_link, live_server, axe, view, age, choices, expected):
    page = phone.new_page()
    page.goto(child_link(age=age))
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator(".progress").first.inner_text() == "1 av 2"
    assert_accessible(axe, page, f"questions ({view})", every_rule=True)

    def chooser(choice):
        def choose(p):
            step = p.locator("fieldset.step:visible")
            if isinstance(choice, tuple):
                step.locator(f"input[name^='good-'][value='{choice[0]}']").tap()
                step.locator(f"input[name^='amount-'][value='{choice[1]}']").tap()
            else:
                step.locator(f"input[name^='answer-'][value='{choice}']").tap()
        return choose

    tap_through(page, [chooser(c) for c in choices])
    assert "Pappa skriker." in page.locator("#check").inner_text()
    assert_accessible(axe, page, f"check step ({view})", every_rule=True)
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert_accessible(axe, page, "thanks", every_rule=True)
    assert stored_ratings() == expected
    only_own_origin(phone, live_server)
    # Back does not show the answers again.
    page.go_back()
    assert "Pappa skriker." not in page.content()


def test_token_leaves_the_address_bar_once_the_child_starts(phone, child_link):
    page = phone.new_page()
    url = child_link(age=15)
    page.goto(url)
    assert page.url == url
    page.locator("fieldset.step:visible input[name^='answer-'][value='5']").tap()
    assert "/r/open" in page.url and url.rsplit("/", 1)[1] not in page.url


@pytest.mark.parametrize(("age", "first", "second", "expected"), [
    (15, {"answer": "4"}, {"answer": "9"}, [(6, "rated", "ten"), (9, "rated", "ten")]),
    (10, {"answer": "3"}, {"answer": "dont_know"}, [(None, "dont_know", "six"), (6, "rated", "six")]),
    (6, {"good": "good", "amount": "little"}, {"answer": "declined"},
     [(None, "declined", "two_step"), (6, "rated", "two_step")]),
])
def test_whole_flow_without_javascript_on_one_page_with_a_check_step(phone_without_js, child_link, live_server,
                                                                     age, first, second, expected):
    page = phone_without_js.new_page()
    page.goto(child_link(age=age))
    questions = page.locator("fieldset.question")
    assert questions.count() == 2 and questions.nth(1).is_visible()  # all on one page
    for nth, choice in ((0, first), (1, second)):
        for prefix, value in choice.items():
            questions.nth(nth).locator(f"input[name^='{prefix}-'][value='{value}']").check()
    page.locator("button.review").click()
    assert "Titta på dina svar" in page.content()
    page.locator("button[value='change']").click()
    # Back on the questions, the answers are still chosen; change the first one.
    if age == 6:
        assert page.locator("fieldset.question").nth(0).locator("input[value='little']").is_checked()
        page.locator("fieldset.question").nth(0).locator("input[name^='amount-'][value='quite']").check()
    else:
        key, value = next(iter(first.items()))
        assert page.locator("fieldset.question").nth(0).locator(f"input[name^='{key}-'][value='{value}']").is_checked()
        page.locator("fieldset.question").nth(0).locator("input[name^='answer-'][value='6']").check()
    page.locator("button.review").click()
    page.locator("button[value='send']").click()
    page.wait_for_url(re.compile(r"/r/thanks"))
    if age == 6:
        expected = [(None, "declined", "two_step"), (8, "rated", "two_step")]
    assert stored_ratings() == expected
    only_own_origin(phone_without_js, live_server)


def test_arabic_page_runs_right_to_left(phone, child_link, axe):
    page = phone.new_page()
    page.goto(child_link(language="ar", age=15, words=("أبي يصرخ",)))
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert_accessible(axe, page, "questions (ar)", every_rule=True)
    page.locator("fieldset.step:visible input[name^='answer-'][value='2']").tap()
    page.locator("button.next").tap()
    page.locator("button.next").tap()
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert stored_ratings() == [(2, "rated", "ten")]


@pytest.fixture
def neutral_site(phone):
    # No network here: the neutral exit site is answered locally, and only for this one address.
    phone.route(f"{EXIT}**", lambda route: route.fulfill(status=200, body="<title>Väder</title>weather",
                                                         content_type="text/html"))


@pytest.mark.parametrize("how", ["tap", "shift3"])
def test_quick_exit_replaces_the_page(phone, child_link, neutral_site, how):
    page = phone.new_page()
    page.goto(f"{child_link(age=15).rsplit('/r/', 1)[0]}/r/thanks")  # something before, in history
    page.goto(child_link(age=15))
    if how == "tap":
        page.locator(".exit").tap()
    else:
        page.locator("body").focus()
        for _ in range(3):
            page.keyboard.press("Shift")
    page.wait_for_url(EXIT)
    page.go_back()
    assert "Pappa skriker." not in page.content()


def test_exit_is_a_plain_link_without_javascript(phone_without_js, child_link):
    page = phone_without_js.new_page()
    page.goto(child_link())
    assert page.locator("a.exit").get_attribute("href") == EXIT


def test_offline_send_waits_and_stores_exactly_once(phone, child_link, live_server):
    page = phone.new_page()
    page.goto(child_link(age=15))
    tap_through(page, [lambda p: p.locator("fieldset.step:visible input[name^='answer-'][value='3']").tap(),
                       lambda p: p.locator("fieldset.step:visible input[name^='answer-'][value='8']").tap()])
    phone.set_offline(True)
    page.locator("button.send").tap()
    page.locator(".status").filter(has_text="uppkoppling").wait_for()
    assert "Pappa skriker." in page.locator("#check").inner_text()  # the answers are still on the page
    db.session.remove()
    assert db.session.scalar(select(func.count(Submission.id))) == 0
    phone.set_offline(False)
    page.wait_for_url(re.compile(r"/r/thanks"), timeout=15000)
    db.session.remove()
    assert db.session.scalar(select(func.count(Submission.id))) == 1
    assert stored_ratings() == [(3, "rated", "ten"), (8, "rated", "ten")]
    only_own_origin(phone, live_server)


def test_nothing_stays_on_the_device(phone, child_link):
    page = phone.new_page()
    page.goto(child_link(age=15))
    page.locator("fieldset.step:visible input[name^='answer-'][value='5']").tap()
    storage = page.evaluate("""async () => ({
        local: localStorage.length, session: sessionStorage.length,
        idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
        sw: navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0,
        cookie: document.cookie })""")
    assert storage == {"local": 0, "session": 0, "idb": 0, "sw": 0, "cookie": ""}
    assert phone.cookies() == []


@pytest.mark.parametrize("page_kind", ["gone", "already_sent", "not_active"])
def test_status_pages_are_accessible(phone, live_server, axe, page_kind):
    page = phone.new_page()
    path = {"gone": "/r/" + "x" * 32, "already_sent": "/r/sent?lang=sv", "not_active": "/r/open?lang=sv"}
    page.goto(live_server + path[page_kind])
    assert_accessible(axe, page, page_kind, every_rule=True)


def test_touch_targets_are_big_enough_and_nothing_scrolls_sideways(phone, child_link):
    page = phone.new_page()
    for view, age in (("ten", 15), ("six", 10), ("two_step", 6)):
        page.goto(child_link(age=age))
        sizes = page.evaluate("""() => Array.from(document.querySelectorAll(
            'fieldset.step:not([hidden]) label, .nav button:not([hidden]), a.exit'))
            .filter(e => e.offsetParent !== null)
            .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height, e.textContent.trim()]; })""")
        small = [s for s in sizes if s[0] < 44 or s[1] < 44]
        assert small == [], (view, small)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), view


@pytest.mark.parametrize(("width", "height"), [(640, 360), (320, 568), (180, 320)])
def test_fits_sideways_small_and_at_200_percent_zoom(browser, live_server, child_link, width, height):
    """180 CSS px wide is a 360 px phone at 200 % zoom; 640×360 is the phone held sideways."""
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(child_link(age=15))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("fieldset.step:visible input[name^='answer-'][value='7']").tap()
    page.locator("button.next").tap()
    assert page.locator("fieldset.step:visible .progress").inner_text() == "2 av 2"
    context.close()


def test_read_aloud_is_hidden_where_the_device_has_no_voice(phone, child_link):
    page = phone.new_page()
    page.goto(child_link(age=15))
    voices = page.evaluate("window.speechSynthesis ? speechSynthesis.getVoices().length : 0")
    visible = page.locator("button.speak:visible").count()
    assert (visible > 0) == (voices > 0)


@pytest.mark.parametrize("age", [15, 10])
def test_focus_is_never_hidden_under_the_sticky_exit_or_the_sticky_next(phone, child_link, age):
    page = phone.new_page()
    page.goto(child_link(age=age))
    for _ in range(40):
        page.keyboard.press("Tab")
        hidden = page.evaluate("""() => {
            const el = document.activeElement, exit = document.querySelector('.exit');
            const nav = document.querySelector('.nav');
            if (!el || el === exit || el === document.body || nav.contains(el)) return false;
            const r = el.getBoundingClientRect(), e = exit.getBoundingClientRect(), n = nav.getBoundingClientRect();
            return r.bottom <= e.bottom || r.top >= n.top;
        }""")
        assert not hidden, page.evaluate("document.activeElement.outerHTML")


def test_check_page_without_javascript_is_accessible(phone, child_link, axe):
    """The server's check page (the path without JavaScript), scanned where axe can run."""
    page = phone.new_page()
    page.goto(child_link(age=15))
    page.evaluate("""() => {
        const form = document.getElementById('answers');
        form.querySelectorAll("input[value='5'][name^='answer-']").forEach(i => { i.checked = true; });
        const intent = document.createElement('input');
        intent.type = 'hidden'; intent.name = 'intent'; intent.value = 'review';
        form.appendChild(intent);
        form.submit();
    }""")
    page.wait_for_selector("button[value='send']")
    assert_accessible(axe, page, "check page", every_rule=True)

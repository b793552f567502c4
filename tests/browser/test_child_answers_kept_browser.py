"""The child's answers are never lost, and the first screen is a question, in a real browser on a 360×640
touch phone, in Swedish and Arabic, with JavaScript and without:

- a change of view (more or fewer choices) or of language keeps every answer, the typed text too; a
  choice with no exact place in the new view is asked again, saying why; nothing is stored meanwhile;
- a reload mid-way asks first; the page it leads to says how to go on;
- the first question's words are on the first screen and "Next" is in reach without scrolling;
- the check shows what the child typed; no id twice; no button inside a label; each step its own title;
- axe, every rule (best practice included), on every step."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import ChildLink, Submission

from .conftest import assert_accessible, stored_ratings

TWO_LINES = {"sv": "Jag blir rädd när de bråkar hemma.", "ar": "أشعر بالخوف عندما يتشاجر أبي وأمي كثيرًا."}
WORDS = {"sv": (TWO_LINES["sv"], "Jag har inga kompisar.", "Pappa skriker."),
         "ar": (TWO_LINES["ar"], "ليس لدي أصدقاء.", "أبي يصرخ.")}
TYPED = {"sv": "Jag vill träffa mormor.", "ar": "أريد أن أرى جدتي."}
OTHER = {"sv": "ar", "ar": "sv"}
NEXT = {"sv": "Nästa", "ar": "التالي"}

# Where the first question and "Next" sit on the first screen, per language and view (printed with -s).
FIRST_SCREEN: dict[str, dict] = {}


def nothing_stored() -> bool:
    db.session.remove()
    return (db.session.scalar(select(func.count(Submission.id))) == 0
            and db.session.scalar(select(ChildLink.used_at).order_by(ChildLink.id.desc()).limit(1)) is None)


def problem_ids(page) -> list[str]:
    return page.eval_on_selector_all("fieldset.question", "els => els.map(e => e.id.slice(1))")


def pick(page, name: str, value: str, js: bool) -> None:
    radio = page.locator(f"input[name='{name}'][value='{value}']")
    radio.tap() if js else radio.check()


def next_step(page) -> None:
    page.locator("button.next").tap()


def visible_step(page) -> str:
    return page.evaluate("""() => {
        const step = [...document.querySelectorAll('[data-step], #check')].find(s => !s.hidden);
        return step ? step.id : null; }""")


def switch(page, name: str, value: str) -> None:
    """A change of view or language, as the child makes it: a button above the questions."""
    if name == "switch_lang":
        page.locator("details.languages > summary").click()
    with page.expect_navigation():
        page.locator(f"button[name='{name}'][value='{value}']").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off the side


def checked(page, name: str) -> str | None:
    return page.evaluate(f"""() => {{
        const input = document.querySelector("input[name='{name}']:checked");
        return input ? input.value : null; }}""")


@pytest.fixture(params=["js", "no-js"])
def js(request) -> bool:
    return request.param == "js"


@pytest.fixture
def phone_for(phone, phone_without_js):
    return lambda js: phone if js else phone_without_js


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_every_answer_survives_a_change_of_view_and_of_language(phone_for, child_link, js, lang):
    page = phone_for(js).new_page()
    page.goto(child_link(language=lang, age=10, words=WORDS[lang]))  # six faces, with "good enough"
    first, second, third = problem_ids(page)

    # Two questions answered (the first with its "good enough"); the third not yet.
    pick(page, f"answer-{first}", "8", js)
    pick(page, f"enough-{first}", "10", js)
    if js:
        next_step(page)
    pick(page, f"answer-{second}", "dont_know", js)
    if js:
        next_step(page)
        assert visible_step(page) == f"q{third}"

    # More choices: the ladder 1–10 has every value of six faces.
    switch(page, "switch_view", "ten")
    assert page.locator("input[name=view]").input_value() == "ten"
    assert page.locator(f"input[name='answer-{first}']").count() == 12  # ten values, two ways not to answer
    assert (checked(page, f"answer-{first}"), checked(page, f"enough-{first}")) == ("8", "10")
    assert checked(page, f"answer-{second}") == "dont_know" and checked(page, f"answer-{third}") is None
    if js:
        assert visible_step(page) == f"q{third}"  # where the child was
    assert nothing_stored()

    # A value only the ladder has, the typed words; then the other language.
    pick(page, f"answer-{third}", "7", js)
    if js:
        next_step(page)
        assert visible_step(page) == "more"
    page.locator("#added_text").fill(TYPED[lang])
    switch(page, "switch_lang", OTHER[lang])
    assert page.locator("html").get_attribute("lang") == OTHER[lang]
    assert page.locator("input[name=lang]").input_value() == OTHER[lang]
    assert [checked(page, f"answer-{p}") for p in (first, second, third)] == ["8", "dont_know", "7"]
    assert checked(page, f"enough-{first}") == "10"
    assert page.locator("#added_text").input_value() == TYPED[lang]
    if js:
        assert visible_step(page) == "more"

    # Fewer choices again: 8 and "don't know" have their place; 7 has none, so that question asks again.
    switch(page, "switch_view", "six")
    assert [checked(page, f"answer-{p}") for p in (first, second, third)] == ["8", "dont_know", None]
    assert checked(page, f"enough-{first}") == "10"
    again = page.locator(f"#q{third} .again")
    assert "7" in again.inner_text()
    assert page.locator(f"#q{third}").get_attribute("aria-describedby").strip() == f"q{third}-again-answer"
    assert page.locator("#ask-again").is_visible()
    if js:
        assert visible_step(page) == f"q{third}" and again.is_visible()  # the page opens at it,
        assert page.evaluate("document.activeElement.className") == "again"  # its reason first
    assert page.locator("#added_text").input_value() == TYPED[lang]
    assert nothing_stored()

    # Answer it, check, send: exactly what the child chose, in the view the child ended in.
    pick(page, f"answer-{third}", "5", js)
    if js:
        next_step(page)
        next_step(page)
        check = page.locator("#check")
        check.wait_for(state="visible")
        assert TYPED[lang] in check.inner_text()
        page.locator("button.send").tap()
    else:
        page.locator("button.review").click()
        assert TYPED[lang] in page.locator("main").inner_text()
        page.locator("button[value='send']").click()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert stored_ratings() == [(None, "dont_know", "six"), (5, "rated", "six"), (8, "rated", "six")]
    db.session.remove()
    assert db.session.scalar(select(Submission.added_text)) == TYPED[lang]


def test_two_steps_and_six_faces_carry_both_ways_and_half_an_answer_is_asked_again(phone_for, child_link, js):
    page = phone_for(js).new_page()
    page.goto(child_link(age=6))
    first, second = problem_ids(page)
    pick(page, f"good-{first}", "good", js)
    pick(page, f"amount-{first}", "little", js)
    pick(page, f"enough-{first}", "8", js)
    if js:
        next_step(page)
    pick(page, f"good-{second}", "not_good", js)  # half an answer: "how much" not chosen yet

    switch(page, "switch_view", "six")
    assert (checked(page, f"answer-{first}"), checked(page, f"enough-{first}")) == ("6", "8")
    assert checked(page, f"answer-{second}") is None
    assert "Inte bra" in page.locator(f"#q{second} .again").inner_text()
    if js:
        assert visible_step(page) == f"q{second}"

    switch(page, "switch_view", "two_step")
    assert (checked(page, f"good-{first}"), checked(page, f"amount-{first}")) == ("good", "little")
    assert checked(page, f"enough-{first}") == "8"
    assert page.locator(".again").count() == 0
    assert nothing_stored()


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize(("view", "age"), [("two_step", 6), ("six", 10), ("ten", 15)])
def test_the_first_screen_shows_the_first_question_and_next_is_in_reach(phone, child_link, lang, view, age):
    page = phone.new_page()
    page.goto(child_link(language=lang, age=age, words=WORDS[lang]))
    words = page.locator("fieldset.question").first.locator(".words")
    box = words.bounding_box()
    line = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('.words')).lineHeight)"))
    assert box["height"] < 2.5 * line, "the first problem should take two lines here"
    assert page.evaluate("window.scrollY") == 0
    assert box["y"] >= 48 and box["y"] + box["height"] <= 640, box
    positions = {"words": (round(box["y"]), round(box["y"] + box["height"]))}

    for step in range(len(WORDS[lang])):
        next_button = page.get_by_role("button", name=NEXT[lang])
        nb = next_button.bounding_box()
        assert nb["y"] >= 0 and nb["y"] + nb["height"] <= 640, (step, nb)
        # Nothing covers it: a tap at its middle reaches it.
        assert page.evaluate(f"document.elementFromPoint({nb['x'] + nb['width'] / 2}, {nb['y'] + nb['height'] / 2})"
                             ".closest('button.next') !== null"), step
        if step == 0:
            positions["next"] = (round(nb["y"]), round(nb["y"] + nb["height"]))
        # This question's words, and its first choice, are on screen too.
        current = page.locator("fieldset.question:visible")
        wb = current.locator(".words").bounding_box()
        assert wb["y"] >= 48 and wb["y"] + wb["height"] <= 640, (step, wb)
        choice = current.locator("label").first.bounding_box()
        assert choice["y"] + choice["height"] <= nb["y"], (step, choice, nb)
        if view == "two_step":
            current.locator("input[name^='good-'][value='good']").tap()
            current.locator("input[name^='amount-'][value='quite']").tap()
        else:
            current.locator("input[name^='answer-'][value='10']").tap()
        next_step(page)
    FIRST_SCREEN[f"{lang} {view}"] = positions
    print(f"\nfirst screen {lang} {view}: {positions}")


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_without_javascript_the_first_question_is_on_the_first_screen(phone_without_js, child_link, lang):
    page = phone_without_js.new_page()
    page.goto(child_link(language=lang, age=10, words=WORDS[lang]))
    box = page.locator("fieldset.question").first.locator(".words").bounding_box()
    assert box["y"] >= 48 and box["y"] + box["height"] <= 640, box
    print(f"\nfirst screen without JavaScript {lang}: words {round(box['y'])}–{round(box['y'] + box['height'])}")


def test_a_reload_mid_way_asks_first_and_the_page_after_says_how_to_go_on(phone, child_link):
    page = phone.new_page()
    page.goto(child_link(age=15))
    page.locator("fieldset.step:visible input[name^='answer-'][value='7']").tap()
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    # A pull-to-refresh is a reload: the page asks, and "stay" keeps every answer.
    page.evaluate("setTimeout(() => location.reload())")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.locator("fieldset.step:visible input[value='7']:checked").count() == 1
    # "Leave" goes to the neutral page, which says how to go on.
    with page.expect_navigation():
        page.evaluate("setTimeout(() => location.reload())")
    assert asked == ["beforeunload", "beforeunload"]
    assert "/r/open" in page.url
    # In the child's language; it says how to go on (open the link again; an adult's device: ask them).
    assert page.locator("h1").inner_text() == "Sidan är inte aktiv"
    assert "öppna din länk igen" in page.locator("main").inner_text().lower()
    assert page.locator("main p").count() == 3


def test_nothing_asks_before_the_quick_exit_a_change_of_view_or_sending(phone, child_link, live_server):
    page = phone.new_page()
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.goto(child_link(age=15))
    page.locator("fieldset.step:visible input[name^='answer-'][value='7']").tap()
    switch(page, "switch_view", "six")  # 7 is asked again
    page.locator("fieldset.step:visible input[name^='answer-'][value='8']").tap()
    next_step(page)
    page.locator("fieldset.step:visible input[name^='answer-'][value='declined']").tap()
    next_step(page)
    next_step(page)
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert asked == []
    assert stored_ratings() == [(None, "declined", "six"), (8, "rated", "six")]

    page.route("https://www.smhi.se/**", lambda route: route.fulfill(status=200, body="weather",
                                                                     content_type="text/html"))
    page.goto(child_link(age=15))
    page.locator("fieldset.step:visible input[name^='answer-'][value='3']").tap()
    page.locator(".exit").tap()
    page.wait_for_url("https://www.smhi.se/")
    assert asked == []


def test_the_check_shows_the_typed_words_each_answer_in_its_view_and_no_id_twice(phone, child_link, axe):
    page = phone.new_page()
    page.goto(child_link(age=6))
    page.locator("fieldset.step:visible input[name^='good-'][value='good']").tap()
    page.locator("fieldset.step:visible input[name^='amount-'][value='little']").tap()
    page.locator("fieldset.step:visible input[name^='enough-'][value='8']").tap()
    next_step(page)
    page.locator("fieldset.step:visible input[name^='answer-'][value='declined']").tap()
    next_step(page)
    page.locator("#added_text").fill("Jag vill träffa mormor.")
    next_step(page)
    check = page.locator("#check")
    text = re.sub(r"\s+", " ", check.inner_text())
    assert "Bra · Lite" in text and "Bra nog: Bra · Ganska" in text and "Jag vill inte svara" in text
    assert "Jag vill träffa mormor." in text
    assert check.locator("svg.face").count() == 1
    ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))
    # "Change" beside the typed words goes back to them.
    check.locator(".added button").tap()
    assert visible_step(page) == "more"


@pytest.mark.parametrize(("view", "age"), [("two_step", 6), ("six", 10), ("ten", 15)])
def test_listen_buttons_sit_beside_the_choices_never_inside(phone, child_link, view, age):
    page = phone.new_page()
    page.goto(child_link(age=age))
    assert page.locator("label button, label a, label details").count() == 0
    assert page.locator("ol.ladder li > button.speak, .greeting button.speak").count() >= 1
    # Every choice's name is its own words and number only.
    names = page.eval_on_selector_all("fieldset.question label", "els => els.map(e => e.textContent)")
    assert not any("Lyssna" in n for n in names)


def test_each_step_has_a_title_of_its_own_that_names_no_topic(phone, child_link, live_server):
    page = phone.new_page()
    page.goto(child_link(age=15))
    titles = [page.title()]
    for _ in range(2):
        page.locator("fieldset.step:visible input[name^='answer-'][value='5']").tap()
        next_step(page)
        titles.append(page.title())
    next_step(page)
    titles.append(page.title())
    assert titles == ["1 av 2 – Frågor", "2 av 2 – Frågor", "Är det något mer du vill skriva? – Frågor",
                      "Titta på dina svar – Frågor"]
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert page.title() == "Tack! – Frågor"
    page.goto(f"{live_server}/r/open?lang=sv")
    assert page.title() == "Sidan är inte aktiv – Frågor"


def _all_steps(page, axe, what: str) -> None:
    """axe on each step of the page with JavaScript, one question at a time, through the check."""
    step = 0
    while page.locator("#check").is_hidden():
        assert_accessible(axe, page, f"{what}, step {step + 1}", every_rule=True)
        current = page.locator("fieldset.step:visible")
        if current.count():
            pair = current.locator("input[name^='good-'][value='not_good']")
            if pair.count():
                pair.tap()
                current.locator("input[name^='amount-'][value='very']").tap()
            else:
                current.locator("input[name^='answer-'][value='dont_know']").tap()
        next_step(page)
        step += 1
    assert_accessible(axe, page, f"{what}, check", every_rule=True)


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize(("view", "age"), [("two_step", 6), ("six", 10), ("ten", 15)])
def test_every_step_passes_every_axe_rule(phone, child_link, axe, lang, view, age):
    page = phone.new_page()
    page.goto(child_link(language=lang, age=age, words=WORDS[lang]))
    page.locator("details.about > summary").click()
    page.locator("details.languages > summary").click()
    _all_steps(page, axe, f"{lang} {view}")
    page.locator("button.send").tap()
    page.wait_for_url(re.compile(r"/r/thanks"))
    assert_accessible(axe, page, f"{lang} thanks", every_rule=True)


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_a_question_asked_again_and_the_check_page_without_javascript_pass_every_axe_rule(phone, child_link, axe,
                                                                                         lang):
    page = phone.new_page()
    page.goto(child_link(language=lang, age=15, words=WORDS[lang]))
    page.locator("fieldset.step:visible input[name^='answer-'][value='7']").tap()
    switch(page, "switch_view", "six")
    assert page.locator(".again").is_visible()
    assert_accessible(axe, page, f"{lang} asked again", every_rule=True)
    # The server's check page (the path without JavaScript), reached as a form without script would.
    page.evaluate("""() => {
        const form = document.getElementById('answers');
        form.querySelectorAll("input[value='declined']").forEach(i => { i.checked = true; });
        form.querySelector("textarea").value = "x";
        const intent = document.createElement('input');
        intent.type = 'hidden'; intent.name = 'intent'; intent.value = 'review';
        form.appendChild(intent);
        form.submit();
    }""")
    page.wait_for_selector("button[value='send']")
    assert_accessible(axe, page, f"{lang} check page", every_rule=True)


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize(("view", "age"), [("two_step", 6), ("six", 10), ("ten", 15)])
def test_the_page_as_it_is_without_javascript_passes_every_axe_rule(phone, child_link, axe, lang, view, age):
    """Every question at once, as a browser without JavaScript shows it (the script is kept away; axe
    itself needs a page that runs scripts)."""
    phone.route("**/static/js/child.js*", lambda route: route.abort())
    page = phone.new_page()
    page.goto(child_link(language=lang, age=age, words=WORDS[lang]))
    assert page.locator("fieldset.question:visible").count() == 3 and page.locator("button.review").is_visible()
    page.locator("details.about > summary").click()
    assert_accessible(axe, page, f"{lang} {view} without JavaScript", every_rule=True)


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize("kind", ["gone", "already_sent", "not_active", "thanks", "try_again"])
def test_every_status_page_passes_every_axe_rule(phone, child_link, live_server, axe, lang, kind):
    page = phone.new_page()
    paths = {"gone": "/r/" + "x" * 32, "already_sent": f"/r/sent?lang={lang}", "not_active": f"/r/open?lang={lang}",
             "thanks": f"/r/thanks?lang={lang}"}
    if kind == "try_again":
        page.goto(child_link(language=lang))
        page.evaluate("""() => { const form = document.getElementById('answers');
            form.querySelector("input[name=form_token]").value = 'forged'; form.submit(); }""")
        page.wait_for_load_state()
    else:
        page.set_extra_http_headers({"Accept-Language": lang})
        page.goto(live_server + paths[kind])
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(axe, page, f"{lang} {kind}", every_rule=True)

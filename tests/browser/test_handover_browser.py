"""The social worker reads the closure handover on a laptop (1366×768, as most of them have): the first
screen is the child's problems in the child's words, with the child's ratings, before anything else."""

from __future__ import annotations

import re

import pytest

from kidrate.extensions import db
from kidrate.models import Case, ProblemTranslation

from ..factories import Factory
from ..red_thread.test_documents import close, rate
from .conftest import assert_accessible

LAPTOP = {"width": 1366, "height": 768}
WORDS = ("Jag blir så rädd när mamma och pappa bråkar att jag skakar.", "أريد أن أرى جدتي",
         "Jag går inte till skolan för att jag måste hålla koll på dem hemma.",
         "Jag har inga kompisar och sitter mest på rummet.")


@pytest.fixture
def laptop(browser, live_server):
    context = browser.new_context(viewport=LAPTOP, base_url=live_server)
    yield context
    context.close()


@pytest.fixture
def handover_url(make: Factory, live_server) -> str:
    sw = make.user("social_worker", username="laptop-reader")
    therapist = make.user("therapist")
    case = make.case(sw, therapist=therapist, words=WORDS, investigation=("Föräldrarna bråkar.",),
                     case_ref="BOU-LAPTOP-1")
    ids = [p.id for p in case.problems if p.source == "child"]
    arabic = db.session.get(Case, case.id).problems[1]
    arabic.words_language = "ar"
    db.session.add(ProblemTranslation(problem_id=arabic.id, language="sv", words="Jag vill träffa min mormor."))
    db.session.commit()
    rate(case.id, "start", dict(zip(ids, (2, 3, 1, "declined"), strict=True)), added_text="Jag vill att pappa slutar.")
    rate(case.id, "follow_up", dict(zip(ids, (4, 4, 3, 5), strict=True)))
    rate(case.id, "closure", dict(zip(ids, (7, 6, 5, "dont_know"), strict=True)))
    close(case.id, therapist)
    return f"/staff/cases/{case.id}/handovers/1"


def sign_in(page) -> None:
    page.goto("/staff/sign-in")
    page.fill("input[name=username]", "laptop-reader")
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/"))


def test_the_first_screen_of_the_handover_is_the_childs_words(laptop, handover_url, axe):
    page = laptop.new_page()
    sign_in(page)
    page.goto(handover_url)
    first = page.locator("ol.child-problems > li").first
    words = first.locator(".problem-words bdi.child-words")
    assert words.inner_text() == WORDS[0]
    assert words.evaluate("e => getComputedStyle(e).fontStyle") == "normal"
    assert words.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    # Within the first viewport, unscrolled: the child's words and the ratings start → follow-up → closure.
    assert page.evaluate("window.scrollY") == 0
    for part in (words, first.locator("ol.trajectory")):
        box = part.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"], box
    trajectory = " ".join(first.locator("ol.trajectory").inner_text().split())
    assert re.fullmatch(r"Start 2 → \S+ 4 → \S+ 7", trajectory), trajectory
    # The case details come after the child's voice.
    details = page.locator("section.case-details").bounding_box()
    assert details["y"] > words.bounding_box()["y"]
    # Arabic words run right to left inside their isolate, in a left-to-right page.
    arabic = page.locator("ol.child-problems > li").nth(1).locator(".problem-words bdi")
    assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert_accessible(axe, page, "the closure handover")

"""Recordings on the child's page in a real browser: a Somali page, on a phone with no Somali voice,
still offers Listen where the texts are recorded, loads nothing before the tap, and asks for the
recordings when tapped."""

from __future__ import annotations

import io
import wave

import pytest

from kidrate.extensions import db
from kidrate.languages.recordings import message_key
from kidrate.models import Case, Recording

from .conftest import assert_accessible

# The device has no voice at all: only recordings can make Listen appear.
NO_VOICES = """(() => {
  if (window.speechSynthesis) {
    Object.defineProperty(window.speechSynthesis, "getVoices", { value: function () { return []; } });
  }
})();"""


def short_wav(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


@pytest.fixture
def somali_page(make, live_server):
    """A Somali link whose first problem and the question before it are recorded in Somali."""
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Aabbe ayaa i qayliya.", "Waan keligay."),
                     age=15, child_language="so")
    first, second = (p.id for p in db.session.get(Case, case.id).problems)
    question = Recording(organisation_id=make.org().id, message_key=message_key("How is it now with:"),
                         language="so", mime="audio/wav", data=short_wav())
    problem = Recording(problem_id=first, language="so", mime="audio/wav", data=short_wav())
    db.session.add_all([question, problem])
    db.session.commit()
    token = make.link(case, language="so")
    return {
        "url": f"{live_server}/r/{token}",
        "question": f"/r/{token}/audio/{question.id}?lang=so",
        "problem": f"/r/{token}/audio/{problem.id}",
        "first": f"q{first}", "second": f"q{second}",
    }


def test_recorded_texts_are_played_on_tap_even_without_a_voice(phone, somali_page, live_server):
    phone.add_init_script(NO_VOICES)
    page = phone.new_page()
    page.goto(somali_page["url"])
    assert page.locator("html").get_attribute("lang") == "so"
    assert page.evaluate("window.speechSynthesis ? speechSynthesis.getVoices().length : 0") == 0

    q1, q2 = somali_page["first"], somali_page["second"]
    listen = page.locator(f"#{q1} button.speak[data-speak='{q1}-q {q1}-w']")
    assert listen.is_visible()
    # Texts without a recording get no button on a device without the voice.
    assert page.locator("section.greeting button.speak").is_hidden()
    assert page.locator(f"#{q2} button.speak[data-speak='{q2}-q {q2}-w']").get_attribute("hidden") is not None
    assert page.locator(".speak-hint").is_visible()

    page.wait_for_load_state("networkidle")
    assert [u for u in phone.requests if "/audio/" in u] == []  # nothing loads before the tap

    with page.expect_request(lambda r: r.url == live_server + somali_page["question"]):
        listen.tap()
    # The question first, then the child's words: one after the other.
    page.wait_for_event("request", lambda r: r.url == live_server + somali_page["problem"], timeout=10000)
    heard = [u.removeprefix(live_server) for u in phone.requests if "/audio/" in u]
    assert heard[0] == somali_page["question"] and somali_page["problem"] in heard
    assert all(u.startswith(live_server) or u.startswith("data:") for u in phone.requests)


def test_somali_questions_page_is_accessible(phone, somali_page, axe):
    phone.add_init_script(NO_VOICES)
    page = phone.new_page()
    page.goto(somali_page["url"])
    assert page.locator("html").get_attribute("lang") == "so"
    q1 = somali_page["first"]
    assert page.locator(f"#{q1} button.speak[data-speak='{q1}-q {q1}-w']").is_visible()
    assert_accessible(axe, page, "questions (so)", every_rule=True)

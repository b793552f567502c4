"""The message sent with a child's link (to the child, or to the guardian), its date, the translator
notes in the child's catalogue, and the words of the child's page that come from the catalogue
(the language menu's label, the quotation marks around the child's words)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.pofile import read_po

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.languages.i18n import CHILD_LOCALES, child_domain, language_name
from kidrate.languages.link_message import link_message, numeric_date, suggested_addressee
from kidrate.models import Case

from ..conftest import post_form, sign_in
from .test_catalogue_walls import catalogue_saying

URL = "https://example.se/r/abc"
LAST_DAY = date(2026, 12, 21)
NUMERIC = re.compile(r"^[0-9./\- \u200f]+$")


def messages(app, language: str) -> tuple[str, str]:
    with app.test_request_context():
        return (link_message(URL, LAST_DAY, language, "child"), link_message(URL, LAST_DAY, language, "guardian"))


@pytest.mark.parametrize("language", CHILD_LOCALES)
def test_the_last_day_is_written_in_numbers_with_the_full_year(language):
    written = numeric_date(LAST_DAY, language)
    assert NUMERIC.match(written), written
    assert "2026" in written and "21" in written and "12" in written
    # Day before month wherever the year does not come first (no 12/21/26 as in the United States).
    if not written.startswith("2026"):
        assert written.index("21") < written.index("12"), written


@pytest.mark.parametrize("language", CHILD_LOCALES)
def test_both_messages_exist_in_every_language_with_the_date_and_the_link(app, language):
    child, guardian = messages(app, language)
    for text in (child, guardian):
        lines = text.splitlines()
        assert len(lines) == 4 and lines[-1] == URL
        assert numeric_date(LAST_DAY, language) in lines[2]
        assert "%(" not in text
    assert child.splitlines()[0] != guardian.splitlines()[0]


def test_swedish_messages(app):
    child, guardian = messages(app, "sv")
    assert child.splitlines()[0] == "Hej! Här är några frågor till dig från den som hjälper dig och din familj."
    assert "Du kan skicka svar en gång med länken, till och med 2026-12-21:" in child
    # To the guardian: about "your child", never to the child.
    assert "ditt barn" in guardian and "till dig" not in guardian and "Du bestämmer" not in guardian
    assert "Svaren kan skickas en gång med länken, till och med 2026-12-21:" in guardian
    for text in (child, guardian):
        assert "fungerar en gång" not in text and "december" not in text


def test_polish_messages(app):
    child, guardian = messages(app, "pl")
    assert child.startswith("Cześć!")
    assert "Możesz wysłać odpowiedzi przez ten link jeden raz, do 21.12.2026 włącznie:" in child
    # Polite to a parent: "Dzień dobry", "Państwa", no "Cześć" and no "ty" forms.
    assert guardian.startswith("Dzień dobry!") and "Państwa dziecka" in guardian
    assert "Cześć" not in guardian and "twoj" not in guardian.lower() and "ciebie" not in guardian
    assert "Odpowiedzi można wysłać przez ten link jeden raz, do 21.12.2026 włącznie:" in guardian
    for text in (child, guardian):
        assert "Link działa jeden raz" not in text and "grudnia" not in text


def test_arabic_messages(app):
    child, guardian = messages(app, "ar")
    arabic_date = "21\u200f/12\u200f/2026"  # CLDR's Arabic numeric order, right-to-left marks included
    assert child.startswith("مرحبًا!")
    assert f"يمكنك إرسال إجاباتك مرة واحدة بهذا الرابط، حتى نهاية يوم {arabic_date}:" in child
    # To the guardian: a written greeting and the respectful plural, no "Hi".
    assert "مرحبًا" not in guardian and guardian.startswith("تحية طيبة")
    assert "لطفلكم" in guardian
    assert f"يمكن إرسال الإجابات مرة واحدة بهذا الرابط، حتى نهاية يوم {arabic_date}:" in guardian
    for text in (child, guardian):
        assert "الرابط يعمل مرة واحدة فقط" not in text


def test_the_sami_sentence_carries_a_numeric_date(app):
    child, guardian = messages(app, "se")
    assert "maŋimuš beaivi lea 21.12.2026:" in child and "maŋimuš beaivi lea 21.12.2026:" in guardian
    assert "juovlamánnu" not in child


@pytest.mark.parametrize(("age", "expected"), [(6, "guardian"), (12, "guardian"), (13, "child"), (17, "child")])
def test_the_suggested_message_follows_the_childs_age(age, expected):
    assert suggested_addressee(age) == expected


@pytest.mark.parametrize(("age", "first", "second"), [(14, "child", "guardian"), (9, "guardian", "child")])
def test_the_link_page_opens_the_suggested_message_and_keeps_the_other_one_tap_away(app, make, age, first, second):
    therapist = make.user("therapist", username="tess")
    case = make.case(make.user("social_worker"), therapist=therapist, age=age, family_languages=["sv", "pl"])
    client = app.test_client()
    sign_in(client, "tess")
    page = f"/staff/cases/{case.id}"
    response = post_form(client, page, f"{page}/rounds/start/links", {"language": "sv"}, follow_redirects=True)
    assert response.status_code == 200
    html = response.text
    # Both messages, in a <details> each: no script and no second request needed to switch.
    assert re.search(rf'<details class="message-to" id="message-to-{first}" open>', html)
    assert re.search(rf'<details class="message-to" id="message-to-{second}">', html)
    assert html.index(f"message-to-{first}") < html.index(f"message-to-{second}")
    for who in ("child", "guardian"):
        for code in ("sv", "pl"):
            assert f'id="message-{who}-{code}"' in html
    assert "suggested for the child&#39;s age" in html
    # One link was issued, however the page is read.
    db.session.remove()
    assert len(db.session.get(Case, case.id).round("start").links) == 1


# --- Translator notes ------------------------------------------------------------------------------

NOTED = [
    "Good", "OK", "Hard", "Change", "Next", "Quite", "Very", "A little", "Listen",
    "Show the words as they were said", "Questions", "This page is not active",
    "What you wrote has a sign we cannot save. Please write the text again without that sign.",
    "“%(words)s”", "Language: %(name)s", "Which number would be good enough?",
    "The person who helps you will read your answers. If you tell us that you are not safe, "
    "the adults who work here must help you.",
    "You can send answers once with this link, until %(date)s:",
    "Answers can be sent once with this link, until %(date)s:",
    "Hello. Here are some questions for your child from the person who works with your family.",
]


def _template():
    with (PROJECT_ROOT / "translations" / "child.pot").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("msgid", NOTED)
def test_ambiguous_child_strings_carry_a_translator_note(msgid):
    message = _template().get(msgid)
    assert message is not None, msgid
    assert message.auto_comments, f"no #. note for {msgid!r}"


@pytest.mark.parametrize("locale", [code for code in CHILD_LOCALES if code != "en"])
def test_the_notes_reach_every_catalogue(locale):
    with (PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "child.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    assert catalog.get("Quite").auto_comments and catalog.get("“%(words)s”").auto_comments


def test_the_swedish_child_catalogue_is_reviewed_and_the_others_are_drafts(app):
    assert "sv" not in app.extensions["kidrate.child_drafts"]
    assert set(app.extensions["kidrate.child_drafts"]) == {code for code in CHILD_LOCALES if code not in {"sv", "en"}}


# --- Words of the page that come from the catalogue ----------------------------------------------


@pytest.fixture
def swedish_words_case(make):
    return make.case(make.user("social_worker"), therapist=make.user("therapist"), words=("Ord",))


def test_the_language_label_and_the_quotation_marks_come_from_the_catalogue(app, make, swedish_words_case):
    token = make.link(swedish_words_case, language="sv")
    page = app.test_client().get(f"/r/{token}").text
    assert "Språk: Svenska" in page and "”<bdi>Ord</bdi>”" in page and "“" not in page
    with catalogue_saying(child_domain, "sv", {"Language: %(name)s": "Välj språk (nu %(name)s)",
                                               "“%(words)s”": "»%(words)s«"}):
        page = app.test_client().get(f"/r/{token}").text
    assert "Välj språk (nu Svenska)" in page and "»<bdi>Ord</bdi>«" in page


def test_right_to_left_pages_keep_their_quotation_marks_around_isolated_words(app, make, swedish_words_case):
    arabic = app.test_client().get(f"/r/{make.link(swedish_words_case, language='ar')}").text
    # Arabic marks, the Swedish words isolated with their own language and direction.
    assert '«<bdi lang="sv" dir="ltr">Ord</bdi>»' in arabic
    assert f"اللغة: {language_name('ar')}" in arabic
    polish = app.test_client().get(f"/r/{make.link(swedish_words_case, 'follow_up', language='pl')}").text
    assert '„<bdi lang="sv" dir="ltr">Ord</bdi>”' in polish


def test_sorani_is_named_as_families_look_for_it(app, make, swedish_words_case):
    assert language_name("ckb") == "کوردی سۆرانی"
    page = app.test_client().get(f"/r/{make.link(swedish_words_case, language='sv')}").text
    assert "سۆرانی" in page and "ناوەندی" not in page

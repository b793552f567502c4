"""The follow-up meeting page: the child's answers as faces, in the child's words and language, for
therapist and child to look at together; nothing professional on it; only the case's therapist."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages.i18n import child_domain
from kidrate.models import (
    AuditEvent,
    Case,
    ChildLink,
    Problem,
    ProblemTranslation,
    Rating,
    RatingRound,
    Submission,
)
from kidrate.red_thread import together

from ..conftest import sign_in
from ..factories import Factory

GOAL = "Trygg hemma"
INVESTIGATION = "Föräldrarna bråkar mycket enligt skolan."
SAID_SV = "Pappa slår mig."
IN_ARABIC = "أبي يضربني."
SAID_AR = "ليس لدي أصدقاء."


def child_says(app, msgid: str, locale: str) -> str:
    with app.test_request_context():
        child_domain.as_default()
        with force_locale(locale):
            return child_domain.gettext(msgid)


def answer(case: Case, kind: str, answers: dict[int, tuple[str, int | None, int | None]]) -> None:
    """Store a submission for a round directly (the child's form is tested elsewhere)."""
    case = db.session.get(Case, case.id)
    link = db.session.scalar(select(ChildLink).join(RatingRound).where(RatingRound.case_id == case.id,
                                                                       RatingRound.kind == kind))
    sub = Submission(round_id=link.round_id, link_id=link.id)
    sub.ratings = [Rating(problem_id=pid, answer=a, value=v, good_enough=e) for pid, (a, v, e) in answers.items()]
    db.session.add(sub)
    db.session.commit()


@pytest.fixture
def meeting(app, make: Factory):
    sw = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="tess")
    case = make.case(sw, therapist=therapist, words=(SAID_SV,), investigation=(INVESTIGATION,),
                     child_language="ar", case_ref="BOU-2026-77")
    case = db.session.get(Case, case.id)
    arabic = Problem(case_id=case.id, source="child", words=SAID_AR, words_language="ar",
                     category="child_mental_health", goal="Kompisar i skolan")
    db.session.add(arabic)
    first = next(p for p in case.problems if p.words == SAID_SV)
    db.session.add(ProblemTranslation(problem_id=first.id, language="ar", words=IN_ARABIC))
    db.session.commit()
    make.link(case, "start", language="ar")
    answer(case, "start", {first.id: ("rated", 3, 7), arabic.id: ("declined", None, None)})
    return {"case": case, "first": first.id, "arabic": arabic.id}


def test_the_page_shows_faces_and_the_childs_words_in_the_childs_language(app, make, meeting):
    client = app.test_client()
    sign_in(client, "tess")
    page = client.get(f"/staff/cases/{meeting['case'].id}/together")
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    # The start answer as a face, with its number in words; the declined one in the child's language.
    assert re.search(r'<svg class="big-face"[^>]*><use href="/static/img/faces.svg\?v=\w+#f3">', page.text)
    assert child_says(app, "%(number)s of 10", "ar") % {"number": 3} in page.text
    assert child_says(app, "I don't want to answer", "ar") in page.text
    assert child_says(app, "Good enough: %(number)s", "ar") % {"number": 7} in page.text
    # The child's words in the page's language, the words as said one tap away.
    assert IN_ARABIC in page.text and SAID_AR in page.text
    assert re.search(r"<details class=\"original\">.*?" + re.escape(SAID_SV), page.text, re.S)
    # In the page's own quotation marks (Arabic «»), the Swedish words isolated in their own direction.
    assert f'«<bdi lang="sv" dir="ltr">{SAID_SV}</bdi>»' in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_nothing_professional_on_the_page(app, make, meeting):
    client = app.test_client()
    sign_in(client, "tess")
    text = client.get(f"/staff/cases/{meeting['case'].id}/together").text
    for professional in (GOAL, "Kompisar i skolan", INVESTIGATION, "BOU-2026-77", "Subjected to violence",
                         "Utsatt för våld", "Sign out", "Logga ut", "tess", "therapist"):
        assert professional not in text, professional


def test_the_language_can_be_switched_and_rounds_not_yet_answered_say_so(app, make, meeting):
    client = app.test_client()
    sign_in(client, "tess")
    url = f"/staff/cases/{meeting['case'].id}/together"
    page = client.get(f"{url}?lang=en")
    assert '<html lang="en" dir="ltr">' in page.text
    assert SAID_SV in page.text and "At the start" in page.text and "Not yet" in page.text
    assert page.text.count("Not yet") == 4  # two problems, two rounds still to come
    assert "3 of 10" in page.text and "I don&#39;t want to answer" in page.text
    swedish = client.get(f"{url}?lang=sv").text
    assert '<html lang="sv" dir="ltr">' in swedish and child_says(app, "I don't want to answer", "sv") in swedish
    # A language the child's pages do not speak falls back to the child's own.
    assert '<html lang="ar" dir="rtl">' in client.get(f"{url}?lang=xx%3Cscript%3E").text
    # The language menu offers the others; the staff side keeps its own language afterwards.
    assert f'href="{url}?lang=fa"' in page.text
    assert '<html lang="en"' in client.get("/staff/cases").text


def test_the_view_is_logged_and_reachable_from_the_case_page(app, make, meeting):
    client = app.test_client()
    sign_in(client, "tess")
    case_id = meeting["case"].id
    assert f'href="/staff/cases/{case_id}/together"' in client.get(f"/staff/cases/{case_id}").text
    client.get(f"/staff/cases/{case_id}/together")
    db.session.remove()
    assert db.session.scalar(select(AuditEvent.case_id).where(AuditEvent.action == "view_together")) == case_id


def test_only_the_cases_therapist_may_open_it(app, make, meeting):
    make.user("therapist", username="other")
    url = f"/staff/cases/{meeting['case'].id}/together"
    for who, status in (("sw", 403), ("other", 404)):
        client = app.test_client()
        sign_in(client, who)
        response = client.get(url)
        assert response.status_code == status, who
        assert SAID_SV not in response.text and IN_ARABIC not in response.text
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.headers["Location"]
    assert app.test_client().get("/staff/cases/999999/together").status_code == 302


def test_a_closed_case_shows_no_answer_rather_than_not_yet(app, make, meeting):
    case = db.session.get(Case, meeting["case"].id)
    case.status = "closed"
    db.session.commit()
    client = app.test_client()
    sign_in(client, "tess")
    page = client.get(f"/staff/cases/{case.id}/together?lang=en")
    assert page.status_code == 200 and "Not yet" not in page.text


# --- The rows, without a database ------------------------------------------------------------------


def test_rows_in_round_order_with_each_kind_of_answer():
    words = [together.ChildWords(1, "A", "sv"), together.ChildWords(2, "B", "sv")]
    answers = {(1, "start"): together.Answer("rated", 4, 8), (2, "start"): together.Answer("dont_know"),
               (1, "follow_up"): together.Answer("rated", 6)}
    rows = together.rows(words, answers, {"start", "follow_up"})
    assert [(c.round, c.state, c.value) for c in rows[0].cells] == [
        ("start", "face", 4), ("follow_up", "face", 6), ("closure", "not_yet", None)]
    # A sent round without this problem in it: no answer, not "not yet".
    assert [c.state for c in rows[1].cells] == ["dont_know", "none", "not_yet"]
    assert rows[0].good_enough == 8 and rows[1].good_enough is None


def test_rows_of_a_closed_case_never_say_not_yet():
    rows = together.rows([together.ChildWords(1, "A", "sv")], {}, set(), case_closed=True)
    assert [c.state for c in rows[0].cells] == ["none", "none", "none"]


def test_a_value_off_the_scale_is_not_drawn_as_a_face():
    cell = together.cell("start", together.Answer("rated", 11), round_answered=True, case_closed=False)
    assert cell.state == "none"


@pytest.mark.parametrize(("said_lang", "translated", "page", "expected"), [
    ("sv", "Pappa slår mig.", "sv", ("Pappa slår mig.", "sv", None)),  # said in the page's language
    ("sv", "أبي يضربني.", "ar", ("أبي يضربني.", "ar", "Pappa slår mig.")),  # translated
    ("sv", None, "ar", ("Pappa slår mig.", "sv", None)),  # not translated: as said, in its own language
    (None, "Pappa slår mig.", "ar", ("Pappa slår mig.", "ar", None)),  # language never recorded
])
def test_words_for_a_page(said_lang, translated, page, expected):
    shown = together.words_for(1, "Pappa slår mig.", said_lang, translated, page)
    assert (shown.words, shown.lang, shown.original) == expected


def test_each_cell_keeps_the_view_the_child_answered_in_and_good_enough_the_starts():
    words = [together.ChildWords(1, "A", "sv")]
    answers = {(1, "start"): together.Answer("rated", 6, 8, "two_step"),
               (1, "follow_up"): together.Answer("declined", view="six")}
    row = together.rows(words, answers, {"start", "follow_up"})[0]
    assert [(c.state, c.value, c.view) for c in row.cells] == [
        ("face", 6, "two_step"), ("declined", None, "six"), ("not_yet", None, "ten")]
    assert (row.good_enough, row.good_enough_view) == (8, "two_step")

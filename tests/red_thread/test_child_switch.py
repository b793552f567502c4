"""A change of view or language on the child's page without JavaScript: the form posts itself with the
answers, the server shows the page again with them checked (by the scale's mapping between views),
stores nothing and consumes nothing; anything odd gets a clear message, never a 500. Plus each answer
in the words of its own view: on the check page and on the follow-up page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import Case, ChildLink, Rating, Submission

from ..childform import hidden_fields
from ..conftest import sign_in


@pytest.fixture
def child(make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist", username="tess"), words=("Pappa skriker.", "Jag är ensam."),
                     age=15)
    token = make.link(case, "start", language="en")
    first, second = (p.id for p in db.session.get(Case, case.id).problems)
    return {"case": case, "token": token, "first": first, "second": second}


def page_and_fields(client, child) -> tuple[str, dict[str, str]]:
    page = client.get(f"/r/{child['token']}")
    assert page.status_code == 200
    return page.text, hidden_fields(page.text)


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{re.escape(name)}" value="([^"]+)" checked>', html)


def nothing_stored() -> bool:
    db.session.remove()
    return (db.session.scalar(select(func.count(Submission.id))) == 0
            and db.session.scalar(select(func.count(Rating.id))) == 0
            and db.session.scalar(select(ChildLink.used_at)) is None)


def test_the_page_offers_view_and_language_as_buttons_of_the_answers_form(client, child):
    html, _fields = page_and_fields(client, child)
    assert '<button type="submit" form="answers" name="switch_view" value="six"' in html
    assert '<button type="submit" form="answers" name="switch_lang" value="ar"' in html
    assert f'href="/r/{child["token"]}?' not in html  # no switch drops the answers by a plain link


def test_a_change_of_view_keeps_every_answer_that_has_its_place_and_asks_again_for_the_rest(client, child):
    _html, fields = page_and_fields(client, child)
    first, second = child["first"], child["second"]
    data = {**fields, f"answer-{first}": "8", f"enough-{first}": "7", f"answer-{second}": "declined",
            "added_text": "Jag vill träffa mormor.", "switch_view": "six"}
    response = client.post(f"/r/{child['token']}", data=data)
    assert response.status_code == 200
    html = response.text
    assert 'name="view" value="six"' in html
    assert checked(html, f"answer-{first}") == ["8"] and checked(html, f"answer-{second}") == ["declined"]
    assert checked(html, f"enough-{first}") == []  # 7 is no choice of six faces: asked again, saying why
    assert f'id="q{first}-again-enough"' in html and "You chose “7”" in html
    assert 'id="ask-again"' in html and f'href="#q{first}"' in html
    assert f'id="q{second}-again' not in html
    assert "Jag vill träffa mormor." in html
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers
    assert nothing_stored()


def test_a_change_of_language_keeps_every_answer_and_speaks_the_new_language(client, child):
    _html, fields = page_and_fields(client, child)
    first, second = child["first"], child["second"]
    data = {**fields, f"answer-{first}": "7", f"enough-{first}": "9", f"answer-{second}": "dont_know",
            "switch_lang": "ar", "step": "1"}
    html = client.post(f"/r/{child['token']}", data=data).text
    assert '<html lang="ar" dir="rtl">' in html and 'name="lang" value="ar"' in html
    assert checked(html, f"answer-{first}") == ["7"] and checked(html, f"enough-{first}") == ["9"]
    assert checked(html, f"answer-{second}") == ["dont_know"]
    assert 'data-start="1"' in html and "data-unsent" in html  # the page opens where the child was
    assert nothing_stored()
    # Sending from there works as ever, and says thank you in the new language.
    sent = client.post(f"/r/{child['token']}", data={**hidden_fields(html), f"answer-{first}": "7",
                                                       f"answer-{second}": "dont_know"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/r/thanks?lang=ar")


def test_a_switch_is_never_a_submission_whatever_else_the_form_holds(client, child):
    _html, fields = page_and_fields(client, child)
    data = {**fields, f"answer-{child['first']}": "5", f"answer-{child['second']}": "5", "intent": "send",
            "switch_view": "ten"}
    response = client.post(f"/r/{child['token']}", data=data)
    assert response.status_code == 200 and nothing_stored()


def test_two_steps_carry_to_six_faces_and_back(client, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Pappa skriker.", "Jag är ensam."), age=6)
    token = make.link(case, "start", language="en")
    first, second = (p.id for p in db.session.get(Case, case.id).problems)
    fields = hidden_fields(client.get(f"/r/{token}").text)
    assert fields["view"] == "two_step"
    data = {**fields, f"good-{first}": "good", f"amount-{first}": "quite", f"enough-{first}": "10",
            f"good-{second}": "not_good", "switch_view": "six"}
    html = client.post(f"/r/{token}", data=data).text
    assert checked(html, f"answer-{first}") == ["8"] and checked(html, f"enough-{first}") == ["10"]
    assert checked(html, f"answer-{second}") == [] and "You chose “Not good”" in html
    back = client.post(f"/r/{token}", data={**hidden_fields(html), f"answer-{first}": "8", f"enough-{first}": "10",
                                            "switch_view": "two_step"}).text
    assert checked(back, f"good-{first}") == ["good"] and checked(back, f"amount-{first}") == ["quite"]
    assert checked(back, f"enough-{first}") == ["10"]
    # The youngest children's "good enough" speaks their own scale: faces and amounts, no bare numbers.
    assert "What would be good enough?" in back and "Good · Quite" in back
    assert "Which number would be good enough?" not in back
    assert nothing_stored()


BAD_SWITCHES = {
    "unknown view": {"switch_view": "eleven"},
    "unknown language": {"switch_lang": "xx"},
    "script as language": {"switch_lang": "<script>"},
    "empty view": {"switch_view": ""},
    "no view it came from": {"switch_view": "six", "view": "nonsense"},
    "answer off the scale": {"switch_view": "six", "answer": "11"},
    "answer of another view": {"switch_view": "ten", "view": "six", "answer": "7"},
    "good enough off the scale": {"switch_lang": "sv", "enough": "0"},
    "words as an answer": {"switch_lang": "sv", "answer": "ten"},
    "two-step nonsense": {"switch_view": "six", "view": "two_step", "good": "great"},
}


@pytest.mark.parametrize("case_name", sorted(BAD_SWITCHES))
def test_a_bad_switch_gets_a_clear_message_keeps_the_rest_and_stores_nothing(client, child, case_name):
    _html, fields = page_and_fields(client, child)
    bad = dict(BAD_SWITCHES[case_name])
    first, second = child["first"], child["second"]
    data = {**fields, f"answer-{second}": "declined"}
    for key in ("answer", "enough", "good"):
        if key in bad:
            data[f"{key}-{first}"] = bad.pop(key)
    data.update(bad)
    response = client.post(f"/r/{child['token']}", data=data)
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert checked(response.text, f"answer-{second}") == ["declined"]
    assert "<script>" not in response.text
    assert nothing_stored()


def test_a_switch_needs_the_pages_own_token_and_a_usable_link(client, child, make):
    _html, fields = page_and_fields(client, child)
    forged = client.post(f"/r/{child['token']}", data={**fields, "form_token": "forged", "switch_view": "six"})
    assert forged.status_code == 400 and nothing_stored()
    gone = client.post("/r/" + "A" * 32, data={**fields, "switch_view": "six"})
    assert gone.status_code == 404
    # Once sent, a switch (a page kept open elsewhere) says so, and changes nothing.
    first, second = child["first"], child["second"]
    assert client.post(f"/r/{child['token']}", data={**fields, f"answer-{first}": "3",
                                                      f"answer-{second}": "4"}).status_code == 303
    same_page = client.post(f"/r/{child['token']}", data={**fields, "switch_view": "six"})
    assert same_page.status_code == 303 and "/r/thanks" in same_page.headers["Location"]
    other_page = {**fields, "client_id": "0b0e2c1e-7f3a-4c1d-9a6b-2d3e4f5a6b7c", "switch_view": "six"}
    again = client.post(f"/r/{child['token']}", data=other_page)
    assert again.status_code == 200 and "Already sent" in again.text
    assert db.session.scalar(select(func.count(Submission.id))) == 1


def test_the_check_page_says_each_answer_as_its_view_does_and_shows_the_typed_words(client, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Pappa skriker.", "Jag är ensam."), age=6)
    token = make.link(case, "start", language="en")
    first, second = (p.id for p in db.session.get(Case, case.id).problems)
    fields = hidden_fields(client.get(f"/r/{token}").text)
    data = {**fields, f"good-{first}": "good", f"amount-{first}": "little", f"enough-{first}": "8",
            f"answer-{second}": "dont_know", "added_text": "Jag vill träffa mormor.", "intent": "review"}
    html = re.sub(r"\s+", " ", client.post(f"/r/{token}", data=data).text)
    assert "Good · A little" in html and "6 of 10" not in html
    assert "Good enough: Good · Quite" in html and "I don&#39;t know" in html
    assert "Jag vill träffa mormor." in html
    assert "<title>Check your answers – Questions</title>" in html
    assert nothing_stored()


def test_the_follow_up_page_shows_two_steps_as_the_child_chose_them(app, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist", username="tove"), words=("Pappa skriker.",), age=7)
    token = make.link(case, "start", language="en")
    pid = db.session.get(Case, case.id).problems[0].id
    client = app.test_client()
    fields = hidden_fields(client.get(f"/r/{token}").text)
    sent = client.post(f"/r/{token}", data={**fields, f"good-{pid}": "good", f"amount-{pid}": "little",
                                            f"enough-{pid}": "8"})
    assert sent.status_code == 303
    staff = app.test_client()
    sign_in(staff, "tove")
    html = re.sub(r"\s+", " ", staff.get(f"/staff/cases/{case.id}/together?lang=en").text)
    assert "Good · A little" in html and "6 of 10" not in html
    assert "#f10" in html and "#f6" not in html  # the "good" face the child tapped, not a near-neutral 6
    assert "Good enough: Good · Quite" in html


class _Structure(HTMLParser):
    """What makes the child's HTML invalid or confusing to a screen reader: an id twice, a control inside
    a label beside its own input, a reference to an id that is not there."""

    INTERACTIVE = {"button", "a", "select", "textarea", "details", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.refs: list[str] = []
        self.open: list[str] = []
        self.controls_in_label: list[int] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for ref in ("aria-describedby", "aria-labelledby", "for"):
            self.refs += (attrs.get(ref) or "").split()
        if "label" in self.open and tag in self.INTERACTIVE:
            self.controls_in_label[-1] += 1
            if tag != "input" or self.controls_in_label[-1] > 1:
                self.problems.append(f"<{tag}> inside a label")
        if tag == "label":
            self.controls_in_label.append(0)
        if tag not in {"input", "br", "img", "meta", "link", "use", "hr"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass
        if tag == "label":
            self.controls_in_label.pop()


def structure_problems(html: str) -> list[str]:
    parser = _Structure()
    parser.feed(html)
    twice = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    missing = sorted({r for r in parser.refs if r not in parser.ids})
    return parser.problems + [f"id twice: {i}" for i in twice] + [f"no element with id {r}" for r in missing]


@pytest.mark.parametrize("age", [6, 10, 15])
def test_every_page_of_the_child_is_well_formed(client, make, age):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Pappa skriker.", "Jag är ensam."), age=age)
    token = make.link(case, "start", language="sv")
    first, second = (p.id for p in db.session.get(Case, case.id).problems)
    page = client.get(f"/r/{token}").text
    assert structure_problems(page) == []
    fields = hidden_fields(page)
    answer = {6: {f"good-{first}": "good"}, 10: {f"answer-{first}": "8"}, 15: {f"answer-{first}": "7"}}[age]
    simpler = {6: "six", 10: "two_step", 15: "six"}[age]  # (two steps to six: the half answer is asked again)
    switched = client.post(f"/r/{token}", data={**fields, **answer, f"enough-{first}": "9", "switch_view": simpler})
    assert switched.status_code == 200 and structure_problems(switched.text) == []
    review = client.post(f"/r/{token}", data={**hidden_fields(switched.text), f"answer-{first}": "declined",
                                              f"answer-{second}": "dont_know", "added_text": "Hej",
                                              "intent": "review"})
    assert review.status_code == 200 and structure_problems(review.text) == []

"""Writing the assignment and handing it over: the add-problem form's rules (a category chosen, "Other"
described, a goal or "to be set with the child", the words' language and its script), editing a problem
in the draft, and the hand-over that first shows the assignment and asks to confirm, once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Problem, ProblemTranslation, User
from kidrate.red_thread import cases
from kidrate.red_thread.assignment import NO_CHILD_PROBLEM, NO_GOAL, OTHER_WITHOUT_TEXT, handover_blockers
from kidrate.red_thread.checks import CHILD_PROBLEM_WITHOUT_GOAL, GOAL_WITH_CHILD, check_case
from kidrate.red_thread.facts import gather

from ..conftest import csrf_token, post_form, sign_in

CHILD = {"source": "child", "words": "Pappa skriker på mig.", "words_language": "sv", "category": "family_relations",
         "goal": "Att pappa pratar lugnt."}


@pytest.fixture
def people(make):
    return {"sw": make.user("social_worker", username="sw"), "t": make.user("therapist", username="t")}


@pytest.fixture
def draft(make, people):
    return make.case(people["sw"], words=(), case_ref="BOU-2026-7")


def page_of(case_id: int) -> str:
    return f"/staff/cases/{case_id}"


def add(client, case_id: int, **data):
    page = page_of(case_id)
    return post_form(client, page, f"{page}/problems", {**CHILD, **data})


def problems_of(case_id: int) -> list[Problem]:
    db.session.expire_all()
    return list(db.session.scalars(select(Problem).where(Problem.case_id == case_id).order_by(Problem.id)))


# --- The add-problem form ------------------------------------------------------------------------------


def test_the_category_starts_on_choose_and_is_required(client, people, draft):
    sign_in(client, "sw")
    page = client.get(page_of(draft.id)).text
    select_html = re.search(r'<select[^>]*id="problem-category".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option[^>]*>", select_html)
    assert options[0] == '<option value="">' and not any("selected" in o for o in options)
    response = add(client, draft.id, category="")
    assert response.status_code == 400
    assert "Choose a category." in response.text
    assert problems_of(draft.id) == []


def test_other_needs_its_description(client, people, draft):
    sign_in(client, "sw")
    response = add(client, draft.id, category="other", category_text="  ")
    assert response.status_code == 400 and "Say which problem this is." in response.text
    assert problems_of(draft.id) == []
    assert add(client, draft.id, category="other", category_text="Ensamhet").status_code == 302
    assert problems_of(draft.id)[0].category_text == "Ensamhet"


def test_a_childs_problem_needs_a_goal_or_the_goal_to_be_set_with_the_child(client, people, draft):
    sign_in(client, "sw")
    response = add(client, draft.id, goal="  ")
    assert response.status_code == 400
    assert "Write the goal, or tick that the goal is to be set with the child." in response.text
    assert problems_of(draft.id) == []
    assert add(client, draft.id, goal="", goal_with_child="y").status_code == 302
    # An investigation problem needs no goal.
    assert add(client, draft.id, source="investigation", goal="").status_code == 302
    child, investigation = problems_of(draft.id)
    assert (child.goal, child.goal_with_child) == (None, True)
    assert (investigation.goal, investigation.goal_with_child, investigation.words_language) == (None, False, None)
    # The red-thread check follows the mark: open, in its own words, until the goal is set.
    findings = check_case(gather(db.session.get(Case, draft.id)), draft.created_at.date())
    assert [(f.code, f.problem_id) for f in findings] == [(GOAL_WITH_CHILD, child.id)]
    goal_url = f"{page_of(draft.id)}/problems/{child.id}/goal"
    assert post_form(client, goal_url, goal_url, {"goal": "Att pappa pratar lugnt."}).status_code == 302
    assert check_case(gather(db.session.get(Case, draft.id)), draft.created_at.date()) == []


def test_a_goal_written_wins_over_the_mark(client, people, draft):
    sign_in(client, "sw")
    assert add(client, draft.id, goal_with_child="y").status_code == 302
    assert problems_of(draft.id)[0].goal_with_child is False


def test_the_words_language_starts_on_the_staff_members_own_language(client, make, people):
    arabic_child = make.case(people["sw"], words=(), child_language="ar")
    sign_in(client, "sw")  # the factory's users read the pages in English
    page = client.get(page_of(arabic_child.id)).text
    select_html = re.search(r'<select[^>]*id="problem-words-language".*?</select>', page, re.S).group(0)
    assert re.search(r'<option selected value="en">|<option value="en" selected>', select_html), select_html
    db.session.get(User, people["sw"].id).locale = "sv"
    db.session.commit()
    client2 = make.app.test_client()
    sign_in(client2, "sw")
    page = client2.get(page_of(arabic_child.id)).text
    select_html = re.search(r'<select[^>]*id="problem-words-language".*?</select>', page, re.S).group(0)
    assert re.search(r'<option selected value="sv">|<option value="sv" selected>', select_html), select_html


@pytest.mark.parametrize(("words", "language", "script"), [
    ("Pappa skriker på mig.", "ar", "Latin letters"),
    ("أبي يصرخ علي", "sv", "Arabic script"),
])
def test_words_in_a_script_that_does_not_fit_the_language_are_questioned(client, people, draft, words, language,
                                                                          script):
    sign_in(client, "sw")
    response = add(client, draft.id, words=words, words_language=language)
    assert response.status_code == 400
    assert f"These words are written in {script}" in response.text
    assert 'id="script-warning"' in response.text and 'name="script_confirmed"' in response.text
    assert words in response.text  # the form keeps what was typed
    assert problems_of(draft.id) == []
    # Confirmed: stored as chosen.
    assert add(client, draft.id, words=words, words_language=language, script_confirmed="y").status_code == 302
    assert [(p.words, p.words_language) for p in problems_of(draft.id)] == [(words, language)]


def test_an_investigation_problem_is_never_questioned_for_its_script(client, people, draft):
    sign_in(client, "sw")
    assert add(client, draft.id, source="investigation", words="Föräldrarna bråkar.", words_language="ar",
               goal="").status_code == 302


def test_each_label_on_the_case_page_has_its_own_box(client, make, people):
    case = make.case(people["sw"], words=("Jag är ledsen.",))
    sign_in(client, "sw")
    page = client.get(page_of(case.id)).text
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert 'for="problem-words"' in page and 'id="problem-words"' in page
    assert 'for="translation-words"' in page and 'id="translation-words"' in page


def test_the_investigation_choice_does_not_ask_for_the_childs_words(client, people, draft):
    sign_in(client, "sw")
    page = client.get(page_of(draft.id)).text
    assert "the authority&#39;s description" in page or "the authority's description" in page


def test_after_adding_the_page_lands_on_the_form_with_the_problem_shown(client, people, draft):
    sign_in(client, "sw")
    response = add(client, draft.id)
    added = problems_of(draft.id)[0]
    assert response.headers["Location"].endswith(f"?added={added.id}#add-problem")
    page = client.get(response.headers["Location"]).text
    form_card = page[page.index('id="add-problem"'):]
    assert "Added:" in form_card[:1500] and "Pappa skriker på mig." in form_card[:1500]


# --- Editing a problem before hand-over ----------------------------------------------------------------


def test_every_field_of_a_problem_can_be_edited_in_the_draft(client, people, draft):
    sign_in(client, "sw")
    assert add(client, draft.id).status_code == 302
    problem = problems_of(draft.id)[0]
    db.session.add(ProblemTranslation(problem_id=problem.id, language="en", words="Dad shouts at me."))
    db.session.commit()
    url = f"{page_of(draft.id)}/problems/{problem.id}/edit"
    form = client.get(url)
    assert form.status_code == 200 and "Pappa skriker på mig." in form.text
    response = post_form(client, url, url, {"source": "investigation", "words": "Pappa skriker ofta.",
                                            "words_language": "sv", "category": "other", "category_text": "Ljud",
                                            "goal": ""})
    assert response.status_code == 302
    problem = problems_of(draft.id)[0]
    assert (problem.source, problem.words, problem.words_language, problem.category, problem.category_text,
            problem.goal) == ("investigation", "Pappa skriker ofta.", None, "other", "Ljud", None)
    assert problem.translations == []  # a translation of the earlier words is not one of these
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "edit_problem")).all()
    assert [e.target for e in events] == [f"problem:{problem.id}"]
    # Invalid: the page again with the message, nothing changed.
    bad = post_form(client, url, url, {"source": "child", "words": "Hej", "words_language": "sv", "category": "",
                                       "goal": "Mål"})
    assert bad.status_code == 400 and "Choose a category." in bad.text
    assert problems_of(draft.id)[0].words == "Pappa skriker ofta."


def test_editing_is_for_the_draft_and_its_social_worker(client, make, people):
    case = make.case(people["sw"], therapist=people["t"])
    problem = problems_of(case.id)[0]
    url = f"{page_of(case.id)}/problems/{problem.id}/edit"
    sign_in(client, "sw")
    response = client.get(url)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#problem-{problem.id}")
    follow = client.get(response.headers["Location"]).text
    assert "correct the words or withdraw the problem as an amendment" in follow
    therapist = make.app.test_client()
    sign_in(therapist, "t")
    assert therapist.get(url).status_code == 403


# --- Handing over -----------------------------------------------------------------------------------------


def test_hand_over_shows_the_assignment_and_asks_to_confirm(client, people, draft):
    sign_in(client, "sw")
    assert add(client, draft.id).status_code == 302
    page = page_of(draft.id)
    case_page = client.get(page).text
    assert re.search(r'<form method="get" action="/staff/cases/\d+/assign"', case_page)
    confirm = client.get(f"{page}/assign?therapist={people['t'].id}")
    assert confirm.status_code == 200
    text = confirm.text
    assert "Pappa skriker på mig." in text and "Att pappa pratar lugnt." in text
    assert people["t"].display_name in text
    assert 'name="confirmed" value="yes"' in text and ">Hand over<" in text and ">Back<" in text
    assert db.session.get(Case, draft.id).status == "draft"  # looking changes nothing

    # A POST without the confirmation goes to the confirmation page; nothing is handed over.
    unconfirmed = client.post(f"{page}/assign", data={"csrf_token": csrf_token(text), "therapist": people["t"].id})
    assert unconfirmed.status_code == 303 and "/assign?therapist=" in unconfirmed.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Case, draft.id).status == "draft"

    data = {"csrf_token": csrf_token(text), "therapist": people["t"].id, "confirmed": "yes"}
    assert client.post(f"{page}/assign", data=data).status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, draft.id)
    assert (case.status, case.therapist_id) == ("assigned", people["t"].id)
    # The second click: nothing more, and a clear word.
    again = client.post(f"{page}/assign", data=data)
    assert again.status_code == 303
    assert "The assignment was already handed over." in client.get(again.headers["Location"]).text
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assign_case")).all()) == 1


def test_hand_over_without_a_therapist_says_so(client, people, draft):
    sign_in(client, "sw")
    add(client, draft.id)
    response = client.get(f"{page_of(draft.id)}/assign")
    assert response.status_code == 400 and "Choose a therapist." in response.text
    assert client.get(f"{page_of(draft.id)}/assign?therapist=abc").status_code == 400
    assert client.get(f"{page_of(draft.id)}/assign?therapist=999999").status_code == 400


def test_what_is_missing_blocks_the_hand_over_with_a_way_to_each_problem(client, make, people):
    case_id = make.case(people["sw"], words=()).id
    therapist_id = people["t"].id
    db.session.add_all([
        Problem(case_id=case_id, source="child", words="Test annan", words_language="sv", category="other"),
        Problem(case_id=case_id, source="investigation", words="Bråk", category="parenting"),
    ])
    db.session.commit()
    stray = problems_of(case_id)[0].id
    sign_in(client, "sw")
    confirm = client.get(f"{page_of(case_id)}/assign?therapist={therapist_id}")
    assert confirm.status_code == 200
    assert 'name="confirmed"' not in confirm.text
    assert "does not say which problem it is" in confirm.text and "has no goal" in confirm.text
    assert f"/problems/{stray}/edit" in confirm.text
    token = csrf_token(client.get(page_of(case_id)).text)
    forced = client.post(f"{page_of(case_id)}/assign", data={"csrf_token": token, "therapist": therapist_id,
                                                             "confirmed": "yes"})
    assert forced.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "draft"


def test_handover_blockers():
    class P:
        def __init__(self, id, source, category="school", category_text=None, goal=None, goal_with_child=False):
            self.id, self.source, self.category, self.category_text = id, source, category, category_text
            self.goal, self.goal_with_child = goal, goal_with_child

    assert handover_blockers([]) == [(NO_CHILD_PROBLEM, None)]
    assert handover_blockers([P(1, "investigation")]) == [(NO_CHILD_PROBLEM, None)]
    assert handover_blockers([P(1, "child", goal="Mål")]) == []
    assert handover_blockers([P(1, "child", goal_with_child=True)]) == []
    assert handover_blockers([P(1, "child", goal="  ")]) == [(NO_GOAL, 1)]
    assert handover_blockers([P(1, "child", "other", goal="Mål"), P(2, "investigation", "other", " ")]) == [
        (OTHER_WITHOUT_TEXT, 1), (OTHER_WITHOUT_TEXT, 2)]


def test_of_two_simultaneous_hand_overs_exactly_one_wins(app, make, people):
    case = make.case(people["sw"])
    therapist = db.session.get(User, people["t"].id)
    first = db.session.get(Case, case.id)
    with Session(db.engine) as other:
        second = other.get(Case, case.id)
        assert cases.assign_once(other, second, other.get(User, therapist.id))
        other.commit()
    # The first request read the draft before the other handed it over: it changes nothing.
    assert first.status == "draft"
    assert cases.assign_once(db.session, first, therapist) is False
    db.session.rollback()
    assert db.session.get(Case, case.id).status == "assigned"


def test_the_old_check_stays_for_a_goal_left_out_without_the_mark(make, people):
    case = make.case(people["sw"], words=())
    db.session.add(Problem(case_id=case.id, source="child", words="Hej", category="school"))
    db.session.commit()
    findings = check_case(gather(db.session.get(Case, case.id)), case.created_at.date())
    assert [f.code for f in findings] == [CHILD_PROBLEM_WITHOUT_GOAL]


def test_the_script_warning_comes_with_the_other_messages_at_once(client, people, draft):
    sign_in(client, "sw")
    response = add(client, draft.id, words="أبي يصرخ علي", words_language="sv", category="")
    assert response.status_code == 400
    assert "Choose a category." in response.text and 'id="script-warning"' in response.text
    assert 'dir="auto"' in re.search(r'<textarea[^>]*id="problem-words"[^>]*>', response.text).group(0)
    assert problems_of(draft.id) == []


def test_a_check_on_an_empty_field_runs(app):
    """WTForms' Optional() stops a field's chain when it is empty, its validate_<field> check too: the way
    "Other" without its description got through. The closure form's two such checks run as well."""
    from kidrate.staff.forms import ClosureForm

    with app.test_request_context(method="POST", data={"reason": "not_meeting_needs", "reason_text": " ",
                                                       "concern_remaining": "yes", "concern_text": ""}):
        form = ClosureForm(meta={"csrf": False})
        assert form.validate() is False
        assert form.reason_text.errors and form.concern_text.errors
    from kidrate.staff.forms import INTERVENTIONS_NEEDING_TEXT, CaseForm

    needing = sorted(INTERVENTIONS_NEEDING_TEXT)[0]
    with app.test_request_context(method="POST", data={"intervention_types": [needing], "intervention_text": ""}):
        form = CaseForm(meta={"csrf": False})
        form.child_language.choices = form.family_languages.choices = [("sv", "sv")]
        form.validate()
        assert form.intervention_text.errors


def test_the_therapist_sets_a_goal_left_to_be_set_with_the_child_from_the_table(app, make, people):
    case = make.case(people["sw"], words=())
    db.session.add(Problem(case_id=case.id, source="child", words="Jag är ensam.", words_language="sv",
                           category="school", goal_with_child=True))
    db.session.commit()
    problem = problems_of(case.id)[0].id
    cases.assign(db.session.get(Case, case.id), db.session.get(User, people["t"].id))
    db.session.commit()
    therapist = make.app.test_client()
    sign_in(therapist, "t")
    page = therapist.get(page_of(case.id)).text
    row = page[page.index(f'id="problem-{problem}"'):]
    assert f"/problems/{problem}/goal" in row[:row.index("</tr>")]

"""Red-thread checks and the child's view of change: pure functions on hand-made facts, then the pages
that show them (the social worker's draft, the therapist's case and closure pages, the handover) and
the forms that record how each round was answered and whether the therapist has met the child alone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Closure, Handover, Problem, User, utcnow
from kidrate.red_thread import cases
from kidrate.red_thread.checks import (
    BETTER,
    CHILD_PROBLEM_WITHOUT_GOAL,
    FOLLOW_UP_PASSED,
    GOALS_MISS_CHILD,
    MET_ALONE_UNRECORDED,
    NO_CLOSURE_RATING,
    NO_START_RATING,
    NOT_MET_ALONE,
    VIOLENCE_NOT_WORKED_WITH,
    VIOLENCE_WITHOUT_GOAL,
    WORSE,
    Finding,
    check_case,
    child_view,
)
from kidrate.red_thread.facts import CaseFacts, ClosureFact, ProblemFact, RatingFact, RoundFact
from kidrate.red_thread.handover import compile_handover

from ..conftest import child_posts, csrf_token, post_form, sign_in

TODAY = date(2026, 3, 1)
ASSIGNED = datetime(2026, 1, 10, 9, 0)
SUBMITTED = datetime(2026, 1, 12, 14, 0)

HURT = ProblemFact(id=1, source="child", words="Pappa slår mig.", category="violence_abuse", goal="Trygg hemma")
SCHOOL = ProblemFact(id=2, source="child", words="Jag går inte till skolan.", category="school",
                     goal="Gå till skolan")
PARENTS = ProblemFact(id=3, source="investigation", words="Föräldrarna bråkar.", category="family_relations",
                      goal="Färre bråk")
CLOSURE = ClosureFact(reason="goals_met", concern_remaining=False)


def answered(kind: str, **ratings: RatingFact) -> RoundFact:
    return RoundFact(kind, submitted_at=SUBMITTED, ratings={1: RatingFact("rated", 5), **ratings})


def clean_rounds(*kinds: str) -> dict[str, RoundFact]:
    return {kind: answered(kind) for kind in kinds}


def facts(problems=(HURT, SCHOOL, PARENTS), rounds=None, **fields) -> CaseFacts:
    values = dict(case_ref="BOU-1", age=11, gender="girl", child_language="sv", intervention_types=("traditional",),
                  created_at=datetime(2026, 1, 5), assigned_at=ASSIGNED, follow_up_date=date(2026, 3, 15),
                  problems=tuple(problems), rounds=clean_rounds("start") if rounds is None else rounds,
                  met_child_alone=True)
    values.update(fields)
    return CaseFacts(**values)


def codes(found: list[Finding]) -> list[tuple[str, int | str | None]]:
    return [(f.code, f.problem_id if f.problem_id is not None else f.round) for f in found]


# --- Each check fires on a case built to trigger it, and is silent on a clean case -------------------

def test_a_clean_case_has_no_findings_at_any_stage():
    assert check_case(facts(), TODAY) == []
    assert check_case(facts(assigned_at=None, rounds={}, met_child_alone=None), TODAY) == []  # a draft
    closed = facts(rounds=clean_rounds("start", "follow_up", "closure"), closure=CLOSURE,
                   closed_at=datetime(2026, 4, 1), follow_up_date=date(2026, 2, 1))
    assert check_case(closed, date(2026, 5, 1)) == []


def test_a_child_named_problem_without_a_goal():
    no_goal = ProblemFact(id=2, source="child", words="Jag går inte till skolan.", category="school", goal="  ")
    found = check_case(facts(problems=(HURT, no_goal, PARENTS)), TODAY)
    assert codes(found) == [(CHILD_PROBLEM_WITHOUT_GOAL, 2)]
    assert (found[0].fix, found[0].endpoint, dict(found[0].args)) == ("goal", "staff.problem_goal", {"problem_id": 2})
    # a problem from the investigation without a goal is not one the child named
    no_goal_investigation = ProblemFact(id=3, source="investigation", words="x", category="parenting")
    assert check_case(facts(problems=(HURT, SCHOOL, no_goal_investigation)), TODAY) == []


@pytest.mark.parametrize("category", ["violence_abuse", "family_violence", "honour_violence"])
@pytest.mark.parametrize("source", ["child", "investigation"])
def test_a_problem_about_violence_without_a_goal(category, source):
    violence = ProblemFact(id=4, source=source, words="Det finns våld.", category=category)
    found = check_case(facts(problems=(SCHOOL, violence)), TODAY)
    # said once, as the graver finding, not also as a child's problem without a goal
    assert codes(found) == [(VIOLENCE_WITHOUT_GOAL, 4)]


@pytest.mark.parametrize(("category", "worked_with", "fires"), [
    ("violence_abuse", "no", True), ("family_violence", "no", True), ("honour_violence", "no", True),
    ("violence_abuse", "partly", False), ("violence_abuse", "focus", False), ("violence_abuse", None, False),
    ("school", "no", False),
])
def test_a_problem_about_violence_not_worked_with(category, worked_with, fires):
    problem = ProblemFact(id=1, source="child", words="w", category=category, goal="g", worked_with=worked_with)
    found = check_case(facts(problems=(problem,), rounds=clean_rounds("start", "closure"), closure=CLOSURE), TODAY)
    assert codes(found) == ([(VIOLENCE_NOT_WORKED_WITH, 1)] if fires else [])
    if fires:
        assert (found[0].endpoint, found[0].anchor) == ("staff.closure_edit", "problem-1")


def test_no_start_rating_unless_a_reason_is_recorded():
    found = check_case(facts(rounds={"start": RoundFact("start", link_states=("expired",))}), TODAY)
    assert codes(found) == [(NO_START_RATING, "start")]
    assert (found[0].fix, found[0].endpoint, found[0].anchor) == ("round", "staff.case_view", "round-start")
    assert check_case(facts(rounds={}), TODAY) == found
    excused = {"start": RoundFact("start", missing_reason="Barnet ville inte.")}
    assert check_case(facts(rounds=excused), TODAY) == []
    declined_everything = {"start": RoundFact("start", submitted_at=SUBMITTED,
                                              ratings={1: RatingFact("declined", None)})}
    assert check_case(facts(rounds=declined_everything), TODAY) == []  # declining is the child's answer


@pytest.mark.parametrize(("follow_up_date", "fires"), [
    (TODAY - timedelta(days=1), True), (TODAY, False), (TODAY + timedelta(days=1), False), (None, False),
])
def test_the_follow_up_date_passed_without_a_follow_up_rating(follow_up_date, fires):
    found = check_case(facts(follow_up_date=follow_up_date), TODAY)
    assert codes(found) == ([(FOLLOW_UP_PASSED, "follow_up")] if fires else [])


def test_a_passed_follow_up_is_silenced_by_the_rating_or_a_reason():
    passed = date(2026, 2, 1)
    assert check_case(facts(follow_up_date=passed, rounds=clean_rounds("start", "follow_up")), TODAY) == []
    excused = {**clean_rounds("start"), "follow_up": RoundFact("follow_up", missing_reason="Sjuk.")}
    assert check_case(facts(follow_up_date=passed, rounds=excused), TODAY) == []


def test_a_case_closed_before_its_follow_up_date_never_passes_it():
    closed = facts(follow_up_date=date(2026, 2, 15), closed_at=datetime(2026, 2, 1), closure=CLOSURE,
                   rounds=clean_rounds("start", "closure"))
    assert check_case(closed, date(2026, 6, 1)) == []


@pytest.mark.parametrize("closing", [{"closure": CLOSURE}, {"closed_at": datetime(2026, 2, 27)},
                                     {"closure": CLOSURE, "closed_at": datetime(2026, 2, 27)}])
def test_closure_without_the_childs_closure_rating(closing):
    found = check_case(facts(**closing), TODAY)
    assert codes(found) == [(NO_CLOSURE_RATING, "closure")]
    assert check_case(facts(rounds=clean_rounds("start", "closure"), **closing), TODAY) == []
    excused = {**clean_rounds("start"), "closure": RoundFact("closure", missing_reason="Flyttade.")}
    assert check_case(facts(rounds=excused, **closing), TODAY) == []


def test_no_closure_rating_is_asked_for_before_closure():
    assert check_case(facts(rounds=clean_rounds("start")), TODAY) == []


def test_goals_that_address_none_of_the_childs_problems():
    child_without = [ProblemFact(id=n, source="child", words=f"w{n}", category="school") for n in (1, 2)]
    found = check_case(facts(problems=(*child_without, PARENTS)), TODAY)
    assert codes(found) == [(CHILD_PROBLEM_WITHOUT_GOAL, 1), (CHILD_PROBLEM_WITHOUT_GOAL, 2),
                            (GOALS_MISS_CHILD, None)]
    assert (found[-1].endpoint, found[-1].anchor) == ("staff.case_view", "problems")
    # one child's problem with a goal, or no goals anywhere: not this finding
    assert GOALS_MISS_CHILD not in [f.code for f in check_case(facts(problems=(child_without[0], SCHOOL, PARENTS)),
                                                               TODAY)]
    no_goals = ProblemFact(id=3, source="investigation", words="x", category="parenting")
    assert GOALS_MISS_CHILD not in [f.code for f in check_case(facts(problems=(*child_without, no_goals)), TODAY)]


def test_the_child_never_met_alone():
    found = check_case(facts(met_child_alone=False), TODAY)
    assert codes(found) == [(NOT_MET_ALONE, None)]
    assert (found[0].fix, found[0].anchor) == ("met_alone", "met-alone")


@pytest.mark.parametrize(("fields", "fires"), [
    ({}, False),  # follow-up is 14 days away and not answered: not yet due
    ({"follow_up_date": TODAY}, True),
    ({"follow_up_date": None}, False),
    ({"rounds": clean_rounds("start", "follow_up")}, True),
    ({"closure": CLOSURE, "rounds": clean_rounds("start", "closure")}, True),
    ({"assigned_at": None, "rounds": {}}, False),  # a draft
])
def test_not_recorded_whether_the_child_was_met_alone_once_follow_up_is_due(fields, fires):
    found = check_case(facts(met_child_alone=None, **fields), TODAY)
    assert codes(found) == ([(MET_ALONE_UNRECORDED, None)] if fires else [])


def test_a_draft_is_checked_for_goals_only():
    draft = facts(problems=(ProblemFact(id=9, source="child", words="w", category="family_violence"),),
                  assigned_at=None, rounds={}, met_child_alone=None, follow_up_date=date(2026, 1, 1))
    assert codes(check_case(draft, TODAY)) == [(VIOLENCE_WITHOUT_GOAL, 9)]


def test_findings_come_in_a_fixed_order_and_are_stored_as_codes_and_ids():
    everything = facts(
        problems=(ProblemFact(id=1, source="child", words="w", category="violence_abuse", worked_with="no"),
                  ProblemFact(id=2, source="child", words="v", category="school"), PARENTS),
        rounds={}, follow_up_date=date(2026, 2, 1), closure=CLOSURE, met_child_alone=False,
    )
    found = check_case(everything, TODAY)
    assert codes(found) == [(VIOLENCE_WITHOUT_GOAL, 1), (CHILD_PROBLEM_WITHOUT_GOAL, 2), (GOALS_MISS_CHILD, None),
                            (VIOLENCE_NOT_WORKED_WITH, 1), (NO_START_RATING, "start"),
                            (FOLLOW_UP_PASSED, "follow_up"), (NO_CLOSURE_RATING, "closure"), (NOT_MET_ALONE, None)]
    doc = compile_handover(everything, compiled_at=datetime(2026, 3, 1, 12, 0))
    assert doc["open_checks"] == [f.as_document() for f in found]
    assert doc["open_checks"][0] == {"code": VIOLENCE_WITHOUT_GOAL, "problem_id": 1, "round": None}
    assert doc["met_child_alone"] is False


# --- The child's view of change -------------------------------------------------------------------

def r(value: int) -> dict:
    return {"status": "rated", "value": value}


NOT_ISSUED = {"status": "not_issued", "value": None}


@pytest.mark.parametrize(("first", "last", "good_enough", "view"), [
    (3, 8, 8, "reached"),  # exactly the good-enough number
    (3, 7, 8, "better"),
    (3, 5, None, "better"),  # exactly +2
    (3, 4, None, "same"),  # +1
    (5, 5, None, "same"),
    (5, 4, None, "same"),  # −1
    (5, 3, None, "worse"),  # exactly −2
    (9, 1, None, "worse"),
    (9, 7, 7, "reached"),  # reached even though it fell: the child's own number comes first
    (2, 10, 11, "better"),
])
def test_the_childs_view_at_each_threshold(first, last, good_enough, view):
    ratings = {"start": r(first), "follow_up": NOT_ISSUED, "closure": r(last)}
    result = child_view(ratings, good_enough)
    assert result["view"] == view
    assert (result["first"], result["last"], result["difference"]) == (first, last, last - first)


def test_the_closure_rating_comes_before_the_follow_up_and_the_last_rating_stands_in_for_it():
    with_closure = {"start": r(2), "follow_up": r(9), "closure": r(3)}
    assert child_view(with_closure, 8)["view"] == "same"  # 3 is the last, not 9
    without_closure = {"start": r(2), "follow_up": r(9), "closure": {"status": "declined", "value": None}}
    assert child_view(without_closure, 8)["view"] == "reached"
    late_start = {"start": {"status": "declined", "value": None}, "follow_up": r(3), "closure": r(6)}
    assert child_view(late_start, None)["view"] == "better"  # first is the earliest rated round


@pytest.mark.parametrize(("ratings", "reasons", "why", "why_round"), [
    ({"start": r(4), "follow_up": NOT_ISSUED, "closure": {"status": "declined", "value": None}}, {},
     "declined", "closure"),
    ({"start": r(4), "closure": {"status": "dont_know", "value": None}}, {}, "dont_know", "closure"),
    ({"start": r(4), "closure": {"status": "expired", "value": None}}, {}, "no_submission", "closure"),
    ({"start": r(4), "closure": NOT_ISSUED}, {"closure": "Familjen flyttade."}, "missing_reason", "closure"),
    ({"start": r(4)}, {}, "no_submission", "closure"),
    ({"start": {"status": "not_asked", "value": None}, "closure": r(4)}, {}, "not_asked", "start"),
    ({"start": NOT_ISSUED, "closure": NOT_ISSUED}, {"start": "Sjuk."}, "missing_reason", "start"),
    ({}, {}, "no_submission", "start"),
])
def test_not_answered_says_why(ratings, reasons, why, why_round):
    result = child_view(ratings, 7, reasons)
    assert result["view"] == "not_answered"
    assert (result["why"], result["why_round"]) == (why, why_round)
    assert result["missing_reason"] == (reasons.get(why_round) if why == "missing_reason" else None)


def test_the_thresholds_are_the_ones_the_legend_writes_out():
    assert (BETTER, WORSE) == (2, -2)


@given(first=st.integers(1, 10), last=st.integers(1, 10), good_enough=st.none() | st.integers(1, 10),
       follow_up=st.none() | st.integers(1, 10))
def test_the_childs_view_follows_the_rule(first, last, good_enough, follow_up):
    ratings = {"start": r(first), "follow_up": r(follow_up) if follow_up else NOT_ISSUED, "closure": r(last)}
    result = child_view(ratings, good_enough)
    difference = last - first
    if good_enough is not None and last >= good_enough:
        assert result["view"] == "reached"
    elif difference >= 2:
        assert result["view"] == "better"
    elif difference <= -2:
        assert result["view"] == "worse"
    else:
        assert abs(difference) <= 1 and result["view"] == "same"
    assert result["why"] is None and result["difference"] == difference


@given(first=st.integers(1, 10), status=st.sampled_from(["declined", "dont_know", "not_issued", "pending",
                                                          "expired", "revoked", "not_asked"]))
def test_one_rated_round_is_never_a_change(first, status):
    ratings = {"start": r(first), "follow_up": {"status": status, "value": None},
               "closure": {"status": status, "value": None}}
    result = child_view(ratings, 1)
    assert result["view"] == "not_answered" and result["first"] == first and result["last"] is None


def test_the_handover_carries_the_childs_view_and_good_enough_from_the_start():
    rounds = {"start": RoundFact("start", submitted_at=SUBMITTED, ratings={1: RatingFact("rated", 3, 7)},
                                 answered_how="alone"),
              "closure": RoundFact("closure", submitted_at=SUBMITTED, ratings={1: RatingFact("rated", 7)},
                                   answered_how="with_interpreter")}
    doc = compile_handover(facts(problems=(HURT,), rounds=rounds), compiled_at=datetime(2026, 3, 1))
    view = doc["child_problems"][0]["child_view"]
    assert (view["view"], view["first"], view["last"], view["good_enough"]) == ("reached", 3, 7, 7)
    assert doc["rounds"]["start"]["answered_how"] == "alone"
    assert doc["rounds"]["closure"]["answered_how"] == "with_interpreter"
    assert doc["rounds"]["follow_up"] == {"submitted_at": None, "answered_how": None, "missing_reason": None}


# --- Pages ----------------------------------------------------------------------------------------

@pytest.fixture
def people(make):
    return {"sw": make.user("social_worker", username="sw"), "t": make.user("therapist", username="t"),
            "t2": make.user("therapist", username="t2")}


def _case(make, people, *, assigned=True, **fields) -> Case:
    case = make.case(people["sw"], therapist=people["t"] if assigned else None,
                     words=("Pappa slår mig.", "Jag har inga kompisar."), investigation=("Föräldrarna bråkar.",),
                     **fields)
    case = db.session.get(Case, case.id)
    violence, lonely = (p for p in case.problems if p.source == "child")
    violence.goal = None
    lonely.category, lonely.goal = "child_mental_health", "Hitta en kompis"
    db.session.commit()
    return case


def _audited(action: str, case_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                           AuditEvent.case_id == case_id)))


def test_the_social_worker_sees_the_checks_on_the_draft_and_fixes_one(app, make, people, client):
    case = _case(make, people, assigned=False)
    violence_id = next(p.id for p in case.problems if p.category == "violence_abuse")
    sign_in(client, "sw")
    page = client.get(f"/staff/cases/{case.id}").text
    assert "Checks along the red thread" in page
    assert "A problem about violence has no goal:" in page and 'dir="auto">Pappa slår mig.</bdi>”' in page
    goal_url = f"/staff/cases/{case.id}/problems/{violence_id}/goal"
    assert f'href="{goal_url}"' in page
    assert "not rated the problems at the start" not in page  # no rounds in a draft

    assert "Pappa slår mig." in client.get(goal_url).text
    response = post_form(client, goal_url, goal_url, {"goal": "Ingen slår mig hemma."})
    assert response.status_code == 302
    assert db.session.get(Problem, violence_id).goal == "Ingen slår mig hemma."
    assert _audited("set_goal", case.id)
    assert "Checks along the red thread" not in client.get(f"/staff/cases/{case.id}").text


def test_the_social_worker_does_not_see_checks_once_the_case_is_with_open_care(app, make, people, client):
    case = _case(make, people)
    sign_in(client, "sw")
    assert "Checks along the red thread" not in client.get(f"/staff/cases/{case.id}").text


def test_the_therapist_sees_the_checks_on_the_case_and_closure_pages(app, make, people, client):
    case = _case(make, people, follow_up_date=date.today() + timedelta(days=1))
    db.session.get(Case, case.id).follow_up_date = date.today() - timedelta(days=1)
    db.session.commit()
    sign_in(client, "t")
    page = client.get(f"/staff/cases/{case.id}").text
    for text, link in [
        ("A problem about violence has no goal:", "/goal"),
        ("The child has not rated the problems at the start, and no reason is recorded.", "#round-start"),
        ("The follow-up date has passed without the child&#39;s follow-up rating", "#round-follow_up"),
        ("It is not recorded whether the therapist has met the child alone.", "#met-alone"),
    ]:
        assert text in page and link in page, text
    for anchor in ('id="round-start"', 'id="round-follow_up"', 'id="round-closure"', 'id="met-alone"'):
        assert anchor in page
    closure_page = client.get(f"/staff/cases/{case.id}/closure").text
    assert "Checks along the red thread" in closure_page and "A problem about violence has no goal:" in closure_page


def test_the_therapist_may_give_a_goal_only_where_there_is_none(app, make, people, client):
    case = _case(make, people)
    violence, lonely = (p.id for p in case.problems if p.source == "child")
    sign_in(client, "t")
    url = f"/staff/cases/{case.id}/problems/{lonely}/goal"
    assert client.get(url).status_code == 409  # the social worker's goal stays the social worker's
    url = f"/staff/cases/{case.id}/problems/{violence}/goal"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data={"csrf_token": csrf_token(page.text), "goal": "   "})
    assert response.status_code == 400 and "Write the goal." in response.text
    assert db.session.get(Problem, violence).goal is None
    response = client.post(url, data={"csrf_token": csrf_token(page.text), "goal": "x" * 2001})
    assert response.status_code == 400 and db.session.get(Problem, violence).goal is None
    assert client.post(url, data={"csrf_token": csrf_token(page.text), "goal": "Trygg"}).status_code == 302
    assert db.session.get(Problem, violence).goal == "Trygg"


def test_the_goal_page_refuses_other_cases_and_other_people(app, make, people, client):
    case = _case(make, people)
    other = _case(make, people)
    foreign = next(p.id for p in other.problems if p.goal is None)
    sign_in(client, "t")
    assert client.get(f"/staff/cases/{case.id}/problems/{foreign}/goal").status_code == 404
    assert client.get(f"/staff/cases/{case.id}/problems/999999/goal").status_code == 404
    client2 = app.test_client()
    sign_in(client2, "sw")  # the assignment has been handed over: no longer the social worker's to change
    assert client2.get(f"/staff/cases/{case.id}/problems/{foreign}/goal").status_code in (404, 409)
    client3 = app.test_client()
    sign_in(client3, "t2")
    assert client3.get(f"/staff/cases/{case.id}/problems/{foreign}/goal").status_code == 404


def test_the_therapist_records_how_a_round_was_answered_and_why_a_rating_is_missing(app, make, people, client):
    case = _case(make, people)
    sign_in(client, "t")
    page_url = f"/staff/cases/{case.id}"
    response = post_form(client, page_url, f"/staff/cases/{case.id}/rounds/start/answered",
                         {"answered_how": "unknown", "missing_reason": "  Barnet ville inte svara.  "})
    assert response.status_code == 302 and response.headers["Location"].endswith("#round-start")
    start = db.session.get(Case, case.id).round("start")
    assert (start.answered_how, start.missing_reason) == ("unknown", "Barnet ville inte svara.")
    assert [e.target for e in _audited("record_round", case.id)] == ["start"]
    page = client.get(page_url).text
    assert "Barnet ville inte svara." in page
    assert "not rated the problems at the start" not in page  # the reason silences the check


@pytest.mark.parametrize("data", [
    {"answered_how": "under_the_table"},
    {"answered_how": "alone", "missing_reason": "x" * 2001},
])
def test_bad_round_records_are_refused_and_store_nothing(app, make, people, client, data):
    case = _case(make, people)
    sign_in(client, "t")
    response = post_form(client, f"/staff/cases/{case.id}", f"/staff/cases/{case.id}/rounds/follow_up/answered",
                         data)
    assert response.status_code == 400
    assert 'class="flash error"' in response.text
    db.session.expire_all()
    rnd = db.session.get(Case, case.id).round("follow_up")
    assert (rnd.answered_how, rnd.missing_reason) == (None, None)
    assert not _audited("record_round", case.id)


def test_no_missing_reason_for_a_round_the_child_answered(app, make, people, client):
    case = _case(make, people)
    child_posts(app.test_client(), make.link(case, "start"), {p.id: "5" for p in case.problems if p.source == "child"})
    sign_in(client, "t")
    url = f"/staff/cases/{case.id}/rounds/start/answered"
    response = post_form(client, f"/staff/cases/{case.id}", url, {"answered_how": "alone", "missing_reason": "x"})
    assert response.status_code == 400 and "there is no missing rating to explain" in response.text
    response = post_form(client, f"/staff/cases/{case.id}", url, {"answered_how": "with_interpreter"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).round("start").answered_how == "with_interpreter"
    assert '<option selected value="with_interpreter">' in client.get(f"/staff/cases/{case.id}").text


def test_unknown_rounds_and_wrong_people_cannot_record(app, make, people, client):
    case = _case(make, people)
    sign_in(client, "t")
    token = csrf_token(client.get(f"/staff/cases/{case.id}").text)
    assert client.post(f"/staff/cases/{case.id}/rounds/middle/answered",
                       data={"csrf_token": token, "answered_how": "alone"}).status_code == 404
    for who, code in (("sw", 403), ("t2", 404)):
        other = app.test_client()
        sign_in(other, who)
        token = csrf_token(other.get("/staff/profile").text)
        assert other.post(f"/staff/cases/{case.id}/rounds/start/answered",
                          data={"csrf_token": token, "answered_how": "alone"}).status_code == code
        assert other.post(f"/staff/cases/{case.id}/met-alone",
                          data={"csrf_token": token, "met_alone": "yes"}).status_code == code
    db.session.expire_all()
    assert db.session.get(Case, case.id).round("start").answered_how is None
    assert db.session.get(Case, case.id).met_child_alone is None


def test_the_therapist_records_whether_they_have_met_the_child_alone(app, make, people, client):
    case = _case(make, people)
    sign_in(client, "t")
    url = f"/staff/cases/{case.id}/met-alone"
    response = post_form(client, f"/staff/cases/{case.id}", url, {"met_alone": "maybe"})
    assert response.status_code == 400
    response = post_form(client, f"/staff/cases/{case.id}", url, {})
    assert response.status_code == 400 and "Answer yes or no." in response.text
    db.session.expire_all()
    assert db.session.get(Case, case.id).met_child_alone is None
    assert post_form(client, f"/staff/cases/{case.id}", url, {"met_alone": "no"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).met_child_alone is False
    assert "The therapist has not met the child alone." in client.get(f"/staff/cases/{case.id}").text
    assert post_form(client, f"/staff/cases/{case.id}", url, {"met_alone": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).met_child_alone is True
    assert len(_audited("record_met_alone", case.id)) == 2
    social_worker = app.test_client()
    sign_in(social_worker, "sw")
    page = social_worker.get(f"/staff/cases/{case.id}").text
    assert "Has the therapist met the child alone?" in page and 'action="/staff/cases/' + str(case.id) + \
        '/met-alone"' not in page


def test_the_handover_lists_the_checks_open_at_closure_and_the_childs_view(app, make, people, client):
    case = _case(make, people)
    violence, lonely = (p.id for p in case.problems if p.source == "child")
    # 3, 6 and 8 are on every view of the scale the child may be shown
    child_posts(app.test_client(), make.link(case, "start"), {violence: "3", lonely: "6"},
                 enough={violence: "8", lonely: "8"})
    child_posts(app.test_client(), make.link(case, "closure"), {violence: "8", lonely: "declined"})
    case = db.session.get(Case, case.id)
    case.round("start").answered_how = "with_interpreter"
    case.round("follow_up").missing_reason = "Barnet var sjukt."
    case.met_child_alone = False
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    for p in case.problems:
        p.worked_with = "no"
    cases.send_handover(db.session, case, db.session.get(User, people["t"].id))
    db.session.commit()
    doc = case.handovers[-1].document
    assert {c["code"] for c in doc["open_checks"]} == {VIOLENCE_WITHOUT_GOAL, VIOLENCE_NOT_WORKED_WITH,
                                                        NOT_MET_ALONE}
    assert doc["rounds"]["follow_up"]["missing_reason"] == "Barnet var sjukt."

    sign_in(client, "sw")
    page = client.get(f"/staff/cases/{case.id}/handovers/1").text
    assert "Checks still open at closure" in page
    assert "A problem about violence has no goal:" in page
    assert "A problem about violence is marked as not worked with:" in page
    assert "The therapist has not met the child alone." in page
    assert "The child&#39;s view" in page  # catalogue text is escaped
    assert "Reached my good-enough number" in page  # 3 → 8, good enough at 8
    assert "Not answered" in page and "The child chose not to answer" in page  # declined at closure
    assert "With an interpreter" in page and "Barnet var sjukt." in page
    assert "at least the number the child chose at the start as good enough" in page  # the legend
    assert "rose by 2 or more" in page and "changed by at most 1" in page and "fell by 2 or more" in page


def test_a_handover_without_open_checks_says_so_and_old_documents_still_render(app, make, people, client):
    case = _case(make, people)
    case = db.session.get(Case, case.id)
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    cases.send_handover(db.session, case, db.session.get(User, people["t"].id))
    db.session.commit()
    handover = case.handovers[-1]
    handover.document = {**handover.document, "open_checks": []}
    db.session.commit()
    sign_in(client, "sw")
    assert "None: every check along the red thread was met." in client.get(f"/staff/cases/{case.id}/handovers/1").text
    handover = db.session.get(Handover, handover.id)  # the request in between ended the test's session
    old = {k: v for k, v in handover.document.items() if k not in ("open_checks", "met_child_alone")}
    old["rounds"] = {k: {"submitted_at": v["submitted_at"]} for k, v in old["rounds"].items()}
    old["child_problems"] = [{k: v for k, v in p.items() if k != "child_view"} for p in old["child_problems"]]
    handover.document = old
    db.session.commit()
    page = client.get(f"/staff/cases/{case.id}/handovers/1")
    assert page.status_code == 200 and "Checks still open at closure" not in page.text


# --- The child posts, as a browser would -----------------------------------------------------------

def test_gather_reads_what_the_checks_need(app, make, people):
    """gather() reads what the checks need: met alone, how each round was answered, good enough."""
    from kidrate.red_thread.facts import gather

    case = _case(make, people)
    case = db.session.get(Case, case.id)
    case.met_child_alone = True
    case.round("follow_up").answered_how = "parent_present"
    case.round("closure").missing_reason = "Avbröt."
    db.session.commit()
    facts_ = gather(case, utcnow())
    assert facts_.met_child_alone is True
    assert facts_.rounds["follow_up"].answered_how == "parent_present"
    assert facts_.rounds["closure"].missing_reason == "Avbröt."

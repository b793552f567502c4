"""The handover compiler: hand-made facts in, the handover document out (no database), plus one run
through the real child form and `gather` to show the document says what the child posted."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, datetime

import pytest

from kidrate.extensions import db
from kidrate.models import Case, utcnow
from kidrate.red_thread.facts import CaseFacts, ClosureFact, ProblemFact, RatingFact, RoundFact, gather
from kidrate.red_thread.handover import SCHEMA, compile_handover

from ..conftest import child_posts

ASSIGNED = datetime(2026, 1, 10, 9, 30)
SUBMITTED = datetime(2026, 1, 12, 14, 0)
COMPILED = datetime(2026, 3, 1, 8, 0)

CHILD = ProblemFact(id=1, source="child", words="Pappa slår mig.", category="violence_abuse", goal="Trygg hemma")
OTHER_CHILD = ProblemFact(id=2, source="child", words="Jag har inga kompisar.", category="child_mental_health",
                          added_at_start=True)
INVESTIGATION = ProblemFact(id=3, source="investigation", words="Föräldrarna bråkar.", category="family_relations",
                            goal="Färre bråk.", worked_with="partly", goal_attainment="unchanged")


def make_facts(problems=(CHILD,), rounds=None, **fields) -> CaseFacts:
    values = dict(
        case_ref="BOU-2026-1", age=11, gender="girl", child_language="sv",
        intervention_types=("traditional", "other"), intervention_text="Samtal",
        created_at=datetime(2026, 1, 5, 10, 0), assigned_at=ASSIGNED,
        follow_up_date=date(2026, 2, 15), authority_unit="Utredning", open_care_unit="Öppenvården",
        therapist="Bo Behandlare", problems=tuple(problems), rounds=rounds or {},
    )
    values.update(fields)
    return CaseFacts(**values)


def compile_(facts: CaseFacts, **kwargs) -> dict:
    return compile_handover(facts, compiled_at=COMPILED, **kwargs)


def submitted(kind: str, ratings: dict[int, RatingFact], added_text: str | None = None,
              links=("completed",)) -> RoundFact:
    return RoundFact(kind=kind, submitted_at=SUBMITTED, added_text=added_text, ratings=ratings, link_states=links)


def rated(value: int) -> RatingFact:
    return RatingFact("rated", value)


DECLINED = RatingFact("declined", None)
DONT_KNOW = RatingFact("dont_know", None)


def child_entry(doc: dict, problem_id: int) -> dict:
    return next(p for p in doc["child_problems"] if p["id"] == problem_id)


# --- Rating status per round ------------------------------------------------------------------

STATUS_CASES = {
    "rated": (submitted("start", {1: rated(7)}), {"status": "rated", "value": 7}),
    "rated at the ends of the scale": (submitted("start", {1: rated(1)}), {"status": "rated", "value": 1}),
    "declined": (submitted("start", {1: DECLINED}), {"status": "declined", "value": None}),
    "dont_know": (submitted("start", {1: DONT_KNOW}), {"status": "dont_know", "value": None}),
    "not_asked: round submitted without this problem": (
        submitted("start", {99: rated(4)}), {"status": "not_asked", "value": None}),
    "not_asked: round submitted with no ratings at all": (
        submitted("start", {}), {"status": "not_asked", "value": None}),
    "submission wins over a later revoked link": (
        submitted("start", {1: rated(2)}, links=("completed", "revoked")), {"status": "rated", "value": 2}),
    "not_issued: round with no links": (RoundFact("start"), {"status": "not_issued", "value": None}),
    "pending: last link issued": (
        RoundFact("start", link_states=("expired", "issued")), {"status": "pending", "value": None}),
    "pending: last link opened": (
        RoundFact("start", link_states=("revoked", "opened")), {"status": "pending", "value": None}),
    "expired: last link expired": (
        RoundFact("start", link_states=("revoked", "expired")), {"status": "expired", "value": None}),
    "revoked: last link revoked": (
        RoundFact("start", link_states=("expired", "revoked")), {"status": "revoked", "value": None}),
}


@pytest.mark.parametrize("name", list(STATUS_CASES))
def test_rating_status_of_a_round(name):
    rnd, expected = STATUS_CASES[name]
    doc = compile_(make_facts(rounds={"start": rnd}))
    ratings = child_entry(doc, 1)["ratings"]
    assert ratings["start"] == expected
    # the other rounds are absent from the facts: no link was ever issued for them
    assert ratings["follow_up"] == ratings["closure"] == {"status": "not_issued", "value": None}


def test_each_round_has_its_own_status():
    rounds = {
        "start": submitted("start", {1: rated(3)}),
        "follow_up": RoundFact("follow_up", link_states=("expired",)),
        "closure": RoundFact("closure", link_states=("issued",)),
    }
    ratings = child_entry(compile_(make_facts(rounds=rounds)), 1)["ratings"]
    assert ratings == {
        "start": {"status": "rated", "value": 3},
        "follow_up": {"status": "expired", "value": None},
        "closure": {"status": "pending", "value": None},
    }
    assert list(ratings) == ["start", "follow_up", "closure"]


def test_a_problem_added_after_a_round_is_not_asked_in_it_but_rated_later():
    rounds = {
        "start": submitted("start", {1: rated(2)}),
        "closure": submitted("closure", {1: rated(6), 2: rated(9)}),
    }
    doc = compile_(make_facts(problems=(CHILD, OTHER_CHILD), rounds=rounds))
    added = child_entry(doc, 2)
    assert added["ratings"]["start"] == {"status": "not_asked", "value": None}
    assert added["ratings"]["closure"] == {"status": "rated", "value": 9}
    assert added["change_to_closure"] is None
    assert child_entry(doc, 1)["change_to_closure"] == 4


# --- Change ----------------------------------------------------------------------------------

CHANGE_CASES = [
    # start, follow-up, closure, change to follow-up, change to closure
    (rated(3), rated(5), rated(8), 2, 5),
    (rated(8), rated(6), rated(3), -2, -5),
    (rated(5), rated(5), rated(5), 0, 0),
    (rated(1), rated(10), rated(10), 9, 9),
    (rated(10), rated(1), rated(1), -9, -9),
    (DECLINED, rated(5), rated(8), None, None),
    (DONT_KNOW, rated(5), rated(8), None, None),
    (rated(4), DECLINED, rated(8), None, 4),
    (rated(4), rated(6), DONT_KNOW, 2, None),
    (rated(4), rated(6), DECLINED, 2, None),
    (None, rated(6), rated(7), None, None),  # start not answered at all
    (rated(4), None, rated(7), None, 3),  # follow-up not answered at all
    (rated(4), rated(6), None, 2, None),  # closure not answered at all
]


@pytest.mark.parametrize(("start", "follow_up", "closure", "to_follow_up", "to_closure"), CHANGE_CASES)
def test_change_is_later_minus_start_only_when_both_are_rated(start, follow_up, closure, to_follow_up, to_closure):
    rounds = {kind: submitted(kind, {1: answer}) for kind, answer in
              (("start", start), ("follow_up", follow_up), ("closure", closure)) if answer is not None}
    entry = child_entry(compile_(make_facts(rounds=rounds)), 1)
    assert entry["change_to_follow_up"] == to_follow_up
    assert entry["change_to_closure"] == to_closure


@pytest.mark.parametrize("closure_round", [
    RoundFact("closure"),
    RoundFact("closure", link_states=("issued",)),
    RoundFact("closure", link_states=("expired",)),
    RoundFact("closure", link_states=("revoked",)),
    submitted("closure", {}),
])
def test_no_change_when_the_later_round_has_no_rating(closure_round):
    rounds = {"start": submitted("start", {1: rated(4)}), "closure": closure_round}
    assert child_entry(compile_(make_facts(rounds=rounds)), 1)["change_to_closure"] is None


# --- Child problems and investigation problems --------------------------------------------------

def test_child_and_investigation_problems_are_separated_and_investigation_ones_have_no_ratings():
    rounds = {"start": submitted("start", {1: rated(3), 2: DECLINED, 3: rated(9)})}
    doc = compile_(make_facts(problems=(CHILD, INVESTIGATION, OTHER_CHILD), rounds=rounds))
    assert [p["id"] for p in doc["child_problems"]] == [1, 2]
    assert [p["id"] for p in doc["investigation_problems"]] == [3]

    investigation = doc["investigation_problems"][0]
    for key in ("ratings", "change_to_follow_up", "change_to_closure", "added_at_start"):
        assert key not in investigation
    assert investigation == {
        "id": 3, "words": "Föräldrarna bråkar.", "words_language": None, "words_swedish": None,
        "category": "family_relations",
        "category_text": None, "goal": "Färre bråk.", "worked_with": "partly", "worked_with_comment": None,
        "goal_attainment": "unchanged", "withdrawn_at": None,
    }

    first, second = doc["child_problems"]
    assert first["words"] == "Pappa slår mig." and first["goal"] == "Trygg hemma"
    assert first["added_at_start"] is False and second["added_at_start"] is True
    assert first["ratings"]["start"] == {"status": "rated", "value": 3}
    assert second["ratings"]["start"] == {"status": "declined", "value": None}


def test_a_case_with_only_investigation_problems_has_no_child_problems():
    doc = compile_(make_facts(problems=(INVESTIGATION,)))
    assert doc["child_problems"] == []
    assert len(doc["investigation_problems"]) == 1


# --- Duration -------------------------------------------------------------------------------

def test_duration_runs_from_assignment_to_closure():
    doc = compile_(make_facts(closed_at=datetime(2026, 2, 20, 16, 45)))
    assert doc["case"]["duration_days"] == 41  # 10 January to 20 February
    assert doc["case"]["closed_at"] == "2026-02-20T16:45:00"


def test_duration_of_an_open_case_runs_to_the_compilation():
    doc = compile_(make_facts(closed_at=None))
    assert doc["case"]["duration_days"] == 50  # 10 January to 1 March 2026
    assert doc["case"]["closed_at"] is None


def test_duration_counts_calendar_days():
    same_day = compile_(make_facts(closed_at=datetime(2026, 1, 10, 23, 59)))
    next_day = compile_(make_facts(assigned_at=datetime(2026, 1, 10, 23, 59), closed_at=datetime(2026, 1, 11, 0, 1)))
    assert same_day["case"]["duration_days"] == 0
    assert next_day["case"]["duration_days"] == 1


def test_no_duration_without_an_assignment():
    doc = compile_(make_facts(assigned_at=None, closed_at=datetime(2026, 2, 20)))
    assert doc["case"]["duration_days"] is None
    assert doc["case"]["assigned_at"] is None


# --- The child's own added words ------------------------------------------------------------

def test_child_added_words_are_listed_in_round_order_skipping_empty():
    rounds = {  # deliberately not in round order
        "closure": submitted("closure", {1: rated(8)}, added_text="Nu är det bra."),
        "follow_up": submitted("follow_up", {1: rated(5)}, added_text=""),
        "start": submitted("start", {1: rated(2)}, added_text="Jag är rädd."),
    }
    doc = compile_(make_facts(rounds=rounds))
    assert doc["child_added_words"] == [
        {"round": "start", "text": "Jag är rädd.", "language": None, "translations": []},
        {"round": "closure", "text": "Nu är det bra.", "language": None, "translations": []},
    ]


def test_child_added_words_empty_when_the_child_added_nothing():
    rounds = {"start": submitted("start", {1: rated(2)}), "follow_up": RoundFact("follow_up", link_states=("issued",))}
    assert compile_(make_facts(rounds=rounds))["child_added_words"] == []
    assert compile_(make_facts())["child_added_words"] == []


# --- Closure, version, schema ---------------------------------------------------------------

def test_no_closure_gives_none():
    assert compile_(make_facts())["closure"] is None


def test_closure_is_carried_over():
    closure = ClosureFact(reason="other", reason_text="Flyttade", concern_remaining=True, concern_text="Oro kvar",
                          new_problems="Skolan", participation={"commissioner": "yes", "support": "no"},
                          recommendation="Ny utredning")
    facts = make_facts(closure=closure, closed_at=datetime(2026, 2, 20))
    doc = compile_(facts)
    assert doc["closure"] == {
        "reason": "other", "reason_text": "Flyttade", "concern_remaining": True, "concern_text": "Oro kvar",
        "new_problems": "Skolan", "participation": {"commissioner": "yes", "support": "no"},
        "recommendation": "Ny utredning",
    }
    doc["closure"]["participation"]["support"] = "yes"  # the document is a copy, not a view of the facts
    assert facts.closure.participation["support"] == "no"


def test_version_fields_and_schema():
    first = compile_(make_facts())
    assert first["schema"] == SCHEMA == "kidrate.handover/1"
    assert first["version"] == 1 and first["replaces_version"] is None
    resent = compile_(make_facts(), version=3, replaces_version=2)
    assert resent["version"] == 3 and resent["replaces_version"] == 2
    assert resent["compiled_at"] == "2026-03-01T08:00:00"


def test_case_fields_and_round_times():
    doc = compile_(make_facts(rounds={"start": submitted("start", {1: rated(4)})}))
    assert doc["case"] == {
        "case_ref": "BOU-2026-1", "age": 11, "gender": "girl", "child_language": "sv",
        "intervention_types": ["traditional", "other"], "intervention_text": "Samtal",
        "authority_unit": "Utredning", "open_care_unit": "Öppenvården", "therapist": "Bo Behandlare",
        "created_at": "2026-01-05T10:00:00", "assigned_at": "2026-01-10T09:30:00", "closed_at": None,
        "follow_up_date": "2026-02-15", "duration_days": 50,
    }
    unrecorded = {"answered_how": None, "missing_reason": None}
    assert doc["rounds"] == {
        "start": {"submitted_at": "2026-01-12T14:00:00", **unrecorded},
        "follow_up": {"submitted_at": None, **unrecorded},
        "closure": {"submitted_at": None, **unrecorded},
    }


def _walk(value):
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


def full_facts() -> CaseFacts:
    rounds = {
        "start": submitted("start", {1: rated(3), 2: DECLINED}, added_text="Jag är rädd."),
        "follow_up": RoundFact("follow_up", link_states=("expired", "revoked")),
        "closure": submitted("closure", {1: rated(8), 2: DONT_KNOW}, added_text="Bättre."),
    }
    closure = ClosureFact(reason="goals_met", concern_remaining=False, participation={"commissioner": "yes"})
    return make_facts(problems=(CHILD, OTHER_CHILD, INVESTIGATION), rounds=rounds, closure=closure,
                      closed_at=datetime(2026, 2, 27, 11, 0))


def test_the_whole_document_is_json_safe_and_holds_no_dates():
    doc = compile_(full_facts(), version=2, replaces_version=1)
    assert not [v for v in _walk(doc) if isinstance(v, date | datetime)]
    assert not [v for v in _walk(doc) if isinstance(v, tuple | set)]
    text = json.dumps(doc)  # no default=: anything not plain JSON raises here
    assert json.loads(text) == doc  # and survives a round trip unchanged (string keys, lists, no tuples)
    for stamp in (doc["compiled_at"], doc["case"]["created_at"], doc["case"]["closed_at"],
                  doc["rounds"]["start"]["submitted_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", stamp)
    assert doc["case"]["follow_up_date"] == "2026-02-15"


def test_compiling_does_not_depend_on_anything_but_the_facts():
    facts = full_facts()
    assert compile_(facts) == compile_(facts)
    later = compile_handover(facts, compiled_at=datetime(2027, 1, 1))
    assert later["compiled_at"] == "2027-01-01T00:00:00"
    assert later["case"]["duration_days"] == compile_(facts)["case"]["duration_days"]  # closed: fixed


# --- Table-driven property: ratings in, the same ratings out ----------------------------------
# (hypothesis is not installed in this project's environment, so every combination is enumerated.)

ANSWERS = (*range(1, 11), "declined")


def _fact(answer) -> RatingFact:
    return DECLINED if answer == "declined" else rated(answer)


def _expected(answer) -> dict:
    return {"status": "declined", "value": None} if answer == "declined" else {"status": "rated", "value": answer}


def test_every_combination_of_answers_comes_out_as_it_went_in():
    combos = list(itertools.product(ANSWERS, repeat=3))  # start, follow-up, closure: 1331 problems
    problems = tuple(ProblemFact(id=n, source="child", words=f"problem {n}", category="other")
                     for n in range(1, len(combos) + 1))
    rounds = {
        kind: submitted(kind, {p.id: _fact(combo[i]) for p, combo in zip(problems, combos, strict=True)})
        for i, kind in enumerate(("start", "follow_up", "closure"))
    }
    doc = compile_(make_facts(problems=problems, rounds=rounds))
    assert len(doc["child_problems"]) == len(combos)
    for entry, (start, follow_up, closure) in zip(doc["child_problems"], combos, strict=True):
        assert entry["ratings"] == {"start": _expected(start), "follow_up": _expected(follow_up),
                                    "closure": _expected(closure)}
        both = "declined" not in (start, closure)
        assert entry["change_to_closure"] == (closure - start if both else None)
        both = "declined" not in (start, follow_up)
        assert entry["change_to_follow_up"] == (follow_up - start if both else None)


# --- Integration: what the child posts is what the handover says ---------------------------------

def test_the_handover_of_a_real_case_says_what_the_child_posted(app, make, client):
    sw = make.user("social_worker")
    therapist = make.user("therapist")
    case = make.case(sw, therapist=therapist, words=("Pappa slår mig.", "Jag har inga kompisar."),
                     investigation=("Föräldrarna bråkar.",))
    hurt, lonely = (p.id for p in case.problems if p.source == "child")
    (investigation,) = (p.id for p in case.problems if p.source == "investigation")

    # 3, 6 and 8 are on every view of the scale the child may be shown
    child_posts(client, make.link(case, "start"), {hurt: "3", lonely: "declined"}, added_text="Jag är rädd.")
    make.link(case, "follow_up")  # sent, never answered
    child_posts(client, make.link(case, "closure"), {hurt: "8", lonely: "6"})

    now = utcnow()
    with app.app_context():
        facts = gather(db.session.get(Case, case.id))
        doc = compile_handover(facts, compiled_at=now, version=1)

    first, second = doc["child_problems"]
    assert (first["id"], first["words"]) == (hurt, "Pappa slår mig.")
    assert first["ratings"] == {"start": {"status": "rated", "value": 3},
                                "follow_up": {"status": "pending", "value": None},
                                "closure": {"status": "rated", "value": 8}}
    assert first["change_to_closure"] == 5 and first["change_to_follow_up"] is None
    assert (second["id"], second["words"]) == (lonely, "Jag har inga kompisar.")
    assert second["ratings"]["start"] == {"status": "declined", "value": None}
    assert second["ratings"]["closure"] == {"status": "rated", "value": 6}
    assert second["change_to_closure"] is None
    assert [p["id"] for p in doc["investigation_problems"]] == [investigation]
    # The language of the child's page when they wrote it (the link's), and no staff translation yet.
    assert doc["child_added_words"] == [{"round": "start", "text": "Jag är rädd.", "language": "en",
                                         "translations": []}]
    assert doc["rounds"]["start"]["submitted_at"] and doc["rounds"]["closure"]["submitted_at"]
    assert doc["rounds"]["follow_up"]["submitted_at"] is None
    assert doc["case"]["therapist"] == therapist.display_name
    assert doc["case"]["duration_days"] == (now.date() - facts.assigned_at.date()).days
    assert json.loads(json.dumps(doc)) == doc

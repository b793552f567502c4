"""Properties, checked on generated input (hypothesis):

- whatever a child's POST holds (answers out of range, unknown problems, huge or odd text, a missing or
  forged form token, fields twice), the app never fails with a 5xx, and either stores one whole
  submission that says exactly what was posted, or stores nothing at all; a clean, complete form is
  always stored;
- the handover compiler never raises on any facts a case can hold, its document is JSON and valid
  against its schema, and the child's ratings in it are the stored ones, through the database too.

Example counts are kept moderate so that the suite stays fast; hypothesis keeps no example database
in the working tree (database=None)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kidrate.extensions import db
from kidrate.models import Case, ChildLink, Rating, Submission, utcnow
from kidrate.red_thread import links
from kidrate.red_thread.facts import CaseFacts, ClosureFact, ProblemFact, RatingFact, RoundFact, gather
from kidrate.red_thread.handover import compile_handover
from kidrate.red_thread.scale import SCALE_VERSION, TWO_STEP, VIEW_VALUES, VIEWS, default_view
from kidrate.vocab import (
    CLOSURE_REASONS,
    GENDERS,
    GOAL_ATTAINMENT,
    INTERVENTION_TYPES,
    LINK_STATES,
    PARTICIPATION,
    PROBLEM_CATEGORIES,
    ROUND_ORDER,
    WORKED_WITH,
)

from .childform import hidden_fields

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "handover-1.schema.json"
jsonschema = pytest.importorskip("jsonschema")

# Generated text: any Unicode a browser can send (no lone surrogates), now and then very long.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
LONG_TEXT = st.builds(lambda ch, n: ch * n, st.characters(exclude_categories=("Cs",)), st.integers(1900, 2100))
FEW = settings(max_examples=40, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- The child's POST --------------------------------------------------------------------------------


@st.composite
def child_posts(draw, problem_ids: list[int], age: int):
    """A posted form as (name, value) pairs in order. Half the forms are clean and complete (each part
    drawn from what the page itself can send) and must be stored; the other half mix in anything."""
    clean = draw(st.booleans())

    def pick(good: list, bad: list):
        return draw(st.sampled_from(good if clean else good + bad))

    view_field = pick([None, *VIEWS], ["huge", ""])
    view = view_field if view_field in VIEWS else default_view(age)
    pairs: list[tuple[str, str]] = []
    token = pick(["page"], ["missing", "forged"])
    for pid in problem_ids:
        kind = pick(["valid", "valid", "not_answered", *(["two_step"] if view == "two_step" else [])],
                    ["missing", "odd", "two_step"])
        if kind == "valid":
            pairs.append((f"answer-{pid}", str(draw(st.sampled_from(VIEW_VALUES[view])))))
        elif kind == "not_answered":
            pairs.append((f"answer-{pid}", draw(st.sampled_from(["declined", "dont_know"]))))
        elif kind == "two_step":
            good, amount = draw(st.sampled_from(sorted(TWO_STEP)))
            pairs += [(f"good-{pid}", good), (f"amount-{pid}", amount)]
        elif kind == "odd":
            pairs.append((f"answer-{pid}", draw(st.one_of(
                st.integers(-10**6, 10**6).map(str), st.sampled_from(["0", "11", "5.5", "٥", " 6 ", "06", "1e1"]),
                ANY_TEXT))))
        if draw(st.booleans()):  # the start round asks how good is good enough
            valid = st.integers(1, 10).map(str)
            pairs.append((f"enough-{pid}", draw(valid if clean else st.one_of(valid, ANY_TEXT))))
    if not clean:
        pairs += draw(st.lists(st.one_of(
            st.tuples(st.integers(1, 10**9).map(lambda n: f"answer-{n}"), st.sampled_from(["5", "declined"])),
            st.tuples(ANY_TEXT, ANY_TEXT),
        ), max_size=2))
    words = ANY_TEXT.filter(lambda t: "\x00" not in t)
    text = draw(st.one_of(st.none(), words) if clean else st.one_of(st.none(), ANY_TEXT, LONG_TEXT, st.just("a\x00b")))
    if text is not None:
        pairs.append(("added_text", text))
    client = pick(["page", "fresh", "missing"], ["garbage"])
    intent = pick([None, "send"], ["review", "change", "nonsense"])
    if view_field is not None:
        pairs.append(("view", view_field))
    if intent is not None:
        pairs.append(("intent", intent))
    if not clean and pairs and draw(st.booleans()):  # a field sent twice, with another value, before or after
        name, _value = draw(st.sampled_from(pairs))
        pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(ANY_TEXT)))
    return {"pairs": pairs, "token": token, "client": client, "clean": clean, "json": draw(st.booleans())}


def first(pairs: list[tuple[str, str]], name: str) -> str | None:
    """The value the app reads for a field sent more than once: the first one (werkzeug's MultiDict)."""
    return next((v for k, v in pairs if k == name), None)


def expected_rating(pairs, pid: int, view: str) -> tuple[str, int | None, int | None]:
    """(answer, value, good enough) as the posted form says it, for a stored submission."""
    raw = (first(pairs, f"answer-{pid}") or "").strip()
    if not raw and view == "two_step":
        parts = ((first(pairs, f"good-{pid}") or "").strip(), (first(pairs, f"amount-{pid}") or "").strip())
        raw = str(TWO_STEP[parts])
    enough = (first(pairs, f"enough-{pid}") or "").strip()
    if raw in {"declined", "dont_know"}:
        return raw, None, int(enough) if enough else None
    return "rated", int(raw), int(enough) if enough else None


def test_any_child_post_stores_one_whole_submission_or_nothing(app, make):
    sw, therapist = make.user("social_worker"), make.user("therapist")
    outcomes = Counter()

    @FEW
    @given(data=st.data(), age=st.sampled_from([6, 11, 15]), problems=st.integers(1, 3))
    def check(data, age, problems):
        case = make.case(sw, therapist=therapist, age=age, words=[f"Problem {n}" for n in range(problems)])
        problem_ids = [p.id for p in case.problems]
        token = make.link(case)
        client = app.test_client()
        page = hidden_fields(client.get(f"/r/{token}").text)
        post = data.draw(child_posts(problem_ids, age))
        pairs = list(post["pairs"])
        if post["token"] != "missing":
            pairs.append(("form_token", page["form_token"] if post["token"] == "page" else "forged.token.x"))
        client_id = {"page": page["client_id"], "fresh": str(uuid.uuid4()), "garbage": "not-a-uuid",
                     "missing": None}[post["client"]]
        if client_id is not None:
            pairs.append(("client_id", client_id))
        view = first(pairs, "view") if first(pairs, "view") in VIEWS else default_view(age)
        headers = {"Accept": "application/json"} if post["json"] else {}

        response = client.post(f"/r/{token}", data=MultiDict(pairs), headers=headers)

        assert response.status_code < 500, response.status_code
        link = db.session.scalar(select(ChildLink).where(ChildLink.token_hash == links.hash_token(token)))
        submissions = list(db.session.scalars(select(Submission).where(Submission.round_id == link.round_id)))
        ratings = list(db.session.scalars(select(Rating).where(Rating.problem_id.in_(problem_ids))))
        said_sent = response.status_code == 303 or (response.is_json and response.json.get("status") == "sent")
        if not submissions:
            assert not said_sent and link.used_at is None and ratings == []
            assert not post["clean"], "a clean, complete form was not stored"
            outcomes["nothing"] += 1
        else:
            (submission,) = submissions
            assert said_sent and link.used_at is not None
            assert sorted(r.problem_id for r in submission.ratings) == sorted(problem_ids)
            assert {r.id for r in ratings} == {r.id for r in submission.ratings}
            for rating in submission.ratings:
                assert (rating.answer, rating.value, rating.good_enough) == expected_rating(
                    pairs, rating.problem_id, view)
                assert (rating.scale_view, rating.scale_version) == (view, SCALE_VERSION)
            text = (first(pairs, "added_text") or "").strip() or None
            assert submission.added_text == text
            assert submission.client_id == ((first(pairs, "client_id") or "").strip().lower() or None)
            outcomes["stored"] += 1
        db.session.remove()

    check()
    # Both outcomes were reached, so neither half of the property was checked in vain.
    assert outcomes["stored"] >= 3 and outcomes["nothing"] >= 3, outcomes


# --- The handover compiler ---------------------------------------------------------------------------

MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2089, 12, 31))
LATER = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000))
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
OPTIONAL_TEXT = st.one_of(st.none(), ANY_TEXT)
RATINGS = st.one_of(
    st.builds(RatingFact, st.just("rated"), st.integers(1, 10), st.one_of(st.none(), st.integers(1, 10))),
    st.builds(RatingFact, st.sampled_from(["declined", "dont_know"]), st.none(),
              st.one_of(st.none(), st.integers(1, 10))),
)


@st.composite
def case_facts(draw) -> CaseFacts:
    """Any facts a case can hold: problems of either source, any rounds (answered or not, with ratings
    for some problems, or for problems since removed), any closure, any dates."""
    ids = draw(st.lists(st.integers(1, 10**6), min_size=0, max_size=6, unique=True))
    problems = tuple(ProblemFact(
        id=pid, source=draw(st.sampled_from(["child", "investigation"])), words=draw(ANY_TEXT),
        category=draw(st.sampled_from(sorted(PROBLEM_CATEGORIES))),
        words_language=draw(st.one_of(st.none(), st.sampled_from(["sv", "ar", "fa_AF"]))),
        words_swedish=draw(OPTIONAL_TEXT), category_text=draw(OPTIONAL_TEXT), goal=draw(OPTIONAL_TEXT),
        added_at_start=draw(st.booleans()),
        worked_with=draw(st.one_of(st.none(), st.sampled_from(sorted(WORKED_WITH)))),
        worked_with_comment=draw(OPTIONAL_TEXT),
        goal_attainment=draw(st.one_of(st.none(), st.sampled_from(sorted(GOAL_ATTAINMENT)))),
    ) for pid in ids)
    rounds = {}
    for kind in draw(st.lists(st.sampled_from(ROUND_ORDER), unique=True)):
        submitted = draw(st.booleans())
        rated_ids = draw(st.lists(st.sampled_from(ids), unique=True)) if ids and submitted else []
        rated_ids += draw(st.lists(st.integers(10**6 + 1, 10**7), max_size=1)) if submitted else []
        rounds[kind] = RoundFact(
            kind=kind, submitted_at=draw(MOMENTS) if submitted else None,
            added_text=draw(OPTIONAL_TEXT) if submitted else None,
            ratings={pid: draw(RATINGS) for pid in rated_ids},
            link_states=tuple(draw(st.lists(st.sampled_from(sorted(LINK_STATES)), max_size=3))),
            answered_how=draw(st.one_of(st.none(), st.sampled_from(["alone", "with_therapist", "unknown"]))),
            missing_reason=draw(OPTIONAL_TEXT),
        )
    closure = draw(st.one_of(st.none(), st.builds(
        ClosureFact, reason=st.sampled_from(sorted(CLOSURE_REASONS)), concern_remaining=st.booleans(),
        reason_text=OPTIONAL_TEXT, concern_text=OPTIONAL_TEXT, new_problems=OPTIONAL_TEXT,
        participation=st.dictionaries(st.sampled_from(sorted(PARTICIPATION)), st.sampled_from(["yes", "partly", "no"])),
        recommendation=OPTIONAL_TEXT)))
    # Time runs one way: opened, then assigned, then closed (any of them the same moment as the one before).
    created_at = draw(MOMENTS)
    assigned_at = draw(st.one_of(st.none(), LATER.map(lambda d: created_at + d)))
    closed_at = draw(st.one_of(st.none(), LATER.map(lambda d: (assigned_at or created_at) + d)))
    return CaseFacts(
        case_ref=draw(ANY_TEXT), age=draw(st.integers(0, 20)), gender=draw(st.sampled_from(sorted(GENDERS))),
        child_language=draw(st.sampled_from(["sv", "en", "ar", "ckb"])),
        intervention_types=tuple(draw(st.lists(st.sampled_from(sorted(INTERVENTION_TYPES)), unique=True))),
        created_at=created_at, problems=problems, rounds=rounds, intervention_text=draw(OPTIONAL_TEXT),
        assigned_at=assigned_at, closed_at=closed_at,
        follow_up_date=draw(st.one_of(st.none(), DAYS)), authority_unit=draw(ANY_TEXT),
        open_care_unit=draw(ANY_TEXT), therapist=draw(ANY_TEXT), closure=closure,
        met_child_alone=draw(st.one_of(st.none(), st.booleans())),
    )


def expected_status(facts: CaseFacts, pid: int, kind: str) -> dict | None:
    """The child's rating of one problem in one round as stored, or None where nothing was sent."""
    rnd = facts.rounds.get(kind)
    if rnd is None or rnd.submitted_at is None:
        return None
    rating = rnd.ratings.get(pid)
    if rating is None:
        return {"status": "not_asked", "value": None}
    return {"status": rating.answer, "value": rating.value}


VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


@settings(max_examples=150, deadline=None, database=None)
@given(facts=case_facts(), after=LATER)
def test_the_handover_of_any_case_facts_holds_exactly_the_stored_ratings(facts, after):
    # Compiled when it is sent: after everything else happened.
    compiled_at = max(t for t in (facts.created_at, facts.assigned_at, facts.closed_at) if t) + after
    document = compile_handover(facts, compiled_at=compiled_at)

    assert json.loads(json.dumps(document)) == document
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert not errors, errors

    child = [p for p in facts.problems if p.source == "child"]
    assert [e["id"] for e in document["child_problems"]] == [p.id for p in child]
    assert [e["id"] for e in document["investigation_problems"]] == [
        p.id for p in facts.problems if p.source != "child"]
    for entry in document["child_problems"]:
        for kind in ROUND_ORDER:
            stored = expected_status(facts, entry["id"], kind)
            if stored is not None:
                assert entry["ratings"][kind] == stored
            else:
                assert entry["ratings"][kind]["value"] is None
                assert entry["ratings"][kind]["status"] not in {"rated", "declined", "dont_know"}
        start, closure = entry["ratings"]["start"], entry["ratings"]["closure"]
        both = start["status"] == closure["status"] == "rated"
        assert entry["change_to_closure"] == (closure["value"] - start["value"] if both else None)


# --- The same through the database -----------------------------------------------------------------


@st.composite
def stored_answers(draw, problems: int):
    """For each round: None (never sent) or one answer per problem, as the child's page can store it."""
    return {kind: draw(st.one_of(st.none(), st.lists(RATINGS, min_size=problems, max_size=problems)))
            for kind in ROUND_ORDER}


def test_the_handover_of_a_stored_case_holds_exactly_its_stored_ratings(app, make):
    sw, therapist = make.user("social_worker"), make.user("therapist")

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data(), problems=st.integers(1, 4))
    def check(data, problems):
        case = make.case(sw, therapist=therapist, words=[f"Problem {n}" for n in range(problems)],
                         investigation=("Föräldrarna bråkar.",))
        child_ids = [p.id for p in case.problems if p.source == "child"]
        answers = data.draw(stored_answers(len(child_ids)))
        case = db.session.get(Case, case.id)
        for kind, ratings in answers.items():
            if ratings is None:
                continue
            link, _token = links.issue(db.session, case.round(kind), language="sv", created_by_id=None, days=14)
            db.session.flush()
            link.used_at = utcnow()
            db.session.add(Submission(round=case.round(kind), link_id=link.id, ratings=[
                Rating(problem_id=pid, answer=r.answer, value=r.value, good_enough=r.good_enough)
                for pid, r in zip(child_ids, ratings, strict=True)]))
        db.session.commit()
        db.session.remove()

        with app.app_context():
            document = compile_handover(gather(db.session.get(Case, case.id)), compiled_at=utcnow())
            stored = {(r.problem_id, r.submission.round.kind): {"status": r.answer, "value": r.value}
                      for r in db.session.scalars(select(Rating).where(Rating.problem_id.in_(child_ids)))}
        assert [e["id"] for e in document["child_problems"]] == child_ids
        for entry in document["child_problems"]:
            for kind in ROUND_ORDER:
                if answers[kind] is None:
                    assert entry["ratings"][kind]["status"] not in {"rated", "declined", "dont_know"}
                else:
                    assert entry["ratings"][kind] == stored[(entry["id"], kind)]
        db.session.remove()

    check()


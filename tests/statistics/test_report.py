"""The group report (issue 6): every table on a hand-built set of 20 closed cases, worked out by hand;
filters; small counts suppressed in HTML, CSV, XLSX and on the command line; only analysts see it."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from kidrate.extensions import db
from kidrate.models import Case, ChildLink, Closure, Organisation, Problem, Rating, Submission, Unit, User
from kidrate.red_thread.rating_summary import refresh_rating_summary
from kidrate.statistics.export import report_csv, report_xlsx
from kidrate.statistics.report import ReportFilters, build_report, compute_tables, parse_filters
from kidrate.statistics.suppression import Column, Hidden, Row, Table, hidden_cells, suppress

from ..conftest import sign_in

TODAY = date(2028, 6, 1)
START = date(2024, 1, 1)
SECRET_WORDS = "HEMLIGT-BARNORD-5512"

# One closed case per line: ref, gender, age, days enrolled, intervention types, earlier episodes,
# closure reason, serious concern remaining, problems as (source, category, worked_with, start
# rating, closure rating) — None: no rating. Girls go to open-care unit 1, boys to unit 2.
T, C, M, OT = "traditional", "crisis_support", "manual_based", "other"
CASES = [
    ("G1", "girl", 7, 100, [T], "no", "goals_met", False,
     [("child", "violence_abuse", "focus", 3, 7), ("investigation", "parenting", None, None, None)]),
    ("G2", "girl", 10, 200, [T], "no", "goals_met", False, [("child", "violence_abuse", "focus", 2, 8)]),
    ("G3", "girl", 13, 300, [T, M], "once", "child_interrupted", True,
     [("child", "school", "partly", 5, 5), ("child", "violence_abuse", "focus", 4, 3)]),
    ("G4", "girl", 16, 150, [C], "no", "goals_met", False, [("child", "family_relations", "focus", 4, 6)]),
    ("G5", "girl", 9, 50, [T], "several", "guardian_interrupted", False,
     [("child", "family_relations", "no", 6, 3)]),
    ("G6", "girl", 7, 100, [T], "no", "goals_met", False, [("child", "violence_abuse", "focus", 3, 5)]),
    ("G7", "girl", 12, 60, [T], "no", "guardian_interrupted", False, [("child", "family_relations", "no", 5, 5)]),
    ("G8", "girl", 6, 80, [C], "no", "goals_met", False, [("child", "violence_abuse", "focus", 2, 6)]),
    ("G9", "girl", 10, 120, [T], "once", "goals_met", False,
     [("child", "family_relations", "focus", 3, 7), ("child", "school", "partly", 6, 7)]),
    ("G10", "girl", 14, 220, [T], "no", "transferred", True, [("child", "violence_abuse", "focus", 5, None)]),
    ("G11", "girl", 3, 40, [C], "unknown", "never_started", False, [("investigation", "parenting", None, None, None)]),
    ("B1", "boy", 4, 120, [T], "no", "goals_met", False, [("investigation", "parenting", None, None, None)]),
    ("B2", "boy", 11, 250, [T, OT], "once", "transferred", True, [("child", "behaviour", "focus", 3, 6)]),
    ("B3", "boy", 14, 180, [M], "no", "goals_met", False, [("child", "behaviour", "partly", 5, 6)]),
    ("B4", "boy", 15, 400, [T], "unknown", "child_interrupted", True, [("child", "school", "no", 4, "dont_know")]),
    ("B5", "boy", 8, 90, [T], "no", "goals_met", False, [("child", "violence_abuse", "focus", 1, 5)]),
    ("B6", "boy", 10, 100, [T], "no", "goals_met", False,
     [("child", "behaviour", "focus", 4, 8), ("investigation", "parenting", None, None, None)]),
    ("B7", "boy", 17, 30, [T], "several", "child_interrupted", False,
     [("child", "criminality", "no", "declined", None)]),
    ("B8", "boy", 1, 200, [C], None, "goals_met", False, [("imported", "parenting", None, None, None)]),
    ("B9", "boy", 9, 110, [T], "no", "guardian_interrupted", False, [("child", "family_relations", "partly", 4, 4)]),
]
# The child also rated at follow-up in these cases (the same value as at the start).
FOLLOW_UP = {"G1", "G2", "B2"}


def _submit(round_, problems_and_answers):
    link = ChildLink(round_id=round_.id, token_hash=secrets.token_hex(32), language="sv",
                     expires_at=datetime(2030, 1, 1))
    db.session.add(link)
    db.session.flush()
    submission = Submission(round_id=round_.id, link_id=link.id)
    db.session.add(submission)
    db.session.flush()
    for problem, answer in problems_and_answers:
        rated = isinstance(answer, int)
        db.session.add(Rating(submission_id=submission.id, problem_id=problem.id,
                              answer="rated" if rated else answer, value=answer if rated else None))


@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", username="sw")
    oc1 = make.unit("open_care", "Öppenvård 1")
    oc2 = make.unit("open_care", "Öppenvård 2")
    make.user("analyst", username="analyst")
    make.user("therapist", oc1, username="t")
    make.user("admin", username="admin")
    ids = {}
    for ref, gender, age, days, types, earlier, reason, concern, problems in CASES:
        case = make.case(sw, words=(), case_ref=ref, gender=gender, age=age, intervention_types=types,
                         intervention_text="fritext" if OT in types or M in types else None)
        case = db.session.get(Case, case.id)
        case.status = "closed"
        case.earlier_episodes = earlier
        case.imported = ref == "B8"
        case.open_care_unit_id = (oc1 if gender == "girl" else oc2).id
        case.created_at = datetime(2023, 12, 1, 8, 0)
        if ref == "G2":  # no start date: the assignment counts
            case.assigned_at = datetime(2024, 1, 1, 9, 0)
        elif ref == "B9":  # neither: the day the case was opened counts
            case.created_at = datetime(2024, 1, 1, 8, 0)
        else:
            case.started_on = START
            case.assigned_at = datetime(2023, 12, 15, 9, 0)
        case.closed_at = datetime.combine(START + timedelta(days=days), datetime.min.time()).replace(hour=12)
        case.closure = Closure(reason=reason, concern_remaining=concern, participation={},
                               reason_text=SECRET_WORDS, concern_text=SECRET_WORDS)
        made = []
        for source, category, worked, start, end in problems:
            problem = Problem(source=source, words=SECRET_WORDS, category=category, worked_with=worked)
            case.problems.append(problem)
            made.append((problem, start, end))
        db.session.flush()
        for kind, pick in (("start", 1), ("closure", 2)):
            answers = [(p, a[pick - 1]) for p, *a in made if a[pick - 1] is not None]
            if answers:
                _submit(case.round(kind), answers)
        if ref in FOLLOW_UP:
            _submit(case.round("follow_up"), [(p, s) for p, s, _e in made if isinstance(s, int)])
        ids[ref] = case.id
    refresh_rating_summary(db.session)  # as the child's submission does
    db.session.commit()
    org_id = make.org().id
    # Not counted: a case still open, a draft with G2's reference opened before G2 closed, a case in
    # another organisation with G3's reference. Returns: G1's reference again 6 months after
    # closure, B1's 30 months after.
    again = [("OPEN-1", datetime(2024, 3, 1)), ("G2", datetime(2023, 6, 1)),
             ("G1", datetime(2024, 10, 9)), ("B1", datetime(2026, 10, 30))]
    for ref, created in again:
        case = make.case(sw, words=(SECRET_WORDS,), case_ref=ref)
        case = db.session.get(Case, case.id)
        case.created_at = created
    other = Organisation(name="Annan kommun")
    db.session.add(other)
    db.session.flush()
    other_unit = Unit(organisation_id=other.id, name="Annan enhet", kind="authority")
    db.session.add(other_unit)
    db.session.flush()
    other_sw = User(organisation_id=other.id, unit_id=other_unit.id, username="other_sw", display_name="X",
                    role="social_worker")
    other_analyst = User(organisation_id=other.id, username="other_analyst", display_name="Y", role="analyst",
                         password_hash=db.session.get(User, sw.id).password_hash, locale="en")
    db.session.add_all([other_sw, other_analyst])
    db.session.flush()
    db.session.add(Case(organisation_id=other.id, case_ref="G3", status="closed", age=5, gender="girl",
                        child_language="sv", authority_unit_id=other_unit.id, social_worker_id=other_sw.id,
                        started_on=START, created_at=datetime(2024, 12, 1), closed_at=datetime(2024, 6, 1),
                        intervention_types=[T]))
    db.session.commit()
    return {"org_id": org_id, "oc1": oc1.id, "oc2": oc2.id, "ids": ids}


def raw(world, **filters):
    tables = compute_tables(db.session, world["org_id"], ReportFilters(**filters), TODAY)
    return {t.key: {r.key: r.values[1:] for r in t.rows} for t in tables}


# --- Every table, exactly -------------------------------------------------------------------------


def test_closed_cases_by_gender(world):
    # Girls G1–G11: ages 7+10+13+16+9+7+12+6+10+14+3 = 107 → 9.7; days 100+200+300+150+50+100+60+80+120
    # +220+40 = 1420 → 129.1. Boys B1–B9: ages 4+11+14+15+8+10+17+1+9 = 89 → 9.9; days 120+250+180+400+90
    # +100+30+200+110 = 1480 → 164.4. All 20: 196/20 = 9.8 years, 2900/20 = 145 days. G2 counts from its
    # assignment, B9 from the day it was opened: 200 and 110 days all the same.
    assert raw(world)["gender"] == {
        "girl": (11, 9.7, 129.1), "boy": (9, 9.9, 164.4), "other": (0, None, None), "not_stated": (0, None, None),
        "total": (20, 9.8, 145.0),
    }


def test_age_groups(world):
    # 0–2: B8. 3–5: G11, B1. 6–8: G1, G6, G8, B5. 9–11: G2, G5, G9, B2, B6, B9. 12–14: G3, G7, G10, B3.
    # 15–17: G4, B4, B7.
    assert raw(world)["age_groups"] == {
        "0-2": (1, 0.05), "3-5": (2, 0.1), "6-8": (4, 0.2), "9-11": (6, 0.3), "12-14": (4, 0.2), "15-17": (3, 0.15),
        "total": (20, 1.0),
    }


def test_problem_areas(world):
    # Once per case and category. Violence: G1 G2 G3 G6 G8 G10 B5 (alone: G2 G6 G8 G10 B5). Parenting:
    # G1 G11 B1 B6 B8 (alone: G11 B1 B8). School: G3 G9 B4 (alone: B4). Family relations: G4 G5 G7 G9 B9
    # (alone: all but G9). Behaviour: B2 B3 B6 (alone: B2 B3). Criminality: B7 (alone).
    table = raw(world)["problem_areas"]
    assert table["violence_abuse"] == (7, 5, 5 / 7)
    assert table["parenting"] == (5, 3, 3 / 5)
    assert table["school"] == (3, 1, 1 / 3)
    assert table["family_relations"] == (5, 4, 4 / 5)
    assert table["behaviour"] == (3, 2, 2 / 3)
    assert table["criminality"] == (1, 1, 1.0)
    assert table["substance_abuse"] == (0, 0, None)
    assert table["total"] == (24, 16, 16 / 24)


def test_problem_area_codes_outside_the_list_count_on_their_own(world):
    # Older data may carry a code no longer in the list: G4 (family relations alone) gets one such
    # problem, B7 (criminality alone) two with the same retired code and one with another.
    for ref, codes in (("G4", ["retired_a"]), ("B7", ["retired_a", "retired_a", "retired_b"])):
        case = db.session.get(Case, world["ids"][ref])
        case.problems += [Problem(source="investigation", words=SECRET_WORDS, category=c) for c in codes]
    db.session.commit()
    table = raw(world)["problem_areas"]
    assert table["retired_a"] == (2, 0, 0.0)
    assert table["retired_b"] == (1, 0, 0.0)
    assert table["family_relations"] == (5, 3, 3 / 5)
    assert table["criminality"] == (1, 0, 0.0)
    assert table["total"] == (27, 14, 14 / 27)


def test_duration_per_problem_area(world):
    # Violence: 80 90 100 100 200 220 300 → mean 1090/7 = 155.7, median 100. Parenting: 40 100 100 120 200
    # → 112, median 100. School: 120 300 400 → 273.3, median 300. Family relations: 50 60 110 120 150 → 98,
    # median 110. Behaviour: 100 180 250 → 176.7, median 180. Criminality: 30.
    table = raw(world)["duration"]
    assert table["violence_abuse"] == (7, 155.7, 100, 300, 80)
    assert table["parenting"] == (5, 112.0, 100, 200, 40)
    assert table["school"] == (3, 273.3, 300, 400, 120)
    assert table["family_relations"] == (5, 98.0, 110, 150, 50)
    assert table["behaviour"] == (3, 176.7, 180, 250, 100)
    assert table["criminality"] == (1, 30.0, 30, 30, 30)
    assert table["other"] == (0, None, None, None, None)


def test_intervention_types(world):
    # Traditional in 15 cases (all but G4 G8 G11 B3 B8), combined in G3 (with manual) and B2 (with other).
    # Crisis support: G4 G8 G11 B8, alone. Manual: G3 (combined), B3 (alone). Other: B2 (combined).
    assert raw(world)["interventions"] == {
        "traditional": (15, 13, 2), "crisis_support": (4, 4, 0), "manual_based": (2, 1, 1), "other": (1, 0, 1),
    }


def test_closure_reasons(world):
    # Goals met: G1 G2 G4 G6 G8 G9 B1 B3 B5 B6 B8 = 11; the child interrupted: G3 B4 B7; the guardian: G5 G7
    # B9; transferred: G10 B2; never started: G11.
    table = raw(world)["closure_reasons"]
    assert table["goals_met"] == (11, 0.55)
    assert table["child_interrupted"] == (3, 0.15)
    assert table["guardian_interrupted"] == (3, 0.15)
    assert table["transferred"] == (2, 0.1)
    assert table["never_started"] == (1, 0.05)
    assert table["not_meeting_needs"] == (0, 0.0)
    assert table["total"] == (20, 1.0)
    assert "none" not in table


def test_earlier_episodes(world):
    # No: G1 G2 G4 G6 G7 G8 G10 B1 B3 B5 B6 B9 — days 1510/12 = 125.8, ages 117/12 = 9.75 → 9.8.
    # Once: G3 G9 B2 — 670/3 = 223.3 days, 34/3 = 11.3 years. Several: G5 B7 — 40 days, 13 years.
    # Not known: G11 B4 — 220 days, 9 years. Not recorded: B8 (imported) — 200 days, 1 year.
    assert raw(world)["earlier_episodes"] == {
        "no": (12, 125.8, 9.8), "once": (3, 223.3, 11.3), "several": (2, 40.0, 13.0), "unknown": (2, 220.0, 9.0),
        "none": (1, 200.0, 1.0), "total": (20, 145.0, 9.8),
    }


def test_child_named_problems_worked_with(world):
    # 19 problems the child named. Focus: G1 G2 G3(violence) G4 G6 G8 G9(family) G10 B2 B5 B6 = 11.
    # Partly: G3(school) G9(school) B3 B9 = 4. Not: G5 G7 B4 B7 = 4.
    assert raw(world)["worked_with"] == {
        "focus": (11, 11 / 19), "partly": (4, 4 / 19), "no": (4, 4 / 19), "total": (19, 1.0),
    }


def test_rating_change_start_to_closure(world):
    # Rated at both: violence G1 +4, G2 +6, G3 −1, G6 +2, G8 +4, B5 +4 (G10 has no closure rating):
    # n 6, starts 1 2 2 3 3 4 → 2.5, closures 3 5 5 6 7 8 → 5.5, changes −1 2 4 4 4 6 → 4; better 5, same 1.
    # School G3 0, G9 +1 (B4 did not know at closure): starts 5 6, closures 5 7, change 0.5, same 2.
    # Family relations G4 +2, G5 −3, G7 0, G9 +4, B9 0: starts 3 4 4 5 6 → 4, closures 3 4 5 6 7 → 5,
    # changes −3 0 0 2 4 → 0; better 2, same 2, worse 1. Behaviour B2 +3, B3 +1, B6 +4: 4, 6, 3; better 2,
    # same 1. Criminality: B7 declined. All 16: changes −3 −1 0 0 0 1 1 2 2 3 4 4 4 4 4 6 → median 2; starts
    # → 4, closures → 6; better 9, same 6, worse 1.
    table = raw(world)["rating_change"]
    assert table["violence_abuse"] == (6, 2.5, 5.5, 4, 5, 5 / 6, 1, 1 / 6, 0, 0.0)
    assert table["school"] == (2, 5.5, 6, 0.5, 0, 0.0, 2, 1.0, 0, 0.0)
    assert table["family_relations"] == (5, 4, 5, 0, 2, 0.4, 2, 0.4, 1, 0.2)
    assert table["behaviour"] == (3, 4, 6, 3, 2, 2 / 3, 1, 1 / 3, 0, 0.0)
    assert table["criminality"] == (0, None, None, None, 0, None, 0, None, 0, None)
    assert table["total"] == (16, 4, 6, 2, 9, 9 / 16, 6, 6 / 16, 1, 1 / 16)


def test_ratings_per_round(world):
    # 19 cases of our own (B8 is imported). Start: G1–G10, B2 B3 B4 B5 B6 B9 = 16 (G11 B1 have no child
    # problems, B7 declined). Follow-up: G1 G2 B2. Closure: G1–G9, B2 B3 B5 B6 B9 = 14 (B4 did not know).
    assert raw(world)["ratings_per_round"] == {
        "start": (16, 3, 19, 16 / 19), "follow_up": (3, 16, 19, 3 / 19), "closure": (14, 5, 19, 14 / 19),
    }


def test_interruptions_by_focus(world):
    # 17 cases where the child named problems (not G11 B1 B8). Focus: G1 G2 G3 G4 G6 G8 G9 G10 B2 B5 B6 —
    # interrupted: G3. Not the focus: G5 G7 B3 B4 B7 B9 — interrupted: G5 G7 B4 B7 B9 (B3: goals met).
    assert raw(world)["interruptions"] == {
        "focus": (11, 1, 10, 1 / 11), "not_focus": (6, 5, 1, 5 / 6), "total": (17, 6, 11, 6 / 17),
    }


def test_concern_remaining(world):
    # Yes: G3 G10 B2 B4.
    assert raw(world)["concern"] == {"yes": (4, 0.2), "no": (16, 0.8), "total": (20, 1.0)}


def test_returns(world):
    # All 20 closed before 2025-06-01, so counted in all three periods. G1's reference came back after 6
    # months, B1's after 30; G2's earlier draft is older than its closure; G3's reference elsewhere is
    # another organisation's.
    assert raw(world)["returns"] == {"m12": (20, 1, 19, 0.05), "m24": (20, 1, 19, 0.05), "m36": (20, 2, 18, 0.1)}
    # Seen from 2025-05-31, only cases closed by 2024-05-31 (≤ 151 days: G1 G4 G5 G6 G7 G8 G9 G11 B1 B5 B6 B7
    # B9 = 13) count for 12 months, none for 24.
    tables = compute_tables(db.session, world["org_id"], ReportFilters(), date(2025, 5, 31))
    returns = {r.key: r.values[1:] for r in tables[-1].rows}
    assert returns["m12"][0] == 13 and returns["m24"][0] == 0


# --- Filters ----------------------------------------------------------------------------------------


def test_filters(world):
    assert raw(world, gender="girl")["gender"]["total"] == (11, 9.7, 129.1)
    assert raw(world, age_group="9-11")["gender"]["total"][0] == 6
    assert raw(world, intervention="manual_based")["gender"]["total"][0] == 2  # G3, B3
    assert raw(world, intervention="other")["interventions"]["traditional"] == (1, 0, 1)  # B2
    assert raw(world, unit_id=world["oc2"])["gender"]["boy"][0] == 9
    assert raw(world, unit_id=world["oc2"])["gender"]["girl"][0] == 0
    # Closed 2024-04-01 … 2024-12-31: 91 to 365 days after 2024-01-01: 13 cases (not G5 G7 G8 G11 B4 B5 B7).
    assert raw(world, closed_from=date(2024, 4, 1), closed_to=date(2024, 12, 31))["gender"]["total"][0] == 13
    # Both ends inclusive: closed on 2024-04-10 (100 days): G1 G6 B6.
    assert raw(world, closed_from=date(2024, 4, 10), closed_to=date(2024, 4, 10))["gender"]["total"][0] == 3


def test_parse_filters(app):
    with app.test_request_context():
        filters, errors = parse_filters({"from": "2024-01-01", "to": "2024-12-31", "unit": "7",
                                         "intervention": "traditional", "age_group": "9-11", "gender": "boy"}, [7])
        assert errors == []
        assert filters == ReportFilters(date(2024, 1, 1), date(2024, 12, 31), 7, "traditional", "9-11", "boy")
        for bad in ({"from": "2024-02-30"}, {"to": "yesterday"}, {"from": "2024-05-01", "to": "2024-04-01"},
                    {"unit": "8"}, {"unit": "x"}, {"intervention": "magic"}, {"age_group": "3-4"},
                    {"gender": "robot"}, {"from": "１２３４-01-01"}):
            filters, errors = parse_filters(bad, [7])
            assert len(errors) == 1 and filters == ReportFilters(), bad


# --- Suppression ------------------------------------------------------------------------------------


def test_built_report_hides_small_counts(world):
    report = build_report(db.session, world["org_id"], ReportFilters(), TODAY)
    gender = {r.key: r.values[1:] for r in report.table("gender").rows}
    assert gender["girl"] == (11, 9.7, 129.1) and gender["other"] == (0, None, None)
    age = {r.key: r.values[1:] for r in report.table("age_groups").rows}
    # 1, 2, 4, 4, 3 are small, and so are their shares; 6 stays: 20 − 6 is the sum of five hidden counts.
    assert age["0-2"] == (Hidden.SMALL, Hidden.HIDDEN)
    assert age["9-11"] == (6, 0.3)
    assert age["total"] == (20, 1.0)
    duration = {r.key: r.values[1:] for r in report.table("duration").rows}
    assert duration["school"] == (Hidden.SMALL,) + (Hidden.HIDDEN,) * 4
    assert duration["violence_abuse"] == (7, 155.7, 100, 300, 80)
    interruptions = {r.key: r.values[1:] for r in report.table("interruptions").rows}
    # focus: 11, 1 (small) → 10 hidden as well; not the focus: 6, 5, 1 (small) → 5 hidden as well.
    assert interruptions["focus"] == (11, Hidden.SMALL, Hidden.HIDDEN, Hidden.HIDDEN)
    assert interruptions["not_focus"][1:] == (Hidden.HIDDEN, Hidden.SMALL, Hidden.HIDDEN)
    for table in report.tables:
        for row in table.rows:
            for column, value in zip(table.columns, row.values, strict=True):
                if column.kind == "count":
                    assert not (isinstance(value, int) and 1 <= value <= 4), (table.key, row.key, column.key)


def _table(counts: list[list[int]]) -> Table:
    """Rows of counts with a total row and a row total column, for the property test."""
    width = len(counts[0])
    columns = (Column("label", "", "text"), *(Column(f"c{j}", "") for j in range(width)),
               Column("all", ""), Column("share", "", "percent", ("c0", "all")))
    rows = [Row(f"r{i}", "", ("", *r, sum(r), (r[0] / sum(r)) if sum(r) else None)) for i, r in enumerate(counts)]
    totals = [sum(r[j] for r in counts) for j in range(width)]
    rows.append(Row("total", "", ("", *totals, sum(totals), None), total=True))
    keys = tuple(f"c{j}" for j in range(width))
    return Table("t", "", columns, tuple(rows), column_sums=(*keys, "all"), row_sums=((keys, "all"),))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=4), min_size=2, max_size=5)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_no_hidden_count_can_be_worked_out_from_a_total(counts):
    table = _table(counts)
    shown = suppress(table)
    hidden = hidden_cells(table)
    # Every small count is hidden, and so is every share computed from a hidden count.
    for i, row in enumerate(table.rows):
        for c, column in enumerate(table.columns):
            value = row.values[c]
            if column.kind == "count" and isinstance(value, int) and 1 <= value <= 4:
                assert shown.rows[i].values[c] is Hidden.SMALL
        if (i, 1) in hidden or (i, len(table.columns) - 2) in hidden:
            assert shown.rows[i].values[-1] in (Hidden.HIDDEN, None)
    # In every sum whose total is shown, no hidden count stands alone: total minus the shown parts is
    # always a sum of two or more hidden counts.
    groups = []
    n_rows, width = len(counts), len(counts[0])
    for c in range(1, width + 2):
        groups.append(([(i, c) for i in range(n_rows)], (n_rows, c)))
    for i in range(n_rows + 1):
        groups.append(([(i, c) for c in range(1, width + 1)], (i, width + 1)))
    for members, total in groups:
        if shown.rows[total[0]].values[total[1]] in (Hidden.SMALL, Hidden.HIDDEN):
            continue
        assert sum(isinstance(shown.rows[i].values[c], Hidden) for i, c in members) != 1, (counts, members)


# --- Outputs --------------------------------------------------------------------------------------


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_and_xlsx_carry_the_suppressed_tables(world, app):
    with app.test_request_context():
        report = build_report(db.session, world["org_id"], ReportFilters(), TODAY)
        text = report_csv(report)
        data = report_xlsx(report)
    cells = _cells(text)
    assert "≤4" in cells and "×" in cells
    assert SECRET_WORDS not in text and "fritext" not in text
    assert report.table("gender").title in cells
    book = load_workbook(io.BytesIO(data))
    assert len(book.sheetnames) == len(report.tables)
    values = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row
              if v is not None]
    assert "≤4" in values and SECRET_WORDS not in values
    age = book.worksheets[1]
    rows = [list(r) for r in age.iter_rows(values_only=True)]
    assert ["0–2", "≤4", "×"] in rows


def test_analyst_sees_the_report_with_small_counts_hidden(world, client):
    sign_in(client, "analyst")
    page = client.get("/staff/report")
    assert page.status_code == 200
    assert "Closed cases by gender" in page.text and "&lt;4" not in page.text
    assert "≤4" in page.text and "<svg" in page.text
    assert SECRET_WORDS not in page.text and "fritext" not in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    filtered = client.get("/staff/report?gender=girl&age_group=9-11")
    assert filtered.status_code == 200
    csv_response = client.get("/staff/report.csv?gender=boy")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    xlsx = client.get("/staff/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize("query", ["from=2024-13-01", "to=abc", "unit=999999", "unit=%00", "gender=robot",
                                   "age_group=1-2", "intervention=x", "from=2025-01-01&to=2024-01-01"])
def test_bad_filters_give_a_clear_message_not_a_500(world, client, query):
    sign_in(client, "analyst")
    for path in ("/staff/report", "/staff/report.csv", "/staff/report.xlsx"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
    assert "Choose" in client.get(f"/staff/report?{query}").text or "date" in client.get(
        f"/staff/report?{query}").text


def test_only_analysts_and_only_their_own_organisation(world, client, app):
    for who in ("sw", "t", "admin"):
        other = app.test_client()
        sign_in(other, who)
        assert other.get("/staff/report").status_code == 403
        assert other.get("/staff/report.csv").status_code == 403
    outsider = app.test_client()
    sign_in(outsider, "other_analyst")
    page = outsider.get("/staff/report.csv")
    assert page.status_code == 200
    # The other organisation has one closed case (≤4), none of the 20 here.
    rows = list(csv.reader(io.StringIO(page.text)))
    total = next(r for r in rows if r and r[0] == "Total")
    assert total[1] == "≤4"


def test_home_leads_analysts_to_the_report(world, client):
    sign_in(client, "analyst")
    assert client.get("/staff/").headers["Location"].endswith("/staff/report")


def test_command_line(world, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "--organisation", str(world["org_id"]), "--gender", "girl"])
    assert result.exit_code == 0, result.output
    assert "Avslutade ärenden per kön" in result.output and "≤4" in result.output
    assert SECRET_WORDS not in result.output
    result = runner.invoke(args=["report", "--organisation", str(world["org_id"]), "--format", "csv"])
    assert result.exit_code == 0 and "≤4" in _cells(result.output)
    bad = runner.invoke(args=["report", "--organisation", str(world["org_id"]), "--from", "2024-99-01"])
    assert bad.exit_code != 0 and "ÅÅÅÅ-MM-DD" in bad.output  # the default language
    bad = runner.invoke(args=["report", "--organisation", "999999"])
    assert bad.exit_code != 0

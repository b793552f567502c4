"""The returning child: every earlier intervention of the same case reference in the unit, newest
first, from the stored handover snapshots: the child's words, the child's ratings start → follow-up →
closure, how it ended, every handover version. Nothing from another unit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, ChildLink, Closure, Handover, Rating, RatingRound, Submission, User
from kidrate.red_thread import cases
from kidrate.red_thread.timeline import build_timeline, episode

from ..conftest import sign_in
from ..factories import Factory

REF = "BOU-RETURN-9"


def rated(value):
    return {"status": "rated", "value": value}


NONE = {"status": "not_issued", "value": None}
DECLINED = {"status": "declined", "value": None}


def document(version=1, closed="2025-06-01T10:00:00", assigned="2025-01-10T09:00:00", problems=None, **closure):
    return {
        "schema": "kidrate.handover/1",
        "version": version,
        "compiled_at": closed,
        "case": {"case_ref": REF, "assigned_at": assigned, "closed_at": closed, "duration_days": 142,
                 "intervention_types": ["traditional"]},
        "child_problems": problems if problems is not None else [
            {"id": 1, "words": "Pappa slår mig.", "words_language": "sv", "category": "violence_abuse",
             "goal": "Trygg hemma", "ratings": {"start": rated(3), "follow_up": rated(5), "closure": rated(8)}},
        ],
        "closure": {"reason": "goals_met", "concern_remaining": True, "concern_text": "Oro kvar för skolan.",
                    "recommendation": "Fråga barnet först.", **closure},
    }


# --- The timeline from documents, without a database -------------------------------------------------


def test_a_trajectory_reads_start_follow_up_closure():
    entry = episode(7, [document()])
    problem = entry.problems[0]
    assert problem.trajectory == "3 → 5 → 8" and problem.values == (3, 5, 8) and problem.change == 5
    assert entry.case_id == 7 and entry.closed_at.startswith("2025-06-01") and entry.duration_days == 142
    assert entry.closure_reason == "goals_met" and entry.concern_remaining is True
    assert entry.concern_text == "Oro kvar för skolan." and entry.recommendation == "Fråga barnet först."


def test_unrated_rounds_are_gaps_and_give_no_change():
    problems = [{"words": "Jag är ensam.", "ratings": {"start": DECLINED, "follow_up": rated(4), "closure": NONE}}]
    problem = episode(1, [document(problems=problems)]).problems[0]
    assert problem.trajectory == "– → 4 → –" and problem.change is None
    assert [s.status for s in problem.steps] == ["declined", "rated", "not_issued"]


def test_newest_intervention_first_and_the_newest_version_tells_how_it_ended():
    older = [document(closed="2024-03-01T08:00:00", assigned="2023-10-01T08:00:00")]
    newer = [document(version=2, closed="2025-06-01T10:00:00", recommendation="Version två."),
             document(version=1, closed="2025-05-20T10:00:00", recommendation="Version ett.")]
    timeline = build_timeline([(1, older), (2, newer), (3, [])])
    assert [e.case_id for e in timeline] == [2, 1]  # a case without a handover has nothing to show
    assert timeline[0].recommendation == "Version två."
    assert [v.version for v in timeline[0].versions] == [1, 2] and timeline[0].latest_version == 2


def test_an_odd_or_older_snapshot_reads_as_unknown_not_as_an_error():
    odd = {"version": "x", "case": None, "child_problems": [None, {"words": ""}, {"words": "Ord.", "ratings": {
        "start": {"status": "rated", "value": 42}, "follow_up": "?"}}], "closure": None}
    entry = episode(5, [odd, "not a document"])
    assert entry is not None and entry.closed_at is None and entry.closure_reason is None
    assert [p.words for p in entry.problems] == ["Ord."]
    assert entry.problems[0].trajectory == "– → – → –"
    assert build_timeline([(5, [odd]), (6, [document()])])[-1].case_id == 5  # unknown dates last


def test_chart_problems_keep_the_documents_shape():
    entry = episode(1, [document()])
    assert entry.chart_problems == [{"words": "Pappa slår mig.", "words_language": "sv",
                                     "ratings": {"start": rated(3), "follow_up": rated(5), "closure": rated(8)}}]


# --- On the social worker's case page ------------------------------------------------------------------


def closed_case(make: Factory, sw: User, therapist: User, ratings: dict[str, tuple[int, int]], *,
                words: tuple[str, str], closed: str, assigned: str, recommendation: str, versions: int = 1) -> Case:
    case = make.case(sw, therapist=therapist, words=words, case_ref=REF)
    for kind, values in ratings.items():
        make.link(case, kind)
        case = db.session.get(Case, case.id)
        link = db.session.scalar(select(ChildLink).join(RatingRound).where(RatingRound.case_id == case.id,
                                                                           RatingRound.kind == kind))
        problems = [p for p in case.problems if p.source == "child"]
        sub = Submission(round_id=link.round_id, link_id=link.id)
        sub.ratings = [Rating(problem_id=p.id, answer="rated", value=v) for p, v in zip(problems, values, strict=True)]
        db.session.add(sub)
        db.session.commit()
    case = db.session.get(Case, case.id)
    case.closure = Closure(reason="child_interrupted", concern_remaining=True, concern_text="Skolan oroar.",
                           participation={}, recommendation=recommendation)
    db.session.commit()
    sender = db.session.get(User, therapist.id)
    for n in range(versions):
        cases.send_handover(db.session, case, sender, "Rättelse." if n else None)
        db.session.commit()
    # Dates as if the intervention had run then (the snapshot is what the timeline reads).
    for handover in db.session.scalars(select(Handover).where(Handover.case_id == case.id)):
        doc = dict(handover.document)
        doc["case"] = {**doc["case"], "closed_at": closed, "assigned_at": assigned}
        handover.document = doc
    db.session.commit()
    return case


@pytest.fixture
def returning(app, make: Factory):
    unit_a = make.unit("authority", "Unit A")
    unit_b = make.unit("authority", "Unit B")
    sw = make.user("social_worker", unit_a, username="sw_a")
    sw_b = make.user("social_worker", unit_b, username="sw_b")
    therapist = make.user("therapist", username="tess")
    first = closed_case(make, sw, therapist, {"start": (3, 6), "follow_up": (5, 6), "closure": (8, 4)},
                        words=("Pappa slår mig.", "Jag har inga kompisar."), closed="2024-04-30T12:00:00",
                        assigned="2023-11-02T09:00:00", recommendation="Fråga om pappa.")
    second = closed_case(make, sw, therapist, {"start": (2, 2), "closure": (4, 7)},
                         words=("Jag går inte till skolan.", "Mamma är ledsen."), closed="2025-09-15T12:00:00",
                         assigned="2025-05-01T09:00:00", recommendation="Börja med skolan.", versions=2)
    elsewhere = closed_case(make, sw_b, therapist, {"start": (1, 1)}, words=("ANNAN-ENHET-ORD", "X"),
                            closed="2026-01-01T12:00:00", assigned="2025-12-01T09:00:00",
                            recommendation="ANNAN-ENHET-REK")
    current = make.case(sw, words=("Jag vill inte vara hemma.",), case_ref=REF)
    return {"first": first, "second": second, "elsewhere": elsewhere, "current": current}


def test_the_case_page_shows_every_earlier_intervention_newest_first(app, returning):
    client = app.test_client()
    sign_in(client, "sw_a")
    page = client.get(f"/staff/cases/{returning['current'].id}")
    assert page.status_code == 200
    text = page.text
    assert "This child has been here before" in text
    # Newest first.
    assert text.index("Jag går inte till skolan.") < text.index("Pappa slår mig.")
    assert text.index("Börja med skolan.") < text.index("Fråga om pappa.")
    # Trajectories, as text (the chart holds the same numbers).
    cells = [re.sub(r"<[^>]+>|\s+", "", c) for c in re.findall(r'<td class="trajectory">(.*?)</td>', text, re.S)]
    assert cells[:2] == ["2→–(Nolinkwasissued)→4", "2→–(Nolinkwasissued)→7"]
    assert cells[2:] == ["3→5→8", "6→6→4"]
    assert "+2" in text and "+5" in text and "-2" in text
    # How it ended, and every version of the handover.
    assert re.search("Interrupted unplanned on the child(&#39;|')s initiative", text) and "Skolan oroar." in text
    second, first = returning["second"].id, returning["first"].id
    for case_id, version in ((second, 1), (second, 2), (first, 1)):
        assert f'href="/staff/cases/{case_id}/handovers/{version}"' in text
    assert 'class="rating-chart"' in text or "handover_chart" not in app.jinja_env.globals


def test_nothing_from_another_unit(app, returning):
    client = app.test_client()
    sign_in(client, "sw_a")
    text = client.get(f"/staff/cases/{returning['current'].id}").text
    assert "ANNAN-ENHET-ORD" not in text and "ANNAN-ENHET-REK" not in text
    assert f"/staff/cases/{returning['elsewhere'].id}/" not in text


def test_reading_the_timeline_is_logged_per_earlier_case(app, returning):
    client = app.test_client()
    sign_in(client, "sw_a")
    client.get(f"/staff/cases/{returning['current'].id}")
    db.session.remove()
    logged = set(db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "view_timeline")))
    assert logged == {returning["first"].id, returning["second"].id}


def test_the_therapist_does_not_get_the_timeline(app, make, returning):
    case = db.session.get(Case, returning["current"].id)
    cases.assign(case, db.session.scalar(select(User).where(User.username == "tess")))
    db.session.commit()
    client = app.test_client()
    sign_in(client, "tess")
    text = client.get(f"/staff/cases/{case.id}").text
    assert "This child has been here before" not in text and "Fråga om pappa." not in text

"""The case list: search by the beginning of a case reference in any case, and the therapist's filters."""

from __future__ import annotations

from datetime import date, timedelta

from kidrate.extensions import db
from kidrate.models import Case
from kidrate.red_thread import cases as case_rules
from tests.conftest import sign_in


def _refs(html: str, refs: list[str]) -> set[str]:
    return {ref for ref in refs if f">{ref}</a>" in html}


def test_search_is_a_case_insensitive_prefix(app, make, client):
    social = make.user("social_worker")
    refs = ["WALK-2026-010", "WALK-2026-015", "BOU-2026-1", "A%B_1", "AXBY1"]
    for ref in refs:
        make.case(social, case_ref=ref)
    sign_in(client, social.username)
    assert _refs(client.get("/staff/cases?q=walk-2026-010").text, refs) == {"WALK-2026-010"}
    assert _refs(client.get("/staff/cases?q=WALK").text, refs) == {"WALK-2026-010", "WALK-2026-015"}
    assert _refs(client.get("/staff/cases?q=  wAlK-2026-01  ").text, refs) == {"WALK-2026-010", "WALK-2026-015"}
    # The person's % and _ are letters, not wildcards.
    assert _refs(client.get("/staff/cases?q=a%25b_").text, refs) == {"A%B_1"}
    assert _refs(client.get("/staff/cases?q=%25").text, refs) == set()
    assert _refs(client.get("/staff/cases?q=_").text, refs) == set()
    page = client.get("/staff/cases?q=NOPE")
    assert page.status_code == 200 and "No case matches" in page.text


def test_earlier_cases_match_the_reference_in_any_case(app, make, client):
    social = make.user("social_worker")
    old = make.case(social, case_ref="BOU-77")
    with app.app_context():
        row = db.session.get(Case, old.id)
        row.status, row.closed_at = "closed", row.created_at
        db.session.commit()
        unit_id = social.unit_id
        assert [c.id for c in case_rules.earlier_cases(db.session, "bou-77", unit_id)] == [old.id]
        # A prefix is a search, not the same child.
        assert case_rules.earlier_cases(db.session, "bou-7", unit_id) == []


def test_like_prefix_escapes_wildcards():
    assert case_rules.like_prefix("a%b_c\\") == "a\\%b\\_c\\\\%"


def test_status_filter_and_unknown_values(app, make, client):
    social = make.user("social_worker")
    therapist = make.user("therapist")
    make.case(social, case_ref="DRAFT-1")
    make.case(social, case_ref="OPEN-1", therapist=therapist)
    refs = ["DRAFT-1", "OPEN-1"]
    sign_in(client, social.username)
    assert _refs(client.get("/staff/cases?status=draft").text, refs) == {"DRAFT-1"}
    assert _refs(client.get("/staff/cases?status=assigned").text, refs) == {"OPEN-1"}
    # Values not offered are ignored, never an error.
    for query in ("status=nonsense", "due=link", "status=%ff", "due=<script>"):
        page = client.get(f"/staff/cases?{query}")
        assert page.status_code == 200 and _refs(page.text, refs) == set(refs), query


def test_therapist_filters_by_what_is_due(app, make, client):
    social = make.user("social_worker")
    therapist = make.user("therapist")
    make.case(social, case_ref="FRESH-1", therapist=therapist)
    linked = make.case(social, case_ref="LINKED-1", therapist=therapist)
    make.link(linked, "start")
    late = make.case(social, case_ref="LATE-1", therapist=therapist)
    make.link(late, "start")
    with app.app_context():
        db.session.get(Case, late.id).follow_up_date = date.today() - timedelta(days=3)
        db.session.commit()
    refs = ["FRESH-1", "LINKED-1", "LATE-1"]
    sign_in(client, therapist.username)
    page = client.get("/staff/cases")
    assert '<select id="f-due" name="due">' in page.text
    assert _refs(client.get("/staff/cases?due=link").text, refs) == {"FRESH-1"}
    assert _refs(client.get("/staff/cases?due=follow_up").text, refs) == {"LATE-1"}
    # No start rating yet: every case has a round to record and an open check.
    assert _refs(client.get("/staff/cases?due=record").text, refs) == set(refs)
    assert _refs(client.get("/staff/cases?due=checks&status=closed").text, refs) == set()
    with app.app_context():
        db.session.get(Case, late.id).status = "closed"
        db.session.commit()
    assert _refs(client.get("/staff/cases?due=checks").text, refs) == {"FRESH-1", "LINKED-1"}
    assert "3 cases match" not in client.get("/staff/cases").text
    assert "1 case matches" in client.get("/staff/cases?due=link").text


def test_social_worker_has_no_due_filter(app, make, client):
    social = make.user("social_worker")
    sign_in(client, social.username)
    assert 'name="due"' not in client.get("/staff/cases").text


def test_an_empty_list_says_where_cases_come_from(app, make):
    for role, says in (("therapist", "when a social worker hands its assignment over to you"),
                       ("social_worker", "write the child&#39;s problems in the child&#39;s own words")):
        user = make.user(role)
        client = app.test_client()
        sign_in(client, user.username)
        assert says in client.get("/staff/cases").text

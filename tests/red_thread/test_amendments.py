"""Amendments after hand-over: the child's words corrected (earlier words kept), a problem withdrawn (in
the history, never asked again, not counted) or added, each with a required reason, seen by both sides,
audited without words, listed in the handover and the assignment; refused in a draft and once closed."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Closure, Problem, ProblemAmendment, ProblemTranslation, User, utcnow
from kidrate.red_thread import amendments, cases
from kidrate.red_thread.checks import check_case
from kidrate.red_thread.facts import gather
from kidrate.red_thread.handover import compile_handover
from kidrate.statistics.report import ReportFilters, _child_problem_counts, _fill_facts

from ..conftest import child_posts, csrf_token, post_form, sign_in
from .test_documents import needs_pdf, pdf_text, validate

WORDS = ("Pappa slår mig.", "Jag får inte träffa mormor.", "test annan")


@pytest.fixture
def people(make):
    return {"sw": make.user("social_worker", username="sw"), "t": make.user("therapist", username="t"),
            "t2": make.user("therapist", username="t2")}


@pytest.fixture
def case_id(make, people):
    case = make.case(people["sw"], therapist=people["t"], words=WORDS, investigation=("Bråk hemma.",),
                     case_ref="BOU-2026-9")
    return case.id


def problem_ids(case_id: int) -> dict[str, int]:
    db.session.expire_all()
    return {p.words: p.id for p in db.session.get(Case, case_id).problems}


def signed_in(app, who: str):
    client = app.test_client()
    sign_in(client, who)
    return client


def withdraw(client, case_id: int, problem_id: int, reason: str):
    url = f"/staff/cases/{case_id}/problems/{problem_id}/withdraw"
    return post_form(client, url, url, {"reason": reason})


def post_from_case_page(client, case_id: int, url: str, data: dict):
    """A form posted where its page no longer shows it (a second tab, a stale page)."""
    token = csrf_token(client.get(f"/staff/cases/{case_id}").text)
    return client.post(url, data={"csrf_token": token, **data})


def correct(client, case_id: int, problem_id: int, **data):
    url = f"/staff/cases/{case_id}/problems/{problem_id}/correct"
    return post_form(client, url, url, data)


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- Withdrawing ---------------------------------------------------------------------------------------


def test_the_therapist_withdraws_a_problem_and_the_child_is_never_asked_it_again(app, make, case_id):
    stray = problem_ids(case_id)["test annan"]
    therapist = signed_in(app, "t")
    form = therapist.get(f"/staff/cases/{case_id}/problems/{stray}/withdraw")
    assert form.status_code == 200 and "test annan" in form.text

    # The reason is required: the form again, nothing changed.
    response = withdraw(therapist, case_id, stray, "   ")
    assert response.status_code == 400 and "This field is required." in response.text
    assert db.session.get(Problem, stray).withdrawn_at is None

    assert withdraw(therapist, case_id, stray, "Skrevs av misstag vid ett test.").status_code == 302
    problem = db.session.get(Problem, stray)
    assert problem.withdrawn_at is not None
    (amendment,) = problem.amendments
    assert (amendment.kind, amendment.reason, amendment.by_role) == ("withdraw", "Skrevs av misstag vid ett test.",
                                                                     "therapist")
    # Audited, with no words and no reason.
    (event,) = events("withdraw_problem")
    assert (event.case_id, event.target) == (case_id, f"problem:{stray}")
    # A second time: refused, clearly.
    again = post_from_case_page(therapist, case_id, f"/staff/cases/{case_id}/problems/{stray}/withdraw",
                                {"reason": "Igen"})
    assert again.status_code == 303
    assert "This problem is already withdrawn." in therapist.get(again.headers["Location"]).text
    assert len(db.session.get(Problem, stray).amendments) == 1

    # The child's page asks the other two only. A page opened before the withdrawal and sent after it is
    # shown again with the questions as they are now; nothing is stored until then.
    token = make.link(db.session.get(Case, case_id), "start")
    child = app.test_client()
    page = child.get(f"/r/{token}").text
    assert "test annan" not in page and "Pappa slår mig." in page
    ids = problem_ids(case_id)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    stale = child.post(f"/r/{token}", data={**hidden, f"answer-{ids['Pappa slår mig.']}": "3",
                                            f"answer-{ids['Jag får inte träffa mormor.']}": "5",
                                            f"answer-{stray}": "7"})
    assert stale.status_code == 400 and "The questions have changed." in stale.text
    assert "test annan" not in stale.text
    assert db.session.get(Case, case_id).round("start").submission is None
    child_posts(child, token, {ids["Pappa slår mig."]: "3", ids["Jag får inte träffa mormor."]: "5"})
    db.session.expire_all()
    rated = {r.problem_id for r in db.session.get(Case, case_id).round("start").submission.ratings}
    assert rated == {ids["Pappa slår mig."], ids["Jag får inte träffa mormor."]}


def test_both_sides_see_a_withdrawn_problem_struck_with_who_when_and_why(app, case_id):
    stray = problem_ids(case_id)["test annan"]
    assert withdraw(signed_in(app, "t"), case_id, stray, "Skrevs av misstag.").status_code == 302
    for who in ("sw", "t"):
        page = signed_in(app, who).get(f"/staff/cases/{case_id}").text
        row = page[page.index(f'id="problem-{stray}"'):]
        row = row[:row.index("</tr>")]
        assert 'class="withdrawn"' in row and "<s>" in row and "Withdrawn" in row and "Skrevs av misstag." in row
        assert f"/problems/{stray}/withdraw" not in page
        amended = page[page.index('id="amendments"'):]
        assert "Problem withdrawn:" in amended and "therapist" in amended.lower()
        assert "Skrevs av misstag." in amended


def test_a_withdrawn_problem_is_not_checked_not_accounted_at_closure_and_not_counted(app, make, people, case_id):
    stray = problem_ids(case_id)["test annan"]
    db.session.get(Problem, stray).goal = None  # the stray problem had no goal: an open check
    db.session.commit()
    facts = gather(db.session.get(Case, case_id))
    assert stray in {f.problem_id for f in check_case(facts, utcnow().date())}
    assert withdraw(signed_in(app, "sw"), case_id, stray, "Fel ärende.").status_code == 302
    facts = gather(db.session.get(Case, case_id))
    assert stray not in {f.problem_id for f in check_case(facts, utcnow().date())}

    closure_page = signed_in(app, "t").get(f"/staff/cases/{case_id}/closure").text
    assert f'name="worked_{stray}"' not in closure_page
    assert f'name="worked_{problem_ids(case_id)["Pappa slår mig."]}"' in closure_page

    case = db.session.get(Case, case_id)
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    cases.send_handover(db.session, case, db.session.get(User, people["t"].id))
    db.session.commit()
    filters = ReportFilters()
    _fill_facts(db.session, people["sw"].organisation_id, filters)
    counted = sum(n for *_rest, n in _child_problem_counts(db.session, people["sw"].organisation_id, filters))
    db.session.rollback()
    assert counted == 2  # of three problems the child named, one withdrawn


# --- Correcting the words ------------------------------------------------------------------------------


def test_the_social_worker_corrects_the_words_and_the_earlier_words_are_kept(app, case_id):
    first = problem_ids(case_id)["Pappa slår mig."]
    db.session.add(ProblemTranslation(problem_id=first, language="en", words="Dad hits me."))
    db.session.commit()
    social = signed_in(app, "sw")
    form = social.get(f"/staff/cases/{case_id}/problems/{first}/correct")
    assert form.status_code == 200 and "Pappa slår mig." in form.text

    missing_reason = correct(social, case_id, first, words="Pappa slår mig när han är arg.", words_language="sv",
                             reason="")
    assert missing_reason.status_code == 400
    assert db.session.get(Problem, first).words == "Pappa slår mig."

    unchanged = correct(social, case_id, first, words="Pappa slår mig.", words_language="sv", reason="Koll")
    assert unchanged.status_code == 303
    assert "nothing was changed" in social.get(unchanged.headers["Location"]).text

    done = correct(social, case_id, first, words="Pappa slår mig när han är arg.", words_language="sv",
                   reason="Barnet sa mer än jag skrev.")
    assert done.status_code == 302
    problem = db.session.get(Problem, first)
    assert problem.words == "Pappa slår mig när han är arg."
    assert problem.translations == []  # made of the earlier words
    (amendment,) = problem.amendments
    assert (amendment.kind, amendment.words_before, amendment.words_after, amendment.reason, amendment.by_role) == (
        "words", "Pappa slår mig.", "Pappa slår mig när han är arg.", "Barnet sa mer än jag skrev.", "social_worker")
    (event,) = events("amend_words")
    assert event.target == f"problem:{first}"
    # The therapist sees it, with the earlier words.
    page = signed_in(app, "t").get(f"/staff/cases/{case_id}").text
    amended = page[page.index('id="amendments"'):]
    assert "Words corrected:" in amended and "Pappa slår mig." in amended and "Barnet sa mer än jag skrev." in amended


def test_a_correction_in_the_wrong_script_is_questioned(app, case_id):
    first = problem_ids(case_id)["Pappa slår mig."]
    social = signed_in(app, "sw")
    response = correct(social, case_id, first, words="Pappa slår mig hårt.", words_language="ar", reason="Mer")
    assert response.status_code == 400 and 'id="script-warning"' in response.text
    assert db.session.get(Problem, first).amendments == []
    assert correct(social, case_id, first, words="Pappa slår mig hårt.", words_language="ar", reason="Mer",
                   script_confirmed="y").status_code == 302


# --- Adding after hand-over ----------------------------------------------------------------------------


def test_a_problem_added_after_hand_over_needs_a_reason_and_is_an_amendment(app, case_id):
    social = signed_in(app, "sw")
    page = f"/staff/cases/{case_id}"
    folded = social.get(page).text
    assert '<details class="card" id="add-problem">' in folded and "Add a problem after hand-over" in folded
    data = {"source": "child", "words": "Jag är rädd på natten.", "words_language": "sv", "category": "other",
            "category_text": "Rädsla", "goal": "Sova lugnt."}
    response = post_form(social, page, f"{page}/problems", data)
    assert response.status_code == 400 and "Why is it added now?" in response.text
    assert '<details class="card" id="add-problem" open>' in response.text  # the error is in sight
    assert "Jag är rädd på natten." not in problem_ids(case_id)
    assert post_form(social, page, f"{page}/problems", {**data, "reason": "Barnet berättade för skolan."}
                     ).status_code == 302
    added = db.session.get(Problem, problem_ids(case_id)["Jag är rädd på natten."])
    (amendment,) = added.amendments
    assert (amendment.kind, amendment.words_after, amendment.reason) == ("add", "Jag är rädd på natten.",
                                                                         "Barnet berättade för skolan.")
    assert added.added_at_start is False
    assert [e.target for e in events("amend_add_problem")] == [f"problem:{added.id}"]
    therapist_page = signed_in(app, "t").get(page).text
    assert "added after hand-over" in therapist_page and "Barnet berättade för skolan." in therapist_page


def test_the_therapist_adds_at_the_start_without_a_reason_and_later_with_one(app, make, case_id):
    therapist = signed_in(app, "t")
    page = f"/staff/cases/{case_id}"
    data = {"words": "Jag saknar pappa.", "words_language": "sv", "category": "family_relations",
            "goal": "Träffa pappa."}
    assert post_form(therapist, page, f"{page}/problems", data).status_code == 302
    start = db.session.get(Problem, problem_ids(case_id)["Jag saknar pappa."])
    assert start.added_at_start is True and start.amendments == []
    ids = problem_ids(case_id)
    token = make.link(db.session.get(Case, case_id), "start")
    child_posts(app.test_client(), token, {pid: "5" for w, pid in ids.items() if w != "Bråk hemma."})
    later = {**data, "words": "Jag bråkar i skolan.", "category": "school"}
    assert post_form(therapist, page, f"{page}/problems", later).status_code == 400
    assert post_form(therapist, page, f"{page}/problems", {**later, "reason": "Barnet tog upp det i dag."}
                     ).status_code == 302
    added = db.session.get(Problem, problem_ids(case_id)["Jag bråkar i skolan."])
    assert added.added_at_start is False and [a.kind for a in added.amendments] == ["add"]


# --- Refused: the draft, and the closed case -----------------------------------------------------------


def test_amendments_are_refused_in_a_draft_and_once_closed(app, make, people, case_id):
    draft = make.case(people["sw"], words=("Hej",))
    draft_problem = problem_ids(draft.id)["Hej"]
    social = signed_in(app, "sw")
    response = post_from_case_page(social, draft.id, f"/staff/cases/{draft.id}/problems/{draft_problem}/withdraw",
                                   {"reason": "Fel"})
    assert response.status_code == 303
    assert "edit the problem instead" in social.get(response.headers["Location"]).text

    first = problem_ids(case_id)["Pappa slår mig."]
    case = db.session.get(Case, case_id)
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    cases.send_handover(db.session, case, db.session.get(User, people["t"].id))
    db.session.commit()
    for client in (social, signed_in(app, "t")):
        for action in ("withdraw", "correct"):
            url = f"/staff/cases/{case_id}/problems/{first}/{action}"
            assert client.get(url).status_code == 303
            token = csrf_token(client.get(f"/staff/cases/{case_id}").text)
            response = client.post(url, data={"csrf_token": token, "reason": "Sent", "words": "Nytt"})
            assert response.status_code == 303
            assert "The case is closed" in client.get(response.headers["Location"]).text
        page = f"/staff/cases/{case_id}"
        token = csrf_token(client.get(page).text)
        response = client.post(f"{page}/problems", data={"csrf_token": token, "source": "child", "words": "Ny",
                                                         "words_language": "sv", "category": "school", "goal": "M",
                                                         "reason": "Sent"})
        assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(ProblemAmendment)).all() == []
    assert db.session.get(Problem, first).words == "Pappa slår mig."


def test_only_the_cases_own_people_amend(app, make, case_id):
    first = problem_ids(case_id)["Pappa slår mig."]
    outsider = make.outsider("therapist", "t_out")
    for who in ("t2", outsider.username):
        client = signed_in(app, who)
        for action in ("withdraw", "correct"):
            assert client.get(f"/staff/cases/{case_id}/problems/{first}/{action}").status_code == 404
    # A problem of another case, through this case's address: not found.
    other = make.case(make.user("social_worker", username="sw2"), therapist=make.user("therapist", username="t3"))
    foreign = problem_ids(other.id)["Pappa slår mig."]
    assert signed_in(app, "t").get(f"/staff/cases/{case_id}/problems/{foreign}/withdraw").status_code == 404


# --- The documents -------------------------------------------------------------------------------------


def test_the_handover_and_the_assignment_list_the_amendments(app, people, case_id):
    ids = problem_ids(case_id)
    therapist = signed_in(app, "t")
    assert withdraw(therapist, case_id, ids["test annan"], "Skrevs av misstag.").status_code == 302
    assert correct(therapist, case_id, ids["Pappa slår mig."], words="Pappa slår mig ibland.", words_language="sv",
                   reason="Barnet rättade mig.").status_code == 302

    document = compile_handover(gather(db.session.get(Case, case_id)), compiled_at=utcnow())
    validate(document, "handover-1")
    assert [(a["kind"], a["problem_id"], a["by_role"]) for a in document["amendments"]] == [
        ("withdraw", ids["test annan"], "therapist"), ("words", ids["Pappa slår mig."], "therapist")]
    stray = next(p for p in document["child_problems"] if p["id"] == ids["test annan"])
    assert stray["withdrawn_at"] is not None

    assignment = json.loads(signed_in(app, "sw").get(f"/staff/cases/{case_id}/assignment.json").data)
    validate(assignment, "assignment-1")
    assert [a["kind"] for a in assignment["amendments"]] == ["withdraw", "words"]
    assert assignment["amendments"][1]["words_before"] == "Pappa slår mig."

    case = db.session.get(Case, case_id)
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    for p in case.problems:
        p.worked_with = "focus"
    cases.send_handover(db.session, case, db.session.get(User, people["t"].id))
    db.session.commit()
    page = signed_in(app, "sw").get(f"/staff/cases/{case_id}/handovers/1").text
    section = page[page.index("Amendments to the assignment after hand-over"):]
    assert "Problem withdrawn" in section and "Skrevs av misstag." in section
    assert "Words corrected" in section and "Barnet rättade mig." in section
    voice = page[:page.index("Amendments to the assignment after hand-over")]
    assert "test annan" not in voice[voice.index("child-problems"):]  # not among the child's problems


@needs_pdf
def test_the_assignment_pdf_lists_the_amendments(app, case_id):
    ids = problem_ids(case_id)
    assert withdraw(signed_in(app, "t"), case_id, ids["test annan"], "Skrevs av misstag.").status_code == 302
    response = signed_in(app, "sw").get(f"/staff/cases/{case_id}/assignment.pdf")
    assert response.status_code == 200
    text = " ".join(" ".join(pdf_text(response.data)).split())
    assert "Amendments to the assignment after hand-over" in text and "Skrevs av misstag." in text


def test_refusal():
    class C:
        def __init__(self, status, purged_at=None):
            self.status, self.purged_at = status, purged_at

    assert amendments.refusal(C("draft")) == amendments.DRAFT
    assert amendments.refusal(C("assigned")) is None
    assert amendments.refusal(C("closed")) == amendments.CLOSED
    assert amendments.refusal(C("closed", purged_at=utcnow())) == amendments.PURGED


def test_a_withdrawn_problem_is_not_on_a_returning_childs_timeline():
    from kidrate.red_thread.timeline import episode

    rated = {"status": "rated", "value": 4}
    document = {"schema": "kidrate.handover/1", "version": 1, "case": {"case_ref": "BOU-1"}, "closure": {},
                "child_problems": [
                    {"id": 1, "words": "Pappa slår mig.", "ratings": {"start": rated}},
                    {"id": 2, "words": "test annan", "withdrawn_at": "2026-01-05T10:00:00", "ratings": {}},
                ]}
    assert [p.words for p in episode(1, [document]).problems] == ["Pappa slår mig."]

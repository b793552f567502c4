"""The whole red thread through the web interface, as the people using it would go."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Handover, Problem, SafetySignal

from ..conftest import post_form, sign_in

LINK = re.compile(r'value="(http://localhost/r/[A-Za-z0-9_-]{32})"')


def child_answers(client, url: str, values: dict[str, str], added: str = "") -> None:
    page = client.get(url)
    assert page.status_code == 200
    token_field = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    ids = re.findall(r'name="answer-(\d+)" value="10"', page.text)
    data = {"form_token": token_field, "added_text": added}
    data.update({f"answer-{pid}": values[words] for pid, words in zip(ids, values, strict=True)})
    response = client.post(url, data=data)
    assert response.status_code == 303, response.text


def issue_link(client, case_id: int, kind: str) -> str:
    response = post_form(client, f"/staff/cases/{case_id}", f"/staff/cases/{case_id}/rounds/{kind}/links",
                         {"language": "en"}, follow_redirects=True)
    assert response.status_code == 200
    assert "<svg" in response.text  # the QR code, inline
    return LINK.search(response.text).group(1).replace("http://localhost", "")


def test_assignment_to_handover_and_back(app, make):
    make.user("social_worker", username="sara")
    therapist = make.user("therapist", username="bo")
    social, open_care, child = app.test_client(), app.test_client(), app.test_client()

    # The social worker opens a case and writes the assignment.
    assert sign_in(social, "sara").status_code == 302
    response = post_form(social, "/staff/cases/new", "/staff/cases/new", {
        "case_ref": "BOU-2026-17", "age": "14", "gender": "boy", "child_language": "sv",
        "family_languages": ["ar", "sv"], "intervention_types": ["traditional", "manual_based"],
        "intervention_text": "Trygghetscirkeln",
        "follow_up_date": (date.today() + timedelta(days=30)).isoformat(),
    })
    assert response.status_code == 302, response.text
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = f"/staff/cases/{case_id}"
    for words, category in [("Pappa slår mig när han är arg.", "violence_abuse"),
                            ("Jag går inte till skolan.", "school")]:
        r = post_form(social, page, f"{page}/problems", {
            "source": "child", "words": words, "words_language": "sv", "category": category,
            "goal": "Att det blir bättre."})
        assert r.status_code == 302, r.text
    r = post_form(social, page, f"{page}/problems", {
        "source": "investigation", "words": "Föräldrarna bråkar.", "category": "family_relations",
        "goal": "Färre bråk."})
    assert r.status_code == 302
    assert post_form(social, page, f"{page}/assign",
                     {"therapist": str(therapist.id), "confirmed": "yes"}).status_code == 302

    # The therapist sees the case and what is due, and issues the start link.
    sign_in(open_care, "bo")
    listing = open_care.get("/staff/cases")
    assert "BOU-2026-17" in listing.text and "Start" in listing.text
    case_page = open_care.get(page)
    assert "Pappa slår mig när han är arg." in case_page.text

    words = {"Pappa slår mig när han är arg.": "2", "Jag går inte till skolan.": "declined"}
    child_answers(child, issue_link(open_care, case_id, "start"), words, added="Jag är rädd ibland.")
    words = {"Pappa slår mig när han är arg.": "5", "Jag går inte till skolan.": "4"}
    child_answers(child, issue_link(open_care, case_id, "follow_up"), words)
    words = {"Pappa slår mig när han är arg.": "8", "Jag går inte till skolan.": "9"}
    child_answers(child, issue_link(open_care, case_id, "closure"), words)
    # Each sending copies the child's values onto the problems, for the group report.
    summary = {p.words: (p.start_rating, p.follow_up_rating, p.closure_rating)
               for p in db.session.scalars(select(Problem).where(Problem.case_id == case_id,
                                                                 Problem.source == "child"))}
    assert summary == {"Pappa slår mig när han är arg.": (2, 5, 8), "Jag går inte till skolan.": (None, 4, 9)}

    # Closure: the therapist's account, then the handover.
    case = db.session.get(Case, case_id)
    closure = {"reason": "goals_met", "concern_remaining": "no", "recommendation": "Fråga barnet först.",
               **{f"part_{k}": "yes" for k in ("commissioner", "follow_up", "support")}}
    for p in case.problems:
        closure[f"worked_{p.id}"] = "focus"
        closure[f"attain_{p.id}"] = "met"
    # The 2 on violence at the start raised a safety signal: the closure form records what was done.
    (signal_id,) = db.session.scalars(select(SafetySignal.id).where(SafetySignal.case_id == case_id))
    closure[f"signal_{signal_id}"] = "Pratade med barnet enskilt och med socialsekreteraren."
    r = post_form(open_care, f"{page}/closure", f"{page}/closure", closure)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].endswith(f"{page}/closure/preview#check")
    r = post_form(open_care, f"{page}/closure/preview", f"{page}/handover", {"confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"{page}/handovers/1")

    # The social worker finds it in the inbox, reads the child's ratings and the change, marks it read.
    inbox = social.get("/staff/handovers")
    assert "BOU-2026-17" in inbox.text and "Unread" in inbox.text
    handover = social.get(f"{page}/handovers/1")
    text = re.sub(r"\s+", " ", handover.text)
    assert "Pappa slår mig när han är arg." in text
    assert "Start 2 → Follow-up 5 → Closure 8" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", handover.text))
    assert "The child chose not to answer" in text  # school, at the start
    assert "Jag är rädd ibland." in text
    assert "Föräldrarna bråkar." in text
    assert "Fråga barnet först." in text
    r = post_form(social, f"{page}/handovers/1", f"{page}/handovers/1/read")
    assert r.status_code == 302
    assert db.session.scalar(select(Handover.read_at)) is not None

    # The child returns: a new case with the same reference shows the earlier handover first.
    r = post_form(social, "/staff/cases/new", "/staff/cases/new", {
        "case_ref": "BOU-2026-17", "age": "13", "gender": "boy", "child_language": "sv",
        "intervention_types": ["traditional"]})
    new_page = r.headers["Location"]
    text = social.get(new_page).text
    assert "This child has been here before" in text
    assert text.index("This child has been here before") < text.index("The child&#39;s problems")
    assert f"{page}/handovers/1" in text
    search = social.get("/staff/cases?q=BOU-2026-17")
    assert f"{page}/handovers/1" in search.text

    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"create_case", "assign_case", "issue_link", "view_case", "send_handover", "read_handover"} <= actions


def test_sent_handover_is_immutable_and_a_correction_is_a_new_version(app, make):
    sw = make.user("social_worker")
    therapist = make.user("therapist", username="tina")
    case = make.case(sw, therapist=therapist, words=("Mamma är ledsen.",))
    client = app.test_client()
    sign_in(client, "tina")
    page = f"/staff/cases/{case.id}"
    pid = case.problems[0].id
    closure = {"reason": "other", "reason_text": "Familjen flyttade.", "concern_remaining": "yes",
               "concern_text": "Oro för skolan.", f"worked_{pid}": "partly", f"attain_{pid}": "unchanged",
               **{f"part_{k}": "no" for k in ("commissioner", "follow_up", "support")}}
    assert post_form(client, f"{page}/closure", f"{page}/closure", closure).status_code == 302
    assert post_form(client, f"{page}/closure", f"{page}/handover", {"confirm": "y"}).status_code == 302
    first = db.session.scalar(select(Handover))
    snapshot = dict(first.document)

    closure["reason_text"] = "Familjen flyttade till annan kommun."
    assert post_form(client, f"{page}/closure", f"{page}/closure", closure).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Handover).where(Handover.version == 1)).document == snapshot
    # A new version needs a note and says what it replaces.
    r = post_form(client, f"{page}/closure", f"{page}/handover", {"note": ""})
    assert db.session.query(Handover).count() == 1 and r.status_code == 400
    r = post_form(client, f"{page}/closure", f"{page}/handover", {"note": "Rättad kommun."})
    versions = list(db.session.scalars(select(Handover).order_by(Handover.version)))
    assert [h.version for h in versions] == [1, 2]
    assert versions[1].replaces_id == versions[0].id and versions[1].document["replaces_version"] == 1
    assert versions[1].document["closure"]["reason_text"] == "Familjen flyttade till annan kommun."
    assert versions[0].document["closure"]["reason_text"] == "Familjen flyttade."
    assert "There is a newer version" in client.get(f"{page}/handovers/1").text


def test_closing_revokes_live_links(app, make):
    sw = make.user("social_worker")
    therapist = make.user("therapist", username="tove")
    case = make.case(sw, therapist=therapist)
    token = make.link(case, "closure")
    client = app.test_client()
    sign_in(client, "tove")
    page = f"/staff/cases/{case.id}"
    pid = case.problems[0].id
    closure = {"reason": "goals_met", "concern_remaining": "no", f"worked_{pid}": "focus", f"attain_{pid}": "met",
               **{f"part_{k}": "yes" for k in ("commissioner", "follow_up", "support")}}
    post_form(client, f"{page}/closure", f"{page}/closure", closure)
    post_form(client, f"{page}/closure", f"{page}/handover", {"confirm": "y"})
    assert app.test_client().get(f"/r/{token}").status_code == 404

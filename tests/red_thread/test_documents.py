"""Documents that travel: the ratings chart, the handover and the assignment as PDF and JSON, their
schemas, who may download them, and a PDF renderer that never reaches the network."""

from __future__ import annotations

import html
import io
import json
import re
import socket
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate import vocab
from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.models import (
    AuditEvent,
    Case,
    Closure,
    ProblemTranslation,
    Rating,
    SafetySignal,
    Submission,
    User,
    utcnow,
)
from kidrate.red_thread import cases, checks, documents, links
from kidrate.red_thread.assignment import SCHEMA as ASSIGNMENT_SCHEMA
from kidrate.red_thread.assignment import compile_assignment
from kidrate.red_thread.chart import ChartText, rating_chart
from kidrate.red_thread.handover import SCHEMA as HANDOVER_SCHEMA

from ..conftest import sign_in

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = PROJECT_ROOT / "schemas"
SECRET = "Mamma skriker på natten 4471"
WORDS = (SECRET, "Jag har inga kompisar.", "Skolan är jobbig.")
SVG = "{http://www.w3.org/2000/svg}"


def _weasyprint_works() -> bool:
    try:
        documents._weasyprint()
    except documents.PdfUnavailable:
        return False
    return True


needs_pdf = pytest.mark.skipif(not _weasyprint_works(), reason="WeasyPrint or its system libraries (Pango) missing")


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def validate(document: dict, name: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


# --- Building cases --------------------------------------------------------------------------------


def rate(case_id: int, kind: str, answers: dict[int, int | str], added_text: str | None = None) -> None:
    """The child's submission of one round, stored as the child's page stores it."""
    case = db.session.get(Case, case_id)
    rnd = case.round(kind)
    link, _token = links.issue(db.session, rnd, language="sv", created_by_id=None, days=14)
    db.session.flush()
    link.used_at = utcnow()
    submission = Submission(round=rnd, link_id=link.id, added_text=added_text)
    for problem_id, answer in answers.items():
        rated = isinstance(answer, int)
        submission.ratings.append(Rating(problem_id=problem_id, answer="rated" if rated else answer,
                                         value=answer if rated else None))
    db.session.add(submission)
    db.session.commit()


def close(case_id: int, therapist: User, note: str | None = None) -> None:
    case = db.session.get(Case, case_id)
    if case.closure is None:
        case.closure = Closure(reason="goals_met", concern_remaining=False,
                               participation={key: "yes" for key in vocab.PARTICIPATION},
                               recommendation="Lyssna på barnet först.")
        for p in case.problems:
            p.worked_with = "focus"
            p.goal_attainment = "met" if p.goal else None
    cases.send_handover(db.session, case, db.session.get(User, therapist.id), note)
    db.session.commit()


@pytest.fixture
def people(make):
    return {
        "sw": make.user("social_worker", username="sw"),
        "t": make.user("therapist", username="t"),
        "sw_other": make.user("social_worker", make.unit("authority", "Other unit"), username="sw_other"),
        "t_other": make.user("therapist", username="t_other"),
        "analyst": make.user("analyst", username="analyst"),
        "admin": make.user("admin", username="admin"),
    }


@pytest.fixture
def closed_case(make, people) -> Case:
    """Three problems in the child's words, every round answered, closed and handed over."""
    case = make.case(people["sw"], therapist=people["t"], words=WORDS, investigation=("Föräldrarna bråkar.",),
                     case_ref="BOU-2026/77")
    ids = [p.id for p in case.problems if p.source == "child"]
    rate(case.id, "start", {ids[0]: 2, ids[1]: 4, ids[2]: "declined"}, added_text="Jag är rädd.")
    rate(case.id, "follow_up", {ids[0]: 5, ids[1]: 4, ids[2]: 6})
    rate(case.id, "closure", {ids[0]: 8, ids[1]: "dont_know", ids[2]: 7})
    close(case.id, people["t"])
    return db.session.get(Case, case.id)


def signed_in(app, username: str, locale: str = "en"):
    user = db.session.scalar(select(User).where(User.username == username))
    user.locale = locale
    db.session.commit()
    client = app.test_client()
    sign_in(client, username)
    return client


def pdf_text(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """Text with its markup removed and its white space collapsed, as a reader sees it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


# --- The chart -------------------------------------------------------------------------------------


def problem(words: str, start, follow_up, closure, language: str | None = "sv") -> dict:
    def rating(value):
        if isinstance(value, int):
            return {"status": "rated", "value": value}
        return {"status": value or "not_issued", "value": None}

    return {"words": words, "words_language": language,
            "ratings": {"start": rating(start), "follow_up": rating(follow_up), "closure": rating(closure)}}


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - our own markup; well-formed XML, or this raises


def test_chart_has_one_series_per_problem_and_gaps_for_unanswered_rounds():
    problems = [
        problem("Pappa slår mig.", 2, 5, 8),
        problem("Jag har inga kompisar.", 3, "expired", 7),  # follow-up never answered
        problem("Skolan.", "declined", 4, "dont_know"),  # only one rated round
        problem("Mamma är ledsen.", "not_asked", "pending", "revoked"),  # nothing rated
    ]
    root = parse(rating_chart(problems))
    series = root.findall(f".//{SVG}g[@class='chart-series']")
    assert [s.get("data-problem") for s in series] == ["1", "2", "3", "4"]

    def points(s):
        return [(p.get("data-round"), int(p.get("data-value"))) for p in s.findall(f"{SVG}g[@class='chart-point']")]

    def segments(s):
        return len(s.findall(f"{SVG}line[@class='chart-segment']"))

    assert points(series[0]) == [("start", 2), ("follow_up", 5), ("closure", 8)] and segments(series[0]) == 2
    # A gap: start and closure are there, follow-up is not, and nothing joins start to closure.
    assert points(series[1]) == [("start", 3), ("closure", 7)] and segments(series[1]) == 0
    assert points(series[2]) == [("follow_up", 4)] and segments(series[2]) == 0
    assert points(series[3]) == [] and segments(series[3]) == 0
    # Every point carries its problem's number, so colour is never the only way to tell lines apart.
    for number, s in enumerate(series, start=1):
        labels = [t.text for t in s.iter(f"{SVG}text")]
        assert labels == [str(number)] * len(points(s))
    # Higher is better: 8 at closure is drawn above 2 at the start.
    first_and_last = series[0].findall(f"{SVG}g[@class='chart-point']")[::2]
    (start_y, closure_y) = (float(p.find("*").get("cy")) for p in first_and_last)
    assert closure_y < start_y


def test_chart_is_an_image_with_a_name_a_description_and_a_legend_of_the_childs_words():
    problems = [problem("Pappa slår mig.", 2, None, 8), problem("أنا خائف", 3, 4, 5, language="ar")]
    text = ChartText(title="Barnets skattningar", not_answered="inte besvarad")
    root = parse(rating_chart(problems, text, id_prefix="c1"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert parse(rating_chart(problems, id_prefix='BOU 1/"x"')).get("aria-labelledby") == "BOU-1-x--title BOU-1-x--desc"
    assert root.find(f"{SVG}title").get("id") == "c1-title"
    assert root.find(f"{SVG}title").text == "Barnets skattningar"
    desc = root.find(f"{SVG}desc").text
    assert "1. “Pappa slår mig.”: Start 2, Follow-up inte besvarad, Closure 8." in desc
    legend = root.find(f".//{SVG}g[@class='chart-legend']")
    words = ["".join(t.itertext()) for t in legend.iter(f"{SVG}text") if t.get("class") == "chart-words"]
    assert words == ["Pappa slår mig.", "أنا خائف"]
    assert [t.get("lang") for t in legend.iter(f"{SVG}text") if t.get("class") == "chart-words"] == ["sv", "ar"]
    # Upright in every script: no slant set on the child's words, Swedish or Arabic.
    assert [t.get("font-style") for t in legend.iter(f"{SVG}text") if t.get("class") == "chart-words"] == [None, None]


def test_chart_escapes_everything_and_wraps_long_words():
    evil = '<script>alert("x")</script> & "quotes" ' + "ord " * 40
    svg = str(rating_chart([problem(evil, 1, 10, 5)], ChartText(title="<b>t</b>")))
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)
    words = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-words")
    assert len(list(words)) > 1  # wrapped into several lines, none dropped
    assert " ".join(t.text for t in words).split() == evil.split()


def test_chart_is_empty_without_problems_and_ignores_values_off_the_scale():
    assert str(rating_chart([])) == ""
    root = parse(rating_chart([{"words": "x", "ratings": {"start": {"status": "rated", "value": 11},
                                                            "closure": {"status": "rated", "value": True}}}]))
    assert root.findall(f".//{SVG}g[@class='chart-point']") == []


def test_the_handover_page_shows_the_chart_and_download_links(app, people, closed_case):
    client = signed_in(app, "sw")
    page = client.get(f"/staff/cases/{closed_case.id}/handovers/1").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="rating-chart" role="img"' in page
    assert f'href="/staff/cases/{closed_case.id}/handovers/1.pdf"' in page
    assert f'href="/staff/cases/{closed_case.id}/handovers/1.json"' in page
    case_page = client.get(f"/staff/cases/{closed_case.id}").text
    for suffix in ("handovers/1.pdf", "handovers/1.json", "assignment.pdf", "assignment.json"):
        assert f'href="/staff/cases/{closed_case.id}/{suffix}"' in case_page


# --- JSON and its schema ---------------------------------------------------------------------------


def test_every_schema_property_is_described_and_fixed_objects_are_closed():
    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                assert "description" in sub, f"{path}.{name} has no description"
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} is open"
            for key, sub in node.items():
                if key not in ("if", "then", "else"):  # conditions on described properties
                    walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}[{i}]")

    for name, const in (("handover-1", HANDOVER_SCHEMA), ("assignment-1", ASSIGNMENT_SCHEMA)):
        document = schema(name)
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["properties"]["schema"]["const"] == const
        walk(document, name)


def test_schema_codes_are_the_vocabularies():
    defs = schema("handover-1")
    props = defs["properties"]
    problem_props = defs["$defs"]["child_problem"]["properties"]
    assert props["case"]["properties"]["gender"]["enum"] == list(vocab.GENDERS)
    assert problem_props["category"]["enum"] == list(vocab.PROBLEM_CATEGORIES)
    assert problem_props["worked_with"]["enum"] == [*vocab.WORKED_WITH, None]
    assert problem_props["goal_attainment"]["enum"] == [*vocab.GOAL_ATTAINMENT, None]
    assert defs["$defs"]["rating"]["properties"]["status"]["enum"] == list(vocab.RATING_STATES)
    closure = next(s for s in props["closure"]["anyOf"] if s.get("type") == "object")
    assert closure["properties"]["reason"]["enum"] == list(vocab.CLOSURE_REASONS)
    assert list(closure["properties"]["participation"]["properties"]) == list(vocab.PARTICIPATION)
    assert props["case"]["properties"]["intervention_types"]["items"]["enum"] == list(vocab.INTERVENTION_TYPES)
    rounds = defs["$defs"]["round"]["properties"]
    assert rounds["answered_how"]["enum"] == [*vocab.ANSWERED_HOW, None]
    assert props["open_checks"]["items"]["properties"]["code"]["enum"] == list(checks.CODES)
    assert defs["$defs"]["child_view"]["properties"]["view"]["enum"] == list(checks.VIEWS)
    assignment = schema("assignment-1")["properties"]
    assert assignment["child_problems"]["items"]["properties"]["category"]["enum"] == list(vocab.PROBLEM_CATEGORIES)


def test_handover_json_is_the_stored_snapshot_and_validates(app, people, closed_case):
    client = signed_in(app, "sw")
    response = client.get(f"/staff/cases/{closed_case.id}/handovers/1.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kidrate-handover-BOU-2026-77-v1.json"'
    stored = db.session.get(Case, closed_case.id).handovers[0].document
    assert json.loads(response.data) == stored
    assert SECRET in response.data.decode("utf-8")  # the child's words as they are, not \u-escaped
    validate(stored, "handover-1")
    assert stored["child_problems"][0]["ratings"]["closure"] == {"status": "rated", "value": 8}


def test_handover_json_validates_with_missing_rounds_and_a_corrected_version(app, make, people):
    case = make.case(people["sw"], therapist=people["t"], words=WORDS[:2])
    first, second = (p.id for p in case.problems)
    rate(case.id, "start", {first: 3, second: "declined"})
    make.link(db.session.get(Case, case.id), "follow_up")  # sent, never answered (revoked at closure)
    close(case.id, people["t"])
    close(case.id, people["t"], note="Fel datum rättat.")
    handovers = db.session.get(Case, case.id).handovers
    assert [h.version for h in handovers] == [1, 2]
    assert handovers[1].document["replaces_version"] == 1
    for h in handovers:
        validate(h.document, "handover-1")
    ratings = handovers[1].document["child_problems"][0]["ratings"]
    assert ratings["follow_up"]["status"] == "revoked" and ratings["closure"]["status"] == "not_issued"

    client = signed_in(app, "t")
    response = client.get(f"/staff/cases/{case.id}/handovers/2.json")
    assert json.loads(response.data) == handovers[1].document
    assert client.get(f"/staff/cases/{case.id}/handovers/3.json").status_code == 404


def test_the_schema_refuses_what_the_document_never_holds(closed_case):
    document = json.loads(json.dumps(db.session.get(Case, closed_case.id).handovers[0].document))
    validator = jsonschema.Draft202012Validator(schema("handover-1"))
    broken = [
        ("extra top-level field", lambda d: d.update(name="Anna Andersson")),
        ("rated without a value", lambda d: d["child_problems"][0]["ratings"]["start"].update(value=None)),
        ("value without rated", lambda d: d["child_problems"][0]["ratings"]["closure"].update(status="declined")),
        ("off the scale", lambda d: d["child_problems"][0]["ratings"]["start"].update(value=11)),
        ("unknown category", lambda d: d["child_problems"][0].update(category="sadness")),
        ("wrong schema", lambda d: d.update(schema="kidrate.handover/2")),
    ]
    for name, damage in broken:
        copy = json.loads(json.dumps(document))
        damage(copy)
        assert not validator.is_valid(copy), name


def test_assignment_json_holds_the_childs_words_and_validates(app, make, people):
    case = make.case(people["sw"], therapist=people["t"], words=(SECRET,), investigation=("Föräldrarna bråkar.",),
                     case_ref="BOU-7")
    child = next(p for p in case.problems if p.source == "child")
    child.words, child.words_language = "أبي يضربني", "ar"
    db.session.add(ProblemTranslation(problem_id=child.id, language="sv", words="Pappa slår mig."))
    db.session.merge(child)
    db.session.commit()

    for who in ("sw", "t"):
        response = signed_in(app, who).get(f"/staff/cases/{case.id}/assignment.json")
        assert response.status_code == 200, who
        assert response.headers["Content-Disposition"] == 'attachment; filename="kidrate-assignment-BOU-7.json"'
        document = json.loads(response.data)
        validate(document, "assignment-1")
    assert document["schema"] == "kidrate.assignment/1"
    assert document["case"]["case_ref"] == "BOU-7" and document["case"]["status"] == "assigned"
    (problem_,) = document["child_problems"]
    assert (problem_["words"], problem_["words_language"], problem_["words_swedish"]) == (
        "أبي يضربني", "ar", "Pappa slår mig.")
    assert problem_["goal"] == "Trygg hemma" and problem_["added_at_start"] is False
    assert [p["words"] for p in document["investigation_problems"]] == ["Föräldrarna bråkar."]
    assert document["authority"]["social_worker"] == people["sw"].display_name
    assert document["open_care"]["therapist"] == people["t"].display_name
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "download_assignment")).all()
    assert [(e.case_id, e.target) for e in events] == [(case.id, "json"), (case.id, "json")]


def test_compile_assignment_of_a_closed_case_validates(closed_case):
    document = compile_assignment(db.session.get(Case, closed_case.id))
    validate(document, "assignment-1")
    assert document["case"]["status"] == "closed"
    assert [p["words"] for p in document["child_problems"]] == list(WORDS)


# --- PDF -------------------------------------------------------------------------------------------


@needs_pdf
def test_handover_pdf_holds_the_key_facts_on_numbered_pages(app, people, closed_case):
    client = signed_in(app, "sw")
    response = client.get(f"/staff/cases/{closed_case.id}/handovers/1.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kidrate-handover-BOU-2026-77-v1.pdf"'
    assert response.data.startswith(b"%PDF-")
    pages = pdf_text(response.data)
    flat = " ".join(" ".join(pages).split())
    for fact in ("BOU-2026/77", "Confidential – subject to secrecy", "Version 1", "Closure handover: BOU-2026/77",
                 "Lyssna på barnet först.", "Jag är rädd.", *WORDS):
        assert fact in flat, fact
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(response.data))  # tagged, titled, in the reader's language
    assert reader.trailer["/Root"]["/Lang"] == "en" and "/StructTreeRoot" in reader.trailer["/Root"]
    assert reader.metadata.title == "Closure handover: BOU-2026/77"
    count = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert "BOU-2026/77" in page and "Confidential – subject to secrecy" in page  # header on every page
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "download_handover")).all()
    assert [(e.case_id, e.target) for e in events] == [(closed_case.id, "version:1:pdf")]
    assert SECRET not in " ".join(e.target or "" for e in events)


@needs_pdf
def test_handover_pdf_is_in_the_readers_language(app, people, closed_case):
    response = signed_in(app, "sw", locale="sv").get(f"/staff/cases/{closed_case.id}/handovers/1.pdf")
    text = " ".join(" ".join(pdf_text(response.data)).split())
    with app.test_request_context(), force_locale("sv"):
        expected = [_("Case reference"), _("Confidential – subject to secrecy"), str(vocab.ROUND_KINDS["follow_up"]),
                    _("Closure handover: %(ref)s", ref="BOU-2026/77")]
    assert expected[0] != "Case reference"  # the Swedish catalogue is in use
    for phrase in expected:
        assert phrase in text, phrase


@needs_pdf
def test_corrected_handover_pdf_says_its_version_and_the_correction(app, people, closed_case):
    close(closed_case.id, people["t"], note="Rättat stavfel.")
    text = "\n".join(pdf_text(signed_in(app, "t").get(f"/staff/cases/{closed_case.id}/handovers/2.pdf").data))
    assert "Version 2" in text and "replaces version 1" in text and "Rättat stavfel." in text


@needs_pdf
def test_assignment_pdf(app, people, closed_case):
    response = signed_in(app, "t").get(f"/staff/cases/{closed_case.id}/assignment.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="kidrate-assignment-BOU-2026-77.pdf"'
    text = " ".join(" ".join(pdf_text(response.data)).split())
    for fact in ("Assignment to open care: BOU-2026/77", "Confidential – subject to secrecy", "Page 1 of",
                 "Föräldrarna bråkar.", "Trygg hemma", *WORDS):
        assert fact in text, fact


def test_pdf_answers_503_where_weasyprint_cannot_load(app, people, closed_case, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    client = signed_in(app, "sw")
    for url in (f"/staff/cases/{closed_case.id}/handovers/1.pdf", f"/staff/cases/{closed_case.id}/assignment.pdf"):
        response = client.get(url)
        assert response.status_code == 503
        assert "PDF documents cannot be made on this server" in response.text
        assert SECRET not in response.text
    assert client.get(f"/staff/cases/{closed_case.id}/handovers/1.json").status_code == 200
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.target.like("%pdf%"))) is None


# --- Access ----------------------------------------------------------------------------------------


def test_only_the_unit_and_the_assigned_therapist_may_download(app, make, people, closed_case):
    urls = [f"/staff/cases/{closed_case.id}/{s}" for s in ("handovers/1.pdf", "handovers/1.json",
                                                             "assignment.pdf", "assignment.json")]
    for who in ("sw_other", "t_other", "analyst", "admin"):
        client = signed_in(app, who)
        for url in urls:
            response = client.get(url)
            assert response.status_code in (403, 404), (who, url, response.status_code)
            assert response.mimetype == "text/html"
            assert "Content-Disposition" not in response.headers
            assert SECRET not in response.text and "BOU-2026/77" not in response.text, (who, url)
    anonymous = app.test_client()
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("download_%"))) is None


def test_no_assignment_document_for_a_draft_and_no_handover_before_it_is_sent(app, make, people):
    draft = make.case(people["sw"], words=(SECRET,))
    assigned = make.case(people["sw"], therapist=people["t"], words=(SECRET,))
    client = signed_in(app, "sw")
    for url in (f"/staff/cases/{draft.id}/assignment.json", f"/staff/cases/{draft.id}/assignment.pdf",
                f"/staff/cases/{assigned.id}/handovers/1.json", f"/staff/cases/{assigned.id}/handovers/1.pdf"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert SECRET not in response.text
    assert client.get(f"/staff/cases/{assigned.id}/assignment.json").status_code == 200


# --- Nothing from the network ----------------------------------------------------------------------


def test_the_url_fetcher_serves_only_the_apps_static_files():
    css = (documents.STATIC_ROOT / "css" / "print.css")
    fetched = documents.static_url_fetcher(css.as_uri())
    assert fetched["string"] == css.read_bytes() and fetched["mime_type"] == "text/css"
    refused = [
        "https://example.org/style.css",
        "http://127.0.0.1:5000/static/css/print.css",
        "ftp://example.org/x",
        "data:text/css,body{}",
        "//example.org/x.css",
        "css/print.css",
        "file:///etc/passwd",
        "file://example.org" + css.as_posix(),
        css.as_uri().replace("/css/print.css", "/../kidrate/config.py"),
        (documents.STATIC_ROOT / "css").as_uri(),  # a folder, not a file
    ]
    for url in refused:
        with pytest.raises(documents.RefusedURL):
            documents.static_url_fetcher(url)


@needs_pdf
def test_rendering_never_opens_a_connection(monkeypatch):
    weasyprint = documents._weasyprint()
    asked: list[str] = []
    original = documents.static_url_fetcher

    def spy(url):
        asked.append(url)
        return original(url)

    def no_network(*args, **kwargs):
        raise AssertionError("WeasyPrint tried to open a network connection")

    monkeypatch.setattr(documents, "static_url_fetcher", spy)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    html = ('<link rel="stylesheet" href="https://example.org/evil.css"><link rel="stylesheet" href="css/print.css">'
            '<img src="http://198.51.100.7/track.png"><p>Hej</p>')
    pdf = weasyprint.HTML(string=html, base_url=documents.STATIC_ROOT.as_uri() + "/",
                          url_fetcher=documents._url_fetcher(weasyprint)).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert "https://example.org/evil.css" in asked and "http://198.51.100.7/track.png" in asked
    assert (documents.STATIC_ROOT / "css" / "print.css").as_uri() in asked


def test_download_names_are_safe():
    assert documents.download_name("handover", "BOU-2026/77", "pdf", 2) == "kidrate-handover-BOU-2026-77-v2.pdf"
    assert documents.download_name("assignment", 'Ärende "1";\r\nX: y', "json") == \
        "kidrate-assignment-Arende-1-X-y.json"
    assert documents.download_name("assignment", "../../", "json") == "kidrate-assignment-case.json"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", documents.download_name("handover", "ط٣/٢", "pdf", 1))


def test_print_stylesheet_uses_logical_properties():
    css = Path(documents.STATIC_ROOT / "css" / "print.css").read_text(encoding="utf-8")
    assert not re.search(r"(margin|padding|border)-(left|right)\b|\b(left|right)\s*:", css)


# --- The child's voice first, in the child's own words and direction --------------------------------

ARABIC = "أريد أن أرى جدتي"
ARABIC_ADDED = "أريد أن يتوقف أبي"
IN_SWEDISH = "Jag vill träffa min mormor."
CASE_DETAILS = ("Case reference", "Age at referral", "Intervention type(s)", "Duration")


@pytest.fixture
def voiced_case(make, people) -> Case:
    """Closed and handed over: the first problem said in Arabic (translated into Swedish), one in Swedish,
    one whose category is "other" with its own words; the child added words in Arabic; two safety
    signals, one acknowledged by the therapist and one not."""
    case = make.case(people["sw"], therapist=people["t"], words=(ARABIC, "Pappa slår mig.", "Jag är ensam."),
                     investigation=("Föräldrarna bråkar.",), case_ref="BOU-2026/88")
    arabic, hit, alone = (p for p in case.problems if p.source == "child")
    arabic.words_language = "ar"
    alone.category, alone.category_text = "other", "Ensamhet"
    db.session.add(ProblemTranslation(problem_id=arabic.id, language="sv", words=IN_SWEDISH))
    db.session.commit()
    rate(case.id, "start", {arabic.id: 3, hit.id: 2, alone.id: "dont_know"}, added_text=ARABIC_ADDED)
    rate(case.id, "follow_up", {arabic.id: 5, hit.id: "declined", alone.id: 4})
    rate(case.id, "closure", {arabic.id: 8, hit.id: 6, alone.id: 1})
    case = db.session.get(Case, case.id)
    start, closure = case.round("start").submission, case.round("closure").submission
    db.session.add_all([
        SafetySignal(case_id=case.id, submission_id=start.id, problem_id=hit.id, kind="low_violence", value=2,
                     created_at=utcnow(), acknowledged_at=utcnow(), acknowledged_by_id=people["t"].id),
        SafetySignal(case_id=case.id, submission_id=closure.id, problem_id=alone.id, kind="drop", value=1,
                     previous_value=4, created_at=utcnow()),
    ])
    db.session.commit()
    close(case.id, people["t"])
    return db.session.get(Case, case.id)


def without_svg(page: str) -> str:
    return re.sub(r"<svg\b.*?</svg>", "", page, flags=re.S)


def assert_isolated(page: str, words: str) -> None:
    """Every time `words` is shown, it is the whole content of an element that isolates it: a <bdi> or
    an element with dir="auto". Outside the chart and drop-down lists, whose every text line is a
    paragraph of its own."""
    page = re.sub(r"<select\b.*?</select>", "", without_svg(page), flags=re.S)
    shown = page.count(words)
    isolated = len(re.findall(r'<bdi\b[^>]*\bdir="(auto|rtl)"[^>]*>' + re.escape(words) + "</bdi>", page))
    assert shown and isolated == shown, (words, shown, isolated)


def test_the_handover_page_opens_with_the_childs_words_isolated_and_upright(app, people, voiced_case):
    page = signed_in(app, "sw").get(f"/staff/cases/{voiced_case.id}/handovers/1").text
    body = without_svg(page)
    first_words = body.index(ARABIC)
    # The child's problems come first: the words before any case detail, the investigation and the chart.
    for later in (*CASE_DETAILS, "Föräldrarna bråkar.", "How the intervention ended", 'class="rating-chart"'):
        assert first_words < page.index(later), later
    # Each in a <bdi dir="auto"> in the language it was said in, the translation and the added words too.
    assert f'“<bdi class="child-words" lang="ar" dir="auto">{ARABIC}</bdi>”' in page
    for words in (ARABIC, IN_SWEDISH, ARABIC_ADDED, "Pappa slår mig.", "Jag är ensam."):
        assert_isolated(page, words)
    text = flat(body)
    # Each problem: the ratings start → follow-up → closure, declining and not knowing in words, the
    # child's own view beside the therapist's assessment.
    assert f"“{ARABIC}” In Swedish: “{IN_SWEDISH}” Start 3 → Follow-up 5 → Closure 8" in text
    assert "Start 2 → Follow-up The child chose not to answer → Closure 6" in text
    assert "Start The child did not know → Follow-up 4 → Closure 1" in text
    assert ("The child's view Better (3 → 8) The therapist's assessment Positive change and goals met "
            "(Worked with: Yes, as a focus)") in text
    assert f"What the child added in their own words Start: “{ARABIC_ADDED}”" in text
    assert "Other: Ensamhet" in text
    # Nothing of the child's is set in italics, on the page or on paper; on the page the browser isolates
    # with unicode-bidi (WeasyPrint isolates every inline element's text, and does not take the property).
    for css, isolate in (("staff.css", True), ("print.css", False)):
        sheet = (documents.STATIC_ROOT / "css" / css).read_text(encoding="utf-8")
        assert not re.search(r"font-style:\s*(italic|oblique)", sheet), css
        rule = re.search(r"\.child-words, bdi, \[dir=auto\] \{([^}]*)\}", sheet)
        assert rule and "font-style: normal" in rule.group(1), css
        assert ("unicode-bidi: isolate" in rule.group(1)) is isolate, css
    assert "<em" not in body and "<i>" not in body


@needs_pdf
def test_on_paper_the_childs_right_to_left_words_are_isolated_as_on_the_page():
    """“<bdi>أريد</bdi>” 3: without isolation the bidi algorithm draws the 3 inside the Arabic run, before
    the words (as in “3 أريد”); isolated, the 3 follows the words, as the sentence says."""
    from pypdf import PdfReader

    weasyprint = documents._weasyprint()

    def chunks(body: str) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []

        def visit(text, cm, tm, _font, _size):
            if text.strip():
                found.append((text.strip(), tm[4] * cm[0] + cm[4]))

        pdf = weasyprint.HTML(string=f"<!doctype html><html lang=sv><title>t</title><p>{body}</p>").write_pdf()
        PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
        return found

    isolated = dict(chunks(f"Start: “<bdi lang=\"ar\" dir=\"auto\">{ARABIC}</bdi>” 3 poäng"))
    assert isolated[ARABIC] < isolated["3 poäng"]
    assert "Start: “3" in "".join(text for text, _ in chunks(f"Start: “{ARABIC}” 3 poäng"))  # not isolated


def test_the_handover_lists_every_safety_signal_and_what_was_done(app, people, voiced_case):
    text = flat(signed_in(app, "sw").get(f"/staff/cases/{voiced_case.id}/handovers/1").text)
    therapist = people["t"].display_name
    assert "Safety signals from the child's answers" in text
    assert re.search(r"Rated 2 of 10 on a problem about violence: “Pappa slår mig\.” Raised [^.]+\. "
                     rf"Acknowledged [^.]+ by {re.escape(therapist)}\.", text)
    assert re.search(r"Dropped from 4 to 1 since the last round: “Jag är ensam\.” Raised [^.]+\. "
                     r"Not acknowledged by the therapist\.", text)


def test_a_handover_without_signals_says_so(app, people, closed_case):
    text = flat(signed_in(app, "sw").get(f"/staff/cases/{closed_case.id}/handovers/1").text)
    assert "raised no safety signal" in text


def test_the_closure_form_and_the_assignment_show_the_words_of_an_other_category(app, people, make):
    case = make.case(people["sw"], therapist=people["t"], words=(ARABIC, "Jag är ensam."))
    arabic, alone = case.problems
    arabic.words_language = "ar"
    alone.category, alone.category_text = "other", "Ensamhet"
    db.session.commit()
    client = signed_in(app, "t")
    closure = client.get(f"/staff/cases/{case.id}/closure").text
    assert "(Other: Ensamhet)" in flat(closure) and "(Other)" not in flat(closure)
    assert_isolated(closure, ARABIC)
    case_page = client.get(f"/staff/cases/{case.id}").text
    assert "Other: Ensamhet" in flat(case_page)
    assert_isolated(case_page, ARABIC)


# --- Archival PDF: PDF/A-3u, tagged, the JSON inside ----------------------------------------------


def archival_facts(data: bytes) -> dict:
    """What an archive (and a screen reader) needs of a PDF, read with pikepdf."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        meta = pdf.open_metadata()
        specs = list(root.get("/AF", []))
        attached = {name: (spec.get_file().read_bytes(), spec.get_file().mime_type,
                           str(spec.obj.get("/AFRelationship"))) for name, spec in pdf.attachments.items()}
        fonts = [font for page in pdf.pages for font in (page.Resources.get("/Font") or {}).values()]
        descriptors = [(f.get("/DescendantFonts") or [f])[0].get("/FontDescriptor") for f in fonts]
        intent = root.OutputIntents[0]
        tree = root.StructTreeRoot
        return {
            "part": meta.get("pdfaid:part"), "conformance": meta.get("pdfaid:conformance"),
            "ua": meta.get("pdfuaid:part"), "xmp": root.Metadata.read_bytes().decode("utf-8"),
            "title": meta.get("dc:title"), "info_title": str(pdf.docinfo.get("/Title")), "lang": str(root.Lang),
            "display_title": bool(root.ViewerPreferences.DisplayDocTitle), "marked": bool(root.MarkInfo.Marked),
            "tree_kids": len(tree.K) if isinstance(tree.K, pikepdf.Array) else 1,
            "structure": _structure_types(tree),
            "intent": (str(intent.S), "/DestOutputProfile" in intent),
            "af": [spec.objgen for spec in specs], "attachments": attached,
            "fonts_embedded": all(d is not None and any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                                  for d in descriptors),
            "encrypted": pdf.is_encrypted, "syntax": pdf.check_pdf_syntax(),
        }


def _structure_types(node, found=None, depth=0) -> set[str]:
    """The structure types (/S) used in a structure tree."""
    import pikepdf

    found = set() if found is None else found
    if depth > 60:
        return found
    if isinstance(node, pikepdf.Dictionary) and "/S" in node:
        found.add(str(node.S))
    kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
    for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
        if isinstance(kid, pikepdf.Dictionary):
            _structure_types(kid, found, depth + 1)
    return found


def assert_archival(facts: dict, *, title: str, lang: str, name: str, document: dict,
                    structure=frozenset({"/H1", "/H2", "/Table"})) -> None:
    assert (facts["part"], facts["conformance"]) == ("3", "U")  # PDF/A-3u, in the XMP metadata
    assert facts["ua"] == "1"  # PDF/UA-1, its schema described as a PDF/A extension schema
    assert "<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>" in facts["xmp"]
    assert facts["title"] == facts["info_title"] == title and facts["display_title"]
    assert facts["lang"] == lang
    assert facts["marked"] and facts["tree_kids"] >= 1  # tagged: a structure tree for screen readers
    assert structure <= facts["structure"], facts["structure"]
    assert facts["intent"] == ("/GTS_PDFA1", True)  # an output intent with its colour profile
    assert facts["fonts_embedded"] and not facts["encrypted"] and facts["syntax"] == []
    # The JSON, embedded as the PDF's source (an associated file, listed once), byte for byte the download.
    assert list(facts["attachments"]) == [name] and len(facts["af"]) == 1
    data, mime_type, relationship = facts["attachments"][name]
    assert (mime_type, relationship) == ("application/json", "/Source")
    assert data.decode("utf-8") == documents.document_json(document)  # as the JSON download gives it


@needs_pdf
def test_the_handover_pdf_is_archival_with_its_json_inside(app, people, voiced_case):
    client = signed_in(app, "sw")
    pdf = client.get(f"/staff/cases/{voiced_case.id}/handovers/1.pdf").data
    json_download = client.get(f"/staff/cases/{voiced_case.id}/handovers/1.json").data
    facts = archival_facts(pdf)
    stored = db.session.get(Case, voiced_case.id).handovers[0].document
    assert_archival(facts, title="Closure handover: BOU-2026/88", lang="en",
                    name="kidrate-handover-BOU-2026-88-v1.json", document=stored,
                    structure={"/H1", "/H2", "/L", "/LI", "/P", "/Table", "/Figure"})
    # The embedded file is the JSON download, byte for byte: the stored snapshot.
    assert facts["attachments"]["kidrate-handover-BOU-2026-88-v1.json"][0] == json_download
    assert json.loads(json_download) == stored
    # A second PDF in a row gets an attachment of its own (WeasyPrint reads an attachment only once).
    assert archival_facts(client.get(f"/staff/cases/{voiced_case.id}/handovers/1.pdf").data)["attachments"]


@needs_pdf
def test_the_assignment_pdf_is_archival_with_its_json_inside(app, people, voiced_case):
    client = signed_in(app, "t", locale="sv")
    facts = archival_facts(client.get(f"/staff/cases/{voiced_case.id}/assignment.pdf").data)
    name = "kidrate-assignment-BOU-2026-88.json"
    embedded = json.loads(facts["attachments"][name][0])
    downloaded = json.loads(client.get(f"/staff/cases/{voiced_case.id}/assignment.json").data)
    assert embedded.pop("compiled_at") and downloaded.pop("compiled_at")  # compiled for each download
    assert embedded == downloaded
    validate({**embedded, "compiled_at": utcnow().isoformat()}, "assignment-1")
    with app.test_request_context(), force_locale("sv"):
        title = _("Assignment to open care: %(ref)s", ref="BOU-2026/88")
    assert_archival(facts, title=title, lang="sv", name=name, document=json.loads(facts["attachments"][name][0]))


@needs_pdf
def test_the_first_pdf_page_is_the_childs_voice(app, people, voiced_case):
    pages = pdf_text(signed_in(app, "sw").get(f"/staff/cases/{voiced_case.id}/handovers/1.pdf").data)
    first = " ".join(pages[0].replace("BOU-2026/88 Confidential – subject to secrecy", "").split())
    # After the title and who sent it, the page starts with the child's problems in the child's words.
    before = first[:first.index(ARABIC)]
    assert re.fullmatch(r"Closure handover: BOU-2026/88 Sent [^.]+\. The child's problems, in the child's words "
                        r"The child's own ratings at the start, at follow-up and at closure: 1 = as hard as it "
                        r"can be, 10 = fine, not a problem any more\. “", before), before
    for words in (ARABIC, IN_SWEDISH, "Pappa slår mig.", "Jag är ensam.", ARABIC_ADDED):
        assert words in first, words
    assert first.index(ARABIC_ADDED) < min((first.index(d) for d in CASE_DETAILS if d in first), default=len(first))

"""The child's words in other languages, the message sent with a link, and the catalogues' state,
including an organisation's own reviewed catalogue (tests/test_catalogue_walls.py: its walls)."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.languages import catalogues
from kidrate.languages.i18n import draft_child_locales, set_catalogue_organisation
from kidrate.languages.link_message import link_message
from kidrate.models import Case, OrganisationCatalogue, ProblemTranslation, utcnow
from kidrate.red_thread import cases
from kidrate.red_thread.facts import gather
from kidrate.red_thread.handover import compile_handover

from ..conftest import post_form, sign_in

ARABIC = "أبي يصرخ علي"


@pytest.fixture
def arabic_case(make):
    """A case where the child said their problem in Arabic; the therapist is signed in."""
    sw = make.user("social_worker")
    therapist = make.user("therapist", username="tess")
    case = make.case(sw, therapist=therapist, words=(ARABIC,), child_language="ar", family_languages=["ar", "so"])
    problem = db.session.get(Case, case.id).problems[0]
    problem.words_language = "ar"
    db.session.commit()
    return case, problem.id


def translations() -> list[tuple[str, str]]:
    db.session.remove()
    return [(t.language, t.words) for t in db.session.scalars(select(ProblemTranslation))]


def add_translation(client, case_id: int, problem_id: int, language: str, words: str):
    page = f"/staff/cases/{case_id}"
    return post_form(client, page, f"{page}/translations",
                     {"problem": str(problem_id), "language": language, "words": words})


def test_a_translation_shows_on_the_childs_page_with_the_original_one_tap_away(app, make, arabic_case):
    case, problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    assert add_translation(client, case.id, problem_id, "sv", "Pappa skriker på mig").status_code == 302
    assert translations() == [("sv", "Pappa skriker på mig")]
    token = make.link(case, language="ar")
    child = app.test_client()
    # In Arabic, the page shows the child's own words, with nothing to unfold.
    arabic = child.get(f"/r/{token}").text
    assert ARABIC in arabic and "details class=\"original\"" not in arabic
    # In Swedish, the translation, and the original in the child's language one tap away.
    swedish = child.get(f"/r/{token}?lang=sv").text
    assert "Pappa skriker på mig" in swedish
    original = re.search(r'<details class="original">.*?</details>', swedish, re.S).group(0)
    assert ARABIC in original and 'lang="ar" dir="rtl"' in original


def test_the_handover_shows_the_original_and_the_swedish_translation(app, make, arabic_case):
    case, problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    add_translation(client, case.id, problem_id, "sv", "Pappa skriker på mig")
    case = db.session.get(Case, case.id)
    document = compile_handover(gather(case), compiled_at=utcnow())
    problem = document["child_problems"][0]
    assert problem["words"] == ARABIC and problem["words_language"] == "ar"
    assert problem["words_swedish"] == "Pappa skriker på mig"


def test_a_new_translation_replaces_the_old_and_can_be_removed(app, arabic_case):
    case, problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    add_translation(client, case.id, problem_id, "sv", "Första")
    add_translation(client, case.id, problem_id, "sv", "Andra")
    assert translations() == [("sv", "Andra")]
    translation_id = db.session.scalar(select(ProblemTranslation.id))
    page = f"/staff/cases/{case.id}"
    assert post_form(client, page, f"{page}/translations/{translation_id}/delete").status_code == 302
    assert translations() == []


@pytest.mark.parametrize(("field", "value"), [
    ("language", "xx"), ("language", ""), ("words", ""), ("words", "x" * 2001), ("problem", "999999"),
    ("problem", "not-a-number"), ("language", "ar"),  # the child's own language: nothing to translate
])
def test_bad_translation_input_stores_nothing(app, arabic_case, field, value):
    case, problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    data = {"problem": str(problem_id), "language": "sv", "words": "Pappa skriker", field: value}
    response = post_form(client, f"/staff/cases/{case.id}", f"/staff/cases/{case.id}/translations", data)
    assert response.status_code == 302
    assert translations() == []
    assert 'class="flash error"' in client.get(f"/staff/cases/{case.id}").text


def test_the_link_comes_with_a_message_in_the_childs_and_the_familys_languages(app, make, arabic_case):
    case, _problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    page = f"/staff/cases/{case.id}"
    form = client.get(page).text
    assert "draft translation" in form  # the link's language choices say which are drafts
    response = post_form(client, page, f"{page}/rounds/start/links", {"language": "ar"}, follow_redirects=True)
    assert response.status_code == 200
    url = re.search(r'id="child-link" class="linkbox" readonly value="([^"]+)"', response.text).group(1)
    messages = dict(re.findall(r'<textarea id="message-(\w+-\w+)"[^>]*>(.*?)</textarea>', response.text, re.S))
    # To the child and to the guardian, each in the child's language and the family's.
    assert set(messages) == {"child-ar", "child-so", "guardian-ar", "guardian-so"}
    for text in messages.values():
        assert url in text
        assert case.case_ref not in text and "tess" not in text  # it names no one
    assert 'data-copy="message-child-ar"' in response.text and 'data-copy="message-guardian-ar"' in response.text


def test_link_message_in_swedish(app):
    with app.test_request_context():
        text = link_message("https://example.se/r/abc", date(2026, 12, 7), "sv")
    assert text.splitlines()[0].startswith("Hej!") and "till och med 2026-12-07:" in text
    assert text.endswith("https://example.se/r/abc")


# --- Catalogues ----------------------------------------------------------------------------------


def test_admin_sees_every_catalogue_with_its_state(app, make):
    make.user("admin", username="ada")
    client = app.test_client()
    sign_in(client, "ada")
    page = client.get("/staff/admin/translations")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>", page.text)
    assert len(rows) == 16 + 2
    assert "Draft translation" in page.text and "Source language" in page.text


def po_bytes(locale: str, messages: dict[str, str], review: str = "reviewed") -> bytes:
    catalog = Catalog(locale=locale, header_comment=f"# Review-State: {review}\n# Reviewed-By: Test")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    out = BytesIO()
    write_po(out, catalog)
    return out.getvalue()


def upload(client, domain: str, language: str, data: bytes, name: str = "child.po"):
    page = "/staff/admin/translations"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(page).text).group(1)
    return client.post(page, data={"csrf_token": token, "domain": domain, "language": language,
                                   "file": (BytesIO(data), name)}, content_type="multipart/form-data")


@pytest.fixture
def admin_client(app, make):
    make.user("admin", username="ada")
    client = app.test_client()
    sign_in(client, "ada")
    return client


def catalogues_root(app):
    return Path(app.instance_path) / "translations"


def own_catalogues() -> list[tuple[int, str, str, str]]:
    db.session.remove()
    return [(c.organisation_id, c.domain, c.locale, c.review_state)
            for c in db.session.scalars(select(OrganisationCatalogue))]


def test_a_reviewed_catalogue_is_the_organisations_own(app, make, admin_client):
    data = po_bytes("so", {"Listen": "Dhegeyso, saaxiib",
                           "%(number)s of 10": "%(total)s broken placeholder"})
    response = upload(admin_client, "child", "so", data)
    assert response.status_code == 302
    # Stored for the admin's organisation, never in the instance folder (the installation's, every organisation's).
    assert own_catalogues() == [(make.org().id, "child", "so", "reviewed")]
    assert list(catalogues_root(app).glob("*/LC_MESSAGES/*")) == []
    page = admin_client.get("/staff/admin/translations").text
    assert "This organisation&#39;s own" in page and "only: its staff and the children of its cases" in page
    # The organisation's child hears it; the message whose placeholder differs was left out.
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"))
    child_page = app.test_client().get(f"/r/{make.link(case, language='so')}")
    assert child_page.status_code == 200 and "Dhegeyso, saaxiib" in child_page.text
    assert "broken placeholder" not in child_page.text
    # A page of no link (no organisation) keeps the installation's catalogue.
    assert "Dhegeyso, saaxiib" not in app.test_client().get("/r/thanks?lang=so").text
    # The organisation's reviewed catalogue of a draft language is reviewed for this organisation.
    assert "so" in app.extensions["kidrate.child_drafts"]
    with app.test_request_context():
        set_catalogue_organisation(make.org().id)
        assert "so" not in draft_child_locales()
        set_catalogue_organisation(None)
        assert "so" in draft_child_locales()


def test_a_new_upload_replaces_the_organisations_own_and_remove_returns_to_the_installations(
        app, make, admin_client):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"))
    token = make.link(case, language="so")
    assert upload(admin_client, "child", "so", po_bytes("so", {"Listen": "First words"})).status_code == 302
    assert "First words" in app.test_client().get(f"/r/{token}").text
    assert upload(admin_client, "child", "so", po_bytes("so", {"Listen": "Second words"}, review="draft")
                  ).status_code == 302
    assert [row[3] for row in own_catalogues()] == ["draft"]
    page = app.test_client().get(f"/r/{token}").text
    assert "Second words" in page and "First words" not in page
    catalogue_id = db.session.scalar(select(OrganisationCatalogue.id))
    response = post_form(admin_client, "/staff/admin/translations",
                         f"/staff/admin/translations/{catalogue_id}/remove")
    assert response.status_code == 302
    assert own_catalogues() == []
    assert "Second words" not in app.test_client().get(f"/r/{token}").text
    # Removing again: nothing there any more.
    assert post_form(admin_client, "/staff/admin/translations",
                     f"/staff/admin/translations/{catalogue_id}/remove").status_code == 404


@pytest.mark.parametrize(("domain", "language", "data"), [
    ("child", "so", b"this is not a po file \x00\xff"),
    ("child", "so", po_bytes("so", {"Nothing like this in the source": "x"})),
    ("child", "en", po_bytes("en", {"Thank you!": "Thanks!"})),  # the source language has no catalogue
    ("messages", "ar", po_bytes("ar", {"Cases": "x"})),  # staff speak Swedish and English only
    ("nonsense", "so", po_bytes("so", {"Thank you!": "x"})),
    ("child", "so", b"msgid \"Thank you!\"\nmsgstr \"" + b"x" * 600_000 + b"\"\n"),
    ("child", "so", po_bytes("so", {"Thank you!": "<b>Mahadsanid</b>"})),  # nothing fits its source
])
def test_a_bad_catalogue_is_refused_and_nothing_is_stored(app, admin_client, domain, language, data):
    response = upload(admin_client, domain, language, data)
    assert response.status_code == 400
    assert own_catalogues() == []
    assert list(catalogues_root(app).glob("*/LC_MESSAGES/*.po")) == []


def test_compile_overrides_reports_and_survives_broken_files(tmp_path):
    broken = tmp_path / "so" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "child.po").write_bytes(b"msgid \"unterminated\n")
    stray = tmp_path / "xx" / "LC_MESSAGES"
    stray.mkdir(parents=True)
    (stray / "child.po").write_bytes(po_bytes("sv", {"Thank you!": "Tack"}))
    problems = catalogues.compile_overrides(tmp_path)
    assert len(problems) == 2
    assert not (stray / "child.mo").exists()


def test_child_locales_count_every_language_the_page_speaks(app):
    with app.app_context():
        assert len(app.extensions["kidrate.child_locales"]) == 16
        assert {"sv", "en"}.isdisjoint(app.extensions["kidrate.child_drafts"] - {"sv"})


def test_problems_count_unchanged_by_translations(app, arabic_case):
    case, problem_id = arabic_case
    client = app.test_client()
    sign_in(client, "tess")
    add_translation(client, case.id, problem_id, "sv", "Pappa skriker på mig")
    db.session.remove()
    assert len(cases.child_problems(db.session.get(Case, case.id))) == 1
    assert db.session.scalar(select(func.count(ProblemTranslation.id))) == 1

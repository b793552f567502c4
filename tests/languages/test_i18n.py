"""Translations: catalogues complete and consistent, extraction up to date, lang and dir right."""

from __future__ import annotations

import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kidrate.config import PROJECT_ROOT
from kidrate.languages.catalogues import review_state
from kidrate.languages.i18n import CHILD_LOCALES, text_direction

from ..conftest import sign_in

TRANSLATIONS = PROJECT_ROOT / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Which catalogues must be complete, per audience (English is the source language of both).
REQUIRED = {"messages": ["sv"], "child": [code for code in CHILD_LOCALES if code != "en"]}
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def catalogues():
    return [pytest.param(po, id=f"{po.parent.parent.name}/{po.stem}")
            for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))]


def _load(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


@pytest.mark.parametrize("po", catalogues())
def test_catalogue_compiles(po):
    write_mo(BytesIO(), _load(po))


@pytest.mark.parametrize("po", catalogues())
def test_placeholders_match_the_source(po):
    for message in _load(po):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for translated in strings:
            if not translated:
                continue
            found = set(PLACEHOLDER.findall(translated))
            # A singular form may drop %(num)s ("one day"), but nothing may be invented or lost otherwise.
            assert found <= expected and expected - found <= {"%(num)s"}, (message.id, translated)
            # Markup is the source's, unchanged: a translation must not add or drop a tag.
            assert sorted(TAG.findall(translated)) == sorted(TAG.findall(ids[0])), (message.id, translated)


@pytest.mark.parametrize("po", catalogues())
def test_every_catalogue_states_its_review(po):
    assert review_state(po) in {"draft", "reviewed"}, f"{po}: no '# Review-State:' line in the header"


@pytest.mark.parametrize(("domain", "locale"), [(d, loc) for d, locs in REQUIRED.items() for loc in locs])
def test_required_catalogues_are_complete_and_not_fuzzy(domain, locale):
    catalog = _load(TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po")
    template = _load_template(domain)
    missing = [m.id for m in template if m.id and (catalog.get(m.id) is None or not _translated(catalog.get(m.id)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == [] and fuzzy == []


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def _load_template(domain: str):
    with (TRANSLATIONS / f"{domain}.pot").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize(("domain", "config", "extra"), [
    ("messages", "babel.cfg", ["--ignore-dirs=.* ._ child", "-k", "lazy_gettext", "-k", "_l"]),
    ("child", "babel-child.cfg", ["-k", "say"]),
])
def test_extracted_strings_are_up_to_date(tmp_path, domain, config, extra):
    """Every string in the code is in the committed template (run `make translations` when this fails)."""
    out = tmp_path / f"{domain}.pot"
    subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", config, "--no-location",
         "--sort-output", *extra, "-o", str(out), "."],
        cwd=PROJECT_ROOT, check=True,
    )
    with out.open("rb") as handle:
        fresh = {m.id for m in read_po(handle) if m.id}
    committed = {m.id for m in _load_template(domain) if m.id}
    assert fresh == committed


def test_staff_pages_speak_swedish_by_default_and_english_when_chosen(app, make):
    client = app.test_client()
    page = client.get("/staff/sign-in")
    assert '<html lang="sv" dir="ltr">' in page.text and "Logga in" in page.text
    make.user("therapist", username="tess")
    sign_in(client, "tess")
    assert '<html lang="en"' in client.get("/staff/cases").text


def test_child_page_takes_the_links_language_and_direction(app, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"))
    page = app.test_client().get(f"/r/{make.link(case, language='ar')}")
    assert '<html lang="ar" dir="rtl">' in page.text
    page = app.test_client().get(f"/r/{make.link(case, 'follow_up', language='fa_AF')}")
    assert '<html lang="fa-AF" dir="rtl">' in page.text


def test_swedish_child_page_has_no_untranslated_source_string(app, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Ord",))
    html = app.test_client().get(f"/r/{make.link(case, language='sv')}").text
    sources = [m.id for m in _load_template("child") if isinstance(m.id, str) and len(m.id.split()) >= 2]
    leaked = [s for s in sources if s in html]
    assert leaked == []


def child_pages(app, make, locale: str) -> dict[str, str]:
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Ord",))
    client = app.test_client()
    token = make.link(case, language=locale)
    return {
        "questions": client.get(f"/r/{token}").text,
        "thanks": client.get(f"/r/thanks?lang={locale}").text,
        "already_sent": client.get(f"/r/sent?lang={locale}").text,
        "not_active": client.get(f"/r/open?lang={locale}").text,
        "gone": client.get("/r/" + "x" * 43, headers={"Accept-Language": locale.replace("_", "-")}).text,
    }


@pytest.mark.parametrize("locale", [code for code in CHILD_LOCALES if code != "en"])
def test_child_pages_in_every_locale_are_translated_with_lang_and_dir(app, make, locale):
    translated = {m.id: m.string for m in _load(TRANSLATIONS / locale / "LC_MESSAGES" / "child.po") if m.id}
    # Multi-word source strings whose translation differs: none of them may show through untranslated.
    sources = [i for i, t in translated.items() if isinstance(i, str) and len(i.split()) >= 2 and t != i]
    html_lang = locale.replace("_", "-")
    for name, html in child_pages(app, make, locale).items():
        if name == "gone" and locale == "fa_AF":
            # A page that belongs to no link speaks the browser's language: fa-AF falls back to fa there.
            assert '<html lang="fa' in html
            continue
        assert f'<html lang="{html_lang}" dir="{text_direction(locale)}">' in html, name
        leaked = [s for s in sources if s in html]
        assert leaked == [], (name, leaked)


def test_the_child_can_switch_language_for_this_link_only(app, make):
    sw = make.user("social_worker")
    case = make.case(sw, therapist=make.user("therapist"), words=("Ord",))
    client = app.test_client()
    token = make.link(case, language="sv")
    page = client.get(f"/r/{token}")
    # The menu names every language in itself.
    for own_name in ("العربية", "Soomaali", "davvisámegiella", "دری", "Svenska", "English"):
        assert own_name.lower() in page.text.lower(), own_name
    somali = client.get(f"/r/{token}?lang=so")
    assert '<html lang="so" dir="ltr">' in somali.text
    assert 'name="lang" value="so"' in somali.text  # the page itself holds the choice
    assert "Set-Cookie" not in somali.headers
    # An unknown language falls back to the link's own; the link itself is unchanged.
    assert '<html lang="sv"' in client.get(f"/r/{token}?lang=xx").text
    assert '<html lang="sv"' in client.get(f"/r/{token}").text


@pytest.mark.parametrize("po", catalogues())
def test_plural_forms_follow_the_language(po):
    """The header's Plural-Forms is CLDR's rule as the locked Babel writes it (Arabic six forms, Sami three),
    and every plural message has that many translations."""
    from babel.messages.plurals import get_plural

    catalog = _load(po)
    expected = get_plural(po.parent.parent.name)
    assert catalog.plural_forms == expected.plural_forms, f"set the header to: Plural-Forms: {expected.plural_forms}"
    for message in catalog:
        if message.pluralizable and message.string and any(message.string):
            assert len(message.string) == expected.num_plurals, message.id

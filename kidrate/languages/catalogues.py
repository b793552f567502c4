"""Translation catalogues: the built-in ones, the installation's and an organisation's reviewed
overrides, their review state and how complete they are.

Two layers replace a built-in catalogue without changing code:

- The installation's operator (shell access) puts a reviewed `.po` file in
  `<instance>/translations/<locale>/LC_MESSAGES/<domain>.po`; it is checked and compiled at start-up
  and serves every organisation.
- An organisation's admin uploads one on the Translations page; it is stored in the database
  (OrganisationCatalogue) and serves that organisation's staff and the children of its cases only,
  with the installation's catalogue behind it for anything it leaves out.

Either way a message whose placeholders or markup differ from the source is dropped (the translation
beneath it stays), so a broken override can never break a page; and catalogue text is always escaped
when a page shows it (kidrate/i18n.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations
from flask import g
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.languages.i18n import CHILD_LOCALES, STAFF_LOCALES
from kidrate.models import OrganisationCatalogue

BUILT_IN = PROJECT_ROOT / "translations"
SOURCE_LOCALE = "en"
# Which locales each audience's catalogue must speak.
DOMAINS = {"child": CHILD_LOCALES, "messages": STAFF_LOCALES}
REVIEW_STATE = re.compile(r"^#\s*Review-State:\s*(\w+)", re.MULTILINE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
# Markup, closed or not: a browser opens a tag at `<` followed by a letter, `/`, `!` or `?`, and an
# unterminated `<meta http-equiv=... ` is a tag too (it runs on into the page's own markup).
TAG = re.compile(r"<[a-zA-Z/!?][^>]*>?")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueStatus:
    domain: str
    locale: str
    state: str  # "source", "reviewed", "draft", "unknown" or "missing"
    translated: int
    total: int
    # Whose catalogue is in use: "source", "built_in", "installation" (the instance folder) or
    # "organisation" (the organisation's own, own_id its row).
    origin: str
    own_id: int | None = None

    @property
    def complete(self) -> bool:
        return self.translated == self.total


def review_state(po_path: Path) -> str | None:
    """"draft" until a native speaker has read the catalogue, then "reviewed": a header comment line,
    which gettext tools keep when a catalogue is updated."""
    with po_path.open("rb") as handle:
        head = handle.read(2048).decode("utf-8", errors="replace")
    match = REVIEW_STATE.search(head)
    return match.group(1).lower() if match else None


def _read(path: Path, locale: str | None = None, *, strict: bool = False) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, abort_invalid=strict)


def template_ids(domain: str) -> list:
    """The source messages of a domain, as extracted into its template."""
    return [m.id for m in _read(BUILT_IN / f"{domain}.pot") if m.id]


def translation_fits(source: str, translated: str) -> bool:
    """Same placeholders and the same markup as the source."""
    return (sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translated))
            and sorted(TAG.findall(source)) == sorted(TAG.findall(translated)))


def _checked(catalog: Catalog) -> tuple[Catalog, int]:
    """The catalogue without messages that do not fit their source; how many were dropped. A dropped
    message is taken out (not blanked), so the translation beneath it is used, plural forms too."""
    unfit = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(translation_fits(ids[-1], s) or translation_fits(ids[0], s)
                                    for s in strings if s):
            unfit.append((message.id, message.context))
    for msgid, context in unfit:
        catalog.delete(msgid, context=context)
    return catalog, len(unfit)


def compile_overrides(root: Path) -> list[str]:
    """Check and compile every override under root; return a line per problem found."""
    problems = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        locale, domain = po.parent.parent.name, po.stem
        if domain not in DOMAINS or locale not in DOMAINS[domain]:
            problems.append(f"{po}: not a kidrate catalogue (domain {domain}, locale {locale}); ignored")
            continue
        try:
            catalog, dropped = _checked(_read(po, locale, strict=True))
        except Exception as error:
            problems.append(f"{po}: unreadable ({type(error).__name__}); ignored")
            continue
        if dropped:
            problems.append(f"{po}: {dropped} message(s) differ from the source in placeholders or markup; "
                            "the built-in translation is used for them")
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
    for line in problems:
        log.warning("translation override: %s", line)
    return problems


def catalogue_path(domain: str, locale: str, override_root: Path | None) -> tuple[Path | None, bool]:
    """The installation's catalogue in use for a domain and locale, and whether it is the operator's
    override (the instance folder)."""
    if override_root is not None:
        override = override_root / locale / "LC_MESSAGES" / f"{domain}.po"
        if override.is_file():
            return override, True
    built_in = BUILT_IN / locale / "LC_MESSAGES" / f"{domain}.po"
    return (built_in if built_in.is_file() else None), False


def child_locales(override_root: Path | None) -> tuple[str, ...]:
    """Child locales that have a catalogue (English is the source language, always complete)."""
    return tuple(code for code in CHILD_LOCALES
                 if code == SOURCE_LOCALE or catalogue_path("child", code, override_root)[0] is not None)


def draft_child_locales(override_root: Path | None) -> frozenset[str]:
    found = set()
    for code in CHILD_LOCALES:
        path, _overridden = catalogue_path("child", code, override_root)
        if path is not None and review_state(path) != "reviewed":
            found.add(code)
    return frozenset(found)


def statuses(override_root: Path | None, own: dict[tuple[str, str], OrganisationCatalogue] | None = None
             ) -> list[CatalogueStatus]:
    """Every catalogue each audience needs, with its review state and completeness: an organisation's
    own (own, by (domain, locale)) where it has one, else the installation's."""
    own = own or {}
    found = []
    for domain, locales in DOMAINS.items():
        template = template_ids(domain)

        def translated(catalog: Catalog) -> int:
            return sum(1 for msgid in template if (m := catalog.get(msgid)) is not None and not m.fuzzy  # noqa: B023
                       and all(m.string if isinstance(m.string, tuple) else (m.string,)))

        for locale in locales:
            if locale == SOURCE_LOCALE:
                found.append(CatalogueStatus(domain, locale, "source", len(template), len(template), "source"))
                continue
            row = own.get((domain, locale))
            if row is not None:
                catalog = read_po(BytesIO(row.po), locale=locale)
                found.append(CatalogueStatus(domain, locale, row.review_state, translated(catalog), len(template),
                                             "organisation", row.id))
                continue
            path, overridden = catalogue_path(domain, locale, override_root)
            if path is None:
                found.append(CatalogueStatus(domain, locale, "missing", 0, len(template), "built_in"))
                continue
            found.append(CatalogueStatus(domain, locale, review_state(path) or "unknown",
                                         translated(_read(path, locale)), len(template),
                                         "installation" if overridden else "built_in"))
    return found


# --- An organisation's own catalogues ------------------------------------------------------------


class CatalogueRefused(ValueError):
    """An uploaded catalogue that cannot be used at all; the reason is one of the keys below."""


def checked_upload(domain: str, locale: str, data: bytes) -> tuple[bytes, str, int]:
    """An uploaded .po file, checked: the .po to store (only messages of this catalogue that fit their
    source; plural forms as the language has them), its review state, and how many were dropped.
    Raises CatalogueRefused("unreadable", "nothing" (none of this catalogue's messages) or "unfit" (none
    that fits its source))."""
    try:
        uploaded = read_po(BytesIO(data), locale=locale, abort_invalid=True)
    except Exception as error:  # babel raises several kinds on a malformed file
        raise CatalogueRefused("unreadable") from error
    catalog, dropped = _clean(uploaded, domain, locale)
    if not len(catalog):
        raise CatalogueRefused("unfit" if dropped else "nothing")
    out = BytesIO()
    write_po(out, catalog)
    found = REVIEW_STATE.search(data[:2048].decode("utf-8", errors="replace"))
    state = found.group(1).lower() if found else "unknown"
    return out.getvalue(), state if state in ("reviewed", "draft") else "unknown", dropped


def _clean(uploaded: Catalog, domain: str, locale: str) -> tuple[Catalog, int]:
    """A fresh catalogue of the messages of uploaded that this domain's source has and that fit it.
    Only messages are taken over: the header (plural rule included) is the language's own."""
    catalog = Catalog(locale=locale, domain=domain, header_comment=uploaded.header_comment, fuzzy=False)
    known = set(template_ids(domain))
    for message in uploaded:
        if message.id in known and message.string and not message.fuzzy:
            catalog.add(message.id, message.string, context=message.context)
    return _checked(catalog)


@dataclass(frozen=True)
class OwnCatalogue:
    """What a request needs to know of an organisation's own catalogue, without its text."""

    id: int
    installed_at: datetime
    review_state: str


def organisation_catalogues(organisation_id: int) -> dict[tuple[str, str], OwnCatalogue]:
    """The organisation's own catalogues by (domain, locale): one small query per request, kept on g."""
    held = g.get("_own_catalogues")
    if held is not None and held[0] == organisation_id:
        return held[1]
    c = OrganisationCatalogue
    try:
        # No autoflush: a translation may be asked for half-way through a view's changes.
        with db.session.no_autoflush:
            rows = db.session.execute(select(c.domain, c.locale, c.id, c.installed_at, c.review_state)
                                      .where(c.organisation_id == organisation_id)).all()
    except SQLAlchemyError as error:
        # The page is still shown, in the installation's words; the request's own queries report the fault.
        log.warning("organisation catalogues not read: %s", type(error).__name__)
        rows = []
    own = {(r.domain, r.locale): OwnCatalogue(r.id, r.installed_at, r.review_state) for r in rows}
    g._own_catalogues = (organisation_id, own)
    return own


def forget_organisation_catalogues() -> None:
    """After an upload or a removal: this request reads them again."""
    g.pop("_own_catalogues", None)
    g.pop("_catalogue_memo", None)


def organisation_review_states(organisation_id: int, domain: str) -> dict[str, str]:
    """{locale: review state} of the organisation's own catalogues of a domain."""
    return {locale: own.review_state for (d, locale), own in organisation_catalogues(organisation_id).items()
            if d == domain}


# Compiled own catalogues of this process: (organisation, domain, locale) → (the row's id and
# installed_at, the installation's translations behind it, the compiled translations). A new upload
# changes the stamp, so every process compiles it afresh on its next request for it.
_compiled: dict[tuple[int, str, str], tuple[tuple[int, datetime], NullTranslations, NullTranslations]] = {}


def organisation_translations(organisation_id: int, domain: str, locale: str,
                              installed: NullTranslations) -> NullTranslations:
    """The organisation's own catalogue for domain and locale, with the installation's behind it; or
    the installation's when the organisation has none."""
    own = organisation_catalogues(organisation_id).get((domain, locale))
    if own is None:
        return installed
    key = (organisation_id, domain, locale)
    stamp = (own.id, own.installed_at)
    held = _compiled.get(key)
    if held is not None and held[0] == stamp and held[1] is installed:
        return held[2]
    try:
        with db.session.no_autoflush:
            po = db.session.scalar(select(OrganisationCatalogue.po).where(OrganisationCatalogue.id == own.id))
    except SQLAlchemyError as error:
        log.warning("organisation catalogue not read: %s", type(error).__name__)
        return installed  # not kept: the next request tries again
    translations = _compile_own(po, domain, locale, installed) if po is not None else installed
    _compiled[key] = (stamp, installed, translations)
    return translations


def _compile_own(po: bytes, domain: str, locale: str, installed: NullTranslations) -> NullTranslations:
    try:
        # Checked again: the rules may have grown stricter since it was uploaded.
        catalog, _dropped = _clean(read_po(BytesIO(po), locale=locale), domain, locale)
        mo = BytesIO()
        write_mo(mo, catalog)
        mo.seek(0)
        translations = Translations(mo, domain=domain)
    except Exception as error:  # a stored catalogue that no longer reads must not break a page
        log.warning("an organisation's catalogue (%s, %s) not used: %s", domain, locale, type(error).__name__)
        return installed
    translations.add_fallback(installed)
    return translations

"""Translation catalogues: the built-in ones, a municipality's reviewed overrides, their review state
and how complete they are.

A municipality overrides a catalogue without changing code by putting a reviewed `.po` file in
`<instance>/translations/<locale>/LC_MESSAGES/<domain>.po`. At start-up each override is checked and
compiled; a message whose placeholders or markup differ from the source is dropped (the built-in
translation stays), so a broken override can never break a page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .config import PROJECT_ROOT
from .i18n import CHILD_LOCALES, STAFF_LOCALES

BUILT_IN = PROJECT_ROOT / "translations"
SOURCE_LOCALE = "en"
# Which locales each audience's catalogue must speak.
DOMAINS = {"child": CHILD_LOCALES, "messages": STAFF_LOCALES}
REVIEW_STATE = re.compile(r"^#\s*Review-State:\s*(\w+)", re.MULTILINE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueStatus:
    domain: str
    locale: str
    state: str  # "source", "reviewed", "draft", "unknown" or "missing"
    translated: int
    total: int
    overridden: bool

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
    """The catalogue without messages that do not fit their source; how many were dropped."""
    dropped = 0
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(translation_fits(ids[-1], s) or translation_fits(ids[0], s)
                                    for s in strings if s):
            message.string = ("",) * len(strings) if isinstance(message.string, tuple) else ""
            dropped += 1
    return catalog, dropped


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
    """The catalogue in use for a domain and locale, and whether it is a municipality's override."""
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


def statuses(override_root: Path | None) -> list[CatalogueStatus]:
    """Every catalogue each audience needs, with its review state and completeness."""
    found = []
    for domain, locales in DOMAINS.items():
        template = template_ids(domain)
        for locale in locales:
            if locale == SOURCE_LOCALE:
                found.append(CatalogueStatus(domain, locale, "source", len(template), len(template), False))
                continue
            path, overridden = catalogue_path(domain, locale, override_root)
            if path is None:
                found.append(CatalogueStatus(domain, locale, "missing", 0, len(template), False))
                continue
            catalog = _read(path, locale)
            translated = sum(1 for msgid in template if (m := catalog.get(msgid)) is not None and not m.fuzzy
                             and all(m.string if isinstance(m.string, tuple) else (m.string,)))
            found.append(CatalogueStatus(domain, locale, review_state(path) or "unknown", translated,
                                         len(template), overridden))
    return found

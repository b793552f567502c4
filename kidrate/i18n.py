"""Locales: which languages exist for whom, and the one helper that gives a page its lang and dir."""

from __future__ import annotations

from datetime import date

from babel import Locale
from flask import g, session
from flask_babel import Domain, format_date, get_locale, refresh
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

# The staff interface: Swedish first, then English.
STAFF_LOCALES = ("sv", "en")

# The child's pages: the languages families in Swedish social services speak most, plus the
# national minority language Northern Sami. fa_AF is Dari, ckb Sorani, ku Kurmanji.
CHILD_LOCALES = (
    "sv", "en", "ar", "fa", "fa_AF", "so", "ti", "ckb", "ku", "pl", "uk", "bs", "es", "fi", "tr", "se",
)

# The child's messages live in a catalogue of their own, so completeness is checked per audience.
child_domain = Domain(domain="child")


# Where CLDR's own name would mislead a family: Dari is not "Persian (Afghanistan)" to its speakers.
OWN_NAMES = {"fa_AF": "دری"}


def language_name(code: str) -> str:
    """A language named in itself ("العربية", "Soomaali"), for menus a child or family reads."""
    if code in OWN_NAMES:
        return OWN_NAMES[code]
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, LookupError):
        return code
    return name[:1].upper() + name[1:]


def language_label(code: str) -> str:
    """A language named in the reader's language, with its own name beside it, for staff forms."""
    own = language_name(code)
    if code == "fa_AF":
        here = str(_l("Dari"))
    else:
        try:
            here = Locale.parse(code).get_display_name(get_locale()) or code
        except (ValueError, LookupError):
            return code
    here = here[:1].upper() + here[1:]
    return here if here == own else f"{here} ({own})"


def text_direction(code: str | None = None) -> str:
    locale = Locale.parse(code) if code else get_locale()
    return getattr(locale, "text_direction", "ltr") or "ltr"


def html_lang(code: str | None = None) -> str:
    """BCP 47 tag for <html lang>: fa_AF becomes fa-AF."""
    return str(code or get_locale()).replace("_", "-")


def lang_attrs(code: str | None, page_code: str) -> Markup:
    """` lang=".." dir=".."` for text in another language than its page (the child's own words)."""
    if not code or code == page_code:
        return Markup("")
    return Markup(' lang="{}" dir="{}"').format(html_lang(code), text_direction(code))


def set_page_locale(code: str) -> None:
    """Force this request's locale (the child's link carries its language)."""
    g.page_locale = code
    refresh()


def select_locale() -> str:
    """Flask-Babel's locale selector: a page may force one (the child's link), else the staff choice."""
    forced = g.get("page_locale")
    if forced:
        return forced
    chosen = session.get("locale")
    if chosen in STAFF_LOCALES:
        return chosen
    from flask import current_app

    return current_app.config["KIDRATE"].default_locale


def available_child_locales() -> tuple[str, ...]:
    """Child locales with a catalogue, built in or a municipality's (found once, at start-up)."""
    from flask import current_app

    return current_app.extensions["kidrate.child_locales"]


def draft_child_locales() -> frozenset[str]:
    """Child locales whose catalogue a native speaker has not yet reviewed (found at start-up)."""
    from flask import current_app

    return current_app.extensions["kidrate.child_drafts"]


def format_iso_date(value: str | None) -> str:
    """A date stored as ISO text (in a handover snapshot), formatted for the reader."""
    if not value:
        return "–"
    return format_date(date.fromisoformat(value[:10]))


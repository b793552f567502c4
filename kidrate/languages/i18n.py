"""Locales: which languages exist for whom, and the one helper that gives a page its lang and dir."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, g, request, session
from flask_babel import Domain, format_date, format_datetime, get_babel, get_locale, get_translations, refresh
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

# The staff interface: Swedish first, then English.
STAFF_LOCALES = ("sv", "en")

# The child's pages: the languages families in Swedish social services speak most, plus the
# national minority language Northern Sami. fa_AF is Dari, ckb Sorani, ku Kurmanji.
CHILD_LOCALES = (
    "sv", "en", "ar", "fa", "fa_AF", "so", "ti", "ckb", "ku", "pl", "uk", "bs", "es", "fi", "tr", "se",
)


class OrganisationDomain(Domain):
    """A catalogue domain that speaks the organisation's own reviewed catalogue where it has one.

    The installation's catalogues (built in, and the operator's under `<instance>/translations/`)
    serve every organisation; an organisation's admin may replace one for their organisation's
    staff and children only (kidrate/languages/catalogues.py). Whose request this is: the link's case on the
    child's pages, else the signed-in staff member's organisation, else nobody's."""

    def get_translations(self) -> NullTranslations:
        if not g:
            return super().get_translations()
        # A page asks dozens of times: the answer is kept for the request, per organisation and locale.
        organisation_id = catalogue_organisation_id()
        locale = get_locale()
        key = (self.domain[0], organisation_id, locale)
        found = g.setdefault("_catalogue_memo", {})
        if key not in found:
            installed = super().get_translations()
            if organisation_id is not None:
                from kidrate.languages.catalogues import organisation_translations

                installed = organisation_translations(organisation_id, self.domain[0], str(locale), installed)
            found[key] = installed
        return found[key]


def catalogue_organisation_id() -> int | None:
    """The organisation whose catalogues this request speaks: set by a page (the child's link), else
    the signed-in user's, else none (the sign-in page, pages of no link)."""
    if "catalogue_organisation_id" in g:
        return g.catalogue_organisation_id
    user = g.get("user")
    return user.organisation_id if user is not None else None


def set_catalogue_organisation(organisation_id: int | None) -> None:
    """This request speaks this organisation's catalogues (None: the installation's only)."""
    g.catalogue_organisation_id = organisation_id


# The child's messages live in a catalogue of their own, so completeness is checked per audience.
child_domain = OrganisationDomain(domain="child")


# --- Catalogue text is text ----------------------------------------------------------------------
# Jinja's i18n wraps a translation in Markup, as if the catalogue were trusted HTML. It is not: an
# organisation's admin writes it. These callables escape the translation first, so `<`, `&` and quotes
# show as themselves and cannot break out of an attribute; Markup % variables then escapes the
# variables too, unless a template passes explicit Markup (the print handover's page counter).


def _as_text(eval_ctx: EvalContext, translated: str) -> str:
    return escape(translated) if eval_ctx.autoescape else translated


@pass_eval_context
def _gettext(eval_ctx: EvalContext, string: str) -> str:
    return _as_text(eval_ctx, get_translations().ugettext(string))


@pass_eval_context
def _ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int) -> str:
    return _as_text(eval_ctx, get_translations().ungettext(singular, plural, num))


@pass_eval_context
def _pgettext(eval_ctx: EvalContext, context: str, string: str) -> str:
    return _as_text(eval_ctx, get_translations().upgettext(context, string))


@pass_eval_context
def _npgettext(eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int) -> str:
    return _as_text(eval_ctx, get_translations().unpgettext(context, singular, plural, num))


def _lazy_html(self: LazyString) -> Markup:
    return escape(str(self))


def configure_catalogues(app: Flask) -> None:
    """After babel.init_app: staff pages speak their organisation's catalogues too; templates' _(),
    ngettext() and friends, and lazy strings (form labels, vocabularies), give escaped text instead of
    trusted markup."""
    babel = get_babel(app)
    # Flask-Babel's default domain is a cached property of its Babel object: this one replaces it.
    babel.instance.domain_instance = OrganisationDomain(domain=babel.default_domain)
    app.jinja_env.install_gettext_callables(
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext, newstyle=True,
    )
    # Flask-Babel's lazy string calls itself HTML (Jinja, WTForms labels and choices trust it as is).
    LazyString.__html__ = _lazy_html
    # The child's words inside the page language's quotation marks: {{ _("“%(words)s”", words=child_words(…)) }}.
    app.jinja_env.globals["child_words"] = child_words
    # Staff pages' dates: one unambiguous form in every staff language, in place of Flask-Babel's filters
    # (whose English short form is the US "12/7/26"). Any format argument a template gives is ignored.
    app.jinja_env.filters.update(dateformat=staff_date, datetimeformat=staff_datetime)
    # The same for format_date/format_datetime called from Python (a flash, a PDF's footer), whatever
    # length they ask for. (The child's link message formats its own day, with Babel, unchanged.)
    for length in ("", ".short", ".medium", ".long", ".full"):
        babel.instance.date_formats["date" + length] = STAFF_DATE
        babel.instance.date_formats["datetime" + length] = STAFF_DATETIME


# Where CLDR's own name would mislead a family: Dari is not "Persian (Afghanistan)" to its speakers,
# and families look for Sorani by that name, not by CLDR's "Central Kurdish" (کوردیی ناوەندی).
OWN_NAMES = {"fa_AF": "دری", "ckb": "کوردی سۆرانی"}


@cache  # a handful of codes, asked for on every child page (the language menu)
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
    elif code == "ckb":
        here = str(_l("Kurdish (Sorani)"))
    else:
        try:
            here = Locale.parse(code).get_display_name(get_locale()) or code
        except (ValueError, LookupError):
            return code
    here = here[:1].upper() + here[1:]
    return here if here == own else f"{here} ({own})"


def text_direction(code: str | None = None) -> str:
    return _direction_of(code) if code else getattr(get_locale(), "text_direction", "ltr") or "ltr"


@cache
def _direction_of(code: str) -> str:
    return getattr(Locale.parse(code), "text_direction", "ltr") or "ltr"


def html_lang(code: str | None = None) -> str:
    """BCP 47 tag for <html lang>: fa_AF becomes fa-AF."""
    return str(code or get_locale()).replace("_", "-")


def lang_attrs(code: str | None, page_code: str) -> Markup:
    """` lang=".." dir=".."` for text in another language than its page (the child's own words)."""
    if not code or code == page_code:
        return Markup("")
    return Markup(' lang="{}" dir="{}"').format(html_lang(code), text_direction(code))


def child_words(words: str | None, code: str | None, page_code: str) -> Markup:
    """The child's own words (or anything the child wrote) isolated from the page around them: in a <bdi>,
    so a right-to-left page keeps its quotation marks in place around left-to-right words and the other
    way round, with the words' own lang and dir where they are in another language than the page (with
    neither, the browser finds their direction itself). The quotation marks are the page language's:
    the template puts this inside its catalogue's "“%(words)s”"."""
    return Markup("<bdi{}>{}</bdi>").format(lang_attrs(code, page_code), words or "")


def set_page_locale(code: str) -> None:
    """Force this request's locale (the child's link carries its language)."""
    g.page_locale = code
    refresh()


# The language chosen on the sign-in page, before anyone is signed in (the session is renewed at sign-in
# and cleared at sign-out; this outlives both). Signed in, the user's own setting wins.
LOCALE_COOKIE = "kidrate_locale"


def select_locale() -> str:
    """Flask-Babel's locale selector: a page may force one (the child's link), else the staff choice,
    else the one chosen before signing in, else the installation's default."""
    forced = g.get("page_locale")
    if forced:
        return forced
    chosen = session.get("locale")
    if chosen in STAFF_LOCALES:
        return chosen
    before_sign_in = request.cookies.get(LOCALE_COOKIE) if request else None
    if before_sign_in in STAFF_LOCALES:
        return before_sign_in
    from flask import current_app

    return current_app.config["KIDRATE"].default_locale


def available_child_locales() -> tuple[str, ...]:
    """Child locales with a catalogue, built in or a municipality's (found once, at start-up)."""
    from flask import current_app

    return current_app.extensions["kidrate.child_locales"]


def draft_child_locales() -> frozenset[str]:
    """Child locales whose catalogue a native speaker has not yet reviewed: the installation's (found at
    start-up), as this request's organisation's own catalogues change them."""
    from flask import current_app

    from kidrate.languages.catalogues import organisation_review_states

    drafts = current_app.extensions["kidrate.child_drafts"]
    organisation_id = catalogue_organisation_id() if g else None
    if organisation_id is None:
        return drafts
    own = organisation_review_states(organisation_id, "child")
    if not own:
        return drafts
    return frozenset({code for code in drafts if code not in own} | {code for code, state in own.items()
                                                                      if state != "reviewed"})


# ISO 8601 is the Swedish norm (2026-12-07, 2026-12-07 14:05) and unambiguous to an English reader too,
# where the locale's short forms are not ("12/7/26" is July to most of Europe). Times in Stockholm's zone.
STAFF_DATE = "yyyy-MM-dd"
STAFF_DATETIME = "yyyy-MM-dd HH:mm"


def staff_date(value: date | datetime | None, _format: str | None = None) -> str:
    """A date (or a moment's day, in the staff's time zone) for staff pages: 2026-12-07."""
    if value is None:
        return "–"
    return format_date(value, STAFF_DATE)


def staff_datetime(value: datetime | None, _format: str | None = None) -> str:
    """A moment for staff pages, in the staff's time zone: 2026-12-07 14:05."""
    if value is None:
        return "–"
    return format_datetime(value, STAFF_DATETIME)


def format_iso_date(value: str | None) -> str:
    """A date stored as ISO text (in a handover snapshot), formatted for the reader."""
    if not value:
        return "–"
    return staff_date(date.fromisoformat(value[:10]))


"""The message a therapist sends with a child's link, in the family's or the child's language.

Its sentences live in the child's catalogue, beside the pages they lead to, so that every language
the child's page speaks can also carry the message. It names no one: a text message may be read by
anyone holding the phone.

There are two messages, each speaking to one reader all through: one to the child (a teenager reads
their own phone), one to the guardian (a younger child's link goes through a parent's phone), polite
and about "your child". The therapist sends the one that fits.

The date is the link's last day (it works to the end of that day in Sweden), written in numbers so
that it fits any sentence in any language: the order of day, month and year is the one the
language's readers write (CLDR's short date), always with the full year.
"""

from __future__ import annotations

import re
from datetime import date

from babel import Locale
from babel.dates import format_date, get_date_format
from flask_babel import force_locale

from kidrate.languages.i18n import child_domain

ADDRESSEES = ("child", "guardian")
# From this age the message speaks to the child (who reads it on their own phone); a younger child's
# link goes to a guardian. The therapist may send either.
CHILD_READS_FROM_AGE = 13
# Where CLDR's short date would mislead a family in Sweden: English and Tigrinya put the month first
# there (12/3/26, as in the United States), Eritreans and English readers here write the day first;
# Northern Sami readers write 3.12.2026 (CLDR's se short date is ISO, year first).
_NUMERIC_PATTERNS = {"en": "d/M/y", "ti": "d/M/y", "se": "d.M.y"}


def numeric_date(day: date, language: str) -> str:
    """A date in numbers only, in the order the language's readers write it, with the full year."""
    pattern = _NUMERIC_PATTERNS.get(language)
    if pattern is None:
        try:
            locale = Locale.parse(language)
        except (ValueError, LookupError):
            locale = Locale.parse("sv")
        pattern = re.sub(r"y+", "y", get_date_format("short", locale=locale).pattern)
        return format_date(day, pattern, locale=locale)
    return format_date(day, pattern, locale="en")


def suggested_addressee(age: int) -> str:
    return "child" if age >= CHILD_READS_FROM_AGE else "guardian"


def _lines(addressee: str, last_day: str) -> list[str]:
    _ = child_domain.gettext
    if addressee == "guardian":
        return [
            # NOTE: The message sent with the link, to a parent or guardian: polite and neutral, no "Hi!".
            # Use the polite "you" where your language has one (it may be read by one parent or two).
            # "The person who works with your family" is the therapist, on purpose named nowhere.
            _("Hello. Here are some questions for your child from the person who works with your family."),
            # NOTE: To the guardian. The child decides; nothing here obliges the child to answer.
            _("The questions are for your child to answer. Your child can skip any question. "
              "It takes about five minutes."),
            # NOTE: To the guardian. The link can be opened many times; answers can be sent only once.
            # %(date)s is the link's last day, in numbers (e.g. 21.12.2026); the link works to the end of that day.
            # Say "up to and including" where "until" would leave the day out. The link follows on the next line.
            _("Answers can be sent once with this link, until %(date)s:", date=last_day),
        ]
    return [
        # NOTE: The message sent with the link, to the child (about 13 and older, on their own phone).
        # Informal, as to a young person. It names no one.
        _("Hi! Here are some questions for you from the person who helps you and your family."),
        # NOTE: To the child.
        _("You decide if you want to answer, and you can skip any question. It takes about five minutes."),
        # NOTE: To the child. The link can be opened many times; answers can be sent only once.
        # %(date)s is the link's last day, in numbers (e.g. 21.12.2026); the link works to the end of that day.
        # Say "up to and including" where "until" would leave the day out. The link follows on the next line.
        _("You can send answers once with this link, until %(date)s:", date=last_day),
    ]


def link_message(url: str, last_day: date, language: str, addressee: str = "child") -> str:
    """The whole text to copy into a text message or an e-mail, in one language, to the child or to the
    guardian; last_day is the link's last day in Sweden (links.shown_last_day)."""
    if addressee not in ADDRESSEES:
        raise ValueError(addressee)
    with force_locale(language):
        lines = _lines(addressee, numeric_date(last_day, language))
    return "\n".join([*lines, url])

"""The message a therapist sends with a child's link, in the family's or the child's language.

Its sentences live in the child's catalogue, beside the pages they lead to, so that every language
the child's page speaks can also carry the message. It names no one: a text message may be read by
anyone holding the phone.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from flask_babel import force_locale

from kidrate.languages.i18n import child_domain


def link_message(url: str, expires: date, language: str) -> str:
    """The whole text to copy into a text message or an e-mail, in one language."""
    _ = child_domain.gettext
    with force_locale(language):
        lines = [
            _("Hi! Here are some questions from the person who helps you and your family."),
            _("The questions are for the child to answer. The child can skip any question."),
            _("It takes about five minutes. The link works once, until %(date)s:",
              date=format_date(expires, format="long", locale=language)),
            url,
        ]
    return "\n".join(lines)

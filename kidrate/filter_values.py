"""Filter values from a query string or command-line options (the report's and the audit log's):
text stripped, whole numbers and dates (YYYY-MM-DD) in ASCII digits. Bad values add a message, never raise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def text_value(values: Mapping[str, str | None], name: str) -> str:
    raw = values.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def whole_number(raw: str, max_digits: int) -> int | None:
    """A whole number written in ASCII digits ("²" is a digit to str.isdigit, but not to int)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= max_digits:
        return int(raw)
    return None


def date_value(values: Mapping[str, str | None], name: str, label: str, errors: list[str]) -> date | None:
    raw = text_value(values, name)
    if not raw:
        return None
    if DATE_FORMAT.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    errors.append(_("%(field)s: write a date as YYYY-MM-DD.", field=label))
    return None

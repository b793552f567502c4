"""Staff dates: one unambiguous form in both staff languages (ISO), in Stockholm's time; never "12/7/26"."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale, format_date, format_datetime

from kidrate.languages.link_message import numeric_date


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_templates_and_python_give_iso(app, locale):
    winter = datetime(2026, 12, 7, 13, 5)  # UTC: 14:05 in Stockholm
    summer_late = datetime(2026, 7, 12, 22, 30)  # UTC: the 13th, 00:30 in Stockholm
    with app.test_request_context(), force_locale(locale):
        page = render_template_string(
            "{{ d|dateformat }}|{{ w|datetimeformat('short') }}|{{ w|datetimeformat }}|{{ s|dateformat }}"
            "|{{ s|datetimeformat('short') }}|{{ '2026-12-07T10:00:00'|isodateformat }}",
            d=date(2026, 12, 7), w=winter, s=summer_late)
        assert page == "2026-12-07|2026-12-07 14:05|2026-12-07 14:05|2026-07-13|2026-07-13 00:30|2026-12-07"
        assert format_date(date(2026, 12, 7)) == "2026-12-07"
        assert format_datetime(winter, "short") == "2026-12-07 14:05"


def test_the_childs_link_message_keeps_its_own_day(app):
    """The link message names its day the way the family's language writes it (not the staff format)."""
    with app.test_request_context(), force_locale("en"):
        assert numeric_date(date(2026, 12, 7), "en") == "7/12/2026"
        assert numeric_date(date(2026, 12, 7), "sv") == "2026-12-07"

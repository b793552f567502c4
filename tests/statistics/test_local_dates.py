"""Reports count calendar days in the municipality's calendar (Europe/Stockholm), as the SU-X export writes
its dates: a moment stored in UTC late in the evening is already the next day in Sweden."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import literal, select

from kidrate.extensions import db, local_date_text
from kidrate.statistics.report import _local_date
from kidrate.statistics.sux import local_date

MOMENTS = [
    (datetime(2026, 12, 7, 22, 59, 59), date(2026, 12, 7)),   # winter: UTC+1
    (datetime(2026, 12, 7, 23, 0, 0), date(2026, 12, 8)),
    (datetime(2026, 7, 1, 21, 59), date(2026, 7, 1)),         # summer: UTC+2
    (datetime(2026, 7, 1, 22, 0), date(2026, 7, 2)),
    (datetime(2026, 3, 29, 0, 30), date(2026, 3, 29)),        # the night the clocks go forward
]


@pytest.mark.parametrize(("moment", "day"), MOMENTS)
def test_the_sql_local_date_agrees_with_the_export(app, moment, day):
    assert local_date(moment) == day
    with app.app_context():
        dialect = db.engine.dialect.name
        found = db.session.scalar(select(_local_date(dialect, literal(moment))))
    assert str(found)[:10] == day.isoformat()


def test_sqlites_local_date_reads_what_sqlite_stores():
    assert local_date_text("2026-12-07 23:30:00.123456") == "2026-12-08"
    assert local_date_text(None) is None and local_date_text("not a moment") is None

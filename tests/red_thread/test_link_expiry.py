"""A child's link ends at the end of a whole day in Sweden, whatever the clock time of issue and whether
summer time begins or ends in between; the message names that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kidrate.extensions import db
from kidrate.models import Case, ChildLink
from kidrate.red_thread import links

from ..conftest import post_form, sign_in

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LAST_MOMENT = time(23, 59, 59, 999999)


def utc(wall_clock: datetime) -> datetime:
    """A wall-clock time in Stockholm as the naive UTC the database holds."""
    return wall_clock.replace(tzinfo=STOCKHOLM).astimezone(UTC).replace(tzinfo=None)


def in_stockholm(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC).astimezone(STOCKHOLM)


# Summer time in 2026 begins on 29 March and ends on 25 October.
@pytest.mark.parametrize(("issued", "days", "last_day"), [
    # 23:30 in Stockholm is 22:30 UTC the same day; 00:30 is 23:30 UTC the day before.
    (datetime(2026, 12, 7, 23, 30), 14, date(2026, 12, 21)),
    (datetime(2026, 12, 8, 0, 30), 14, date(2026, 12, 22)),
    # Summer time begins in between: 21:30 and 22:30 UTC the day before the last one.
    (datetime(2026, 3, 20, 23, 30), 14, date(2026, 4, 3)),
    (datetime(2026, 3, 21, 0, 30), 14, date(2026, 4, 4)),
    # Summer time ends in between.
    (datetime(2026, 10, 17, 23, 30), 14, date(2026, 10, 31)),
    (datetime(2026, 10, 18, 0, 30), 14, date(2026, 11, 1)),
    # The last day is itself the day of 23 hours, or of 25.
    (datetime(2026, 3, 28, 0, 30), 1, date(2026, 3, 29)),
    (datetime(2026, 10, 24, 23, 30), 1, date(2026, 10, 25)),
    # Issued in summer, ending in winter, at both ends of the evening.
    (datetime(2026, 10, 20, 23, 30), 14, date(2026, 11, 3)),
    (datetime(2026, 10, 21, 0, 30), 14, date(2026, 11, 4)),
])
def test_a_link_ends_at_the_last_moment_of_its_last_day_in_stockholm(issued, days, last_day):
    issued_utc = utc(issued)
    expires = links.expiry(issued_utc, days)
    assert in_stockholm(expires).date() == last_day
    assert in_stockholm(expires).time() == LAST_MOMENT
    assert links.last_day(issued_utc, days) == last_day
    # Never shorter than the days it was issued for (less the hour summer time takes, when it begins).
    assert expires - issued_utc >= timedelta(days=days, hours=-1)


@pytest.fixture
def case(make):
    return make.case(make.user("social_worker"), therapist=make.user("therapist"))


@pytest.mark.parametrize(("issued", "last_day"), [
    (datetime(2026, 10, 24, 23, 30), date(2026, 11, 7)),  # the night before summer time ends
    (datetime(2026, 10, 25, 0, 30), date(2026, 11, 8)),
    (datetime(2026, 3, 28, 23, 30), date(2026, 4, 11)),  # the night before summer time begins
    (datetime(2026, 3, 29, 0, 30), date(2026, 4, 12)),
])
def test_an_issued_link_is_usable_to_the_end_of_its_last_day_and_not_after(app, case, monkeypatch, issued,
                                                                            last_day):
    monkeypatch.setattr(links, "utcnow", lambda: utc(issued))
    link, _token = links.issue(db.session, db.session.get(Case, case.id).round("start"), language="sv",
                               created_by_id=None, days=14)
    db.session.commit()
    link_id = link.id
    db.session.expire_all()
    link = db.session.get(ChildLink, link_id)  # as stored, to the microsecond
    end = datetime.combine(last_day, LAST_MOMENT)
    assert link.expires_at == utc(end)
    assert links.shown_last_day(link) == last_day
    assert links.usable(link, utc(issued))
    assert links.usable(link, utc(datetime.combine(last_day, time(0, 0))))
    assert links.usable(link, utc(datetime.combine(last_day, time(23, 59, 59))))
    assert links.usable(link, utc(end) - timedelta(microseconds=1))
    assert not links.usable(link, utc(end))
    assert not links.usable(link, utc(datetime.combine(last_day + timedelta(days=1), time(0, 0))))


def test_the_childs_page_opens_on_the_last_evening_and_is_gone_the_next_morning(app, make, case, monkeypatch):
    monkeypatch.setattr(links, "utcnow", lambda: utc(datetime(2026, 12, 7, 23, 30)))
    token = make.link(case, language="sv", days=14)
    client = app.test_client()
    monkeypatch.setattr(links, "utcnow", lambda: utc(datetime(2026, 12, 21, 23, 55)))
    assert client.get(f"/r/{token}").status_code == 200
    monkeypatch.setattr(links, "utcnow", lambda: utc(datetime(2026, 12, 22, 0, 1)))
    assert client.get(f"/r/{token}").status_code == 404


def test_the_link_page_names_the_last_day_in_stockholm(app, make, case, monkeypatch):
    therapist = db.session.get(Case, case.id).therapist
    client = app.test_client()
    sign_in(client, therapist.username)
    # 00:30 on 8 December in Stockholm is still 7 December in UTC: the last day is the 22nd, not the 21st.
    monkeypatch.setattr(links, "utcnow", lambda: utc(datetime(2026, 12, 8, 0, 30)))
    page = f"/staff/cases/{case.id}"
    response = post_form(client, page, f"{page}/rounds/start/links", {"language": "sv"}, follow_redirects=True)
    assert response.status_code == 200
    assert "till och med 2026-12-22:" in response.text
    assert "2026-12-21" not in response.text

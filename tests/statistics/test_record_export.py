"""Record-level exports (the SU-X file: a row per closed case) leave only through an analyst who holds
the named permission; an admin grants and withdraws it on the Staff page, audited, within their own
organisation, and never holds it. The suppressed group report needs no permission."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, User

from ..conftest import csrf_token, sign_in
from .test_sux import HEADER, closed_native_case

EXPORT = "/staff/sux/export.csv?from=2000-01-01"


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def permission(user_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(User, user_id).may_export_records


def signed_in(app, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def toggle(client, user_id: int, allow: int | str):
    token = csrf_token(client.get("/staff/admin/users").text)
    return client.post(f"/staff/admin/users/{user_id}/record-export?allow={allow}", data={"csrf_token": token})


# --- Who downloads the record-level export ------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_without_the_permission_nobody_downloads_record_level_data(app, make, role):
    closed_native_case(make)
    make.user(role, username="someone")
    client = signed_in(app, "someone")
    response = client.get(EXPORT)
    assert response.status_code == 403
    assert "text/csv" not in response.headers["Content-Type"] and HEADER not in response.text
    assert events("export_sux") == []
    page = client.get("/staff/sux")
    assert page.status_code == 200 and 'action="/staff/sux/export.csv"' not in page.text


def test_an_admin_holding_the_flag_still_does_not_export(app, make):
    """The flag means something for analysts only: set on an admin by other means, it opens nothing."""
    closed_native_case(make)
    make.user("admin", username="boss", may_export_records=True)
    assert signed_in(app, "boss").get(EXPORT).status_code == 403
    assert events("export_sux") == []


def test_an_analyst_with_the_permission_downloads_and_it_is_audited(app, make):
    closed_native_case(make)
    analyst = make.user("analyst", username="ana", may_export_records=True)
    client = signed_in(app, "ana")
    assert 'action="/staff/sux/export.csv"' in client.get("/staff/sux").text
    response = client.get(EXPORT)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.decode("utf-8-sig").splitlines()[0] == HEADER
    [event] = events("export_sux")
    assert event.user_id == analyst.id and event.target.endswith(":1")
    # The suppressed group report stays the analyst's, permission or not.
    assert client.get("/staff/report.csv").status_code == 200


def test_the_group_report_needs_no_permission(app, make):
    make.user("analyst", username="ana")
    client = signed_in(app, "ana")
    for url in ("/staff/report", "/staff/report.csv", "/staff/report.xlsx"):
        assert client.get(url).status_code == 200, url


# --- The admin grants and withdraws it -------------------------------------------------------------


def test_an_admin_grants_and_withdraws_it_audited(app, make):
    make.user("admin", username="boss")
    analyst = make.user("analyst", username="ana")
    admin = signed_in(app, "boss")
    page = admin.get("/staff/admin/users").text
    assert f'action="/staff/admin/users/{analyst.id}/record-export?allow=1"' in page

    assert toggle(admin, analyst.id, 1).status_code == 302
    assert permission(analyst.id) is True
    assert [e.target for e in events("grant_record_export")] == [f"user:{analyst.id}"]
    assert f'action="/staff/admin/users/{analyst.id}/record-export?allow=0"' in admin.get("/staff/admin/users").text
    assert signed_in(app, "ana").get(EXPORT).status_code == 200

    assert toggle(admin, analyst.id, 1).status_code == 302  # sent twice: still granted, once in the log
    assert permission(analyst.id) is True and len(events("grant_record_export")) == 1

    assert toggle(admin, analyst.id, 0).status_code == 302
    assert permission(analyst.id) is False
    assert [e.target for e in events("revoke_record_export")] == [f"user:{analyst.id}"]
    assert signed_in(app, "ana").get(EXPORT).status_code == 403


def test_the_toggle_needs_csrf_and_a_clear_wish(app, make):
    make.user("admin", username="boss")
    analyst = make.user("analyst", username="ana")
    admin = signed_in(app, "boss")
    assert admin.post(f"/staff/admin/users/{analyst.id}/record-export?allow=1").status_code == 400
    for bad in ("", "yes", "2", "%00"):
        assert toggle(admin, analyst.id, bad).status_code == 400, bad
    assert admin.post(f"/staff/admin/users/{analyst.id}/record-export",
                      data={"csrf_token": csrf_token(admin.get("/staff/admin/users").text)}).status_code == 400
    assert permission(analyst.id) is False and events("grant_record_export") == []


@pytest.mark.parametrize("role", ["admin", "social_worker", "therapist", "auditor"])
def test_only_analysts_can_hold_it(app, make, role):
    make.user("admin", username="boss")
    other = make.user(role, username="other")
    admin = signed_in(app, "boss")
    response = toggle(admin, other.id, 1)
    assert response.status_code == 302
    assert "Only analysts can be allowed record-level exports." in admin.get("/staff/admin/users").text
    assert permission(other.id) is False and events("grant_record_export") == []
    assert 'record-export' not in admin.get("/staff/admin/users").text  # no button for them


def test_another_organisations_analyst_is_not_found(app, make):
    make.user("admin", username="boss")
    outsider = make.outsider("analyst", "far-analyst")
    admin = signed_in(app, "boss")
    assert toggle(admin, outsider.id, 1).status_code == 404
    assert permission(outsider.id) is False and events("grant_record_export") == []


@pytest.mark.parametrize("role", ["analyst", "social_worker", "therapist", "auditor"])
def test_nobody_but_an_admin_grants_it(app, make, role):
    target = make.user("analyst", username="ana")
    make.user(role, username="someone", may_export_records=role == "analyst")
    client = signed_in(app, "someone")
    token = csrf_token(client.get("/staff/profile").text)
    response = client.post(f"/staff/admin/users/{target.id}/record-export?allow=1", data={"csrf_token": token})
    assert response.status_code == 403
    assert permission(target.id) is False

"""An admin edits a staff member's name, role and unit: within the organisation, audited, and never
leaving the organisation without an administrator."""

from __future__ import annotations

from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, StaffSession, Unit, User
from tests.conftest import csrf_token, sign_in


def _edit(client, user_id: int, **data):
    page = client.get(f"/staff/admin/users/{user_id}/edit")
    assert page.status_code == 200
    return client.post(f"/staff/admin/users/{user_id}/edit", data={"csrf_token": csrf_token(page.text), **data})


def _fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_admin_changes_name_role_and_unit(app, make, client):
    admin = make.user("admin")
    authority = make.unit("authority")
    open_care = make.unit("open_care")
    worker = make.user("social_worker", unit=authority)
    other = app.test_client()
    sign_in(other, worker.username)
    sign_in(client, admin.username)
    page = client.get("/staff/admin/users")
    assert f'href="/staff/admin/users/{worker.id}/edit"' in page.text
    form = client.get(f"/staff/admin/users/{worker.id}/edit").text
    assert f'value="{worker.display_name}"' in form
    response = _edit(client, worker.id, display_name="  Anna Andersson ", role="therapist", unit=str(open_care.id))
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/admin/users")
    changed = _fresh(worker.id)
    assert (changed.display_name, changed.role, changed.unit_id) == ("Anna Andersson", "therapist", open_care.id)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "edit_user")).one()
    assert event.target == f"user:{worker.id}:name,role,unit" and event.user_id == admin.id
    # A new role ends the person's sessions: they sign in again with it.
    assert other.get("/staff/cases").status_code == 302
    assert db.session.scalar(select(StaffSession.end_reason).where(StaffSession.user_id == worker.id)) == "role_changed"
    assert "The changes for Anna Andersson are saved." in client.get("/staff/admin/users").text


def test_bad_input_is_refused_with_a_message_and_nothing_saved(app, make, client):
    admin = make.user("admin")
    authority = make.unit("authority")
    worker = make.user("social_worker", unit=authority)
    sign_in(client, admin.username)
    for data, message in [
        ({"display_name": "", "role": "social_worker", "unit": str(authority.id)}, "This field is required."),
        ({"display_name": "X", "role": "therapist", "unit": str(authority.id)}, "therapists to an open-care unit"),
        ({"display_name": "X", "role": "emperor", "unit": str(authority.id)}, "Not a valid choice"),
        ({"display_name": "X", "role": "social_worker", "unit": "abc"}, "class=\"error\""),
        ({"display_name": "<b>X</b>" * 30, "role": "social_worker", "unit": str(authority.id)}, "120"),
    ]:
        response = _edit(client, worker.id, **data)
        assert response.status_code == 400 and message in response.text, (data, response.text[-2000:])
        assert "Nothing was saved" in response.text
        assert "<b>X</b>" not in response.text
    assert _fresh(worker.id).display_name == worker.display_name
    assert client.post(f"/staff/admin/users/{worker.id}/edit", data={
        "display_name": "X", "role": "analyst", "unit": "0"}).status_code == 400  # no CSRF token
    assert _fresh(worker.id).role == "social_worker"
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "edit_user")) is None


def test_another_organisations_user_or_unit_is_not_found(app, make, client):
    admin = make.user("admin")
    worker = make.user("social_worker")
    outsider = make.outsider("social_worker", "outsider")
    foreign_unit = Unit(organisation_id=outsider.organisation_id, name="Their unit", kind="authority")
    db.session.add(foreign_unit)
    db.session.commit()
    sign_in(client, admin.username)
    assert client.get(f"/staff/admin/users/{outsider.id}/edit").status_code == 404
    response = _edit(client, worker.id, display_name="X", role="social_worker", unit=str(foreign_unit.id))
    assert response.status_code == 404
    assert _fresh(worker.id).unit_id != foreign_unit.id


def test_the_last_admin_keeps_the_role(app, make, client):
    admin = make.user("admin")
    sign_in(client, admin.username)
    response = _edit(client, admin.id, display_name="Me", role="analyst", unit="0", confirm_own_role="y")
    assert response.status_code == 400 and "at least one active administrator" in response.text
    assert _fresh(admin.id).role == "admin"
    # An inactive admin does not count.
    make.user("admin", active=False)
    assert _edit(client, admin.id, display_name="Me", role="analyst", unit="0",
                 confirm_own_role="y").status_code == 400


def test_an_admin_changing_their_own_role_is_asked_first(app, make, client):
    admin = make.user("admin")
    second = make.user("admin")
    sign_in(client, admin.username)
    first = _edit(client, admin.id, display_name=admin.display_name, role="analyst", unit="0")
    assert first.status_code == 400 and "You are changing your own role" in first.text
    assert 'name="confirm_own_role"' in first.text
    assert _fresh(admin.id).role == "admin"
    # The name alone changes without a question.
    assert _edit(client, admin.id, display_name="New name", role="admin", unit="0").status_code == 302
    confirmed = _edit(client, admin.id, display_name="New name", role="analyst", unit="0", confirm_own_role="y")
    assert confirmed.status_code == 302
    assert _fresh(admin.id).role == "analyst"
    # Still signed in, now as an analyst: the admin pages are closed.
    assert client.get("/staff/report").status_code == 200
    assert client.get("/staff/admin/users").status_code == 403
    assert _fresh(second.id).role == "admin"


def test_a_therapist_with_open_cases_keeps_the_role(app, make, client):
    admin = make.user("admin")
    social = make.user("social_worker")
    therapist = make.user("therapist")
    make.case(social, therapist=therapist)
    sign_in(client, admin.username)
    response = _edit(client, therapist.id, display_name="T", role="analyst", unit="0")
    assert response.status_code == 400 and "therapist of 1 open case" in response.text
    assert _fresh(therapist.id).role == "therapist"
    db.session.execute(Case.__table__.update().values(status="closed"))
    db.session.commit()
    assert _edit(client, therapist.id, display_name="T", role="analyst", unit="0").status_code == 302


def test_record_exports_do_not_follow_a_new_role(app, make, client):
    admin = make.user("admin")
    analyst = make.user("analyst", may_export_records=True)
    sign_in(client, admin.username)
    assert _edit(client, analyst.id, display_name="A", role="auditor", unit="0").status_code == 302
    assert _fresh(analyst.id).may_export_records is False


def test_nothing_changed_says_so(app, make, client):
    admin = make.user("admin")
    analyst = make.user("analyst")
    sign_in(client, admin.username)
    response = _edit(client, analyst.id, display_name=analyst.display_name, role="analyst", unit="0")
    assert response.status_code == 302
    assert "Nothing was changed" in client.get("/staff/admin/users").text
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "edit_user")) is None

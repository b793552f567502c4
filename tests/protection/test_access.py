"""Access: every staff route is denied by default, and each role sees only what it needs.

The matrix below names, per endpoint, who may use it. A route missing from the matrix fails the
test, so a new route cannot slip in unclassified.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import Case, Closure, Organisation, Unit, User
from kidrate.red_thread import cases

from ..conftest import csrf_token, sign_in
from ..factories import Factory

SECRET = "HEMLIGA-ORD-7731"
PUBLIC = {"static", "root", "staff.manifest", "staff.service_worker", "staff.sign_in", "staff.accept_invite",
          "staff.reset_password", "staff.forgot_password", "health.healthz",
          "staff.sign_in_code", "staff.sign_in_enrol", "staff.sign_in_cancel",
          "staff.sign_on_start", "staff.sign_on_callback", "staff.sign_on_from_invitation",
          "child.questions", "child.submit", "child.audio", "child.thanks", "child.already_sent", "child.not_active"}
EVERYONE = {"sw_a", "sw_b", "t1", "t2", "analyst", "admin", "auditor"}
MATRIX = {
    "staff.home": EVERYONE,
    "staff.sign_out": EVERYONE,
    "staff.profile": EVERYONE,
    "staff.two_factor_page": EVERYONE,
    "staff.two_factor_off": EVERYONE,
    "staff.two_factor_recovery_codes": EVERYONE,
    "staff.notification_settings": EVERYONE,
    "staff.case_list": {"sw_a", "sw_b", "t1", "t2"},
    "staff.case_new": {"sw_a", "sw_b"},
    "staff.case_view": {"sw_a", "t1"},
    "staff.problem_add": {"sw_a", "t1"},
    "staff.problem_delete": {"sw_a"},
    "staff.case_assign": {"sw_a"},
    "staff.problem_edit": {"sw_a"},
    "staff.problem_correct": {"sw_a", "t1"},
    "staff.problem_withdraw": {"sw_a", "t1"},
    "staff.link_issue": {"t1"},
    "staff.link_revoke": {"t1"},
    "staff.link_view": {"t1"},
    "staff.closure_edit": {"t1"},
    "staff.closure_preview": {"t1"},
    "staff.handover_send": {"t1"},
    "staff.added_text_translate": {"t1"},
    "staff.handover_inbox": {"sw_a", "sw_b"},
    "staff.handover_view": {"sw_a", "t1"},
    "staff.handover_mark_read": {"sw_a"},
    "staff.handover_pdf": {"sw_a", "t1"},
    "staff.handover_json": {"sw_a", "t1"},
    "staff.assignment_pdf": {"sw_a", "t1"},
    "staff.assignment_json": {"sw_a", "t1"},
    "staff.admin_users": {"admin"},
    "staff.admin_user_new": {"admin"},
    "staff.admin_user_edit": {"admin"},
    "staff.admin_user_reset": {"admin"},
    "staff.admin_user_active": {"admin"},
    "staff.admin_user_two_factor_reset": {"admin"},
    "staff.admin_user_unlock": {"admin"},
    "staff.admin_user_end_sessions": {"admin"},
    "staff.admin_user_record_export": {"admin"},
    "staff.admin_units": {"admin"},
    "staff.admin_email": {"admin"},
    "staff.admin_sign_on": {"admin"},
    "staff.admin_user_unlink": {"admin"},
    "staff.admin_user_email": {"admin"},
    "staff.problem_translation_add": {"sw_a", "t1"},
    "staff.problem_translation_delete": {"sw_a", "t1"},
    "staff.admin_translations": {"admin"},
    "staff.admin_translation_remove": {"admin"},
    "staff.round_answered": {"t1"},
    "staff.met_alone": {"t1"},
    "staff.signal_acknowledge": {"t1"},
    "staff.problem_goal": {"sw_a", "t1"},
    "staff.recording_upload": {"t1"},
    "staff.recording_play": {"sw_a", "t1"},
    "staff.recording_delete": {"t1"},
    "staff.admin_recordings": {"admin"},
    "staff.admin_recordings_locale": {"admin"},
    "staff.admin_recording_upload": {"admin"},
    "staff.admin_recording_play": {"admin"},
    "staff.admin_recording_delete": {"admin"},
    "staff.together_view": {"t1"},
    "staff.hand_over": {"t1"},
    "staff.unlock": {"t1", "t2"},
    "staff.unlock_through_provider": {"t1", "t2"},
    "staff.admin_sux": {"admin"},
    "staff.sux_page": {"analyst", "admin"},
    "staff.sux_export": {"analyst"},  # and only with the permission (test_record_export.py)
    "staff.report": {"analyst"},
    "staff.report_csv_download": {"analyst"},
    "staff.report_xlsx_download": {"analyst"},
    "staff.audit_log": {"auditor", "admin"},
    "staff.audit_log_csv": {"auditor", "admin"},
}


@pytest.fixture
def world(app, make: Factory):
    unit_a = make.unit("authority", "Unit A")
    unit_b = make.unit("authority", "Unit B")
    users = {
        "sw_a": make.user("social_worker", unit_a, username="sw_a"),
        "sw_b": make.user("social_worker", unit_b, username="sw_b"),
        "t1": make.user("therapist", username="t1"),
        "t2": make.user("therapist", username="t2"),
        "analyst": make.user("analyst", username="analyst"),
        "admin": make.user("admin", username="admin"),
        "auditor": make.user("auditor", username="auditor"),
    }
    case = make.case(users["sw_a"], therapist=users["t1"], words=(SECRET,), case_ref="REF-SECRET-1")
    make.link(case, "start")
    case = db.session.get(Case, case.id)
    case.closure = Closure(reason="goals_met", concern_remaining=False, participation={})
    cases.send_handover(db.session, case, db.session.get(User, users["t1"].id))
    db.session.commit()
    link_id = case.rounds[0].links[0].id
    other_org = Organisation(name="Annan kommun")
    db.session.add(other_org)
    db.session.flush()
    outsider = User(organisation_id=other_org.id, username="outsider", display_name="O", role="admin",
                    password_hash=users["admin"].password_hash)
    db.session.add(outsider)
    db.session.commit()
    params = {"case_id": case.id, "problem_id": case.problems[0].id, "link_id": link_id, "version": 1,
              "kind": "start", "user_id": users["sw_a"].id, "token": "x" * 32, "translation_id": 1,
              "recording_id": 1, "locale": "so", "key": "0" * 16, "signal_id": 1, "catalogue_id": 1}
    return {"users": users, "case": case, "params": params, "outsider_id": outsider.id}


def test_every_route_is_public_or_names_its_roles(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC:
            assert getattr(view, "kidrate_public", False) or rule.endpoint == "static", rule.endpoint
            continue
        assert rule.endpoint in MATRIX, f"{rule.endpoint} is not in the access matrix"
        assert getattr(view, "kidrate_roles", None), f"{rule.endpoint} names no roles"


def _url(app, rule, params):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: params[k] for k in rule.arguments})


@pytest.mark.parametrize("who", sorted(EVERYONE))
def test_wrong_role_gets_403_or_404_and_sees_nothing(app, world, who):
    client = app.test_client()
    sign_in(client, who)
    token = csrf_token(client.get("/staff/profile").text)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or who in MATRIX[rule.endpoint]:
            continue
        url = _url(app, rule, world["params"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code in (403, 404), (who, rule.endpoint, method, response.status_code)
            assert SECRET not in response.text and "REF-SECRET-1" not in response.text, (who, rule.endpoint)
            checked += 1
    assert checked > 0 or who == "sw_a"


def test_anonymous_is_sent_to_sign_in_or_refused(app, world):
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = _url(app, rule, world["params"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if method == "GET":
                assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"], rule.endpoint
            else:
                assert response.status_code in (400, 401), (rule.endpoint, response.status_code)
            assert SECRET not in response.text


def test_lists_show_only_ones_own_cases(app, world):
    case_link = f'href="/staff/cases/{world["case"].id}'
    for who, sees in [("sw_a", True), ("sw_b", False), ("t1", True), ("t2", False)]:
        client = app.test_client()
        sign_in(client, who)
        assert (case_link in client.get("/staff/cases").text) is sees, who
        if who.startswith("sw"):
            assert (case_link in client.get("/staff/handovers").text) is sees, who
            assert (case_link in client.get("/staff/cases?q=REF-SECRET-1").text) is sees, who


def test_allowed_roles_do_get_the_case(app, world):
    case_id = world["case"].id
    for who in ("sw_a", "t1"):
        client = app.test_client()
        sign_in(client, who)
        page = client.get(f"/staff/cases/{case_id}")
        assert page.status_code == 200 and SECRET in page.text
        assert SECRET in client.get(f"/staff/cases/{case_id}/handovers/1").text


def test_admin_cannot_reach_users_of_another_organisation(app, world):
    client = app.test_client()
    sign_in(client, "admin")
    token = csrf_token(client.get("/staff/admin/users").text)
    assert "outsider" not in client.get("/staff/admin/users").text
    for action in ("reset", "active", "edit"):
        response = client.post(f"/staff/admin/users/{world['outsider_id']}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    assert client.get(f"/staff/admin/users/{world['outsider_id']}/edit").status_code == 404
    assert db.session.scalar(select(User.active).where(User.username == "outsider")) is True


def test_a_username_held_in_another_organisation_gets_the_same_answer_as_one_held_here(app, world):
    """Usernames are unique across the installation (sign-in asks for nothing else), so an admin learns
    that a name is held; the answer never says whether here or elsewhere (SECURITY.md)."""
    client = app.test_client()
    sign_in(client, "admin")
    answers = []
    for taken in ("sw_b", "outsider"):
        token = csrf_token(client.get("/staff/admin/users/new").text)
        response = client.post("/staff/admin/users/new", data={
            "csrf_token": token, "username": taken, "display_name": "New", "role": "analyst", "unit": "0"})
        assert response.status_code == 400 and "The username is taken." in response.text
        answers.append(response.text.replace(csrf_token(response.text), "").replace(taken, "NAME"))
    assert answers[0] == answers[1]
    assert db.session.scalar(select(User.id).where(User.display_name == "New")) is None


def test_a_therapist_sees_a_case_only_once_it_is_handed_over(app, make):
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    case = make.case(sw, words=(SECRET,))
    case.therapist_id = t.id  # named, but the assignment is still a draft
    db.session.merge(case)
    db.session.commit()
    client = app.test_client()
    sign_in(client, "t")
    assert client.get(f"/staff/cases/{case.id}").status_code == 404
    assert SECRET not in client.get("/staff/cases").text


def test_units_are_per_organisation(app, world):
    client = app.test_client()
    sign_in(client, "admin")
    assert "Unit A" in client.get("/staff/admin/units").text
    assert db.session.scalar(select(Unit).where(Unit.name == "Unit A")) is not None


@pytest.mark.parametrize("who", ["sw_a", "t1", "admin"])
def test_ids_past_the_database_range_are_not_found(app, world, who):
    client = app.test_client()
    sign_in(client, who)
    huge = {k: (2**63 if isinstance(v, int) else v) for k, v in world["params"].items()}
    token = csrf_token(client.get("/staff/profile").text)
    for rule in app.url_map.iter_rules():
        if not any(k in rule.arguments for k, v in world["params"].items() if isinstance(v, int)):
            continue
        url = _url(app, rule, huge)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code == 404, (rule.endpoint, method, response.status_code)

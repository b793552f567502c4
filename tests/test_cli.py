"""The `kidrate` command line: the demo seed and creating staff accounts (migrations are tested elsewhere)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kidrate.demo import DEMO_CASE_REF, DEMO_CHILD_PROBLEMS, DEMO_PASSWORD, DEMO_USERS
from kidrate.extensions import db
from kidrate.models import Case, ChildLink, Organisation, Problem, Unit, User

from .conftest import sign_in

CHILD_LINK = re.compile(r"http://127\.0\.0\.1:5000(/r/[A-Za-z0-9_-]{32})\s*$", re.MULTILINE)
LOGIN_LINE = re.compile(r"^  (social_worker|therapist|analyst|admin|auditor)\s+(\S+)$", re.MULTILINE)
INVITE = re.compile(r"^http://127\.0\.0\.1:5000(/staff/invite/\S+)$")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def run(runner, *args: str):
    result = runner.invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count(model.id)))
            for model in (Organisation, Unit, User, Case, Problem, ChildLink)}


# --- demo -----------------------------------------------------------------------------------

def test_demo_seeds_an_empty_database(runner, client):
    result = run(runner, "demo")
    assert result.exit_code == 0, result.output
    assert "Demo data created." in result.output

    assert counts() == {"Organisation": 1, "Unit": 2, "User": 5, "Case": 1, "Problem": 4, "ChildLink": 1}
    units = {u.kind: u for u in db.session.scalars(select(Unit))}
    assert set(units) == {"authority", "open_care"}
    users = {u.role: u for u in db.session.scalars(select(User))}
    assert set(users) == {"social_worker", "therapist", "analyst", "admin", "auditor"}
    assert users["social_worker"].unit_id == units["authority"].id
    assert users["therapist"].unit_id == units["open_care"].id
    assert users["analyst"].unit_id is None and users["admin"].unit_id is None and users["auditor"].unit_id is None

    case = db.session.scalar(select(Case))
    assert case.case_ref == DEMO_CASE_REF
    assert case.status == "assigned" and case.assigned_at is not None
    assert case.therapist_id == users["therapist"].id
    assert case.open_care_unit_id == units["open_care"].id
    assert case.social_worker_id == users["social_worker"].id
    child_words = [p.words for p in case.problems if p.source == "child"]
    assert child_words == [words for words, _c, _g in DEMO_CHILD_PROBLEMS]

    match = CHILD_LINK.search(result.output)
    assert match, result.output
    assert f"Child link for {DEMO_CASE_REF} (start):" in result.output
    page = client.get(match.group(1))
    assert page.status_code == 200
    for words in child_words:
        assert words in page.text
    assert "Föräldrarna har svårt att sätta gränser." not in page.text  # investigation problem: not the child's


def test_a_second_demo_creates_nothing_and_replaces_the_link(runner, client):
    first = run(runner, "demo")
    first_path = CHILD_LINK.search(first.output).group(1)
    before = counts()

    second = run(runner, "demo")
    assert second.exit_code == 0, second.output
    assert "Demo data created." not in second.output
    second_path = CHILD_LINK.search(second.output).group(1)
    assert second_path != first_path

    after = counts()
    assert after == {**before, "ChildLink": before["ChildLink"] + 1}
    states = [link.revoked_at is not None for link in db.session.scalars(select(ChildLink).order_by(ChildLink.id))]
    assert states == [True, False]
    assert client.get(first_path).status_code == 404
    assert client.get(second_path).status_code == 200


def test_demo_logins_sign_in(runner, app):
    output = run(runner, "demo").output
    assert f"password for all: {DEMO_PASSWORD}" in output
    logins = LOGIN_LINE.findall(output)
    assert sorted(logins) == sorted((role, username) for username, _n, role, _u in DEMO_USERS)
    for _role, username in logins:
        client = app.test_client()
        assert sign_in(client, username, DEMO_PASSWORD).status_code == 302, username
        assert sign_in(app.test_client(), username, "wrong-password-123").status_code == 400


def test_demo_leaves_a_database_with_other_data_alone(runner, make):
    make.user("admin", username="real-admin")
    before = counts()
    result = run(runner, "demo")
    assert result.exit_code == 0
    assert "no demo case" in result.output
    assert not CHILD_LINK.search(result.output)
    assert counts() == before


# --- create-user ----------------------------------------------------------------------------

def test_create_user_prints_a_working_invitation(runner, client, make):
    unit = make.unit("authority", name="Utredning")
    result = run(runner, "create-user", "--username", "sara", "--name", "Sara S", "--role", "social_worker",
                 "--unit", "Utredning")
    assert result.exit_code == 0, result.output
    match = INVITE.match(result.output.strip())
    assert match, result.output
    user = db.session.scalar(select(User).where(User.username == "sara"))
    assert (user.display_name, user.role, user.unit_id, user.password_hash) == ("Sara S", "social_worker", unit.id,
                                                                                 None)
    assert client.get(match.group(1)).status_code == 200  # the invitation page opens


def test_create_user_with_a_new_organisation(runner):
    result = run(runner, "create-user", "--username", "ali", "--name", "Ali A", "--role", "analyst",
                 "--organisation", "Nykommun")
    assert result.exit_code == 0, result.output
    assert "/staff/invite/" in result.output
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Nykommun"))
    user = db.session.scalar(select(User).where(User.username == "ali"))
    assert user.organisation_id == org.id and user.unit_id is None


def test_create_user_without_any_organisation_fails(runner):
    result = run(runner, "create-user", "--username", "ali", "--name", "Ali A", "--role", "admin")
    assert result.exit_code != 0
    assert "no organisation yet" in result.output
    assert counts()["User"] == 0


def test_duplicate_username_is_a_usage_error(runner, make):
    make.user("admin", username="anna")
    before = counts()
    result = run(runner, "create-user", "--username", "anna", "--name", "Another Anna", "--role", "admin")
    assert result.exit_code == 2  # click's usage error
    assert "'anna' is taken" in result.output
    assert "/staff/invite/" not in result.output
    assert counts() == before


@pytest.mark.parametrize(("role", "unit_kind", "message"), [
    ("therapist", "authority", "a therapist belongs in a unit of kind open_care"),
    ("social_worker", "open_care", "a social_worker belongs in a unit of kind authority"),
])
def test_a_unit_of_the_wrong_kind_fails(runner, make, role, unit_kind, message):
    make.unit(unit_kind, name="Enheten")
    before = counts()
    result = run(runner, "create-user", "--username", "new", "--name", "New", "--role", role, "--unit", "Enheten")
    assert result.exit_code == 2
    assert message in result.output
    assert counts() == before


def test_an_unknown_unit_fails(runner, make):
    make.unit("open_care", name="Öppenvården")
    before = counts()
    result = run(runner, "create-user", "--username", "bo", "--name", "Bo", "--role", "therapist",
                 "--unit", "Finns inte")
    assert result.exit_code == 2
    assert "no unit named 'Finns inte'" in result.output
    assert counts() == before


def test_a_unit_in_another_organisation_is_unknown(runner, make):
    make.unit("open_care", name="Öppenvården")  # in Testkommun
    result = run(runner, "create-user", "--username", "bo", "--name", "Bo", "--role", "therapist",
                 "--unit", "Öppenvården", "--organisation", "Annan kommun")
    assert result.exit_code == 2
    assert "no unit named 'Öppenvården' in Annan kommun" in result.output
    # the failed command leaves nothing behind, not even the organisation it would have created
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Annan kommun")) is None
    assert db.session.scalar(select(User).where(User.username == "bo")) is None


def test_a_therapist_needs_a_unit(runner, make):
    make.org()
    result = run(runner, "create-user", "--username", "bo", "--name", "Bo", "--role", "therapist")
    assert result.exit_code == 2
    assert "need --unit" in result.output
    assert counts()["User"] == 0


def test_an_unknown_role_is_refused(runner, make):
    make.org()
    result = run(runner, "create-user", "--username", "x", "--name", "X", "--role", "superuser")
    assert result.exit_code == 2
    assert counts()["User"] == 0

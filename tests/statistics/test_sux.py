"""SU-X 2021 files: parsing, import (all or nothing, or skipping bad rows), the pseudonymised export,
the round trip, the command line and who may use the pages."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Closure, Organisation, Problem, Rating, RatingRound, Unit, User
from kidrate.red_thread import cases
from kidrate.statistics import sux
from kidrate.statistics.report import ReportFilters, compute_tables
from kidrate.statistics.sux_import import ImportRefused, export_sux, import_sux

from ..conftest import csrf_token, post_form, sign_in

HEADER = ",".join(sux.COLUMNS)
GOOD = "\n".join([
    HEADER,
    "BOU-1,9,girl,sweden_both_parents_sweden,2023-01-10,2023-02-01,no,violence_abuse,parenting,,traditional,"
    "2023-08-30,goals_met",
    "BOU-2,14,boy,outside_europe,2023-03-01,2023-03-15,once,school,behaviour,criminality,"
    "manual_based;other,2024-01-15,child_interrupted",
    "BOU-3,4,other,,,,,family_relations,,,,2023-05-05,other",
    "",
])
SECRET_KEY = "test-secret-" + "x" * 40


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def org_and_unit(make):
    unit = make.unit("authority", "Utredning")
    make.user("admin", username="admin")
    return make.org().id, unit.id


# --- Parsing ---------------------------------------------------------------------------------------


def test_a_good_file_parses():
    rows, errors = sux.parse_sux_csv("\ufeff" + GOOD)
    assert errors == []
    assert [r.line for r in rows] == [2, 3, 4]
    first, second, third = rows
    assert (first.case_ref, first.age, first.gender, first.born) == ("BOU-1", 9, "girl", "sweden_both_parents_sweden")
    assert (first.referred_on, first.started_on, first.closed_on) == (date(2023, 1, 10), date(2023, 2, 1),
                                                                      date(2023, 8, 30))
    assert first.problem_areas == ("violence_abuse", "parenting")
    assert second.intervention_types == ("manual_based", "other")
    assert second.problem_areas == ("school", "behaviour", "criminality")
    assert (third.born, third.referred_on, third.started_on, third.earlier_episodes) == (None, None, None, None)
    assert third.intervention_types == ()


BAD = "\n".join([
    HEADER,
    "BOU-1,9,girl,,2023-01-10,2023-02-01,no,violence_abuse,,,traditional,2023-08-30,goals_met",  # good
    "BOU-2,21,girl,,,,,parenting,,,,2023-08-30,goals_met",  # age
    "BOU-3,9,robot,,,,,parenting,,,,2023-08-30,goals_met",  # gender
    "BOU-4,9,girl,,2023-13-01,,,parenting,,,,2023-08-30,goals_met",  # date
    "BOU-5,9,girl,,2023-05-01,2023-04-01,,parenting,,,,2023-08-30,goals_met",  # started before referred
    "BOU-6,9,girl,,,,,parenting,parenting,,,2023-08-30,goals_met",  # repeated area
    "BOU-7,9,girl,,,,,,,,,2023-08-30,goals_met",  # no area
    "BOU-8,9,girl,,,,,parenting,,,traditional;magic,2023-08-30,finished",  # type and reason
    "BOU-9,9,girl,,,,,parenting,,,,2023-08-30",  # a field missing
    "BOU-10,9,girl,,,2023-09-01,,parenting,,,,2023-08-30,goals_met",  # closed before started
    ",x,girl,,,,,parenting,,,,,goals_met",  # ref, age, closed_on
])


def test_a_bad_file_lists_every_error_with_its_line_and_column():
    rows, errors = sux.parse_sux_csv(BAD)
    assert [r.case_ref for r in rows] == ["BOU-1"]
    found = {(e.line, e.column) for e in errors}
    assert found == {
        (3, "age"), (4, "gender"), (5, "referred_on"), (6, "started_on"), (7, "problem_area_2"),
        (8, "problem_area_1"), (9, "intervention_types"), (9, "closure_reason"), (10, None), (11, "closed_on"),
        (12, "case_ref"), (12, "age"), (12, "closed_on"),
    }
    messages = {(e.line, e.column): str(e) for e in errors}
    assert messages[(3, "age")].startswith("Line 3 (age): ")
    assert "0 to 20" in messages[(3, "age")]
    assert "'robot'" in messages[(4, "gender")]
    assert "YYYY-MM-DD" in messages[(5, "referred_on")]
    assert "before referred_on" in messages[(6, "started_on")]
    assert "Expected 13 fields, found 12" in messages[(10, None)]


@pytest.mark.parametrize("text", ["", "case_ref,age\nBOU-1,9\n", HEADER.replace("age", "alder") + "\n"])
def test_a_wrong_header_is_one_error_on_line_1(text):
    rows, errors = sux.parse_sux_csv(text)
    assert rows == [] and len(errors) == 1 and errors[0].line == 1


def test_broken_quotes_are_an_error_not_a_crash():
    rows, errors = sux.parse_sux_csv(HEADER + '\n"BOU-1,9,girl\n')
    assert rows == [] and errors


def test_pseudonyms_are_keyed_per_organisation():
    key_1, key_2 = sux.organisation_key(SECRET_KEY, 1), sux.organisation_key(SECRET_KEY, 2)
    assert sux.pseudonym("BOU-1", key_1) == sux.pseudonym("BOU-1", sux.organisation_key(SECRET_KEY, 1))
    assert sux.pseudonym("BOU-1", key_1) != sux.pseudonym("BOU-1", key_2)
    assert sux.pseudonym("BOU-1", key_1) != sux.pseudonym("BOU-2", key_1)
    assert sux.pseudonym("BOU-1", key_1) != sux.pseudonym("BOU-1", sux.organisation_key("another" * 8, 1))
    value = sux.pseudonym("BOU-1", key_1)
    assert len(value) == 16 and int(value, 16) >= 0 and "BOU" not in value


def test_dates_are_swedish_calendar_dates():
    for day in (date(2023, 1, 1), date(2023, 6, 30), date(2023, 12, 31)):
        assert sux.local_date(sux.closed_at_for(day)) == day


# --- Import ----------------------------------------------------------------------------------------


def test_a_good_file_imports(app, make):
    org_id, unit_id = org_and_unit(make)
    result = import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    assert (result.imported, result.errors) == (3, [])
    assert count(Case) == 3 and count(Problem) == 6 and count(Closure) == 3
    assert count(RatingRound) == 9 and count(Rating) == 0
    case = db.session.scalar(select(Case).where(Case.case_ref == "BOU-2"))
    assert (case.status, case.imported, case.organisation_id, case.authority_unit_id) == ("closed", True, org_id,
                                                                                          unit_id)
    assert (case.age, case.gender, case.born, case.earlier_episodes) == (14, "boy", "outside_europe", "once")
    assert (case.referred_on, case.started_on) == (date(2023, 3, 1), date(2023, 3, 15))
    assert sux.local_date(case.closed_at) == date(2024, 1, 15)
    assert case.intervention_types == ["manual_based", "other"]
    assert [(p.source, p.words, p.category) for p in case.problems] == [
        ("imported", "", "school"), ("imported", "", "behaviour"), ("imported", "", "criminality")]
    assert (case.closure.reason, case.closure.concern_remaining, case.closure.participation) == (
        "child_interrupted", False, {})
    assert [r.kind for r in case.rounds_in_order()] == ["start", "follow_up", "closure"]
    assert all(r.submission is None for r in case.rounds)
    assert case.social_worker.username == "admin"  # no social worker in the unit: the admin


def test_a_bad_file_stores_nothing(app, make):
    org_id, unit_id = org_and_unit(make)
    result = import_sux(db.session, BAD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    assert result.imported == 0
    assert result.bad_lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert count(Case) == 0 and count(Problem) == 0


def test_skip_bad_imports_the_good_rows(app, make):
    org_id, unit_id = org_and_unit(make)
    result = import_sux(db.session, BAD, organisation_id=org_id, unit_id=unit_id, skip_bad=True)
    db.session.commit()
    assert result.imported == 1 and len(result.bad_lines) == 10
    assert db.session.scalars(select(Case.case_ref)).all() == ["BOU-1"]


def test_importing_the_same_file_twice_is_refused(app, make):
    org_id, unit_id = org_and_unit(make)
    import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    again = import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    assert again.imported == 0 and again.bad_lines == [2, 3, 4]
    assert count(Case) == 3


def test_the_unit_must_be_an_authority_unit_of_the_organisation(app, make):
    org_id, _unit_id = org_and_unit(make)
    open_care = make.unit("open_care")
    with pytest.raises(ImportRefused):
        import_sux(db.session, GOOD, organisation_id=org_id, unit_id=open_care.id)
    with pytest.raises(ImportRefused):
        import_sux(db.session, GOOD, organisation_id=org_id + 1, unit_id=_unit_id)
    assert count(Case) == 0


# --- Export and the round trip ---------------------------------------------------------------------


def closed_native_case(make, case_ref="REF-77", **fields):
    sw = make.user("social_worker", username=f"sw-{case_ref}")
    therapist = make.user("therapist", username=f"t-{case_ref}")
    case = make.case(sw, therapist=therapist, case_ref=case_ref, born="europe", referred_on=date(2024, 1, 2),
                     started_on=date(2024, 1, 20), earlier_episodes="several",
                     investigation=("Föräldrarna bråkar.",), **fields)
    case = db.session.get(Case, case.id)
    case.closure = Closure(reason="transferred", concern_remaining=True, concern_text="HEMLIGT",
                           participation={})
    cases.send_handover(db.session, case, db.session.get(User, therapist.id))
    db.session.commit()
    return case


def test_the_export_has_one_row_per_closed_case_and_no_case_reference(app, make):
    case = closed_native_case(make)
    make.case(db.session.get(User, case.social_worker_id), case_ref="REF-OPEN")  # still a draft
    org_id = make.org().id
    text, n = export_sux(db.session, org_id, SECRET_KEY)
    lines = text.splitlines()
    assert n == 1 and lines[0] == HEADER and len(lines) == 2
    assert "REF-77" not in text and "HEMLIGT" not in text and "Pappa" not in text
    values = dict(zip(sux.COLUMNS, lines[1].split(","), strict=True))
    assert values["case_ref"] == sux.pseudonym("REF-77", sux.organisation_key(SECRET_KEY, org_id))
    assert values["problem_area_1"] == "violence_abuse" and values["problem_area_2"] == "parenting"
    assert values["closure_reason"] == "transferred" and values["born"] == "europe"
    assert values["closed_on"] == sux.local_date(case.closed_at).isoformat()


def test_the_export_filters_by_closure_date(app, make):
    org_id, unit_id = org_and_unit(make)
    import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    _text, n = export_sux(db.session, org_id, SECRET_KEY, date(2023, 5, 5), date(2023, 8, 30))
    assert n == 2
    _text, n = export_sux(db.session, org_id, SECRET_KEY, date(2023, 8, 31))
    assert n == 1


CASE_FIELDS = ("age", "gender", "born", "referred_on", "started_on", "earlier_episodes", "intervention_types",
               "status")


def snapshot(case: Case) -> tuple:
    categories = list(dict.fromkeys(p.category for p in case.problems))[:3]
    return (*(getattr(case, f) for f in CASE_FIELDS), sux.local_date(case.closed_at), categories,
            case.closure.reason)


def test_export_then_import_gives_the_same_cases(app, make):
    org_id, unit_id = org_and_unit(make)
    closed_native_case(make)
    import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    key = sux.organisation_key(SECRET_KEY, org_id)
    before = {sux.pseudonym(c.case_ref, key): snapshot(c) for c in db.session.scalars(select(Case))}

    text, _n = export_sux(db.session, org_id, SECRET_KEY)
    other = Organisation(name="FoU-enheten")
    db.session.add(other)
    db.session.flush()
    other_unit = Unit(organisation_id=other.id, name="Import", kind="authority")
    admin = User(organisation_id=other.id, username="fou-admin", display_name="FoU", role="admin")
    db.session.add_all([other_unit, admin])
    db.session.commit()
    result = import_sux(db.session, text, organisation_id=other.id, unit_id=other_unit.id)
    db.session.commit()
    assert result.errors == [] and result.imported == 4
    after = {c.case_ref: snapshot(c) for c in db.session.scalars(select(Case).where(Case.organisation_id == other.id))}
    assert after == before
    # and the group report's tables of the SU-X fields come out the same
    su_x_tables = ("gender", "age_groups", "problem_areas", "duration", "interventions", "closure_reasons",
                   "earlier_episodes")
    with app.test_request_context():
        tables = [{t.key: t.rows for t in compute_tables(db.session, org, ReportFilters()) if t.key in su_x_tables}
                  for org in (org_id, other.id)]
    assert tables[0] == tables[1] and len(tables[0]) == len(su_x_tables)
    # exported again by the R&D unit's organisation, the pseudonyms are new ones
    text_2, _n = export_sux(db.session, other.id, SECRET_KEY)
    assert not set(before) & {line.split(",")[0] for line in text_2.splitlines()[1:]}


# --- Command line ----------------------------------------------------------------------------------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_import_and_export(runner, make, tmp_path):
    org_id, unit_id = org_and_unit(make)
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["import-sux", str(good), "--organisation", str(org_id), "--unit", str(unit_id)])
    assert result.exit_code == 0, result.output
    assert "imported 3 case(s)" in result.output
    assert count(Case) == 3

    result = runner.invoke(args=["export-sux", "--organisation", str(org_id), "--from", "2023-06-01"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == HEADER and len(lines) == 3
    assert "BOU-" not in result.output
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["import_sux", "export_sux"]


def test_cli_rejects_a_bad_file_whole_unless_skip_bad(runner, make, tmp_path):
    org_id, unit_id = org_and_unit(make)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    args = ["import-sux", str(bad), "--organisation", str(org_id), "--unit", str(unit_id)]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    # in the default locale's words: the line numbers and column names are the same in every language
    assert " 3 (age): " in result.output and " 12 (case_ref): " in result.output
    assert "nothing imported" in result.output
    assert count(Case) == 0

    result = runner.invoke(args=[*args, "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "imported 1 case(s), 10 line(s) skipped" in result.output
    assert count(Case) == 1


def test_cli_refuses_unknown_organisations_and_units(runner, make, tmp_path):
    org_id, unit_id = org_and_unit(make)
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["import-sux", str(good), "--organisation", str(org_id + 5), "--unit", str(unit_id)])
    assert result.exit_code == 2
    result = runner.invoke(args=["import-sux", str(good), "--organisation", str(org_id), "--unit", str(unit_id + 5)])
    assert result.exit_code == 2 and "Error" in result.output
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(GOOD.replace("BOU-1", "BOÅ-1").encode("latin-1"))
    result = runner.invoke(args=["import-sux", str(latin1), "--organisation", str(org_id), "--unit", str(unit_id)])
    assert result.exit_code == 2 and "UTF-8" in result.output
    assert count(Case) == 0


# --- The pages -------------------------------------------------------------------------------------


def upload(client, data: bytes, unit_id: int, skip_bad: bool = False, name: str = "sux.csv"):
    page = client.get("/staff/admin/sux")
    form = {"csrf_token": csrf_token(page.text), "unit": str(unit_id), "file": (io.BytesIO(data), name)}
    if skip_bad:
        form["skip_bad"] = "y"
    return client.post("/staff/admin/sux", data=form, content_type="multipart/form-data")


def test_admin_uploads_a_good_file(app, make, client):
    _org_id, unit_id = org_and_unit(make)
    sign_in(client, "admin")
    response = upload(client, GOOD.encode("utf-8-sig"), unit_id)
    assert response.status_code == 302
    assert "3 case(s) imported" in client.get(response.headers["Location"]).text
    assert count(Case) == 3
    assert db.session.scalar(select(AuditEvent.target).where(AuditEvent.action == "import_sux")) == (
        f"unit:{unit_id}:3")


def test_admin_upload_of_a_bad_file_shows_errors_by_line(app, make, client):
    _org_id, unit_id = org_and_unit(make)
    sign_in(client, "admin")
    response = upload(client, BAD.encode(), unit_id)
    assert response.status_code == 400
    assert "Nothing was imported" in response.text
    assert "Line 3 (age)" in response.text and "Line 12 (closed_on)" in response.text
    assert count(Case) == 0

    response = upload(client, BAD.encode(), unit_id, skip_bad=True)
    assert response.status_code == 200
    assert "1 case(s) imported" in response.text and "Line 4 (gender)" in response.text
    assert count(Case) == 1


@pytest.mark.parametrize("data", [b"\xff\xfe not utf-8", b"", b"just,some,text\n"])
def test_admin_upload_of_unreadable_files_is_a_clear_400(app, make, client, data):
    _org_id, unit_id = org_and_unit(make)
    sign_in(client, "admin")
    response = upload(client, data, unit_id)
    assert response.status_code == 400
    assert 'class="error"' in response.text
    assert count(Case) == 0


def test_admin_upload_to_a_unit_that_is_not_ours_is_refused(app, make, client):
    _org_id, _unit_id = org_and_unit(make)
    open_care = make.unit("open_care")
    sign_in(client, "admin")
    assert upload(client, GOOD.encode(), open_care.id).status_code == 400
    assert upload(client, GOOD.encode(), 999_999_999_999).status_code == 400
    assert count(Case) == 0


def test_a_file_over_5_mb_is_refused(app, make, client):
    _org_id, unit_id = org_and_unit(make)
    sign_in(client, "admin")
    response = upload(client, (GOOD + "\n" * (5 * 1024 * 1024)).encode(), unit_id)
    assert response.status_code in (400, 413)
    assert count(Case) == 0


def test_analyst_downloads_the_export(app, make, client):
    closed_native_case(make)
    make.user("analyst", username="analyst", may_export_records=True)
    sign_in(client, "analyst")
    assert client.get("/staff/sux").status_code == 200
    response = client.get("/staff/sux/export.csv?from=2000-01-01")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER and len(text.splitlines()) == 2 and "REF-77" not in text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_sux"))
    assert event is not None and event.target.endswith(":1")


@pytest.mark.parametrize("query", ["from=yesterday", "to=2024-02-30", "from=2024-05-01&to=2024-04-01",
                                   "from=20240101"])
def test_bad_export_dates_are_a_clear_400(app, make, client, query):
    make.user("analyst", username="analyst", may_export_records=True)
    sign_in(client, "analyst")
    response = client.get(f"/staff/sux/export.csv?{query}")
    assert response.status_code == 400 and 'class="error"' in response.text
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_sux")) is None


def test_the_export_holds_only_the_own_organisations_cases(app, make, client):
    closed_native_case(make)
    other = Organisation(name="Annan kommun")
    db.session.add(other)
    db.session.flush()
    db.session.add(User(organisation_id=other.id, username="other-analyst", display_name="A", role="analyst",
                        may_export_records=True, password_hash=db.session.scalar(select(User.password_hash).limit(1))))
    db.session.commit()
    sign_in(client, "other-analyst")
    text = client.get("/staff/sux/export.csv").data.decode("utf-8-sig")
    assert text.splitlines() == [HEADER]


@pytest.mark.parametrize("role", ["social_worker", "therapist", "analyst"])
def test_only_admins_import(app, make, client, role):
    _org_id, unit_id = org_and_unit(make)
    make.user(role, username="someone")
    sign_in(client, "someone")
    assert client.get("/staff/admin/sux").status_code == 403
    token = csrf_token(client.get("/staff/profile").text)
    response = client.post("/staff/admin/sux", data={"csrf_token": token, "unit": str(unit_id),
                                                     "file": (io.BytesIO(GOOD.encode()), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert count(Case) == 0


@pytest.mark.parametrize("role", ["social_worker", "therapist"])
def test_case_workers_do_not_export(app, make, client, role):
    make.user(role, username="someone")
    sign_in(client, "someone")
    assert client.get("/staff/sux").status_code == 403
    assert client.get("/staff/sux/export.csv").status_code == 403


def test_an_imported_case_opens_for_its_units_social_worker(app, make, client):
    org_id, unit_id = org_and_unit(make)
    make.user("social_worker", db.session.get(Unit, unit_id), username="sw")
    import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    case_id = db.session.scalar(select(Case.id).where(Case.case_ref == "BOU-2"))
    sign_in(client, "sw")
    page = client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200 and "BOU-2" in page.text


def test_post_form_helper_works_for_the_import_page(app, make, client):
    _org_id, unit_id = org_and_unit(make)
    sign_in(client, "admin")
    response = post_form(client, "/staff/admin/sux", "/staff/admin/sux", {"unit": str(unit_id)})
    assert response.status_code == 400  # no file chosen
    assert "Choose a file." in response.text


def test_a_returning_childs_new_case_shows_with_an_imported_earlier_case(app, make, client):
    org_id, unit_id = org_and_unit(make)
    sw = make.user("social_worker", db.session.get(Unit, unit_id), username="sw")
    import_sux(db.session, GOOD, organisation_id=org_id, unit_id=unit_id)
    db.session.commit()
    case = make.case(sw, case_ref="BOU-1")
    sign_in(client, "sw")
    assert client.get(f"/staff/cases/{case.id}").status_code == 200
    assert client.get("/staff/cases?q=BOU-1").status_code == 200

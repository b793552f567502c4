"""The audit log: every event carries its organisation; the log is append-only (an ORM guard, and no
code outside retention that updates or deletes it); auditors and admins read their own
organisation's log, filtered, a page at a time and as CSV, and that reading is itself logged."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, Organisation, Unit, User
from kidrate.protection.access import audit
from kidrate.protection.audit import ACTIONS, AuditLogIsAppendOnly, parse_filters, parse_page

from ..conftest import post_form, sign_in

KIDRATE = PROJECT_ROOT / "kidrate"
T0 = datetime(2026, 3, 10, 12, 0)  # naive UTC, as stored


@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    auditor = make.user("auditor", username="auditor")
    admin = make.user("admin", username="admin")
    analyst = make.user("analyst", username="analyst")
    case = make.case(sw, therapist=t, case_ref="REF-A1")
    other_case = make.case(sw, therapist=t, case_ref="REF-B2")
    org_id = make.org().id
    other = Organisation(name="Annan kommun")
    db.session.add(other)
    db.session.flush()
    other_unit = Unit(organisation_id=other.id, name="Annan enhet", kind="authority")
    db.session.add(other_unit)
    db.session.flush()
    outsider = User(organisation_id=other.id, unit_id=other_unit.id, username="outsider_sw", display_name="Utsocken",
                    role="social_worker", password_hash=db.session.get(User, sw.id).password_hash, locale="en")
    other_auditor = User(organisation_id=other.id, username="other_auditor", display_name="Granskare B",
                         role="auditor", password_hash=outsider.password_hash, locale="en")
    db.session.add_all([outsider, other_auditor])
    db.session.flush()
    outsider_case = Case(organisation_id=other.id, case_ref="REF-A1", status="draft", age=9, gender="boy",
                         child_language="sv", authority_unit_id=other_unit.id, social_worker_id=outsider.id)
    db.session.add(outsider_case)
    db.session.flush()
    events = [
        # (at, organisation, user, action, case, target)
        (T0, org_id, sw.id, "view_case", case.id, None),
        (T0 + timedelta(days=1), org_id, t.id, "issue_link", case.id, "start:link:1"),
        (T0 + timedelta(days=2), org_id, t.id, "view_case", other_case.id, None),
        (T0 + timedelta(days=3), org_id, admin.id, "create_user", None, f"user:{sw.id}"),
        (T0 + timedelta(days=3), other.id, outsider.id, "view_case", outsider_case.id, "OUTSIDER-EVENT"),
        (T0 + timedelta(days=4), None, None, "sign_in_failed", None, "NO-ORGANISATION"),
    ]
    db.session.add_all([AuditEvent(at=at, organisation_id=o, user_id=u, action=a, case_id=c, target=x)
                        for at, o, u, a, c, x in events])
    db.session.commit()
    return {"org_id": org_id, "other_id": other.id, "case": case.id, "other_case": other_case.id,
            "sw": sw.id, "t": t.id, "admin": admin.id, "auditor": auditor.id, "analyst": analyst.id,
            "outsider": outsider.id}


def client_for(app, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def shown_targets(page_text: str) -> list[str]:
    return re.findall(r"<td>([^<]*)</td>\s*</tr>", page_text)


# --- security.audit fills in the organisation ---------------------------------------------------------


def test_an_event_carries_the_organisation_of_the_signed_in_user(app, world):
    client = client_for(app, "sw")
    assert client.get(f"/staff/cases/{world['case']}").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view_case")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert event.organisation_id == world["org_id"] and event.user_id == world["sw"]
    signed_in = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in"))
    assert signed_in.organisation_id == world["org_id"]  # from the user given: no one is signed in yet


def test_an_event_without_a_user_takes_the_case_s_organisation_or_none(app, world):
    with app.test_request_context():
        audit("view_case", user_id=world["outsider"])
        audit("purge", case_id=world["case"])
        audit("purge")
        db.session.commit()
    rows = db.session.execute(select(AuditEvent.user_id, AuditEvent.case_id, AuditEvent.organisation_id)
                              .order_by(AuditEvent.id.desc()).limit(3)).all()
    assert rows == [(None, None, None), (None, world["case"], world["org_id"]),
                    (world["outsider"], None, world["other_id"])]


def test_a_failed_sign_in_of_a_known_user_is_in_that_organisation_s_log(app, world):
    client = app.test_client()
    sign_in(client, "sw", "wrong password entirely")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sign_in_failed",
                                                       AuditEvent.user_id == world["sw"]))
    assert event is not None and event.organisation_id == world["org_id"]


def test_the_closure_page_is_a_read_of_the_case_and_is_logged(app, world):
    client = client_for(app, "t")
    assert client.get(f"/staff/cases/{world['case']}/closure").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view_closure"))
    assert (event.case_id, event.user_id, event.organisation_id) == (world["case"], world["t"], world["org_id"])


def test_every_action_written_by_the_code_has_a_label():
    written = set()
    for path in KIDRATE.rglob("*.py"):
        source = path.read_text()
        written |= set(re.findall(r"\baudit\(\s*\"([a-z_]+)\"", source))
        written |= set(re.findall(r"AuditEvent\([^)]*action=\"([a-z_]+)\"", source))
    assert written, "no audit calls found"
    assert written <= set(ACTIONS), sorted(written - set(ACTIONS))


# --- Append-only ------------------------------------------------------------------------------------


def test_the_guard_refuses_to_change_or_delete_an_event(app, world):
    session: Session = db.session
    event = session.scalar(select(AuditEvent).order_by(AuditEvent.id))
    event.target = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        session.execute(update(AuditEvent).values(target="rewritten"))
    session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        session.execute(delete(AuditEvent))
    session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        session.execute(delete(AuditEvent.__table__))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 6
    assert session.scalar(select(AuditEvent.target).where(AuditEvent.id == event.id)) is None


def test_the_guard_lets_new_events_in(app, world):
    db.session.add(AuditEvent(action="view_audit", organisation_id=world["org_id"]))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 7


# Statements that would change or remove audit rows: SQL text, Core/ORM constructs, the table's own methods.
WRITES_TO_AUDIT = [
    re.compile(r"\b(UPDATE|DELETE\s+FROM)\s+[\"'`]?audit_event\b", re.IGNORECASE),
    re.compile(r"\b(update|delete)\(\s*(AuditEvent|audit_table|[\w.]*audit_event)\b"),
    re.compile(r"AuditEvent\.__table__\.(update|delete)\("),
    re.compile(r"\bTRUNCATE\b[^\n]*audit_event", re.IGNORECASE),
]


def test_no_code_outside_retention_updates_or_deletes_audit_events():
    offenders = []
    for path in sorted(KIDRATE.rglob("*")):
        if path.suffix not in {".py", ".sql", ".html"} or path.name == "retention.py":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if any(pattern.search(line) for pattern in WRITES_TO_AUDIT):
                offenders.append(f"{path.relative_to(KIDRATE.parent)}:{number}: {line.strip()}")
    assert offenders == []
    # The scan does find such a statement (so that the test is not vacuous).
    retention = (KIDRATE / "protection" / "retention.py").read_text()
    assert any(pattern.search(retention) for pattern in WRITES_TO_AUDIT)


# --- Who may read the log --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_and_admins_read_their_own_organisation_s_log(app, world, who):
    client = client_for(app, who)
    page = client.get("/staff/audit")
    assert page.status_code == 200
    assert "REF-A1" in page.text and "REF-B2" in page.text and "Case viewed" in page.text
    assert "OUTSIDER-EVENT" not in page.text and "NO-ORGANISATION" not in page.text
    assert "Utsocken" not in page.text and "outsider_sw" not in page.text  # nor another organisation's people
    seen = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view_audit"))
    assert (seen.user_id, seen.organisation_id) == (world[who], world["org_id"])


def test_another_organisation_s_auditor_sees_only_theirs(app, world):
    page = client_for(app, "other_auditor").get("/staff/audit")
    assert page.status_code == 200
    assert "OUTSIDER-EVENT" in page.text and "REF-B2" not in page.text and "start:link:1" not in page.text
    csv_text = client_for(app, "other_auditor").get("/staff/audit.csv").data.decode("utf-8-sig")
    assert "OUTSIDER-EVENT" in csv_text and "REF-B2" not in csv_text


@pytest.mark.parametrize("who", ["sw", "t", "analyst"])
def test_other_roles_are_refused(app, world, who):
    client = client_for(app, who)
    assert client.get("/staff/audit").status_code == 403
    assert client.get("/staff/audit.csv").status_code == 403
    assert "/staff/audit" not in client.get("/staff/profile").text


def test_an_auditor_s_home_is_the_audit_log_and_the_menu_has_nothing_else(app, world):
    client = client_for(app, "auditor")
    home = client.get("/staff/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/staff/audit")
    menu = client.get("/staff/audit").text.split("</nav>")[0]
    assert 'href="/staff/audit"' in menu
    assert "/staff/cases" not in menu and "/staff/report" not in menu and "/staff/admin" not in menu
    assert client.get(f"/staff/cases/{world['case']}").status_code == 403
    assert client.get("/staff/report").status_code == 403
    assert client.get("/staff/sux").status_code == 403


def test_the_admin_menu_links_to_the_audit_log(app, world):
    assert 'href="/staff/audit"' in client_for(app, "admin").get("/staff/admin/users").text


# --- Filters -----------------------------------------------------------------------------------------


def test_filters(app, world):
    client = client_for(app, "auditor")

    def targets(**params) -> str:
        page = client.get("/staff/audit", query_string=params)
        assert page.status_code == 200, page.text
        return page.text

    # The targets in words (kidrate/protection/audit_words.py): "start:link:1" and "user:<sw>".
    link = "Rating at start, link no. 1"
    sw = "Staff member: " + db.session.get(User, world["sw"]).display_name
    by_action = targets(action="issue_link")
    assert link in by_action and sw not in by_action
    by_user = targets(user=str(world["admin"]))
    assert sw in by_user and link not in by_user
    by_case = targets(case_ref="REF-A1")
    assert link in by_case and "REF-B2" not in by_case.split("<tbody>")[1]
    by_dates = targets(**{"from": "2026-03-11", "to": "2026-03-12"})
    rows = by_dates.split("<tbody>")[1]
    assert link in rows and "REF-B2" in rows and sw not in rows
    assert rows.count("<tr>") == 2
    # Dates are Swedish calendar days: 00:30 on 11 March in Stockholm is 23:30 UTC on the 10th.
    db.session.add(AuditEvent(at=datetime(2026, 3, 10, 23, 30), organisation_id=world["org_id"], action="sign_in",
                              target="LATE-EVENING"))
    db.session.commit()
    assert "LATE-EVENING" in targets(**{"from": "2026-03-11", "to": "2026-03-11"})
    assert "LATE-EVENING" not in targets(**{"from": "2026-03-10", "to": "2026-03-10"})
    # A case reference of another organisation finds nothing here.
    assert "OUTSIDER-EVENT" not in targets(case_ref="REF-A1")
    # The chosen filters stay chosen on the page.
    page = targets(action="issue_link", user=str(world["t"]))
    assert '<option value="issue_link" selected>' in page
    assert f'<option value="{world["t"]}" selected>' in page


@pytest.mark.parametrize("params, message", [
    ({"from": "2026-13-01"}, "write a date as YYYY-MM-DD"),
    ({"to": "yesterday"}, "write a date as YYYY-MM-DD"),
    ({"from": "2026-03-12", "to": "2026-03-10"}, "The period ends before it begins."),
    ({"action": "drop_table"}, "Choose an action from the list."),
    ({"user": "abc"}, "Choose a person from the list."),
    ({"user": "99999999999999999999"}, "Choose a person from the list."),
    ({"case_ref": "X" * 41}, "A case reference is at most 40 characters."),
    ({"case_ref": "BOU\x00-1"}, "A case reference holds only letters, digits and punctuation."),
    ({"user": "²"}, "Choose a person from the list."),
    ({"from": "٢٠٢٦-٠٣-١٠"}, "write a date as YYYY-MM-DD"),
    ({"page": "²"}, "The page number must be a whole number"),
    ({"page": "0"}, "The page number must be a whole number"),
    ({"page": "-1"}, "The page number must be a whole number"),
    ({"page": "9" * 30}, "The page number must be a whole number"),
    ({"page": "two"}, "The page number must be a whole number"),
])
def test_invalid_filters_get_a_clear_message_and_no_events(app, world, params, message):
    client = client_for(app, "auditor")
    page = client.get("/staff/audit", query_string=params)
    assert page.status_code == 400 and message in page.text
    assert "REF-A1" not in page.text.split("</form>")[-1]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "view_audit")) == 0
    if "page" not in params:
        download = client.get("/staff/audit.csv", query_string=params)
        assert download.status_code == 400 and message in download.text
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "export_audit")) == 0


def test_a_user_of_another_organisation_is_not_a_valid_filter(app, world):
    page = client_for(app, "auditor").get("/staff/audit", query_string={"user": str(world["outsider"])})
    assert page.status_code == 400 and "Choose a person from the list." in page.text


def test_parse_filters_is_pure_and_strips():
    filters, errors = parse_filters({"from": " 2026-01-01 ", "action": "view_case", "user": "5",
                                     "case_ref": " BOU-1 "}, [5])
    assert errors == []
    assert (str(filters.date_from), filters.action, filters.user_id, filters.case_ref) == (
        "2026-01-01", "view_case", 5, "BOU-1")
    assert filters.describe() == "from=2026-01-01 action=view_case user:5 case"  # never the reference itself
    assert parse_page(None) == (1, None) and parse_page("3") == (3, None)


# --- Pages and CSV -------------------------------------------------------------------------------------


def test_a_page_holds_100_events_newest_first(app, world):
    db.session.add_all([AuditEvent(at=T0 + timedelta(days=10, minutes=i), organisation_id=world["org_id"],
                                   action="read_handover", target=f"N{i:03d}") for i in range(150)])
    db.session.commit()
    client = client_for(app, "auditor")
    first = client.get("/staff/audit", query_string={"action": "read_handover"}).text
    found = re.findall(r"<td>(N\d{3})</td>", first)
    assert len(found) == 100 and found[0] == "N149" and found[-1] == "N050"
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "page=2" in first and "action=read_handover" in first  # the next page keeps the filters
    second = client.get("/staff/audit", query_string={"action": "read_handover", "page": "2"}).text
    found = re.findall(r"<td>(N\d{3})</td>", second)
    assert found[0] == "N049" and found[-1] == "N000" and len(found) == 50
    assert 'rel="prev"' in second and 'rel="next"' not in second
    past = client.get("/staff/audit", query_string={"page": "7"})
    assert past.status_code == 200 and "There is no page 7." in past.text


def test_the_csv_holds_the_filtered_events_and_is_logged(app, world):
    client = client_for(app, "auditor")
    response = client.get("/staff/audit.csv", query_string={"case_ref": "REF-A1"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="kidrate-audit.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Time (UTC)", "Action", "Action code"]
    assert [(r[2], r[6], r[7]) for r in rows[1:]] == [("issue_link", "REF-A1", "start:link:1"),
                                                     ("view_case", "REF-A1", "")]
    assert rows[2][0] == "2026-03-10 12:00:00" and rows[2][4] == "sw"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_audit"))
    assert event.user_id == world["auditor"] and event.organisation_id == world["org_id"]
    assert event.target == "case n=2" and "REF-A1" not in event.target


def test_csv_cells_cannot_run_as_formulas(app, world):
    user = db.session.get(User, world["sw"])
    user.display_name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    text = client_for(app, "auditor").get("/staff/audit.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text


def test_an_export_too_large_is_refused(app, world, monkeypatch):
    monkeypatch.setattr("kidrate.protection.audit.EXPORT_MAX", 2)
    response = client_for(app, "auditor").get("/staff/audit.csv")
    assert response.status_code == 400 and "Narrow the filters" in response.text


def test_a_post_to_the_log_is_refused(app, world):
    client = client_for(app, "auditor")
    response = post_form(client, "/staff/audit", "/staff/audit")
    assert response.status_code == 405

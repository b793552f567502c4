"""Retention (kidrate/protection/retention.py, `kidrate purge`): a case closed longer ago than the retention period
loses every word and every trace of the child's answers, keeps what group statistics count (the
report and the SU-X export give the same figures before and after), and says so on its page; audit
events older than their own period go, newer ones stay; a dry run changes nothing."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import column, func, literal_column, or_, select
from sqlalchemy import table as sql_table

from kidrate.extensions import db
from kidrate.models import (
    AuditEvent,
    Base,
    Case,
    ChildLink,
    Closure,
    Problem,
    ProblemAmendment,
    ProblemTranslation,
    Rating,
    RatingRound,
    Recording,
    SafetySignal,
    StaffSession,
    Submission,
    SubmissionTranslation,
    User,
    utcnow,
)
from kidrate.protection.retention import purge, years_before
from kidrate.red_thread import cases
from kidrate.red_thread.rating_summary import refresh_rating_summary
from kidrate.statistics.report import ReportFilters, build_report, compute_tables
from kidrate.statistics.sux_import import export_sux

from ..conftest import csrf_token, sign_in

SECRET = "HEMLIGT-RETENTION-4471"
NOW = utcnow()
LONG_AGO = NOW - timedelta(days=6 * 366)  # past the five years
RECENTLY = NOW - timedelta(days=4 * 365)  # inside them
AUDIT_OLD = NOW - timedelta(days=11 * 366)  # past the ten years of the audit log
AUDIT_KEPT = NOW - timedelta(days=9 * 365)


def _submit(rnd: RatingRound, answers: list[tuple[Problem, int | str]], added_text: str | None) -> Submission:
    link = ChildLink(round_id=rnd.id, token_hash=secrets.token_hex(32), language="sv",
                     expires_at=NOW + timedelta(days=14), used_at=NOW)
    db.session.add(link)
    db.session.flush()
    submission = Submission(round_id=rnd.id, link_id=link.id, added_text=added_text)
    db.session.add(submission)
    db.session.flush()
    for problem, answer in answers:
        value = answer if isinstance(answer, int) else None
        db.session.add(Rating(submission_id=submission.id, problem_id=problem.id,
                              answer="rated" if value is not None else answer, value=value, good_enough=7))
    return submission


def full_case(make, sw, t, ref: str, closed_at: datetime, *, start=(3, 4), closure=(7, 4),
              reason="goals_met", concern=False, gender="girl") -> int:
    """A closed case with every kind of content: the child's words, a translation, a recording,
    goals and comments, three answered rounds, a safety signal, the closure's texts and two
    handover versions (the second correcting the first)."""
    case = make.case(sw, therapist=t, case_ref=ref, words=(f"{SECRET} ett", f"{SECRET} två"),
                     investigation=(f"{SECRET} utredning",), intervention_types=["traditional", "other"],
                     intervention_text=SECRET, family_languages=["ar", "sv"], gender=gender, born="europe",
                     earlier_episodes="once", started_on=(closed_at - timedelta(days=200)).date())
    case = db.session.get(Case, case.id)
    case.scale_view = "faces"
    case.met_child_alone = True
    child = [p for p in case.problems if p.source == "child"]
    for p in case.problems:
        p.category_text = SECRET
        p.worked_with = "focus" if p.source == "child" else None
        p.worked_with_comment = SECRET
        p.goal_attainment = "met"
    db.session.add(ProblemTranslation(problem=child[0], language="ar", words=SECRET))
    db.session.add(ProblemAmendment(problem=child[1], kind="words", reason=SECRET, words_before=SECRET,
                                    words_after=f"{SECRET} två", by_role="therapist"))
    db.session.add(Recording(problem_id=child[0].id, language="so", mime="audio/webm", data=SECRET.encode()))
    start_submission = _submit(case.round("start"), list(zip(child, start, strict=True)), SECRET)
    _submit(case.round("follow_up"), [(child[0], 2), (child[1], "declined")], SECRET)
    _submit(case.round("closure"), list(zip(child, closure, strict=True)), None)
    case.round("follow_up").answered_how = "parent_present"
    case.round("closure").missing_reason = SECRET
    db.session.add(ChildLink(round_id=case.round("closure").id, token_hash=secrets.token_hex(32), language="sv",
                             expires_at=NOW, revoked_at=NOW))
    db.session.flush()
    db.session.add(SafetySignal(case_id=case.id, submission_id=start_submission.id, problem_id=child[0].id,
                                kind="low_violence", value=2, acknowledged_at=NOW, acknowledged_note=SECRET))
    db.session.add(SubmissionTranslation(submission_id=start_submission.id, language="en", text=SECRET))
    refresh_rating_summary(db.session, [p.id for p in case.problems])
    db.session.flush()
    db.session.expire_all()  # the rounds' submissions and links, added by id above
    case = db.session.get(Case, case.id)
    case.closure = Closure(reason=reason, reason_text=SECRET, concern_remaining=concern, concern_text=SECRET,
                           new_problems=SECRET, recommendation=SECRET, unhandled_signals_reason=SECRET,
                           participation={"commissioner": "yes", "follow_up": "partly", "support": "no"})
    therapist = db.session.get(User, t.id)
    cases.send_handover(db.session, case, therapist)
    db.session.flush()
    cases.send_handover(db.session, case, therapist, correction_note=SECRET)
    case.closed_at = closed_at
    # Opened before it closed, so that the case is not counted as its own return.
    case.created_at = case.assigned_at = closed_at - timedelta(days=210)
    db.session.commit()
    return case.id


@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    make.user("analyst", username="analyst")
    old = [full_case(make, sw, t, f"OLD-{i}", LONG_AGO - timedelta(days=i), start=(3 + i % 3, 5),
                     closure=(6 + i % 4, 4 - i % 2), reason=("goals_met", "child_interrupted")[i % 2],
                     concern=i % 3 == 0, gender=("girl", "boy")[i % 2]) for i in range(6)]
    recent = full_case(make, sw, t, "RECENT-1", RECENTLY)
    open_case = make.case(sw, therapist=t, case_ref="OPEN-1", words=(SECRET,), intervention_text=SECRET)
    org_id = make.org().id
    db.session.add_all([
        AuditEvent(organisation_id=org_id, action="view_case", case_id=old[0], at=AUDIT_OLD),
        AuditEvent(organisation_id=None, action="export_sux", at=AUDIT_OLD - timedelta(days=1)),
        AuditEvent(organisation_id=org_id, action="view_case", case_id=old[0], at=AUDIT_KEPT),
    ])
    db.session.commit()
    return {"org_id": org_id, "old": old, "recent": recent, "open": open_case.id, "sw": sw.id, "t": t.id}


def raw(name: str, *conditions) -> list[tuple]:
    """Rows of a table as stored: a typeless table, so that no column type (encryption) reads them."""
    query = select(literal_column("*")).select_from(sql_table(name)).where(*conditions).order_by(column("id"))
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def ids_of(name: str, *conditions):
    return select(column("id")).select_from(sql_table(name)).where(*conditions)


def snapshot() -> dict[str, list]:
    """Every row of every table, as stored."""
    return {table.name: raw(table.name) for table in Base.metadata.sorted_tables}


def figures(app, org_id: int):
    """The report's true numbers (before suppression), the report as shown, and the SU-X export."""
    with app.test_request_context():
        tables = compute_tables(db.session, org_id, ReportFilters())
        shown = build_report(db.session, org_id)
        sux_text, count = export_sux(db.session, org_id, app.config["SECRET_KEY"])
        db.session.rollback()
    as_numbers = [(t.key, [(r.key, r.values) for r in t.rows]) for t in tables]
    as_shown = [(t.key, [(r.key, r.values) for r in t.rows]) for t in shown.tables]
    return as_numbers, as_shown, sux_text, count


def run_purge(dry_run: bool = False):
    result = purge(db.session, NOW, 5, 10, dry_run=dry_run)
    db.session.commit()
    return result


# --- A dry run counts, and changes nothing ---------------------------------------------------------


def test_a_dry_run_counts_and_changes_nothing(world):
    before = snapshot()
    result = run_purge(dry_run=True)
    assert (result.cases, result.audit_events, result.dry_run) == (6, 2, True)
    assert result.per_organisation == {world["org_id"]: (6, 1), None: (0, 1)}
    assert snapshot() == before


# --- Purging removes every bit of content ----------------------------------------------------------


def test_purging_removes_every_word_and_every_answer(world):
    result = run_purge()
    assert (result.cases, result.audit_events, result.dry_run) == (6, 2, False)
    old = world["old"]
    of_cases = column("case_id").in_(old)
    problems = ids_of("problem", of_cases)
    rounds = ids_of("rating_round", of_cases)

    def none_set(*names: str):
        return or_(*[column(n).is_not(None) for n in names])

    # Rows that are content, or traces of the child's answers: gone.
    for name, condition in [("handover", of_cases), ("safety_signal", of_cases),
                            ("problem_translation", column("problem_id").in_(problems)),
                            ("problem_amendment", column("problem_id").in_(problems)),
                            ("recording", column("problem_id").in_(problems)),
                            ("rating", column("problem_id").in_(problems)),
                            ("submission", column("round_id").in_(rounds)),
                            ("submission_translation",
                             column("submission_id").in_(ids_of("submission", column("round_id").in_(rounds)))),
                            ("child_link", column("round_id").in_(rounds))]:
        assert raw(name, condition) == [], name
    # Free text: NULL in the database (a NULL stays NULL when the column is encrypted, too).
    assert raw("case_record", column("id").in_(old), or_(
        none_set("intervention_text", "scale_view", "met_child_alone"), column("purged_at").is_(None))) == []
    assert raw("problem", of_cases, none_set("category_text", "goal", "worked_with_comment", "words_language",
                                             "goal_attainment")) == []
    assert raw("rating_round", of_cases, none_set("missing_reason", "answered_how")) == []
    assert raw("closure", of_cases, none_set("reason_text", "concern_text", "new_problems", "recommendation",
                                             "unhandled_signals_reason")) == []
    # What statistics count: still there.
    assert len(raw("rating_round", of_cases)) == 3 * len(old)
    assert len(raw("problem", of_cases)) == 3 * len(old)
    assert len(raw("problem", of_cases, column("source") == "child", column("start_rating").is_not(None),
                   column("closure_rating").is_not(None))) == 2 * len(old)
    assert len(raw("closure", of_cases, column("reason").is_not(None))) == len(old)
    # Columns that cannot be NULL (and may be encrypted): read through the models.
    db.session.expire_all()
    for case in db.session.scalars(select(Case).where(Case.id.in_(old))):
        assert case.family_languages == [] and case.purged_at == NOW
        assert case.case_ref.startswith("OLD-") and case.intervention_types == ["traditional", "other"]
        assert case.born == "europe" and case.earlier_episodes == "once" and case.started_on is not None
        assert [p.words for p in case.problems] == ["", "", ""]
        assert {p.category for p in case.problems} == {"violence_abuse", "parenting"}
        assert case.closure.participation == {} and case.closure.reason in ("goals_met", "child_interrupted")
    # Nowhere in what is stored for these cases (a check that matters where columns are not encrypted).
    assert SECRET not in repr(stored_for_cases(old))


def stored_for_cases(case_ids: list[int]) -> dict[str, list]:
    """Every stored row that belongs to the cases, in every table that holds any."""
    of_cases = column("case_id").in_(case_ids)
    problems = column("problem_id").in_(ids_of("problem", of_cases))
    rounds = column("round_id").in_(ids_of("rating_round", of_cases))
    where = {"case_record": column("id").in_(case_ids), "problem": of_cases, "rating_round": of_cases,
             "closure": of_cases, "handover": of_cases, "safety_signal": of_cases, "audit_event": of_cases,
             "problem_translation": problems, "problem_amendment": problems, "recording": problems,
             "rating": problems, "submission": rounds, "child_link": rounds}
    return {name: raw(name, condition) for name, condition in where.items()}


def test_the_report_and_the_su_x_export_give_the_same_figures(app, world):
    before = figures(app, world["org_id"])
    assert before[3] == 7  # six old closed cases and the recent one
    run_purge()
    after = figures(app, world["org_id"])
    assert after == before


def test_a_case_closed_inside_the_period_and_an_open_case_are_untouched(world):
    def rows_of(case_ids):
        every = snapshot()
        keep = set(case_ids)
        problem_ids = {r[0] for r in every["problem"] if r[1] in keep}
        return ([r for r in every["case_record"] if r[0] in keep], [r for r in every["problem"] if r[0] in problem_ids],
                [r for r in every["handover"] if r[1] in keep])

    untouched = [world["recent"], world["open"]]
    before = rows_of(untouched)
    run_purge()
    assert rows_of(untouched) == before
    recent = db.session.get(Case, world["recent"])
    assert recent.purged_at is None and recent.handovers and recent.closure.reason_text == SECRET
    assert any(SECRET in p.words for p in recent.problems)


def test_purging_twice_purges_nothing_more(world):
    first = run_purge()
    after_first = snapshot()
    second = run_purge()
    assert (first.cases, second.cases, second.audit_events) == (6, 0, 0)
    assert snapshot() == after_first


def test_old_audit_events_go_and_newer_ones_stay(world):
    run_purge()
    left = db.session.scalars(select(AuditEvent.at)).all()
    assert left == [AUDIT_KEPT]


def test_years_before_keeps_the_date_and_handles_leap_days():
    assert years_before(datetime(2030, 6, 1, 12, 30), 5) == datetime(2025, 6, 1, 12, 30)
    assert years_before(datetime(2028, 2, 29, 8, 0), 5) == datetime(2023, 2, 28, 8, 0)


# --- The command line ---------------------------------------------------------------------------------


def test_the_command_prints_counts_only_and_audits_a_real_purge(app, world):
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would purge 6 case(s)" in dry.output and "2 audit event(s)" in dry.output
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "purge")) == 0
    assert db.session.scalar(select(func.count()).where(Case.purged_at.is_not(None))) == 0

    real = runner.invoke(args=["purge"])
    assert real.exit_code == 0, real.output
    assert real.output.strip() == "purged 6 case(s), removed 2 audit event(s)"
    assert SECRET not in real.output and "OLD-" not in real.output
    events = db.session.execute(select(AuditEvent.organisation_id, AuditEvent.user_id, AuditEvent.case_id,
                                       AuditEvent.target).where(AuditEvent.action == "purge")
                                .order_by(AuditEvent.id)).all()
    assert sorted(events, key=lambda e: e[0] or 0) == [
        (None, None, None, "0 cases, 1 audit events"), (world["org_id"], None, None, "6 cases, 1 audit events")]

    again = runner.invoke(args=["purge"])
    assert again.output.strip() == "purged 0 case(s), removed 0 audit event(s)"
    assert db.session.scalar(select(AuditEvent.target).where(AuditEvent.action == "purge")
                             .order_by(AuditEvent.id.desc()).limit(1)) == "0 cases, 0 audit events"


# --- A purged case on the staff pages -----------------------------------------------------------------


def test_the_case_page_says_the_content_was_removed(app, world):
    run_purge()
    case_id = world["old"][0]
    for who in ("sw", "t"):
        client = app.test_client()
        sign_in(client, who)
        page = client.get(f"/staff/cases/{case_id}")
        assert page.status_code == 200, who
        assert "removed by retention" in page.text and SECRET not in page.text
        assert "Subjected to violence/abuse" in page.text  # the problem areas stay
        assert client.get(f"/staff/cases/{case_id}/handovers/1").status_code == 404
        assert client.get(f"/staff/cases/{case_id}/assignment.json").status_code == 404
    client = app.test_client()
    sign_in(client, "t")
    for url in (f"/staff/cases/{case_id}/closure", f"/staff/cases/{case_id}/together"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/cases/{case_id}")
    page = client.get(f"/staff/cases/{case_id}")
    assert "removed by retention" in page.text
    # Posting a correction or a round's record stores nothing.
    token = csrf_token(page.text)
    assert client.post(f"/staff/cases/{case_id}/handover", data={"csrf_token": token, "note": "x"}).status_code == 302
    client.post(f"/staff/cases/{case_id}/rounds/start/answered",
                data={"csrf_token": token, "answered_how": "alone", "missing_reason": SECRET})
    client.post(f"/staff/cases/{case_id}/met-alone", data={"csrf_token": token, "met_alone": "yes"})
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.handovers == [] and case.round("start").missing_reason is None and case.met_child_alone is None


def test_a_returning_child_with_a_purged_earlier_case(app, world, make):
    run_purge()
    sw = db.session.get(User, world["sw"])
    new = make.case(sw, case_ref="OLD-0", words=("Nytt",))
    client = app.test_client()
    sign_in(client, "sw")
    page = client.get(f"/staff/cases/{new.id}")
    assert page.status_code == 200 and SECRET not in page.text
    assert "This child has been here before" in page.text


def test_the_analyst_report_page_still_works_after_purging(app, world):
    run_purge()
    client = app.test_client()
    sign_in(client, "analyst")
    page = client.get("/staff/report")
    assert page.status_code == 200 and SECRET not in page.text



# --- Staff sessions ----------------------------------------------------------------------------------


def test_sessions_over_for_a_month_are_removed_and_live_ones_kept(app, make):
    user = make.user("therapist")
    now = utcnow()
    rows = {
        "ended_long_ago": StaffSession(user_id=user.id, token_hash="a" * 64, created_at=now - timedelta(days=40),
                                       last_seen_at=now - timedelta(days=40), ended_at=now - timedelta(days=31)),
        "idle_long_ago": StaffSession(user_id=user.id, token_hash="b" * 64, created_at=now - timedelta(days=40),
                                      last_seen_at=now - timedelta(days=31)),
        "ended_lately": StaffSession(user_id=user.id, token_hash="c" * 64, created_at=now - timedelta(days=40),
                                     last_seen_at=now - timedelta(days=40), ended_at=now - timedelta(days=2)),
        "live": StaffSession(user_id=user.id, token_hash="d" * 64, last_seen_at=now),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert "2 ended staff session(s)" in dry.output
    assert db.session.scalar(select(func.count(StaffSession.id))) == 4
    real = runner.invoke(args=["purge"])
    assert "removed 2 staff session(s) over for more than 30 days" in real.output
    db.session.remove()
    assert sorted(db.session.scalars(select(StaffSession.token_hash))) == ["c" * 64, "d" * 64]

"""The group report at national scale: how long build_report takes over 100 000 closed cases.

Generates, deterministically (a fixed seed), an organisation's 100 000 closed cases with 4 problems in
the child's words each and all three rating rounds answered (1.2 M ratings), with distributions loosely
from the seeds: gender about 50/50, ages 0–17 weighted to 6–14, problem categories weighted as in
003 table X.1, intervention types, closure reasons as in 004 table 3, about one case in twelve a
returning child (an earlier case reference). The rows go straight in with Core bulk inserts (lists of
dicts, in chunks), into
  - a temporary SQLite file, and
  - the PostgreSQL database `scratch` (KIDRATE_BENCH_PG_URL, default
    postgresql+psycopg://postgres@127.0.0.1:5432/scratch): every table dropped and created again. When
    the database does not exist, the run creates it and drops it again at the end; it never drops a
    database it did not create.
After the load, kidrate.rating_summary copies the ratings onto the problems, as each child's
submission does (timed and printed apart). Then it times kidrate.report.build_report (median of 3 runs
after one warm-up) on each, against the budget (PostgreSQL < 2 s, SQLite < 5 s), with its ratio to one
raw `SELECT count(*) FROM rating` measured in the same run.

    .venv/bin/python bench/report.py [--cases 100000] [--skip-postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from kidrate.models import (
    Base,
    Case,
    ChildLink,
    Closure,
    Organisation,
    Problem,
    Rating,
    RatingRound,
    Submission,
    Unit,
    User,
)
from kidrate.protection import crypto
from kidrate.red_thread.rating_summary import refresh_rating_summary
from kidrate.statistics.report import ReportFilters, build_report

SEED = 20261123
BUDGET_S = {"postgresql": 2.0, "sqlite": 5.0}
PG_URL = os.environ.get("KIDRATE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/scratch")
CHUNK = 20_000
PROBLEMS_PER_CASE = 4
ROUNDS = ("start", "follow_up", "closure")
# The child's words are encrypted at rest like any other (a fresh data key per run): rows as wide as
# in production. Invented phrases, in the length children's problems usually have.
WORDS = ("Mamma och pappa bråkar hela tiden", "Jag har inga kompisar i skolan", "Pappa dricker på helgerna",
         "Jag får inte sova när de skriker", "Jag är rädd när han kommer hem", "Ingen lyssnar på mig")

# 003 table X.1 (total occurrences; "parent's mental ill-health/intellectual disability" split 4:1).
CATEGORY_WEIGHTS = {
    "parenting": 122, "family_relations": 64, "parent_substance_abuse": 42, "violence_abuse": 38,
    "family_violence": 34, "child_mental_health": 33, "school": 27, "parent_mental_health": 20,
    "substance_abuse": 17, "behaviour": 17, "criminality": 6, "parent_intellectual_disability": 5,
    "honour_violence": 1, "other": 8,
}
# 004 table 3 (n = 3 256), plus a few never started.
CLOSURE_WEIGHTS = {
    "goals_met": 1593, "guardian_interrupted": 814, "other": 504, "transferred": 230,
    "no_capacity_for_change": 223, "child_interrupted": 215, "not_meeting_needs": 205, "never_started": 30,
}
INTERVENTION_WEIGHTS = {
    ("traditional",): 55, ("manual_based",): 18, ("traditional", "manual_based"): 10, ("crisis_support",): 7,
    ("other",): 6, ("traditional", "other"): 4,
}
GENDER_WEIGHTS = {"girl": 495, "boy": 495, "other": 7, "not_stated": 3}
# Ages 0–17, weighted to 6–14.
AGE_WEIGHTS = [2, 2, 3, 4, 4, 5, 8, 9, 10, 10, 10, 10, 10, 9, 8, 6, 4, 3]
BORN_WEIGHTS = {"sweden_both_parents_sweden": 45, "sweden_one_parent_abroad": 12,
                "sweden_both_parents_abroad": 18, "europe": 7, "outside_europe": 13, "unknown": 5}
EARLIER_WEIGHTS = {"no": 60, "once": 20, "several": 10, "unknown": 10}
WORKED_WEIGHTS = {"focus": 60, "partly": 25, "no": 15}
FIRST_CLOSURE = datetime(2021, 1, 1, 12)
CLOSURE_SPAN_DAYS = 5 * 365


def pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def distinct_categories(rng: random.Random, n: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < n:
        code = pick(rng, CATEGORY_WEIGHTS)
        if code not in chosen:
            chosen.append(code)
    return chosen


def rating_value(rng: random.Random, base: float) -> int:
    return max(1, min(10, round(rng.gauss(base, 1.8))))


def generate(n_cases: int) -> Iterator[tuple[type, list[dict]]]:
    """(model, rows) batches in an order the foreign keys accept; ids given here, so no RETURNING."""
    rng = random.Random(SEED)
    yield Organisation, [{"id": 1, "name": "Benchkommun", "created_at": FIRST_CLOSURE}]
    authority = [{"id": i, "organisation_id": 1, "name": f"Utredning {i}", "kind": "authority"} for i in (1, 2, 3, 4)]
    open_care = [{"id": i, "organisation_id": 1, "name": f"Öppenvård {i}", "kind": "open_care"} for i in (5, 6, 7)]
    yield Unit, authority + open_care
    users = [{"id": u["id"], "organisation_id": 1, "unit_id": u["id"], "username": f"user{u['id']}",
              "display_name": f"User {u['id']}", "role": "social_worker" if u["kind"] == "authority" else "therapist",
              "password_hash": None, "active": True, "locale": "sv", "created_at": FIRST_CLOSURE}
             for u in authority + open_care]
    yield User, users

    problem_id = round_id = submission_id = rating_id = 0
    chunk: dict[type, list[dict]] = {m: [] for m in (Case, Problem, RatingRound, ChildLink, Submission, Rating,
                                                     Closure)}
    for case_id in range(1, n_cases + 1):
        closed_at = FIRST_CLOSURE + timedelta(days=rng.randrange(CLOSURE_SPAN_DAYS), minutes=rng.randrange(480))
        days = rng.randint(30, 420)
        started = (closed_at - timedelta(days=days)).date()
        referred = started - timedelta(days=rng.randint(0, 45))
        authority_unit = rng.choice(authority)["id"]
        open_care_unit = rng.choice(open_care)["id"]
        returning = case_id > 100 and rng.random() < 0.08
        case_ref = f"BOU-{rng.randrange(1, case_id)}" if returning else f"BOU-{case_id}"
        reason = pick(rng, CLOSURE_WEIGHTS)
        chunk[Case].append({
            "id": case_id, "organisation_id": 1, "case_ref": case_ref, "status": "closed",
            "age": rng.choices(range(18), weights=AGE_WEIGHTS)[0], "gender": pick(rng, GENDER_WEIGHTS),
            "child_language": "sv", "family_languages": ["sv"],
            "intervention_types": list(pick(rng, INTERVENTION_WEIGHTS)), "intervention_text": None,
            "follow_up_date": started + timedelta(days=days // 2), "scale_view": None, "met_child_alone": True,
            "born": pick(rng, BORN_WEIGHTS), "referred_on": referred, "started_on": started,
            "earlier_episodes": pick(rng, EARLIER_WEIGHTS), "imported": False,
            "authority_unit_id": authority_unit, "social_worker_id": authority_unit,
            "open_care_unit_id": open_care_unit, "therapist_id": open_care_unit,
            "created_at": datetime.combine(referred, closed_at.time()),
            "assigned_at": datetime.combine(started, closed_at.time()), "closed_at": closed_at,
        })
        chunk[Closure].append({
            "id": case_id, "case_id": case_id, "reason": reason, "reason_text": None,
            "concern_remaining": rng.random() < 0.2, "concern_text": None, "new_problems": None,
            "participation": {}, "recommendation": None, "updated_at": closed_at,
        })
        problems = []
        for category in distinct_categories(rng, PROBLEMS_PER_CASE):
            problem_id += 1
            problems.append(problem_id)
            chunk[Problem].append({
                "id": problem_id, "case_id": case_id, "source": "child", "words": rng.choice(WORDS),
                "words_language": "sv",
                "category": category, "category_text": None, "goal": None, "added_at_start": False,
                "created_at": chunk[Case][-1]["created_at"], "worked_with": pick(rng, WORKED_WEIGHTS),
                "worked_with_comment": None, "goal_attainment": None,
            })
        interrupted = reason in ("guardian_interrupted", "child_interrupted")
        base = rng.uniform(2.5, 5.5)
        gain = rng.gauss(0.8 if interrupted else 2.2, 1.5)
        moments = (started, started + timedelta(days=days // 2), closed_at.date())
        for step, kind in enumerate(ROUNDS):
            round_id += 1
            submission_id += 1
            at = datetime.combine(moments[step], closed_at.time())
            chunk[RatingRound].append({"id": round_id, "case_id": case_id, "kind": kind, "answered_how": "alone",
                                       "missing_reason": None})
            chunk[ChildLink].append({
                "id": submission_id, "round_id": round_id, "token_hash": f"{submission_id:064x}", "language": "sv",
                "created_by_id": open_care_unit, "created_at": at, "expires_at": at + timedelta(days=14),
                "opened_at": at, "used_at": at, "revoked_at": None,
            })
            chunk[Submission].append({"id": submission_id, "round_id": round_id, "link_id": submission_id,
                                      "client_id": None, "submitted_at": at, "added_text": None})
            for pid in problems:
                declined = rng.random() < 0.03
                value = None if declined else rating_value(rng, base + gain * step / 2)
                rating_id += 1
                chunk[Rating].append({
                    "id": rating_id, "submission_id": submission_id, "problem_id": pid,
                    "answer": "declined" if declined else "rated", "value": value, "scale_view": "ten",
                    "scale_version": 1, "good_enough": rating_value(rng, 7.5) if kind == "start" else None,
                })
        if len(chunk[Rating]) >= CHUNK * 3 or case_id == n_cases:
            yield from chunk.items()
            chunk = {m: [] for m in chunk}


def load(engine: Engine, n_cases: int) -> tuple[float, int]:
    """Drop and create every table, insert the data set; seconds taken and the number of rows."""
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    Base.metadata.create_all(engine)
    start = time.perf_counter()
    rows = 0
    with engine.begin() as conn:
        for model, batch in generate(n_cases):
            for i in range(0, len(batch), CHUNK):
                conn.execute(insert(model.__table__), batch[i:i + CHUNK])
            rows += len(batch)
    summary_start = time.perf_counter()
    with Session(engine) as session:  # as each child's submission does, here for all at once
        refresh_rating_summary(session)
        session.commit()
    print(f"  rating summary copied onto the problems in {time.perf_counter() - summary_start:.1f} s")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # ids were given explicitly: move each sequence past them, then fresh planner statistics
            for table in Base.metadata.sorted_tables:  # our own table names, not input
                if "id" in table.c:
                    sql = (f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                           f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)")
                    conn.execute(text(sql))
        else:
            conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # What autovacuum does to tables at rest: statistics, and the visibility map that lets the
        # report read its index alone (VACUUM cannot run inside a transaction).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - start, rows


def median_time(work: Callable[[], object], runs: int = 3) -> float:
    work()  # warm-up: caches, query plans
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, engine: Engine, n_cases: int) -> bool:
    seconds, rows = load(engine, n_cases)
    print(f"{name}: {rows:,} rows loaded in {seconds:.1f} s")
    with engine.connect() as conn:
        ratings = conn.scalar(text("SELECT count(*) FROM rating"))
    print(f"  {n_cases:,} closed cases, {ratings:,} ratings")

    def raw_count() -> int:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM rating"))

    baseline = median_time(raw_count)
    def report() -> object:
        with Session(engine) as session:
            return build_report(session, 1, ReportFilters(), today=date(2026, 6, 1))

    took = median_time(report)
    budget = BUDGET_S[engine.dialect.name]
    ok = took < budget
    print(f"  build_report (median of 3): {took:.2f} s   budget < {budget:.0f} s   "
          f"count(*) over rating: {baseline * 1000:.1f} ms   ratio {took / baseline:.0f}x   "
          f"{'within budget' if ok else 'OVER BUDGET'}")
    return ok


def sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def fast_load(dbapi_connection, _record) -> None:  # a throw-away file: no need for durability
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    return engine


def create_scratch_database(url: str) -> bool:
    """Create the scratch database when it is missing; True when this run created it (and may drop it)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first()
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            return True
    finally:
        admin.dispose()


def drop_scratch_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    crypto.configure(crypto.Keyring.of(secrets.token_bytes(32)))
    print(f"group report over {args.cases:,} closed cases x {PROBLEMS_PER_CASE} problems x {len(ROUNDS)} rounds; "
          f"seed {SEED}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = True
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="kidrate-bench-report-"))
        engine = sqlite_engine(folder / "report.sqlite3")
        try:
            ok &= measure("SQLite", engine, args.cases)
        finally:
            engine.dispose()
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
    if not args.skip_postgres:
        if make_url(PG_URL).database != "scratch":
            parser.error("the PostgreSQL benchmark only ever runs on a database named scratch")
        created = create_scratch_database(PG_URL)
        engine = create_engine(PG_URL)
        try:
            ok &= measure("PostgreSQL", engine, args.cases)
        finally:
            engine.dispose()
            if created:
                drop_scratch_database(PG_URL)
    print("within budget" if ok else "OVER BUDGET (or not measured)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The group report: the field's tables (SU-X 2021, NUSO) and what only kidrate has — the child's own
view of change — over an organisation's closed cases, aggregated in SQL.

`build_report(session, organisation_id, filters)` runs one query per table (GROUP BY; no loop over
cases) on SQLite and PostgreSQL alike and returns a `Report` whose tables have already been through
`kidrate.suppression.suppress`: nothing that leaves this module can show a count from 1 to 4.
Free text (the child's words, reasons, comments) is never read here.

Definitions (also shown under each table):
- A case counts when it is closed (status 'closed', closed_at set), in the organisation, and inside
  the filters: closure period on closed_at (both ends inclusive), unit (authority or open-care
  unit), intervention type (one of the case's types), NUSO age group (Case.age), gender.
- Days enrolled: from started_on, else assigned_at, else created_at, to closed_at, in calendar days.
- Problem areas count once per case and category, whoever named them (child, investigation,
  import); "alone" means the case has no other category.
- The child's rating change: closure rating minus start rating of each child-named problem the child
  rated (answer 'rated') in both rounds; better is +2 or more, the same −1 to +1, worse −2 or less.
- Interrupted: the closure reasons "Interrupted unplanned on the guardian's initiative" and "…on
  the child's initiative" (INTERRUPTED_REASONS) — the two reasons SU-X itself calls interrupted.
  Compared over cases where the child named at least one problem: "the child's problems were the
  focus" when at least one of them was worked with as a focus.
- Returns: a later case with the same case reference in the organisation, created after closed_at
  and within 12, 24 or 36 months of it; only cases closed at least that long ago are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import Date, Integer, String, and_, case, cast, func, insert, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from kidrate.config import LOCAL_ZONE
from kidrate.filter_values import date_value, text_value, whole_number
from kidrate.models import Case, Closure, Problem
from kidrate.red_thread.rating_summary import SUMMARY_COLUMNS
from kidrate.statistics.suppression import Column, Row, Table, suppress
from kidrate.vocab import (
    CLOSURE_REASONS,
    EARLIER_EPISODES,
    GENDERS,
    INTERVENTION_TYPES,
    PROBLEM_CATEGORIES,
    ROUND_KINDS,
    ROUND_ORDER,
    WORKED_WITH,
)

AGE_GROUPS = {"0-2": (0, 2), "3-5": (3, 5), "6-8": (6, 8), "9-11": (9, 11), "12-14": (12, 14), "15-17": (15, 17)}
OLDER = "18+"
INTERRUPTED_REASONS = ("guardian_interrupted", "child_interrupted")
RETURN_MONTHS = (12, 24, 36)
BETTER, WORSE = 2, -2


@dataclass(frozen=True)
class ReportFilters:
    closed_from: date | None = None
    closed_to: date | None = None
    unit_id: int | None = None
    intervention: str | None = None
    age_group: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class Report:
    organisation_id: int
    filters: ReportFilters
    tables: tuple[Table, ...]
    today: date = field(default_factory=date.today)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


# --- Filters from a form or the command line (pure) --------------------------------------------


def parse_filters(values: Mapping[str, str | None], unit_ids: Iterable[int] = ()) -> tuple[ReportFilters, list[str]]:
    """Filters from strings (query string, command-line options). Bad values give messages, never
    an exception; the filters returned then hold only what was valid."""
    errors: list[str] = []

    def text(name: str) -> str:
        return text_value(values, name)

    def day(name: str, label: str) -> date | None:
        return date_value(values, name, label, errors)

    closed_from = day("from", _("Closed from"))
    closed_to = day("to", _("Closed to"))
    if closed_from and closed_to and closed_from > closed_to:
        errors.append(_("The closure period ends before it begins."))
        closed_from = closed_to = None

    unit_id = None
    raw_unit = text("unit")
    if raw_unit:
        unit_id = whole_number(raw_unit, 11)
        if unit_id not in set(unit_ids):
            unit_id = None
            errors.append(_("Choose a unit from the list."))

    def code(name: str, vocabulary: Iterable[str], message: str) -> str | None:
        raw = text(name)
        if not raw:
            return None
        if raw in vocabulary:
            return raw
        errors.append(message)
        return None

    intervention = code("intervention", INTERVENTION_TYPES, _("Choose an intervention type from the list."))
    age_group = code("age_group", AGE_GROUPS, _("Choose an age group from the list."))
    gender = code("gender", GENDERS, _("Choose a gender from the list."))
    return ReportFilters(closed_from, closed_to, unit_id, intervention, age_group, gender), errors


# --- SQL building blocks ----------------------------------------------------------------------


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def _local_date(dialect: str, moment):
    """A stored naive-UTC moment as the municipality's calendar date, in SQL (as the SU-X export writes it)."""
    if dialect == "postgresql":
        return cast(func.timezone(LOCAL_ZONE.key, func.timezone("UTC", moment)), Date)
    return func.local_date(moment)  # registered on every SQLite connection (kidrate/extensions.py)


def _days_enrolled(dialect: str):
    start = func.coalesce(Case.started_on, _local_date(dialect, Case.assigned_at),
                          _local_date(dialect, Case.created_at))
    if dialect == "postgresql":
        return cast(_local_date(dialect, Case.closed_at) - start, Integer)
    return cast(func.julianday(_local_date(dialect, Case.closed_at)) - func.julianday(start), Integer)


def _months_after(dialect: str, column, months: int):
    if dialect == "postgresql":
        return column + literal_column(f"interval '{int(months)} months'")
    return func.datetime(column, f"+{int(months)} months")


def _has_type(code: str):
    # The JSON list as text: '["traditional", "other"]' — a quoted code matches only that code.
    return cast(Case.intervention_types, String).like(f'%"{code}"%')


# --- The facts every table is counted from ------------------------------------------------------
# One temporary table, filled once per report: a row per closed case inside the filters, with what
# the tables need from its closure and its problems. Case-level tables are a GROUP BY over it; the
# problem-level ones join it to the problems, whose rating summary (kidrate.rating_summary) spares
# them the million ratings. Temporary tables belong to the connection: concurrent reports never meet.

_FACTS = sa.MetaData()
CASE_FACTS = sa.Table(
    "report_case", _FACTS,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("age", sa.Integer), sa.Column("gender", sa.String), sa.Column("earlier", sa.String),
    sa.Column("imported", sa.Boolean), sa.Column("closed_at", sa.DateTime), sa.Column("days", sa.Integer),
    sa.Column("reason", sa.String),  # NULL: no closure recorded
    sa.Column("concern", sa.Boolean),
    sa.Column("next_created", sa.DateTime),  # the first later case with the same case reference
    *[sa.Column(f"t_{code}", sa.Integer) for code in INTERVENTION_TYPES],  # 1 when the case had the type
    sa.Column("one_area", sa.Integer),  # 1 when all the case's problems are in one problem area
    sa.Column("areas", sa.Integer),  # the case's problem areas as bits (AREA_BITS)
    sa.Column("child_named", sa.Integer),  # 1 when the child named a problem
    sa.Column("child_focus", sa.Integer),  # 1 when one of those was worked with as a focus
    *[sa.Column(f"rated_{kind}", sa.Integer) for kind in ROUND_ORDER],  # 1 when the child rated in the round
    prefixes=["TEMPORARY"],
)
K = CASE_FACTS.c

# Each problem area as one bit, so that "which areas does the case have" is one integer per case and
# the area tables need no second pass over the problems. OTHER_AREA marks codes outside the list.
AREA_BITS = {code: 1 << i for i, code in enumerate(PROBLEM_CATEGORIES)}
OTHER_AREA = 1 << len(PROBLEM_CATEGORIES)


def _case_conditions(organisation_id: int, filters: ReportFilters) -> list:
    conditions = [Case.organisation_id == organisation_id, Case.status == "closed", Case.closed_at.is_not(None)]
    if filters.closed_from:
        conditions.append(Case.closed_at >= datetime.combine(filters.closed_from, time.min))
    if filters.closed_to:
        conditions.append(Case.closed_at < datetime.combine(filters.closed_to + timedelta(days=1), time.min))
    if filters.unit_id is not None:
        conditions.append(or_(Case.authority_unit_id == filters.unit_id, Case.open_care_unit_id == filters.unit_id))
    if filters.intervention:
        conditions.append(_has_type(filters.intervention))
    if filters.age_group:
        low, high = AGE_GROUPS[filters.age_group]
        conditions.append(Case.age.between(low, high))
    if filters.gender:
        conditions.append(Case.gender == filters.gender)
    return conditions


def _fill_facts(session: Session, organisation_id: int, filters: ReportFilters) -> str:
    """Create and fill the two fact tables on the session's connection; returns the dialect's name."""
    connection = session.connection()
    dialect = connection.dialect.name
    # A report that failed half-way may have left them on this pooled connection (SQLite keeps
    # temporary tables past a rollback), so they are dropped first rather than in a `finally`.
    _drop_facts(session)
    if dialect == "postgresql":
        # For this transaction only: aggregates over a million rows fit in memory instead of spilling
        # to disk, and JIT compilation (about half a second per query here) never pays for itself.
        connection.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        connection.execute(sa.text("SET LOCAL jit = off"))
    _FACTS.create_all(connection)

    conditions = _case_conditions(organisation_id, filters)
    child = Problem.source == "child"
    # Byte order, not the locale's: only equality matters here, and collation costs a third of the pass.
    category = Problem.category.collate("C") if dialect == "postgresql" else Problem.category
    bit = case(*[(Problem.category == code, value) for code, value in AREA_BITS.items()], else_=OTHER_AREA)
    # bit_or where the database has it; over single bits a sum of the distinct values is the same.
    areas = func.bit_or(bit) if dialect == "postgresql" else func.sum(bit.distinct())
    per_case = (
        select(Problem.case_id.label("case_id"),
               case((func.min(category) == func.max(category), 1), else_=0).label("one_area"),
               areas.label("areas"),
               func.max(case((child, 1), else_=0)).label("child_named"),
               func.max(case((and_(child, Problem.worked_with == "focus"), 1), else_=0)).label("child_focus"),
               *[func.max(case((Problem.__table__.c[column].is_not(None), 1), else_=0)).label(kind)
                 for kind, column in SUMMARY_COLUMNS.items()])
        # A problem withdrawn after hand-over was never worked on as a problem: not counted.
        .join(Case, Case.id == Problem.case_id).where(Problem.withdrawn_at.is_(None), *conditions)
        .group_by(Problem.case_id).subquery("p"))
    later = aliased(Case)
    came_back = (  # a join, not a subquery per case: a third of the time on PostgreSQL
        select(Case.id.label("case_id"), func.min(later.created_at).label("next_created"))
        .join(later, and_(later.organisation_id == organisation_id, later.case_ref == Case.case_ref,
                          later.created_at > Case.closed_at))
        .where(*conditions).group_by(Case.id).subquery("later"))
    cases = (
        select(Case.id, Case.age, Case.gender, Case.earlier_episodes, Case.imported, Case.closed_at,
               _days_enrolled(dialect), Closure.reason, Closure.concern_remaining, came_back.c.next_created,
               *[case((_has_type(code), 1), else_=0) for code in INTERVENTION_TYPES],
               func.coalesce(per_case.c.one_area, 0), func.coalesce(per_case.c.areas, 0),
               func.coalesce(per_case.c.child_named, 0),
               func.coalesce(per_case.c.child_focus, 0),
               *[func.coalesce(per_case.c[kind], 0) for kind in ROUND_ORDER])
        .outerjoin(Closure, Closure.case_id == Case.id).outerjoin(per_case, per_case.c.case_id == Case.id)
        .outerjoin(came_back, came_back.c.case_id == Case.id)
        .where(*conditions))
    if dialect == "postgresql":
        # The per-case pass then streams the problems in case order from their covering index
        # (ix_problem_case_report) instead of hashing 100 000 groups: about a fifth faster at scale.
        connection.execute(sa.text("SET LOCAL enable_hashagg = off"))
        connection.execute(sa.text("SET LOCAL enable_hashjoin = off"))
    connection.execute(insert(CASE_FACTS).from_select(list(K.keys()), cases))
    if dialect == "postgresql":
        connection.execute(sa.text("SET LOCAL enable_hashagg = on"))
        connection.execute(sa.text("SET LOCAL enable_hashjoin = on"))
    return dialect


def _drop_facts(session: Session) -> None:
    connection = session.connection()
    connection.execute(sa.text(f"DROP TABLE IF EXISTS {CASE_FACTS.name}"))


# --- Small helpers for rows ---------------------------------------------------------------------


def _mean(total: float | int | None, n: int) -> float | None:
    return round(total / n, 1) if n and total is not None else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(counts: Mapping[int, int]) -> float | None:
    values: list[int] = []
    for value, n in sorted(counts.items()):
        values.extend([value] * n)
    if not values:
        return None
    m = median(values)
    return int(m) if float(m).is_integer() else float(m)


def _label(vocabulary: Mapping[str, object], code: str | None, missing: str) -> str:
    if code is None:
        return missing
    return str(vocabulary.get(code, code))


def _coded_rows(vocabulary: Mapping, found: Mapping, missing_label: str) -> list[tuple[str | None, str]]:
    """Every code of the vocabulary (zeros too), then codes found outside it, then 'not recorded'."""
    keys: list[str | None] = list(vocabulary)
    keys += sorted(k for k in found if k is not None and k not in vocabulary)
    if None in found:
        keys.append(None)
    return [(k, _label(vocabulary, k, missing_label)) for k in keys]


def _case_cube(session, dialect: str, today: date) -> list[dict]:
    """One pass over the cases for every case-level table: a row per combination of what those tables
    group by, with the sums each of them needs. The tables are then added up from these rows."""
    bucket = case(*[(K.age.between(lo, hi), key) for key, (lo, hi) in AGE_GROUPS.items()], else_=OLDER)
    flags = [K[f"t_{code}"] for code in INTERVENTION_TYPES]
    types = sum(flags[1:], flags[0])
    sums = [func.count().label("n"), func.sum(K.age).label("age"), func.sum(K.days).label("days")]
    for code, flag in zip(INTERVENTION_TYPES, flags, strict=True):
        sums += [func.sum(flag).label(f"t_{code}"),
                 func.sum(case((and_(flag == 1, types == 1), 1), else_=0)).label(f"alone_{code}")]
    sums += [func.sum(K[f"rated_{kind}"]).label(f"rated_{kind}") for kind in ROUND_ORDER]
    for months in RETURN_MONTHS:
        cutoff = datetime.combine(_months_before(today, months) + timedelta(days=1), time.min)
        eligible = K.closed_at < cutoff
        came_back = K.next_created <= _months_after(dialect, K.closed_at, months)
        sums += [func.sum(case((eligible, 1), else_=0)).label(f"eligible_{months}"),
                 func.sum(case((and_(eligible, came_back), 1), else_=0)).label(f"back_{months}")]
    keys = [K.gender, bucket.label("age_group"), K.earlier, K.reason, K.concern, K.child_named, K.child_focus,
            K.imported]
    return [dict(row._mapping) for row in session.execute(select(*keys, *sums).group_by(*keys))]


def _tally(cube: Iterable[dict], key: str, *fields: str, where=None) -> dict:
    """Sums of `fields` per value of `key` over the cube's rows (those `where` accepts)."""
    found: dict = {}
    for row in cube:
        if where is None or where(row):
            totals = found.setdefault(row[key], [0] * len(fields))
            for i, name in enumerate(fields):
                totals[i] += int(row[name] or 0)
    return found


def _total(cube: Iterable[dict], name: str, where=None) -> int:
    return sum(int(row[name] or 0) for row in cube if where is None or where(row))


def _rows_with_means(vocabulary: Mapping, found: Mapping) -> list[Row]:
    """found: code → (cases, sum of a, sum of b). A row per code with the cases and the two means,
    then the total."""
    rows = []
    for code, label in _coded_rows(vocabulary, found, _("Not recorded")):
        n, a, b = found.get(code, (0, None, None))
        rows.append(Row(code or "none", label, (label, n, _mean(a, n), _mean(b, n))))
    n, a, b = (sum(v[i] for v in found.values()) for i in range(3))
    rows.append(Row("total", _("Total"), (_("Total"), n, _mean(a, n), _mean(b, n)), total=True))
    return rows


# --- The tables --------------------------------------------------------------------------------


def _by_gender(cube) -> Table:
    rows = _rows_with_means(GENDERS, _tally(cube, "gender", "n", "age", "days"))
    return Table(
        "gender", _("Closed cases by gender"),
        (Column("label", _("Gender"), "text"), Column("n", _("Cases")),
         Column("mean_age", _("Mean age"), "mean", ("n",)),
         Column("mean_days", _("Mean days enrolled"), "mean", ("n",))),
        tuple(rows), _("Age at referral; days from the start of the intervention to closure."),
        column_sums=("n",))


def _area_counts(session) -> list[tuple[str, int, bool, int]]:
    """(problem area, days enrolled, the case's only area, cases): each area once per case, for both
    tables that need it, counted from the cases' area bits."""
    found: list[tuple[str, int, bool, int]] = []
    outside_list = 0
    for days, only, *per_area in session.execute(
            select(K.days, K.one_area, *[func.sum(case((K.areas.op("&")(value) != 0, 1), else_=0))
                                         for value in (*AREA_BITS.values(), OTHER_AREA)])
            .group_by(K.days, K.one_area)):
        found += [(code, days, bool(only), int(n)) for code, n in zip(AREA_BITS, per_area, strict=False) if n]
        outside_list += per_area[-1]
    if not outside_list:
        return found
    # Codes outside today's list (older data) are rare: counted from the problems, once per case.
    pairs = (select(Problem.case_id, Problem.category, K.days, K.one_area)
             .join(CASE_FACTS, K.id == Problem.case_id)
             .where(Problem.category.not_in(list(AREA_BITS)), Problem.withdrawn_at.is_(None))
             .distinct().subquery("pairs"))
    return found + [(cat, days, bool(only), n) for cat, days, only, n in session.execute(
        select(pairs.c.category, pairs.c.days, pairs.c.one_area, func.count())
        .group_by(pairs.c.category, pairs.c.days, pairs.c.one_area))]


def _problem_areas(area_counts) -> Table:
    found: dict[str, tuple[int, int]] = {}
    for cat, _days, only, n in area_counts:
        total, alone = found.get(cat, (0, 0))
        found[cat] = (total + n, alone + (n if only else 0))
    rows = []
    for code, label in _coded_rows(PROBLEM_CATEGORIES, found, _("Not recorded")):
        n, alone = found.get(code, (0, 0))
        rows.append(Row(code or "none", label, (label, n, alone, _share(alone, n))))
    n = sum(v[0] for v in found.values())
    alone = sum(v[1] for v in found.values())
    rows.append(Row("total", _("Total"), (_("Total"), n, alone, _share(alone, n)), total=True))
    return Table(
        "problem_areas", _("Problem areas: occurring alone"),
        (Column("label", _("Problem area"), "text"), Column("n", _("Total occurrences")),
         Column("alone", _("Occurring alone")), Column("ratio", _("Ratio"), "ratio", ("n", "alone"))),
        tuple(rows), _("Each problem area counts once per case, whoever named it."),
        column_sums=("n", "alone"))


def _duration(area_counts) -> Table:
    by_category: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for cat, days, _only, n in area_counts:
        by_category[cat][days] += n
    rows = []
    for code, label in _coded_rows(PROBLEM_CATEGORIES, by_category, _("Not recorded")):
        counts = by_category.get(code, {})
        n = sum(counts.values())
        total = sum(d * k for d, k in counts.items())
        rows.append(Row(code, label, (label, n, _mean(total, n), _median(counts),
                                      max(counts) if counts else None, min(counts) if counts else None)))
    return Table(
        "duration", _("Length of the intervention per problem area"),
        (Column("label", _("Problem area"), "text"), Column("n", _("Cases")),
         Column("mean", _("Mean days"), "mean", ("n",)), Column("median", _("Median days"), "median", ("n",)),
         Column("max", _("Longest (days)"), "max", ("n",)), Column("min", _("Shortest (days)"), "min", ("n",))),
        tuple(rows), _("Days from the start of the intervention to closure."))


def _interventions(cube) -> Table:
    rows = []
    for code, label in INTERVENTION_TYPES.items():
        n, alone = _total(cube, f"t_{code}"), _total(cube, f"alone_{code}")
        rows.append(Row(code, str(label), (str(label), n, alone, n - alone)))
    return Table(
        "interventions", _("Intervention types, alone and combined"),
        (Column("label", _("Intervention type"), "text"), Column("n", _("Cases")),
         Column("alone", _("Only this type")), Column("combined", _("Combined with another type"))),
        tuple(rows), _("A case with several intervention types counts once under each."),
        row_sums=((("alone", "combined"), "n"),))


def _percent_table(key: str, title: str, label_header: str, counts: Mapping, vocabulary: Mapping,
                   note: str = "") -> Table:
    rows = []
    whole = sum(counts.values())
    for code, label in _coded_rows(vocabulary, counts, _("Not recorded")):
        n = counts.get(code, 0)
        rows.append(Row(code or "none", label, (label, n, _share(n, whole))))
    rows.append(Row("total", _("Total"), (_("Total"), whole, _share(whole, whole)), total=True))
    return Table(
        key, title,
        (Column("label", label_header, "text"), Column("n", _("Number")),
         Column("percent", _("Share"), "percent", ("n",), of_total=True)),
        tuple(rows), note, column_sums=("n",))


def _closure_reasons(cube) -> Table:
    counts = {k: v[0] for k, v in _tally(cube, "reason", "n").items()}
    return _percent_table("closure_reasons", _("Reasons for closure"), _("Reason"), counts, CLOSURE_REASONS)


def _age_groups(cube) -> Table:
    counts = {k: v[0] for k, v in _tally(cube, "age_group", "n").items()}
    vocabulary = {key: key.replace("-", "–") for key in AGE_GROUPS}
    if counts.get(OLDER):
        vocabulary[OLDER] = _("18 or older")
    return _percent_table("age_groups", _("Cases per age group"), _("Age"), counts, vocabulary,
                          _("Age at referral, in the NUSO age groups."))


def _earlier_episodes(cube) -> Table:
    rows = _rows_with_means(EARLIER_EPISODES, _tally(cube, "earlier", "n", "days", "age"))
    return Table(
        "earlier_episodes", _("Earlier open-care episodes"),
        (Column("label", _("Earlier in open care"), "text"), Column("n", _("Cases")),
         Column("mean_days", _("Mean days enrolled"), "mean", ("n",)),
         Column("mean_age", _("Mean age"), "mean", ("n",))),
        tuple(rows), column_sums=("n",))


def _child_problem_counts(session, organisation_id: int,
                          filters: ReportFilters) -> list[tuple[str, str | None, int | None, int | None, int]]:
    """(problem area, worked with, start rating, closure rating, problems) over the problems the
    child named: one pass for the two tables about them. Joined to the cases themselves rather than
    to the temporary facts, which PostgreSQL may only read in one process: this way it can share the
    scan between workers (twice as fast here)."""
    return [tuple(r) for r in session.execute(
        select(Problem.category, Problem.worked_with, Problem.start_rating, Problem.closure_rating, func.count())
        .join(Case, Case.id == Problem.case_id).where(Problem.source == "child", Problem.withdrawn_at.is_(None),
                                                      *_case_conditions(organisation_id, filters))
        .group_by(Problem.category, Problem.worked_with, Problem.start_rating, Problem.closure_rating))]


def _worked_with(child_counts) -> Table:
    counts: dict[str | None, int] = defaultdict(int)
    for _cat, worked, _start, _closure, n in child_counts:
        counts[worked] += n
    return _percent_table("worked_with", _("Were the child's problems worked with?"), _("Worked with"), counts,
                          WORKED_WITH, _("Problems the child named, as the therapist accounted for them at closure."))


def _rating_change(child_counts) -> Table:
    grouped: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for cat, _worked, start, closure, n in child_counts:
        if start is not None and closure is not None:
            grouped[cat].append((start, closure, n))

    def row(key: str, label: str, triples: list[tuple[int, int, int]], total: bool = False) -> Row:
        change: dict[int, int] = defaultdict(int)
        starts: dict[int, int] = defaultdict(int)
        ends: dict[int, int] = defaultdict(int)
        for s, e, n in triples:
            change[e - s] += n
            starts[s] += n
            ends[e] += n
        n = sum(change.values())
        better = sum(k for d, k in change.items() if d >= BETTER)
        worse = sum(k for d, k in change.items() if d <= WORSE)
        same = n - better - worse
        return Row(key, label, (label, n, _median(starts), _median(ends), _median(change),
                                better, _share(better, n), same, _share(same, n), worse, _share(worse, n)), total)

    rows = [row(code, label, grouped.get(code, []))
            for code, label in _coded_rows(PROBLEM_CATEGORIES, grouped, _("Not recorded"))]
    rows.append(row("total", _("All problem areas"), [t for ts in grouped.values() for t in ts], total=True))
    return Table(
        "rating_change", _("The child's rating from start to closure"),
        (Column("label", _("Problem area"), "text"), Column("n", _("Problems")),
         Column("median_start", _("Median at start"), "median", ("n",)),
         Column("median_closure", _("Median at closure"), "median", ("n",)),
         Column("median_change", _("Median change"), "change", ("n",)),
         Column("better", _("Better")), Column("better_share", _("Better (share)"), "percent", ("better", "n")),
         Column("same", _("The same")), Column("same_share", _("The same (share)"), "percent", ("same", "n")),
         Column("worse", _("Worse")), Column("worse_share", _("Worse (share)"), "percent", ("worse", "n"))),
        tuple(rows),
        _("Problems the child named and rated (1–10) both at the start and at closure. Better: up 2 or more; "
          "the same: within 1; worse: down 2 or more."),
        column_sums=("n", "better", "same", "worse"), row_sums=((("better", "same", "worse"), "n"),))


def _ratings_per_round(cube) -> Table:
    def own(row: dict) -> bool:
        return not row["imported"]

    whole = _total(cube, "n", own)
    counts = {kind: _total(cube, f"rated_{kind}", own) for kind in ROUND_ORDER}
    rows = []
    for kind in ROUND_ORDER:
        n = counts.get(kind, 0)
        label = str(ROUND_KINDS[kind])
        rows.append(Row(kind, label, (label, n, whole - n, whole, _share(n, whole))))
    return Table(
        "ratings_per_round", _("Children with a rating of their own, per round"),
        (Column("label", _("Round"), "text"), Column("rated", _("With a rating")),
         Column("not_rated", _("Without a rating")), Column("all", _("Closed cases")),
         Column("share", _("Share with a rating"), "percent", ("rated", "all"))),
        tuple(rows), _("Cases where the child rated at least one problem in the round; imported cases are left out."),
        row_sums=((("rated", "not_rated"), "all"),))


def _interruptions(cube) -> Table:
    named = _tally(cube, "child_focus", "n", where=lambda row: row["child_named"] == 1)
    stopped = _tally(cube, "child_focus", "n",
                     where=lambda row: row["child_named"] == 1 and row["reason"] in INTERRUPTED_REASONS)
    found = {int(f): (v[0], stopped.get(f, [0])[0]) for f, v in named.items()}
    rows = []
    labels = {1: _("The child's problems were the focus"), 0: _("The child's problems were not the focus")}
    for key in (1, 0):
        n, i = found.get(key, (0, 0))
        rows.append(Row("focus" if key else "not_focus", labels[key], (labels[key], n, i, n - i, _share(i, n))))
    n = sum(v[0] for v in found.values())
    i = sum(v[1] for v in found.values())
    rows.append(Row("total", _("Total"), (_("Total"), n, i, n - i, _share(i, n)), total=True))
    return Table(
        "interruptions", _("Interrupted interventions, by whether the child's problems were the focus"),
        (Column("label", _("Cases where the child named problems"), "text"), Column("n", _("Cases")),
         Column("interrupted", _("Interrupted")), Column("not_interrupted", _("Not interrupted")),
         Column("rate", _("Interruption rate"), "percent", ("interrupted", "n"))),
        tuple(rows),
        _("Interrupted: ended unplanned on the guardian's or on the child's initiative. The focus: at least one "
          "problem the child named was worked with as a focus."),
        column_sums=("n", "interrupted", "not_interrupted"), row_sums=((("interrupted", "not_interrupted"), "n"),))


def _concern(cube) -> Table:
    counts = {(None if k is None else "yes" if k else "no"): v[0] for k, v in _tally(cube, "concern", "n").items()}
    return _percent_table("concern", _("Serious concern remaining at closure"), _("Concern remaining"), counts,
                          {"yes": _("Yes"), "no": _("No")})


def _returns(cube) -> Table:
    rows = []
    for months in RETURN_MONTHS:
        whole, back = _total(cube, f"eligible_{months}"), _total(cube, f"back_{months}")
        label = _("Within %(months)d months", months=months)
        rows.append(Row(f"m{months}", label, (label, whole, back, whole - back, _share(back, whole))))
    return Table(
        "returns", _("Returns: the case reference came back"),
        (Column("label", _("Period after closure"), "text"), Column("n", _("Cases closed that long ago")),
         Column("returned", _("Came back")), Column("not_returned", _("Did not come back")),
         Column("share", _("Share that came back"), "percent", ("returned", "n"))),
        tuple(rows),
        _("A later case with the same case reference in the organisation, opened after closure."),
        row_sums=((("returned", "not_returned"), "n"),))


def compute_tables(session: Session, organisation_id: int, filters: ReportFilters,
                   today: date | None = None) -> tuple[Table, ...]:
    """The tables with their true numbers, small counts included: never show these; see build_report."""
    today = today or date.today()
    dialect = _fill_facts(session, organisation_id, filters)
    cube = _case_cube(session, dialect, today)
    area_counts = _area_counts(session)
    child_counts = _child_problem_counts(session, organisation_id, filters)
    tables = (
        _by_gender(cube),
        _age_groups(cube),
        _problem_areas(area_counts),
        _duration(area_counts),
        _interventions(cube),
        _closure_reasons(cube),
        _earlier_episodes(cube),
        _worked_with(child_counts),
        _rating_change(child_counts),
        _ratings_per_round(cube),
        _interruptions(cube),
        _concern(cube),
        _returns(cube),
    )
    _drop_facts(session)
    return tables


def build_report(session: Session, organisation_id: int, filters: ReportFilters | None = None,
                 today: date | None = None) -> Report:
    """The group report, every table already suppressed (see kidrate.suppression). Labels are in the
    current request's language, else in the default one."""
    filters = filters or ReportFilters()
    today = today or date.today()
    tables = compute_tables(session, organisation_id, filters, today)
    return Report(organisation_id, filters, tuple(suppress(t) for t in tables), today)

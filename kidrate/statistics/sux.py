"""The SU-X 2021 record layout: reading a municipality's file and writing the pseudonymised export (pure).

One row per closed open-care intervention, in this order (the header line must be exactly these names,
comma-separated, UTF-8, an optional byte-order mark):

====================  =====================================================================================
column                content
====================  =====================================================================================
case_ref              the authority's case reference on import; its pseudonym (see below) on export
age                   age at referral to open care, 0–20 (SU-X question 1)
gender                a code of vocab.GENDERS (question 2)
born                  a code of vocab.BORN (questions 3–4); may be empty
referred_on           date referred to open care, ISO 8601 (YYYY-MM-DD) (question 5); may be empty
started_on            date the intervention started, ISO 8601 (question 5); may be empty
earlier_episodes      a code of vocab.EARLIER_EPISODES (question 6); may be empty
problem_area_1..3     codes of vocab.PROBLEM_CATEGORIES (question 7): at least one, at most three, no repeats
intervention_types    codes of vocab.INTERVENTION_TYPES separated by ";" (question 8); may be empty
closed_on             date the intervention ended, ISO 8601 (question 9)
closure_reason        a code of vocab.CLOSURE_REASONS (question 10)
====================  =====================================================================================

Dates must run in order: referred_on ≤ started_on ≤ closed_on (where given).

Pseudonyms. The export never carries a case reference: it carries ``pseudonym(case_ref, key)``, the
first 16 hex characters of HMAC-SHA256(key, case_ref). The key is the organisation's own secret,
derived without any stored state as ``organisation_key(SECRET_KEY, organisation_id)`` =
HMAC-SHA256(SECRET_KEY, "kidrate-sux-pseudonym:<organisation id>"). So the same child's reference gets
the same pseudonym in every export of one organisation (an R&D unit can follow returns), different
pseudonyms in different organisations, and nobody without the app's secret key can go from a
pseudonym back to a reference, not even by trying every plausible reference. Changing SECRET_KEY
changes every pseudonym.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from kidrate.config import LOCAL_ZONE
from kidrate.vocab import BORN, CLOSURE_REASONS, EARLIER_EPISODES, GENDERS, INTERVENTION_TYPES, PROBLEM_CATEGORIES

COLUMNS = (
    "case_ref", "age", "gender", "born", "referred_on", "started_on", "earlier_episodes",
    "problem_area_1", "problem_area_2", "problem_area_3", "intervention_types", "closed_on", "closure_reason",
)
PROBLEM_COLUMNS = ("problem_area_1", "problem_area_2", "problem_area_3")
MAX_PROBLEM_AREAS = len(PROBLEM_COLUMNS)
CASE_REF_MAX = 40
AGE_MIN, AGE_MAX = 0, 20
TYPE_SEPARATOR = ";"
# Dates in the file are the municipality's calendar dates.


@dataclass(frozen=True)
class SuxRow:
    line: int
    case_ref: str
    age: int
    gender: str
    born: str | None
    referred_on: date | None
    started_on: date | None
    earlier_episodes: str | None
    problem_areas: tuple[str, ...]
    intervention_types: tuple[str, ...]
    closed_on: date
    closure_reason: str


@dataclass(frozen=True)
class SuxError:
    line: int  # 1 is the header line
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.line}" if self.column is None else f"{self.line} ({self.column})"
        return _("Line %(where)s: %(message)s", where=where, message=self.message)


# --- Reading ---------------------------------------------------------------------------------------


def _code(value: str, vocabulary: dict, column: str, errors: list, line: int, *, optional: bool) -> str | None:
    if value == "":
        if not optional:
            errors.append(SuxError(line, column, _("This field is required.")))
        return None
    if value not in vocabulary:
        errors.append(SuxError(line, column, _("Unknown code %(code)r. Known codes: %(codes)s.",
                                               code=value[:40], codes=", ".join(vocabulary))))
        return None
    return value


def _date(value: str, column: str, errors: list, line: int, *, optional: bool) -> date | None:
    if value == "":
        if not optional:
            errors.append(SuxError(line, column, _("This field is required.")))
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        errors.append(SuxError(line, column, _("%(value)r is not a date written as YYYY-MM-DD.",
                                               value=value[:40])))
        return None


def _parse_record(record: list[str], line: int) -> tuple[SuxRow | None, list[SuxError]]:
    errors: list[SuxError] = []
    if len(record) != len(COLUMNS):
        return None, [SuxError(line, None, _("Expected %(expected)s fields, found %(found)s.",
                                             expected=len(COLUMNS), found=len(record)))]
    values = dict(zip(COLUMNS, (v.strip() for v in record), strict=True))

    case_ref = values["case_ref"]
    if not case_ref:
        errors.append(SuxError(line, "case_ref", _("This field is required.")))
    elif len(case_ref) > CASE_REF_MAX or any(ord(c) < 32 or ord(c) == 127 for c in case_ref):
        errors.append(SuxError(line, "case_ref", _("A case reference is at most %(n)s characters, without "
                                                   "control characters.", n=CASE_REF_MAX)))

    age = None
    if not values["age"]:
        errors.append(SuxError(line, "age", _("This field is required.")))
    elif not (values["age"].isascii() and values["age"].isdigit() and AGE_MIN <= int(values["age"]) <= AGE_MAX):
        errors.append(SuxError(line, "age", _("The age must be a whole number from %(min)s to %(max)s.",
                                              min=AGE_MIN, max=AGE_MAX)))
    else:
        age = int(values["age"])

    gender = _code(values["gender"], GENDERS, "gender", errors, line, optional=False)
    born = _code(values["born"], BORN, "born", errors, line, optional=True)
    earlier = _code(values["earlier_episodes"], EARLIER_EPISODES, "earlier_episodes", errors, line, optional=True)
    reason = _code(values["closure_reason"], CLOSURE_REASONS, "closure_reason", errors, line, optional=False)
    referred_on = _date(values["referred_on"], "referred_on", errors, line, optional=True)
    started_on = _date(values["started_on"], "started_on", errors, line, optional=True)
    closed_on = _date(values["closed_on"], "closed_on", errors, line, optional=False)

    areas: list[str] = []
    for column in PROBLEM_COLUMNS:
        code = _code(values[column], PROBLEM_CATEGORIES, column, errors, line, optional=True)
        if code is not None:
            if code in areas:
                errors.append(SuxError(line, column, _("The problem area %(code)r is listed twice.", code=code)))
            else:
                areas.append(code)
    if not any(values[c] for c in PROBLEM_COLUMNS):
        errors.append(SuxError(line, "problem_area_1", _("At least one problem area is required.")))

    types: list[str] = []
    if values["intervention_types"]:
        for part in values["intervention_types"].split(TYPE_SEPARATOR):
            code = _code(part.strip(), INTERVENTION_TYPES, "intervention_types", errors, line, optional=False)
            if code is not None and code not in types:
                types.append(code)

    ordered = [(c, d) for c, d in (("referred_on", referred_on), ("started_on", started_on),
                                   ("closed_on", closed_on)) if d is not None]
    for (first, earlier_day), (second, later_day) in pairwise(ordered):
        if later_day < earlier_day:
            errors.append(SuxError(line, second, _("%(later)s (%(later_day)s) is before %(earlier)s "
                                                   "(%(earlier_day)s).", later=second, later_day=later_day,
                                                   earlier=first, earlier_day=earlier_day)))

    if errors:
        return None, errors
    return SuxRow(line=line, case_ref=case_ref, age=age, gender=gender, born=born, referred_on=referred_on,
                  started_on=started_on, earlier_episodes=earlier, problem_areas=tuple(areas),
                  intervention_types=tuple(types), closed_on=closed_on, closure_reason=reason), []


def parse_sux_csv(text: str) -> tuple[list[SuxRow], list[SuxError]]:
    """Every valid row and every error (with its line number) of a file in the SU-X 2021 layout.

    A wrong header line is one error and no rows: the columns cannot be trusted. Blank lines are ignored.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[SuxRow] = []
    errors: list[SuxError] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], [SuxError(1, None, _("The file is empty."))]
        if [h.strip() for h in header] != list(COLUMNS):
            return [], [SuxError(1, None, _("The header line must be exactly: %(columns)s",
                                            columns=",".join(COLUMNS)))]
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            if not record or all(not v.strip() for v in record):
                continue
            row, row_errors = _parse_record(record, reader.line_num)
            errors.extend(row_errors)
            if row is not None:
                rows.append(row)
    except csv.Error:
        errors.append(SuxError(reader.line_num, None, _("This line is not valid CSV (check the quotes).")))
    return rows, errors


def decode(data: bytes) -> str | None:
    """An uploaded file's text (UTF-8, with or without a byte-order mark); None if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# --- Pseudonyms ------------------------------------------------------------------------------------


def organisation_key(secret_key: str | bytes, organisation_id: int) -> bytes:
    """The organisation's pseudonym key, derived from the app's secret key (see the module's text)."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, f"kidrate-sux-pseudonym:{organisation_id}".encode(), hashlib.sha256).digest()


def pseudonym(case_ref: str, key: bytes) -> str:
    return hmac.new(key, case_ref.encode(), hashlib.sha256).hexdigest()[:16]


# --- Writing ---------------------------------------------------------------------------------------


def local_date(moment: datetime) -> date:
    """A stored naive-UTC moment as the municipality's calendar date."""
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_ZONE).date()


def closed_at_for(day: date) -> datetime:
    """Noon (Swedish time) of a closure date, stored as naive UTC: exports back as the same date."""
    return datetime.combine(day, time(12, 0), LOCAL_ZONE).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def case_record(case, key: bytes) -> list[str]:
    """One closed case (a models.Case or anything shaped like it) as an SU-X row, pseudonymised."""
    areas: list[str] = []
    for problem in case.problems:
        # A problem withdrawn after hand-over is not one of the case's problem areas.
        if getattr(problem, "withdrawn_at", None) is None and problem.category not in areas:
            areas.append(problem.category)
    areas = [*areas, "", "", ""][:MAX_PROBLEM_AREAS]
    closure = case.closure
    return [
        pseudonym(case.case_ref, key), str(case.age), case.gender, case.born or "", _iso(case.referred_on),
        _iso(case.started_on), case.earlier_episodes or "", *areas,
        TYPE_SEPARATOR.join(case.intervention_types or []), _iso(local_date(case.closed_at)),
        closure.reason if closure else "",
    ]


def export_rows(cases: Iterable, key: bytes) -> str:
    """The SU-X 2021 CSV (header and one row per closed case; others are left out), pseudonymised."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for case in cases:
        if case.status == "closed" and case.closed_at is not None:
            writer.writerow(case_record(case, key))
    return out.getvalue()

"""Bringing a municipality's history in from an SU-X 2021 file, and the export back out.

Import is all or nothing by default: a file with any error stores nothing, and every error is reported
with its line number. With skip_bad the good rows are stored and the bad lines listed. Imported cases are
closed, marked imported, and carry no child's words and no ratings (their three rounds exist, empty, as
for every case), so group reports can count them and leave them out of the child's view of change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kidrate.models import Case, Closure, Problem, RatingRound, Unit, User
from kidrate.statistics import sux
from kidrate.vocab import ROUND_ORDER


class ImportRefused(Exception):
    """The import cannot start at all (a unit or organisation that does not fit)."""


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[sux.SuxError] = field(default_factory=list)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})


def authority_unit(session: Session, organisation_id: int, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.organisation_id != organisation_id or unit.kind != "authority":
        raise ImportRefused(_("Choose an authority unit of the organisation."))
    return unit


def responsible_user(session: Session, organisation_id: int, unit_id: int) -> User:
    """Who an imported case is recorded under when no one is named: the unit's first social worker,
    else the organisation's first administrator."""
    for query in (
        select(User).where(User.unit_id == unit_id, User.role == "social_worker").order_by(User.id),
        select(User).where(User.organisation_id == organisation_id, User.role == "admin").order_by(User.id),
    ):
        user = session.scalars(query).first()
        if user is not None:
            return user
    raise ImportRefused(_("The organisation has no social worker in the unit and no administrator to "
                          "record the imported cases under."))


def _already_imported(session: Session, organisation_id: int, rows: list[sux.SuxRow]) -> set[tuple[str, date]]:
    refs = {r.case_ref for r in rows}
    if not refs:
        return set()
    found = session.execute(
        select(Case.case_ref, Case.closed_at).where(
            Case.organisation_id == organisation_id, Case.imported.is_(True), Case.case_ref.in_(refs))
    )
    return {(ref, sux.local_date(closed)) for ref, closed in found if closed is not None}


def new_case(row: sux.SuxRow, organisation_id: int, unit_id: int, user_id: int) -> Case:
    case = Case(
        organisation_id=organisation_id, authority_unit_id=unit_id, social_worker_id=user_id,
        case_ref=row.case_ref, status="closed", imported=True, age=row.age, gender=row.gender,
        child_language="sv", family_languages=[], intervention_types=list(row.intervention_types),
        born=row.born, referred_on=row.referred_on, started_on=row.started_on,
        earlier_episodes=row.earlier_episodes, closed_at=sux.closed_at_for(row.closed_on),
        created_at=datetime.combine(row.referred_on or row.started_on or row.closed_on, time(12, 0)),
    )
    case.rounds = [RatingRound(kind=kind) for kind in ROUND_ORDER]
    case.problems = [Problem(source="imported", words="", category=code) for code in row.problem_areas]
    case.closure = Closure(reason=row.closure_reason, concern_remaining=False, participation={})
    return case


def import_sux(session: Session, text: str, *, organisation_id: int, unit_id: int, user_id: int | None = None,
               skip_bad: bool = False) -> ImportResult:
    """Parse and store (flushed, not committed: the caller commits, with its audit event).

    Nothing is added when there is any error and skip_bad is false."""
    authority_unit(session, organisation_id, unit_id)
    if user_id is None:
        user_id = responsible_user(session, organisation_id, unit_id).id
    rows, errors = sux.parse_sux_csv(text)
    seen = _already_imported(session, organisation_id, rows)
    good = []
    for row in rows:
        key = (row.case_ref, row.closed_on)
        if key in seen:
            errors.append(sux.SuxError(row.line, "case_ref", _("A case with this reference and closure date "
                                                               "has already been imported (or is listed twice).")))
            continue
        seen.add(key)
        good.append(row)
    errors.sort(key=lambda e: e.line)
    result = ImportResult(errors=errors)
    if errors and not skip_bad:
        return result
    for row in good:
        session.add(new_case(row, organisation_id, unit_id, user_id))
    session.flush()
    result.imported = len(good)
    return result


def closed_cases(session: Session, organisation_id: int, date_from: date | None = None,
                 date_to: date | None = None) -> list[Case]:
    """The organisation's closed cases, closed within [date_from, date_to] (Swedish dates), oldest first."""
    query = (
        select(Case)
        .where(Case.organisation_id == organisation_id, Case.status == "closed", Case.closed_at.is_not(None))
        .options(selectinload(Case.problems), selectinload(Case.closure))
        .order_by(Case.closed_at, Case.id)
    )
    if date_from is not None:
        query = query.where(Case.closed_at >= _utc_midnight(date_from))
    if date_to is not None:
        query = query.where(Case.closed_at < _utc_midnight(date_to, next_day=True))
    return list(session.scalars(query))


def _utc_midnight(day: date, next_day: bool = False) -> datetime:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    if next_day:
        day = day + timedelta(days=1)
    return datetime.combine(day, time(0), sux.LOCAL_ZONE).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def export_sux(session: Session, organisation_id: int, secret_key: str | bytes, date_from: date | None = None,
               date_to: date | None = None) -> tuple[str, int]:
    """The pseudonymised SU-X CSV of the organisation's closed cases, and how many rows it holds."""
    found = closed_cases(session, organisation_id, date_from, date_to)
    return sux.export_rows(found, sux.organisation_key(secret_key, organisation_id)), len(found)

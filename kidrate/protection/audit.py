"""The audit log: what each action means, the guard that keeps the log append-only, and reading it.

Events are written by access.audit (and by the command line); they are never changed. The ORM
guard below refuses an update or delete of an AuditEvent through any session; the only code that
removes audit rows is the retention purge (kidrate/protection/retention.py), with a Core delete on the
session's connection, which the guard does not see.

Reading is for auditors and administrators, one organisation at a time: filters are parsed from
strings (pure), and `events_query` builds the query; the view is in staff/audit.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, aliased

from kidrate.config import LOCAL_ZONE
from kidrate.filter_values import date_value, text_value, whole_number
from kidrate.models import AuditEvent, Case, User

# Every action the code records, in groups for the reader's filter, each with a label. An action not
# listed here (added later) still shows, by its code; tests/test_audit.py asks for a label for each.
ACTION_GROUPS: tuple[tuple[object, dict[str, object]], ...] = (
    (_l("Signing in and the staff's own account"), {
        "sign_in": _l("Signed in"),
        "sign_in_failed": _l("Sign-in failed"),
        "sign_in_refused": _l("Sign-in through the identity provider refused"),
        "identity_linked": _l("A staff member linked to their account at the identity provider"),
        "role_from_groups": _l("Role and unit set by the identity provider's groups"),
        "password_recovery": _l("An administrator signed in with a password while passwords are switched off"),
        "password_set": _l("Password set"),
        "sign_in_locked": _l("Sign-in locked after failed attempts"),
        "totp_enrolled": _l("Two-factor sign-in set up"),
        "totp_disabled": _l("Two-factor sign-in turned off"),
        "recovery_code_used": _l("Recovery code used to sign in"),
        "recovery_codes_renewed": _l("Recovery codes renewed"),
        "password_reset_requested": _l("New password asked for by e-mail"),
        "set_email": _l("E-mail address set"),
    }),
    (_l("Administration"), {
        "create_user": _l("Staff account created"),
        "edit_user": _l("Staff account edited (name, role or unit)"),
        "activate_user": _l("Staff account activated"),
        "deactivate_user": _l("Staff account deactivated"),
        "issue_password_reset": _l("Password reset link issued"),
        "totp_reset": _l("Two-factor sign-in reset by an administrator"),
        "sign_in_unlocked": _l("Sign-in lock lifted by an administrator"),
        "end_sessions": _l("All sessions of a staff member ended by an administrator"),
        "grant_record_export": _l("Record-level exports allowed for an analyst"),
        "revoke_record_export": _l("Record-level exports withdrawn from an analyst"),
        "create_unit": _l("Unit created"),
        "sign_on_settings": _l("Sign-in through the organisation's identity provider set up or changed"),
        "identity_unlinked": _l("A staff member's link to the identity provider removed"),
        "install_translation": _l("Translation catalogue installed"),
        "remove_translation": _l("Translation catalogue removed"),
        "rotate_key": _l("Stored data encrypted again under a new key"),
        "view_message_recordings": _l("Recordings of fixed messages viewed"),
        "record_message": _l("Fixed message recorded"),
        "play_message_recording": _l("Recording of a fixed message played"),
        "delete_message_recording": _l("Recording of a fixed message removed"),
    }),
    (_l("Cases"), {
        "search_case_ref": _l("Case reference searched"),
        "create_case": _l("Case created"),
        "view_case": _l("Case viewed"),
        "view_timeline": _l("Earlier intervention viewed"),
        "add_problem": _l("Problem added"),
        "edit_problem": _l("Problem edited before hand-over"),
        "delete_problem": _l("Problem removed"),
        "set_goal": _l("Goal set"),
        "translate_problem": _l("Child's words translated"),
        "delete_problem_translation": _l("Translation of the child's words removed"),
        "record_problem": _l("Child's words recorded"),
        "play_recording": _l("Recording of the child's words played"),
        "delete_recording": _l("Recording of the child's words removed"),
        "assign_case": _l("Assignment handed over to open care"),
        "amend_words": _l("Amendment: the problem's words corrected"),
        "withdraw_problem": _l("Amendment: problem withdrawn"),
        "amend_add_problem": _l("Amendment: problem added after hand-over"),
        "download_assignment": _l("Assignment downloaded"),
    }),
    (_l("The child's rounds and links"), {
        "issue_link": _l("Child's link issued"),
        "view_link": _l("Child's link page viewed"),
        "revoke_link": _l("Child's link revoked"),
        "hand_over_device": _l("Device handed to the child"),
        "unlock_device": _l("Device unlocked"),
        "unlock_failed": _l("Device unlock failed"),
        "unlock_signed_out": _l("Signed out after failed unlocks"),
        "record_round": _l("Round recorded"),
        "record_met_alone": _l("Meeting the child alone recorded"),
        "acknowledge_signal": _l("Safety signal acknowledged"),
        "view_together": _l("Follow-up page viewed with the child"),
    }),
    (_l("Closure and handover"), {
        "view_closure": _l("Closure viewed"),
        "save_closure": _l("Closure saved"),
        "send_handover": _l("Handover sent"),
        "view_handover": _l("Handover viewed"),
        "read_handover": _l("Handover marked as read"),
        "download_handover": _l("Handover downloaded"),
    }),
    (_l("Statistics"), {
        "view_report": _l("Group report viewed"),
        "download_report": _l("Group report downloaded"),
        "import_sux": _l("SU-X file imported"),
        "export_sux": _l("SU-X file exported"),
    }),
    (_l("The audit log and retention"), {
        "view_audit": _l("Audit log viewed"),
        "export_audit": _l("Audit log exported"),
        "purge": _l("Case content removed by retention"),
    }),
)
ACTIONS = {code: label for _group, actions in ACTION_GROUPS for code, label in actions.items()}


PER_PAGE = 100
# A page number past this is refused rather than turned into a huge OFFSET.
MAX_PAGE = 100_000
# An export larger than this is refused: narrow the filters (the whole log would not fit in memory).
EXPORT_MAX = 50_000
CASE_REF_MAX = 40
FILTER_NAMES = ("from", "to", "action", "user", "case_ref")


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))


# --- Append-only -------------------------------------------------------------------------------


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_changed_events(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events are never deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit events are never changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_statements(state: ORMExecuteState) -> None:
    # ORM-enabled bulk statements on the model (and Core ones run through a session) never reach
    # before_flush: they are refused here, before they run.
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    table = getattr(state.statement, "table", None)
    if (mapper is not None and mapper.class_ is AuditEvent) or getattr(table, "name", None) == AuditEvent.__tablename__:
        raise AuditLogIsAppendOnly("audit events are never changed or deleted")


# --- Filters (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    date_from: date | None = None
    date_to: date | None = None
    action: str | None = None
    user_id: int | None = None
    case_ref: str | None = None

    def describe(self) -> str:
        """The filters as recorded in the audit log of the reading itself: never the case reference
        searched for (as with staff.case_list's search), only that there was one."""
        parts = []
        if self.date_from:
            parts.append(f"from={self.date_from}")
        if self.date_to:
            parts.append(f"to={self.date_to}")
        if self.action:
            parts.append(f"action={self.action}")
        if self.user_id is not None:
            parts.append(f"user:{self.user_id}")
        if self.case_ref:
            parts.append("case")
        return " ".join(parts)


def parse_filters(values: Mapping[str, str | None], user_ids: Iterable[int],
                  actions: Iterable[str] = ACTIONS) -> tuple[AuditFilters, list[str]]:
    """Filters from the query string. Bad values give messages, never an exception."""
    errors: list[str] = []

    def text(name: str) -> str:
        return text_value(values, name)

    def day(name: str, label: str) -> date | None:
        return date_value(values, name, label, errors)

    date_from, date_to = day("from", _("From")), day("to", _("To"))
    if date_from and date_to and date_from > date_to:
        errors.append(_("The period ends before it begins."))
        date_from = date_to = None

    action = text("action") or None
    if action is not None and action not in set(actions):
        errors.append(_("Choose an action from the list."))
        action = None

    user_id = None
    raw_user = text("user")
    if raw_user:
        if whole_number(raw_user, 11) in set(user_ids):
            user_id = int(raw_user)
        else:
            errors.append(_("Choose a person from the list."))

    case_ref = text("case_ref") or None
    if case_ref is not None and len(case_ref) > CASE_REF_MAX:
        errors.append(_("A case reference is at most %(n)s characters.", n=CASE_REF_MAX))
        case_ref = None
    elif case_ref is not None and any(ord(c) < 32 or ord(c) == 127 for c in case_ref):
        # No case reference holds them, and PostgreSQL refuses a NUL in a query.
        errors.append(_("A case reference holds only letters, digits and punctuation."))
        case_ref = None
    return AuditFilters(date_from, date_to, action, user_id, case_ref), errors


def parse_page(raw: str | None) -> tuple[int, str | None]:
    """The page number (1 when absent) and an error message when it is not a page number."""
    raw = (raw or "").strip()
    if not raw:
        return 1, None
    page = whole_number(raw, 6)
    if page is not None and 1 <= page <= MAX_PAGE:
        return page, None
    return 1, _("The page number must be a whole number from 1 to %(max)s.", max=MAX_PAGE)


def utc_start_of(day: date) -> datetime:
    """Midnight at the start of a Swedish calendar day, as the naive UTC the log is stored in."""
    local = datetime.combine(day, time.min, LOCAL_ZONE)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


# --- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    action: str
    user_id: int | None
    username: str | None
    user_name: str | None
    case_ref: str | None
    target: str | None

    @property
    def action_label(self) -> str:
        return action_label(self.action)


def events_query(organisation_id: int, filters: AuditFilters) -> Select:
    """The organisation's events inside the filters, newest first, with who and which case."""
    case = aliased(Case)
    user = aliased(User)
    query = (
        select(AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.user_id, user.username,
               user.display_name, case.case_ref, AuditEvent.target)
        .outerjoin(user, user.id == AuditEvent.user_id)
        .outerjoin(case, case.id == AuditEvent.case_id)
        .where(AuditEvent.organisation_id == organisation_id)
    )
    if filters.date_from:
        query = query.where(AuditEvent.at >= utc_start_of(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.at < utc_start_of(filters.date_to + timedelta(days=1)))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.user_id is not None:
        query = query.where(AuditEvent.user_id == filters.user_id)
    if filters.case_ref:
        query = query.where(case.case_ref == filters.case_ref, case.organisation_id == organisation_id)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def count_events(session: Session, organisation_id: int, filters: AuditFilters) -> int:
    query = events_query(organisation_id, filters).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def events_page(session: Session, organisation_id: int, filters: AuditFilters, page: int,
                per_page: int = PER_PAGE) -> list[EventRow]:
    query = events_query(organisation_id, filters).limit(per_page).offset((page - 1) * per_page)
    return [EventRow(*row) for row in session.execute(query)]


def all_events(session: Session, organisation_id: int, filters: AuditFilters) -> list[EventRow]:
    return [EventRow(*row) for row in session.execute(events_query(organisation_id, filters))]


# --- CSV ---------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell starting with one of these as a formula; names are typed by admins.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def events_csv(rows: Iterable[EventRow], details: Callable[[EventRow], str] | None = None) -> str:
    """The events as CSV: the target's code, and (given `details`) the same in words beside it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_("Time (UTC)"), _("Action"), _("Action code"), _("User id"), _("Username"), _("Name"),
                     _("Case reference"), _("Target")] + ([_("Details")] if details else []))
    for row in rows:
        writer.writerow([_cell(v) for v in (
            row.at.isoformat(sep=" ", timespec="seconds"), row.action_label, row.action, row.user_id, row.username,
            row.user_name, row.case_ref, row.target, *([details(row)] if details else []))])
    return out.getvalue()

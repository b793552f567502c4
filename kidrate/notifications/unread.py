"""What a staff member has not yet seen, for the counts in the staff menu: handovers unread in a social
worker's unit (as the inbox lists them), and a therapist's new cases — assigned to them and not opened
by them since (the audit log holds every opening of a case)."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from kidrate.models import AuditEvent, Case, Handover, User


def unread_handovers(session: Session, user: User) -> int:
    """Unread handovers in the unit, each case's newest version only: a version a correction replaced
    is read as part of the newer one, which says what changed."""
    if user.role != "social_worker" or user.unit_id is None:
        return 0
    newer = aliased(Handover)
    return session.scalar(
        select(func.count(Handover.id)).join(Case, Case.id == Handover.case_id)
        .where(Case.authority_unit_id == user.unit_id, Case.organisation_id == user.organisation_id,
               Handover.read_at.is_(None),
               ~exists().where(newer.case_id == Handover.case_id, newer.version > Handover.version))
    ) or 0


def _opened_since_assigned(user: User):
    return exists().where(AuditEvent.case_id == Case.id, AuditEvent.user_id == user.id,
                          AuditEvent.at >= Case.assigned_at)


def new_case_ids(session: Session, user: User) -> set[int]:
    """The therapist's cases at open care that they have not opened since they were assigned."""
    if user.role != "therapist":
        return set()
    return set(session.scalars(
        select(Case.id).where(Case.therapist_id == user.id, Case.organisation_id == user.organisation_id,
                              Case.status == "assigned", Case.assigned_at.is_not(None),
                              ~_opened_since_assigned(user))
    ))

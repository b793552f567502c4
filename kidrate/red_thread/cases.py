"""The case's life along the red thread: open, assign, what is due next, close and hand back.

Views call these; they hold the rules, not the request handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kidrate.models import Case, ChildLink, Handover, Problem, RatingRound, User, utcnow
from kidrate.red_thread import events, links
from kidrate.red_thread.checks import check_case
from kidrate.red_thread.facts import gather
from kidrate.red_thread.handover import compile_handover
from kidrate.vocab import ROUND_ORDER


def open_case(session: Session, social_worker: User, **fields: object) -> Case:
    """A new case in the social worker's unit, with its three rating rounds waiting."""
    case = Case(
        organisation_id=social_worker.organisation_id,
        authority_unit_id=social_worker.unit_id,
        social_worker_id=social_worker.id,
        status="draft",
        **fields,
    )
    case.rounds = [RatingRound(kind=kind) for kind in ROUND_ORDER]
    session.add(case)
    return case


def child_problems(case: Case, *, withdrawn: bool = False) -> list[Problem]:
    """The problems the child named: those the child is asked about, or with `withdrawn` also those
    withdrawn after hand-over (kept in the case's history, never asked again)."""
    return [p for p in case.problems if p.source == "child" and (withdrawn or p.withdrawn_at is None)]


def assignable_therapists(session: Session, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.organisation_id == organisation_id, User.role == "therapist", User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def assign(case: Case, therapist: User) -> None:
    case.therapist_id = therapist.id
    case.open_care_unit_id = therapist.unit_id
    case.status = "assigned"
    case.assigned_at = utcnow()
    events.case_assigned.send(case, therapist=therapist)


def assign_once(session: Session, case: Case, therapist: User) -> bool:
    """`assign` for a request: of simultaneous hand-overs of one draft (a double click), exactly one
    moves it out of draft (a conditional UPDATE); the others change nothing and get False."""
    won = session.execute(
        update(Case).where(Case.id == case.id, Case.status == "draft").values(status="assigned"),
        execution_options={"synchronize_session": False},
    ).rowcount == 1
    if won:
        assign(case, therapist)
    return won


def may_add_child_problem_at_start(case: Case) -> bool:
    return case.status == "assigned" and case.round("start").submission is None


@dataclass(frozen=True)
class NextDue:
    round_kind: str | None  # the first round the child has not answered yet
    live_link: ChildLink | None
    follow_up_date: date | None
    follow_up_overdue: bool


def next_due(case: Case, today: date | None = None, now: datetime | None = None) -> NextDue:
    today = today or date.today()
    now = now or utcnow()
    kind = None
    live = None
    if case.status == "assigned":
        for rnd in case.rounds_in_order():
            if rnd.submission is None:
                kind = rnd.kind
                live = next((lk for lk in reversed(rnd.links) if links.usable(lk, now)), None)
                break
    overdue = bool(
        case.status == "assigned"
        and case.follow_up_date
        and case.follow_up_date < today
        and case.round("follow_up").submission is None
    )
    return NextDue(kind, live, case.follow_up_date, overdue)


# What a therapist may look for in their case list; `what_is_due` says which of them a case has.
DUE_LINK = "link"  # a round waits for the child and no link is out
DUE_RECORD = "record"  # a check asks for a round: the child's rating, or why it is missing
DUE_CHECKS = "checks"  # any red-thread check is open
DUE_FOLLOW_UP = "follow_up"  # the planned follow-up date has passed without a follow-up rating
DUE_KINDS = (DUE_LINK, DUE_RECORD, DUE_CHECKS, DUE_FOLLOW_UP)


def what_is_due(case: Case, due: NextDue, today: date | None = None) -> frozenset[str]:
    """Which of DUE_KINDS a case has now: work for the therapist, so nothing for a case not at open care
    (a closed case's open checks are in its handover)."""
    if case.status != "assigned":
        return frozenset()
    today = today or date.today()
    findings = check_case(gather(case), today)
    found = set()
    if findings:
        found.add(DUE_CHECKS)
    if any(f.fix == "round" for f in findings):
        found.add(DUE_RECORD)
    if due.round_kind is not None and due.live_link is None:
        found.add(DUE_LINK)
    if due.follow_up_overdue:
        found.add(DUE_FOLLOW_UP)
    return frozenset(found)


def live_links(case: Case, now: datetime | None = None) -> list[ChildLink]:
    now = now or utcnow()
    return [lk for rnd in case.rounds for lk in rnd.links if links.usable(lk, now)]


def like_prefix(text: str) -> str:
    """A LIKE pattern for "begins with the text": the user's % and _ (and the escape) stand for themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def case_ref_begins_with(text: str):
    """Case references beginning with the text, whatever its case ("walk-2026" finds "WALK-2026-010")."""
    return Case.case_ref.ilike(like_prefix(text), escape="\\")


def same_case_ref(case_ref: str):
    """The same case reference, whatever its case: how a person types it should not hide a returning child."""
    return func.lower(Case.case_ref) == case_ref.strip().lower()


def earlier_cases(session: Session, case_ref: str, unit_id: int, exclude_id: int | None = None) -> list[Case]:
    """Closed cases with the same case reference in the unit, newest first: a returning child."""
    query = (
        select(Case)
        .where(same_case_ref(case_ref), Case.authority_unit_id == unit_id, Case.status == "closed")
        .order_by(Case.closed_at.desc())
    )
    if exclude_id is not None:
        query = query.where(Case.id != exclude_id)
    return list(session.scalars(query))


def send_handover(session: Session, case: Case, sender: User, correction_note: str | None = None) -> Handover:
    """Close the case and store the handover as an immutable snapshot; a resend is a new version."""
    now = utcnow()
    previous = case.handovers[-1] if case.handovers else None
    if case.status != "closed":
        case.status = "closed"
        case.closed_at = now
        for link in live_links(case, now):
            links.revoke(link)
    version = previous.version + 1 if previous else 1
    document = compile_handover(
        gather(case, now), compiled_at=now, version=version,
        replaces_version=previous.version if previous else None,
    )
    handover = Handover(
        case=case, version=version, replaces_id=previous.id if previous else None,
        correction_note=correction_note, document=document, sent_at=now, sent_by_id=sender.id,
    )
    session.add(handover)
    events.handover_sent.send(handover, case=case, session=session)
    return handover

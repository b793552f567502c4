"""What along the red thread becomes an e-mail, and to whom: connected to the red thread's events
(kidrate/red_thread/events.py) once, at create_app. Each receiver only queues (outbox.py), in the
transaction that made the event; it never sends and never commits."""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session

from kidrate.extensions import db
from kidrate.models import Case, Handover, Submission, User
from kidrate.notifications import outbox
from kidrate.red_thread import events as red_thread_events


def case_assigned(case: Case, *, therapist: User, **_extra) -> None:
    session = object_session(case) or db.session
    with session.no_autoflush:
        outbox.enqueue(session, therapist, "assigned", f"case:{case.id}" if case.id else None)


def handover_sent(handover: Handover, *, case: Case, session: Session, **_extra) -> None:
    with session.no_autoflush:  # the handover is not flushed yet: the caller does that
        outbox.enqueue(session, session.get(User, case.social_worker_id), "handover",
                       f"case:{case.id}:v{handover.version}")


def signals_raised(submission: Submission, *, case: Case, session: Session, **_extra) -> None:
    """One e-mail for a submission, however many signals it raised, to each of the two people responsible:
    the therapist, and the social worker who holds the case."""
    with session.no_autoflush:
        for user_id in (case.therapist_id, case.social_worker_id):
            if user_id is not None:
                outbox.enqueue(session, session.get(User, user_id), "signal", f"submission:{submission.id}")


def problem_amended(amendment, *, problem, by: User, **_extra) -> None:
    """The other side of the case hears of an amendment: the social worker of the therapist's, the therapist
    of the social worker's."""
    session = object_session(problem)
    case = problem.case
    other = case.social_worker_id if by.role == "therapist" else case.therapist_id
    if session is not None and other is not None and other != by.id:
        with session.no_autoflush:
            outbox.enqueue(session, session.get(User, other), "amendment")


def connect() -> None:
    """Idempotent: the receivers are module functions, held strongly, connected once whatever the
    number of apps (the tests build several)."""
    red_thread_events.case_assigned.connect(case_assigned, weak=False)
    red_thread_events.handover_sent.connect(handover_sent, weak=False)
    red_thread_events.signals_raised.connect(signals_raised, weak=False)
    red_thread_events.problem_amended.connect(problem_amended, weak=False)

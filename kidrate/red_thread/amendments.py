"""Amendments to the assignment after hand-over: visible corrections, never silent edits.

Once the social worker has handed the assignment over, the problems in it are what the therapist works
from and what the child is asked about. A mistake is then put right as an amendment that both sides
see and the handover lists: the child's words corrected (the earlier words kept), a problem withdrawn
(kept in the history, never asked again) or a problem added, each with who, when and why.

Before hand-over the social worker simply edits the draft; after closure the case is a record and is
not amended (a correction belongs in a new version of the handover). `refusal` says which applies.
Views call these functions; they hold the rules, not the request handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kidrate.models import Case, Problem, ProblemAmendment, User, utcnow
from kidrate.red_thread import events

WORDS = "words"
WITHDRAW = "withdraw"
ADD = "add"
KINDS = (WORDS, WITHDRAW, ADD)

# Why an amendment is refused (the views turn these into words).
DRAFT = "draft"  # not handed over yet: edit the draft instead
CLOSED = "closed"  # the case is closed: the handover is the record now
PURGED = "purged"  # retention removed the content
WITHDRAWN = "withdrawn"  # the problem is already withdrawn
UNCHANGED = "unchanged"  # the corrected words are the words already there


@dataclass(frozen=True)
class AmendmentView:
    """One amendment as both sides read it (the case page, the handover, the assignment PDF)."""

    kind: str
    problem_id: int
    source: str
    at: datetime
    by: str
    by_role: str
    reason: str
    words: str  # the problem's words as they are now
    words_language: str | None
    words_before: str | None = None
    words_language_before: str | None = None
    words_after: str | None = None
    words_language_after: str | None = None

    def as_document(self) -> dict:
        return {
            "kind": self.kind, "problem_id": self.problem_id, "source": self.source,
            "at": self.at.isoformat(), "by": self.by, "by_role": self.by_role, "reason": self.reason,
            "words_before": self.words_before, "words_language_before": self.words_language_before,
            "words_after": self.words_after, "words_language_after": self.words_language_after,
        }


def refusal(case: Case) -> str | None:
    """Why the case's assignment cannot be amended now, or None if it can."""
    if case.purged_at is not None:
        return PURGED
    if case.status == "draft":
        return DRAFT
    if case.status == "closed":
        return CLOSED
    return None


def is_withdrawn(problem: Problem) -> bool:
    return problem.withdrawn_at is not None


def _record(problem: Problem, kind: str, reason: str, by: User, now: datetime, **words: str | None
            ) -> ProblemAmendment:
    amendment = ProblemAmendment(kind=kind, reason=reason.strip(), by_id=by.id, by_role=by.role, at=now,
                                 **words)
    problem.amendments.append(amendment)
    events.problem_amended.send(amendment, problem=problem, by=by)
    return amendment


def correct_words(problem: Problem, words: str, words_language: str | None, reason: str, by: User,
                  now: datetime | None = None) -> ProblemAmendment | str:
    """Correct a problem's words (and their language) after hand-over, keeping the earlier words in the
    amendment. Returns the amendment, or why it is refused (WITHDRAWN, UNCHANGED, or the case's refusal).

    Translations and recordings were made of the earlier words: they are removed, so that the child is
    never shown or read aloud words that are no longer the problem's (the view says so)."""
    refused = refusal(problem.case)
    if refused:
        return refused
    if is_withdrawn(problem):
        return WITHDRAWN
    words = words.strip()
    words_language = words_language if problem.source == "child" else None
    if words == problem.words and words_language == problem.words_language:
        return UNCHANGED
    amendment = _record(problem, WORDS, reason, by, now or utcnow(),
                        words_before=problem.words, words_language_before=problem.words_language,
                        words_after=words, words_language_after=words_language)
    if words != problem.words:
        problem.translations.clear()
        problem.recordings.clear()
    problem.words = words
    problem.words_language = words_language
    return amendment


def withdraw(problem: Problem, reason: str, by: User, now: datetime | None = None) -> ProblemAmendment | str:
    """Withdraw a problem after hand-over: it stays in the case and the history, marked withdrawn, and
    the child is never asked about it again (red_thread.cases.child_problems leaves it out)."""
    refused = refusal(problem.case)
    if refused:
        return refused
    if is_withdrawn(problem):
        return WITHDRAWN
    now = now or utcnow()
    problem.withdrawn_at = now
    return _record(problem, WITHDRAW, reason, by, now)


def add(case: Case, problem: Problem, reason: str, by: User, now: datetime | None = None
        ) -> ProblemAmendment | str:
    """Add a problem to an assignment already handed over, with why: asked from the next round on."""
    refused = refusal(case)
    if refused:
        return refused
    now = now or utcnow()
    problem.case = case
    problem.created_at = now
    return _record(problem, ADD, reason, by, now, words_after=problem.words,
                   words_language_after=problem.words_language)


def case_amendments(case: Case) -> list[AmendmentView]:
    """Every amendment to the case's assignment, oldest first."""
    found = []
    for p in case.problems:
        for a in p.amendments:
            found.append(AmendmentView(
                kind=a.kind, problem_id=p.id, source=p.source, at=a.at,
                by=a.by.display_name if a.by else "", by_role=a.by_role, reason=a.reason,
                words=p.words, words_language=p.words_language,
                words_before=a.words_before, words_language_before=a.words_language_before,
                words_after=a.words_after, words_language_after=a.words_language_after,
            ))
    return sorted(found, key=lambda a: (a.at, a.kind != ADD, a.problem_id))

"""The assignment (authority → open care) as a document: what the social worker handed over.

`compile_assignment` reads a case into a JSON-safe dict of codes and the professionals' and the
child's own text, like the closure handover (kidrate/red_thread/handover.py): labels are not baked in, the
document is rendered in the reader's language. Documented by schemas/assignment-1.schema.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from kidrate.models import Case, User, utcnow
from kidrate.red_thread.amendments import case_amendments

SCHEMA = "kidrate.assignment/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def compile_assignment(case: Case, *, compiled_at: datetime | None = None, therapist: User | None = None) -> dict:
    """The assignment document of a case: the child's problems in the child's words, the problems the
    investigation found, the goals, who is responsible on each side, the dates, and every amendment
    made after hand-over.

    `therapist`: the one the draft is about to be handed to, for the confirmation that shows the
    assignment as the therapist will receive it (the case itself is not changed)."""
    therapist = therapist or case.therapist
    open_care_unit = therapist.unit if therapist is not None and case.therapist is None else case.open_care_unit
    child_problems = []
    investigation_problems = []
    for p in case.problems:
        entry = {
            "id": p.id,
            "words": p.words,
            "category": p.category,
            "category_text": p.category_text,
            "goal": p.goal,
            "withdrawn_at": _iso(p.withdrawn_at),
        }
        if p.source == "child":
            entry.update(
                words_language=p.words_language,
                # The child's words in Swedish, where said in another language and translated by staff.
                words_swedish=p.words_in("sv") if p.words_language not in (None, "sv") else None,
                added_at_start=bool(p.added_at_start),
                goal_with_child=bool(p.goal_with_child),
            )
            child_problems.append(entry)
        else:
            investigation_problems.append(entry)
    return {
        "schema": SCHEMA,
        "compiled_at": _iso(compiled_at or utcnow()),
        "case": {
            "case_ref": case.case_ref,
            "status": case.status,
            "age": case.age,
            "gender": case.gender,
            "child_language": case.child_language,
            "family_languages": list(case.family_languages or []),
            "intervention_types": list(case.intervention_types or []),
            "intervention_text": case.intervention_text,
            "created_at": _iso(case.created_at),
            "assigned_at": _iso(case.assigned_at),
            "follow_up_date": _iso(case.follow_up_date),
        },
        "authority": {
            "unit": case.authority_unit.name,
            "social_worker": case.social_worker.display_name,
        },
        "open_care": {
            "unit": open_care_unit.name if open_care_unit else None,
            "therapist": therapist.display_name if therapist else None,
        },
        "child_problems": child_problems,
        "investigation_problems": investigation_problems,
        "amendments": [a.as_document() for a in case_amendments(case)],
    }


# Why a draft cannot be handed over yet (the confirmation page says so, with a way to each problem).
NO_CHILD_PROBLEM = "no_child_problem"
OTHER_WITHOUT_TEXT = "other_without_text"
NO_GOAL = "no_goal"


def handover_blockers(problems: Sequence) -> list[tuple[str, int | None]]:
    """(code, problem id) for what must be put right before a draft is handed over: no problem in the
    child's words at all; a problem in "other" that does not say which; a child's problem with neither
    a goal nor the mark that the goal is to be set with the child. Empty: it may be handed over."""
    found: list[tuple[str, int | None]] = []
    if not any(p.source == "child" for p in problems):
        found.append((NO_CHILD_PROBLEM, None))
    for p in problems:
        if p.category == "other" and not (p.category_text or "").strip():
            found.append((OTHER_WITHOUT_TEXT, p.id))
    for p in problems:
        if p.source == "child" and not (p.goal or "").strip() and not p.goal_with_child:
            found.append((NO_GOAL, p.id))
    return found

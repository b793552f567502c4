"""The assignment (authority → open care) as a document: what the social worker handed over.

`compile_assignment` reads a case into a JSON-safe dict of codes and the professionals' and the
child's own text, like the closure handover (kidrate/red_thread/handover.py): labels are not baked in, the
document is rendered in the reader's language. Documented by schemas/assignment-1.schema.json.
"""

from __future__ import annotations

from datetime import date, datetime

from kidrate.models import Case, utcnow

SCHEMA = "kidrate.assignment/1"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def compile_assignment(case: Case, *, compiled_at: datetime | None = None) -> dict:
    """The assignment document of a case: the child's problems in the child's words, the problems the
    investigation found, the goals, who is responsible on each side, and the dates."""
    child_problems = []
    investigation_problems = []
    for p in case.problems:
        entry = {
            "id": p.id,
            "words": p.words,
            "category": p.category,
            "category_text": p.category_text,
            "goal": p.goal,
        }
        if p.source == "child":
            entry.update(
                words_language=p.words_language,
                # The child's words in Swedish, where said in another language and translated by staff.
                words_swedish=p.words_in("sv") if p.words_language not in (None, "sv") else None,
                added_at_start=bool(p.added_at_start),
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
            "unit": case.open_care_unit.name if case.open_care_unit else None,
            "therapist": case.therapist.display_name if case.therapist else None,
        },
        "child_problems": child_problems,
        "investigation_problems": investigation_problems,
    }

"""The closure handover (open care → authority): compiled from a case as a pure function.

`facts.gather` reads a case into plain facts; `compile_handover` turns facts into the handover
document, a JSON-safe dict of codes and the professionals' and child's own text. Labels are not
baked in: the document is rendered in the reader's language. A sent handover stores this document
as an immutable snapshot; `as_sent` gives the facts as they will be the moment it is sent, so that
the therapist's preview is the document the social worker will read.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from kidrate.red_thread.checks import check_case, child_view
from kidrate.red_thread.facts import CaseFacts, RoundFact, SignalFact
from kidrate.vocab import ROUND_ORDER

SCHEMA = "kidrate.handover/1"


def rating_status(problem_id: int, rnd: RoundFact | None) -> dict:
    """The child's answer for one problem in one round, or why there is none."""
    if rnd is None:
        return {"status": "not_issued", "value": None}
    if rnd.submitted_at is not None:
        rating = rnd.ratings.get(problem_id)
        if rating is None:
            return {"status": "not_asked", "value": None}
        return {"status": rating.answer, "value": rating.value}
    if not rnd.link_states:
        return {"status": "not_issued", "value": None}
    last = rnd.link_states[-1]
    if last in {"issued", "opened"}:
        return {"status": "pending", "value": None}
    return {"status": last if last in {"expired", "revoked"} else "not_issued", "value": None}


def change(first: dict, last: dict) -> int | None:
    if first["status"] == "rated" and last["status"] == "rated":
        return last["value"] - first["value"]
    return None


def _good_enough(problem_id: int, start: RoundFact | None) -> int | None:
    rating = start.ratings.get(problem_id) if start is not None and start.submitted_at else None
    return rating.good_enough if rating else None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


LIVE_LINK_STATES = frozenset({"issued", "opened"})


def as_sent(facts: CaseFacts, now: datetime) -> CaseFacts:
    """The facts as sending will leave them (red_thread.cases.send_handover): the case closed now, unless
    it already is, and every link still live revoked."""
    if facts.closed_at is not None:
        return facts
    rounds = {
        kind: dataclasses.replace(rnd, link_states=tuple(
            "revoked" if state in LIVE_LINK_STATES else state for state in rnd.link_states))
        for kind, rnd in facts.rounds.items()
    }
    return dataclasses.replace(facts, closed_at=now, rounds=rounds)


def signal_entry(s: SignalFact) -> dict:
    """A safety signal as the handover lists it: what happened, and how it was handled."""
    return {
        "problem_id": s.problem_id, "kind": s.kind, "value": s.value, "previous_value": s.previous_value,
        "words": s.words, "words_language": s.words_language, "raised_at": _iso(s.raised_at),
        "handled_at": _iso(s.handled_at), "handled_by": s.handled_by, "note": s.note,
    }


def _added_words(rnd: RoundFact) -> dict:
    return {
        "round": rnd.kind, "text": rnd.added_text, "language": rnd.added_text_language,
        "translations": [{"language": language, "text": text} for language, text in rnd.added_text_translations],
    }


def compile_handover(facts: CaseFacts, *, compiled_at: datetime, version: int = 1,
                     replaces_version: int | None = None) -> dict:
    """The handover document for a case: what the child said, at each round, and how it ended."""
    child_problems = []
    investigation_problems = []
    missing = {kind: rnd.missing_reason for kind, rnd in facts.rounds.items()}
    for p in facts.problems:
        entry = {
            "id": p.id,
            "words": p.words,
            "words_language": p.words_language,
            "words_swedish": p.words_swedish,
            "category": p.category,
            "category_text": p.category_text,
            "goal": p.goal,
            "worked_with": p.worked_with,
            "worked_with_comment": p.worked_with_comment,
            "goal_attainment": p.goal_attainment,
            # Withdrawn after hand-over: kept in the record, no longer asked (see "amendments").
            "withdrawn_at": _iso(p.withdrawn_at),
        }
        if p.source == "child":
            ratings = {kind: rating_status(p.id, facts.rounds.get(kind)) for kind in ROUND_ORDER}
            entry.update(
                added_at_start=p.added_at_start,
                goal_with_child=p.goal_with_child,
                ratings=ratings,
                change_to_follow_up=change(ratings["start"], ratings["follow_up"]),
                change_to_closure=change(ratings["start"], ratings["closure"]),
                child_view=child_view(ratings, _good_enough(p.id, facts.rounds.get("start")), missing),
            )
            child_problems.append(entry)
        else:
            investigation_problems.append(entry)

    end = facts.closed_at or compiled_at
    duration = (end.date() - facts.assigned_at.date()).days if facts.assigned_at else None
    closure = facts.closure
    return {
        "schema": SCHEMA,
        "version": version,
        "replaces_version": replaces_version,
        "compiled_at": _iso(compiled_at),
        "case": {
            "case_ref": facts.case_ref,
            "age": facts.age,
            "gender": facts.gender,
            "child_language": facts.child_language,
            "intervention_types": list(facts.intervention_types),
            "intervention_text": facts.intervention_text,
            "authority_unit": facts.authority_unit,
            "open_care_unit": facts.open_care_unit,
            "therapist": facts.therapist,
            "created_at": _iso(facts.created_at),
            "assigned_at": _iso(facts.assigned_at),
            "closed_at": _iso(facts.closed_at),
            "follow_up_date": _iso(facts.follow_up_date),
            "duration_days": duration,
        },
        "rounds": {
            kind: {
                "submitted_at": _iso(facts.rounds[kind].submitted_at) if kind in facts.rounds else None,
                "answered_how": facts.rounds[kind].answered_how if kind in facts.rounds else None,
                "missing_reason": facts.rounds[kind].missing_reason if kind in facts.rounds else None,
            }
            for kind in ROUND_ORDER
        },
        "child_problems": child_problems,
        "investigation_problems": investigation_problems,
        "child_added_words": [
            _added_words(facts.rounds[kind])
            for kind in ROUND_ORDER
            if kind in facts.rounds and facts.rounds[kind].added_text
        ],
        # Every safety signal the child's answers raised, and how it was handled (note, who, when).
        "signals": [signal_entry(s) for s in facts.signals],
        # Why it was sent with a signal unhandled: only while one is.
        "unhandled_signals_reason": (closure.unhandled_signals_reason if closure else None)
        if any(s.handled_at is None for s in facts.signals) else None,
        # Corrections to the assignment after hand-over: who, when, what, why (red_thread/amendments.py).
        "amendments": [a.as_document() for a in facts.amendments],
        "met_child_alone": facts.met_child_alone,
        # The red-thread checks still open when the handover was compiled (codes and ids; see checks.py).
        "open_checks": [f.as_document() for f in check_case(facts, compiled_at.date())],
        "closure": {
            "reason": closure.reason,
            "reason_text": closure.reason_text,
            "concern_remaining": closure.concern_remaining,
            "concern_text": closure.concern_text,
            "new_problems": closure.new_problems,
            "participation": dict(closure.participation),
            "recommendation": closure.recommendation,
        } if closure else None,
    }

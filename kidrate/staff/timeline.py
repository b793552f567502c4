"""The returning child on the social worker's case page: every earlier intervention with the same
case reference in the unit, from its stored handovers (the rules are in kidrate/red_thread/timeline.py)."""

from __future__ import annotations

from kidrate.extensions import db
from kidrate.models import Case
from kidrate.protection.access import audit
from kidrate.red_thread.timeline import Episode, build_timeline


def earlier_timeline(earlier: list[Case]) -> list[Episode]:
    """The timeline of the earlier cases (closed, same reference, same unit: cases.earlier_cases),
    newest first. Showing it reads those cases' handovers, so each read is logged at once."""
    if not earlier:
        return []
    episodes = build_timeline((case.id, [h.document for h in case.handovers]) for case in earlier)
    for episode in episodes:
        audit("view_timeline", case_id=episode.case_id)
    db.session.commit()
    return episodes

"""The returning child: every earlier intervention as one line of a timeline, built from the stored
handover snapshots (pure: documents in, entries out; no database, no request).

Each earlier case contributes the documents of its sent handovers (every version). The newest version
says how the intervention ended; every version stays reachable. The documents are snapshots that may
have been written by an older version of kidrate, so a missing field reads as unknown, never as an
error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

ROUND_ORDER = ("start", "follow_up", "closure")
NO_VALUE = "–"


@dataclass(frozen=True)
class Step:
    """The child's answer for one problem in one round, as the handover recorded it."""

    round: str
    status: str  # rated | declined | dont_know | not_asked | not_issued | pending | expired | revoked
    value: int | None = None


@dataclass(frozen=True)
class ProblemLine:
    words: str
    category: str | None
    steps: tuple[Step, ...]
    words_language: str | None = None
    words_swedish: str | None = None
    change: int | None = None  # closure minus start, where both are rated

    @property
    def trajectory(self) -> str:
        """Compact text: "3 → 5 → 8", with "–" where there is no rating."""
        return " → ".join(str(s.value) if s.status == "rated" and s.value is not None else NO_VALUE
                          for s in self.steps)

    @property
    def values(self) -> tuple[int | None, ...]:
        return tuple(s.value if s.status == "rated" else None for s in self.steps)


@dataclass(frozen=True)
class Version:
    version: int
    compiled_at: str | None  # ISO date-time: when it was compiled and sent


@dataclass(frozen=True)
class Episode:
    """One earlier intervention, as its newest handover tells it."""

    case_id: int
    case_ref: str
    assigned_at: str | None
    closed_at: str | None
    duration_days: int | None
    intervention_types: tuple[str, ...]
    problems: tuple[ProblemLine, ...]
    versions: tuple[Version, ...]  # oldest first
    closure_reason: str | None = None
    closure_reason_text: str | None = None
    concern_remaining: bool | None = None
    concern_text: str | None = None
    recommendation: str | None = None
    new_problems: str | None = None
    child_added_words: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (round, text)

    @property
    def latest_version(self) -> int | None:
        return self.versions[-1].version if self.versions else None

    @property
    def chart_problems(self) -> list[dict]:
        """The problems in the handover document's own shape, for kidrate/red_thread/chart.py."""
        return [
            {"words": p.words, "words_language": p.words_language,
             "ratings": {s.round: {"status": s.status, "value": s.value} for s in p.steps}}
            for p in self.problems
        ]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _dict(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _steps(ratings: object) -> tuple[Step, ...]:
    ratings = _dict(ratings)
    steps = []
    for kind in ROUND_ORDER:
        rating = _dict(ratings.get(kind))
        status = _text(rating.get("status")) or "not_issued"
        value = _int(rating.get("value"))
        if status == "rated" and (value is None or not 1 <= value <= 10):
            status, value = "not_issued", None
        steps.append(Step(kind, status, value if status == "rated" else None))
    return tuple(steps)


def _problem(entry: Mapping) -> ProblemLine | None:
    words = _text(entry.get("words"))
    if words is None:
        return None
    steps = _steps(entry.get("ratings"))
    first, last = steps[0], steps[-1]
    change = last.value - first.value if first.status == last.status == "rated" else None
    return ProblemLine(
        words=words,
        words_language=_text(entry.get("words_language")),
        words_swedish=_text(entry.get("words_swedish")),
        category=_text(entry.get("category")),
        steps=steps,
        change=change,
    )


def _version_number(document: Mapping) -> int:
    return _int(document.get("version")) or 0


def episode(case_id: int, documents: Sequence[Mapping]) -> Episode | None:
    """One earlier case from the documents of its handovers; None if it has none."""
    documents = sorted((d for d in documents if isinstance(d, Mapping)), key=_version_number)
    if not documents:
        return None
    latest = documents[-1]
    case = _dict(latest.get("case"))
    closure = _dict(latest.get("closure"))
    # A problem withdrawn after hand-over was not part of the intervention: not on the timeline.
    problems = tuple(p for p in (_problem(_dict(e)) for e in latest.get("child_problems") or ()
                                 if not _dict(e).get("withdrawn_at")) if p)
    added = tuple(
        (w["round"], w["text"]) for w in (_dict(x) for x in latest.get("child_added_words") or ())
        if _text(w.get("round")) and _text(w.get("text"))
    )
    concern = closure.get("concern_remaining")
    return Episode(
        case_id=case_id,
        case_ref=_text(case.get("case_ref")) or "",
        assigned_at=_text(case.get("assigned_at")),
        closed_at=_text(case.get("closed_at")) or _text(latest.get("compiled_at")),
        duration_days=_int(case.get("duration_days")),
        intervention_types=tuple(t for t in case.get("intervention_types") or () if isinstance(t, str)),
        problems=problems,
        versions=tuple(Version(_version_number(d), _text(d.get("compiled_at"))) for d in documents),
        closure_reason=_text(closure.get("reason")),
        closure_reason_text=_text(closure.get("reason_text")),
        concern_remaining=concern if isinstance(concern, bool) else None,
        concern_text=_text(closure.get("concern_text")),
        recommendation=_text(closure.get("recommendation")),
        new_problems=_text(closure.get("new_problems")),
        child_added_words=added,
    )


def build_timeline(cases: Iterable[tuple[int, Sequence[Mapping]]]) -> list[Episode]:
    """Every earlier intervention, newest first: (case id, that case's handover documents) in,
    one Episode per case that has a handover out."""
    episodes = [e for e in (episode(case_id, docs) for case_id, docs in cases) if e is not None]
    # ISO date-times sort as text; a case whose dates are unknown goes last.
    return sorted(episodes, key=lambda e: (e.closed_at or "", e.assigned_at or "", e.case_id), reverse=True)

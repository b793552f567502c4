"""The follow-up meeting with the child: the child's own answers so far, per problem the child named,
round by round, for therapist and child to look at together (pure: plain data in, rows out).

Only what the child said is here: the child's words and the child's answers. No category, no goal,
no professional note. Each answer keeps the view of the scale the child answered in, so the page
shows it as the child chose it (two steps as "good · a little", not as 6 of 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ROUND_ORDER = ("start", "follow_up", "closure")


@dataclass(frozen=True)
class ChildWords:
    """A problem the child named, in the page's language where staff translated it, and as said."""

    id: int
    words: str  # in the page's language if translated, else as said
    lang: str | None  # the language `words` is in
    original: str | None = None  # as said, when `words` is a translation
    original_lang: str | None = None


@dataclass(frozen=True)
class Answer:
    answer: str  # rated | declined | dont_know
    value: int | None = None
    good_enough: int | None = None
    view: str = "ten"  # the view of the scale the child answered in (red_thread.scale.VIEWS)


@dataclass(frozen=True)
class Cell:
    round: str
    state: str  # face | declined | dont_know | not_yet | none
    value: int | None = None
    view: str = "ten"


@dataclass(frozen=True)
class Row:
    problem: ChildWords
    cells: tuple[Cell, ...]
    good_enough: int | None = None
    good_enough_view: str = "ten"  # the view the good-enough answer was given in (the start's)


def words_for(problem_id: int, said: str, said_lang: str | None, translated: str | None,
              page_lang: str) -> ChildWords:
    """The words to show on a page in `page_lang`: the translation where there is one, with the
    words as said one tap away; else the words as said, marked with their own language."""
    said_lang = said_lang or page_lang
    if translated and translated != said:
        return ChildWords(problem_id, translated, page_lang, said, said_lang)
    return ChildWords(problem_id, said, said_lang if not translated else page_lang)


def cell(kind: str, answer: Answer | None, *, round_answered: bool, case_closed: bool) -> Cell:
    if answer is not None and answer.answer == "rated" and answer.value is not None and 1 <= answer.value <= 10:
        return Cell(kind, "face", answer.value, answer.view)
    if answer is not None and answer.answer in ("declined", "dont_know"):
        return Cell(kind, answer.answer, view=answer.view)
    # Not answered: still to come while the intervention runs; after closure it will not come.
    if round_answered or case_closed:
        return Cell(kind, "none")
    return Cell(kind, "not_yet")


def rows(problems: Sequence[ChildWords], answers: Mapping[tuple[int, str], Answer],
         answered_rounds: frozenset[str] | set[str], *, case_closed: bool = False) -> list[Row]:
    """One row per problem the child named, one cell per round, in the order the rounds run.

    `answers` maps (problem id, round kind) to the child's answer; `answered_rounds` are the rounds
    the child has sent (a problem missing from a sent round was not asked in it)."""
    result = []
    for p in problems:
        cells = tuple(
            cell(kind, answers.get((p.id, kind)), round_answered=kind in answered_rounds, case_closed=case_closed)
            for kind in ROUND_ORDER
        )
        start = answers.get((p.id, "start"))
        enough = start.good_enough if start is not None and start.good_enough else None
        result.append(Row(p, cells, enough, start.view if enough else "ten"))
    return result

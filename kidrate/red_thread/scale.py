"""The child's rating scale and the validation of the child's answers (pure functions).

Whatever view the child sees, the stored value is an integer 1–10 (or a recorded "don't want to
answer" / "don't know"), together with the view and the version of its mapping to 1–10:

- "two_step" (about ages 6–7): good or not good, then a little / quite / very → 1, 3, 5 or 6, 8, 10;
- "six" (about ages 8–12): six faces with words → 1, 3, 5, 6, 8, 10;
- "ten" (about ages 13–17): the full ladder 1–10.

The same mapping carries a child's choices from one view to another when the child switches view
mid-way (`carry_answers`): a value goes where the other view offers the same value, and where it
offers none (2, 4, 7 or 9 of the ladder, in six faces or two steps) that question is asked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCALE = tuple(range(1, 11))
SCALE_VERSION = 1
VIEWS = ("two_step", "six", "ten")
SIX_VALUES = (1, 3, 5, 6, 8, 10)
VIEW_VALUES = {"two_step": SIX_VALUES, "six": SIX_VALUES, "ten": SCALE}
NOT_ANSWERED = ("declined", "dont_know")
ADDED_TEXT_MAX = 2000
# Step one: good or not good; step two: how much. Together they give the stored value.
TWO_STEP = {
    ("not_good", "very"): 1, ("not_good", "quite"): 3, ("not_good", "little"): 5,
    ("good", "little"): 6, ("good", "quite"): 8, ("good", "very"): 10,
}
_CLIENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def default_view(age: int) -> str:
    if age <= 7:
        return "two_step"
    if age <= 12:
        return "six"
    return "ten"


def simpler(view: str) -> str | None:
    index = VIEWS.index(view)
    return VIEWS[index - 1] if index > 0 else None


def more_detailed(view: str) -> str | None:
    index = VIEWS.index(view)
    return VIEWS[index + 1] if index + 1 < len(VIEWS) else None


def two_step_parts(value: int) -> tuple[str, str]:
    """The two choices that give a stored value (to show a child's choice again in the two-step view)."""
    return next(parts for parts, v in TWO_STEP.items() if v == value)


# --- A child's choices, carried across a change of view or language ----------------------------------
# A choice as the page shows it again: a value of the view ("1"–"10"), "declined" or "dont_know", ""
# for nothing chosen; in the two-step view also half an answer, one step taken: "good/" or "/little".
GOOD_STEPS = ("good", "not_good")
AMOUNT_STEPS = ("very", "quite", "little")


def two_step_choice(choice: str) -> tuple[str, str]:
    """The two steps behind a choice in the two-step view, "" for a step not taken."""
    if "/" in choice:
        good, _sep, amount = choice.partition("/")
        return (good if good in GOOD_STEPS else "", amount if amount in AMOUNT_STEPS else "")
    value = _small_int(choice)
    if value is not None and value in VIEW_VALUES["two_step"]:
        return two_step_parts(value)
    return ("", "")


def read_choice(form: Mapping[str, str], problem_id: int, view: str) -> str | None:
    """One problem's choice in a posted form, in the view it was made in: "" for nothing chosen, None
    for something that is no choice of that view."""
    raw = (form.get(field_name(problem_id)) or "").strip()
    if raw in NOT_ANSWERED:
        return raw
    if raw:
        value = _small_int(raw)
        return str(value) if value is not None and value in VIEW_VALUES[view] else None
    if view != "two_step":
        return ""
    good = (form.get(f"good-{problem_id}") or "").strip()
    amount = (form.get(f"amount-{problem_id}") or "").strip()
    if good not in ("", *GOOD_STEPS) or amount not in ("", *AMOUNT_STEPS):
        return None
    if good and amount:
        return str(TWO_STEP[(good, amount)])
    return f"{good}/{amount}" if good or amount else ""


def read_good_enough(form: Mapping[str, str], problem_id: int) -> str | None:
    """One problem's good-enough choice in a posted form: "" for none, None for something not on the scale."""
    raw = (form.get(f"enough-{problem_id}") or "").strip()
    if not raw:
        return ""
    value = _small_int(raw)
    return str(value) if value is not None and value in SCALE else None


def map_choice(choice: str, to_view: str) -> str | None:
    """A choice in another view, by the scale's own mapping: every view stores 1–10, so a value stays
    itself where the other view offers it; "don't want to answer", "don't know" and nothing stay as
    they are; half a two-step answer has a place only in the two-step view. None where the other view
    has no exact place for the choice: the question is asked again."""
    if choice in ("", *NOT_ANSWERED):
        return choice
    if "/" in choice:
        return choice if to_view == "two_step" else None
    value = _small_int(choice)
    return choice if value is not None and value in VIEW_VALUES[to_view] else None


def map_good_enough(choice: str, to_view: str) -> str | None:
    """A good-enough choice in another view: each view offers its own values (None: asked again)."""
    if not choice:
        return choice
    value = _small_int(choice)
    return choice if value is not None and value in VIEW_VALUES[to_view] else None


@dataclass(frozen=True)
class AskAgain:
    """A choice that has no exact place in the view the child switched to: the question asks again."""

    problem_id: int
    part: str  # "answer", or "enough" for the good-enough question
    earlier: str  # the choice as it was made, in the view it was made in


@dataclass(frozen=True)
class Carried:
    """The choices of a posted form, in the view the page is shown in next."""

    view: str
    chosen: dict[int, str]
    enough: dict[int, str]
    ask_again: tuple[AskAgain, ...] = ()
    invalid: bool = False  # something posted was no choice of its view: left out, and said so


def carry_answers(form: Mapping[str, str], problem_ids: Iterable[int], *, from_view: str, to_view: str,
                  ask_good_enough: bool = False) -> Carried:
    """Every choice of a posted form (made in `from_view`), to show again in `to_view`: the same choices
    where they map exactly, the rest left open and named in `ask_again`. Nothing here is stored."""
    if from_view not in VIEWS or to_view not in VIEWS:
        raise ValueError((from_view, to_view))
    chosen: dict[int, str] = {}
    enough: dict[int, str] = {}
    ask_again: list[AskAgain] = []
    invalid = False
    for pid in problem_ids:
        choice = read_choice(form, pid, from_view)
        enough_choice = read_good_enough(form, pid) if ask_good_enough else ""
        if choice is None or enough_choice is None:
            invalid = True
        mapped = map_choice(choice or "", to_view)
        if mapped is None:
            ask_again.append(AskAgain(pid, "answer", choice or ""))
        chosen[pid] = mapped or ""
        mapped_enough = map_good_enough(enough_choice or "", to_view)
        if mapped_enough is None:
            ask_again.append(AskAgain(pid, "enough", enough_choice or ""))
        enough[pid] = mapped_enough or ""
    return Carried(to_view, chosen, enough, tuple(ask_again), invalid)


@dataclass(frozen=True)
class Answer:
    problem_id: int
    answer: str  # "rated", "declined" or "dont_know"
    value: int | None
    good_enough: int | None = None


@dataclass(frozen=True)
class ParsedAnswers:
    answers: tuple[Answer, ...]
    added_text: str | None
    client_id: str | None
    errors: tuple[str, ...]  # message codes; the view says them in the child's language


def field_name(problem_id: int) -> str:
    return f"answer-{problem_id}"


def _small_int(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 2 else None


def _one_answer(form: Mapping[str, str], pid: int, view: str) -> tuple[str, int | None] | str:
    """(answer, value) for one problem, or an error code."""
    raw = (form.get(field_name(pid)) or "").strip()
    if not raw and view == "two_step":
        parts = ((form.get(f"good-{pid}") or "").strip(), (form.get(f"amount-{pid}") or "").strip())
        if all(parts):
            return ("rated", TWO_STEP[parts]) if parts in TWO_STEP else "out_of_range"
        return "missing"
    if not raw:
        return "missing"
    if raw in NOT_ANSWERED:
        return (raw, None)
    value = _small_int(raw)
    if value is None or value not in VIEW_VALUES[view]:
        return "out_of_range"
    return ("rated", value)


def parse_answers(form: Mapping[str, str], problem_ids: Iterable[int], *, view: str = "ten",
                  ask_good_enough: bool = False) -> ParsedAnswers:
    """Validate a submitted form against the round's problems. Nothing partial is ever accepted."""
    if view not in VIEWS:
        raise ValueError(view)
    expected = list(problem_ids)
    errors: list[str] = []
    answers: list[Answer] = []

    known = {pid: str(pid) for pid in expected}
    for key in form:
        prefix, _sep, pid = key.partition("-")
        if prefix in {"answer", "good", "amount", "enough"} and pid not in known.values():
            errors.append("unknown_question")
        if prefix == "enough" and not ask_good_enough:
            errors.append("unknown_question")

    for pid in expected:
        result = _one_answer(form, pid, view)
        if isinstance(result, str):
            errors.append(result)
            continue
        answer, value = result
        enough_raw = (form.get(f"enough-{pid}") or "").strip() if ask_good_enough else ""
        enough = _small_int(enough_raw) if enough_raw else None
        if enough_raw and (enough is None or enough not in SCALE):
            errors.append("out_of_range")
        answers.append(Answer(pid, answer, value, enough))

    text = (form.get("added_text") or "").strip()
    if len(text) > ADDED_TEXT_MAX:
        errors.append("text_too_long")
    if "\x00" in text:
        errors.append("text_invalid")

    client_id = (form.get("client_id") or "").strip().lower() or None
    if client_id is not None and not _CLIENT_ID.match(client_id):
        errors.append("out_of_range")

    unique_errors = tuple(dict.fromkeys(errors))
    if unique_errors:
        return ParsedAnswers((), None, None, unique_errors)
    return ParsedAnswers(tuple(answers), text or None, client_id, ())

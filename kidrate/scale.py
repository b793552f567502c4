"""The child's rating scale and the validation of the child's answers (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCALE = tuple(range(1, 11))
DECLINED = "declined"
ADDED_TEXT_MAX = 2000


@dataclass(frozen=True)
class Answer:
    problem_id: int
    answer: str  # "rated" or "declined"
    value: int | None


@dataclass(frozen=True)
class ParsedAnswers:
    answers: tuple[Answer, ...]
    added_text: str | None
    errors: tuple[str, ...]  # message codes; the view turns them into the child's language


def field_name(problem_id: int) -> str:
    return f"answer-{problem_id}"


def parse_answers(form: Mapping[str, str], problem_ids: Iterable[int]) -> ParsedAnswers:
    """Validate a submitted form against the round's problems. Nothing partial is ever accepted."""
    expected = list(problem_ids)
    errors: list[str] = []
    answers: list[Answer] = []

    known_fields = {field_name(pid) for pid in expected}
    if any(key.startswith("answer-") and key not in known_fields for key in form):
        errors.append("unknown_question")

    for pid in expected:
        raw = (form.get(field_name(pid)) or "").strip()
        if not raw:
            errors.append("missing")
        elif raw == DECLINED:
            answers.append(Answer(pid, "declined", None))
        elif raw.isascii() and raw.isdigit() and int(raw) in SCALE:
            answers.append(Answer(pid, "rated", int(raw)))
        else:
            errors.append("out_of_range")

    text = (form.get("added_text") or "").strip()
    if len(text) > ADDED_TEXT_MAX:
        errors.append("text_too_long")
    if "\x00" in text:
        errors.append("text_invalid")

    unique_errors = tuple(dict.fromkeys(errors))
    if unique_errors:
        return ParsedAnswers((), None, unique_errors)
    return ParsedAnswers(tuple(answers), text or None, ())

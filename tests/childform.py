"""The child's form as a browser would post it: the page's hidden fields plus answers. For tests
that need the form without posting it at once (tests/conftest.py child_posts() posts and asserts)."""

from __future__ import annotations

import re

from .conftest import HIDDEN_INPUT

_NAME = re.compile(r'\bname="([^"]+)"')
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        name, value = _NAME.search(tag), _VALUE.search(tag)
        if name:
            fields[name.group(1)] = value.group(1) if value else ""
    assert fields.get("form_token"), "no form_token on the child's page"
    return fields


def child_form(html: str, problem_ids, value: str = "6") -> dict[str, str]:
    """The page's hidden fields and the same answer to every problem (6 is on every view of the scale)."""
    return {**hidden_fields(html), **{f"answer-{pid}": value for pid in problem_ids}}

"""The child's page renders each question's choices once per view, language and catalogue and keeps
them (kidrate/child/fragments.py): the kept page must be the page rendered inline."""

from __future__ import annotations

import re

import pytest

from kidrate.child import fragments
from kidrate.extensions import db
from kidrate.models import Case

PER_REQUEST = re.compile(r'(name="(?:form_token|client_id)" value=")[^"]+"')
WHITESPACE = re.compile(r"\s+")


def _page(client, token: str, lang: str) -> str:
    """The page without what changes per request, each run of white space as one (HTML shows them alike)."""
    return WHITESPACE.sub(" ", PER_REQUEST.sub(r'\1…"', client.get(f"/r/{token}?lang={lang}").text))


@pytest.mark.parametrize("age", [6, 10, 15])  # two steps, six faces, 1 to 10
@pytest.mark.parametrize("kind", ["start", "follow_up"])  # with and without "good enough"
@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_a_kept_fragment_is_the_page_rendered_inline(app, make, age, kind, lang):
    case = make.case(make.user("social_worker"), therapist=make.user("therapist"), age=age,
                     words=("Pappa slår mig.", "Jag har inga kompisar.", "Ingen lyssnar"))
    token = make.link(db.session.get(Case, case.id), kind, language=lang)
    client = app.test_client()
    fragments._kept.clear()
    kept = _page(client, token, lang)
    assert fragments._kept, "the page kept no fragment"
    assert str(fragments.STAND_IN) not in kept
    again = _page(client, token, lang)  # from the kept fragment
    app.jinja_env.auto_reload = True  # inline, as a development server renders it
    try:
        inline = _page(client, token, lang)
    finally:
        app.jinja_env.auto_reload = False
    assert kept == again == inline
    for problem in db.session.get(Case, case.id).problems:
        assert f'id="q{problem.id}"' in kept
        assert f'name="answer-{problem.id}"' in kept or f'name="good-{problem.id}"' in kept

"""A question's choices rendered once and kept: the scale is most of what the child's page costs to
render, and with nothing chosen yet it is the same for every question but for the problem's id.

The fragment is rendered with a stand-in id and kept per view, language, "good enough" and the
catalogue in use (the Translations object itself: an organisation's new upload is a new object, so a
new key); each question then gets it with its own id put in. A page with something chosen (shown again
from a posted form), or with recorded labels (their addresses name the link), renders inline instead,
and so does a development server that reloads templates.
"""

from __future__ import annotations

from flask import current_app, g, render_template
from flask_babel import get_translations
from markupsafe import Markup

from kidrate.red_thread.scale import field_name

STAND_IN = 987654321  # never a real problem id in a page: ids stay below 2**31 but this text is unique
KEEP_AT_MOST = 512
_kept: dict[tuple, str] = {}


def choices_html(problem_id: int, *, view: str, language: str, values: tuple[int, ...],
                 ask_good_enough: bool) -> Markup | None:
    """The question's choices with nothing chosen, from the kept fragment; None where it cannot be kept."""
    recordings = g.get("message_recordings")
    if current_app.jinja_env.auto_reload or (recordings and recordings["ids"]):
        return None
    key = (view, language, ask_good_enough, get_translations())
    fragment = _kept.get(key)
    if fragment is None:
        fragment = render_template("child/_question_scale.html", fragment_problem={"id": STAND_IN}, view=view,
                                   values=values, ask_good_enough=ask_good_enough, field_name=field_name)
        if len(_kept) >= KEEP_AT_MOST:
            _kept.clear()
        _kept[key] = fragment
    return Markup(fragment.replace(str(STAND_IN), str(problem_id)))  # noqa: S704 (rendered, escaped above)

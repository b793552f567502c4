"""The follow-up meeting: the therapist and the child look at the child's answers together on a
tablet. The page is read by the child: it speaks the child's catalogue, in the child's language."""

from __future__ import annotations

from flask import abort, render_template, request, url_for

from kidrate.extensions import db
from kidrate.languages.i18n import available_child_locales, child_domain, set_catalogue_organisation, set_page_locale
from kidrate.models import Case
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import together
from kidrate.red_thread.cases import child_problems
from kidrate.staff import bp
from kidrate.staff.cases import refuse_if_purged


def page_language(case: Case, asked: str | None) -> str:
    """The language asked for on the page, else the child's, else Swedish: only languages the
    child's pages speak."""
    available = available_child_locales()
    if asked in available:
        return asked
    return case.child_language if case.child_language in available else "sv"


def _rows(case: Case, language: str) -> list[together.Row]:
    problems = [
        together.words_for(p.id, p.words, p.words_language, p.words_in(language), language)
        for p in child_problems(case)
    ]
    answers = {}
    answered = set()
    for rnd in case.rounds:
        if rnd.submission is None:
            continue
        answered.add(rnd.kind)
        for r in rnd.submission.ratings:
            answers[(r.problem_id, rnd.kind)] = together.Answer(r.answer, r.value, r.good_enough, r.scale_view)
    return together.rows(problems, answers, answered, case_closed=case.status == "closed")


@bp.get("/cases/<int:case_id>/together")
@allow("therapist")
def together_view(case_id: int):
    case = case_or_404(case_id)
    if case.status == "draft":
        abort(404)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    language = page_language(case, request.args.get("lang"))
    audit("view_together", case_id=case.id, target=language)
    db.session.commit()
    # From here on the page is the child's: the child's catalogue, the child's language and direction.
    child_domain.as_default()
    set_catalogue_organisation(case.organisation_id)
    set_page_locale(language)
    return render_template(
        "child/together.html",
        rows=_rows(case, language),
        page_lang=language,
        child_languages=available_child_locales(),
        here=lambda code: url_for("staff.together_view", case_id=case.id, lang=code),
        back_url=url_for("staff.case_view", case_id=case.id),
    )

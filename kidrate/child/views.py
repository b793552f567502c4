"""Thin views for the child's link: show the questions, take the answers once, say thank you."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from .. import links
from ..cases import child_problems
from ..extensions import csrf, db
from ..i18n import CHILD_LOCALES, child_domain, set_page_locale
from ..models import ChildLink, Rating, Submission, utcnow
from ..scale import ADDED_TEXT_MAX, SCALE, field_name, parse_answers
from ..security import public
from . import bp

_ = child_domain.gettext


@bp.before_request
def use_child_catalogue() -> None:
    child_domain.as_default()
    set_page_locale(_fallback_locale())


def _fallback_locale() -> str:
    """Pages that belong to no usable link speak the browser's language: the same for every such
    link, so the language reveals nothing about which link it was."""
    return request.accept_languages.best_match(CHILD_LOCALES) or "sv"


def _form_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="kidrate-child-form")


def _form_token(link: ChildLink) -> str:
    """The child's form is bound to its link rather than to a cookie: the child's device keeps none."""
    return _form_signer().dumps(link.token_hash[:32])


def _form_token_valid(link: ChildLink, value: str | None) -> bool:
    max_age = (current_app.config["KIDRATE"].link_days + 1) * 86400
    try:
        return bool(value) and _form_signer().loads(value, max_age=max_age) == link.token_hash[:32]
    except BadSignature:
        return False


ERROR_MESSAGES = {
    "missing": lambda: _("Please choose an answer for every question. You can choose "
                         "“I don't want to answer”."),
    "out_of_range": lambda: _("One answer was not one of the choices. Please choose again."),
    "unknown_question": lambda: _("The questions have changed. Please look at them again."),
    "text_too_long": lambda: _("What you wrote is too long. Please make it shorter."),
    "text_invalid": lambda: _("What you wrote has a sign we cannot save. Please write it again."),
}


def _gone():
    return render_template("child/gone.html"), 404


def child_error_page(code: int):
    """Errors under /r/ look like the child's other pages: a broken address is just a link that
    can't be used; anything else asks the child to try again."""
    use_child_catalogue()
    if code == 404:
        return _gone()
    return render_template("child/try_again.html"), code


def _already_sent():
    return render_template("child/already_sent.html")


def _render_questions(link: ChildLink, errors: tuple[str, ...] = (), chosen: dict | None = None,
                      status: int = 200):
    case = link.round.case
    return render_template(
        "child/questions.html",
        token_form=_form_token(link),
        problems=child_problems(case),
        scale=SCALE,
        field_name=field_name,
        chosen=chosen or {},
        errors=[ERROR_MESSAGES[e]() for e in errors],
        added_text_max=ADDED_TEXT_MAX,
        round_kind=link.round.kind,
    ), status


@bp.get("/<token>")
@public
def questions(token: str):
    link = links.find(db.session, token)
    if not links.usable(link):
        return _gone()
    set_page_locale(link.language)
    if link.opened_at is None:
        link.opened_at = utcnow()
        db.session.commit()
    return _render_questions(link)


@bp.post("/<token>")
@public
@csrf.exempt  # the form carries its own token, bound to the link (see _form_token)
def submit(token: str):
    link = links.find(db.session, token)
    if link is None:
        return _gone()
    set_page_locale(link.language)
    if link.used_at is not None or link.round.submission is not None:
        return _already_sent()
    if not links.usable(link):
        return _gone()
    if not _form_token_valid(link, request.form.get("form_token")):
        return render_template("child/try_again.html"), 400

    problems = child_problems(link.round.case)
    parsed = parse_answers(request.form, [p.id for p in problems])
    if parsed.errors:
        chosen = {p.id: request.form.get(field_name(p.id), "") for p in problems}
        return _render_questions(link, parsed.errors, chosen, status=400)

    # One transaction: consume the link and store the answers, or do neither.
    try:
        if not links.consume(db.session, link):
            db.session.rollback()
            return _already_sent() if db.session.get(ChildLink, link.id).used_at else _gone()
        submission = Submission(round_id=link.round_id, link_id=link.id, added_text=parsed.added_text)
        submission.ratings = [
            Rating(problem_id=a.problem_id, answer=a.answer, value=a.value) for a in parsed.answers
        ]
        db.session.add(submission)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _already_sent()
    return redirect(url_for("child.thanks", lang=link.language), code=303)


@bp.get("/thanks")
@public
def thanks():
    lang = request.args.get("lang")
    if lang in CHILD_LOCALES:
        set_page_locale(lang)
    return render_template("child/thanks.html")

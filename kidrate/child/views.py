"""Thin views for the child's link: show the questions, check them, take them once, say thank you."""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, jsonify, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from kidrate.child import bp, fragments
from kidrate.extensions import csrf, db
from kidrate.languages.i18n import (
    CHILD_LOCALES,
    available_child_locales,
    child_domain,
    set_catalogue_organisation,
    set_page_locale,
)
from kidrate.languages.recordings import message_key
from kidrate.models import ChildLink, Problem, Rating, Recording, Submission
from kidrate.protection.access import current_staff_session, public
from kidrate.protection.crypto import known_keys
from kidrate.red_thread import links, tablet
from kidrate.red_thread.cases import child_problems
from kidrate.red_thread.rating_summary import refresh_rating_summary
from kidrate.red_thread.scale import (
    ADDED_TEXT_MAX,
    NOT_ANSWERED,
    SCALE_VERSION,
    VIEW_VALUES,
    VIEWS,
    Carried,
    carry_answers,
    default_view,
    field_name,
    more_detailed,
    parse_answers,
    simpler,
    two_step_choice,
)
from kidrate.red_thread.signals import record_signals

_ = child_domain.gettext


@bp.before_request
def use_child_catalogue() -> None:
    child_domain.as_default()
    # The installation's words until a link names its organisation (never a signed-in staff member's).
    set_catalogue_organisation(None)
    set_page_locale(_fallback_locale())


def _speak_for(link: ChildLink) -> None:
    """The page speaks the link's language, in the catalogue of the organisation the link's case belongs to."""
    set_catalogue_organisation(link.round.case.organisation_id)
    set_page_locale(_language_for(link))


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
    "not_a_choice": lambda: _("That choice is not on this page. Your answers are still here."),
    # NOTE: "the text" is what the child wrote; "that sign" is one character in it that cannot be stored.
    "text_invalid": lambda: _("What you wrote has a sign we cannot save. Please write the text again without "
                              "that sign."),
}


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _gone():
    if request.method == "POST" and _wants_json():
        return jsonify(status="gone"), 404
    if _handed_over() is not None:
        return _give_back()
    return render_template("child/gone.html"), 404


def _handed_over() -> ChildLink | None:
    """The link of a tablet hand-over when this browser is the therapist's locked device
    (staff/tablet.py): the child has no link of their own there, so its pages end on giving it back."""
    row = current_staff_session()
    if row is None or not row.locked or row.hand_over_link_id is None:
        return None
    return db.session.get(ChildLink, row.hand_over_link_id)


def _give_back():
    """On a handed-over device, every end (sent, reloaded, gone) says: give the device back; the adult
    unlocks it from there. A reload shows the same page."""
    link = _handed_over()
    answered = link is not None and link.used_at is not None
    again = None
    if link is not None:
        set_page_locale(_language_for(link))
        # Not sent yet (a reload half-way): the questions can start again on this device.
        opened = links.open_sealed_token(known_keys(), session.get(tablet.HAND_OVER_SEALED), link,
                                         session_id=current_staff_session().id)
        if opened is not None and links.usable(link):
            again = url_for("child.questions", token=opened[0], lang=_language_for(link))
    return render_template("child/thanks.html", handed_over=True, answered=answered, again_url=again)


def child_error_page(code: int):
    """Errors under /r/ look like the child's other pages: a broken address is just a link that
    can't be used; anything else asks the child to try again."""
    use_child_catalogue()
    if code == 404:
        return _gone()
    if _wants_json():
        # Too many requests from this address: the page keeps the answers and sends them again by itself.
        return jsonify(status="retry" if code == 429 else "error"), code
    return render_template("child/try_again.html"), code


def _thanks_url(link: ChildLink) -> str:
    return url_for("child.thanks", lang=_language_for(link))


def _done(link: ChildLink, status: str):
    """The answer to a submission that is (now, or already) stored."""
    if status == "sent":
        if _wants_json():
            return jsonify(status="sent", next=_thanks_url(link))
        return redirect(_thanks_url(link), code=303)
    if _wants_json():
        return jsonify(status="already_sent", next=url_for("child.already_sent", lang=_language_for(link)))
    return render_template("child/already_sent.html")


def _language_for(link: ChildLink) -> str:
    """The language the child chose on this page (held by the page itself, for this link only),
    else the one the therapist set on the link."""
    asked = request.values.get("lang")
    return asked if asked in available_child_locales() else link.language


# Built once (the child's page asks on every request); the values are bound per request.
_RECORDINGS = select(Recording.id, Recording.problem_id, Recording.message_key).where(
    Recording.language == bindparam("language"),
    or_(Recording.problem_id.in_(bindparam("problem_ids", expanding=True)),
        and_(Recording.message_key.is_not(None), Recording.organisation_id == bindparam("organisation_id"))))


def _recordings(problems: list[Problem], language: str, organisation_id: int) -> tuple[dict[int, int], dict[str, int]]:
    """The recordings in the page's language, in one query: {problem id: recording id} for the problems'
    words, {message key: recording id} for the fixed texts the organisation recorded."""
    found = db.session.execute(_RECORDINGS, {"language": language, "problem_ids": [p.id for p in problems],
                                             "organisation_id": organisation_id}).all()
    return ({r.problem_id: r.id for r in found if r.problem_id is not None},
            {r.message_key: r.id for r in found if r.message_key is not None})


def _shown_problems(problems: list[Problem], language: str, recorded: dict[int, int]) -> list[dict]:
    """Each problem in the page's language where staff have translated it, with the words as said
    one tap away; a recording in the page's language where there is one (recorded: problem id → id)."""
    shown = []
    for p in problems:
        translated = p.words_in(language)
        original_lang = p.words_language or language
        shown.append({
            "id": p.id,
            "words": translated or p.words,
            "lang": language if translated else original_lang,
            "original": p.words if translated and translated != p.words else None,
            "original_lang": original_lang,
            "audio": recorded.get(p.id),
        })
    return shown


@bp.app_template_global("say")
def say(msgid: str, **variables) -> Markup:
    """A fixed text of the child's page, translated; with its recording's address (data-audio) where
    the text is recorded in the page's language, so that Listen can play it."""
    text = escape(_(msgid))
    if variables:
        text = text % variables
    recordings = g.get("message_recordings")
    recording_id = recordings and recordings["ids"].get(message_key(msgid))
    if not recording_id:
        return text
    url = url_for("child.audio", token=recordings["token"], recording_id=recording_id, lang=recordings["lang"])
    return Markup('<span data-audio="{}">{}</span>').format(url, text)


def _view_for(link: ChildLink) -> str:
    """The view the child chose on this page, else the therapist's choice, else from age."""
    case = link.round.case
    asked = request.values.get("view")
    if asked in VIEWS:
        return asked
    return case.scale_view or default_view(case.age)


# The two steps behind a choice in the two-step view, for the scale's macros (templates/child/_scale.html).
bp.add_app_template_global(two_step_choice, "two_step_choice")


def _start_step(step: str | None, problems: list[Problem], ask_again: dict[int, dict[str, str]]) -> int:
    """Where the page (with JavaScript, one step at a time) opens: at the first question asked again,
    else at the step the child was on (a question, "anything to add?", or the check), else the first."""
    for index, p in enumerate(problems):
        if p.id in ask_again:
            return index
    if step and step.isascii() and step.isdigit() and int(step) <= len(problems) + 1:
        return int(step)
    return 0


def _render_questions(link: ChildLink, token: str, *, errors: tuple[str, ...] = (), status: int = 200,
                      carried: Carried | None = None, language: str | None = None, step: str | None = None):
    """The questions, with the child's choices from a posted form checked again (never from storage):
    as they were, or carried into another view (`carried`)."""
    case = link.round.case
    problems = child_problems(case)
    ask_good_enough = link.round.kind == "start"
    if carried is None:
        view = _view_for(link)
        carried = (carry_answers(request.form, [p.id for p in problems], from_view=view, to_view=view,
                                 ask_good_enough=ask_good_enough)
                   if request.method == "POST" else Carried(view, {}, {}))
    view = carried.view
    language = language or _language_for(link)
    ask_again: dict[int, dict[str, str]] = {}
    for again in carried.ask_again:
        ask_again.setdefault(again.problem_id, {})[again.part] = again.earlier

    recorded, messages = _recordings(problems, language, case.organisation_id)
    g.message_recordings = {"token": token, "lang": language, "ids": messages}
    shown = _shown_problems(problems, language, recorded)
    nothing_chosen = not (carried.chosen or carried.enough or ask_again)
    for p in shown:
        p["audio"] = p["audio"] and url_for("child.audio", token=token, recording_id=p["audio"])
        if nothing_chosen:
            p["choices_html"] = fragments.choices_html(
                p["id"], view=view, language=language, values=VIEW_VALUES[view], ask_good_enough=ask_good_enough)
    less, more = simpler(view), more_detailed(view)
    return render_template(
        "child/questions.html",
        action=url_for("child.submit", token=token),
        form_token=_form_token(link),
        client_id=request.form.get("client_id") or str(uuid.uuid4()),
        problems=shown,
        view=view,
        values=VIEW_VALUES[view],
        field_name=field_name,
        chosen=carried.chosen,
        chosen_enough=carried.enough,
        ask_again=ask_again,
        start_step=_start_step(step, problems, ask_again),
        # A page shown again from a posted form holds answers not yet sent (child.js asks before leaving).
        unsent=request.method == "POST",
        added_text=request.form.get("added_text", "")[:ADDED_TEXT_MAX],
        ask_good_enough=ask_good_enough,
        errors=[ERROR_MESSAGES[e]() for e in errors],
        added_text_max=ADDED_TEXT_MAX,
        page_lang=language,
        child_languages=available_child_locales(),
        switch_simpler=less,
        switch_detailed=more,
    ), status


def _render_review(link: ChildLink, token: str, parsed, view: str):
    language = _language_for(link)
    shown = child_problems(link.round.case)
    problems = {p["id"]: p for p in _shown_problems(shown, language, {})}
    summary = [
        {"words": problems[a.problem_id]["words"], "lang": problems[a.problem_id]["lang"],
         "answer": a.answer, "value": a.value, "enough": a.good_enough}
        for a in parsed.answers
    ]
    hidden = [("form_token", request.form.get("form_token", "")), ("client_id", parsed.client_id or ""),
              ("view", view), ("lang", language), ("added_text", parsed.added_text or "")]
    for a in parsed.answers:
        hidden.append((field_name(a.problem_id), a.answer if a.answer in NOT_ANSWERED else str(a.value)))
        if a.good_enough:
            hidden.append((f"enough-{a.problem_id}", str(a.good_enough)))
    return render_template("child/review.html", action=url_for("child.submit", token=token), summary=summary,
                           hidden=hidden, added_text=parsed.added_text, page_lang=language, view=view)


@bp.get("/<token>")
@public
def questions(token: str):
    link = links.find(db.session, token)
    if not links.usable(link):
        return _gone()
    _speak_for(link)
    if link.opened_at is None:
        links.mark_opened(db.session, link)
        db.session.commit()
    return _render_questions(link, token)


@bp.post("/<token>")
@public
@csrf.exempt  # the form carries its own token, bound to the link (see _form_token)
def submit(token: str):
    link = links.find(db.session, token)
    if link is None:
        return _gone()
    _speak_for(link)
    posted_client_id = (request.form.get("client_id") or "").strip().lower() or None
    existing = link.round.submission
    if link.used_at is not None or existing is not None:
        same = existing is not None and posted_client_id and existing.client_id == posted_client_id
        return _done(link, "sent" if same else "already_sent")
    if not links.usable(link):
        return _gone()
    if not _form_token_valid(link, request.form.get("form_token")):
        if _wants_json():
            return jsonify(status="error"), 400
        return render_template("child/try_again.html"), 400
    if "switch_view" in request.form or "switch_lang" in request.form:
        return _switch(link, token)  # never a submission

    view = request.form.get("view")
    if view not in VIEWS:
        view = _view_for(link)
    problems = child_problems(link.round.case)
    parsed = parse_answers(request.form, [p.id for p in problems], view=view,
                           ask_good_enough=link.round.kind == "start")
    intent = request.form.get("intent", "send")
    if parsed.errors:
        if _wants_json():
            return jsonify(status="invalid", errors=[ERROR_MESSAGES[e]() for e in parsed.errors]), 400
        return _render_questions(link, token, errors=parsed.errors, status=400)
    if intent == "change":
        return _render_questions(link, token)
    if intent == "review":
        return _render_review(link, token, parsed, view)
    return _store(link, parsed, view)


def _switch(link: ChildLink, token: str):
    """Another view of the scale or another language, asked for on the page with the answers in the
    request (the same way with JavaScript and without): the page again with every answer carried over,
    nothing stored, nothing consumed. Between views each choice goes where the scale's own mapping puts
    it; a choice with no exact place in the new view is asked again, saying why."""
    problems = child_problems(link.round.case)
    errors = []
    from_view = _view_for(link)
    if request.form.get("view") not in VIEWS:
        errors.append("not_a_choice")
    to_view = request.form.get("switch_view", from_view)
    if to_view not in VIEWS:
        errors.append("not_a_choice")
        to_view = from_view
    language = request.form.get("switch_lang", _language_for(link))
    if language not in available_child_locales():
        errors.append("not_a_choice")
        language = _language_for(link)
    carried = carry_answers(request.form, [p.id for p in problems], from_view=from_view, to_view=to_view,
                            ask_good_enough=link.round.kind == "start")
    if carried.invalid:
        errors.append("out_of_range")
    set_page_locale(language)
    return _render_questions(link, token, carried=carried, language=language, step=request.form.get("step"),
                             errors=tuple(dict.fromkeys(errors)), status=400 if errors else 200)


def _store(link: ChildLink, parsed, view: str):
    """One transaction: consume the link and store the answers, or do neither."""
    try:
        if not links.consume(db.session, link):
            db.session.rollback()
            return _after_conflict(link, parsed.client_id)
        submission = Submission(round_id=link.round_id, link_id=link.id, client_id=parsed.client_id,
                                added_text=parsed.added_text)
        submission.ratings = [
            Rating(problem_id=a.problem_id, answer=a.answer, value=a.value, good_enough=a.good_enough,
                   scale_view=view, scale_version=SCALE_VERSION)
            for a in parsed.answers
        ]
        db.session.add(submission)
        db.session.flush()
        refresh_rating_summary(db.session, [a.problem_id for a in parsed.answers])
        record_signals(db.session, link.round, submission)  # in the same transaction
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _after_conflict(link, parsed.client_id)
    except OperationalError:
        # The database is unreachable or busy: nothing was stored; the child's page keeps the answers.
        db.session.rollback()
        current_app.logger.warning("child submission not stored: database unavailable")
        if _wants_json():
            return jsonify(status="retry"), 503
        return render_template("child/try_again.html"), 503
    return _done(link, "sent")


def _after_conflict(link: ChildLink, client_id: str | None):
    """Someone else's submission (or this one, retried) got there first."""
    stored = db.session.scalar(select(Submission).where(Submission.round_id == link.round_id))
    if stored is not None:
        return _done(link, "sent" if client_id and stored.client_id == client_id else "already_sent")
    return _gone()


@bp.get("/<token>/audio/<int:recording_id>")
@public
def audio(token: str, recording_id: int):
    """A recording, only through a usable link, and only one that belongs to this link's case
    (a problem read aloud) or to its organisation's fixed texts."""
    link = links.find(db.session, token)
    recording = db.session.get(Recording, recording_id) if 0 < recording_id < 2**31 else None
    if not links.usable(link) or recording is None:
        return _gone()
    if recording.problem_id is not None and recording.problem_id not in {
        p.id for p in child_problems(link.round.case)
    }:
        return _gone()
    if recording.message_key is not None and (
            recording.organisation_id != link.round.case.organisation_id
            or recording.language not in {_language_for(link), link.language}):
        return _gone()
    response = Response(recording.data, mimetype=recording.mime)
    return response.make_conditional(request, accept_ranges=True, complete_length=len(recording.data))


@bp.get("/thanks")
@public
def thanks():
    _page_language()
    if _handed_over() is not None:
        return _give_back()
    return render_template("child/thanks.html")


@bp.get("/sent")
@public
def already_sent():
    _page_language()
    if _handed_over() is not None:
        return _give_back()
    return render_template("child/already_sent.html")


@bp.get("/open")
@public
def not_active():
    """Where the address bar points once the child has started, so the token leaves the history."""
    _page_language()
    if _handed_over() is not None:
        return _give_back()
    return render_template("child/not_active.html")


def _page_language() -> None:
    lang = request.args.get("lang")
    if lang in CHILD_LOCALES:
        set_page_locale(lang)

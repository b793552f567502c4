"""Recordings read aloud, for languages the child's device has no voice for.

The therapist records each of the child's problems in a child language (the interpreter beside them
may read); the organisation's admin uploads one short file per fixed message of the child's pages in
one language, heard by that organisation's children only. One recording per (problem, language) and
per (organisation, message, language): a new one replaces the old. Problem recordings go with the
case (the foreign key cascades)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from babel.messages.pofile import read_po
from babel.support import NullTranslations
from flask import Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from kidrate.extensions import db
from kidrate.languages import catalogues
from kidrate.languages.i18n import available_child_locales, child_domain, language_label, language_name
from kidrate.languages.link_message import numeric_date
from kidrate.languages.recordings import MAX_BYTES, as_heard, audio_mime, check_audio, message_key, said_texts
from kidrate.models import Case, Recording, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread.cases import child_problems
from kidrate.staff import bp

UPLOAD_ENDPOINTS = frozenset({"staff.recording_upload", "staff.admin_recording_upload"})
# Room for a recording at the limit plus the form around it; a larger request is refused (413)
# before it is read, a file between the two gets a clear message.
UPLOAD_REQUEST_MAX = 2 * MAX_BYTES


@bp.url_value_preprocessor
def room_for_recordings(endpoint: str | None, values: dict | None) -> None:
    """Uploads may be larger than the app's general request limit. This runs before every
    before_request function, so before the CSRF check reads the form."""
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_REQUEST_MAX


def recording_languages() -> list[tuple[str, str]]:
    return [(code, language_label(code)) for code in available_child_locales()]


@bp.context_processor
def recordings_context() -> dict:
    return {"recording_languages": recording_languages, "recording_max_mb": MAX_BYTES // (1024 * 1024)}


def _error_message(code: str) -> str:
    return {
        "empty": _("Choose a recording or an audio file."),
        "too_big": _("The recording is larger than %(size)s MB. Record a shorter one.",
                     size=MAX_BYTES // (1024 * 1024)),
        "mime": _("This kind of file cannot be used. Use WebM, Ogg, MP4, MP3 or WAV audio."),
        "content": _("The file is not the kind of audio it says it is. Use WebM, Ogg, MP4, MP3 or WAV audio."),
        "choice": _("Choose one of the child's problems and a language."),
    }[code]


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _read_upload() -> tuple[bytes, str] | str:
    """The uploaded bytes and their container type, or an error code."""
    upload = request.files.get("audio")
    if not isinstance(upload, FileStorage):
        return "empty"
    data = upload.stream.read(MAX_BYTES + 1)
    error = check_audio(data, upload.content_type or "")
    if error:
        return error
    return data, audio_mime(upload.content_type) or ""


def _audio(recording: Recording) -> Response:
    response = Response(recording.data, mimetype=recording.mime)
    return response.make_conditional(request, accept_ranges=True, complete_length=len(recording.data))


def _store(recording: Recording | None, data: bytes, mime: str, **subject) -> Recording:
    """Put the recording in place of the one for the same subject and language, if any."""
    if recording is None:
        recording = Recording(**subject)
        db.session.add(recording)
    recording.mime, recording.data, recording.created_at = mime, data, utcnow()
    db.session.flush()
    return recording


def _save(find, data: bytes, mime: str, **subject) -> Recording:
    """Insert or replace; a concurrent upload for the same subject makes this one replace it."""
    try:
        return _store(db.session.scalar(find), data, mime, **subject)
    except IntegrityError:
        db.session.rollback()
        return _store(db.session.scalar(find), data, mime, **subject)


# --- The child's problems, recorded by the therapist -------------------------------------------


def _case_recording(case: Case, recording_id: int) -> Recording:
    recording = db.session.get(Recording, recording_id) if 0 < recording_id < 2**31 else None
    if recording is None or recording.problem_id not in {p.id for p in child_problems(case)}:
        abort(404)
    return recording


def _refused(case: Case, code: str):
    """Nothing stored: say why (flashed on the case page; as JSON to the page's recorder)."""
    db.session.rollback()
    message = _error_message(code)
    if _wants_json():
        return jsonify(status="error", message=message), 400
    from kidrate.staff.cases import _render_case

    flash(message, "error")
    return _render_case(case, status=400)


@bp.post("/cases/<int:case_id>/recordings")
@allow("therapist")
def recording_upload(case_id: int):
    case = case_or_404(case_id)
    if case.status == "closed":
        abort(404)
    problem_id = request.form.get("problem_id", "")
    problem = next((p for p in child_problems(case) if str(p.id) == problem_id), None)
    language = request.form.get("language", "")
    if problem is None or language not in available_child_locales():
        return _refused(case, "choice")
    upload = _read_upload()
    if isinstance(upload, str):
        return _refused(case, upload)
    data, mime = upload
    find = select(Recording).where(Recording.problem_id == problem.id, Recording.language == language)
    _save(find, data, mime, problem_id=problem.id, language=language)
    audit("record_problem", case_id=case.id, target=f"problem:{problem.id}:{language}")
    db.session.commit()
    flash(_("The recording is saved."), "info")
    after = url_for("staff.case_view", case_id=case.id, _anchor="recordings")
    if _wants_json():
        return jsonify(status="saved", next=after)
    return redirect(after, code=303)


@bp.get("/cases/<int:case_id>/recordings/<int:recording_id>")
@allow("social_worker", "therapist")
def recording_play(case_id: int, recording_id: int):
    case = case_or_404(case_id)
    recording = _case_recording(case, recording_id)
    audit("play_recording", case_id=case.id, target=f"problem:{recording.problem_id}:{recording.language}")
    db.session.commit()
    return _audio(recording)


@bp.post("/cases/<int:case_id>/recordings/<int:recording_id>/delete")
@allow("therapist")
def recording_delete(case_id: int, recording_id: int):
    case = case_or_404(case_id)
    recording = _case_recording(case, recording_id)
    audit("delete_recording", case_id=case.id, target=f"problem:{recording.problem_id}:{recording.language}")
    db.session.delete(recording)
    db.session.commit()
    flash(_("The recording is removed."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="recordings"), code=303)


# --- The fixed texts of the child's pages, uploaded by the municipality ------------------------


@dataclass(frozen=True)
class FixedText:
    key: str
    msgid: str
    translated: str | None  # the text in the recording's language, placeholders and all; None: not translated
    heard: str | None = None  # the same as it will be heard, with an example in each placeholder
    gloss: str | None = None  # what it says, in the reader's (staff) language, where that is another
    played: bool = False  # the child's page plays it when the child taps Listen


def _locale_or_404(locale: str) -> str:
    if locale not in available_child_locales():
        abort(404)
    return locale


# An example for each placeholder of the child's catalogue, so that a text can be read aloud as said.
EXAMPLE_NUMBER, EXAMPLE_TOTAL, EXAMPLE_LINK_DAYS = 2, 4, 14


# Messages of the child's catalogue, looked up in it (held in names, so the staff catalogue does not take them).
STEP_MSGID, ANSWER_MSGID = "%(number)s of %(total)s", "Good"


def _examples(translations, locale: str) -> dict[str, str]:
    numbers = {"number": str(EXAMPLE_NUMBER), "total": str(EXAMPLE_TOTAL)}
    return {
        **numbers,
        "date": numeric_date(date.today() + timedelta(days=EXAMPLE_LINK_DAYS), locale),
        "step": as_heard(translations.ugettext(STEP_MSGID), numbers),
        "answer": translations.ugettext(ANSWER_MSGID),
        "name": language_name(locale),
    }


def _child_translations(locale: str):
    """The child's catalogue in a language as this organisation's children get it: the organisation's
    own catalogue where it has one, the installation's behind it (kidrate/languages/i18n.py)."""
    with force_locale(locale):
        return child_domain.get_translations()


def _say(translations, msgid) -> str:
    if isinstance(msgid, tuple):
        return translations.ungettext(msgid[0], msgid[1], EXAMPLE_NUMBER)
    return translations.ugettext(msgid)


def fixed_texts(locale: str) -> list[FixedText]:
    """Every message of the child's catalogue, with its translation in use for the locale (the
    organisation's own catalogue first), as it will be heard, and glossed in the reader's language."""
    from kidrate.staff.languages import override_root

    installed: set[str] = set()
    path, _overridden = catalogues.catalogue_path("child", locale, override_root())
    if path is not None:
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if isinstance(message.id, str | tuple) and message.id and message.string:
                    installed.add(message.id[0] if isinstance(message.id, tuple) else message.id)
    spoken = _child_translations(locale)
    reader = str(get_locale())
    glossing = reader != locale
    read = _child_translations(reader) if glossing else spoken
    examples, reader_examples = _examples(spoken, locale), _examples(read, reader)
    played = {text: i for i, text in enumerate(played_texts())}
    texts = []
    for msgid in catalogues.template_ids("child"):
        source = msgid[0] if isinstance(msgid, tuple) else msgid
        said = _say(spoken, msgid)
        is_translated = locale == catalogues.SOURCE_LOCALE or source in installed or said != _say(NULL, msgid)
        texts.append(FixedText(
            message_key(source), source, said if is_translated else None,
            heard=as_heard(said, examples) if is_translated else None,
            gloss=as_heard(_say(read, msgid), reader_examples) if glossing else None,
            played=source in played))
    # What Listen plays first, in the page's order; then the rest, as the catalogue lists them.
    return sorted(texts, key=lambda t: (0, played[t.msgid]) if t.played else (1, 0))


def played_texts() -> list[str]:
    """The texts the child's page plays on Listen: said with say() in the child's templates, the
    questions page first (its order is the page's), then the templates it uses."""
    env = current_app.jinja_env
    names = sorted(env.list_templates(filter_func=lambda name: name.startswith("child/")),
                   key=lambda name: (name != "child/questions.html", name))
    return said_texts(env.loader.get_source(env, name)[0] for name in names)


NULL = NullTranslations()


def _fixed_text_or_404(locale: str, key: str) -> FixedText:
    text = next((t for t in fixed_texts(_locale_or_404(locale)) if t.key == key), None)
    if text is None:
        abort(404)
    return text


def _own_message_recordings():
    """The fixed-text recordings of the signed-in admin's organisation: never another's."""
    return select(Recording).where(Recording.message_key.is_not(None),
                                   Recording.organisation_id == g.user.organisation_id)


def _message_recording_or_404(locale: str, key: str) -> tuple[FixedText, Recording]:
    """The fixed text and this organisation's recording of it in a language, or 404 when either is missing."""
    text = _fixed_text_or_404(locale, key)
    recording = db.session.scalar(
        _own_message_recordings().where(Recording.message_key == text.key, Recording.language == locale))
    if recording is None:
        abort(404)
    return text, recording


@bp.get("/admin/recordings")
@allow("admin")
def admin_recordings():
    counts = dict(db.session.execute(
        select(Recording.language, func.count(Recording.id))
        .where(Recording.message_key.is_not(None), Recording.organisation_id == g.user.organisation_id)
        .group_by(Recording.language)
    ).all())
    audit("view_message_recordings")
    db.session.commit()
    total = len(catalogues.template_ids("child"))
    return render_template("staff/admin_recordings.html", locales=available_child_locales(), counts=counts,
                           total=total)


def _render_locale(locale: str, status: int = 200):
    recorded = {r.message_key: r for r in db.session.scalars(
        _own_message_recordings().where(Recording.language == locale))}
    return render_template("staff/admin_recordings_locale.html", locale=locale, texts=fixed_texts(locale),
                           recorded=recorded), status


@bp.get("/admin/recordings/<locale>")
@allow("admin")
def admin_recordings_locale(locale: str):
    _locale_or_404(locale)
    audit("view_message_recordings", target=locale)
    db.session.commit()
    return _render_locale(locale)


@bp.post("/admin/recordings/<locale>/<key>")
@allow("admin")
def admin_recording_upload(locale: str, key: str):
    text = _fixed_text_or_404(locale, key)
    upload = _read_upload()
    if isinstance(upload, str):
        db.session.rollback()
        flash(_error_message(upload), "error")
        return _render_locale(locale, status=400)
    data, mime = upload
    find = _own_message_recordings().where(Recording.message_key == text.key, Recording.language == locale)
    _save(find, data, mime, message_key=text.key, language=locale, organisation_id=g.user.organisation_id)
    audit("record_message", target=f"message:{text.key}:{locale}")
    db.session.commit()
    flash(_("The recording is saved."), "info")
    return redirect(url_for("staff.admin_recordings_locale", locale=locale, _anchor=f"m-{text.key}"), code=303)


@bp.get("/admin/recordings/<locale>/<key>/audio")
@allow("admin")
def admin_recording_play(locale: str, key: str):
    text, recording = _message_recording_or_404(locale, key)
    audit("play_message_recording", target=f"message:{text.key}:{locale}")
    db.session.commit()
    return _audio(recording)


@bp.post("/admin/recordings/<locale>/<key>/delete")
@allow("admin")
def admin_recording_delete(locale: str, key: str):
    text, recording = _message_recording_or_404(locale, key)
    audit("delete_message_recording", target=f"message:{text.key}:{locale}")
    db.session.delete(recording)
    db.session.commit()
    flash(_("The recording is removed."), "info")
    return redirect(url_for("staff.admin_recordings_locale", locale=locale, _anchor=f"m-{text.key}"), code=303)


"""Languages on the staff side: translations of the child's words, and the translation catalogues
(their review state, completeness, and an organisation's own reviewed catalogues)."""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages import catalogues
from kidrate.languages.i18n import CHILD_LOCALES, STAFF_LOCALES, language_label
from kidrate.models import Case, OrganisationCatalogue, ProblemTranslation, SubmissionTranslation, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread.cases import child_problems
from kidrate.staff import bp
from kidrate.staff.forms import AddedTextTranslationForm, CatalogueUploadForm, EmptyForm, ProblemTranslationForm
from kidrate.vocab import ROUND_ORDER

CATALOGUE_MAX_BYTES = 512 * 1024


def translation_form(case: Case, **kwargs) -> ProblemTranslationForm:
    form = ProblemTranslationForm(**kwargs)
    form.problem.choices = [(p.id, p.words[:60]) for p in child_problems(case)]
    form.language.choices = [(code, language_label(code)) for code in CHILD_LOCALES]
    return form


def _editable_case(case_id: int) -> Case:
    case = case_or_404(case_id)
    if case.status == "closed":
        abort(404)
    return case


@bp.post("/cases/<int:case_id>/translations")
@allow("social_worker", "therapist")
def problem_translation_add(case_id: int):
    case = _editable_case(case_id)
    form = translation_form(case)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor="languages"))
    problem = next(p for p in child_problems(case) if p.id == form.problem.data)
    if form.language.data == problem.words_language:
        flash(_("These are already the child's own words in that language."), "error")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor="languages"))
    existing = next((t for t in problem.translations if t.language == form.language.data), None)
    if existing is None:
        existing = ProblemTranslation(problem=problem, language=form.language.data)
        db.session.add(existing)
    existing.words = form.words.data.strip()
    existing.created_by_id = g.user.id
    db.session.flush()
    audit("translate_problem", case_id=case.id, target=f"problem:{problem.id}:{form.language.data}")
    db.session.commit()
    flash(_("The translation is saved."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="languages"))


@bp.post("/cases/<int:case_id>/translations/<int:translation_id>/delete")
@allow("social_worker", "therapist")
def problem_translation_delete(case_id: int, translation_id: int):
    case = _editable_case(case_id)
    translation = db.session.get(ProblemTranslation, translation_id)
    if translation is None or translation.problem.case_id != case.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    audit("delete_problem_translation", case_id=case.id, target=f"problem:{translation.problem_id}")
    db.session.delete(translation)
    db.session.commit()
    flash(_("The translation is removed."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="languages"))


def added_text_translation_form(**kwargs) -> AddedTextTranslationForm:
    form = AddedTextTranslationForm(**kwargs)
    form.language.choices = [(code, language_label(code)) for code in STAFF_LOCALES]
    return form


@bp.post("/cases/<int:case_id>/rounds/<kind>/added-text/translation")
@allow("therapist")
def added_text_translate(case_id: int, kind: str):
    """The therapist translates what the child added at a round; the social worker reads it in the
    handover beside the child's own words. Allowed after closure too: a corrected version carries it."""
    case = case_or_404(case_id)
    if kind not in ROUND_ORDER or case.status == "draft" or case.purged_at is not None:
        abort(404)  # a purged case has no words of the child left to translate
    submission = case.round(kind).submission
    if submission is None or not submission.added_text:
        abort(404)
    anchor = f"round-{kind}"
    form = added_text_translation_form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor=anchor))
    existing = next((t for t in submission.translations if t.language == form.language.data), None)
    if existing is None:
        existing = SubmissionTranslation(submission=submission, language=form.language.data)
        db.session.add(existing)
    existing.text = form.text.data.strip()
    existing.created_by_id = g.user.id
    existing.created_at = utcnow()
    db.session.flush()
    audit("translate_problem", case_id=case.id, target=f"added:{kind}:{form.language.data}")
    db.session.commit()
    flash(_("The translation is saved."), "info")
    if case.handovers:
        flash(_("The handover already sent does not change: send a corrected version to pass it on."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor=anchor))


@bp.app_template_global()
def language_in_text(code: str) -> str:
    """A language named inside a sentence in the reader's language, as that language writes it there
    ("till svenska", "into Swedish"), where language_label's capitalised menu form would not fit."""
    try:
        return Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, LookupError):
        return code


@bp.app_template_global()
def added_text_form(submission) -> AddedTextTranslationForm:
    """The translation form, on the staff member's own language (or the one already given)."""
    language = submission.translations[0].language if submission.translations else (
        g.user.locale if g.get("user") and g.user.locale in STAFF_LOCALES else STAFF_LOCALES[0])
    return added_text_translation_form(formdata=None, data={"language": language})


# --- Catalogues ----------------------------------------------------------------------------------
# An admin's upload is their organisation's own catalogue: stored in the database, heard by that
# organisation's staff and the children of its cases only. The instance folder is the installation
# operator's (shell access, read at start-up) and no admin writes there.


def override_root() -> Path:
    """The installation operator's catalogues (every organisation's)."""
    return Path(current_app.instance_path) / "translations"


def _upload_form() -> CatalogueUploadForm:
    form = CatalogueUploadForm()
    codes = sorted(set(CHILD_LOCALES) | set(STAFF_LOCALES), key=lambda c: (c not in ("sv", "en"), c))
    form.language.choices = [(code, language_label(code)) for code in codes]
    return form


def _own_catalogues() -> dict[tuple[str, str], OrganisationCatalogue]:
    rows = db.session.scalars(select(OrganisationCatalogue).where(
        OrganisationCatalogue.organisation_id == g.user.organisation_id))
    return {(row.domain, row.locale): row for row in rows}


@bp.route("/admin/translations", methods=["GET", "POST"])
@allow("admin")
def admin_translations():
    form = _upload_form()
    status = 200
    if form.validate_on_submit():
        error = _install_own(form.domain.data, form.language.data, form.file.data)
        if error is None:
            audit("install_translation", target=f"{form.domain.data}:{form.language.data}")
            db.session.commit()
            catalogues.forget_organisation_catalogues()
            flash(_("The catalogue is installed for this organisation's staff and children."), "info")
            return redirect(url_for("staff.admin_translations"))
        form.file.errors.append(error)
    elif form.is_submitted():
        status = 400
    if form.file.errors:
        status = 400
    return render_template("staff/admin_translations.html",
                           statuses=catalogues.statuses(override_root(), _own_catalogues()),
                           form=form), status


def _install_own(domain: str, language: str, upload) -> str | None:
    """Check an uploaded catalogue and store it as the organisation's own; an error message, or None."""
    if language not in catalogues.DOMAINS[domain] or language == catalogues.SOURCE_LOCALE:
        return _("There is no such catalogue to replace: choose a language this audience uses.")
    data = upload.read(CATALOGUE_MAX_BYTES + 1)
    if len(data) > CATALOGUE_MAX_BYTES:
        return _("The file is too large for a catalogue.")
    try:
        po, state, _dropped = catalogues.checked_upload(domain, language, data)
    except catalogues.CatalogueRefused as refused:
        return {
            "unreadable": _("This is not a readable .po file."),
            "nothing": _("The file translates none of this catalogue's messages."),
            "unfit": _("None of the file's messages keeps the placeholders and markup of its source."),
        }[str(refused)]
    row = _own_catalogues().get((domain, language))
    if row is None:
        row = OrganisationCatalogue(organisation_id=g.user.organisation_id, domain=domain, locale=language)
        db.session.add(row)
    row.po = po
    row.review_state = state
    # A new stamp: every process compiles the catalogue afresh on its next request for it.
    row.installed_at = utcnow()
    row.installed_by_id = g.user.id
    return None


@bp.post("/admin/translations/<int:catalogue_id>/remove")
@allow("admin")
def admin_translation_remove(catalogue_id: int):
    """The organisation speaks the installation's catalogue again."""
    row = db.session.get(OrganisationCatalogue, catalogue_id)
    if row is None or row.organisation_id != g.user.organisation_id:
        abort(404)  # another organisation's catalogue is not there for this admin
    if not EmptyForm().validate_on_submit():
        abort(400)
    audit("remove_translation", target=f"{row.domain}:{row.locale}")
    db.session.delete(row)
    db.session.commit()
    catalogues.forget_organisation_catalogues()
    flash(_("The organisation's own catalogue is removed: the installation's is used again."), "info")
    return redirect(url_for("staff.admin_translations"))

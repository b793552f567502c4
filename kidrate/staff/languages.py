"""Languages on the staff side: translations of the child's words, and the translation catalogues
(their review state, completeness, and a municipality's reviewed overrides)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po
from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import get_babel
from flask_babel import gettext as _

from .. import catalogues
from ..cases import child_problems
from ..extensions import db
from ..i18n import CHILD_LOCALES, STAFF_LOCALES, child_domain, language_label
from ..models import Case, ProblemTranslation
from ..security import allow, audit, case_or_404
from . import bp
from .forms import CatalogueUploadForm, EmptyForm, ProblemTranslationForm

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


# --- Catalogues ----------------------------------------------------------------------------------


def override_root() -> Path:
    return Path(current_app.instance_path) / "translations"


def _upload_form() -> CatalogueUploadForm:
    form = CatalogueUploadForm()
    codes = sorted(set(CHILD_LOCALES) | set(STAFF_LOCALES), key=lambda c: (c not in ("sv", "en"), c))
    form.language.choices = [(code, language_label(code)) for code in codes]
    return form


@bp.route("/admin/translations", methods=["GET", "POST"])
@allow("admin")
def admin_translations():
    form = _upload_form()
    status = 200
    if form.validate_on_submit():
        error = _install_override(form.domain.data, form.language.data, form.file.data)
        if error is None:
            audit("install_translation", target=f"{form.domain.data}:{form.language.data}")
            db.session.commit()
            flash(_("The catalogue is installed. It is used from now on in this process and, after a "
                    "restart, in every process."), "info")
            return redirect(url_for("staff.admin_translations"))
        form.file.errors.append(error)
    elif form.is_submitted():
        status = 400
    if form.file.errors:
        status = 400
    return render_template("staff/admin_translations.html", statuses=catalogues.statuses(override_root()),
                           form=form), status


def _install_override(domain: str, language: str, upload) -> str | None:
    """Check an uploaded catalogue and put it in the instance folder; an error message, or None."""
    if language not in catalogues.DOMAINS[domain] or language == catalogues.SOURCE_LOCALE:
        return _("There is no such catalogue to replace: choose a language this audience uses.")
    data = upload.read(CATALOGUE_MAX_BYTES + 1)
    if len(data) > CATALOGUE_MAX_BYTES:
        return _("The file is too large for a catalogue.")
    try:
        catalog = read_po(BytesIO(data), locale=language, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError):
        return _("This is not a readable .po file.")
    template = catalogues.template_ids(domain)
    if not any(m.id in template and m.string for m in catalog):
        return _("The file translates none of this catalogue's messages.")
    target = override_root() / language / "LC_MESSAGES" / f"{domain}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    catalogues.compile_overrides(override_root())
    # Flask-Babel keeps loaded catalogues for the life of the process: forget them.
    child_domain.cache.clear()
    get_babel().instance.domain_instance.cache.clear()
    current_app.extensions["kidrate.child_locales"] = catalogues.child_locales(override_root())
    current_app.extensions["kidrate.child_drafts"] = catalogues.draft_child_locales(override_root())
    return None

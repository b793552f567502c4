"""SU-X 2021 files: the admin imports a municipality's history; an analyst whom an admin has allowed
record-level exports (User.may_export_records) downloads the pseudonymised export, a row per closed
case, for regional R&D units. Admins grant that permission and never hold it."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, SelectField

from kidrate.extensions import db
from kidrate.models import Unit, User
from kidrate.protection.access import allow, audit
from kidrate.staff import attachment, bp
from kidrate.statistics import sux
from kidrate.statistics.sux_import import ImportRefused, export_sux, import_sux

SUX_MAX_BYTES = 5 * 1024 * 1024
# Room for a file at the limit plus the form around it; larger requests are refused (413) unread.
SUX_REQUEST_MAX = SUX_MAX_BYTES + 64 * 1024
ERRORS_SHOWN = 200


class SuxImportForm(FlaskForm):
    unit = SelectField(_l("Authority unit the cases belong to"), coerce=int, validate_choice=True)
    file = FileField(_l("SU-X 2021 file (CSV, UTF-8)"), validators=[FileRequired(message=_l("Choose a file."))])
    skip_bad = BooleanField(_l("Import the good rows and list the bad ones"))


@bp.url_value_preprocessor
def room_for_sux_files(endpoint: str | None, values: dict | None) -> None:
    """Runs before the CSRF check reads the form (see recordings.room_for_recordings)."""
    if endpoint == "staff.admin_sux":
        request.max_content_length = SUX_REQUEST_MAX


def _authority_units() -> list[Unit]:
    return list(db.session.scalars(
        select(Unit).where(Unit.organisation_id == g.user.organisation_id, Unit.kind == "authority")
        .order_by(Unit.name)
    ))


@bp.route("/admin/sux", methods=["GET", "POST"])
@allow("admin")
def admin_sux():
    form = SuxImportForm()
    form.unit.choices = [(u.id, u.name) for u in _authority_units()]
    if not form.unit.choices:
        form.unit.choices = [(0, "—")]
    errors: list[sux.SuxError] = []
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return _page(form, errors), status
    upload = form.file.data
    data = upload.stream.read(SUX_MAX_BYTES + 1) if isinstance(upload, FileStorage) else b""
    text = sux.decode(data) if len(data) <= SUX_MAX_BYTES else None
    if len(data) > SUX_MAX_BYTES:
        form.file.errors.append(_("The file is larger than %(size)s MB.", size=SUX_MAX_BYTES // (1024 * 1024)))
    elif text is None:
        form.file.errors.append(_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again."))
    else:
        try:
            result = import_sux(db.session, text, organisation_id=g.user.organisation_id, unit_id=form.unit.data,
                                user_id=g.user.id, skip_bad=form.skip_bad.data)
        except ImportRefused as refused:
            form.unit.errors.append(str(refused))
        else:
            errors = result.errors
            if errors and not form.skip_bad.data:
                db.session.rollback()
                form.file.errors.append(_("Nothing was imported: the file has %(n)s error(s). Correct them and "
                                          "upload it again, or choose to import the good rows.", n=len(errors)))
            else:
                audit("import_sux", target=f"unit:{form.unit.data}:{result.imported}")
                db.session.commit()
                flash(_("%(n)s case(s) imported.", n=result.imported), "info")
                if not errors:
                    return redirect(url_for("staff.admin_sux"))
                flash(_("%(n)s line(s) were left out; they are listed below.", n=len(result.bad_lines)), "error")
                return _page(form, errors)
    db.session.rollback()
    return _page(form, errors), 400


def _page(form: SuxImportForm, errors: list[sux.SuxError]) -> str:
    return render_template("staff/admin_sux.html", columns=sux.COLUMNS, form=form, errors=errors,
                           shown=ERRORS_SHOWN)


def _day(name: str) -> tuple[date | None, bool]:
    value = request.args.get(name, "").strip()
    if not value:
        return None, True
    try:
        return date.fromisoformat(value), len(value) == 10
    except ValueError:
        return None, False


def may_export_records(user: User) -> bool:
    """Record-level data (age, gender, problem areas, dates, closure per case) leaves only through an
    analyst who holds the named permission; the group report, suppressed, needs none."""
    return user.role == "analyst" and user.may_export_records


@bp.get("/sux")
@allow("analyst", "admin")
def sux_page():
    return render_template("staff/sux.html", error=None, may_export=may_export_records(g.user))


@bp.get("/sux/export.csv")
@allow("analyst")
def sux_export():
    if not may_export_records(g.user):
        abort(403)
    (first, ok_from), (last, ok_to) = _day("from"), _day("to")
    error = None
    if not (ok_from and ok_to):
        error = _("Write the dates as YYYY-MM-DD.")
    elif first and last and last < first:
        error = _("The end date is before the start date.")
    if error:
        return render_template("staff/sux.html", error=error, may_export=True), 400
    text, count = export_sux(db.session, g.user.organisation_id, current_app.config["SECRET_KEY"], first, last)
    audit("export_sux", target=f"{first or ''}..{last or ''}:{count}")
    db.session.commit()
    name = f"su-x-2021_{first or 'start'}_{last or date.today()}.csv"
    return attachment(text.encode("utf-8-sig"), "text/csv", name)

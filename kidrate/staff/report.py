"""The group report for analysts: the field's tables and the child's view of change over the
organisation's closed cases, small counts hidden; as a page with charts, CSV and XLSX."""

from __future__ import annotations

from flask import Response, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import Unit
from kidrate.protection.access import allow, audit
from kidrate.staff import attachment, bp
from kidrate.statistics.chart import bar_chart, slope_chart
from kidrate.statistics.export import report_csv, report_xlsx
from kidrate.statistics.report import AGE_GROUPS, build_report, parse_filters
from kidrate.statistics.suppression import format_value
from kidrate.vocab import GENDERS, INTERVENTION_TYPES

FILTER_NAMES = ("from", "to", "unit", "intervention", "age_group", "gender")


def _units() -> list[Unit]:
    return list(db.session.scalars(
        select(Unit).where(Unit.organisation_id == g.user.organisation_id).order_by(Unit.kind, Unit.name)))


def _report():
    """(report or None, units, errors, the raw filter values) for the signed-in analyst's organisation."""
    units = _units()
    values = {name: request.args.get(name, "") for name in FILTER_NAMES}
    filters, errors = parse_filters(values, [u.id for u in units])
    if errors:
        return None, units, errors, values
    return build_report(db.session, g.user.organisation_id, filters), units, errors, values


def _charts(report) -> list:
    areas = report.table("problem_areas")
    change = report.table("rating_change")
    reasons = report.table("closure_reasons")
    return [
        bar_chart(areas.title, _("Number of closed cases with each problem area."),
                  [(r.label, r.values[1]) for r in areas.rows if not r.total]),
        slope_chart(change.title,
                    _("Median of the child's own rating (1 = as hard as it can be, 10 = fine) at the start and at "
                      "closure, per problem area. Areas with fewer than five rated problems are left out."),
                    (_("Start"), _("Closure")),
                    [(r.label, r.values[2], r.values[3]) for r in change.rows if not r.total]),
        bar_chart(reasons.title, _("Number of closed cases per reason for closure."),
                  [(r.label, r.values[1]) for r in reasons.rows if not r.total]),
    ]


@bp.get("/report")
@allow("analyst")
def report():
    built, units, errors, values = _report()
    audit("view_report")
    db.session.commit()
    page = render_template(
        "staff/report.html", report=built, errors=errors, values=values,
        charts=_charts(built) if built else [], units={u.id: u.name for u in units},
        age_groups={code: code.replace("-", "–") for code in AGE_GROUPS}, genders=GENDERS,
        interventions=INTERVENTION_TYPES, chosen={k: v for k, v in values.items() if v},
        format_value=format_value)
    return page, 400 if errors else 200


# Per download format: the file's body from a built report, and its type.
DOWNLOADS = {
    "csv": (lambda built: report_csv(built).encode("utf-8-sig"), "text/csv"),
    "xlsx": (report_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _download(kind: str):
    built, _units, errors, _values = _report()
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    audit("download_report", target=kind)
    db.session.commit()
    body, mimetype = DOWNLOADS[kind]
    return attachment(body(built), mimetype, f"kidrate-report.{kind}")


@bp.get("/report.csv")
@allow("analyst")
def report_csv_download():
    return _download("csv")


@bp.get("/report.xlsx")
@allow("analyst")
def report_xlsx_download():
    return _download("xlsx")

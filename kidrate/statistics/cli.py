"""Group statistics on the command line: `kidrate report` (the group report, small counts hidden as on
the page), and `kidrate import-sux` / `export-sux` (a municipality's SU-X 2021 history in and out)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Organisation, Unit
from kidrate.statistics.export import report_csv, report_text
from kidrate.statistics.report import build_report, parse_filters
from kidrate.statistics.sux_import import ImportRefused, export_sux, import_sux


def _organisation(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        raise click.UsageError(f"no organisation with id {organisation_id}")
    return org


@click.command("import-sux", help="Import closed cases from a CSV file in the SU-X 2021 layout.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", "organisation_id", type=int, required=True, help="Organisation id.")
@click.option("--unit", "unit_id", type=int, required=True, help="Id of the authority unit the cases belong to.")
@click.option("--skip-bad", is_flag=True, help="Import the good rows and list the bad ones (default: all or nothing).")
@with_appcontext
def import_sux_command(file: Path, organisation_id: int, unit_id: int, skip_bad: bool) -> None:
    with force_locale(current_app.config["KIDRATE"].default_locale):  # no request to choose a language from
        _import(file, organisation_id, unit_id, skip_bad)


def _import(file: Path, organisation_id: int, unit_id: int, skip_bad: bool) -> None:
    _organisation(organisation_id)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.UsageError("the file is not UTF-8 text") from None
    try:
        result = import_sux(db.session, text, organisation_id=organisation_id, unit_id=unit_id,
                            skip_bad=skip_bad)
    except ImportRefused as refused:
        db.session.rollback()
        raise click.UsageError(str(refused)) from None
    for error in result.errors:
        click.echo(str(error), err=True)
    if result.errors and not skip_bad:
        db.session.rollback()
        click.echo(f"nothing imported: {len(result.errors)} error(s) on {len(result.bad_lines)} line(s)", err=True)
        sys.exit(1)
    db.session.add(AuditEvent(organisation_id=organisation_id, action="import_sux",
                              target=f"unit:{unit_id}:{result.imported}"))
    db.session.commit()
    skipped = f", {len(result.bad_lines)} line(s) skipped" if result.errors else ""
    click.echo(f"imported {result.imported} case(s){skipped}")


@click.command("export-sux", help="Write the organisation's closed cases as pseudonymised SU-X 2021 CSV.")
@click.option("--organisation", "organisation_id", type=int, required=True, help="Organisation id.")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Closed on or after.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Closed on or before.")
@with_appcontext
def export_sux_command(organisation_id: int, date_from, date_to) -> None:
    _organisation(organisation_id)
    first: date | None = date_from.date() if date_from else None
    last: date | None = date_to.date() if date_to else None
    text, count = export_sux(db.session, organisation_id, current_app.config["SECRET_KEY"], first, last)
    db.session.add(AuditEvent(organisation_id=organisation_id, action="export_sux",
                              target=f"{first or ''}..{last or ''}:{count}"))
    db.session.commit()
    click.echo(text, nl=False)


@click.command("report", help="Print the group report of an organisation's closed cases (small counts hidden).")
@click.option("--organisation", "organisation_id", type=int, default=None,
              help="Organisation id (default: the only organisation).")
@click.option("--from", "closed_from", default=None, help="Closed on or after this date (YYYY-MM-DD).")
@click.option("--to", "closed_to", default=None, help="Closed on or before this date (YYYY-MM-DD).")
@click.option("--unit", default=None, help="Unit id (authority or open care).")
@click.option("--intervention", default=None, help="Intervention type code (traditional, crisis_support, …).")
@click.option("--age-group", "age_group", default=None, help="NUSO age group: 0-2, 3-5, 6-8, 9-11, 12-14, 15-17.")
@click.option("--gender", default=None, help="Gender code (girl, boy, other, not_stated).")
@click.option("--format", "output", type=click.Choice(["text", "csv"]), default="text")
@with_appcontext
def report_command(organisation_id, closed_from, closed_to, unit, intervention, age_group, gender, output) -> None:
    with current_app.test_request_context():  # labels and messages in the default language
        _report(organisation_id, closed_from, closed_to, unit, intervention, age_group, gender, output)


def _report(organisation_id, closed_from, closed_to, unit, intervention, age_group, gender, output) -> None:
    session = db.session
    if organisation_id is None:
        ids = list(session.scalars(select(Organisation.id).order_by(Organisation.id).limit(2)))
        if len(ids) != 1:
            raise click.UsageError("pass --organisation ID" if ids else "no organisation yet")
        organisation_id = ids[0]
    else:
        _organisation(organisation_id)
    unit_ids = session.scalars(select(Unit.id).where(Unit.organisation_id == organisation_id))
    filters, errors = parse_filters({"from": closed_from, "to": closed_to, "unit": unit, "intervention": intervention,
                                     "age_group": age_group, "gender": gender}, list(unit_ids))
    if errors:
        raise click.UsageError("; ".join(errors))
    report = build_report(session, organisation_id, filters)
    # As the page's CSV download is: who took group figures out, never the figures.
    session.add(AuditEvent(organisation_id=organisation_id, action="download_report", target=f"cli:{output}"))
    session.commit()
    click.echo(report_csv(report) if output == "csv" else report_text(report), nl=False)


COMMANDS = (report_command, import_sux_command, export_sux_command)

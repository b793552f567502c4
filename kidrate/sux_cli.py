"""`kidrate import-sux` and `kidrate export-sux`: a municipality's SU-X 2021 history in and out."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from .extensions import db
from .importing import ImportRefused, export_sux, import_sux
from .models import AuditEvent, Organisation


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
    db.session.add(AuditEvent(action="import_sux", target=f"unit:{unit_id}:{result.imported}"))
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
    db.session.add(AuditEvent(action="export_sux", target=f"{first or ''}..{last or ''}:{count}"))
    db.session.commit()
    click.echo(text, nl=False)

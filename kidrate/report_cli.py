"""`kidrate report`: the group report on the command line, with the page's filters and the same
suppression (small counts as "≤4")."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .extensions import db


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
    from .models import Organisation, Unit
    from .report import build_report, parse_filters
    from .report_export import report_csv, report_text

    session = db.session
    if organisation_id is None:
        ids = list(session.scalars(select(Organisation.id).order_by(Organisation.id).limit(2)))
        if len(ids) != 1:
            raise click.UsageError("pass --organisation ID" if ids else "no organisation yet")
        organisation_id = ids[0]
    elif session.get(Organisation, organisation_id) is None:
        raise click.UsageError(f"no organisation with id {organisation_id}")
    unit_ids = session.scalars(select(Unit.id).where(Unit.organisation_id == organisation_id))
    filters, errors = parse_filters({"from": closed_from, "to": closed_to, "unit": unit, "intervention": intervention,
                                     "age_group": age_group, "gender": gender}, list(unit_ids))
    if errors:
        raise click.UsageError("; ".join(errors))
    report = build_report(session, organisation_id, filters)
    click.echo(report_csv(report) if output == "csv" else report_text(report), nl=False)

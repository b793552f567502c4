"""`kidrate purge [--dry-run]`: retention (kidrate/retention.py) from the command line or a timer.

It prints counts only, never what was removed. A real purge is recorded in the audit log, once per
organisation it touched, so that each organisation's auditor sees it (no user: no one signed in).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db
from .models import utcnow
from .retention import PurgeResult, purge
from .security import audit


@click.command("purge", help="Remove the content of cases closed longer ago than the retention period, "
                             "and audit events older than theirs. Prints counts only.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    settings = current_app.config["KIDRATE"]
    session = db.session
    result = purge(session, utcnow(), settings.retention_years, settings.audit_retention_years, dry_run=dry_run)
    if dry_run:
        session.rollback()
        click.echo(f"would purge {result.cases} case(s) and remove {result.audit_events} audit event(s) "
                   "(dry run: nothing changed)")
        return
    record(result)
    session.commit()
    click.echo(f"purged {result.cases} case(s), removed {result.audit_events} audit event(s)")


def record(result: PurgeResult) -> None:
    """One "purge" event per organisation touched (None: old events that had no organisation), or a
    single one when nothing was due."""
    if not result.per_organisation:
        audit("purge", target=result.summary())
        return
    for organisation_id, (cases, events) in sorted(result.per_organisation.items(), key=lambda kv: kv[0] or 0):
        audit("purge", organisation_id=organisation_id, target=f"{cases} cases, {events} audit events")

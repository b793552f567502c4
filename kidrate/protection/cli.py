"""The protection room's commands: `kidrate new-data-key` and `kidrate rotate-key` (the data keys of
encryption at rest, crypto.py) and `kidrate purge` (retention, retention.py).

rotate-key re-encrypts, under the current key (KIDRATE_DATA_KEY), every encrypted value that is under
an older one (KIDRATE_OLD_DATA_KEYS), a batch of rows per transaction. It can be stopped and run
again, and a run with nothing left to do changes nothing. It prints counts, never content or keys.

Before any key is set in production the app does not start, so `kidrate new-data-key` cannot run
there yet: `python -m kidrate.protection.cli` prints a key without the app.

purge prints counts only, never what was removed. A real purge is recorded in the audit log, once per
organisation it touched, so that each organisation's auditor sees it (no user: no one signed in).
"""

from __future__ import annotations

from collections import Counter

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from kidrate.config import new_data_key
from kidrate.extensions import db
from kidrate.models import utcnow
from kidrate.protection import crypto
from kidrate.protection.access import audit
from kidrate.protection.retention import SESSIONS_KEPT, PurgeResult, purge

ROWS_PER_BATCH = 1000
RECORDINGS_PER_BATCH = 16  # up to 2 MB of sound each


def encrypted_columns(metadata: sa.MetaData) -> dict[str, dict[str, sa.types.TypeEngine]]:
    """Every encrypted column of the models, by table, with the plain type its stored form has."""
    found: dict[str, dict[str, sa.types.TypeEngine]] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, crypto.EncryptedType):
                raw = sa.LargeBinary() if isinstance(column.type, crypto.EncryptedBytes) else sa.Text()
                found.setdefault(table.name, {})[column.name] = raw
    return found


def rotate(engine: sa.Engine, keyring: crypto.Keyring, columns: dict[str, dict[str, sa.types.TypeEngine]]
           ) -> Counter[str]:
    """Re-encrypt under the current key every value under another; the count per column."""
    counts: Counter[str] = Counter()
    for table_name, kinds in columns.items():
        # The stored form as it is: plain columns, so the models' types neither decrypt nor encrypt.
        table = sa.table(table_name, sa.column("id", sa.Integer),
                         *(sa.column(name, kind) for name, kind in kinds.items()))
        current = f"{crypto.VERSION}:{keyring.current_id}:"
        stale = sa.or_(*(
            sa.and_(table.c[name].is_not(None),
                    sa.func.substr(table.c[name], 1, len(current), type_=kind)
                    != sa.literal(current.encode() if isinstance(kind, sa.LargeBinary) else current, kind))
            for name, kind in kinds.items()))
        write = (sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                 .values({name: sa.bindparam(f"new_{name}", type_=kind) for name, kind in kinds.items()}))
        batch = RECORDINGS_PER_BATCH if any(isinstance(k, sa.LargeBinary) for k in kinds.values()) else ROWS_PER_BATCH
        last = 0
        while True:
            with engine.begin() as connection:
                rows = connection.execute(
                    sa.select(table.c.id, *(table.c[name] for name in kinds))
                    .where(table.c.id > last, stale).order_by(table.c.id).limit(batch)
                    .with_for_update()).all()  # the app may write the same rows meanwhile
                if not rows:
                    break
                params = []
                for row in rows:
                    values: dict[str, object] = {"row_id": row.id}
                    for name in kinds:
                        stored = row._mapping[name]
                        try:
                            new = None if stored is None else crypto.reencrypt(keyring, stored, f"{table_name}.{name}")
                        except crypto.DecryptionError as error:
                            raise crypto.DecryptionError(f"{error} (row id {row.id})") from None
                        if new is not None:
                            counts[f"{table_name}.{name}"] += 1
                        values[f"new_{name}"] = stored if new is None else new
                    params.append(values)
                connection.execute(write, params)
            last = rows[-1].id
    return counts


@click.command("new-data-key", help="Print a fresh data key for KIDRATE_DATA_KEY.")
def new_data_key_command() -> None:
    click.echo(new_data_key())


@click.command("rotate-key", help="Re-encrypt every value under an old data key with the current one. "
                                  "Prints counts only.")
@with_appcontext
def rotate_key_command() -> None:
    from kidrate.models import Base
    from kidrate.protection.access import audit

    keyring: crypto.Keyring = current_app.extensions[crypto.EXTENSION]
    try:
        counts = rotate(db.engine, keyring, encrypted_columns(Base.metadata))
    except crypto.DecryptionError as error:
        # Batches done so far stay done: run again once the missing key is configured.
        raise click.ClickException(str(error)) from None
    total = sum(counts.values())
    audit("rotate_key", target=f"{total} values")
    db.session.commit()
    click.echo(f"re-encrypted {total} value(s) under key {keyring.current_id}")
    for column, n in sorted(counts.items()):
        if n:
            click.echo(f"  {column}: {n}")

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
                   f"and {result.staff_sessions} ended staff session(s) (dry run: nothing changed)")
        return
    record(result)
    session.commit()
    click.echo(f"purged {result.cases} case(s), removed {result.audit_events} audit event(s)")
    if result.staff_sessions:
        click.echo(f"removed {result.staff_sessions} staff session(s) over for more than "
                   f"{SESSIONS_KEPT.days} days")


def record(result: PurgeResult) -> None:
    """One "purge" event per organisation touched (None: old events that had no organisation), or a
    single one when nothing was due."""
    if not result.per_organisation:
        audit("purge", target=result.summary())
        return
    for organisation_id, (cases, events) in sorted(result.per_organisation.items(), key=lambda kv: kv[0] or 0):
        audit("purge", organisation_id=organisation_id, target=f"{cases} cases, {events} audit events")


COMMANDS = (new_data_key_command, rotate_key_command, purge_command)


if __name__ == "__main__":
    new_data_key_command()

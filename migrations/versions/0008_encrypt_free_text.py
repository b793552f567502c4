"""Encrypt the child's words and professionals' free text at rest

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00

Every free-text column (and the handover's snapshot, and recordings' sound) is rewritten in the
encrypted form of kidrate.crypto, in batches by primary key, so that 400 000 problems never sit in
memory at once. The handover's document changes type from JSON to Text: it is JSON inside the
encryption now. Downgrading decrypts everything and restores the type.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

import sqlalchemy as sa
from alembic import op

# The stored form is versioned ("v1:…"): later code must go on reading v1, so this step may use it.
from kidrate.protection import crypto
from kidrate.config import load_settings

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The columns as they are at this revision (a later change to the models must not change this step).
TEXT_COLUMNS = {
    'problem': ('words', 'category_text', 'goal', 'worked_with_comment'),
    'problem_translation': ('words',),
    'submission': ('added_text',),
    'case_record': ('intervention_text',),
    'rating_round': ('missing_reason',),
    'closure': ('reason_text', 'concern_text', 'new_problems', 'recommendation'),
    'handover': ('document', 'correction_note'),
    'user_account': ('totp_secret',),
}
BYTES_COLUMNS = {'recording': ('data',)}
ROWS_PER_BATCH = 1000
RECORDINGS_PER_BATCH = 16  # up to 2 MB of sound each


def _load_keyring() -> crypto.Keyring:
    # The key comes from the settings, exactly as the app's does (KIDRATE_DATA_KEY, or outside
    # production the key generated into the instance folder): `kidrate db upgrade` hands Alembic only
    # the database URL and a bare `alembic upgrade` runs with no app at all, so the settings are the one
    # place where both find the key the app will decrypt with. Read only when a row needs it, so an
    # empty database migrates without a key.
    settings = load_settings()
    return crypto.Keyring.of(settings.data_key, settings.old_data_keys)


def _is_encrypted(keyring: Callable[[], crypto.Keyring], value: str | bytes, column: str) -> bool:
    """Already in the encrypted form (a rerun after an interrupted upgrade): a value that merely looks
    like it, but does not decrypt, is someone's text and is encrypted like any other."""
    if crypto.stored_key_id(value) is None:
        return False
    try:
        if isinstance(value, str):
            crypto.decrypt_text(keyring().keys, value, column)
        else:
            crypto.decrypt_bytes(keyring().keys, value, column)
    except crypto.DecryptionError:
        return False
    return True


def _encrypt(keyring: Callable[[], crypto.Keyring], value: str | bytes, column: str) -> str | bytes:
    if _is_encrypted(keyring, value, column):
        return value
    if isinstance(value, str):
        return crypto.encrypt_text(keyring().current, value, column)
    return crypto.encrypt_bytes(keyring().current, bytes(value), column)


def _decrypt(keyring: Callable[[], crypto.Keyring], value: str | bytes, column: str) -> str | bytes:
    if crypto.stored_key_id(value) is None:
        return value  # never encrypted
    if isinstance(value, str):
        return crypto.decrypt_text(keyring().keys, value, column)
    return crypto.decrypt_bytes(keyring().keys, bytes(value), column)


def _rewrite(table_name: str, columns: tuple[str, ...], kind: sa.types.TypeEngine, batch: int,
             change: Callable) -> None:
    """Apply `change` to every non-NULL value of the columns, one batch of rows at a time."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column('id', sa.Integer), *(sa.column(name, kind) for name in columns))
    cols = [table.c[name] for name in columns]
    write = (sa.update(table).where(table.c.id == sa.bindparam('row_id'))
             .values({name: sa.bindparam(f'new_{name}', type_=kind) for name in columns}))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, *cols).where(table.c.id > last, sa.or_(*(c.is_not(None) for c in cols)))
            .order_by(table.c.id).limit(batch)).all()
        if not rows:
            return
        connection.execute(write, [
            {'row_id': row.id, **{f'new_{name}': None if value is None else change(value, f'{table_name}.{name}')
                                  for name, value in zip(columns, row[1:], strict=True)}}
            for row in rows])
        last = rows[-1].id


def _rewrite_all(change: Callable) -> None:
    for table_name, columns in TEXT_COLUMNS.items():
        _rewrite(table_name, columns, sa.Text(), ROWS_PER_BATCH, change)
    for table_name, columns in BYTES_COLUMNS.items():
        _rewrite(table_name, columns, sa.LargeBinary(), RECORDINGS_PER_BATCH, change)


def upgrade() -> None:
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.alter_column('document', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False)
    _rewrite_all(partial(_encrypt, cache(_load_keyring)))


def downgrade() -> None:
    _rewrite_all(partial(_decrypt, cache(_load_keyring)))
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.alter_column('document', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using='document::json')

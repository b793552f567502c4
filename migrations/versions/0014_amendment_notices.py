"""E-mail notices of an amendment to the assignment, for the other side of the case

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BEFORE = "kind IN ('assigned', 'handover', 'signal', 'follow_up', 'link_expiring', 'reset')"
AFTER = "kind IN ('assigned', 'handover', 'signal', 'follow_up', 'link_expiring', 'amendment', 'reset')"


def _kinds(allowed: str) -> None:
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mail_outbox_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_mail_outbox_kind'), allowed)


def upgrade() -> None:
    _kinds(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM mail_outbox WHERE kind = 'amendment'")
    _kinds(BEFORE)

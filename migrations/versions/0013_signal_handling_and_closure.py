"""Safety signals acknowledged with a note of what was done, the reason for sending a handover while a
signal is unhandled, and staff translations of what the child added in their own words

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Encrypted columns are text at rest (kidrate/protection/crypto.py); new ones start empty.
    with op.batch_alter_table('safety_signal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_note', sa.Text(), nullable=True))
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unhandled_signals_reason', sa.Text(), nullable=True))

    op.create_table(
        'submission_translation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_submission_translation_created_by_id_user_account')),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                                name=op.f('fk_submission_translation_submission_id_submission'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_translation')),
        sa.UniqueConstraint('submission_id', 'language', name='uq_submission_translation_language'),
    )
    op.create_index(op.f('ix_submission_translation_submission_id'), 'submission_translation', ['submission_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_submission_translation_submission_id'), table_name='submission_translation')
    op.drop_table('submission_translation')
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_column('unhandled_signals_reason')
    with op.batch_alter_table('safety_signal', schema=None) as batch_op:
        batch_op.drop_column('acknowledged_note')

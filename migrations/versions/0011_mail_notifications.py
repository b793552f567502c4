"""E-mail notifications: staff e-mail addresses and the kinds of notice each has switched off, and the
outbox of e-mails to send (to whom and of which kind, never what about)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('notifications_off', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_index(batch_op.f('ix_user_account_email'), ['email'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('notifications_off', server_default=None)

    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('about', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('gave_up_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=80), nullable=True),
        sa.CheckConstraint("kind IN ('assigned', 'handover', 'signal', 'follow_up', 'link_expiring', 'reset')",
                           name=op.f('ck_mail_outbox_kind')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_mail_outbox_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
        sa.UniqueConstraint('user_id', 'kind', 'about', name='uq_mail_outbox_once'),
    )
    op.create_index(op.f('ix_mail_outbox_user_id'), 'mail_outbox', ['user_id'], unique=False)
    op.create_index(op.f('ix_mail_outbox_next_attempt_at'), 'mail_outbox', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mail_outbox_next_attempt_at'), table_name='mail_outbox')
    op.drop_index(op.f('ix_mail_outbox_user_id'), table_name='mail_outbox')
    op.drop_table('mail_outbox')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_email'))
        batch_op.drop_column('notifications_off')
        batch_op.drop_column('email')

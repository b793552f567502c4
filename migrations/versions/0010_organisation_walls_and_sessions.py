"""Walls between organisations and server-side sessions: an organisation's own catalogues, fixed-text
recordings per organisation, staff sessions, the record-level export permission

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('end_reason', sa.String(length=20), nullable=True),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('hand_over_link_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_staff_session_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['hand_over_link_id'], ['child_link.id'],
                                name=op.f('fk_staff_session_hand_over_link_id_child_link'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_staff_session_token_hash')),
    )
    op.create_index(op.f('ix_staff_session_user_id'), 'staff_session', ['user_id'], unique=False)
    op.create_table(
        'organisation_catalogue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=20), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('po', sa.LargeBinary(), nullable=False),
        sa.Column('review_state', sa.String(length=20), nullable=False),
        sa.Column('installed_at', sa.DateTime(), nullable=False),
        sa.Column('installed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_organisation_catalogue_organisation_id_organisation'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['installed_by_id'], ['user_account.id'],
                                name=op.f('fk_organisation_catalogue_installed_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_catalogue')),
        sa.UniqueConstraint('organisation_id', 'domain', 'locale', name='uq_organisation_catalogue'),
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('may_export_records', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('may_export_records', server_default=None)

    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_recording_organisation_id_organisation'), 'organisation',
                                    ['organisation_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint('uq_recording_message_language', type_='unique')
        batch_op.create_unique_constraint('uq_recording_message_language',
                                          ['organisation_id', 'message_key', 'language'])
    # A fixed text recorded before this revision served every organisation: each organisation gets its
    # own copy, so that no child hears anything different today, and from now on each copy is its own.
    # (The sound is encrypted bound to its column, not its row, so the stored value copies as it is.)
    op.execute("INSERT INTO recording (problem_id, organisation_id, message_key, language, mime, data, created_at) "
               "SELECT NULL, organisation.id, recording.message_key, recording.language, recording.mime, "
               "recording.data, recording.created_at FROM recording CROSS JOIN organisation "
               "WHERE recording.message_key IS NOT NULL AND recording.organisation_id IS NULL")
    op.execute("DELETE FROM recording WHERE message_key IS NOT NULL AND organisation_id IS NULL")
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_check_constraint('message_organisation', 'message_key IS NULL OR organisation_id IS NOT NULL')


def downgrade() -> None:
    # Back to one recording per fixed text and language for the whole installation: the oldest is kept.
    op.execute("DELETE FROM recording WHERE message_key IS NOT NULL AND id NOT IN ("
               "SELECT MIN(id) FROM recording WHERE message_key IS NOT NULL GROUP BY message_key, language)")
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_recording_message_organisation'), type_='check')
        batch_op.drop_constraint('uq_recording_message_language', type_='unique')
        batch_op.create_unique_constraint('uq_recording_message_language', ['message_key', 'language'])
        batch_op.drop_constraint(batch_op.f('fk_recording_organisation_id_organisation'), type_='foreignkey')
        batch_op.drop_column('organisation_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('may_export_records')
    op.drop_table('organisation_catalogue')
    op.drop_index(op.f('ix_staff_session_user_id'), table_name='staff_session')
    op.drop_table('staff_session')

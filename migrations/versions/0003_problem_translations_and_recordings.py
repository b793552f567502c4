"""problem translations and recordings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:23:49.988231
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('problem_translation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_problem_translation_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_translation_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_translation')),
    sa.UniqueConstraint('problem_id', 'language', name='uq_problem_translation_language')
    )
    with op.batch_alter_table('problem_translation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_translation_problem_id'), ['problem_id'], unique=False)

    op.create_table('recording',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('message_key', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('mime', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(problem_id IS NULL) <> (message_key IS NULL)', name=op.f('ck_recording_one_subject')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_recording_problem_id_problem'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('message_key', 'language', name='uq_recording_message_language'),
    sa.UniqueConstraint('problem_id', 'language', name='uq_recording_problem_language')
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_problem_id'), ['problem_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_problem_id'))

    op.drop_table('recording')
    with op.batch_alter_table('problem_translation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_translation_problem_id'))

    op.drop_table('problem_translation')

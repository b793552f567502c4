"""Amendments to the assignment after hand-over (corrected words, withdrawn and added problems, each
with a reason), a problem's withdrawal, and a goal left on purpose to be set with the child

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

REPORT_COLUMNS = ['case_id', 'source', 'category', 'worked_with', 'start_rating', 'follow_up_rating',
                  'closure_rating']


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('goal_with_child', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.alter_column('goal_with_child', server_default=None)
        # The group report leaves withdrawn problems out and still reads only this covering index.
        batch_op.drop_index('ix_problem_case_report')
        batch_op.create_index('ix_problem_case_report', [*REPORT_COLUMNS, 'withdrawn_at'], unique=False)

    op.create_table(
        'problem_amendment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('problem_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('words_before', sa.Text(), nullable=True),
        sa.Column('words_language_before', sa.String(length=10), nullable=True),
        sa.Column('words_after', sa.Text(), nullable=True),
        sa.Column('words_language_after', sa.String(length=10), nullable=True),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('by_role', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('words', 'withdraw', 'add')", name=op.f('ck_problem_amendment_kind')),
        sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_problem_amendment_by_id_user_account')),
        sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_problem_amendment_problem_id_problem'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_amendment')),
    )
    op.create_index(op.f('ix_problem_amendment_problem_id'), 'problem_amendment', ['problem_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_problem_amendment_problem_id'), table_name='problem_amendment')
    op.drop_table('problem_amendment')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_case_report')
        batch_op.create_index('ix_problem_case_report', REPORT_COLUMNS, unique=False)
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('goal_with_child')

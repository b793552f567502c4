"""A covering index of the problems for the group report

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:20:00
"""

from __future__ import annotations

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = ['case_id', 'source', 'category', 'worked_with', 'start_rating', 'follow_up_rating', 'closure_rating']


def upgrade() -> None:
    # Leads with case_id, so it also serves every lookup the single-column index did.
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index('ix_problem_case_report', COLUMNS, unique=False)
        batch_op.drop_index(batch_op.f('ix_problem_case_id'))


def downgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_case_id'), ['case_id'], unique=False)
        batch_op.drop_index('ix_problem_case_report')

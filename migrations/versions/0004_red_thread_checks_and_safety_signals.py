"""red-thread checks and safety signals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:03:24.492836
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('safety_signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('previous_value', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('low_violence', 'drop')", name=op.f('ck_safety_signal_kind')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], name=op.f('fk_safety_signal_acknowledged_by_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_safety_signal_case_id_case_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_safety_signal_problem_id_problem'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_safety_signal_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_signal'))
    )
    with op.batch_alter_table('safety_signal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_signal_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('met_child_alone', sa.Boolean(), nullable=True))

    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_how', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('missing_reason', sa.Text(), nullable=True))
        batch_op.create_check_constraint(
            'answered_how', "answered_how IS NULL OR answered_how IN "
            "('alone', 'with_therapist', 'with_interpreter', 'parent_present', 'unknown')")


def downgrade() -> None:
    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_rating_round_answered_how'), type_='check')
        batch_op.drop_column('missing_reason')
        batch_op.drop_column('answered_how')

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('met_child_alone')

    with op.batch_alter_table('safety_signal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_signal_case_id'))

    op.drop_table('safety_signal')

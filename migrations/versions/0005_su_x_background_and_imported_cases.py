"""SU-X background, imported cases, report index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:40:55.542542
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('born', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('referred_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('started_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('earlier_episodes', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('imported', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(
            'earlier_episodes', "earlier_episodes IS NULL OR earlier_episodes IN ('no', 'once', 'several', 'unknown')")
        batch_op.create_index('ix_case_record_report', ['organisation_id', 'status', 'closed_at'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.alter_column('imported', server_default=None)

    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_problem_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('child', 'investigation', 'imported')")


def downgrade() -> None:
    op.execute("DELETE FROM problem WHERE source = 'imported'")
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_problem_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('child', 'investigation')")

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_record_earlier_episodes'), type_='check')
        batch_op.drop_index('ix_case_record_report')
        batch_op.drop_column('imported')
        batch_op.drop_column('earlier_episodes')
        batch_op.drop_column('started_on')
        batch_op.drop_column('referred_on')
        batch_op.drop_column('born')


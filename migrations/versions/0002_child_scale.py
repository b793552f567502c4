"""child scale views, good-enough numbers, submission ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:21:05.236243
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scale_view', sa.String(length=10), nullable=True))

    with op.batch_alter_table('rating', schema=None) as batch_op:
        # Ratings stored before views existed came from the full 1–10 ladder, mapping version 1.
        batch_op.add_column(sa.Column('scale_view', sa.String(length=10), nullable=False, server_default='ten'))
        batch_op.add_column(sa.Column('scale_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('good_enough', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('good_enough', 'good_enough IS NULL OR good_enough BETWEEN 1 AND 10')

    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.alter_column('scale_view', server_default=None)
        batch_op.alter_column('scale_version', server_default=None)

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_submission_client_id'), ['client_id'])


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_submission_client_id'), type_='unique')
        batch_op.drop_column('client_id')

    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rating_good_enough'), type_='check')
        batch_op.drop_column('good_enough')
        batch_op.drop_column('scale_version')
        batch_op.drop_column('scale_view')

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('scale_view')


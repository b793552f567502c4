"""The child's rating per round, copied onto the problem for group statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ROUNDS = ('start', 'follow_up', 'closure')


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        for kind in ROUNDS:
            batch_op.add_column(sa.Column(f'{kind}_rating', sa.Integer(), nullable=True))
    # Ratings already stored: one correlated value per round (a frozen copy of
    # kidrate.rating_summary, which later code may change).
    for kind in ROUNDS:
        op.execute(
            f"UPDATE problem SET {kind}_rating = ("  # noqa: S608  (constant round names)
            "SELECT max(rating.value) FROM rating "
            "JOIN submission ON submission.id = rating.submission_id "
            "JOIN rating_round ON rating_round.id = submission.round_id "
            f"WHERE rating.problem_id = problem.id AND rating.answer = 'rated' AND rating_round.kind = '{kind}')"
        )


def downgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        for kind in reversed(ROUNDS):
            batch_op.drop_column(f'{kind}_rating')

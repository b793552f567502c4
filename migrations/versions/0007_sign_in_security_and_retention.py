"""Two-factor sign-in, lockout, the auditor role and retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('social_worker', 'therapist', 'analyst', 'admin')"
ROLES_AFTER = "role IN ('social_worker', 'therapist', 'analyst', 'admin', 'auditor')"


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recovery_codes', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint('role', ROLES_AFTER)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('recovery_codes', server_default=None)
        batch_op.alter_column('failed_sign_ins', server_default=None)
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_organisation_id_organisation'), 'organisation',
                                    ['organisation_id'], ['id'])
        batch_op.create_index('ix_audit_event_organisation_at', ['organisation_id', 'at'], unique=False)
    # Earlier events belong to the organisation of their user, or else of their case.
    op.execute("UPDATE audit_event SET organisation_id = COALESCE("
               "(SELECT organisation_id FROM user_account WHERE user_account.id = audit_event.user_id), "
               "(SELECT organisation_id FROM case_record WHERE case_record.id = audit_event.case_id))")


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_organisation_at')
        batch_op.drop_constraint(batch_op.f('fk_audit_event_organisation_id_organisation'), type_='foreignkey')
        batch_op.drop_column('organisation_id')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    op.execute("UPDATE user_account SET active = false, role = 'admin' WHERE role = 'auditor'")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint('role', ROLES_BEFORE)
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_sign_ins')
        batch_op.drop_column('recovery_codes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

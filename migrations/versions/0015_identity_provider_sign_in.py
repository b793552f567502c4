"""Staff sign in through their organisation's identity provider

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The client secret is encrypted text at rest (kidrate/protection/crypto.py).
    op.create_table('sign_on_provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret', sa.Text(), nullable=False),
    sa.Column('subject_claim', sa.String(length=80), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('trust_email', sa.Boolean(), nullable=False),
    sa.Column('group_claim', sa.String(length=80), nullable=False),
    sa.Column('extra_scopes', sa.String(length=200), nullable=False),
    sa.Column('group_roles', sa.JSON(), nullable=False),
    sa.Column('create_users', sa.Boolean(), nullable=False),
    sa.Column('mfa_acr_values', sa.JSON(), nullable=False),
    sa.Column('mfa_rule', sa.String(length=10), nullable=False),
    sa.Column('passwords_off', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("mfa_rule IN ('totp', 'refuse')", name=op.f('ck_sign_on_provider_mfa_rule')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_sign_on_provider_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_on_provider')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_sign_on_provider_organisation_id'))
    )
    op.create_table('user_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('linked_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_identity_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identity')),
    sa.UniqueConstraint('issuer', 'subject_hash', name='uq_user_identity_subject')
    )
    with op.batch_alter_table('user_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_identity_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_staff_session_provider_id_sign_on_provider'), 'sign_on_provider', ['provider_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_session_provider_id_sign_on_provider'), type_='foreignkey')
        batch_op.drop_column('provider_id')

    with op.batch_alter_table('user_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_identity_user_id'))

    op.drop_table('user_identity')
    op.drop_table('sign_on_provider')

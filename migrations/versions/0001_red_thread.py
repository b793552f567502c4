"""the red thread: cases, assignments, rounds, links, handovers

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:10:15.324850
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation'))
    )
    op.create_table('unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.CheckConstraint("kind IN ('authority', 'open_care')", name=op.f('ck_unit_kind')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_unit_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('social_worker', 'therapist', 'analyst', 'admin')", name=op.f('ck_user_account_role')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_user_account_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_user_account_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    op.create_table('case_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('case_ref', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('age', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=20), nullable=False),
    sa.Column('child_language', sa.String(length=10), nullable=False),
    sa.Column('family_languages', sa.JSON(), nullable=False),
    sa.Column('intervention_types', sa.JSON(), nullable=False),
    sa.Column('intervention_text', sa.Text(), nullable=True),
    sa.Column('follow_up_date', sa.Date(), nullable=True),
    sa.Column('authority_unit_id', sa.Integer(), nullable=False),
    sa.Column('social_worker_id', sa.Integer(), nullable=False),
    sa.Column('open_care_unit_id', sa.Integer(), nullable=True),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'assigned', 'closed')", name=op.f('ck_case_record_status')),
    sa.CheckConstraint('age BETWEEN 0 AND 20', name=op.f('ck_case_record_age')),
    sa.ForeignKeyConstraint(['authority_unit_id'], ['unit.id'], name=op.f('fk_case_record_authority_unit_id_unit')),
    sa.ForeignKeyConstraint(['open_care_unit_id'], ['unit.id'], name=op.f('fk_case_record_open_care_unit_id_unit')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_case_record_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['social_worker_id'], ['user_account.id'], name=op.f('fk_case_record_social_worker_id_user_account')),
    sa.ForeignKeyConstraint(['therapist_id'], ['user_account.id'], name=op.f('fk_case_record_therapist_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_record'))
    )
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_record_case_ref'), ['case_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_record_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_audit_event_case_id_case_record')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_audit_event_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_event_case_at', ['case_id', 'at'], unique=False)

    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('reason_text', sa.Text(), nullable=True),
    sa.Column('concern_remaining', sa.Boolean(), nullable=False),
    sa.Column('concern_text', sa.Text(), nullable=True),
    sa.Column('new_problems', sa.Text(), nullable=True),
    sa.Column('participation', sa.JSON(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_closure_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure')),
    sa.UniqueConstraint('case_id', name=op.f('uq_closure_case_id'))
    )
    op.create_table('handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('correction_note', sa.Text(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('read_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_handover_case_id_case_record')),
    sa.ForeignKeyConstraint(['read_by_id'], ['user_account.id'], name=op.f('fk_handover_read_by_id_user_account')),
    sa.ForeignKeyConstraint(['replaces_id'], ['handover.id'], name=op.f('fk_handover_replaces_id_handover')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_handover_sent_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover')),
    sa.UniqueConstraint('case_id', 'version', name=op.f('uq_handover_case_id'))
    )
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_case_id'), ['case_id'], unique=False)

    op.create_table('problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('words_language', sa.String(length=10), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('category_text', sa.Text(), nullable=True),
    sa.Column('goal', sa.Text(), nullable=True),
    sa.Column('added_at_start', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('worked_with', sa.String(length=10), nullable=True),
    sa.Column('worked_with_comment', sa.Text(), nullable=True),
    sa.Column('goal_attainment', sa.String(length=20), nullable=True),
    sa.CheckConstraint("source IN ('child', 'investigation')", name=op.f('ck_problem_source')),
    sa.CheckConstraint("worked_with IS NULL OR worked_with IN ('focus', 'partly', 'no')", name=op.f('ck_problem_worked')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_problem_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem'))
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_case_id'), ['case_id'], unique=False)

    op.create_table('rating_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.CheckConstraint("kind IN ('start', 'follow_up', 'closure')", name=op.f('ck_rating_round_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_rating_round_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_round')),
    sa.UniqueConstraint('case_id', 'kind', name=op.f('uq_rating_round_case_id'))
    )
    op.create_table('child_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_child_link_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['round_id'], ['rating_round.id'], name=op.f('fk_child_link_round_id_rating_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_child_link_token_hash'))
    )
    with op.batch_alter_table('child_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_link_round_id'), ['round_id'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('added_text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['child_link.id'], name=op.f('fk_submission_link_id_child_link')),
    sa.ForeignKeyConstraint(['round_id'], ['rating_round.id'], name=op.f('fk_submission_round_id_rating_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('link_id', name=op.f('uq_submission_link_id')),
    sa.UniqueConstraint('round_id', name=op.f('uq_submission_round_id'))
    )
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.CheckConstraint("(answer = 'rated' AND value BETWEEN 1 AND 10) OR (answer <> 'rated' AND value IS NULL)", name=op.f('ck_rating_value')),
    sa.CheckConstraint("answer IN ('rated', 'declined', 'dont_know')", name=op.f('ck_rating_answer')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_rating_problem_id_problem')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_rating_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('submission_id', 'problem_id', name=op.f('uq_rating_submission_id'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_problem_id'), ['problem_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_problem_id'))

    op.drop_table('rating')
    op.drop_table('submission')
    with op.batch_alter_table('child_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_link_round_id'))

    op.drop_table('child_link')
    op.drop_table('rating_round')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_case_id'))

    op.drop_table('problem')
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_case_id'))

    op.drop_table('handover')
    op.drop_table('closure')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_case_at')
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_record_therapist_id'))
        batch_op.drop_index(batch_op.f('ix_case_record_case_ref'))

    op.drop_table('case_record')
    op.drop_table('user_account')
    op.drop_table('unit')
    op.drop_table('organisation')

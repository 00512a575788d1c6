"""indexes that lead with a scope's columns

Issue 18, the admin UI at 1,000,000 cases (workflow/web/queries.py):
- ix_cases_district_policy_stage (district, policy_id, state, return_stage, notice_stage) replaces
  ix_cases_district_state: a district department's counts per stage, cases a cutoff would expire,
  counts per policy and district drop-downs are answered from the index alone, reading only its
  district's entries;
- ix_cases_policy_district (policy_id, district): the district drop-down of a policy, from the index;
- ix_cases_policy_open_notices (policy_id, notice_closes_at), partial over the notice states: the
  notices of one round closing in a window, in close order, read straight off the index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The literal condition of storage.tables.OPEN_NOTICE_SQL (see 0002).
OPEN_NOTICE = "state IN ('employer_notice', 'qualification_notice', 'result_notice')"


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_district_policy_stage',
                              ['district', 'policy_id', 'state', 'return_stage', 'notice_stage'], unique=False)
        batch_op.drop_index('ix_cases_district_state')
        batch_op.create_index('ix_cases_policy_district', ['policy_id', 'district'], unique=False)
        batch_op.create_index('ix_cases_policy_open_notices', ['policy_id', 'notice_closes_at'], unique=False,
                              postgresql_where=sa.text(OPEN_NOTICE), sqlite_where=sa.text(OPEN_NOTICE))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_policy_open_notices', postgresql_where=sa.text(OPEN_NOTICE),
                            sqlite_where=sa.text(OPEN_NOTICE))
        batch_op.drop_index('ix_cases_policy_district')
        batch_op.create_index('ix_cases_district_state', ['district', 'state'], unique=False)
        batch_op.drop_index('ix_cases_district_policy_stage')

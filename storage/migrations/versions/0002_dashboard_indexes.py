"""dashboard indexes

Issue 9, dashboard queries at 1,000,000 cases:
- ix_cases_policy_state (policy_id, state) becomes ix_cases_policy_stage (policy_id, state,
  return_stage, notice_stage): the cases a cutoff would expire (returned by a stage, or in an
  objection suspending one) are counted from the index alone, as counts per stage already were;
- ix_cases_district_open_notices: a district's open public notices by close time, for the overdue
  list; partial, over the notice states only, so it stays as small as the notices running.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# The same literal condition as storage.tables.OPEN_NOTICE_SQL (a bound parameter would keep the
# planner from matching queries to the partial index).
OPEN_NOTICE = "state IN ('employer_notice', 'qualification_notice', 'result_notice')"


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_policy_stage', ['policy_id', 'state', 'return_stage', 'notice_stage'],
                              unique=False)
        batch_op.drop_index('ix_cases_policy_state')
        batch_op.create_index('ix_cases_district_open_notices', ['district', 'notice_closes_at'], unique=False,
                              postgresql_where=sa.text(OPEN_NOTICE), sqlite_where=sa.text(OPEN_NOTICE))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_open_notices', postgresql_where=sa.text(OPEN_NOTICE),
                            sqlite_where=sa.text(OPEN_NOTICE))
        batch_op.create_index('ix_cases_policy_state', ['policy_id', 'state'], unique=False)
        batch_op.drop_index('ix_cases_policy_stage')

"""the dashboard's group column and submission time in the stage indexes

Issue 18: the dashboard's cutoff tables count, per cutoff ahead, the cases waiting in the stages it
ends per district (administrator, city) or per employer (district department), with the earliest
submission. With `district` and `submitted_at` at the end of ix_cases_policy_stage, and `employer` and
`submitted_at` at the end of ix_cases_district_policy_stage, each of the three disjoint parts of that
count (in a stage, returned by it, an objection suspending it) is an index-only range instead of
reading the round's rows (at 1,000,000 cases: ~48,000 rows of the table for the employer cutoff).
The indexes already change with every move (they hold `state`); only their width grows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

STAGE = ['state', 'return_stage', 'notice_stage', 'notice_closes_at']


def _replace(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name='cases')
    op.create_index(name, 'cases', columns, unique=False)


def upgrade() -> None:
    _replace('ix_cases_policy_stage', ['policy_id', *STAGE, 'district', 'submitted_at'])
    _replace('ix_cases_district_policy_stage', ['district', 'policy_id', *STAGE, 'employer', 'submitted_at'])


def downgrade() -> None:
    _replace('ix_cases_district_policy_stage', ['district', 'policy_id', *STAGE])
    _replace('ix_cases_policy_stage', ['policy_id', *STAGE])

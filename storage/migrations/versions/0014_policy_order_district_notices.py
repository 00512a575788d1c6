"""ix_cases_policy (policy_id) on SQLite: a policy's cases in id order; ix_cases_district_policy_open_notices

Issue 18: the case list's first page of a round (`policy_id = ? ORDER BY id LIMIT 50`, and "due within
N days" the same way) read all 100,000 rows of the round through ix_cases_policy_stage and sorted them
(SQLite at 1,000,000 cases: 40–85 ms). A SQLite index ends with the rowid, so the entries of one policy
in this index are in id order: the page reads its 50 rows (and, for "due within", the few it skips).
SQLite changes an index only when its columns change (here: never after the INSERT), so moves pay
nothing. PostgreSQL orders equal keys by their place in the heap, not by id: it walks the primary key
instead, and gets no index (each would cost every move there: an UPDATE that is not HOT writes an
entry in every index).

ix_cases_district_policy_open_notices (district, policy_id, notice_closes_at), partial over the open
notices like its neighbours: a district department's notices of one round closing in a window (the
dashboard's list and count, the "due within" count) from the index alone; through
ix_cases_policy_open_notices each of the round's notices in the window was read to check its district
(SQLite at 1,000,000 cases, under load: 40–85 ms). Only cases in a notice state have an entry.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


# The literal condition of storage.tables.OPEN_NOTICE_SQL (see 0002).
OPEN_NOTICE = "state IN ('employer_notice', 'qualification_notice', 'result_notice')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE INDEX ix_cases_policy ON cases (policy_id)")
    op.execute(f"CREATE INDEX ix_cases_district_policy_open_notices ON cases (district, policy_id, notice_closes_at) "
               f"WHERE {OPEN_NOTICE}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cases_district_policy_open_notices")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_cases_policy")

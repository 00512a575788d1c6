"""how many cases each policy has, kept by triggers (queried by storage/case_counts.py)

Issue 18: the dashboard's tabs show every policy's number of cases; for a scope made of whole policies
(administrator, city, platform) that was a count of every case in the database (1,000,000 index
entries, 50–180 ms). The number changes only when a case is inserted or deleted (or, never in
practice, moves to another policy), so triggers keep it:

- SQLite (one writer at a time already): `policy_case_counts` (policy_id, cases) updated in place;
- PostgreSQL: the same table, plus `policy_case_count_changes` (policy_id, delta), a journal that
  each INSERT or DELETE statement on `cases` appends one row per policy to (never updating a shared
  row: concurrent filings do not queue behind one another). A reader adds the journal to the table;
  storage.case_counts.fold moves the journal into the table in one statement (DELETE … RETURNING
  into an upsert), so a reader sees the sum before or after, never half.

Both are derived: filled from `cases` here, not exported (an import's INSERTs fill them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _sqlite_add(row: str, n: int) -> str:
    return (f"INSERT INTO policy_case_counts (policy_id, cases) VALUES ({row}.policy_id, {n}) "
            f"ON CONFLICT (policy_id) DO UPDATE SET cases = cases + ({n})")


SQLITE = [
    "CREATE TABLE policy_case_counts (policy_id VARCHAR(64) NOT NULL PRIMARY KEY, cases INTEGER NOT NULL)",
    "INSERT INTO policy_case_counts (policy_id, cases) SELECT policy_id, count(*) FROM cases GROUP BY policy_id",
    f"CREATE TRIGGER cases_count_insert AFTER INSERT ON cases BEGIN {_sqlite_add('new', 1)}; END",
    f"CREATE TRIGGER cases_count_delete AFTER DELETE ON cases BEGIN {_sqlite_add('old', -1)}; END",
    f"CREATE TRIGGER cases_count_update AFTER UPDATE OF policy_id ON cases "
    f"WHEN old.policy_id IS NOT new.policy_id BEGIN {_sqlite_add('old', -1)}; {_sqlite_add('new', 1)}; END",
]

POSTGRES = [
    "LOCK TABLE cases IN SHARE MODE",
    "CREATE TABLE policy_case_counts (policy_id VARCHAR(64) NOT NULL PRIMARY KEY, cases BIGINT NOT NULL)",
    "CREATE TABLE policy_case_count_changes (id BIGSERIAL PRIMARY KEY, policy_id VARCHAR(64) NOT NULL, "
    "delta BIGINT NOT NULL)",
    "INSERT INTO policy_case_counts (policy_id, cases) SELECT policy_id, count(*) FROM cases GROUP BY policy_id",
    """CREATE FUNCTION zcflow_case_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO policy_case_count_changes (policy_id, delta)
        SELECT policy_id, count(*) FROM new_cases GROUP BY policy_id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO policy_case_count_changes (policy_id, delta)
        SELECT policy_id, -count(*) FROM old_cases GROUP BY policy_id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO policy_case_count_changes (policy_id, delta) VALUES (OLD.policy_id, -1), (NEW.policy_id, 1);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE policy_case_counts, policy_case_count_changes;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER cases_count_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_count_insert()",
    "CREATE TRIGGER cases_count_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_count_delete()",
    "CREATE TRIGGER cases_count_update AFTER UPDATE OF policy_id ON cases FOR EACH ROW "
    "WHEN (OLD.policy_id IS DISTINCT FROM NEW.policy_id) EXECUTE FUNCTION zcflow_case_count_update()",
    "CREATE TRIGGER cases_count_truncate AFTER TRUNCATE ON cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_count_truncate()",
]


def upgrade() -> None:
    conn = op.get_bind()
    for statement in SQLITE if conn.dialect.name == "sqlite" else POSTGRES:
        conn.exec_driver_sql(statement)


def downgrade() -> None:
    conn = op.get_bind()
    for trigger in ("insert", "delete", "update", "truncate"):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_count_{trigger}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_count_{trigger} ON cases")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS zcflow_case_count_{trigger}()")
    conn.exec_driver_sql("DROP TABLE IF EXISTS policy_case_count_changes")
    conn.exec_driver_sql("DROP TABLE IF EXISTS policy_case_counts")

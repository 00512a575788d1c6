"""how many cases each (policy, district, series, committee, employer) has, kept by triggers
(queried by storage/case_facets.py)

Issue 18: the case list's drop-downs (the distinct districts, employers and committees among a user's
cases) read every case in scope: 0.06–2.8 s at 1,000,000 cases. These five columns take a few thousand
combinations, each a row of `case_facets` with its number of cases; a drop-down is the combinations
in scope with cases left. NULL is stored as '' (no scope or filter names an empty value; the
drop-downs leave it out, as they left NULL out). Kept like migration 0013's counts: in place on SQLite,
through the journal `case_facet_changes` on PostgreSQL (one row per combination and INSERT or DELETE
statement; a change of one of the five columns, never done by a move, adds two). Derived: filled from
`cases` here, not exported.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

COLUMNS = ("policy_id", "district", "series", "committee", "employer")
KEY = ", ".join(COLUMNS)
TYPES = {"policy_id": "VARCHAR(64)", "district": "VARCHAR(64)", "series": "VARCHAR(64)", "committee": "VARCHAR(200)",
         "employer": "VARCHAR(200)"}
DEFS = ", ".join(f"{c} {TYPES[c]} NOT NULL" for c in COLUMNS)


def _values(row: str) -> str:
    return ", ".join(f"coalesce({row}.{c}, '')" for c in COLUMNS)


def _sqlite_add(row: str, n: int) -> str:
    return (f"INSERT INTO case_facets ({KEY}, cases) VALUES ({_values(row)}, {n}) "
            f"ON CONFLICT ({KEY}) DO UPDATE SET cases = cases + ({n})")


_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in COLUMNS)
_CHANGED_PG = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COLUMNS)
_FILL = f"INSERT INTO case_facets ({KEY}, cases) SELECT {_values('cases')}, count(*) FROM cases GROUP BY {_values('cases')}"

SQLITE = [
    f"CREATE TABLE case_facets ({DEFS}, cases INTEGER NOT NULL, PRIMARY KEY ({KEY})) WITHOUT ROWID",
    _FILL,
    f"CREATE TRIGGER cases_facet_insert AFTER INSERT ON cases BEGIN {_sqlite_add('new', 1)}; END",
    f"CREATE TRIGGER cases_facet_delete AFTER DELETE ON cases BEGIN {_sqlite_add('old', -1)}; END",
    f"CREATE TRIGGER cases_facet_update AFTER UPDATE OF {KEY} ON cases WHEN {_CHANGED} "
    f"BEGIN {_sqlite_add('old', -1)}; {_sqlite_add('new', 1)}; END",
]

POSTGRES = [
    "LOCK TABLE cases IN SHARE MODE",
    f"CREATE TABLE case_facets ({DEFS}, cases BIGINT NOT NULL, PRIMARY KEY ({KEY}))",
    f"CREATE TABLE case_facet_changes (id BIGSERIAL PRIMARY KEY, {DEFS}, delta BIGINT NOT NULL)",
    _FILL,
    f"""CREATE FUNCTION zcflow_case_facet_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO case_facet_changes ({KEY}, delta)
        SELECT {_values('n')}, count(*) FROM new_cases n GROUP BY {_values('n')};
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION zcflow_case_facet_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO case_facet_changes ({KEY}, delta)
        SELECT {_values('o')}, -count(*) FROM old_cases o GROUP BY {_values('o')};
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION zcflow_case_facet_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO case_facet_changes ({KEY}, delta) VALUES ({_values('OLD')}, -1), ({_values('NEW')}, 1);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_facet_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE case_facets, case_facet_changes;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER cases_facet_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_facet_insert()",
    "CREATE TRIGGER cases_facet_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_facet_delete()",
    f"CREATE TRIGGER cases_facet_update AFTER UPDATE OF {KEY} ON cases FOR EACH ROW WHEN ({_CHANGED_PG}) "
    "EXECUTE FUNCTION zcflow_case_facet_update()",
    "CREATE TRIGGER cases_facet_truncate AFTER TRUNCATE ON cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_facet_truncate()",
    "ANALYZE case_facets",
]


def upgrade() -> None:
    conn = op.get_bind()
    for statement in SQLITE if conn.dialect.name == "sqlite" else POSTGRES:
        conn.exec_driver_sql(statement)


def downgrade() -> None:
    conn = op.get_bind()
    for trigger in ("insert", "delete", "update", "truncate"):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_facet_{trigger}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_facet_{trigger} ON cases")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS zcflow_case_facet_{trigger}()")
    conn.exec_driver_sql("DROP TABLE IF EXISTS case_facet_changes")
    conn.exec_driver_sql("DROP TABLE IF EXISTS case_facets")

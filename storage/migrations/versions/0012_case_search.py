"""search indexes for names and ID numbers (queried by storage/search.py)

Issue 18: the admin UI's search (`LIKE '%…%'` on the name, `LIKE '%…'` on the ID number) read every
row in scope. Three derived tables, kept in step with `cases` by triggers that fire only when a case is
inserted or deleted or its name or ID number changes (never on a move: `fire` and the sweeps pay
nothing), filled from `cases` here; export/import does not carry them (an import's INSERTs fill them):

- `case_search`, a trigram index of the names for queries of 3 characters or more: on SQLite an FTS5
  table with the trigram tokenizer, external content on `cases` (rowid = case id); on PostgreSQL a
  table (case_id, name) with a pg_trgm GIN index;
- `case_name_grams` (gram, case_id): every distinct 1- and 2-character substring of each name, in
  lower case, for the 1- and 2-character queries a trigram cannot serve (most Chinese names have 2
  or 3 characters; 王伟 is a whole name). Names are at most 100 characters (every write path
  validates it; VARCHAR(100) on PostgreSQL): SQLite's trigger takes the positions 1..100 from the
  table `case_name_positions`;
- `case_id_tails` (tail, case_id): the last 4 characters of each ID number, in lower case. An ID
  query has 4 to 18 characters, so a number ending with it ends with its last 4: one entry per case
  finds the ~100 candidates of 1,000,000 (a trigram index of the numbers would hold 16 entries per
  case, and tripled the cost of inserting a case on SQLite, for doclists of ~16,000 per trigram).

pg_trgm is installed in the schema `public` when the database does not have it yet (it is a trusted
extension: the database owner may install it, and it then serves every schema of the database;
installed in a schema of its own, it would go when that schema is dropped). Where it cannot be
installed the migration warns and leaves the GIN index out: searches stay correct and read the whole
(narrow) `case_search` table instead. To add it later: `CREATE EXTENSION pg_trgm`, then the
`CREATE INDEX` of `_trigram_index` below.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
import logging

from alembic import op
from sqlalchemy.engine import Connection

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

log = logging.getLogger("zcflow.migrations")
POSITIONS = 100  # rows of case_name_positions (SQLite): a name's character positions


def _sqlite_grams(row: str, *, with_id: bool = True) -> str:
    """The lower-case 1- and 2-character substrings of `row`.name (with `row`.id), duplicates included."""
    case_id = f", {row}.id" if with_id else ""
    return (f"SELECT lower(substr({row}.name, n, 1)){case_id} FROM case_name_positions WHERE n <= length({row}.name) "
            f"UNION ALL SELECT lower(substr({row}.name, n, 2)){case_id} FROM case_name_positions "
            f"WHERE n < length({row}.name)")


def _sqlite_drop_grams(row: str) -> str:
    return f"DELETE FROM case_name_grams WHERE case_id = {row}.id AND gram IN ({_sqlite_grams(row, with_id=False)})"


def _sqlite_tail(row: str) -> str:
    return f"lower(substr({row}.id_number, -4))"


SQLITE = [
    "CREATE VIRTUAL TABLE case_search USING fts5(name, content='cases', content_rowid='id', tokenize='trigram')",
    "INSERT INTO case_search (case_search) VALUES ('rebuild')",
    "CREATE TABLE case_name_grams (gram VARCHAR(2) NOT NULL, case_id INTEGER NOT NULL, "
    "PRIMARY KEY (gram, case_id)) WITHOUT ROWID",
    "CREATE TABLE case_id_tails (tail VARCHAR(4) NOT NULL, case_id INTEGER NOT NULL, "
    "PRIMARY KEY (tail, case_id)) WITHOUT ROWID",
    # 1..100, read by the triggers (a trigger cannot hold a recursive CTE): a range of its rowids.
    "CREATE TABLE case_name_positions (n INTEGER PRIMARY KEY)",
    f"INSERT INTO case_name_positions (n) SELECT value FROM json_each('[{','.join(map(str, range(1, POSITIONS + 1)))}]')",
    f"INSERT INTO case_id_tails (tail, case_id) SELECT {_sqlite_tail('cases')}, id FROM cases",
]

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER cases_search_insert AFTER INSERT ON cases BEGIN "
    f"INSERT INTO case_search (rowid, name) VALUES (new.id, new.name); "
    f"INSERT OR IGNORE INTO case_name_grams (gram, case_id) {_sqlite_grams('new')}; "
    f"INSERT INTO case_id_tails (tail, case_id) VALUES ({_sqlite_tail('new')}, new.id); END",
    f"CREATE TRIGGER cases_search_delete AFTER DELETE ON cases BEGIN "
    f"INSERT INTO case_search (case_search, rowid, name) VALUES ('delete', old.id, old.name); "
    f"{_sqlite_drop_grams('old')}; "
    f"DELETE FROM case_id_tails WHERE tail = {_sqlite_tail('old')} AND case_id = old.id; END",
    f"CREATE TRIGGER cases_search_update AFTER UPDATE OF name, id_number ON cases "
    f"WHEN old.name IS NOT new.name OR old.id_number IS NOT new.id_number BEGIN "
    f"INSERT INTO case_search (case_search, rowid, name) VALUES ('delete', old.id, old.name); "
    f"INSERT INTO case_search (rowid, name) VALUES (new.id, new.name); "
    f"{_sqlite_drop_grams('old')}; "
    f"INSERT OR IGNORE INTO case_name_grams (gram, case_id) {_sqlite_grams('new')}; "
    f"DELETE FROM case_id_tails WHERE tail = {_sqlite_tail('old')} AND case_id = old.id; "
    f"INSERT INTO case_id_tails (tail, case_id) VALUES ({_sqlite_tail('new')}, new.id); END",
]

POSTGRES = [
    # Writers wait while the tables are filled and the triggers made (no case slips between).
    "LOCK TABLE cases IN SHARE MODE",
    "CREATE TABLE case_search (case_id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)",
    "CREATE TABLE case_name_grams (gram VARCHAR(2) NOT NULL, case_id INTEGER NOT NULL, "
    "PRIMARY KEY (gram, case_id))",
    "CREATE TABLE case_id_tails (tail VARCHAR(4) NOT NULL, case_id INTEGER NOT NULL, PRIMARY KEY (tail, case_id))",
    """CREATE FUNCTION zcflow_name_grams(name text) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
        SELECT DISTINCT lower(substr(name, i, k)) FROM generate_series(1, length(name)) i, (VALUES (1), (2)) w(k)
        WHERE i + k - 1 <= length(name) $$""",
    "INSERT INTO case_search (case_id, name) SELECT id, name FROM cases",
    "INSERT INTO case_name_grams (gram, case_id) SELECT g, c.id FROM cases c, zcflow_name_grams(c.name) g",
    "INSERT INTO case_id_tails (tail, case_id) SELECT lower(right(id_number, 4)), id FROM cases",
    """CREATE FUNCTION zcflow_case_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO case_search (case_id, name) SELECT id, name FROM new_cases;
        INSERT INTO case_name_grams (gram, case_id) SELECT g, n.id FROM new_cases n, zcflow_name_grams(n.name) g;
        INSERT INTO case_id_tails (tail, case_id) SELECT lower(right(id_number, 4)), id FROM new_cases;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM case_search s USING old_cases o WHERE s.case_id = o.id;
        DELETE FROM case_name_grams g USING old_cases o, zcflow_name_grams(o.name) og
         WHERE g.gram = og AND g.case_id = o.id;
        DELETE FROM case_id_tails t USING old_cases o WHERE t.tail = lower(right(o.id_number, 4)) AND t.case_id = o.id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE case_search SET name = NEW.name WHERE case_id = NEW.id;
        IF OLD.name IS DISTINCT FROM NEW.name THEN
            DELETE FROM case_name_grams WHERE case_id = OLD.id AND gram IN (SELECT zcflow_name_grams(OLD.name));
            INSERT INTO case_name_grams (gram, case_id) SELECT g, NEW.id FROM zcflow_name_grams(NEW.name) g;
        END IF;
        UPDATE case_id_tails SET tail = lower(right(NEW.id_number, 4))
         WHERE tail = lower(right(OLD.id_number, 4)) AND case_id = OLD.id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION zcflow_case_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE case_search, case_name_grams, case_id_tails;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER cases_search_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_search_insert()",
    "CREATE TRIGGER cases_search_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_search_delete()",
    "CREATE TRIGGER cases_search_update AFTER UPDATE OF name, id_number ON cases FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.id_number IS DISTINCT FROM NEW.id_number) "
    "EXECUTE FUNCTION zcflow_case_search_update()",
    "CREATE TRIGGER cases_search_truncate AFTER TRUNCATE ON cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION zcflow_case_search_truncate()",
]


def _trigram_schema(conn: Connection) -> str | None:
    """The schema pg_trgm is installed in, installing it in `public` if need be; None if it cannot be."""
    found = conn.exec_driver_sql("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                 "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'").scalar()
    if found:
        return str(found)
    reason = ""
    for statement in ("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
                      "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(statement)
            return _trigram_schema(conn)
        except Exception as exc:  # any refusal: say so, go on without the indexes
            reason = str(exc).splitlines()[0]
    log.warning("pg_trgm is not available (%s): name searches of 3 characters or more stay correct but read "
                "the whole case_search table; install it (the postgresql-contrib package) and create the index "
                "of migration 0012 to speed them up", reason)
    return None


def _trigram_index(schema: str) -> str:
    return f"CREATE INDEX ix_case_search_name_trgm ON case_search USING gin (name {schema}.gin_trgm_ops)"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in SQLITE:
            conn.exec_driver_sql(statement)
        # Filled position by position, one pass over the names each (the longest name says how many).
        longest = int(conn.exec_driver_sql("SELECT coalesce(max(length(name)), 0) FROM cases").scalar_one())
        for i in range(1, longest + 1):
            for k in (1, 2):
                conn.exec_driver_sql(f"INSERT OR IGNORE INTO case_name_grams (gram, case_id) SELECT "
                                     f"lower(substr(name, {i}, {k})), id FROM cases WHERE length(name) >= {i + k - 1}")
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
        return
    schema = _trigram_schema(conn)
    for statement in POSTGRES:
        conn.exec_driver_sql(statement)
    if schema is not None:
        conn.exec_driver_sql(_trigram_index(schema))
    for table in ("case_search", "case_name_grams", "case_id_tails"):
        conn.exec_driver_sql(f"ANALYZE {table}")


def downgrade() -> None:
    conn = op.get_bind()
    for trigger in ("insert", "delete", "update", "truncate"):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_search_{trigger}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS cases_search_{trigger} ON cases")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS zcflow_case_search_{trigger}()")
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS zcflow_name_grams(text)")
    for table in ("case_name_positions", "case_id_tails", "case_name_grams", "case_search"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

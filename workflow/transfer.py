"""`zcflow export` / `zcflow import`: a whole database as JSON lines, and back (issue 7).

The file is UTF-8, one JSON object per line, each ``{"table": T, "row": {column: value}}``:

- line 1 is the header, table ``zcflow_export``: format, schema revision, source backend, time;
- then every row of the tables in `TABLES` (policy versions, applicants, cases, history, bars,
  notifications, due times, calendar years, webhooks and their events, web users, the audit log),
  in that order (parents before children), each table by id; ids, versions and every column as stored;
  times are ISO 8601 with their offset, JSON columns are nested objects;
- the last line, table ``zcflow_export_end``, counts the rows of each table, so that a truncated
  file is refused instead of imported in part.

Export reads one snapshot (one read transaction; REPEATABLE READ on PostgreSQL) so that a running
scheduler cannot tear it, and writes under a temporary name that is renamed at the end: a crash
never leaves half a file under the name asked for. Import checks the whole file before it writes
(every line, column, type, length, reference and unique key; an error names the line), refuses a
database that already holds data, writes everything in one transaction, and on PostgreSQL moves
each id sequence past the highest imported id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Integer, String, Table, UniqueConstraint, delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.sqltypes import JSON
from sqlalchemy.types import TypeDecorator

from storage import case_counts, case_facets, repo, webhooks
from storage.audit import audit_log
from storage.calendar_years import calendar_years, new_token
from storage.migrate import current
from storage.policy_store import policy_versions
from storage.tables import AwareDateTime, User
from workflow import clock

FORMAT = 1
HEADER = "zcflow_export"
END = "zcflow_export_end"
# Parents before children: the order rows are written in, and inserted in.
TABLES: tuple[Table, ...] = (policy_versions, repo.applicants, repo.cases, repo.history, repo.bars,
                             repo.notifications, repo.scheduled_events, calendar_years, webhooks.webhooks,
                             webhooks.webhook_events, User.__table__, audit_log)  # type: ignore[attr-defined]
BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
CHUNK = 1000  # rows per INSERT when importing


class TransferError(ValueError):
    """A file or database that cannot be exported or imported; the message says where and why."""


@dataclass
class TransferReport:
    counts: dict[str, int] = field(default_factory=dict)
    schema: str | None = None
    replaced_schedule: int = 0  # pending due times of an initialised database, replaced by the file's

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


# ---- export -----------------------------------------------------------------------------------

def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _line(table: str, row: dict[str, Any]) -> str:
    return json.dumps({"table": table, "row": row}, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_lines(db: Engine) -> Iterator[str]:
    """Every line of the export of `db`, read in one snapshot."""
    with db.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield _line(HEADER, {"format": FORMAT, "schema": _revision(conn), "backend": conn.dialect.name,
                                 "exported_at": clock.now().isoformat()})
            counts: dict[str, int] = {}
            for table in TABLES:
                counts[table.name] = 0
                for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                    counts[table.name] += 1
                    yield _line(table.name, {k: _encode(v) for k, v in row.items()})
            yield _line(END, {"counts": counts})


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def export_to(db: Engine, out: IO[str]) -> TransferReport:
    report = TransferReport()
    for line in export_lines(db):
        out.write(line)
        record = json.loads(line)
        if record["table"] == END:
            report.counts = record["row"]["counts"]
        elif record["table"] == HEADER:
            report.schema = record["row"]["schema"]
    return report


def export_file(db: Engine, path: Path) -> TransferReport:
    """Write the export of `db` to `path`, atomically: a temporary file renamed when complete."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            report = export_to(db, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


# ---- reading and checking a file ----------------------------------------------------------------

@dataclass
class Parsed:
    header: dict[str, Any]
    rows: dict[str, list[tuple[int, dict[str, Any]]]]  # table -> [(line number, row)]


def _column_value(table: Table, name: str, value: Any, where: str, postgres: bool) -> Any:
    column = table.c[name]
    kind = column.type
    if isinstance(kind, TypeDecorator) and not isinstance(kind, AwareDateTime):
        kind = kind.impl_instance  # e.g. SQLModel's AutoString: a String of a given length
    if value is None:
        if not column.nullable:
            raise TransferError(f"{where}: column {name!r} may not be null")
        return None
    if isinstance(kind, AwareDateTime):
        if not isinstance(value, str):
            raise TransferError(f"{where}: column {name!r}: expected an ISO time, got {value!r}")
        try:
            t = dt.datetime.fromisoformat(value)
        except ValueError:
            raise TransferError(f"{where}: column {name!r}: {value!r} is not an ISO time") from None
        if t.tzinfo is None or t.utcoffset() is None:
            raise TransferError(f"{where}: column {name!r}: {value!r} has no offset (e.g. +00:00)")
        try:
            return t.astimezone(dt.UTC)
        except OverflowError:
            raise TransferError(f"{where}: column {name!r}: {value!r} is out of range") from None
    if isinstance(kind, JSON):
        if not isinstance(value, dict):
            raise TransferError(f"{where}: column {name!r}: expected a JSON object, got {value!r}")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TransferError(f"{where}: column {name!r}: expected an integer, got {value!r}")
        if not -(2**31) <= value < 2**31:
            raise TransferError(f"{where}: column {name!r}: {value} is out of range")
        return value
    if isinstance(kind, String):
        if not isinstance(value, str):
            raise TransferError(f"{where}: column {name!r}: expected text, got {value!r}")
        if kind.length is not None and len(value) > kind.length:
            raise TransferError(f"{where}: column {name!r}: longer than {kind.length} characters")
        if postgres and "\x00" in value:
            raise TransferError(f"{where}: column {name!r}: contains a NUL character, which PostgreSQL "
                                "cannot store")
        return value
    return value  # pragma: no cover - every column of the tables above has one of the types above


def _required(table: Table) -> set[str]:
    return {c.name for c in table.columns if not c.nullable and c.server_default is None}


def _decode_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TransferError(f"line {number}: not UTF-8 text") from None
        yield number, raw


def parse_export(lines: Iterable[bytes | str], *, postgres: bool = False) -> Parsed:
    """Read and check every line; raise TransferError naming the first bad line."""
    header: dict[str, Any] | None = None
    end: tuple[int, dict[str, Any]] | None = None
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {t.name: [] for t in TABLES}
    last = 0
    for number, raw in _decode_lines(lines):
        last = number
        where = f"line {number}"
        if not raw.strip():
            raise TransferError(f"{where}: empty line")
        if end is not None:
            raise TransferError(f"{where}: text after the end line (line {end[0]})")
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise TransferError(f"{where}: not JSON: {exc}") from None
        if not isinstance(record, dict) or set(record) != {"table", "row"}:
            raise TransferError(f'{where}: expected an object {{"table": ..., "row": {{...}}}}')
        name, row = record["table"], record["row"]
        if not isinstance(row, dict):
            raise TransferError(f"{where}: row: expected an object, got {row!r}")
        if number == 1:
            if name != HEADER:
                raise TransferError(f"{where}: not a zcflow export (the first line must be the "
                                    f"{HEADER!r} header)")
            if row.get("format") != FORMAT:
                raise TransferError(f"{where}: export format {row.get('format')!r}; this zcflow reads "
                                    f"format {FORMAT}")
            header = row
            continue
        if name == END:
            end = (number, row)
            continue
        if not isinstance(name, str) or name not in BY_NAME:
            raise TransferError(f"{where}: unknown table {name!r}; tables: {', '.join(BY_NAME)}")
        table = BY_NAME[name]
        where = f"line {number} ({name})"
        unknown = sorted(set(row) - set(table.c.keys()))
        if unknown:
            raise TransferError(f"{where}: unknown column {unknown[0]!r}")
        missing = sorted(_required(table) - set(row))
        if missing:
            raise TransferError(f"{where}: column {missing[0]!r} is missing")
        rows[name].append((number, {k: _column_value(table, k, v, where, postgres) for k, v in row.items()}))
    if header is None:
        raise TransferError("line 1: the file is empty, not a zcflow export")
    if end is None:
        raise TransferError(f"line {last}: the file ends without its {END!r} line: it is truncated")
    _check_keys(rows)
    _check_counts(end, rows)
    return Parsed(header, rows)


def _check_counts(end: tuple[int, dict[str, Any]], rows: dict[str, list[tuple[int, dict[str, Any]]]]) -> None:
    number, row = end
    counts = row.get("counts")
    if not isinstance(counts, dict):
        raise TransferError(f"line {number} ({END}): counts: expected an object")
    for name, found in rows.items():
        if counts.get(name, 0) != len(found):
            raise TransferError(f"line {number} ({END}): the file should hold {counts.get(name, 0)} {name} "
                                f"rows but holds {len(found)}: it is incomplete or was edited")


def _check_keys(rows: dict[str, list[tuple[int, dict[str, Any]]]]) -> None:
    """Unique keys within the file, and every reference to a row that the file holds."""
    for table in TABLES:
        keys: list[tuple[str, ...]] = [tuple(c.name for c in table.primary_key.columns)]
        keys += [tuple(c.name for c in con.columns) for con in table.constraints
                 if isinstance(con, UniqueConstraint)]
        keys += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
        for key in keys:
            seen: dict[tuple[Any, ...], int] = {}
            for number, row in rows[table.name]:
                value = tuple(row.get(c) for c in key)
                if any(v is None for v in value):
                    continue
                if value in seen:
                    raise TransferError(f"line {number} ({table.name}): {', '.join(key)} {value!r} is already on "
                                        f"line {seen[value]}")
                seen[value] = number
    ids = {t.name: {row["id"] for _, row in rows[t.name]} for t in TABLES if "id" in t.c}
    for table in TABLES:
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target not in ids or fk.column.name != "id":
                continue
            for number, row in rows[table.name]:
                ref = row.get(fk.parent.name)
                if ref is not None and ref not in ids[target]:
                    raise TransferError(f"line {number} ({table.name}): {fk.parent.name} {ref} names no row "
                                        f"of {target} in the file")


# ---- import -----------------------------------------------------------------------------------

def holdings(conn: Connection) -> dict[str, int]:
    """What the database holds that an import would clash with: rows of every table but the
    round's due times, and due times already applied (a fresh `zcflow init` writes pending ones)."""
    found: dict[str, int] = {}
    for table in TABLES:
        stmt = select(func.count()).select_from(table)
        if table is repo.scheduled_events:
            stmt = stmt.where(table.c.done_at.is_not(None))
        n = int(conn.execute(stmt).scalar_one())
        if n:
            found[table.name] = n
    return found


def import_lines(db: Engine, lines: Iterable[bytes | str]) -> TransferReport:
    """Check the file, then load it into the empty database `db` in one transaction."""
    postgres = db.dialect.name == "postgresql"
    parsed = parse_export(lines, postgres=postgres)
    report = TransferReport(schema=parsed.header.get("schema"))
    with db.begin() as conn:
        held = holdings(conn)
        if held:
            what = ", ".join(f"{n} {t}" for t, n in held.items())
            raise TransferError(f"the database {_name(db)} is not empty (it holds {what}); import only into an "
                                "empty database, e.g. a new SQLite file or a freshly created PostgreSQL database")
        report.replaced_schedule = int(conn.execute(delete(repo.scheduled_events)).rowcount or 0)
        for table in TABLES:
            found = parsed.rows[table.name]
            report.counts[table.name] = len(found)
            for start in range(0, len(found), CHUNK):
                chunk = found[start:start + CHUNK]
                try:
                    conn.execute(insert(table), [row for _, row in chunk])
                except DBAPIError as exc:
                    raise TransferError(f"lines {chunk[0][0]}–{chunk[-1][0]} ({table.name}): the database refused "
                                        f"them: {str(exc.orig).strip().splitlines()[0]}") from None
        if parsed.rows[calendar_years.name]:
            new_token(conn)  # every process reloads the imported years
        if postgres:
            for table in (t for t in TABLES if "id" in t.c):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
        case_counts.fold(conn)  # the INSERTs' journal rows (PostgreSQL), in the import's transaction
        case_facets.fold(conn)
    return report


def import_file(db: Engine, path: Path) -> TransferReport:
    with open(path, "rb") as f:
        return import_lines(db, f)


def _name(db: Engine) -> str:
    return db.url.render_as_string(hide_password=True)


def check_exportable(db: Engine) -> None:
    """Refuse a database without the zcflow schema at its newest revision."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    found = current(db)
    if found is None:
        raise TransferError(f"{_name(db)} holds no zcflow database")
    if found != head:
        raise TransferError(f"{_name(db)} is at schema revision {found}, not {head}: run `zcflow init` on it "
                            "first")

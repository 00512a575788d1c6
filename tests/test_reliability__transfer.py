"""Data safety (issue 7): `zcflow export FILE` and `zcflow import FILE` move a whole database between
SQLite and PostgreSQL without losing or changing a row, and refuse what would lose data: a database
that is not empty, a broken or truncated file (naming the line), a half-written export.
The format is described in workflow/transfer.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from notifications.config import memory_transports
from notifications.outbox import deliver
from states.vocabulary import Role
from storage import repo
from storage.audit import audit_log, record_audit
from storage.calendar_years import calendar_years
from storage.db import make_engine
from storage.migrate import upgrade
from storage.tables import User
from storage.webhooks import add_webhook
from tests.drive import HOUR, walk
from tests.filings import filing
from tests.reliability import SEEDED_AT, TABLES, consistency_problems, count, rows_by_table, zcflow
from workflow.calendar_import import import_calendar_year
from workflow.clock import SHANGHAI
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow
from workflow.transfer import END, HEADER, export_lines


def zc(*args: str, cwd: Path) -> Any:
    return zcflow(*args, cwd=cwd)


def fill(db: Engine) -> None:
    """Every kind of row: cases of all five policies in many states, returns, an objection, a
    revocation and its bar, expiries and reminders from tick, notifications sent and failed."""
    ensure_schedule(db)
    walk(db, "hz-recognition-2025h1", until="certified", serial=1)
    wf, returned, _ = walk(db, "hz-recognition-2025h1", until="employer_review", serial=2)
    wf.fire(returned, "employer_return", Actor(Role.employer, "hr-01"),
            dt.datetime(2025, 3, 21, 10, 30, 15, 123456, tzinfo=SHANGHAI), "学历证明不清晰，请补正")
    _, objected, _ = walk(db, "hz-recognition-2025h1", until="employer_notice", serial=3)
    wf.fire(objected, "object", Actor(Role.public), wf.case(objected).updated_at + HOUR, "举报：业绩材料不实")
    _, revoked, _ = walk(db, "yh-recognition-2024", until="certified", serial=4)
    wf.fire(revoked, "revoke", Actor(Role.city), dt.datetime(2024, 12, 1, 10, tzinfo=SHANGHAI), "证书造假")
    walk(db, "lp-assessment-2022", until="mail_in", serial=5)
    walk(db, "wx-recognition-2022", until="publication", serial=6)
    walk(db, "hz-recognition-2022", until="management_review", serial=7)
    tick(db, dt.datetime(2025, 4, 20, tzinfo=SHANGHAI))
    deliver(db, dt.datetime(2025, 4, 20, tzinfo=SHANGHAI), transports=memory_transports(), limit=40)
    made_up = Path(__file__).parent / "data" / "calendar" / "made-up-2027.yaml"  # an imported year moves too
    import_calendar_year(db, made_up.read_text(encoding="utf-8"), name=made_up.name,
                         at=dt.datetime(2025, 4, 21, tzinfo=SHANGHAI), actor="cli:test")


@pytest.fixture
def source(db: Engine) -> Engine:
    fill(db)
    return db


@pytest.fixture(scope="module")
def exported(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One filled SQLite database and its export, shared by the tests that only read them."""
    here = tmp_path_factory.mktemp("exported")
    shutil.copy(sqlite_template, here / "source.db")
    db = make_engine(sqlite_url(here / "source.db"))
    try:
        fill(db)
        (here / "export.jsonl").write_text("".join(export_lines(db)), encoding="utf-8")
    finally:
        db.dispose()
    return here / "export.jsonl"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def data_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["table"] == HEADER and json.loads(lines[-1])["table"] == END
    return lines[1:]


def assert_same_rows(a: Engine, b: Engine) -> None:
    """Row by row, column by column, every table."""
    left, right = rows_by_table(a), rows_by_table(b)
    for table in TABLES:
        assert len(left[table.name]) == len(right[table.name]), table.name
        for x, y in zip(left[table.name], right[table.name], strict=True):
            assert x == y, f"{table.name} id {x.get('id')}"
    years = []
    for engine in (a, b):
        with engine.connect() as conn:
            years.append([dict(r) for r in conn.execute(select(calendar_years).order_by(calendar_years.c.year))
                          .mappings()])
    assert years[0] == years[1] and len(years[0]) == 1


def assert_engine_works(db: Engine) -> None:
    """After an import: new ids follow the imported ones (sequences moved on), moves and tick work."""
    with db.connect() as conn:
        top = {t.name: conn.execute(select(t.c.id).order_by(t.c.id.desc())).scalar() or 0 for t in TABLES}
    wf = Workflow(db)
    at = dt.datetime(2025, 3, 25, 10, tzinfo=SHANGHAI)
    case_id = wf.create_case("hz-recognition-2022", filing("hz-recognition-2022", 42), at)
    assert case_id == top["cases"] + 1
    wf.fire(case_id, "submit", Actor(Role.applicant), at + HOUR)
    with db.connect() as conn:
        assert conn.execute(select(repo.history.c.id).where(repo.history.c.case_id == case_id)
                            .order_by(repo.history.c.id)).scalars().all() == [top["history"] + 1, top["history"] + 2]
    tick(db, at + dt.timedelta(days=60))
    assert consistency_problems(db) == []


def test_sqlite_to_postgresql_to_sqlite_keeps_every_row(pg_url: str, tmp_path: Path) -> None:
    a = make_engine(sqlite_url(tmp_path / "a.db"))
    upgrade(a)
    fill(a)
    pg = make_engine(pg_url)
    b = make_engine(sqlite_url(tmp_path / "b.db"))
    # Only `zcflow init` (demo, simulate) creates a database: the import target is made with it.
    assert zcflow("init", "--database", sqlite_url(tmp_path / "b.db"), cwd=tmp_path).returncode == 0
    try:
        steps = [("export", "one.jsonl", sqlite_url(tmp_path / "a.db")), ("import", "one.jsonl", pg_url),
                 ("export", "two.jsonl", pg_url), ("import", "two.jsonl", sqlite_url(tmp_path / "b.db")),
                 ("export", "three.jsonl", sqlite_url(tmp_path / "b.db"))]
        for command, name, url in steps:
            done = zc(command, str(tmp_path / name), "--database", url, "--json", cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["counts"]["history"] > 40
        assert_same_rows(a, pg)
        assert_same_rows(pg, b)
        one, two, three = (data_lines(tmp_path / n) for n in ("one.jsonl", "two.jsonl", "three.jsonl"))
        assert one == two == three
        assert consistency_problems(pg) == [] and consistency_problems(b) == []
        assert_engine_works(pg)
        assert_engine_works(b)
    finally:
        for e in (a, pg, b):
            e.dispose()


def test_round_trip_into_a_fresh_sqlite_file(source: Engine, tmp_path: Path) -> None:
    """From either backend (the `db` fixture) into SQLite, in process: export_lines → import_lines."""
    from workflow.transfer import import_lines

    with source.begin() as conn:  # a webhook receiver, a web user and the audit log are an office's data too
        add_webhook(conn, "https://platform.example.cn/events", "a-secret-of-16-chars", [], SEEDED_AT)
        conn.execute(insert(User.__table__).values(  # type: ignore[attr-defined]
            username="shangcheng", password_hash="$argon2id$stored-as-is", role="department",
            scope={"district": "上城区"}, created_at=SEEDED_AT, auth_epoch=3))
        record_audit(conn, at=SEEDED_AT, actor="admin", action="user_add", subject="shangcheng")
    target = make_engine(sqlite_url(tmp_path / "copy.db"))
    try:
        upgrade(target)
        report = import_lines(target, export_lines(source))
        assert report.counts == {**{t.name: count(source, t) for t in TABLES}, "calendar_years": 1,
                                 "webhooks": 1, "webhook_events": 0, "users": 1,
                                 "audit_log": count(source, audit_log)}
        with source.connect() as before, target.connect() as after:
            for table in (User.__table__, audit_log):  # type: ignore[attr-defined]
                assert after.execute(select(table)).all() == before.execute(select(table)).all()
        assert_same_rows(source, target)
        assert_engine_works(target)
    finally:
        target.dispose()


def test_import_refuses_a_database_that_holds_data(source: Engine, db_url: str, tmp_path: Path) -> None:
    exported = tmp_path / "export.jsonl"
    assert zc("export", str(exported), "--database", db_url, cwd=tmp_path).returncode == 0
    before = rows_by_table(source)
    done = zc("import", str(exported), "--database", db_url, cwd=tmp_path)
    assert done.returncode == 2
    assert "is not empty" in done.stderr and "cases" in done.stderr
    assert rows_by_table(source) == before


def test_import_accepts_a_database_that_zcflow_init_prepared(exported: Path, tmp_path: Path) -> None:
    """`zcflow init` writes the rounds' pending due times; the import replaces them with the file's."""
    target = sqlite_url(tmp_path / "target.db")
    assert zcflow("init", "--database", target, cwd=tmp_path).returncode == 0
    done = zc("import", str(exported), "--database", target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    source = make_engine(sqlite_url(exported.parent / "source.db"))
    copy = make_engine(target)
    try:
        assert_same_rows(source, copy)
    finally:
        source.dispose()
        copy.dispose()


def lines_of(exported: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]


def first(lines: list[dict[str, Any]], table: str) -> int:
    return next(i for i, line in enumerate(lines) if line["table"] == table)


def edit(lines: list[dict[str, Any]], table: str, **changes: Any) -> int:
    """Change the first row of `table`; returns its line number (1-based)."""
    i = first(lines, table)
    lines[i]["row"].update(changes)
    return i + 1


def _not_json(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    i = first(lines, "history")
    return [*lines[:i], "{not json", *lines[i + 1:]], i + 1


def _unknown_table(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    i = first(lines, "bars")
    lines[i]["table"] = "login_throttle"
    return lines, i + 1


def _without_end(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    return lines[:-1], len(lines) - 1


def _cut_mid_table(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    i = first(lines, "notifications")
    return [*lines[:i], lines[-1]], len(lines[:i]) + 1


def _duplicate_id(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    i = first(lines, "history")
    return [*lines[:i + 1], lines[i], *lines[i + 1:]], i + 2


def _dangling(lines: list[dict[str, Any]]) -> tuple[list[Any], int]:
    return lines, edit(lines, "history", case_id=999_999)


BROKEN = {
    "not JSON": (_not_json, "not JSON"),
    "unknown table": (_unknown_table, "unknown table 'login_throttle'"),
    "unknown column": (lambda ls: (ls, edit(ls, "cases", colour="red")), "unknown column 'colour'"),
    "missing column": (lambda ls: (ls, edit(ls, "cases") and _drop(ls, "cases", "state")), "'state' is missing"),
    "wrong type": (lambda ls: (ls, edit(ls, "cases", version="3")), "expected an integer"),
    "a bool for an int": (lambda ls: (ls, edit(ls, "cases", version=True)), "expected an integer"),
    "naive time": (lambda ls: (ls, edit(ls, "history", at="2025-03-20T10:00:00")), "has no offset"),
    "not a time": (lambda ls: (ls, edit(ls, "history", at="yesterday")), "is not an ISO time"),
    "too long": (lambda ls: (ls, edit(ls, "cases", state="x" * 40)), "longer than 32"),
    "null where required": (lambda ls: (ls, edit(ls, "history", action=None)), "may not be null"),
    "JSON column not an object": (lambda ls: (ls, edit(ls, "cases", data=[1, 2])), "expected a JSON object"),
    "duplicate id": (_duplicate_id, "is already on line"),
    "dangling reference": (_dangling, "names no row of cases"),
    "truncated (no end line)": (_without_end, "truncated"),
    "rows missing (cut mid-table)": (_cut_mid_table, "incomplete"),
}


def _drop(lines: list[dict[str, Any]], table: str, column: str) -> int:
    i = first(lines, table)
    del lines[i]["row"][column]
    return i + 1


def write(lines: list[Any], path: Path) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("case", BROKEN.values(), ids=list(BROKEN))
def test_a_broken_file_is_refused_naming_the_line_and_nothing_is_written(exported: Path, sqlite_template: Path,
                                                                         tmp_path: Path, case: Any) -> None:
    from workflow.transfer import TransferError, import_file

    breaker, message = case
    broken, line = breaker(lines_of(exported))
    shutil.copy(sqlite_template, tmp_path / "target.db")
    target = make_engine(sqlite_url(tmp_path / "target.db"))
    try:
        with pytest.raises(TransferError) as refused:
            import_file(target, write(broken, tmp_path / "broken.jsonl"))
        assert f"line {line}" in str(refused.value) and message in str(refused.value)
        assert all(count(target, t) == 0 for t in TABLES)
    finally:
        target.dispose()


def test_cli_import_of_a_broken_file_exits_2_naming_the_line(exported: Path, tmp_path: Path) -> None:
    broken, line = _dangling(lines_of(exported))
    target = sqlite_url(tmp_path / "target.db")
    prepared = make_engine(target)  # an empty zcflow database (only init, demo, simulate create one)
    upgrade(prepared)
    prepared.dispose()
    done = zc("import", str(write(broken, tmp_path / "broken.jsonl")), "--database", target, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"line {line} (history): case_id 999999 names no row of cases" in done.stderr
    assert "Traceback" not in done.stderr
    empty = make_engine(target)
    try:
        assert all(count(empty, t) == 0 for t in TABLES)
    finally:
        empty.dispose()


@pytest.mark.parametrize("content", [b"", b"\xff\xfe not utf-8\n", b'{"table": "cases", "row": {}}\n'],
                         ids=["empty", "not UTF-8", "no header"])
def test_a_file_that_is_not_an_export_is_refused(content: bytes, sqlite_template: Path, tmp_path: Path) -> None:
    from workflow.transfer import TransferError, import_file

    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    shutil.copy(sqlite_template, tmp_path / "target.db")
    target = make_engine(sqlite_url(tmp_path / "target.db"))
    try:
        with pytest.raises(TransferError, match="line 1"):
            import_file(target, path)
    finally:
        target.dispose()


def test_export_refuses_a_missing_database_and_leaves_no_file(tmp_path: Path) -> None:
    done = zc("export", str(tmp_path / "out.jsonl"), "--database", sqlite_url(tmp_path / "nothing.db"),
              cwd=tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_into_a_missing_directory_exits_2_and_leaves_nothing(exported: Path, tmp_path: Path) -> None:
    done = zc("export", str(tmp_path / "no" / "such" / "dir.jsonl"), "--database",
              sqlite_url(exported.parent / "source.db"), cwd=tmp_path)
    assert done.returncode == 2 and "cannot write" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "no").exists()


def test_export_refuses_a_database_at_an_older_schema(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    old = make_engine(sqlite_url(tmp_path / "old.db"))
    try:
        upgrade(old, "0001")
        head = ScriptDirectory.from_config(alembic_config(old)).get_current_head()
    finally:
        old.dispose()
    done = zc("export", str(tmp_path / "out.jsonl"), "--database", sqlite_url(tmp_path / "old.db"), cwd=tmp_path)
    if head == "0001":
        assert done.returncode == 0, done.stderr  # no later revision yet: 0001 is the newest
    else:
        assert done.returncode == 2 and "zcflow init" in done.stderr and not (tmp_path / "out.jsonl").exists()


def test_export_is_one_snapshot_while_cases_move_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """A move committed while the export runs is either wholly in the file or not at all: the case
    row and its history agree (REPEATABLE READ), so the file imports as a consistent database."""
    from workflow.transfer import import_lines

    pg = make_engine(pg_url)
    writer = make_engine(pg_url)
    target = make_engine(sqlite_url(tmp_path / "copy.db"))
    try:
        fill(pg)
        wf = Workflow(writer)
        with pg.connect() as conn:
            waiting = conn.execute(select(repo.cases.c.id).where(repo.cases.c.state == "management_review")).scalar()
        assert waiting is not None
        lines: list[str] = []
        for line in export_lines(pg):
            lines.append(line)
            if json.loads(line)["table"] == "cases" and json.loads(lines[-2])["table"] != "cases":
                # The cases have been read, their history not yet: another process moves a case.
                wf.fire(waiting, "department_approve", Actor(Role.department), wf.case(waiting).updated_at + HOUR)
        upgrade(target)
        import_lines(target, lines)
        assert consistency_problems(target) == []
        assert Workflow(target).case(waiting).state == "management_review"  # the move came after the snapshot
        assert Workflow(pg).case(waiting).state == "assessment"
    finally:
        for e in (pg, writer, target):
            e.dispose()

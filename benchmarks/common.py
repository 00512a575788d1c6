"""What every benchmark shares: sizes, result rows, throw-away databases and a fast bulk loader.

Each benchmark measures zcflow and its reference in the same run, on the same machine and the same
data, so that the ratio between them holds even when the machine is noisy; targets are stated on
ratios wherever the issue gives one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from storage import case_counts, case_facets
from storage.db import make_engine
from storage.migrate import upgrade
from workflow.clock import SHANGHAI

T = TypeVar("T")
POLICY = "hz-recognition-2025h1"
EMPLOYER_CUTOFF = dt.datetime(2025, 4, 15, 0, 0, tzinfo=SHANGHAI)  # end of 2025-04-14 (seed 001 §二.2)
SUBMITTED_AT = dt.datetime(2025, 3, 20, 10, 0, tzinfo=SHANGHAI)
ACTION_AT = dt.datetime(2025, 4, 2, 10, 0, tzinfo=SHANGHAI)


# ---- sizes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    name: str
    cutoff: int  # cases swept at the employer cutoff (benchmark 1)
    actions: int  # single actions per variant (benchmark 2)
    spiff: int  # SpiffWorkflow request steps (benchmark 2)
    naive: int  # naive machine-per-case actions (benchmark 2)
    memory: tuple[int, int]  # sweep sizes compared for peak memory (benchmark 3)
    dashboard: int  # cases in the database for the dashboard queries (benchmark 4)
    round: int  # applicants in the generated round (benchmark 5)
    amendment: int  # in-flight cases a 延期 amendment moves (benchmark 6)
    calendar: int  # open notices a calendar import recomputes (benchmark 7)
    repeats: int  # best of this many runs for the sweeps
    query_repeats: int  # best of this many runs for each dashboard query


SIZES: dict[str, Size] = {
    # The smoke test: every row, in a few seconds.
    "tiny": Size("tiny", cutoff=300, actions=150, spiff=100, naive=50, memory=(200, 2_000), dashboard=3_000,
                 round=25, amendment=200, calendar=200, repeats=1, query_repeats=3),
    # CI: every row in well under a minute; figures are only indicative at this size.
    "small": Size("small", cutoff=5_000, actions=1_000, spiff=500, naive=300, memory=(1_000, 10_000),
                  dashboard=50_000, round=300, amendment=10_000, calendar=10_000, repeats=1, query_repeats=5),
    # The design point: 100,000 cases in a round, 1,000,000 in the database.
    "full": Size("full", cutoff=100_000, actions=5_000, spiff=3_000, naive=1_500, memory=(10_000, 100_000),
                 dashboard=1_000_000, round=10_000, amendment=100_000, calendar=100_000, repeats=2, query_repeats=20),
}


# ---- result rows ----------------------------------------------------------------------------------

@dataclass
class Figure:
    """One measured figure. `ratio` compares it with `versus` (another figure of the same run)."""

    bench: str
    name: str
    backend: str
    n: int
    value: float
    unit: str  # "s", "ms", "/s", "MB"
    versus: str | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    size: Size
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)  # query plans, printed after the table
    keep: Path | None = None  # --keep-data: where benchmark 4 keeps its loaded database between runs

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        return fig


def compare(fig: Figure, ref: Figure, *, higher_is_better: bool, limit: float | None = None,
            target: str | None = None) -> Figure:
    """Set `fig.ratio` = fig / ref (a speed-up for rates, a slow-down for times) and check `limit`."""
    fig.versus = f"{ref.name} ({ref.backend})" if ref.backend != fig.backend else ref.name
    fig.ratio = fig.value / ref.value if ref.value else float("inf")
    if limit is not None:
        fig.target = target
        fig.met = fig.ratio >= limit if higher_is_better else fig.ratio <= limit
    return fig


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM on Linux (ru_maxrss there also counts the
    memory of the parent a subprocess was forked from), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- timing ---------------------------------------------------------------------------------------

def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds `fn` takes (garbage collection off while it runs, as timeit does)."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out
    finally:
        if was:
            gc.enable()


def best_alternating(repeats: int, prepare: Callable[[], str], drop: Callable[[str], None],
                     variants: dict[str, Callable[[str], float]]) -> dict[str, float]:
    """The best seconds of each variant over `repeats` rounds, the variants taking turns (raw, zcflow,
    raw, zcflow…), each run on a database `prepare` makes afresh (its URL) and `drop` removes after."""
    best: dict[str, float] = {}
    for _ in range(repeats):
        for kind, run in variants.items():
            url = prepare()
            try:
                seconds = run(url)
            finally:
                drop(url)
            best[kind] = min(best.get(kind, seconds), seconds)
    return best


# ---- databases ------------------------------------------------------------------------------------

def postgres_url() -> str | None:
    return os.environ.get("ZCFLOW_BENCH_DATABASE_URL") or os.environ.get("ZCFLOW_TEST_DATABASE_URL")


@dataclass
class Backend:
    """Where a benchmark runs: a SQLite directory, or a PostgreSQL server (one schema per database)."""

    name: str  # "sqlite" | "postgresql"
    workdir: Path
    pg_url: str | None = None
    made: list[str] = field(default_factory=list)

    def fresh(self, label: str) -> str:
        """The URL of a new, migrated, empty database."""
        if self.name == "sqlite":
            path = self.workdir / f"{label}-{uuid.uuid4().hex[:6]}.db"
            url = f"sqlite:///{path}"
        else:
            schema = f"zcb_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            url = self._schema_url(schema, "CREATE SCHEMA")
            self.made.append(schema)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url

    def _schema_url(self, schema: str, create: str) -> str:
        """PostgreSQL: make `schema` (`create` is the statement's head) and the URL that works in it."""
        assert self.pg_url
        admin = make_engine(self.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"{create} {schema}"))
        admin.dispose()
        base = self.pg_url
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

    def drop(self, url: str) -> None:
        """Remove a database made by `fresh` (and free its disk at once)."""
        if self.name == "sqlite":
            path = Path(make_url(url).database or "")
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
            return
        schema = url.rsplit("%3D", 1)[1]
        admin = make_engine(self.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
        if schema in self.made:
            self.made.remove(schema)

    def kept(self, label: str, keep_dir: Path) -> tuple[str, bool]:
        """The URL of a database kept between runs (`--keep-data`), migrated to the head, and whether
        it already holds data: a SQLite file in `keep_dir`, a schema `zcb_keep_<label>` on PostgreSQL.
        Never dropped by the benchmarks; delete the file or the schema to start afresh."""
        if self.name == "sqlite":
            keep_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{keep_dir / f'{label}.db'}"
        else:
            url = self._schema_url(f"zcb_keep_{label.replace('-', '_')}", "CREATE SCHEMA IF NOT EXISTS")
        engine = make_engine(url)
        try:
            upgrade(engine)
            with engine.connect() as conn:
                loaded = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one() > 0
        finally:
            engine.dispose()
        return url, bool(loaded)

    def close(self) -> None:
        for schema in list(self.made):
            with contextlib.suppress(Exception):
                self.drop(f"x%3D{schema}")


@contextlib.contextmanager
def backends(pg_url: str | None) -> Iterator[list[Backend]]:
    with tempfile.TemporaryDirectory(prefix="zcflow-bench-") as tmp:
        made = [Backend("sqlite", Path(tmp))]
        if pg_url:
            made.append(Backend("postgresql", Path(tmp), pg_url))
        try:
            yield made
        finally:
            for b in made:
                b.close()


# ---- bulk loading ---------------------------------------------------------------------------------

CASE_COLUMNS = (
    "id", "policy_id", "policy_version", "applicant_id", "id_number", "name", "state", "version", "active_key",
    "district", "employer", "specialty", "series", "level", "title", "committee", "return_stage",
    "notice_stage", "notice_opened_at", "notice_closes_at", "submitted_at", "created_at", "updated_at", "data",
    "eligibility",
)
APPLICANT_COLUMNS = ("id", "id_type", "id_number", "name", "phone", "email", "created_at")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉力斌宇浩凯鹏"
COMMITTEE = "杭州市制造业工程技术人员工程师资格评审委员会"


def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def id_number(serial: int) -> str:
    """A distinct 18-character resident ID per serial (the check digit is not needed for bulk rows)."""
    born = dt.date(1970, 1, 1) + dt.timedelta(days=serial // 1000 % 12000)
    return f"330102{born:%Y%m%d}{serial % 1000:03d}{serial // 12_000_000 % 10}"


def _data_template() -> str:
    """The `data` JSON of a real filing, as the engine stores it, with slots for the name and ID."""
    from states.applicant import ApplicantFiling

    filing = ApplicantFiling.model_validate({
        "name": "NAME", "id_type": "resident_id", "id_number": "330102199001011234", "district": "上城区",
        "employer": "杭州示范机电有限公司", "specialty": "机电制造", "civil_servant": False,
        "education": [{"level": "bachelor", "graduated": "2015-07-01", "relevant": True}],
        "work_start": "2015-07-15", "certificate": {"entry": 5, "obtained": "2021-05-10"},
    })
    dumped = json.dumps(filing.model_dump(mode="json"))
    return dumped.replace('"NAME"', "%(name)s").replace('"330102199001011234"', '"%(id)s"')


_ELIGIBILITY = json.dumps({
    "policy": POLICY, "eligible": True, "level": "intermediate", "title": "工程师", "series": "制造业",
    "full_years": 9, "reference_date": "2025-06-30", "committee": COMMITTEE, "reasons": [],
    "rule": "bachelor+5 (001 附件1 §二 申报条件)", "catalogue_no": 5, "hints": [],
})


@dataclass
class CaseSpec:
    """What varies between bulk-loaded cases; everything else is a realistic constant."""

    policy_id: str
    state: str
    district: str
    employer: str
    name: str
    version: int
    active: bool
    return_stage: str | None = None
    notice_stage: str | None = None
    notice_closes_at: dt.datetime | None = None
    notice_opened_at: dt.datetime | None = None  # default: a week before the close


class Loader:
    """Writes cases (and their applicants) straight into the tables, in the format SQLAlchemy would:
    COPY on PostgreSQL, executemany in one transaction on SQLite. Only for setting up benchmarks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self.template = _data_template()
        self.created = SUBMITTED_AT - dt.timedelta(days=3)
        self.submitted = SUBMITTED_AT

    def _t(self, t: dt.datetime | None) -> Any:
        if t is None:
            return None
        u = t.astimezone(dt.UTC)
        return u.replace(tzinfo=None).isoformat(" ", "microseconds") if self.dialect == "sqlite" else u.isoformat()

    def rows(self, specs: Iterable[CaseSpec], first_id: int) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        created, submitted = self._t(self.created), self._t(self.submitted)
        for i, s in enumerate(specs):
            cid = first_id + i
            idn = id_number(cid)
            data = self.template % {"name": json.dumps(s.name), "id": idn}
            applicant = (cid, "resident_id", idn, s.name, None, None, created)
            case = (cid, s.policy_id, 1, cid, idn, s.name, s.state, s.version,
                    f"{s.policy_id}|{idn}" if s.active else None, s.district, s.employer, "机电制造", "制造业",
                    "intermediate", "工程师", COMMITTEE, s.return_stage, s.notice_stage,
                    self._t(s.notice_opened_at or (s.notice_closes_at - dt.timedelta(days=7)
                                                   if s.notice_closes_at else None)),
                    self._t(s.notice_closes_at), submitted if s.state != "draft" else None, created, submitted,
                    data, _ELIGIBILITY)
            yield applicant, case

    def load(self, specs: Iterable[CaseSpec], first_id: int = 1, chunk: int = 50_000) -> int:
        if self.dialect == "sqlite":
            return self._load_sqlite(specs, first_id, chunk)
        return self._load_postgres(specs, first_id)

    def _load_sqlite(self, specs: Iterable[CaseSpec], first_id: int, chunk: int) -> int:
        path = make_url(self.url).database
        assert path
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-200000")
        a_sql = f"INSERT INTO applicants ({', '.join(APPLICANT_COLUMNS)}) VALUES ({', '.join('?' * 7)})"
        c_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
        n = 0
        batch_a: list[tuple[Any, ...]] = []
        batch_c: list[tuple[Any, ...]] = []

        def flush() -> None:
            con.execute("BEGIN")
            con.executemany(a_sql, batch_a)
            con.executemany(c_sql, batch_c)
            con.execute("COMMIT")
            batch_a.clear()
            batch_c.clear()

        for applicant, case in self.rows(specs, first_id):
            batch_a.append(applicant)
            batch_c.append(case)
            n += 1
            if len(batch_c) >= chunk:
                flush()
        if batch_c:
            flush()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        return n

    def _load_postgres(self, specs: Iterable[CaseSpec], first_id: int) -> int:
        engine = make_engine(self.url)
        n = 0
        try:
            with engine.begin() as conn:
                raw: Any = conn.connection.driver_connection
                a_sql = f"COPY applicants ({', '.join(APPLICANT_COLUMNS)}) FROM STDIN"
                c_sql = f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN"
                chunk_a: list[str] = []
                chunk_c: list[str] = []

                def flush() -> None:
                    with raw.cursor() as cur:
                        with cur.copy(a_sql) as cp:
                            cp.write("".join(chunk_a))
                        with cur.copy(c_sql) as cp:
                            cp.write("".join(chunk_c))
                    chunk_a.clear()
                    chunk_c.clear()

                for applicant, case in self.rows(specs, first_id):
                    chunk_a.append(_copy_line(applicant))
                    chunk_c.append(_copy_line(case))
                    n += 1
                    if len(chunk_c) >= 20_000:
                        flush()
                if chunk_c:
                    flush()
                for table in ("applicants", "cases"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            with engine.connect() as conn:  # the derived counts' journals, as the scheduler would
                case_counts.fold(conn)
                case_facets.fold(conn)
            vacuum(engine, "applicants", "cases", "case_search", "case_name_grams", "case_id_tails",
                   "case_facets")  # as autovacuum would
        finally:
            engine.dispose()
        return n


def vacuum(engine: Engine, *tables: str) -> None:
    """VACUUM ANALYZE on PostgreSQL (what autovacuum does soon after a bulk load), ANALYZE on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        with engine.connect() as conn:
            for table in tables:
                conn.exec_driver_sql(f"ANALYZE {table}")
            conn.commit()


def _copy_line(row: Sequence[Any]) -> str:
    out = []
    for v in row:
        if v is None:
            out.append("\\N")
        elif isinstance(v, str):
            out.append(v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"))
        else:
            out.append(str(v))
    return "\t".join(out) + "\n"


def engine_for(url: str, **kwargs: Any) -> Engine:
    return make_engine(url, **kwargs)


# ---- output ---------------------------------------------------------------------------------------

def fmt_value(f: Figure) -> str:
    v = f.value
    if f.unit == "/s":
        return f"{v:,.0f}/s"
    if f.unit == "s":
        return f"{v:.2f} s" if v >= 0.1 else f"{v * 1000:.1f} ms"
    if f.unit == "ms":
        return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"
    if f.unit == "MB":
        return f"{v:,.1f} MB"
    return f"{v:g} {f.unit}"


def render_table(report: Report, markdown: bool = False) -> str:
    head = ("benchmark", "measurement", "backend", "N", "figure", "ratio", "vs", "target", "met")
    rows = []
    for f in report.figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
        met = "" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.bench, f.name, f.backend, f"{f.n:,}", fmt_value(f), ratio, f.versus or "", f.target or "",
                     met))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    sep = "  "
    out = [sep.join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append(sep.join("-" * w for w in widths))
    out += [sep.join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)

"""The policy registry over a database: bind it, read a policy's file, check one, and import one
(CONTRACT §9). An import of an id that already has cases is an amendment (workflow/amendments.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from states.policy import POLICY_DIR, Policy, get_policy, parse_policy, registry
from storage import policy_store
from storage.policy_store import StoredPolicies
from workflow.errors import InvalidInput
from workflow.policy_files import CheckReport, bundled_text, check_text

_BOUND: list[Engine | None] = [None]


def bind(db: Engine) -> None:
    """Make the process's registry read `db`'s imported versions (every process over one database
    sees the same policies). Binding the same engine again changes nothing."""
    source = registry().source
    if _BOUND[0] is db and isinstance(source, StoredPolicies) and not source.disposed:
        return
    _BOUND[0] = db
    registry().use(StoredPolicies(db))


def unbind(db: Engine | None = None) -> None:
    """Forget the database (before it is disposed): the registry holds bundled policies only."""
    if db is None or _BOUND[0] is db:
        _BOUND[0] = None
        registry().use(None)


def bound() -> Engine | None:
    return _BOUND[0]


def source_text(policy_id: str) -> tuple[str, Path | None, str]:
    """The text of a policy's latest version, the directory its sibling files are in (bundled only),
    and a label: `hz-recognition-2025h1` or `hz-recognition-2027h1 v2`."""
    try:
        policy = get_policy(policy_id)
    except KeyError as exc:
        raise InvalidInput(f"--from: {exc.args[0]}", field="from") from exc
    db = bound()
    if db is not None and policy_id in registry()._stored:
        with db.connect() as conn:
            row = policy_store.version_row(conn, policy_id, policy.version)
        if row is not None:
            return str(row.text), None, f"{policy_id} v{policy.version}"
    text = bundled_text(policy_id)
    assert text is not None, policy_id
    return text, POLICY_DIR, policy_id


def version_text(db: Engine, policy_id: str, version: int | None) -> str:
    """The full text of a stored (or bundled) version, for `policy export`."""
    bind(db)
    try:
        policy = get_policy(policy_id, version)
    except KeyError as exc:
        raise InvalidInput(f"policy: {exc.args[0]}", field="version" if version else "policy") from exc
    with db.connect() as conn:
        row = policy_store.version_row(conn, policy_id, policy.version)
    if row is not None:
        return str(row.text)
    from workflow.policy_files import starting_file

    text = bundled_text(policy_id)
    assert text is not None
    # A bundled version exported stands alone, like a stored one: catalogue and committees inline.
    return starting_file(text, policy_id, policy_id, POLICY_DIR).split("\n", 4)[4]


def calendar_of(policy: Policy) -> Any:
    from workflow.engine import calendar_for

    return calendar_for(policy)


def _districts_of(policy: Policy) -> tuple[str, ...] | None:
    from states.eligibility.scope import city_districts

    return city_districts(policy)


def check_file(text: str, name: str) -> CheckReport:
    return check_text(text, name, calendar_of, None, _districts_of)


def simulate_file(text: str, name: str, n: int, seed: int = 1) -> dict[str, Any]:
    """A generated round of `n` applicants under the file's policy, on a scratch database: the final
    state counts and whether the generator's own expectations held."""
    from storage.db import make_engine
    from storage.migrate import upgrade
    from workflow.generate import generate_round
    from workflow.scenario import dump_scenario, parse_scenario
    from workflow.simulate import Simulation

    previous = bound()
    with tempfile.TemporaryDirectory(prefix="zcflow-check-") as tmp:
        db = make_engine(f"sqlite:///{Path(tmp) / 'check.db'}")
        try:
            upgrade(db)
            if previous is not None:  # the calendar years imported into the operator's database
                _copy_calendar_years(previous, db)
            policy = parse_policy(text, name)
            with db.begin() as conn:
                policy_store.insert_version(conn, policy_id=policy.id, version=_next_version(policy.id),
                                            text=text, document=None, reason="policy check --simulate",
                                            actor="check", kind="import",
                                            effective_at=dt.datetime.now(dt.UTC))
            bind(db)
            scenario = parse_scenario(dump_scenario(generate_round(policy.id, n, seed)))
            result = Simulation(scenario, db).run()
        finally:
            unbind(db)
            db.dispose()
            if previous is not None:
                bind(previous)
    states = Counter(c["state"] for c in result.cases.values())
    return {"cases": len(result.cases), "final_states": dict(sorted(states.items())),
            "failures": result.failures[:10], "ok": result.ok}


def _copy_calendar_years(source: Engine, target: Engine) -> None:
    from sqlalchemy import select

    from storage.calendar_years import calendar_years
    from workflow.calendar_import import import_calendar_year

    with source.connect() as conn:
        rows = conn.execute(select(calendar_years.c.year, calendar_years.c.content)).all()
    for year, content in rows:
        import_calendar_year(target, str(content), name=f"{year}.yaml", at=dt.datetime.now(dt.UTC),
                             actor="check", override=True, reason="policy check --simulate")


def sync_from(db: Engine | None) -> None:
    """Install the calendar years imported into `db`, if there is a database."""
    if db is None:
        return
    from storage.calendar_years import sync_calendar

    with db.connect() as conn:
        sync_calendar(conn)


def _next_version(policy_id: str) -> int:
    versions = registry().versions(policy_id)
    return (max(versions) + 1) if versions else 1


def history(db: Engine, policy_id: str) -> list[dict[str, Any]]:
    """Every version of a policy: the bundled one, then each stored one with its document and impact."""
    bind(db)
    found: list[dict[str, Any]] = []
    bundled = registry().bundled.get(policy_id)
    if bundled is not None:
        found.append({"version": bundled.version, "kind": "bundled", "document": bundled.document,
                      "actor": None, "at": None, "reason": None, "checksum": None, "impact": {}})
    with db.connect() as conn:
        for row in policy_store.versions_of(conn, policy_id):
            found.append({"version": int(row.version), "kind": str(row.kind), "document": row.document,
                          "actor": row.actor, "at": row.effective_at, "reason": row.reason,
                          "checksum": row.checksum, "impact": dict(row.impact or {})})
    if not found:
        raise InvalidInput(f"policy: unknown policy {policy_id!r}", field="policy")
    return found


def diff(db: Engine, policy_id: str, a: int, b: int) -> str:
    """A unified diff of two versions' texts."""
    left, right = version_text(db, policy_id, a), version_text(db, policy_id, b)
    return "".join(difflib.unified_diff(left.splitlines(keepends=True), right.splitlines(keepends=True),
                                        fromfile=f"{policy_id} v{a}", tofile=f"{policy_id} v{b}"))

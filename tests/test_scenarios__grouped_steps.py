"""The simulator makes the steps between two ticks in one transaction, a savepoint each
(workflow/simulate.py, `Workflow.fire_in`): every shipped scenario, the amended round and generated
rounds give exactly the result they give with a transaction per step (`Workflow.fire`) — final
states, history with reasons, notifications, expectations and failures — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest

from storage.db import open_database
from workflow.engine import Actor, Transition
from workflow.generate import generate_round
from workflow.policy_registry import unbind
from workflow.scenario import Scenario, dump_scenario, parse_scenario
from workflow.simulate import Simulation, SimulationResult

ROOT = Path(__file__).parent.parent
SCENARIOS = [*sorted((ROOT / "scenarios").glob("*.yaml")), ROOT / "tests" / "data" / "scenarios" / "extension.yaml"]


class OneTransactionPerStep(Simulation):
    """The reference: each step a transaction of its own, as the API makes a move."""

    def move(self, case_id: int, action: str, actor: Actor, at: dt.datetime, reason: str | None) -> Transition:
        return self.wf.fire(case_id, action, actor, at, reason)


def run(kind: type[Simulation], scenario: Scenario, url: str | None = None) -> SimulationResult:
    with tempfile.TemporaryDirectory(prefix="zcflow-test-sim-") as tmp:
        db = open_database(url or f"sqlite:///{Path(tmp) / 'simulation.db'}", create=True)
        try:
            return kind(scenario, db).run()
        finally:
            unbind(db)
            db.dispose()


def outcome(result: SimulationResult, ties_in_any_order: bool = False) -> dict[str, Any]:
    found = {**result.to_json(), "timeline": result.timeline}
    if ties_in_any_order:
        # PostgreSQL numbers the messages of one tick's batch in the order its UPDATE … RETURNING gives
        # the rows (their place on disk), so messages of one instant may list in another order there.
        found["notifications"] = sorted(found["notifications"], key=lambda n: sorted(n.items()))
    return found


def same_either_way(load: Any, db_url: str) -> None:
    """The grouped steps on `db_url` (SQLite or PostgreSQL) against the reference on SQLite."""
    grouped = run(Simulation, load(), db_url)
    reference = run(OneTransactionPerStep, load())
    ties = not db_url.startswith("sqlite")
    assert outcome(grouped, ties) == outcome(reference, ties)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_scenario_gives_the_same_result_as_with_a_transaction_per_step(path: Path, db_url: str) -> None:
    same_either_way(lambda: parse_scenario(path.read_text(encoding="utf-8"), path.parent), db_url)


@pytest.mark.parametrize("policy_id", ["hz-recognition-2025h1", "lp-assessment-2022"])
def test_a_generated_round_gives_the_same_result_as_with_a_transaction_per_step(policy_id: str, db_url: str) -> None:
    text = dump_scenario(generate_round(policy_id, 300, seed=1))
    same_either_way(lambda: parse_scenario(text), db_url)

"""`zcflow demo`: a SQLite database with a simulated round of several hundred cases at every stage.

The cases are made by the production engine: generated rounds of all five policies (workflow/
generate.py) merged into one scenario and simulated up to the demo's moment, so that the
Hangzhou 2025 H1 round is in full swing (its employer cutoff ahead, notices running) while the
2022 and 2024 rounds are over and the standing schemes run on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage import repo
from storage.migrate import upgrade
from workflow.clock import SHANGHAI
from workflow.generate import generate_round
from workflow.scenario import Scenario
from workflow.simulate import Simulation, SimulationResult

DEMO_AS_OF = dt.datetime(2025, 4, 10, 10, 0, tzinfo=SHANGHAI)
DEMO_SIZES = {"hz-recognition-2025h1": 260, "yh-recognition-2024": 60, "lp-assessment-2022": 60,
              "hz-recognition-2022": 80, "wx-recognition-2022": 60}


def demo_scenario(as_of: dt.datetime = DEMO_AS_OF, seed: int = 2025,
                  sizes: dict[str, int] | None = None) -> Scenario:
    applicants: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    starts: list[dt.datetime] = []
    for n, (policy_id, size) in enumerate((sizes or DEMO_SIZES).items()):
        data = generate_round(policy_id, size, seed + n)
        prefix = policy_id.split("-")[0] + str(n)
        for a in data["applicants"]:
            # distinct people across policies: move the ID's region code per policy
            number = a["id_number"]
            a = {**a, "key": f"{prefix}-{a['key']}", "policy": policy_id}
            a["id_number"] = _renumber(number, n)
            applicants.append(a)
        for s in data["steps"]:
            if dt.datetime.fromisoformat(s["at"]) <= as_of:
                steps.append({**s, "case": f"{prefix}-{s['case']}"})
        starts.append(dt.datetime.fromisoformat(data["start"]))
    steps.sort(key=lambda s: (dt.datetime.fromisoformat(s["at"]), s["case"]))
    return Scenario.model_validate({
        "name": "zcflow demo", "policy": "hz-recognition-2025h1", "start": min(starts), "end": as_of,
        "applicants": applicants, "steps": steps, "expect": [],
    })


def _renumber(number: str, n: int) -> str:
    from states.idcard import check_digit

    first17 = f"3301{n:02d}" + number[6:17]
    return first17 + check_digit(first17)


def load_demo(db: Engine, as_of: dt.datetime = DEMO_AS_OF, seed: int = 2025) -> SimulationResult | None:
    """Fill `db` with the demo round unless it already holds cases (a restarted demo keeps its data)."""
    upgrade(db)
    with db.connect() as conn:
        if conn.execute(select(func.count()).select_from(repo.cases)).scalar_one() > 0:
            return None
    return Simulation(demo_scenario(as_of, seed), db).run()

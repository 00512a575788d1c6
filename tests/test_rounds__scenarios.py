"""Scenarios with `policy_file:` and `amendments:` (CONTRACT §9): a round written by an operator,
extended twice while it runs (tests/data/scenarios/extension.yaml, seed 001 §二.2 and §二.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.scenario import ScenarioError, parse_scenario
from workflow.simulate import simulate

HERE = Path(__file__).parent / "data" / "scenarios"
SCENARIO = HERE / "extension.yaml"


def test_a_round_from_its_own_file_extended_twice(db_url: str) -> None:
    scenario = parse_scenario(SCENARIO.read_text(encoding="utf-8"), HERE)
    assert scenario.policy == "hz-extension-2025h1"
    result = simulate(scenario, db_url)
    assert result.failures == [] and result.ok
    history = result.cases["li"]["history"]
    assert [h["action"] for h in history][-4:] == ["expire", "reinstate", "department_approve", "expire"]
    amended = [n for n in result.notifications if n["template"] == "amended"]
    assert {n["case"] for n in amended} == {"wang", "li", "zhao"}


@pytest.mark.parametrize(("edit", "named"), [
    (("policy_file: hz-extension-2025h1.yaml", "policy_file: missing.yaml"), "policy_file"),
    (("policy_file: hz-extension-2025h1.yaml", "policy: hz-recognition-2025h1\npolicy_file: x.yaml"),
     "policy_file"),
    (("file: hz-extension-2025h1-v2.yaml", "file: ../../data/calendar/made-up-2027.yaml"), "amendments[0].file"),
    (("- {at: 2025-04-09T09:00:00+08:00", "- {at: 2026-04-09T09:00:00+08:00"), "amendments[0].at"),
])
def test_a_bad_policy_file_or_amendment_names_the_field_and_line(edit: tuple[str, str], named: str) -> None:
    text = SCENARIO.read_text(encoding="utf-8")
    assert edit[0] in text
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text.replace(edit[0], edit[1], 1), HERE)
    assert any(p.startswith(named) and "line" in p for p in info.value.problems), info.value.problems

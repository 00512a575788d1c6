"""Every shipped scenario passes (on SQLite and PostgreSQL); wrong expectations exit 1; invalid files
exit 2 naming the field or line (CONTRACT §6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workflow.generate import generate_round
from workflow.scenario import ScenarioError, dump_scenario, parse_scenario
from workflow.simulate import simulate

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


def test_there_is_a_scenario_for_every_policy() -> None:
    policies = {parse_scenario(p.read_text(encoding="utf-8"), p.parent).policy for p in SCENARIOS}
    assert policies == {"hz-recognition-2025h1", "yh-recognition-2024", "lp-assessment-2022",
                        "hz-recognition-2022", "wx-recognition-2022"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_passes(path: Path, db_url: str) -> None:
    result = simulate(parse_scenario(path.read_text(encoding="utf-8"), path.parent), db_url)
    assert result.failures == []
    assert result.ok


def zcflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_wrong_expectation_exits_1_and_names_the_failure(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "scenarios" / "hz2025h1-happy-path.yaml").read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text.replace("{case: wang, state: certified}", "{case: wang, state: rejected}"),
                     encoding="utf-8")
    run = zcflow("simulate", str(wrong), "--json")
    assert run.returncode == 1, run.stderr
    import json

    out = json.loads(run.stdout)
    assert out["ok"] is False
    assert out["failures"] == ["expect[8] wang at 2025-07-01T00:00:00+08:00: expected state rejected, "
                               "found certified"]
    assert set(out) >= {"scenario", "ok", "cases", "notifications", "failures"}
    assert out["cases"]["wang"]["state"] == "certified"
    assert {"at", "from", "to", "action", "actor"} <= set(out["cases"]["wang"]["history"][1])
    assert {"at", "case", "template", "channel"} <= set(out["notifications"][0])


BASE = (Path(__file__).parent.parent / "scenarios" / "hz2025h1-happy-path.yaml").read_text(encoding="utf-8")
INVALID = [
    ("unknown policy", ("policy: hz-recognition-2025h1", "policy: hz-2025"), "policy (line 6): unknown policy"),
    ("unknown action", ("action: receive_paper", "action: get_paper"), "steps[3].action (line 23): unknown action"),
    ("unknown actor", ("action: submit, actor: applicant", "action: submit, actor: boss"),
     "steps[0].actor (line 20): unknown actor"),
    ("unknown case key", ("{at: 2025-03-25T10:00:00+08:00, case: wang", "{at: 2025-03-25T10:00:00+08:00, case: wong"),
     "steps[1].case (line 21): unknown case key 'wong'"),
    ("impossible date", ("2025-06-10T10:00:00+08:00", "2025-06-31T10:00:00+08:00"), "line 24: not valid YAML"),
    ("outside the round", ("2025-05-10T10:00:00+08:00", "2025-07-10T10:00:00+08:00"),
     "steps[3].at (line 23): 2025-07-10T10:00:00+08:00 is outside start..end"),
    ("wrong type", ("    district: 上城区", "    district: [上城区]"), "applicants[0].district (line 13)"),
    ("bad ID number", ('"330102199001011234"', '"330102199001011235"'), "applicants[0].id_number (line 12)"),
    ("duplicate key", ("    specialty: 机电制造", "    specialty: 机电制造\n    specialty: 电子"),
     "specialty (line 16): given twice in one mapping (first on line 15)"),
    ("broken YAML", ("steps:", "steps: ["), "line 20: not valid YAML"),
    ("naive time", ("start: 2025-03-01T09:00:00+08:00", "start: 2025-03-01T09:00:00"), "start (line 7)"),
    ("unknown state", ("state: certified}", "state: done}"), "expect[8].state (line 36): unknown state 'done'"),
    ("unknown error code", ("action: submit, actor: applicant}", "action: submit, actor: applicant, "
                            "expect_error: oops}"), "steps[0].expect_error (line 20): unknown error code 'oops'"),
]


@pytest.mark.parametrize(("name", "change", "message"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_files_exit_2_naming_field_or_line(tmp_path: Path, name: str, change: tuple[str, str],
                                                  message: str) -> None:
    assert change[0] in BASE
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(path.read_text(encoding="utf-8"), path.parent)
    assert any(message in p for p in info.value.problems), info.value.problems
    run = zcflow("simulate", str(path))
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("policy_id", ["hz-recognition-2025h1", "lp-assessment-2022", "wx-recognition-2022"])
def test_a_generated_round_agrees_with_its_own_plan(policy_id: str) -> None:
    """The generator plans each applicant with the calendar and cutoffs; the engine must agree."""
    scenario = parse_scenario(dump_scenario(generate_round(policy_id, 120, seed=3)))
    result = simulate(scenario)
    assert result.failures == []
    finals = result.summary["final_states"]
    assert finals.get("certified", 0) > 60 and len(finals) >= 3  # a realistic spread, not one outcome


def test_every_template_is_asserted_by_a_shipped_scenario() -> None:
    """Issue 8: the scenarios assert, with `notified:`, that each CONTRACT §3 template goes out."""
    from workflow.scenario import TEMPLATES

    asserted = {e.notified for p in SCENARIOS for e in parse_scenario(p.read_text(encoding="utf-8"), p.parent).expect
                if e.notified}
    # Beyond §3: `amended` comes from a policy amendment (tests/data/scenarios/extension.yaml asserts
    # it, tests/test_rounds__scenarios.py runs it); `deadline_changed` from a calendar import
    # (scenarios/hz2022-calendar-provisional-then-official.yaml).
    assert asserted == set(TEMPLATES) - {"amended"}

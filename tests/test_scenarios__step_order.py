"""Scenario steps may be listed in any order (CONTRACT §6, issue 12): each applies at its own `at`
(steps at one instant in file order), after every scheduled job due by then. A file written applicant
by applicant — and a generated round written that way — runs exactly as the time-ordered one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from workflow.generate import generate_round
from workflow.scenario import dump_scenario, parse_scenario
from workflow.simulate import simulate

TWO = """
name: two applicants, steps listed by applicant
policy: hz-recognition-2025h1
start: 2025-03-01T09:00:00+08:00
end: 2025-05-20T00:00:00+08:00
applicants:
  - {key: wang, name: 王伟, id_type: resident_id, id_number: "330102199001011234", district: 上城区,
     employer: 杭州示范机电有限公司, specialty: 机电制造, civil_servant: false,
     education: [{level: bachelor, graduated: 2015-07-01, relevant: true}], work_start: 2015-07-15,
     certificate: {entry: 5, obtained: 2021-05-10}}
  - {key: li, name: 李娜, id_type: resident_id, id_number: "330106198805050045", district: 上城区,
     employer: 杭州示范机电有限公司, specialty: 机电制造, civil_servant: false,
     education: [{level: bachelor, graduated: 2010-07-01, relevant: true}], work_start: 2010-07-15,
     certificate: {entry: 5, obtained: 2021-05-10}}
steps:
STEPS
expect:
  - {case: wang, state: paper_submission}
  - {case: li, state: expired}
  - {at: 2025-04-15T00:00:01+08:00, case: li, state: expired}
"""
WANG = ["  - {at: 2025-03-20T10:00:00+08:00, case: wang, action: submit, actor: applicant}",
        "  - {at: 2025-04-02T10:00:00+08:00, case: wang, action: employer_approve, actor: employer}",
        "  - {at: 2025-04-20T10:00:00+08:00, case: wang, action: department_approve, actor: department}"]
LI = ["  - {at: 2025-03-21T10:00:00+08:00, case: li, action: submit, actor: applicant}",
      "  - {at: 2025-04-20T10:00:00+08:00, case: li, action: employer_approve, actor: employer,"
      " expect_error: illegal_transition}"]


def scenario(lines: list[str]) -> str:
    return TWO.replace("STEPS", "\n".join(lines))


def outcome(text: str, db_url: str | None = None) -> tuple[bool, list[str], dict[str, object]]:
    result = simulate(parse_scenario(text), db_url)
    return result.ok, result.failures, result.cases


def test_steps_listed_by_applicant_run_as_the_time_ordered_file(db_url: str) -> None:
    by_time = sorted(WANG + LI, key=lambda line: line.split("at: ")[1][:25])
    grouped = outcome(scenario(WANG + LI), db_url)
    assert grouped[:2] == (True, [])
    assert grouped[2] == outcome(scenario(by_time))[2]


def test_steps_at_one_instant_apply_in_file_order() -> None:
    first = "  - {at: 2025-03-20T10:00:00+08:00, case: wang, action: withdraw, actor: applicant}"
    submit_then_withdraw = scenario([WANG[0], first, *LI]).replace(
        "{case: wang, state: paper_submission}", "{case: wang, state: withdrawn}")
    ok, failures, cases = outcome(submit_then_withdraw)
    assert (ok, failures) == (True, [])
    assert [h["action"] for h in cases["wang"]["history"]] == ["create", "submit", "withdraw"]  # type: ignore[index]
    withdraw_then_submit = scenario([first, WANG[0].replace("applicant}", "applicant, expect_error: "
                                                            "illegal_transition}"), *LI]).replace(
        "{case: wang, state: paper_submission}", "{case: wang, state: withdrawn}")
    ok, failures, cases = outcome(withdraw_then_submit)
    assert (ok, failures) == (True, [])
    assert [h["action"] for h in cases["wang"]["history"]] == ["create", "withdraw"]  # type: ignore[index]


def zcflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_zcflow_simulate_runs_a_generated_round_grouped_by_applicant(tmp_path: Path) -> None:
    """Done-when of issue 12: the generator writes the round applicant by applicant; `zcflow simulate`
    runs that file, with the same outcome as the round in time order."""
    grouped = tmp_path / "grouped.yaml"
    run = zcflow("simulate", "--generate", "40", "--policy", "hz-recognition-2025h1", "--seed", "5",
                 "--by-applicant", "--out", str(grouped), "--json")
    assert run.returncode == 0, run.stderr
    steps = yaml.safe_load(grouped.read_text(encoding="utf-8"))["steps"]
    times = [str(s["at"]) for s in steps]
    assert times != sorted(times), "the file is not grouped by applicant"
    cases = [s["case"] for s in steps]
    assert cases == sorted(cases, key=cases.index), "an applicant's steps are not together"
    rerun = zcflow("simulate", str(grouped), "--json")
    assert rerun.returncode == 0, rerun.stderr
    in_time = simulate(parse_scenario(dump_scenario(generate_round("hz-recognition-2025h1", 40, seed=5))))
    assert in_time.ok and json.loads(rerun.stdout)["cases"] == in_time.to_json()["cases"]

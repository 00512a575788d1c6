"""Fuzzed scenario and eligibility files (issue 7; CONTRACT §5, §6, §7): random text and structurally
mutated valid files are either read or refused with ScenarioError / FilingError — never another
exception — and what is read runs (the simulator, every policy's eligibility check) without one.
The CLI, on a sample of them, exits 0, 1 or 2 (`eligibility`: 0 or 2) with no traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy.engine import Engine

from states.eligibility import FilingError, evaluate, parse_filing
from states.policy import policies
from states.vocabulary import Role
from storage.db import make_engine
from tests.drive import HOUR, walk
from tests.filings import FILINGS
from tests.reliability import ROOT, no_traceback, zcflow
from workflow.clock import SHANGHAI
from workflow.engine import Actor
from workflow.errors import WorkflowError
from workflow.scenario import ScenarioError, parse_scenario
from workflow.simulate import Simulation

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SCENARIO_DATA = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SCENARIOS}
POLICY_IDS = sorted(policies())
AS_OF = dt.date(2025, 6, 30)
FUZZ = settings(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Values a careless or hostile file might hold where something else belongs. (Times that overflow
# when converted to UTC are a known bug, tested on their own below, so they are not drawn here.)
NASTY: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63), 10**40, 1.5, float("inf"), float("nan"), "", " ", "\x00",
    "☃", "x" * 5000, "null", "2025-02-30", "2025-13-01", "0001-01-01", "9999-12-31", "2025-03-20T10:00:00",
    "2025-03-20T10:00:00+08:00", "25:00",
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI),
    dt.datetime(2025, 3, 20, 10), [], {}, [[[]]], {"a": {"b": {"c": None}}}, ["submit"], {"entry": 5},
    "submit", "expire", "notice_closed", "system", "public", "city", "expired", "certified", "illegal_transition",
    "hz-recognition-2025h1", "lp-assessment-2022", "no-such-policy", "330102199001011234", "33010219900101123X",
]


def paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a tree of dicts and lists, the root included."""
    found = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            found += paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            found += paths(v, (*prefix, i))
    return found


def mutate(tree: Any, rnd: random.Random, times: int) -> Any:
    """`times` structural mutations of a copy of `tree`: a value replaced by a nasty one or by
    another value of the tree, a key or item removed or duplicated, a list reordered."""
    tree = copy.deepcopy(tree)
    for _ in range(times):
        path = rnd.choice(paths(tree)[1:] or [()])
        if not path:
            return rnd.choice(NASTY)
        parent = tree
        for p in path[:-1]:
            parent = parent[p]
        key = path[-1]
        op = rnd.randrange(6)
        if op == 0:
            parent[key] = rnd.choice(NASTY)
        elif op == 1:
            other = rnd.choice(paths(tree))
            value = tree
            for p in other:
                value = value[p]
            parent[key] = copy.deepcopy(value)
        elif op == 2:
            del parent[key]
        elif op == 3 and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == 4 and isinstance(parent, list):
            rnd.shuffle(parent)
        elif op == 5 and isinstance(parent, dict):
            parent[rnd.choice(["extra", "at", "case", "key", "policy", "<<", "expect_error", "entry"])] = parent[key]
    return tree


def mutate_text(text: str, rnd: random.Random) -> str:
    """A textual mutation: cut short, a line lost or doubled, characters inserted or flipped."""
    lines = text.splitlines(keepends=True)
    op = rnd.randrange(5)
    if op == 0:
        return text[:rnd.randrange(len(text) + 1)]
    if op == 1 and lines:
        del lines[rnd.randrange(len(lines))]
    elif op == 2 and lines:
        i = rnd.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 3:
        i = rnd.randrange(len(text) + 1)
        return text[:i] + rnd.choice(["\t", ":", "- ", "{", "]", "&a ", "*a", "!!python/object:os.system ", "\x00",
                                      "\ufeff", "'", '"', "#", "\n  ", "---\n"]) + text[i:]
    else:
        i = rnd.randrange(max(1, len(text)))
        return text[:i] + chr(rnd.randrange(1, 0x3000)) + text[i + 1:]
    return "".join(lines)


def dump(tree: Any) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def as_json(tree: Any) -> str:
    return json.dumps(tree, ensure_ascii=False, default=str)


def mutated_scenario(rnd: random.Random) -> str:
    name = rnd.choice(sorted(SCENARIO_DATA))
    if rnd.random() < 0.3:
        return mutate_text(SCENARIOS[[p.name for p in SCENARIOS].index(name)].read_text(encoding="utf-8"), rnd)
    return dump(mutate(SCENARIO_DATA[name], rnd, rnd.randint(1, 4)))


def mutated_filing(rnd: random.Random) -> str:
    base = FILINGS[rnd.choice(POLICY_IDS)]
    if rnd.random() < 0.3:
        return mutate_text(as_json(base), rnd)
    return as_json(mutate(base, rnd, rnd.randint(1, 4)))


# ---- in process -------------------------------------------------------------------------------

def note(outcome: str) -> None:
    """Count outcomes in hypothesis's statistics (pytest --hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(outcome)


def read_scenario(text: str) -> Any:
    try:
        return parse_scenario(text)
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return None


def check_filing(text: str) -> None:
    try:
        filing = parse_filing(text)
    except FilingError as exc:
        assert exc.field and exc.message
        note("refused")
        return
    note("read and evaluated")
    for policy in policies().values():
        result = evaluate(policy, filing, as_of=AS_OF)
        assert result.eligible == (not result.reasons)


@settings(FUZZ, max_examples=150)
@given(text=st.text())
def test_any_text_is_a_scenario_or_a_scenario_error(text: str) -> None:
    read_scenario(text)


@settings(FUZZ, max_examples=150)
@given(text=st.text())
def test_any_text_is_a_filing_or_a_filing_error(text: str) -> None:
    check_filing(text)


@settings(FUZZ, max_examples=200)
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_filings_are_read_or_refused_and_what_is_read_is_evaluated(rnd: random.Random) -> None:
    check_filing(mutated_filing(rnd))


def run_scenario(text: str, template: Path, tmp: Path) -> None:
    """Read `text`; if it is a scenario, run it on a fresh database."""
    scenario = read_scenario(text)
    note("refused" if scenario is None else "read and run")
    if scenario is None:
        return
    shutil.copy(template, tmp / "zcflow.db")
    db = make_engine(f"sqlite:///{tmp / 'zcflow.db'}")
    try:
        result = Simulation(scenario, db).run()
    finally:
        db.dispose()
    assert result.ok == (not result.failures)


@settings(FUZZ, max_examples=40)
@given(rnd=st.randoms(use_true_random=False))
def test_mutated_scenarios_are_read_or_refused_and_what_is_read_runs(rnd: random.Random,
                                                                     sqlite_template: Path,
                                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    run_scenario(mutated_scenario(rnd), sqlite_template, tmp_path_factory.mktemp("sim"))


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"name: *a{levels - 1}", ""])


def shipped(start: str | None = None, end: str | None = None) -> str:
    text = (ROOT / "scenarios" / "hz2025h1-employer-misses-cutoff.yaml").read_text(encoding="utf-8")
    text = text.replace("start: 2025-03-01T09:00:00+08:00", f"start: {start or '2025-03-01T09:00:00+08:00'}")
    return text.replace("end: 2025-06-30T00:00:00+08:00", f"end: {end or '2025-06-30T00:00:00+08:00'}")


# Inputs that break parsers: odd documents, tags, nesting, out-of-range times, encodings. (Deeper
# nesting and alias bombs crash or hang the process, so they are only run through the CLI below.)
HOSTILE_SCENARIOS = [
    pytest.param("", id="empty"),
    pytest.param("42", id="a scalar"),
    pytest.param("name: a\n---\nname: b\n", id="two documents"),
    pytest.param("name: !!python/object/apply:os.system [echo pwned]\n", id="python object tag"),
    pytest.param("\ufeff" + shipped(), id="byte order mark"),
    pytest.param("name: " + "[" * 1000 + "]" * 1000, id="nested 1,000 deep"),
    pytest.param(shipped(start="0001-01-01T00:00:00+08:00"), id="start in year 1"),
    pytest.param(shipped(end="9999-12-31T23:59:59-12:00"), id="end in year 9999"),
]


@pytest.mark.parametrize("text", HOSTILE_SCENARIOS)
def test_hostile_scenarios_are_refused_or_run(text: str, sqlite_template: Path, tmp_path: Path) -> None:
    run_scenario(text, sqlite_template, tmp_path)


HOSTILE_FILINGS: dict[str, str] = {
    "nested 100,000 deep": '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "NaN credits": as_json({**FILINGS["lp-assessment-2022"], "credits_since_2019": float("nan")}),
    "huge numbers": as_json({**FILINGS["lp-assessment-2022"], "credits_since_2019": 10**400,
                             "photo": {"format": "jpg", "bytes": 10**30, "width": 10**30, "height": 1}}),
    "graduated in year 1": as_json({**FILINGS["hz-recognition-2025h1"],
                                    "education": [{"level": "bachelor", "graduated": "0001-01-01"}]}),
    "work from year 9999": as_json({**FILINGS["hz-recognition-2025h1"], "work_start": "9999-12-31"}),
    "a list": "[]",
    "NUL in a name": as_json({**FILINGS["hz-recognition-2025h1"], "name": "王\x00伟"}),
}


@pytest.mark.parametrize("text", HOSTILE_FILINGS.values(), ids=list(HOSTILE_FILINGS))
def test_hostile_filings_are_refused_or_evaluated(text: str) -> None:
    check_filing(text)


# ---- through the CLI --------------------------------------------------------------------------

CLI_SAMPLE = 8  # files of each kind run through the CLI (random ones; the hostile ones come on top)


def run_all(jobs: Sequence[Callable[..., None]]) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def simulate_cli(path: Path, cwd: Path, timeout: float = 60) -> None:
    done = zcflow("simulate", str(path), "--json", cwd=cwd, timeout=timeout)
    shown = path.read_text(encoding="utf-8", errors="replace")[:1500]
    assert done.returncode in (0, 1, 2), (shown, done.returncode, done.stderr[-3000:])
    assert no_traceback(done.stderr), (shown, done.stderr[-3000:])
    if done.returncode in (0, 1):
        assert json.loads(done.stdout)["ok"] == (done.returncode == 0)
    else:
        assert done.stderr.strip(), "exit 2 without saying why"


def test_cli_simulate_exits_0_1_or_2_without_a_traceback(tmp_path: Path) -> None:
    rnd = random.Random(7)
    files = []
    for i in range(CLI_SAMPLE):
        files.append(tmp_path / f"scenario-{i}.yaml")
        files[-1].write_text(mutated_scenario(rnd), encoding="utf-8")
    (tmp_path / "not-utf8.yaml").write_bytes(b"name: \xff\xfe\n")
    files.append(tmp_path / "not-utf8.yaml")
    run_all([lambda p=p: simulate_cli(p, tmp_path) for p in files])


@pytest.mark.parametrize("text", [
    pytest.param("name: " + "[" * 200_000 + "]" * 200_000, id="nested 200,000 deep (libyaml segfault)"),
    pytest.param("name:\n" + "- " * 50_000 + "x\n", id="block sequences 50,000 deep (libyaml segfault)"),
    pytest.param(alias_bomb(8), id="alias bomb of 9^8 nodes"),
    pytest.param("name: " + "[" * 1000 + "]" * 1000, id="nested 1,000 deep"),
    pytest.param(shipped(start="0001-01-01T00:00:00+08:00"), id="start in year 1"),
])
def test_cli_simulate_refuses_hostile_files_in_seconds(text: str, tmp_path: Path) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    simulate_cli(path, tmp_path, timeout=6)


def test_cli_tick_refuses_a_time_out_of_range(tmp_path: Path) -> None:
    done = zcflow("tick", "--at", "0001-01-01T00:00:00+08:00", "--database", f"sqlite:///{tmp_path / 'z.db'}",
                  cwd=tmp_path)
    assert (done.returncode, no_traceback(done.stderr)) == (2, True), done.stderr[-2000:]


def test_a_filing_with_a_nul_character_is_refused_naming_the_field() -> None:
    with pytest.raises(FilingError) as refused:
        parse_filing(HOSTILE_FILINGS["NUL in a name"])
    assert refused.value.field == "name"


def test_cli_case_new_with_a_nul_character_exits_2_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "filing.json"
    path.write_text(HOSTILE_FILINGS["NUL in a name"], encoding="utf-8")
    done = zcflow("case", "new", str(path), "--policy", "hz-recognition-2025h1", "--at", "2025-03-20T10:00:00+08:00",
                  "--database", pg_url, cwd=tmp_path)
    assert (done.returncode, no_traceback(done.stderr)) == (2, True), done.stderr[-2000:]


def test_cli_eligibility_exits_0_or_2_without_a_traceback(tmp_path: Path) -> None:
    rnd = random.Random(11)
    texts = [mutated_filing(rnd) for _ in range(CLI_SAMPLE)] + list(HOSTILE_FILINGS.values())
    jobs = []
    for i, text in enumerate(texts):
        path = tmp_path / f"filing-{i}.json"
        path.write_text(text, encoding="utf-8")
        policy = POLICY_IDS[i % len(POLICY_IDS)]

        def job(path: Path = path, policy: str = policy) -> None:
            done = zcflow("eligibility", "--policy", policy, str(path), "--as-of", "2025-06-30", cwd=tmp_path)
            assert done.returncode in (0, 2), (path.read_text()[:2000], done.stderr[-3000:])
            assert no_traceback(done.stderr), (path.read_text()[:2000], done.stderr[-3000:])
            if done.returncode == 0:
                assert json.loads(done.stdout)["policy"] == policy
            else:
                assert done.stderr.startswith("error: "), done.stderr
        jobs.append(job)
    run_all(jobs)


# ---- what the engine stores ------------------------------------------------------------------------

@pytest.mark.parametrize(("actor_id", "reason"), [("x" * 101, None), (None, "材料\x00不全")],
                         ids=["actor id longer than history.actor_id", "NUL in a reason"])
def test_the_engine_refuses_what_the_database_cannot_store(db: Engine, actor_id: str | None,
                                                           reason: str | None) -> None:
    wf, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_review")
    before = wf.case(case_id)
    with pytest.raises(WorkflowError) as refused:
        wf.fire(case_id, "employer_return", Actor(Role.employer, actor_id), before.updated_at + HOUR, reason or "缺件")
    assert refused.value.code == "invalid_input"
    assert wf.case(case_id).version == before.version

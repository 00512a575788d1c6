"""The scenario file format (CONTRACT §6), validated before anything runs.

Every problem is reported with its field path and, where the YAML gives one, its line:
unknown policy, action, actor or case key; duplicate keys; impossible dates; times outside
start..end; wrong types. Steps may be listed in any order (CONTRACT §6).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from states.applicant import ApplicantFiling
from states.calendar import CalendarFileError, parse_year_file
from states.policy import policies
from states.text import clip
from states.vocabulary import ACTIONS, ALL_STATES, Role
from workflow.errors import ERROR_CODES
from workflow.yaml_stream import TooLarge, lines_for
from workflow.yaml_stream import dump as dump_stream
from workflow.yaml_stream import load as load_stream

TEMPLATES = ("submitted", "returned", "rejected", "notice_opened", "notice_closed", "objection",
             "deadline_reminder", "expired", "fee_due", "mail_in_instructions", "certified", "revoked",
             "amended", "deadline_changed")
ERROR_NAMES = tuple(c for c in ERROR_CODES if c != "not_found")


class ScenarioError(ValueError):
    """An invalid scenario file; `problems` are lines such as 'steps[2].action (line 14): …'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_ROLES = frozenset(r.value for r in Role)

# Times a round can have. Beyond them a time overflows when stored as UTC (years 1 and 9999).
YEARS = range(1900, 3000)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("give the time with an offset, e.g. 2025-03-20T10:00:00+08:00")
    if value.year not in YEARS:
        raise ValueError(f"year {value.year} is out of range ({YEARS.start}–{YEARS.stop - 1})")
    return value


class Step(Strict):
    at: dt.datetime
    case: str
    action: str
    actor: str
    actor_id: str | None = None
    reason: str | None = None
    expect_error: str | None = None

    _at = field_validator("at")(_aware)

    @field_validator("action")
    @classmethod
    def _known_action(cls, v: str) -> str:
        if v not in ACTIONS:
            raise ValueError(f"unknown action {clip(v)}")
        return v

    @field_validator("actor")
    @classmethod
    def _known_actor(cls, v: str) -> str:
        if v not in _ROLES:
            raise ValueError(f"unknown actor {clip(v)}; actors: {', '.join(r.value for r in Role)}")
        return v

    @field_validator("expect_error")
    @classmethod
    def _known_error(cls, v: str | None) -> str | None:
        if v is not None and v not in ERROR_NAMES:
            raise ValueError(f"unknown error code {clip(v)}; codes: {', '.join(ERROR_NAMES)}")
        return v


class Expectation(Strict):
    at: dt.datetime | None = None
    case: str
    state: str | None = None
    notified: str | None = None
    not_notified: str | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, v: dt.datetime | None) -> dt.datetime | None:
        return _aware(v) if v is not None else None

    @field_validator("state")
    @classmethod
    def _known_state(cls, v: str | None) -> str | None:
        if v is not None and v not in ALL_STATES:
            raise ValueError(f"unknown state {clip(v)}")
        return v

    @field_validator("notified", "not_notified")
    @classmethod
    def _known_template(cls, v: str | None) -> str | None:
        if v is not None and v not in TEMPLATES:
            raise ValueError(f"unknown template {clip(v)}; templates: {', '.join(TEMPLATES)}")
        return v

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if self.state is None and self.notified is None and self.not_notified is None:
            raise ValueError("an expectation needs `state`, `notified` or `not_notified`")
        return self


class CalendarFile(Strict):
    """A calendar year imported at an instant of the run (e.g. the official year replacing a
    provisional one); a plain path is imported at `start`."""

    file: str
    at: dt.datetime

    _at = field_validator("at")(_aware)


class Applicant(BaseModel):
    """A scenario applicant: a handle (`key`), optionally another `policy`, and the §5 filing."""

    model_config = ConfigDict(extra="allow", frozen=True)
    key: str = Field(min_length=1)
    policy: str | None = None


class Amendment(Strict):
    """A policy file imported at `at` (CONTRACT §9): an amendment of the scenario's round."""

    at: dt.datetime
    file: str = Field(min_length=1)
    document: str | None = None
    reason: str | None = None
    reinstate: bool = False

    _at = field_validator("at")(_aware)


class Scenario(Strict):
    name: str
    policy: str = ""  # or `policy_file:`, whose id it becomes
    policy_file: str | None = None
    amendments: list[Amendment] = Field(default_factory=list)
    start: dt.datetime
    end: dt.datetime
    description: str | None = None
    applicants: list[Applicant]
    steps: list[Step] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)
    # Working-day schedules imported at `start` (CONTRACT §10), paths relative to the scenario file;
    # parse_scenario reads and checks them into `calendars` as (path, text).
    calendar_files: list[str | CalendarFile] = Field(default_factory=list)
    _calendars: list[tuple[str, str, dt.datetime | None]] = PrivateAttr(default_factory=list)

    @property
    def calendars(self) -> list[tuple[str, str, dt.datetime | None]]:
        """(path, text, when: None for `start`) of each calendar file, in file order."""
        return self._calendars

    _start = field_validator("start", "end")(_aware)

    @cached_property
    def _by_key(self) -> dict[str, Applicant]:
        """Applicants by key (the first one given, as a scan would find it): a generated round holds
        10,000 of them, and looking each up by a scan made validating and running it quadratic."""
        found: dict[str, Applicant] = {}
        for a in self.applicants:
            found.setdefault(a.key, a)
        return found

    @cached_property
    def _filings(self) -> dict[str, ApplicantFiling]:
        return {}

    def filing(self, key: str) -> ApplicantFiling:
        """The applicant's §5 filing, validated once (the checks and the run both ask for it)."""
        found = self._filings.get(key)
        if found is None:
            data = self._by_key[key].model_dump(exclude={"key", "policy"})
            found = self._filings[key] = ApplicantFiling.model_validate(data)
        return found

    def forget_filings(self) -> None:
        """Drop the validated filings (the simulator calls it once the cases are created)."""
        self._filings.clear()

    def policy_of(self, key: str) -> str:
        return self._by_key[key].policy or self.policy

    @cached_property
    def files(self) -> dict[str, str]:
        """The texts of `policy_file:` and each amendment's `file:`, read by parse_scenario."""
        return {}


# ---- loading ----------------------------------------------------------------------------------

FieldPath = tuple[str | int, ...]


def _where(path: FieldPath, lines: dict[FieldPath, int]) -> str:
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(file)"
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return f"{name} (line {lines[path[:cut]]})"
    return name


def _located(text: str, found: list[tuple[FieldPath, str]]) -> list[str]:
    """Problems as 'path (line N): message'; the lines are read only for the paths that need one."""
    if not found:
        return []
    lines = lines_for(text, (path for path, _ in found))
    return [f"{_where(path, lines)}: {message}" for path, message in found]


# Limits checked before the YAML parser sees the text: its composer recurses once per nesting level
# (libyaml crashes the process at ~200,000), and aliases can make a small file expand exponentially.
MAX_BYTES = 50_000_000
MAX_DEPTH = 64
MAX_NODES = 2_000_000

_BRACKETS = re.compile(r"[\[\]{}\"'\n]")


def _too_deep(text: str) -> str | None:
    """A cheap scan for nesting deeper than MAX_DEPTH: flow brackets, compact block sequences
    ("- - - x") and indentation. Quoted text is skipped; it errs only on the side of refusing
    files no scenario needs."""
    depth = 0
    quote = ""
    for found in _BRACKETS.finditer(text):
        ch = found.group()
        if quote:
            if ch == quote or ch == "\n":
                quote = ""  # a quote never spans lines in a scenario; an unmatched one is YAML's to report
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return f"nesting deeper than {MAX_DEPTH} levels"
        elif ch in "]}":
            depth = max(0, depth - 1)
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.lstrip(" ")
        if len(line) - len(body) > 4 * MAX_DEPTH:
            return f"line {number}: nesting deeper than {MAX_DEPTH} levels"
        if not body.startswith("-"):
            continue
        dashes = 0
        while body.startswith("- ") or body == "-":
            dashes += 1
            body = body[2:].lstrip(" ")
        if dashes > MAX_DEPTH:
            return f"line {number}: nesting deeper than {MAX_DEPTH} levels"
    return None


def parse_scenario(text: str, base: Path | None = None) -> Scenario:
    """Parse and validate a scenario; raise ScenarioError listing every problem found. `base` is the
    folder the scenario's files (`policy_file`, amendments, `calendar_files`) are relative to.

    The YAML is read in one streaming pass (workflow/yaml_stream.py): no node tree and no line for
    every value is kept for a file of a million values; a problem's line is looked up afterwards."""
    if len(text) > MAX_BYTES:
        raise ScenarioError([f"(file): larger than {MAX_BYTES // 1_000_000} MB"])
    deep = _too_deep(text)
    if deep:
        raise ScenarioError([f"(file): {deep}"])
    try:
        raw, duplicates = load_stream(text, MAX_NODES)
    except TooLarge:
        raise ScenarioError([f"(file): more than {MAX_NODES:,} values once its aliases are expanded"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ScenarioError([f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(raw, dict):
        raise ScenarioError(["(file): a scenario is a mapping with name, policy, start, end, applicants"])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        found = [(tuple(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
        raise ScenarioError(duplicates + _located(text, found)) from exc
    del raw
    files = _policy_files(scenario, base)
    if files.problems:
        raise ScenarioError(duplicates + _located(text, files.problems))
    if files.policy_id is not None:
        scenario = scenario.model_copy(update={"policy": files.policy_id})
    scenario.files.update(files.texts)
    problems = duplicates + _located(text, _semantic_problems(scenario, files.policy_id)
                                               + _read_calendars(scenario, base))
    if problems:
        raise ScenarioError(problems)
    return scenario


class _Files:
    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.policy_id: str | None = None
        self.problems: list[tuple[FieldPath, str]] = []


def _policy_files(s: Scenario, base: Path | None) -> _Files:
    """Read `policy_file:` and the amendments' files, relative to the scenario file (CONTRACT §9)."""
    from states.policy import PolicyError, parse_policy

    found = _Files()
    wanted: list[tuple[FieldPath, str]] = []
    if s.policy_file is not None:
        if s.policy:
            found.problems.append((("policy_file",), "give `policy:` or `policy_file:`, not both"))
        wanted.append((("policy_file",), s.policy_file))
    elif not s.policy:
        found.problems.append((("policy",), "give `policy:` (an id) or `policy_file:` (a file)"))
    wanted += [(("amendments", i, "file"), a.file) for i, a in enumerate(s.amendments)]
    for path, name in wanted:
        if base is None:
            found.problems.append((path, f"{name}: a scenario given as text cannot read files"))
            continue
        try:
            text = (base / name).read_text(encoding="utf-8")
            policy = parse_policy(text, name)
        except OSError as exc:
            found.problems.append((path, f"cannot read {name}: {exc.strerror}"))
            continue
        except PolicyError as exc:
            found.problems.append((path, str(exc)))
            continue
        found.texts[name] = text
        if path == ("policy_file",):
            found.policy_id = policy.id
        elif (found.policy_id or s.policy) and policy.id != (found.policy_id or s.policy):
            found.problems.append((path, f"{name} is policy {policy.id!r}, not the scenario's"))
    return found


def _read_calendars(s: Scenario, base: Path | None) -> list[tuple[FieldPath, str]]:
    problems: list[tuple[FieldPath, str]] = []
    for i, item in enumerate(s.calendar_files):
        name, at = (item, None) if isinstance(item, str) else (item.file, item.at)
        where: FieldPath = ("calendar_files", i) if isinstance(item, str) else ("calendar_files", i, "file")
        if at is not None and not (s.start <= at <= s.end):
            problems.append((("calendar_files", i, "at"), f"{at.isoformat()} is outside start..end"))
        path = (base or Path.cwd()) / name
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((where, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"))
            continue
        try:
            parse_year_file(text, name)
        except CalendarFileError as exc:
            problems.append((where, str(exc)))
            continue
        s.calendars.append((name, text, at))
    return problems


def _semantic_problems(s: Scenario, own: str | None = None) -> list[tuple[FieldPath, str]]:
    known = set(policies()) | ({own} if own else set())
    problems: list[tuple[FieldPath, str]] = []
    for i, amendment in enumerate(s.amendments):
        if not (s.start <= amendment.at <= s.end):
            problems.append((("amendments", i, "at"), f"{amendment.at.isoformat()} is outside start..end"))
    if s.policy not in known:
        problems.append((("policy",), f"unknown policy {clip(s.policy)}; known: {', '.join(known)}"))
    if s.end <= s.start:
        problems.append((("end",), f"end {s.end.isoformat()} is not after start"))
    keys: dict[str, int] = {}
    for i, a in enumerate(s.applicants):
        if a.key in keys:
            problems.append((("applicants", i, "key"), f"duplicate key {clip(a.key)} (also applicants[{keys[a.key]}])"))
        keys[a.key] = i
        if a.policy is not None and a.policy not in known:
            problems.append((("applicants", i, "policy"), f"unknown policy {clip(a.policy)}"))
        try:
            if not s.filing(a.key).employer:
                problems.append((("applicants", i, "employer"), "needed for a case (CONTRACT §5)"))
        except ValidationError as exc:
            for e in exc.errors():
                problems.append((("applicants", i, *e["loc"]), e["msg"].removeprefix("Value error, ")))
    # Steps may come in any order (CONTRACT §6): each applies at its own `at`, ties in file order.
    for i, step in enumerate(s.steps):
        if step.case not in keys:
            problems.append((("steps", i, "case"), f"unknown case key {clip(step.case)}"))
        if not (s.start <= step.at <= s.end):
            problems.append((("steps", i, "at"), f"{step.at.isoformat()} is outside start..end"))
    for i, expectation in enumerate(s.expect):
        if expectation.case not in keys:
            problems.append((("expect", i, "case"), f"unknown case key {clip(expectation.case)}"))
        if expectation.at is not None and not (s.start <= expectation.at <= s.end):
            problems.append((("expect", i, "at"), f"{expectation.at.isoformat()} is outside start..end"))
    return problems


def dump_scenario(data: dict[str, Any]) -> str:
    """The scenario as YAML, as `yaml.dump(..., allow_unicode=True, sort_keys=False, width=110)` writes it,
    streamed to libyaml's emitter without the representer's node tree (workflow/yaml_stream.py)."""
    return dump_stream(data, width=110)

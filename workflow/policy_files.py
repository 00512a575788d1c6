"""Policy files as an operator handles them: the JSON Schema editors validate against, a starting file
for the next round (`zcflow policy new`), and the check report (`zcflow policy check`, CONTRACT §9).

A file written here imports on its own: the catalogue and the committee table are inline, so the
file needs nothing beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from states.calendar import WorkingDayCalendar
from states.lint import Finding, lint
from states.policy import POLICY_DIR, Path_, Policy, PolicyError, parse_policy, read_yaml

SCHEMA_ID = "https://zcflow.invalid/schema/policy.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (draft 2020-12), from the loader's own model."""
    schema = Policy.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              "title": "zcflow policy file",
              "description": "One round or standing scheme from one notice (CONTRACT §2, §9); documented field by "
                             "field in docs/policy-schema.md.", **schema}
    return schema


def bundled_text(policy_id: str) -> str | None:
    path = POLICY_DIR / f"{policy_id}.yaml"
    return path.read_text(encoding="utf-8") if path.exists() and policy_id != "hangzhou-committees" else None


def _dump(key: str, value: Any) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


def _raw_file(path: Path) -> Any:
    return read_yaml(path.name, path.read_text(encoding="utf-8"))[0]


def starting_file(text: str, new_id: str, from_label: str, directory: Path | None = POLICY_DIR) -> str:
    """A new policy file from an existing one's text: the id replaced, the version left to the registry,
    the catalogue and committee table inline. Comments (the seed citations) are kept: the operator
    replaces them with the new notice's."""
    raw, _lines = read_yaml("source", text)
    if not isinstance(raw, dict):
        raise PolicyError("source", "(top level)", "must be a mapping of fields")
    old_id = str(raw.get("id"))
    lines = text.splitlines()
    body: list[str] = []
    for line in lines:
        if re.match(r"^id\s*:", line):
            body.append(f"id: {new_id}")
        elif re.match(r"^version\s*:", line) or re.match(r"^committee_table_file\s*:", line):
            continue
        else:
            body.append(line)
    header = [f"# Written by `zcflow policy new {new_id} --from {from_label}`. Replace the dates, the document",
              "# (文号), the offices and the catalogue with the new notice's, then `zcflow policy check` this file.",
              "# The catalogue and the committee table are inline: this file imports on its own.", ""]
    out = "\n".join(header + body).rstrip("\n") + "\n"
    if "committee_table_file" in raw and directory is not None:
        out += "\n" + _dump("committee_table", _raw_file(directory / str(raw["committee_table_file"])))
    if "catalogue" not in raw and directory is not None:
        cat = directory / "catalogues" / f"{old_id}.yaml"
        if cat.exists():
            out += "\n" + _dump("catalogue", _raw_file(cat))
    return out


def _replacement(date: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return match.group(1) + date

    return replace


def move_cutoffs(text: str, dates: dict[str, str]) -> str:
    """The file with each named cutoff's `date:` replaced (the 延期 form): the rest of the text, comments
    included, stays as it was. A name the file has no cutoff of is an error naming it."""
    out = text
    for name, new in dates.items():
        pattern = re.compile(rf"(^\s*-\s*name:\s*{re.escape(name)}\s*\n(?:[ \t]+(?!-).*\n)*?[ \t]+date:\s*)\S+",
                             re.M)
        out, n = pattern.subn(_replacement(new), out, count=1)
        if n != 1:
            raise PolicyError("(form)", "cutoff", f"the file has no cutoff named {name!r} written in block form")
    return out


@dataclass
class CheckReport:
    file: str
    policy: Policy | None = None
    error: PolicyError | None = None
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "policy": self.policy.id if self.policy else None,
                "errors": ([{"field": self.error.field, "line": self.error.line, "message": self.error.message,
                             "file": self.error.file}] if self.error else []),
                "warnings": [w.as_dict() for w in self.warnings]}

    def lines(self) -> list[str]:
        """One line per finding: FILE:LINE: field: message."""
        found: list[str] = []
        if self.error is not None:
            where = f"{self.error.file}:{self.error.line}" if self.error.line else self.error.file
            found.append(f"{where}: error: {self.error.field}: {self.error.message}")
        for w in self.warnings:
            where = f"{self.file}:{w.line}" if w.line else self.file
            found.append(f"{where}: warning [{w.code}]: {w.field}: {w.message}")
        return found


def check_text(text: str, name: str, calendar_of: Any, directory: Path | None = None,
               districts_of: Any = None) -> CheckReport:
    """Validate and lint a policy file's text. `calendar_of(policy)` gives its working-day calendar;
    `districts_of(policy)` the city's districts where known."""
    report = CheckReport(file=name)
    try:
        policy = parse_policy(text, name, directory)
    except PolicyError as exc:
        report.error = exc
        return report
    report.policy = policy
    lines: dict[Path_, int] = read_yaml(name, text)[1]
    calendar: WorkingDayCalendar = calendar_of(policy)
    report.warnings = lint(policy, calendar, lines, districts_of(policy) if districts_of else None)
    return report

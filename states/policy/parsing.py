"""Validating a policy file's text into a `Policy`, and loading the bundled policies.
Errors name the file, the field path and its line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from states.policy.model import POLICY_DIR, Catalogue, CommitteeTable, Policy, PolicyError
from states.policy.yaml_text import Path_, _read_yaml, line_of, read_yaml


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _invalid(name: str, exc: ValidationError, lines: Mapping[Path_, int] | None = None,
             prefix: Path_ = ()) -> PolicyError:
    err = exc.errors()[0]
    loc = (*prefix, *err["loc"])
    return PolicyError(name, _field_path(loc), err["msg"].removeprefix("Value error, "),
                       line=line_of(lines, loc) if lines is not None else None)


def parse_policy(text: str, name: str, directory: Path | None = None) -> Policy:
    """Validate one policy file's text. The catalogue and the committee table are inline
    (`catalogue:`, `committee_table:`) or, when `directory` is given, read from beside the file
    (`catalogues/<id>.yaml`, `committee_table_file:`). Errors name the file, the field and its line."""
    raw, lines = read_yaml(name, text)
    if not isinstance(raw, dict):
        raise PolicyError(name, "(top level)", "must be a mapping of fields", line=1)
    data = dict(raw)
    pid = data.get("id")
    if not isinstance(pid, str):
        raise PolicyError(name, "id", "missing or not text", line=line_of(lines, ("id",)))
    if "catalogue" in data:
        try:
            data["catalogue"] = Catalogue.model_validate(data["catalogue"])
        except ValidationError as exc:
            raise _invalid(name, exc, lines, ("catalogue",)) from exc
    elif directory is None and data.get("track") == "recognition":
        raise PolicyError(name, "catalogue", "missing: a file read on its own gives its catalogue inline "
                          "(`zcflow policy new` writes one)", line=1)
    else:
        cat_path = directory / "catalogues" / f"{pid}.yaml" if directory is not None else None
        # An assessment round has no catalogue of qualifications (seed 002).
        catalogue_raw = _read_yaml(cat_path) if cat_path is not None and cat_path.exists() else {
            "source": "none", "rows": []}
        try:
            data["catalogue"] = Catalogue.model_validate(catalogue_raw)
        except ValidationError as exc:
            raise _invalid(cat_path.name if cat_path else name, exc) from exc
    table = data.pop("committee_table_file", None)
    if table is not None:
        if directory is None:
            raise PolicyError(name, "committee_table_file", "a file read on its own gives its committee table "
                              "inline (`committee_table:`)", line=line_of(lines, ("committee_table_file",)))
        table_path = directory / str(table)
        try:
            data["committee_table"] = CommitteeTable.model_validate(_read_yaml(table_path))
        except ValidationError as exc:
            raise _invalid(table_path.name, exc) from exc
    elif data.get("committee_table") is not None:
        try:
            data["committee_table"] = CommitteeTable.model_validate(data["committee_table"])
        except ValidationError as exc:
            raise _invalid(name, exc, lines, ("committee_table",)) from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise _invalid(name, exc, lines) from exc


def load_policy(path: Path, directory: Path | None = None) -> Policy:
    """Load one bundled policy file, with its catalogue and committee table, and validate it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(path.name, "(file)", f"cannot read: {exc.strerror}") from exc
    policy = parse_policy(text, path.name, directory or path.parent)
    if path.stem != policy.id:
        raise PolicyError(path.name, "id", f"{policy.id!r} does not match the file name")
    return policy


POLICY_IDS: tuple[str, ...] = (
    "hz-recognition-2025h1",
    "yh-recognition-2024",
    "lp-assessment-2022",
    "hz-recognition-2022",
    "wx-recognition-2022",
)


# Files beside the policies that are a city's data, not policies: Hangzhou's committees and districts
# (seed 003 附件2), Wuxi's districts and county-level cities (seed 004 第二条).
CITY_DATA_FILES = frozenset({"hangzhou-committees", "wuxi-districts"})


def load_policies(directory: Path = POLICY_DIR) -> dict[str, Policy]:
    """Every policy in `directory`, keyed by id, in the contract's order."""
    found = {p.stem: p for p in sorted(directory.glob("*.yaml")) if p.stem not in CITY_DATA_FILES}
    policies = {pid: load_policy(path, directory) for pid, path in found.items()}
    ordered = {pid: policies[pid] for pid in POLICY_IDS if pid in policies}
    ordered.update({pid: p for pid, p in policies.items() if pid not in ordered})
    return ordered

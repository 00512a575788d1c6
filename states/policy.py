"""Policies as data: typed, frozen objects loaded from the YAML files under ``states/policies/``.

A policy is one round or standing scheme from one notice in ``shared/seeds/`` (CONTRACT §2). The
YAML files are transcriptions of those notices; each rule in them cites its seed file and section.
Loading validates every field; an error names the file and the field path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from states.text import clip
from states.vocabulary import NOTICE_OFFICE, STAGE_KINDS, STAGES, Role

POLICY_DIR = Path(__file__).parent / "policies"

Level = Literal["assistant", "intermediate", "senior"]
EducationLevel = Literal["college", "bachelor", "second_bachelor", "master", "doctorate"]
TITLE_LEVEL: dict[str, Level] = {"助理工程师": "assistant", "工程师": "intermediate", "高级工程师": "senior"}


class PolicyError(ValueError):
    """A policy file that cannot be used. Names the file and the field."""

    def __init__(self, file: str, field: str, message: str, line: int | None = None) -> None:
        self.file, self.field, self.message, self.line = file, field, message, line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: {message}")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(Frozen):
    file: str
    section: str


class DistrictSet(Frozen):
    """Districts given either as a list (`only`) or as the whole city less some (`all_except`)."""

    only: tuple[str, ...] | None = None
    all_except: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DistrictSet:
        if (self.only is None) == (self.all_except is None):
            raise ValueError("give exactly one of `only` or `all_except`")
        return self

    def covers(self, district: str) -> bool:
        if self.only is not None:
            return district in self.only
        assert self.all_except is not None
        return district not in self.all_except


class Office(Frozen):
    """A published office: where applicants and employers send things and whom they call."""

    key: str
    name: str
    role: Role
    address: str | None = None
    phone: str | None = None
    contact: str | None = None
    district: str | None = None
    source: Source


class Scope(Frozen):
    province: Literal["zhejiang", "jiangsu"]
    city: str
    districts: DistrictSet | None = None  # None: the whole city
    industries: tuple[str, ...] = ()  # empty: any industry in the catalogue's series
    excluded_specialties: tuple[str, ...] = ()
    excluded_employer_kinds: tuple[str, ...] = ()
    civil_servants_allowed: bool = True
    id_types: tuple[Literal["resident_id", "hmt_permit", "foreign_work_permit", "passport"], ...]
    source: Source


class Window(Frozen):
    """The filing window: `submit` is allowed from the start of `opens` to the end of `closes`."""

    opens: dt.date
    closes: dt.date | None  # None: a standing scheme that stays open
    source: Source


class Cutoff(Frozen):
    """A hard cutoff: at the end of `date` every case still in one of `ends` expires (CONTRACT §4)."""

    name: str
    label: str
    date: dt.date
    ends: tuple[str, ...]
    # Who must act before it: reminders go to them (issue 4).
    reminds: tuple[Role, ...]
    source: Source


class Notice(Frozen):
    working_days: int = Field(ge=1, le=30)
    source: Source


class CatalogueRow(Frozen):
    no: int = Field(ge=1)
    name_zh: str | None
    name_en: str | None
    abbreviation: str | None
    issuer_zh: str | None
    issuer_en: str | None
    # Other names the issuer is matched under, e.g. the form a notice printed when the row carries
    # the body's real name (the seeds' README: restore the real names).
    issuer_aliases: tuple[str, ...] = ()
    country: str | None
    title: Literal["工程师", "助理工程师", "高级工程师"]
    series: str

    @property
    def level(self) -> Level:
        return TITLE_LEVEL[self.title]


class Catalogue(Frozen):
    source: str
    rows: tuple[CatalogueRow, ...]

    @field_validator("rows")
    @classmethod
    def _numbered_in_order(cls, rows: tuple[CatalogueRow, ...]) -> tuple[CatalogueRow, ...]:
        for i, row in enumerate(rows, start=1):
            if row.no != i:
                raise ValueError(f"row {i} has 序号 {row.no}; rows must be numbered 1..N in order")
        return rows

    def row(self, no: int) -> CatalogueRow | None:
        return self.rows[no - 1] if 1 <= no <= len(self.rows) else None


class Committee(Frozen):
    no: int
    name: str
    office: str
    phones: tuple[str, ...]
    series: str
    districts: DistrictSet
    scope_text: str


class CommitteeTable(Frozen):
    source: str
    districts: tuple[str, ...]
    committees: tuple[Committee, ...]

    def deciding(self, district: str, series: str) -> Committee | None:
        for committee in self.committees:
            if committee.series == series and committee.districts.covers(district):
                return committee
        return None


class Decider(Frozen):
    """Who decides a level: one named body, one body per series, the Hangzhou committee table
    (seed 003 附件2), or the applicant's district bureau (`{district}` is filled in)."""

    committee: str | None = None
    by_series: Mapping[str, str] | None = None
    table: Literal["hangzhou-committees"] | None = None
    district_bureau: str | None = None
    source: Source

    @model_validator(mode="after")
    def _one_form(self) -> Decider:
        given = [x for x in (self.committee, self.by_series, self.table, self.district_bureau) if x]
        if len(given) != 1:
            raise ValueError("give exactly one of committee, by_series, table, district_bureau")
        return self


class LevelRule(Frozen):
    """One level a policy can confer: the minimum full years of work after each education level
    (a level not listed does not qualify), who decides it and who issues the certificate."""

    years_after: Mapping[EducationLevel, int] | None  # None: the catalogue row alone decides (Wuxi)
    decided_by: Decider
    issued_by: Literal[Role.city, Role.application_point]
    source: Source


class Platform(Frozen):
    """Where applicants file and employers review: named in every message (CONTRACT §9)."""

    name: str = Field(min_length=1)
    short: str = Field(min_length=1)  # the name an SMS uses (省平台)
    url: str | None = None
    source: Source


class Certificate(Frozen):
    """Who publishes the title and how the certificate is obtained, as the notice words it."""

    # Who publishes a title the city issues; None: the city office of `offices:`, else the authority.
    issuer: str | None = None
    how: str = Field(min_length=1)  # "登录省平台，在相应菜单栏下载电子证书"
    source: Source


class FraudBar(Frozen):
    years: int = Field(ge=1)
    source: Source


class Policy(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    # Set by the registry when a file is imported (1 for a new id); a file may leave it out.
    version: int = Field(default=1, ge=1)
    name: str
    # A few characters for tabs, lists and menus (杭州2025上半年认定); `name` when absent.
    short_name: str | None = Field(default=None, min_length=1, max_length=20)
    authority: str
    document: str | None
    issued: dt.date
    source: Source
    track: Literal["recognition", "assessment"]
    standing: bool
    # Years are counted to this date; None for a standing scheme (the day of submission).
    reference_date: dt.date | None
    scope: Scope
    window: Window | None
    cutoffs: tuple[Cutoff, ...]
    stages: tuple[str, ...]
    notices: Mapping[str, Notice]
    levels: Mapping[Level, LevelRule]
    fraud_bar: FraudBar
    offices: tuple[Office, ...]
    platform: Platform
    sms_sign: str = Field(min_length=1, max_length=12)  # 【杭州人社】
    certificate: Certificate
    calendar_overrides: Mapping[dt.date, bool] = Field(default_factory=dict)
    # Inline, or read by the loader from catalogues/<id>.yaml and `committee_table_file:` beside the file.
    catalogue: Catalogue
    committee_table: CommitteeTable | None = None
    # An amendment that drops states maps each to the state its cases move to (CONTRACT §9).
    state_map: Mapping[str, str] = Field(default_factory=dict)
    # Linping's assessment conditions (seed 002 附件1/附件2); None for recognition.
    assessment: Mapping[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        for i, stage in enumerate(self.stages):
            if stage not in STAGES:
                raise ValueError(f"stages[{i}]: unknown stage {stage!r}; known: {', '.join(STAGES)}")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("stages: a stage appears twice")
        if not self.stages or self.stages[0] != "draft" or self.stages[-1] != "certified":
            raise ValueError("stages: must start with draft and end with certified")
        for stage in self.stages:
            if STAGE_KINDS[stage].is_notice and stage not in self.notices:
                raise ValueError(f"notices: stage {stage} is a public notice but has no length")
        for name in self.notices:
            if name not in self.stages or not STAGE_KINDS[name].is_notice:
                raise ValueError(f"notices.{name}: not a notice stage of this policy")
        for i, cutoff in enumerate(self.cutoffs):
            for stage in cutoff.ends:
                if stage not in self.stages:
                    raise ValueError(f"cutoffs[{i}].ends: {stage!r} is not a stage of this policy")
        if self.standing != (self.reference_date is None):
            raise ValueError("reference_date: required for a round, absent for a standing scheme")
        if self.standing and self.cutoffs:
            raise ValueError("cutoffs: a standing scheme has no round cutoffs")
        if self.track == "assessment" and not self.assessment:
            raise ValueError("assessment: an assessment policy needs its assessment conditions")
        return self

    # ---- derived facts -------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The short Chinese name a person reads in a tab or a list."""
        return self.short_name or self.name

    def next_stage(self, stage: str) -> str | None:
        i = self.stages.index(stage)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    @cached_property
    def cache_key(self) -> tuple[str, int, str]:
        """Names this policy's content: per-policy caches (machines, calendars) key on it, since two
        databases may hold different texts under one id and version."""
        import hashlib

        return (self.id, self.version, hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16])

    @cached_property
    def notice_offices(self) -> dict[str, Role]:
        return {s: NOTICE_OFFICE[s] for s in self.notices}

    def office(self, key: str) -> Office | None:
        return next((o for o in self.offices if o.key == key), None)

    def cutoff_ending(self, stage: str) -> Cutoff | None:
        """The first cutoff that ends `stage`, if any."""
        for cutoff in sorted(self.cutoffs, key=lambda c: c.date):
            if stage in cutoff.ends:
                return cutoff
        return None


# ---- loading ------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML loading whose impossible dates (2025-06-31) report their line, not a bare ValueError."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
YamlLoader = _Loader  # the one safe loader: scenarios read its event stream (workflow/yaml_stream.py)


def load_yaml_nodes(text: str, inspect: Callable[[yaml.Node | None], None] | None = None) -> Any:
    """Parse YAML safely once. `inspect` sees the node tree (with its line marks) before the data is
    constructed: construction flattens `<<` merge keys into the tree in place."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if inspect is not None:
            inspect(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data


def load_yaml_text(text: str) -> Any:
    """Parse YAML safely; impossible dates raise a MarkedYAMLError that carries the line."""
    return load_yaml_nodes(text)


def _yaml_problem(name: str, text: str, exc: yaml.YAMLError) -> PolicyError:
    mark = getattr(exc, "problem_mark", None)
    where = "(file)"
    line = None
    if mark is not None:
        lines = text.splitlines()
        line = mark.line + 1
        where = f"line {line}"
        if mark.line < len(lines):
            where += f" ({lines[mark.line].strip()})"
    return PolicyError(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}", line=line)


Path_ = tuple[int | str, ...]


def line_map(node: yaml.Node | None, path: Path_ = (), into: dict[Path_, int] | None = None) -> dict[Path_, int]:
    """The 1-based line of every field path in a YAML node tree (a mapping key's own line)."""
    found: dict[Path_, int] = {} if into is None else into
    if node is None:
        return found
    found.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                sub = (*path, str(key.value))
                found.setdefault(sub, key.start_mark.line + 1)
                line_map(value, sub, found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, (*path, i), found)
    return found


def line_of(lines: Mapping[Path_, int], loc: Path_) -> int | None:
    """The line of `loc`, or of its nearest parent that the file has."""
    loc = tuple(loc)
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]


def read_yaml(name: str, text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse a policy file safely: its data, and the line of every field path."""
    lines: dict[Path_, int] = {}

    def collect(node: yaml.Node | None) -> None:
        line_map(node, (), lines)

    try:
        data = load_yaml_nodes(text, collect)
    except yaml.YAMLError as exc:
        raise _yaml_problem(name, text, exc) from exc
    return data, lines


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(path.name, "(file)", f"cannot read: {exc.strerror}") from exc
    return read_yaml(path.name, text)[0]


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


class StoredPolicy(Protocol):
    @property
    def policy_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def checksum(self) -> str: ...


class PolicySource(Protocol):
    """Where imported versions come from (storage gives one over the database; states never imports it)."""

    def stamp(self) -> Hashable:
        """A value that changes whenever a version is added: read on every lookup of a latest version."""

    def texts(self) -> Iterable[StoredPolicy]:
        """Every stored version's text."""


# Parsed once per process: a version's text never changes, so (id, version, checksum) names one policy.
_PARSED: dict[tuple[str, int, str], Policy] = {}


def parse_stored(policy_id: str, version: int, text: str, checksum: str) -> Policy:
    key = (policy_id, version, checksum)
    found = _PARSED.get(key)
    if found is None:
        parsed = parse_policy(text, f"{policy_id} v{version}")
        found = _PARSED[key] = parsed.model_copy(update={"version": version})
    return found


class PolicyRegistry:
    """The bundled policies plus the versions imported into the database (CONTRACT §9).

    A lookup of a given version (what a case runs under) reads the database only when that version
    is not known yet; a lookup of the latest version, or of the list, first compares the source's
    stamp — one small read — so that every process sees another's import at once."""

    def __init__(self, bundled: Mapping[str, Policy]) -> None:
        self.bundled = dict(bundled)
        self.source: PolicySource | None = None
        self._stamp: Hashable = None
        self._stored: dict[str, dict[int, Policy]] = {}

    def use(self, source: PolicySource | None) -> None:
        self.source = source
        self._stamp = None
        self._stored = {}
        self.refresh()

    def refresh(self) -> None:
        if self.source is None:
            return
        stamp = self.source.stamp()
        if stamp == self._stamp:
            return
        stored: dict[str, dict[int, Policy]] = {}
        for row in self.source.texts():
            stored.setdefault(row.policy_id, {})[row.version] = parse_stored(
                row.policy_id, row.version, row.text, row.checksum)
        self._stored, self._stamp = stored, stamp

    def versions(self, policy_id: str) -> dict[int, Policy]:
        found: dict[int, Policy] = {}
        if policy_id in self.bundled:
            found[self.bundled[policy_id].version] = self.bundled[policy_id]
        found.update(self._stored.get(policy_id, {}))
        return dict(sorted(found.items()))

    def known(self) -> dict[str, Policy]:
        """The latest version of every policy: the bundled ones in the contract's order, then the others."""
        self.refresh()
        ids = list(self.bundled) + sorted(set(self._stored) - set(self.bundled))
        return {pid: list(self.versions(pid).values())[-1] for pid in ids}

    def get(self, policy_id: str, version: int | None = None) -> Policy:
        if version is None:
            self.refresh()
        else:
            found = self.versions(policy_id).get(version)
            if found is not None:
                return found
            self.refresh()
        versions = self.versions(policy_id)
        if not versions:
            known = list(self.bundled) + sorted(set(self._stored) - set(self.bundled))
            raise KeyError(f"unknown policy {clip(policy_id)}; known: {', '.join(known)}")
        if version is None:
            return list(versions.values())[-1]
        if version not in versions:
            raise KeyError(f"policy {policy_id!r} has no version {version}; versions: "
                           f"{', '.join(map(str, versions))}")
        return versions[version]


_REGISTRY: PolicyRegistry | None = None


def registry() -> PolicyRegistry:
    """The process's registry: the bundled policies, plus a database's versions once one is bound."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PolicyRegistry(load_policies())
    return _REGISTRY


def policies() -> dict[str, Policy]:
    """Every policy's latest version (bundled, plus imported into the bound database)."""
    return registry().known()


def get_policy(policy_id: str, version: int | None = None) -> Policy:
    """A policy: the given version (what a case runs under), else the latest."""
    return registry().get(policy_id, version)

"""Reading policy YAML safely: one safe loader (libyaml when present), impossible dates reported with
their line, and the line of every field path so that an error can name it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from states.policy.model import PolicyError

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

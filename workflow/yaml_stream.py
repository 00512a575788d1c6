"""A scenario's YAML read from libyaml's event stream in one pass, without a node tree.

A generated round is a file of a million YAML values. Composing it into PyYAML's node tree and then
constructing the data walks every value twice in Python and holds both at once; here each event is
turned into data as it arrives, with the same results as PyYAML's safe loader (the same implicit
types, merge keys, anchors and aliases, and impossible dates reported with their line), and the
checks that used to walk the tree are made on the way: a key given twice in one mapping, and the
size of the document once its aliases are expanded.

Lines are not kept for every value: a problem found later names a field path, and `lines_for`
reads the stream once more for just the paths that need a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from states.policy import YamlLoader

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _at(event: Event, end: bool = False) -> Any:
    """An event's mark (libyaml's and PyYAML's Mark classes are one thing to us)."""
    return event.end_mark if end else event.start_mark


class TooLarge(Exception):
    """The document expands past the limit once its aliases are expanded."""


def _events(text: str) -> Iterator[Event]:
    loader = YamlLoader(text)
    try:
        while True:
            event = loader.get_event()
            yield event
            if isinstance(event, StreamEndEvent):
                return
    finally:
        loader.dispose()


@dataclass
class _Frame:
    value: Any  # the dict or list being built
    mark: Any
    size: int = 1
    anchor: str | None = None
    key: Any = None
    has_key: bool = False
    key_mark: Any = None
    keys: dict[Any, int] = field(default_factory=dict)  # scalar key → line, for duplicates
    merges: list[dict[Any, Any]] = field(default_factory=list)
    merging: bool = False  # the value being read is a `<<` merge


class _Builder:
    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self.constructor = YamlLoader("")  # its constructors and resolvers; never parses
        self.resolvers = self.constructor.yaml_implicit_resolvers
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.duplicates: list[str] = []
        self.total = 0

    def close(self) -> None:
        self.constructor.dispose()

    def scalar(self, event: ScalarEvent) -> Any:
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            if event.implicit[0] and tag is None:
                tag = _STR
                for candidate, regexp in self.resolvers.get(value[0] if value else "", ()):
                    if regexp.match(value):
                        tag = candidate
                        break
            else:
                tag = _STR
        if tag == _STR:
            return value
        if tag == _MERGE:
            return _Merge()
        node = ScalarNode(tag, value, _at(event), _at(event, end=True), event.style)
        constructors = self.constructor.yaml_constructors
        make = constructors.get(tag) or constructors[None]
        return make(self.constructor, node)

    def build(self, events: Iterable[Event]) -> Any:
        stack: list[_Frame] = []
        documents = 0
        result: Any = None
        resolvers = self.resolvers
        for event in events:
            # The common case first, inline: a scalar without an anchor, as a list item or a value.
            if type(event) is ScalarEvent and event.anchor is None and stack:
                parent = stack[-1]
                into = parent.value
                if type(into) is list or (parent.has_key and not parent.merging):
                    text = event.value
                    if event.tag is None and (not event.implicit[0] or text[:1] not in resolvers):
                        value = text  # a quoted scalar, or a plain one no implicit type starts like
                    else:
                        value = self.scalar(event)
                    self.total += 1
                    if self.total > self.max_nodes:
                        raise TooLarge
                    parent.size += 1
                    if type(into) is list:
                        into.append(value)
                    else:
                        into[parent.key] = value
                        parent.has_key = False
                    continue
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise yaml.composer.ComposerError(
                        "expected a single document in the stream", None, "but found another document",
                        _at(event))
                continue
            if not isinstance(event, NodeEvent | MappingEndEvent | SequenceEndEvent):
                continue
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                tag = event.tag
                wanted = _MAP if isinstance(event, MappingStartEvent) else _SEQ
                if tag not in (None, "!", wanted):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the tag {tag!r} is not supported in a scenario", _at(event))
                frame = _Frame({} if wanted == _MAP else [], _at(event), anchor=event.anchor)
                if event.anchor is not None:
                    self._anchor(event)
                    self.anchors[event.anchor] = (frame.value, 1)  # a cycle counts once
                stack.append(frame)
                continue
            if isinstance(event, MappingEndEvent | SequenceEndEvent):
                frame = stack.pop()
                value = frame.value
                if isinstance(value, dict) and frame.merges:
                    explicit = dict(value)
                    value.clear()
                    for merged in reversed(frame.merges):
                        value.update(merged)
                    value.update(explicit)
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (value, frame.size)
                size = frame.size
                mark = frame.mark
                self.total += 1  # its values were counted as they came
            elif isinstance(event, AliasEvent):
                if event.anchor not in self.anchors:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", _at(event))
                value, size = self.anchors[event.anchor]
                mark = _at(event)
                self.total += size
            else:
                assert isinstance(event, ScalarEvent)
                value = self.scalar(event)
                size = 1
                mark = _at(event)
                if event.anchor is not None:
                    self._anchor(event)
                    self.anchors[event.anchor] = (value, 1)
                self.total += 1
            if self.total > self.max_nodes:
                raise TooLarge
            if not stack:
                result = value
                continue
            self._place(stack[-1], value, size, mark, event)
        return result

    def _anchor(self, event: NodeEvent) -> None:
        if event.anchor in self.anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {event.anchor!r}", None, "second occurrence", _at(event))

    def _place(self, parent: _Frame, value: Any, size: int, mark: Any, event: Event) -> None:
        parent.size = min(parent.size + size, self.max_nodes + 1)
        if isinstance(parent.value, list):
            parent.value.append(value)
            return
        if not parent.has_key:
            if isinstance(event, ScalarEvent):
                line = mark.line + 1
                if event.value in parent.keys:
                    self.duplicates.append(f"{event.value} (line {line}): given twice in one mapping "
                                           f"(first on line {parent.keys[event.value]})")
                parent.keys[event.value] = line
            if isinstance(value, _Merge):
                parent.merging = True
            else:
                try:
                    hash(value)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", parent.mark, "found unhashable key", mark) from None
            parent.key, parent.has_key, parent.key_mark = value, True, mark
            return
        parent.has_key = False
        if parent.merging:
            parent.merging = False
            parent.merges.extend(self._merged(value, mark))
            return
        parent.value[parent.key] = value

    @staticmethod
    def _merged(value: Any, mark: Any) -> list[dict[Any, Any]]:
        """What a `<<` key merges, first one winning (PyYAML's order)."""
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return list(value)
        raise yaml.constructor.ConstructorError(
            "while constructing a mapping", None,
            "expected a mapping or list of mappings for merging", mark)


class _Merge:
    """The `<<` key of a mapping."""

    def __hash__(self) -> int:
        return id(self)


def load(text: str, max_nodes: int) -> tuple[Any, list[str]]:
    """(the data, problems of keys given twice in one mapping). Raises yaml.YAMLError for a text that
    is not YAML (with its mark), TooLarge past `max_nodes` values once aliases are expanded."""
    builder = _Builder(max_nodes)
    try:
        data = builder.build(_events(text))
    finally:
        builder.close()
    return data, builder.duplicates


def lines_for(text: str, wanted: Iterable[Path]) -> dict[Path, int]:
    """The 1-based line of each wanted field path (and of every prefix of one): a mapping entry's line
    is its key's, a list item's its own; paths through an alias stop at the alias."""
    targets: set[Path] = set()
    for path in wanted:
        targets.update(path[:cut] for cut in range(len(path) + 1))
    found: dict[Path, int] = {}
    # Each open collection: its path, the next list index or the pending key, whether a key is pending.
    stack: list[list[Any]] = []
    for event in _events(text):
        if not isinstance(event, NodeEvent | MappingEndEvent | SequenceEndEvent):
            continue
        if isinstance(event, MappingEndEvent | SequenceEndEvent):
            stack.pop()
            _after_value(stack)
            continue
        line = _at(event).line + 1
        if stack and stack[-1][0] == "map" and not stack[-1][3]:
            key = event.value if isinstance(event, ScalarEvent) else "\0complex"
            top = stack[-1]
            top[2] = key
            path = (*top[1], key)
            if path in targets:
                found[path] = line
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                stack.append(["skip", (), None, False])  # a complex key: its inside has no path; at
            else:                                          # its end the value is due (_after_value)
                top[3] = True
            continue
        if not stack:
            path = ()
        elif stack[-1][0] in ("seq", "map"):
            path = (*stack[-1][1], stack[-1][2])
        else:
            path = ("\0",)
        if path in targets and path not in found:
            found[path] = line
        if isinstance(event, MappingStartEvent):
            stack.append(["map", path, None, False])
        elif isinstance(event, SequenceStartEvent):
            stack.append(["seq", path, 0, False])
        else:
            _after_value(stack)
    return found


def _after_value(stack: list[list[Any]]) -> None:
    if not stack:
        return
    top = stack[-1]
    if top[0] == "seq":
        top[2] += 1
    elif top[0] == "map":
        if top[3]:
            top[3] = False
        else:  # the end of a complex key: its value comes next
            top[3] = True


# ---- writing --------------------------------------------------------------------------------------

def _plain(value: str, resolvers: dict[Any, Any]) -> bool:
    """Whether `value` reads back as a string when written without quotes (else the emitter quotes it)."""
    return all(not regexp.match(value) for _tag, regexp in resolvers.get(value[:1], ()))


def _emit_events(data: Any) -> Iterator[Event]:
    """The events PyYAML's safe representer would give for plain data (dicts, lists, str, int, float,
    bool, None), made as the data is walked, without building its node tree."""
    resolvers = YamlLoader.yaml_implicit_resolvers
    represent = yaml.representer.SafeRepresenter()  # for its float format only
    yield yaml.StreamStartEvent()
    yield yaml.DocumentStartEvent(explicit=False)
    stack: list[Iterator[Any]] = []

    def scalar(value: Any) -> Event:
        if type(value) is str:
            return yaml.ScalarEvent(None, None, (_plain(value, resolvers), True), value)
        if value is None or isinstance(value, bool | int | float):
            return yaml.ScalarEvent(None, None, (True, False), _represent(represent, value))
        raise TypeError(f"cannot write {type(value).__name__} in a scenario")

    def open_(value: Any) -> Event | None:
        if isinstance(value, dict):
            stack.append(iter(value.items()))
            return yaml.MappingStartEvent(None, None, True, flow_style=False)
        if isinstance(value, list | tuple):
            stack.append(iter(value))
            return yaml.SequenceStartEvent(None, None, True, flow_style=False)
        return None

    first = open_(data)
    yield first if first is not None else scalar(data)
    kinds: list[bool] = [isinstance(data, dict)] if first is not None else []
    while stack:
        item: Any = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            yield yaml.MappingEndEvent() if kinds.pop() else yaml.SequenceEndEvent()
            continue
        value: Any = item
        if kinds[-1]:  # a mapping's (key, value)
            key, value = item
            yield scalar(key)
        started = open_(value)
        if started is None:
            yield scalar(value)
        else:
            kinds.append(isinstance(value, dict))
            yield started
    yield yaml.DocumentEndEvent(explicit=False)
    yield yaml.StreamEndEvent()


_END = object()


def _represent(dumper: Any, value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return str(dumper.represent_float(value).value)


def dump(data: Any, width: int = 110) -> str:
    """`yaml.dump(data, allow_unicode=True, sort_keys=False, width=width)` for plain data, streamed to
    libyaml's emitter event by event (the representer's node tree of a generated round is ~250 MB)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.emit(_emit_events(data), Dumper=dumper, allow_unicode=True, width=width)
    return text

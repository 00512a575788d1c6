"""A year's working-day schedule as data (CONTRACT §10): the State Council's holidays as named ranges,
the make-up working weekend days (调休上班), the notice it comes from and whether it is `official`
or `provisional`. `parse_year_file` reads and checks the operator's YAML file; every refusal names
the line. Pure: no database, no project imports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["OFFICIAL", "PROVISIONAL", "CalendarFileError", "CalendarYear", "Holiday", "parse_year_file"]

OFFICIAL = "official"
PROVISIONAL = "provisional"
STATUSES = (OFFICIAL, PROVISIONAL)
_KEYS = ("year", "source", "status", "holidays", "workdays")
_MAX_BYTES = 200_000  # a year's schedule is a few hundred bytes; anything near this is not one
_ONE_DAY = dt.timedelta(days=1)


class CalendarFileError(ValueError):
    """A calendar file that cannot be stored; the message names the file and the line. `zh` says the
    same in Chinese for the web page (第 N 行：…), `line` is the line or None for the whole file."""

    def __init__(self, message: str, zh: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.zh = f"第 {line} 行：{zh}" if line is not None else zh


_WEEKDAYS_ZH = "一二三四五六日"
_FIELDS_ZH = {"(file)": "文件", "year": "年份（year）", "source": "来源（source）", "status": "状态（status）",
              "holidays": "假期（holidays）", "workdays": "调休上班日（workdays）", "from": "开始日期（from）",
              "to": "结束日期（to）", "name": "名称（name）"}
_ITEM = re.compile(r"^(holidays|workdays)\[(\d+)\](?:\.(\w+))?$")


def _zh(field: str) -> str:
    """A field path as an operator reads it: holidays[2].from → 第 3 个假期的开始日期（from）."""
    found = _ITEM.match(field)
    if found is None:
        return _FIELDS_ZH.get(field, field)
    kind = "假期" if found.group(1) == "holidays" else "调休上班日"
    item = f"第 {int(found.group(2)) + 1} 个{kind}"
    return f"{item}的{_FIELDS_ZH.get(found.group(3), found.group(3))}" if found.group(3) else item


@dataclass(frozen=True)
class Holiday:
    start: dt.date
    end: dt.date
    name: str

    def days(self) -> Iterator[dt.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += _ONE_DAY


@dataclass(frozen=True)
class CalendarYear:
    """One year's schedule. A day is off when a holiday range holds it, a working day when it is a
    make-up day, else by the week (Monday–Friday work)."""

    year: int
    source: str
    status: str
    holidays: tuple[Holiday, ...]
    workdays: tuple[dt.date, ...]

    @property
    def provisional(self) -> bool:
        return self.status == PROVISIONAL

    def days_off(self) -> frozenset[dt.date]:
        return frozenset(d for h in self.holidays for d in h.days())

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if any(h.start <= day <= h.end for h in self.holidays):
            return False
        return day.weekday() < 5

    def working_days(self) -> frozenset[dt.date]:
        """Every working day of the year (to compare two schedules of one year)."""
        off = self.days_off()
        extra = set(self.workdays)
        day, found = dt.date(self.year, 1, 1), set()
        while day.year == self.year:
            if day in extra or (day.weekday() < 5 and day not in off):
                found.add(day)
            day += _ONE_DAY
        return frozenset(found)

    def to_data(self) -> dict[str, Any]:
        """JSON-able form, as the database stores it."""
        return {"year": self.year, "source": self.source, "status": self.status,
                "holidays": [{"from": h.start.isoformat(), "to": h.end.isoformat(), "name": h.name}
                             for h in self.holidays],
                "workdays": [d.isoformat() for d in self.workdays]}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CalendarYear:
        return cls(year=int(data["year"]), source=str(data["source"]), status=str(data["status"]),
                   holidays=tuple(Holiday(dt.date.fromisoformat(h["from"]), dt.date.fromisoformat(h["to"]),
                                          str(h["name"])) for h in data["holidays"]),
                   workdays=tuple(dt.date.fromisoformat(d) for d in data["workdays"]))


# ---- reading the operator's file ---------------------------------------------------------------

def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, node: yaml.Node | None, message: str, zh: str) -> CalendarFileError:
        where = f"{self.name}, line {_line(node)}" if node is not None else self.name
        return CalendarFileError(f"{where}: {message}", zh, _line(node) if node is not None else None)

    def scalar(self, node: yaml.Node, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            raise self.fail(node, f"{field}: give a single value", f"{_zh(field)} 应为单个值")
        return str(node.value).strip()

    def date(self, node: yaml.Node, field: str) -> dt.date:
        text = self.scalar(node, field)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.fail(node, f"{field}: {text!r} is not a real date (YYYY-MM-DD)",
                            f"{_zh(field)}「{text[:40]}」不是有效日期（应为 年-月-日，如 2027-02-13）") from None

    def mapping(self, node: yaml.Node, field: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{field}: expected a mapping with keys {', '.join(allowed)}",
                            f"{_zh(field)} 应写成包含 {'、'.join(allowed)} 的映射")
        found: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                raise self.fail(key, f"{field}: unknown key {name!r}; keys: {', '.join(allowed)}",
                                f"{_zh(field)}中的「{str(name)[:40]}」不是可用的字段（可用：{'、'.join(allowed)}）")
            if name in found:
                raise self.fail(key, f"{field}: key {name!r} given twice", f"{_zh(field)}中「{name}」重复出现")
            found[name] = value
        return found

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{field}: expected a list", f"{_zh(field)} 应写成列表")
        return list(node.value)


def parse_year_file(text: str, name: str = "calendar file") -> CalendarYear:
    """Read and check one year's schedule (format: CONTRACT §10). Refusals name the line:
    a make-up workday that is not a Saturday or Sunday, a holiday outside the year, a reversed or
    overlapping range, a day both a holiday and a workday, a year with nothing in it."""
    r = _Reader(name)
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_BYTES:
        raise CalendarFileError(f"{name}: larger than {_MAX_BYTES} bytes; not a year's schedule",
                                "文件过大，不是一年的节假日安排")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise CalendarFileError(f"{name}{where}: not valid YAML: {exc.problem or exc}",
                                "不是有效的 YAML 格式（请检查缩进、冒号和引号）",
                                mark.line + 1 if mark is not None else None) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise CalendarFileError(f"{name}: not valid YAML: {type(exc).__name__}", "不是有效的 YAML 格式") from None
    if root is None:
        raise CalendarFileError(f"{name}: the file is empty; give year, source, status, holidays, workdays",
                                "文件为空：应包含 year、source、status、holidays、workdays")
    top = r.mapping(root, "(file)", _KEYS)
    for key in ("year", "source", "status"):
        if key not in top:
            raise r.fail(root, f"{key}: missing (keys: {', '.join(_KEYS)})", f"缺少{_zh(key)}")
    year_text = r.scalar(top["year"], "year")
    if not year_text.isdigit() or not 1900 <= int(year_text) <= 2200:
        raise r.fail(top["year"], f"year: {year_text!r} is not a year (1900–2200)",
                     f"年份「{year_text[:40]}」无效（应在 1900–2200 之间）")
    year = int(year_text)
    source = r.scalar(top["source"], "source")
    if len(source) > 300:
        raise r.fail(top["source"], "source: at most 300 characters (the notice's title and 文号)",
                     "来源最多 300 个字（通知标题和文号）")
    status = r.scalar(top["status"], "status")
    if status not in STATUSES:
        raise r.fail(top["status"], f"status: {status!r}; give official or provisional",
                     f"状态「{status[:40]}」无效：应为 official（正式）或 provisional（暂定）")
    if "\x00" in source:
        raise r.fail(top["source"], "source: contains a NUL character", "来源含有不可见的控制字符（NUL）")

    holidays: list[tuple[Holiday, yaml.Node]] = []
    for i, item in enumerate(r.sequence(top["holidays"], "holidays") if "holidays" in top else []):
        field = f"holidays[{i}]"
        entry = r.mapping(item, field, ("from", "to", "name"))
        for key in ("from", "to", "name"):
            if key not in entry:
                raise r.fail(item, f"{field}.{key}: missing", f"{_zh(field)}缺少{_zh(key)}")
        start, end = r.date(entry["from"], f"{field}.from"), r.date(entry["to"], f"{field}.to")
        label = r.scalar(entry["name"], f"{field}.name")
        if end < start:
            raise r.fail(item, f"{field}: reversed range, from {start} is after to {end}",
                         f"{_zh(field)}起止颠倒：开始 {start} 晚于结束 {end}")
        for day, node in ((start, entry["from"]), (end, entry["to"])):
            if day.year != year:
                raise r.fail(node, f"{field}: {day} is outside the year {year} this file is for",
                             f"{_zh(field)} {day} 不在本文件的 {year} 年内")
        for other, other_node in holidays:
            if start <= other.end and other.start <= end:
                raise r.fail(item, f"{field}: {start}–{end} ({label}) overlaps {other.start}–{other.end} "
                                   f"({other.name}, line {_line(other_node)})",
                             f"{start}–{end}（{label}）与第 {_line(other_node)} 行的 {other.start}–{other.end}"
                             f"（{other.name}）重叠")
        holidays.append((Holiday(start, end, label), item))

    workdays: list[dt.date] = []
    for i, item in enumerate(r.sequence(top["workdays"], "workdays") if "workdays" in top else []):
        field = f"workdays[{i}]"
        day = r.date(item, field)
        if day.year != year:
            raise r.fail(item, f"{field}: {day} is outside the year {year} this file is for",
                         f"{_zh(field)} {day} 不在本文件的 {year} 年内")
        if day.weekday() < 5:
            raise r.fail(item, f"{field}: {day} is a {day.strftime('%A')}; a make-up workday (调休上班) is "
                               "a Saturday or Sunday",
                         f"{day} 是周{_WEEKDAYS_ZH[day.weekday()]}；调休上班日只能是周六或周日")
        if day in workdays:
            raise r.fail(item, f"{field}: {day} is listed twice", f"调休上班日 {day} 重复列出")
        clash = next(((h, n) for h, n in holidays if h.start <= day <= h.end), None)
        if clash is not None:
            raise r.fail(item, f"{field}: {day} is both a workday and a holiday ({clash[0].name}, "
                               f"line {_line(clash[1])})",
                         f"{day} 既是调休上班日又在第 {_line(clash[1])} 行的假期（{clash[0].name}）内")
        workdays.append(day)

    if not holidays and not workdays:
        raise r.fail(root, f"the year {year} is empty: no holidays and no workdays",
                     f"{year} 年没有任何假期和调休上班日")
    ordered = sorted((h for h, _ in holidays), key=lambda h: h.start)
    return CalendarYear(year=year, source=source, status=status, holidays=tuple(ordered),
                        workdays=tuple(sorted(workdays)))

"""Warnings about a policy that loads but probably says something its author did not mean
(`zcflow policy check`, CONTRACT §9). Errors are the loader's (states/policy/); these are the
doubts an operator should look at before importing a round: every one names the field and its line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from states.calendar import UnknownYearError, WorkingDayCalendar, notice_close
from states.calendar.timeutil import end_of_day
from states.policy import Path_, Policy, line_of


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "field": self.field, "line": self.line, "message": self.message}


def _dates(policy: Policy) -> list[tuple[Path_, dt.date]]:
    found: list[tuple[Path_, dt.date]] = [(("cutoffs", i, "date"), c.date) for i, c in enumerate(policy.cutoffs)]
    if policy.window is not None:
        found.append((("window", "opens"), policy.window.opens))
        if policy.window.closes is not None:
            found.append((("window", "closes"), policy.window.closes))
    return found


def lint(policy: Policy, calendar: WorkingDayCalendar, lines: Mapping[Path_, int] | None = None,
         districts: tuple[str, ...] | None = None) -> list[Finding]:
    """Every warning for `policy`. `districts`: the city's districts where zcflow knows them."""
    lines = lines or {}
    out: list[Finding] = []

    def warn(code: str, loc: Path_, message: str) -> None:
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        out.append(Finding(code, field, message, line_of(lines, loc)))

    # A stage whose message must tell the applicant what to do, with nothing in the file to say it.
    if "fee_payment" in policy.stages and policy.fee is None:
        warn("fee_unsaid", ("stages",), "the round has the stage fee_payment but no `fee:` (how to pay, as the "
             "notice words it): the fee_due messages will only say to follow the platform's notice")
    if "mail_in" in policy.stages and (policy.mail_in is None or policy.office("mail-in") is None):
        missing = " and ".join(x for x, absent in (("`mail_in:`", policy.mail_in is None),
                                                   ("an office `key: mail-in`", policy.office("mail-in") is None))
                               if absent)
        warn("mail_in_unsaid", ("stages",), f"the round has the stage mail_in but no {missing}: the "
             "mail_in_instructions messages cannot say what to mail where")

    # A year the calendar does not know: every working-day count in it would be refused (CONTRACT §4).
    unknown: set[int] = set()
    for loc, day in _dates(policy):
        if day.year in unknown:
            continue
        try:
            calendar.is_working_day(day)
        except UnknownYearError:
            unknown.add(day.year)
            warn("unknown_year", loc, f"the working-day calendar does not know {day.year}: import the State "
                 f"Council's holiday notice for it (`zcflow calendar import FILE`) before the round runs")

    # A cutoff on a non-working day: offices are closed on the last day.
    for i, c in enumerate(policy.cutoffs):
        if c.date.year in unknown:
            if c.date.weekday() >= 5:  # no schedule to consult: a weekend is off unless made up (调休)
                warn("cutoff_not_working_day", ("cutoffs", i, "date"),
                     f"cutoff {c.name} ({c.label}) falls on {c.date.isoformat()}, a {_weekday(c.date)} "
                     f"(not a working day unless {c.date.year}'s schedule makes it up)")
            continue
        if not calendar.is_working_day(c.date):
            warn("cutoff_not_working_day", ("cutoffs", i, "date"),
                 f"cutoff {c.name} ({c.label}) falls on {c.date.isoformat()}, a {_weekday(c.date)} that is not "
                 "a working day")

    # Cutoffs out of order: a cutoff for a later stage must not come before one for an earlier stage.
    def position(i: int) -> int:
        return min(policy.stages.index(s) for s in policy.cutoffs[i].ends)

    order = sorted(range(len(policy.cutoffs)), key=position)
    for a, b in pairwise(order):
        ca, cb = policy.cutoffs[a], policy.cutoffs[b]
        if cb.date < ca.date:
            warn("cutoffs_out_of_order", ("cutoffs", b, "date"),
                 f"cutoff {cb.name} ({cb.date.isoformat()}) ends a later stage than cutoff {ca.name} "
                 f"but comes before it ({ca.date.isoformat()})")

    employer = policy.cutoff_ending("employer_review")
    window = policy.window
    if window is not None and window.closes is not None and employer is not None and window.closes > employer.date:
        warn("window_after_employer_cutoff", ("window", "closes"),
             f"the filing window closes on {window.closes.isoformat()}, after the employer cutoff "
             f"{employer.name} ({employer.date.isoformat()}): filings in the last days cannot be reviewed")

    # A notice that cannot fit: filed on the window's last day, approved at once, the notice must
    # still close before the cutoff that ends it.
    if window is not None and window.closes is not None:
        for stage, notice in policy.notices.items():
            cutoff = policy.cutoff_ending(stage)
            if cutoff is None or window.closes.year in unknown or cutoff.date.year in unknown:
                continue
            try:
                closes = notice_close(end_of_day(window.closes) - dt.timedelta(minutes=1), notice.working_days,
                                      calendar)
            except UnknownYearError:
                continue
            if closes > end_of_day(cutoff.date):
                i = policy.cutoffs.index(cutoff)
                warn("notice_cannot_fit", ("cutoffs", i, "date"),
                     f"a case filed on the last filing day ({window.closes.isoformat()}) and approved the same "
                     f"day ends its {notice.working_days}-working-day {stage} on "
                     f"{(closes - dt.timedelta(seconds=1)).date().isoformat()}, after cutoff {cutoff.name} "
                     f"({cutoff.date.isoformat()})")

    # A district both covered and excluded.
    scope = policy.scope.districts
    if scope is not None:
        listed = scope.only if scope.only is not None else scope.all_except or ()
        for name, n in Counter(listed).items():
            if n > 1:
                warn("district_listed_twice", ("scope", "districts"), f"district {name} is listed {n} times")
        for i, office in enumerate(policy.offices):
            if office.district and not scope.covers(office.district):
                warn("district_covered_and_excluded", ("offices", i, "district"),
                     f"office {office.key} serves {office.district}, which scope.districts excludes")
        if districts is not None:
            for name in listed:
                if name not in districts:
                    warn("unknown_district", ("scope", "districts"),
                         f"district {name} is not one of {policy.scope.city}'s districts ({'、'.join(districts)})")
    table = policy.committee_table
    if table is not None and scope is not None:
        for i, committee in enumerate(table.committees):
            if committee.districts.only is not None:
                for name in committee.districts.only:
                    if not scope.covers(name):
                        warn("district_covered_and_excluded", ("committee_table", "committees", i, "districts"),
                             f"committee {committee.name} covers {name}, which scope.districts excludes")

    # A duplicated catalogue row.
    seen: dict[tuple[object, ...], int] = {}
    for i, row in enumerate(policy.catalogue.rows):
        key = (row.name_zh, row.name_en, row.abbreviation, row.issuer_zh, row.issuer_en, row.title, row.series)
        if key in seen:
            warn("duplicate_catalogue_row", ("catalogue", "rows", i),
                 f"catalogue row {row.no} repeats row {seen[key]} ({row.name_zh or row.name_en}, "
                 f"{row.issuer_zh or row.issuer_en})")
        else:
            seen[key] = row.no

    # A committee that covers nothing: no district of the table, or a series no catalogue row has.
    if table is not None:
        series = {r.series for r in policy.catalogue.rows}
        for i, committee in enumerate(table.committees):
            where: Path_ = ("committee_table", "committees", i)
            if not any(committee.districts.covers(d) for d in table.districts):
                warn("committee_covers_nothing", (*where, "districts"),
                     f"committee {committee.name} covers no district of the table")
            elif series and committee.series not in series:
                warn("committee_covers_nothing", (*where, "series"),
                     f"committee {committee.name} decides series {committee.series}, which no catalogue row has")
    return out


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _weekday(day: dt.date) -> str:
    return _WEEKDAYS[day.weekday()]

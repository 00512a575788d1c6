"""Calendar years imported as data (CONTRACT §10, issue 13), through the production engine and tick
on the standing scheme hz-recognition-2022 (5-working-day employer notice, seed 002 附件3 §一.4).

The 2027 files under tests/data/calendar/ are MADE UP for these tests — not the State Council's
schedule: 春节 02-05..02-11 with make-up Saturday 02-13, 清明 04-03..04-05, 劳动节 05-01..05-05 with
make-up Sunday 04-25. The provisional file has the Spring Festival make-up day on Saturday 02-20.
Every close below is counted by hand in its comment (the opening day is not counted).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.calendar import SHANGHAI, product_calendar
from states.vocabulary import Role
from storage import repo
from storage.audit import audit_entries
from storage.calendar_years import calendar_years
from tests.filings import filing
from workflow.calendar_import import import_calendar_year
from workflow.deadlines import ensure_schedule, tick
from workflow.engine import Actor, Workflow
from workflow.errors import UnknownYear

DATA = Path(__file__).parent / "data" / "calendar"
OFFICIAL = DATA / "made-up-2027.yaml"
PROVISIONAL = DATA / "made-up-2027-provisional.yaml"
POLICY = "hz-recognition-2022"
SECOND = dt.timedelta(seconds=1)


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=SHANGHAI)


def midnight_after(day: dt.date) -> dt.datetime:
    """The instant a notice whose last day is `day` closes (end of that day, CONTRACT §4)."""
    nxt = day + dt.timedelta(days=1)
    return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=SHANGHAI)


def import_file(db: Engine, path: Path, when: dt.datetime) -> dict[str, object]:
    report = import_calendar_year(db, path.read_text(encoding="utf-8"), name=path.name, at=when, actor="test")
    return report.to_json()


def open_notice(wf: Workflow, serial: int, approved: dt.datetime) -> int:
    case_id = wf.create_case(POLICY, filing(POLICY, serial), approved - dt.timedelta(hours=3))
    wf.fire(case_id, "submit", Actor(Role.applicant), approved - dt.timedelta(hours=2))
    wf.fire(case_id, "employer_approve", Actor(Role.employer), approved)
    return case_id


@pytest.fixture
def wf(db: Engine) -> Workflow:
    ensure_schedule(db, [POLICY])
    return Workflow(db)


def test_without_the_year_the_refusal_says_which_command_to_run(wf: Workflow) -> None:
    case_id = wf.create_case(POLICY, filing(POLICY, 1), at(2027, 1, 5, 8))
    wf.fire(case_id, "submit", Actor(Role.applicant), at(2027, 1, 5, 9))
    with pytest.raises(UnknownYear, match="2027") as caught:
        wf.fire(case_id, "employer_approve", Actor(Role.employer), at(2027, 1, 6))
    assert "zcflow calendar import FILE" in caught.value.message
    assert wf.case(case_id).state == "employer_review"


NOTICES = [
    # 春节: approved Thu 02-04; 02-05..02-11 off; Fri 02-12 (1), make-up Sat 02-13 (2), 02-15 (3),
    # 02-16 (4), 02-17 (5). Without the make-up Saturday it would be 02-18.
    ("spring-festival-make-up-saturday", at(2027, 2, 4), dt.date(2027, 2, 17)),
    # 劳动节: approved Fri 04-23; Sat 04-24 off, make-up Sun 04-25 (1), 04-26 (2), 04-27 (3), 04-28 (4),
    # 04-29 (5). Without the make-up Sunday it would be 04-30.
    ("labour-day-make-up-sunday", at(2027, 4, 23), dt.date(2027, 4, 29)),
    # 清明: approved Thu 04-01; Fri 04-02 (1), 04-03..04-05 off, 04-06 (2), 04-07 (3), 04-08 (4), 04-09 (5).
    ("qingming", at(2027, 4, 1), dt.date(2027, 4, 9)),
]


@pytest.mark.parametrize(("approved", "last_day"), [n[1:] for n in NOTICES], ids=[n[0] for n in NOTICES])
def test_notice_on_an_imported_year(db: Engine, wf: Workflow, approved: dt.datetime, last_day: dt.date) -> None:
    import_file(db, OFFICIAL, at(2026, 12, 1))
    case_id = open_notice(wf, 1, approved)
    closes = midnight_after(last_day)
    assert wf.case(case_id).notice_closes_at == closes
    tick(db, closes - SECOND)
    assert wf.case(case_id).state == "employer_notice"
    tick(db, closes)
    assert wf.case(case_id).state == "management_review"
    with db.connect() as conn:
        last = repo.case_history(conn, case_id)[-1]
    assert (last.action, last.at) == ("notice_closed", closes)


def test_another_process_sees_an_imported_year(db: Engine, wf: Workflow) -> None:
    """The year is in the database: a process that loaded the calendar before the import (here:
    this one, its memory reset to the empty set of years) picks it up from the token."""
    import_file(db, OFFICIAL, at(2026, 12, 1))
    product_calendar().install([], "")  # as a process started before the import holds it
    case_id = open_notice(wf, 1, at(2027, 4, 1))
    assert wf.case(case_id).notice_closes_at == midnight_after(dt.date(2027, 4, 9))


def test_replacing_provisional_by_official_recomputes_open_notices(db: Engine, wf: Workflow) -> None:
    import_file(db, PROVISIONAL, at(2027, 1, 20))
    # Provisional (make-up Sat 02-20) hand counts:
    #  D approved Mon 02-01: 02-02, 02-03, 02-04, 02-12, 02-15            -> last day 02-15
    #  A approved Thu 02-04: 02-12, 02-15, 02-16, 02-17, 02-18            -> last day 02-18
    #  B approved Tue 02-16: 02-17, 02-18, 02-19, Sat 02-20, 02-22        -> last day 02-22
    #  C approved Wed 02-17: 02-18, 02-19, Sat 02-20, 02-22, 02-23        -> last day 02-23
    d = open_notice(wf, 4, at(2027, 2, 1))
    a = open_notice(wf, 1, at(2027, 2, 4))
    b = open_notice(wf, 2, at(2027, 2, 16))
    c = open_notice(wf, 3, at(2027, 2, 17))
    provisional = {d: dt.date(2027, 2, 15), a: dt.date(2027, 2, 18), b: dt.date(2027, 2, 22), c: dt.date(2027, 2, 23)}
    for case_id, last_day in provisional.items():
        assert wf.case(case_id).notice_closes_at == midnight_after(last_day), case_id
    tick(db, at(2027, 2, 16, 9))  # D's notice closes (02-16 00:00) before the official year arrives
    assert wf.case(d).state == "management_review"

    report = import_file(db, OFFICIAL, at(2027, 2, 18, 10))
    # Official (make-up Sat 02-13 instead of 02-20):
    #  D: closed already; not reopened, not recomputed (it would be 02-02, 02-03, 02-04, 02-12, 02-13)
    #  A: 02-12, Sat 02-13, 02-15, 02-16, 02-17   -> last day 02-17: already past at the import
    #  B: 02-17, 02-18, 02-19, 02-22, 02-23       -> last day 02-23
    #  C: 02-18, 02-19, 02-22, 02-23, 02-24       -> last day 02-24
    official = {a: dt.date(2027, 2, 17), b: dt.date(2027, 2, 23), c: dt.date(2027, 2, 24)}
    for case_id, last_day in official.items():
        assert wf.case(case_id).notice_closes_at == midnight_after(last_day), case_id
    assert report["notices_moved"] == 3 and report["replaced"] == "provisional"
    assert wf.case(d).state == "management_review" and wf.case(d).notice_closes_at is None

    with db.connect() as conn:
        changed = {n.case_id: n for n in conn.execute(select(repo.notifications).where(
            repo.notifications.c.template == "deadline_changed"))}
        audits = audit_entries(conn, action="calendar_import", subject="2027")
    assert set(changed) == {a, b, c}
    assert changed[b].context["old_closes_at"] == midnight_after(dt.date(2027, 2, 22)).isoformat()
    assert changed[b].context["new_closes_at"] == midnight_after(dt.date(2027, 2, 23)).isoformat()
    assert changed[b].context["provisional"] is False
    assert [e.detail["deadlines_moved"] for e in audits] == [3, 0]  # newest first: the official import
    assert audits[0].actor == "test" and audits[0].at == at(2027, 2, 18, 10)

    # A's new close is past: the next tick closes it at its recomputed instant, not at the tick's.
    tick(db, at(2027, 2, 18, 10, ))
    with db.connect() as conn:
        last = repo.case_history(conn, a)[-1]
    assert (last.action, last.at) == ("notice_closed", midnight_after(dt.date(2027, 2, 17)))
    assert wf.case(b).state == "employer_notice" and wf.case(c).state == "employer_notice"


def test_an_identical_year_moves_nothing(db: Engine, wf: Workflow) -> None:
    import_file(db, OFFICIAL, at(2026, 12, 1))
    case_id = open_notice(wf, 1, at(2027, 2, 4))
    report = import_file(db, OFFICIAL, at(2027, 2, 5))
    assert report["identical"] is True and report["deadlines_moved"] == 0
    assert wf.case(case_id).notice_closes_at == midnight_after(dt.date(2027, 2, 17))
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calendar_years)).scalar_one() == 1


def test_case_show_marks_a_deadline_counted_on_a_provisional_year(db: Engine, db_url: str, wf: Workflow,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tests.cli_support import zcflow

    import_file(db, PROVISIONAL, at(2027, 1, 20))
    case_id = open_notice(wf, 1, at(2027, 2, 16))
    code, out, _ = zcflow(monkeypatch, capsys, "case", "show", str(case_id), "--database", db_url, "--json")
    assert code == 0 and json.loads(out)["notice_closes_provisional"] is True
    code, out, _ = zcflow(monkeypatch, capsys, "case", "show", str(case_id), "--database", db_url)
    assert "暂定 provisional" in out
    import_file(db, OFFICIAL, at(2027, 2, 17))
    code, out, _ = zcflow(monkeypatch, capsys, "case", "show", str(case_id), "--database", db_url, "--json")
    assert json.loads(out)["notice_closes_provisional"] is False


def test_scheduler_warns_once_a_day_from_november_while_next_year_is_missing(
        db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    from workflow.scheduler import _warn_missing_year

    warned: set[dt.date] = set()
    with caplog.at_level("WARNING", logger="zcflow.scheduler"):
        _warn_missing_year(db, at(2026, 10, 31, 23), warned)
        assert not caplog.records
        _warn_missing_year(db, at(2026, 11, 1, 0), warned)
        _warn_missing_year(db, at(2026, 11, 1, 18), warned)
        assert len(caplog.records) == 1
        assert "2027" in caplog.records[0].getMessage()
        assert "zcflow calendar import" in caplog.records[0].getMessage()
        _warn_missing_year(db, at(2026, 11, 2, 9), warned)
        assert len(caplog.records) == 2
        import_file(db, PROVISIONAL, at(2026, 11, 2, 10))
        _warn_missing_year(db, at(2026, 11, 3, 9), warned)
        assert len(caplog.records) == 2


def test_a_scenario_imports_its_calendar_files(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.cli_support import zcflow

    scenario = DATA / "scenario-across-made-up-2027.yaml"
    code, out, err = zcflow(monkeypatch, capsys, "simulate", str(scenario), "--database", db_url, "--json")
    assert code == 0, (out, err)
    broken = tmp_path / "broken.yaml"
    broken.write_text(scenario.read_text(encoding="utf-8").replace("[made-up-2027.yaml]", "[missing-2027.yaml]"),
                      encoding="utf-8")
    code, _, err = zcflow(monkeypatch, capsys, "simulate", str(broken), "--database", db_url)
    assert code == 2 and "calendar_files[0] (line 8)" in err and "missing-2027.yaml" in err, err
    bad = tmp_path / "made-up-2027.yaml"
    bad.write_text(OFFICIAL.read_text(encoding="utf-8").replace("2027-02-13, ", "2027-02-15, "), encoding="utf-8")
    elsewhere = tmp_path / "scenario.yaml"
    elsewhere.write_text(scenario.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = zcflow(monkeypatch, capsys, "simulate", str(elsewhere), "--database", db_url)
    assert code == 2 and "line 13" in err and "Monday" in err, err


def test_replacing_a_year_moves_the_pending_round_reminders(db: Engine) -> None:
    """hz-recognition-2025h1's employer cutoff is Mon 2025-04-14 (seed 001): reminders 3 and 1
    working days before it (Wed 04-09, Fri 04-11) and the last approval day. An override of 2025 that
    makes Fri 04-11 a day off (made up for this test) moves the 1-day reminder to Thu 04-10 and the
    3-day one to Tue 04-08, in the import's transaction; reminders already sent stay."""
    from states.calendar import package_year

    policy = "hz-recognition-2025h1"
    ensure_schedule(db, [policy])
    known = package_year(2025)
    assert known is not None
    holidays = "".join(f"  - {{from: {h.start}, to: {h.end}, name: {h.name}}}\n" for h in known.holidays)
    content = (f"year: 2025\nsource: 测试用虚构更正（非国务院通知）\nstatus: official\nholidays:\n{holidays}"
               f"  - {{from: 2025-04-11, to: 2025-04-11, name: 虚构}}\n"
               f"workdays: [{', '.join(d.isoformat() for d in known.workdays)}]\n")

    def reminders() -> dict[str, dt.datetime]:
        with db.connect() as conn:
            return {e.name: e.due_at for e in conn.execute(select(repo.scheduled_events).where(
                repo.scheduled_events.c.policy_id == policy, repo.scheduled_events.c.kind == "reminder"))}

    before = reminders()
    assert before["employer-1wd"] == at(2025, 4, 11, 9) and before["employer-3wd"] == at(2025, 4, 9, 9)
    report = import_calendar_year(db, content, name="2025-override.yaml", at=at(2025, 3, 1), actor="test",
                                  override=True, reason="测试").to_json()
    after = reminders()
    assert after["employer-1wd"] == at(2025, 4, 10, 9) and after["employer-3wd"] == at(2025, 4, 8, 9)
    moved = {name for name in after if after[name] != before[name]}
    assert report["reminders_moved"] == len(moved) and {"employer-1wd", "employer-3wd"} <= moved

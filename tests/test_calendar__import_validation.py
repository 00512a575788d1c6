"""`zcflow calendar import` refuses bad files with exit 2, naming the line, and stores nothing
(CONTRACT §10, issue 13); a year chinesecalendar knows is taken only when identical, or with
--override --reason (recorded in the audit log)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from states.calendar import package_year
from storage.audit import audit_entries, audit_log
from storage.calendar_years import calendar_years
from storage.db import make_engine
from tests.cli_support import zcflow

HEAD = "year: 2027\nsource: 测试用虚构安排（非国务院办公厅通知）\nstatus: official\n"

BAD = [
    # (name, file text, the line the message must name, words it must hold)
    ("workday-on-a-weekday", HEAD + "holidays: []\nworkdays:\n  - 2027-02-20\n  - 2027-02-15\n", 7,
     "Monday"),
    ("holiday-outside-the-year", HEAD + "holidays:\n  - {from: 2026-12-31, to: 2027-01-02, name: 元旦}\n", 5,
     "outside the year 2027"),
    ("holiday-to-outside-the-year", HEAD + "holidays:\n  - {from: 2027-12-31, to: 2028-01-01, name: 元旦}\n", 5,
     "outside the year 2027"),
    ("overlapping-ranges", HEAD + "holidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\n"
                                  "  - {from: 2027-02-10, to: 2027-02-12, name: 又一个}\n", 6, "overlaps"),
    ("reversed-range", HEAD + "holidays:\n  - {from: 2027-04-05, to: 2027-04-03, name: 清明节}\n", 5, "reversed"),
    ("both-holiday-and-workday", HEAD + "holidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\n"
                                        "workdays: [2027-02-06]\n", 6, "both a workday and a holiday"),
    ("empty-year", HEAD + "holidays: []\nworkdays: []\n", 1, "empty"),
    ("impossible-date", HEAD + "holidays:\n  - {from: 2027-02-30, to: 2027-03-01, name: 虚构}\n", 5,
     "not a real date"),
    ("unknown-status", "year: 2027\nsource: x\nstatus: draft\nworkdays: [2027-02-20]\n", 3, "official or provisional"),
    ("unknown-key", HEAD + "workdays: [2027-02-20]\nextra: 1\n", 5, "unknown key"),
    ("not-yaml", HEAD + "holidays: [\n", 5, "not valid YAML"),
]


def stored(url: str) -> tuple[int, int]:
    db = make_engine(url)
    try:
        with db.connect() as conn:
            years = conn.execute(select(func.count()).select_from(calendar_years)).scalar_one()
            audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        return int(years), int(audits)
    finally:
        db.dispose()


@pytest.mark.parametrize(("text", "line", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_is_refused_naming_the_line(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], text: str, line: int,
                                            words: str) -> None:
    path = tmp_path / "2027.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = zcflow(monkeypatch, capsys, "calendar", "import", str(path), "--database", db_url)
    assert code == 2, (out, err)
    assert f"line {line}" in err and words in err, err
    assert "Traceback" not in err
    assert stored(db_url) == (0, 0)


def package_file(year: int, *, change: bool) -> str:
    known = package_year(year)
    assert known is not None
    holidays = "".join(f"  - {{from: {h.start}, to: {h.end}, name: {h.name}}}\n" for h in known.holidays)
    workdays = [d.isoformat() for d in known.workdays]
    if change:
        workdays = workdays[:-1]  # drop the year's last make-up day
    return (f"year: {year}\nsource: 国务院办公厅关于{year}年部分节假日安排的通知\nstatus: official\n"
            f"holidays:\n{holidays}workdays: [{', '.join(workdays)}]\n")


def test_a_year_the_package_knows_is_refused_unless_identical(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    different = tmp_path / "2026-different.yaml"
    different.write_text(package_file(2026, change=True), encoding="utf-8")
    code, _, err = zcflow(monkeypatch, capsys, "calendar", "import", str(different), "--database", db_url)
    assert code == 2 and "line 1" in err and "chinesecalendar already knows 2026" in err and "2026-10-10" in err, err
    assert stored(db_url) == (0, 0)
    code, _, err = zcflow(monkeypatch, capsys, "calendar", "import", str(different), "--override",
                          "--database", db_url)
    assert code == 2 and "--reason" in err, err
    assert stored(db_url) == (0, 0)

    same = tmp_path / "2026-same.yaml"
    same.write_text(package_file(2026, change=False), encoding="utf-8")
    code, out, err = zcflow(monkeypatch, capsys, "calendar", "import", str(same), "--database", db_url, "--json",
                            "--at", "2026-01-04T10:00")
    assert code == 0, err
    assert '"identical": true' in out
    code, out, err = zcflow(monkeypatch, capsys, "calendar", "import", str(different), "--override",
                            "--reason", "国办发明电〔2025〕X号更正", "--at", "2026-01-05T10:00",
                            "--database", db_url)
    assert code == 0, err
    db = make_engine(db_url)
    try:
        with db.connect() as conn:
            entries = audit_entries(conn, action="calendar_import", subject="2026")
    finally:
        db.dispose()
    assert [e.detail["override"] for e in entries] == [True, False]
    assert entries[0].detail["reason"] == "国办发明电〔2025〕X号更正" and entries[0].actor.startswith("cli:")
    # The override stays in force in the product calendar until replaced again.
    code, out, _ = zcflow(monkeypatch, capsys, "calendar", "list", "--database", db_url, "--json")
    assert code == 0 and '"origin": "imported"' in out


def test_show_and_list(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    made_up = Path(__file__).parent / "data" / "calendar" / "made-up-2027-provisional.yaml"
    code, _, err = zcflow(monkeypatch, capsys, "calendar", "show", "2027", "--database", db_url)
    assert code == 2 and "zcflow calendar import" in err
    code, _, err = zcflow(monkeypatch, capsys, "calendar", "import", str(made_up), "--database", db_url)
    assert code == 0, err
    code, out, _ = zcflow(monkeypatch, capsys, "calendar", "show", "2027", "--database", db_url)
    assert code == 0
    assert "暂定 provisional" in out and "from: imported" in out and "20班" in out and " 8休" in out
    assert "春节 2027-02-05–2027-02-11" in out
    code, out, _ = zcflow(monkeypatch, capsys, "calendar", "show", "2026", "--database", db_url)
    assert code == 0 and "chinesecalendar package" in out and "14班" in out
    code, out, _ = zcflow(monkeypatch, capsys, "calendar", "list", "--database", db_url)
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "imported" in lines["2027"] and "provisional" in lines["2027"]
    assert "chinesecalendar" in lines["2004"] and "official" in lines["2026"]

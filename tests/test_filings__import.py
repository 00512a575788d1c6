"""Bulk filing from a platform's 花名册-style export (CONTRACT §11): `zcflow import-filings` and the
admin page turn rows into draft cases, report each row (created / duplicate / invalid naming the
column), and import all or nothing unless --skip-invalid."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage import repo
from storage.db import make_engine
from tests.cli_support import zcflow
from tests.filings import resident_id
from tests.web_support import Site, csrf_of

HZ = "hz-recognition-2025h1"
HEADINGS = ["序号", "姓名", "证件号码", "所在区县", "工作单位", "从事专业", "学历", "毕业时间", "参加工作时间",
            "证书序号", "证书取得时间", "手机"]
AT = "2025-03-20T09:00:00+08:00"


def row(serial: int, **changes: str) -> list[str]:
    values = {"序号": str(serial), "姓名": f"张{serial}", "证件号码": resident_id(serial), "所在区县": "上城区",
              "工作单位": "杭州示范机电有限公司", "从事专业": "机电制造", "学历": "大学本科", "毕业时间": "2015-07-01",
              "参加工作时间": "2015/7/15", "证书序号": "5", "证书取得时间": "2021年5月10日", "手机": "13800138000"}
    values.update(changes)
    return [values[h] for h in HEADINGS]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\ufeff" + "\n".join(",".join(r) for r in [HEADINGS, *rows]) + "\n", encoding="utf-8")
    return path


def cases_of(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(repo.cases)).scalar_one())
    finally:
        engine.dispose()


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str,
        *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = zcflow(monkeypatch, capsys, "import-filings", *args, "--policy", HZ, "--at", AT,
                            "--database", db_url, "--json")
    return code, (json.loads(out) if out.strip().startswith("{") else {"error": err})


def test_rows_become_drafts_and_a_second_import_creates_nothing(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_csv(tmp_path / "export.csv", [row(41), row(42), row(43), row(44, 证件号码=resident_id(41))])
    code, report = run(monkeypatch, capsys, db_url, str(file))
    assert code == 0, report
    assert (report["created"], report["duplicate"], report["invalid"], report["imported"]) == (3, 1, 0, True)
    assert [r["outcome"] for r in report["rows"]] == ["created", "created", "created", "duplicate"]
    assert report["rows"][3]["row"] == 5 and "第 2 行" in report["rows"][3]["message"]
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            first = repo.load_case(conn, report["rows"][0]["case"])
            history = repo.case_history(conn, report["rows"][0]["case"])
    finally:
        engine.dispose()
    assert first is not None and first.state == "draft" and first.name == "张41"
    assert first.data["work_start"] == "2015-07-15" and first.data["certificate"]["obtained"] == "2021-05-10"
    assert [(h.action, h.actor_role) for h in history] == [("create", "admin")]
    code, again = run(monkeypatch, capsys, db_url, str(file))
    assert code == 0 and again["created"] == 0 and again["duplicate"] == 4
    assert cases_of(db_url) == 3


def test_an_invalid_row_imports_nothing_unless_skip_invalid(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad_id = resident_id(52)[:-1] + ("0" if resident_id(52)[-1] != "0" else "1")
    file = write_csv(tmp_path / "export.csv", [row(51), row(52, 证件号码=bad_id), row(53, 参加工作时间="去年"),
                                                row(54, 学历="小学")])
    code, report = run(monkeypatch, capsys, db_url, str(file))
    assert code == 2 and report["imported"] is False and cases_of(db_url) == 0
    outcomes = [(r["outcome"], r.get("column")) for r in report["rows"]]
    assert outcomes == [("skipped", None), ("invalid", "证件号码"), ("invalid", "参加工作时间"), ("invalid", "学历")]
    assert all(r["message"].startswith(f"列「{r['column']}」") for r in report["rows"] if r["outcome"] == "invalid")
    code, report = run(monkeypatch, capsys, db_url, str(file), "--skip-invalid")
    assert code == 0 and report["created"] == 1 and report["invalid"] == 3 and cases_of(db_url) == 1


def test_an_xlsx_roster_with_a_title_row_dates_and_a_formula(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["2025上半年度申报人员花名册"])  # the title row a roster export starts with
    sheet.append(HEADINGS)
    good = row(61)
    sheet.append([*good[:7], dt.datetime(2015, 7, 1), dt.datetime(2015, 7, 15), 5, dt.date(2021, 5, 10), good[11]])
    sheet.append(row(62, 姓名='=HYPERLINK("http://evil.example","点我")'))
    path = tmp_path / "export.xlsx"
    book.save(path)
    code, report = run(monkeypatch, capsys, db_url, str(path), "--skip-invalid")
    assert code == 0, report
    assert [(r["row"], r["outcome"], r.get("column")) for r in report["rows"]] == [
        (3, "created", None), (4, "invalid", "姓名")]
    assert "公式" in report["rows"][1]["message"]


@pytest.mark.parametrize("content,needle", [
    (b"a,b\n1,2\n", "姓名"),
    ("姓名,证件号码\n张三,1\n".encode(), "所在区县"),
])
def test_a_file_without_the_needed_columns_exits_2_naming_them(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        content: bytes, needle: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    code, _, err = zcflow(monkeypatch, capsys, "import-filings", str(path), "--policy", HZ, "--database", db_url)
    assert code == 2 and needle in err and "Traceback" not in err
    code, _, err = zcflow(monkeypatch, capsys, "import-filings", str(tmp_path / "x.pdf"), "--policy", HZ,
                          "--database", db_url)
    assert code == 2


def test_an_admin_imports_through_the_page(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site.build(db, monkeypatch)
    data = ("\ufeff" + "\n".join(",".join(r) for r in [HEADINGS, row(71), row(72)])).encode()
    browser = site.browser("admin")
    token = csrf_of(browser, "/import")
    r = browser.post("/import", data={"policy": HZ, "csrf_token": token},
                     files={"file": ("export.csv", io.BytesIO(data), "text/csv")})
    assert r.status_code == 200, r.text
    assert "已导入：创建 2 件" in r.text
    assert site.browser("emp_a").get("/import").status_code == 403

"""`zcflow document KIND …`: files written in the asked format; bad input exits 2 naming the field."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from states.idcard import mask
from tests.cli_support import zcflow
from tests.drive import walk

HZ = "hz-recognition-2025h1"




def test_every_document_kind_from_the_command_line(db: Engine, db_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    wf, case_id, _ = walk(db, HZ, until="employer_notice")
    number = wf.case(case_id).id_number
    runs = {
        "notice.pdf": ["notice", "--policy", HZ, "--stage", "employer_notice", "--format", "pdf"],
        "form.pdf": ["form", str(case_id), "--format", "pdf"],
        "roster.xlsx": ["roster", "--policy", HZ, "--committee", "杭州市制造业工程技术人员工程师资格评审委员会",
                        "--format", "xlsx"],
        "checklist.html": ["checklist", "--policy", HZ, "--district", "上城区"],
        "mail-in.pdf": ["mail-in", "--policy", "lp-assessment-2022", "--format", "pdf"],
    }
    for name, args in runs.items():
        needs_db = args[0] in ("notice", "form", "roster")
        code, out, err = zcflow(monkeypatch, capsys, "document", *args, "--out", str(tmp_path / name),
                                *(["--database", db_url] if needs_db else []))
        assert code == 0, err
        assert f"wrote {tmp_path / name}" in out
    assert (tmp_path / "notice.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "roster.xlsx").read_bytes().startswith(b"PK")
    assert "上城区发展改革和经济信息化局" in (tmp_path / "checklist.html").read_text("utf-8")
    # html and csv go to stdout when no --out is given
    code, out, _ = zcflow(monkeypatch, capsys, "document", "roster", "--policy", HZ, "--database", db_url)
    table = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert code == 0 and table[1][2] == "王伟" and table[1][4] == mask(number)
    code, out, _ = zcflow(monkeypatch, capsys, "document", "notice", "--policy", HZ, "--stage", "employer_notice",
                          "--database", db_url)
    assert code == 0 and "单位公示表" in out and number not in out


@pytest.mark.parametrize(("args", "message"), [
    (["notice", "--policy", HZ, "--stage", "result_notice"], "--stage: 'result_notice' is not a public notice"),
    (["notice", "--policy", "nowhere", "--stage", "employer_notice"], "--policy: unknown policy 'nowhere'"),
    (["notice", "--policy", HZ, "--stage", "employer_notice", "--format", "docx"], "--format: 'docx'"),
    (["notice", "--policy", HZ, "--stage", "employer_notice", "--format", "pdf"], "--out: a pdf document"),
    (["roster", "--policy", HZ, "--committee", "第九委员会"], "--committee: '第九委员会' is not a committee"),
    (["roster", "--policy", HZ, "--format", "xlsx"], "--out: a xlsx document"),
    (["form", "999"], "CASE: case 999 does not exist"),
    (["checklist", "--policy", "wx-recognition-2022"], "--policy: wx-recognition-2022"),
    (["checklist", "--policy", HZ, "--district", "萧山区"], "--district: '萧山区'"),
    (["mail-in", "--policy", HZ], "--policy: hz-recognition-2025h1 has no post-review mail-in"),
])
def test_bad_input_exits_2_naming_the_field(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], args: list[str],
                                            message: str) -> None:
    needs_db = args[0] in ("notice", "form", "roster")
    code, _, err = zcflow(monkeypatch, capsys, "document", *args, *(["--database", db_url] if needs_db else []))
    assert code == 2, err
    assert message in err


def test_a_form_for_a_policy_without_one_exits_2(db: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, case_id, _ = walk(db, "wx-recognition-2022", until="employer_review")
    code, _, err = zcflow(monkeypatch, capsys, "document", "form", str(case_id), "--database", db_url)
    assert code == 2 and f"CASE: case {case_id} is in wx-recognition-2022, which has no registration form" in err

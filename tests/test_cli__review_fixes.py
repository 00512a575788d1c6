"""The review's findings at the command line (issue 12), each reproduced as the review ran it:
`zcflow eligibility` without `employer` (CONTRACT §5), late and backdated actions (CONTRACT §3),
what "allowed now" lists, and error messages that echo a huge value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import zcflow
from tests.filings import BASE

HZ = "hz-recognition-2025h1"


def write(tmp_path: Path, name: str, data: dict[str, object]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def without(data: dict[str, object], *fields: str) -> dict[str, object]:
    return {k: v for k, v in data.items() if k not in fields}


def test_contract_s5_eligibility_needs_no_employer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = zcflow(monkeypatch, capsys, "eligibility", "--policy", HZ,
                            write(tmp_path, "f.json", without(BASE, "employer")))
    assert code == 0, err
    assert json.loads(out)["eligible"] is True


def test_contract_s5_a_missing_graduation_is_named_not_a_missing_employer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad = {**without(BASE, "employer"), "education": [{"level": "bachelor", "relevant": True}]}
    code, _out, err = zcflow(monkeypatch, capsys, "eligibility", "--policy", HZ, write(tmp_path, "f.json", bad))
    assert code == 2
    assert "education[0].graduated" in err and "employer" not in err


def test_contract_s5_a_case_still_needs_an_employer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/z.db"
    zcflow(monkeypatch, capsys, "init", "--database", db)
    code, _out, err = zcflow(monkeypatch, capsys, "case", "new", "--policy", HZ, "--database", db,
                             write(tmp_path, "f.json", without(BASE, "employer")))
    assert code == 2 and "employer" in err and "Traceback" not in err


def test_seed001_s2_2_late_and_backdated_actions_at_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The review's commands: `case act 1 employer_approve --as employer --at 2025-04-20T10:00` on a case
    still in employer_review, and `department_approve --at 2019-03-21` after a 2025 submit."""
    db = f"sqlite:///{tmp_path}/z.db"
    zcflow(monkeypatch, capsys, "init", "--database", db)
    filing = write(tmp_path, "f.json", BASE)
    for n in (1, 2):
        code, _out, err = zcflow(monkeypatch, capsys, "case", "new", "--policy", HZ, "--at", "2025-03-19T09:00",
                                 "--database", db, filing if n == 1 else write(
                                     tmp_path, "g.json", {**BASE, "id_number": "330106198805050045"}))
        assert code == 0, err
        code, _out, err = zcflow(monkeypatch, capsys, "case", "act", str(n), "submit", "--as", "applicant",
                                 "--at", "2025-03-20T10:00", "--database", db)
        assert code == 0, err
    code, _out, err = zcflow(monkeypatch, capsys, "case", "act", "1", "employer_approve", "--as", "employer",
                             "--at", "2025-04-20T10:00", "--database", db)
    assert code == 2
    assert "illegal_transition" in err and "expired at the end of 2025-04-14 (单位网上审核推荐截止)" in err
    code, _out, err = zcflow(monkeypatch, capsys, "case", "act", "2", "employer_approve", "--as", "employer",
                             "--at", "2019-03-21", "--database", db)
    assert code == 2 and "invalid_input" in err and "at:" in err
    code, out, _err = zcflow(monkeypatch, capsys, "case", "show", "1", "--json", "--database", db)
    history = json.loads(out)["history"]
    assert [h["action"] for h in history] == ["create", "submit", "expire"]
    assert history[0]["at"].startswith("2025-03-19T01:00")  # --at of `case new`, stored in UTC


def test_allowed_now_names_what_each_actor_may_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/z.db"
    zcflow(monkeypatch, capsys, "init", "--database", db)
    zcflow(monkeypatch, capsys, "case", "new", "--policy", HZ, "--at", "2025-03-19T09:00", "--database", db,
           write(tmp_path, "f.json", BASE))
    zcflow(monkeypatch, capsys, "case", "act", "1", "submit", "--as", "applicant", "--at", "2025-03-20T10:00",
           "--database", db)
    code, out, _err = zcflow(monkeypatch, capsys, "case", "show", "1", "--json", "--database", db)
    shown = json.loads(out)
    assert "expire" not in shown["allowed_actions"] and "notice_closed" not in shown["allowed_actions"]
    assert shown["allowed_by_role"]["employer"] == ["employer_approve", "employer_reject", "employer_return"]
    assert shown["allowed_by_role"]["applicant"] == ["withdraw"]
    assert "system" not in shown["allowed_by_role"]
    code, out, _err = zcflow(monkeypatch, capsys, "case", "show", "1", "--as", "applicant", "--database", db)
    assert code == 0 and "allowed now: applicant: withdraw" in out
    code, _out, err = zcflow(monkeypatch, capsys, "case", "act", "1", "receive_paper", "--as", "applicant",
                             "--at", "2025-03-21T10:00", "--database", db)
    assert code == 2 and "applicant may: withdraw" in err
    assert "expire" not in err and "employer_approve" not in err


HUGE = "王" * 5_000_000


@pytest.mark.parametrize("where", ["eligibility name", "case act action", "case act role", "--policy", "--at"])
def test_an_error_echoes_a_short_prefix_and_the_length(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/z.db"
    filing = write(tmp_path, "f.json", {**BASE, "name": HUGE} if where == "eligibility name" else BASE)
    args = {
        "eligibility name": ["eligibility", "--policy", HZ, filing],
        "case act action": ["case", "act", "1", HUGE, "--as", "applicant", "--database", db],
        "case act role": ["case", "act", "1", "submit", "--as", HUGE, "--database", db],
        "--policy": ["eligibility", "--policy", HUGE, filing],
        "--at": ["case", "new", "--policy", HZ, "--at", HUGE, "--database", db, filing],
    }[where]
    if "--database" in args:
        zcflow(monkeypatch, capsys, "init", "--database", db)
    code, _out, err = zcflow(monkeypatch, capsys, *args)
    assert code == 2
    assert len(err) < 3000, f"{len(err)} characters on stderr"
    assert "5000000 characters" in err and "王" * 10 in err

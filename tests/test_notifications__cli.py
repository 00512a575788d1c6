"""`zcflow notifications` and `zcflow deliver`: listing the outbox, delivering it, exit 2 naming the
field on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.cli_support import zcflow
from tests.drive import walk


def test_deliver_sends_the_outbox_to_files_once(db: Engine, db_url: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _, case_id, _ = walk(db, "hz-recognition-2025h1", until="employer_notice")
    monkeypatch.setenv("ZCFLOW_OUTBOX_DIR", str(tmp_path / "outbox"))
    for name in ("ZCFLOW_SMTP_HOST", "ZCFLOW_SMS_URL", "ZCFLOW_EMAIL_CHANNEL", "ZCFLOW_SMS_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = zcflow(monkeypatch, capsys, "deliver", "--at", "2025-03-21T09:00", "--database", db_url,
                          "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["claimed"], report["sent"], report["failed"]) == (3, 3, 0)
    assert report["channels"] == {"sms": "file", "email": "file", "inapp": "inapp"}
    assert len([p for p in (tmp_path / "outbox").rglob("*.*") if p.is_file()]) == 3
    code, out, _ = zcflow(monkeypatch, capsys, "deliver", "--at", "2025-03-21T10:00", "--database", db_url)
    assert code == 0 and "delivered 0 of 0" in out
    code, out, _ = zcflow(monkeypatch, capsys, "notifications", "--case", str(case_id), "--database", db_url,
                          "--json", "--show")
    listed: list[dict[str, Any]] = json.loads(out)
    assert [(n["template"], n["channel"], n["status"]) for n in listed] == [
        ("submitted", "sms", "sent"), ("submitted", "email", "sent"), ("notice_opened", "sms", "sent")]
    assert listed[2]["message"]["text"].startswith("【杭州人社】王伟：您的工程师（制造业）申报（编号1）已进入单位公示")
    code, out, _ = zcflow(monkeypatch, capsys, "notifications", "--status", "sent", "--database", db_url)
    assert code == 0 and "3 notifications" in out and "notice_opened" in out


def test_deliver_reports_failures_and_retries_them_on_request(db: Engine, db_url: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    walk(db, "hz-recognition-2025h1", until="employer_review")
    # an SMS gateway that nobody answers at: both the SMS (no phone on file) and the email go nowhere
    monkeypatch.setenv("ZCFLOW_SMS_URL", "http://127.0.0.1:9/sms")
    monkeypatch.setenv("ZCFLOW_EMAIL_CHANNEL", "memory")
    code, out, _ = zcflow(monkeypatch, capsys, "deliver", "--at", "2025-03-21T09:00", "--database", db_url)
    assert code == 0
    assert "delivered 1 of 2" in out and "failed: 1" in out
    assert "no mobile phone number on file for applicant 王伟" in out
    code, out, _ = zcflow(monkeypatch, capsys, "notifications", "--status", "failed", "--database", db_url,
                          "--json")
    assert [n["template"] for n in json.loads(out)] == ["submitted"]
    monkeypatch.setenv("ZCFLOW_SMS_CHANNEL", "file")
    monkeypatch.setenv("ZCFLOW_OUTBOX_DIR", str(tmp_path))
    code, out, _ = zcflow(monkeypatch, capsys, "deliver", "--retry-failed", "--at", "2025-03-21T10:00",
                          "--database", db_url, "--json")
    assert json.loads(out)["requeued"] == 1 and json.loads(out)["sent"] == 1


@pytest.mark.parametrize(("args", "field"), [
    (["notifications", "--status", "lost"], "--status"),
    (["notifications", "--template", "welcome"], "--template"),
    (["deliver", "--at", "next tuesday"], "--at"),
])
def test_bad_input_exits_2_naming_the_field(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], args: list[str],
                                            field: str) -> None:
    code, _, err = zcflow(monkeypatch, capsys, *args, "--database", db_url)
    assert code == 2 and f"error: {field}: " in err


def test_bad_channel_configuration_exits_2_naming_the_variable(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZCFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ZCFLOW_SMTP_PORT", "twenty-five")
    code, _, err = zcflow(monkeypatch, capsys, "deliver", "--database", db_url)
    assert code == 2 and "ZCFLOW_SMTP_PORT: 'twenty-five' is not a TCP port" in err


def test_an_unknown_case_exits_2(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zcflow(monkeypatch, capsys, "notifications", "--case", "404", "--database", db_url)
    assert code == 2 and "case 404 does not exist" in err

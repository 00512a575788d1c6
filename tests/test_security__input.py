"""Findings: CR/LF in a name forged header lines in the SMS file format; ESC sequences in names and
user names reached the operator's terminal; the file channel left `.tmp-*` files behind after a kill.
Control characters are refused in names, user names, employers and districts, naming the field
(states/text.py); free-text reasons may hold line breaks."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from notifications.channels.base import Message
from notifications.channels.file import TMP, FileChannel
from states.text import control_character
from tests.filings import filing
from workflow.clock import SHANGHAI
from workflow.web.service import clean_text

HZ = "hz-recognition-2025h1"
BAD = ["\x1b[31m", "\r\nKey: forged", "\x00", "\x7f", "\x85", "\t"]


@pytest.mark.parametrize("field", ["name", "employer", "district", "specialty"])
@pytest.mark.parametrize("bad", BAD)
def test_control_characters_are_refused_in_a_filing_naming_the_field(field: str, bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        filing(HZ, 1, **{field: f"王{bad}伟"})
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]
    assert "control characters" in str(caught.value)


def test_a_statement_may_hold_line_breaks_but_not_escapes() -> None:
    assert filing("lp-assessment-2022", 1, statement="第一行\n第二行\t完").statement == "第一行\n第二行\t完"
    with pytest.raises(ValidationError, match="statement"):
        filing("lp-assessment-2022", 1, statement="\x1b[2J")


def test_reasons_keep_line_breaks_other_fields_refuse_them() -> None:
    assert clean_text("缺学历证明\n请补交", "reason") == "缺学历证明\n请补交"
    for field in ("objector", "action", "employer"):
        with pytest.raises(Exception, match=rf"^{field}: must not contain control characters \(U\+000A\)"):
            clean_text("甲\n乙", field)
    assert control_character("杭州市 上城区") is None


def sms(name: str, tmp_path: Path) -> str:
    channel = FileChannel(tmp_path)
    message = Message(notification_id=7, key="zcflow-notification-7", channel="sms", template="submitted",
                      recipient_role="applicant", recipient_name=name, address="13800000000",
                      text="您的申报已提交。\n请留意后续通知。", created_at=dt.datetime(2025, 3, 20, tzinfo=SHANGHAI))
    receipt = channel.send(message)
    assert receipt.reference
    return Path(receipt.reference).read_text(encoding="utf-8")


def test_the_sms_file_escapes_what_it_writes(tmp_path: Path) -> None:
    text = sms("张三\r\nKey: forged\x1b[2J", tmp_path)
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    assert [line.split(":", 1)[0] for line in lines] == ["To", "Key", "Template", "Segments"]
    assert lines[0] == "To: 13800000000 (张三\\r\\nKey: forged\\x1b[2J)"
    assert "\x1b" not in text and "\r" not in text
    assert body == "您的申报已提交。\n请留意后续通知。\n"  # the message body is the message


def test_the_file_channel_writes_temporaries_under_tmp_and_removes_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "sms").mkdir(parents=True)
    (tmp_path / TMP).mkdir()
    stale = [tmp_path / TMP / "00000001-submitted-x.txt", tmp_path / "sms" / ".tmp-abc.txt"]
    fresh = tmp_path / TMP / "00000002-submitted-y.txt"  # another process may be writing it now
    for p in [*stale, fresh]:
        p.write_text("half a message")
    old = time.time() - 3600
    for p in stale:
        os.utime(p, (old, old))
    sms("张三", tmp_path)
    assert [p.exists() for p in stale] == [False, False] and fresh.exists()
    assert sorted(p.name for p in (tmp_path / "sms").iterdir()) == ["00000007-submitted.txt"]
    assert [p.name for p in (tmp_path / TMP).iterdir()] == [fresh.name]

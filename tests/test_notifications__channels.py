"""The channels, end to end: files on disk, a real SMTP server (aiosmtpd) and a real HTTP SMS gateway
(http.server), both on 127.0.0.1 on a free port, started and stopped by the test."""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.engine import Engine

from notifications.channels.base import ChannelConfigError, Message, PermanentChannelError, TransientChannelError
from notifications.channels.file import FileChannel
from notifications.channels.sms_http import SmsHttpChannel, normalise_phone
from notifications.channels.smtp import SmtpChannel
from notifications.config import Transports, transports_from_env
from notifications.outbox import RetryPolicy, deliver
from notifications.status_link import link_key, read_token
from storage import repo
from tests.drive import HOUR
from tests.filings import SUBMIT_AT, filing
from workflow.engine import Actor, Role, Workflow

PHONE = "13800138000"
EMPLOYER_MAIL = "hr@example-jidian.cn"
APPLICANT_MAIL = "wangwei@example.cn"
MINUTE = dt.timedelta(minutes=1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def submitted(db: Engine, policy_id: str = "hz-recognition-2025h1", **changes: Any) -> tuple[int, dt.datetime]:
    """A submitted case whose filing gives the applicant's phone and the employer's email."""
    wf = Workflow(db)
    data = {"phone": PHONE, "email": APPLICANT_MAIL, "employer_email": EMPLOYER_MAIL, **changes}
    at = SUBMIT_AT[policy_id]
    case_id = wf.create_case(policy_id, filing(policy_id, 1, **data), at - HOUR)
    wf.fire(case_id, "submit", Actor(Role.applicant), at)
    return case_id, at


def statuses(db: Engine, case_id: int) -> list[tuple[str, str, int]]:
    notes = repo.notifications
    with db.connect() as conn:
        return [(r.channel, r.status, r.attempts) for r in conn.execute(
            select(notes).where(notes.c.case_id == case_id).order_by(notes.c.id))]


def a_message(**changes: Any) -> Message:
    base: dict[str, Any] = dict(
        notification_id=7, key="zcflow-notification-7", channel="email", template="submitted",
        recipient_role="employer", recipient_name="杭州示范机电有限公司", address=EMPLOYER_MAIL,
        text="王伟的工程师（制造业）申报已提交。", subject="【职称】王伟的职称申报已提交（编号1）",
        html="<p>王伟的工程师（制造业）申报已提交。</p>",
        created_at=dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    base.update(changes)
    return Message(**base)


# ---- file ----------------------------------------------------------------------------------------

def test_file_channel_writes_eml_txt_and_json_once(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    first = channel.send(a_message())
    again = channel.send(a_message(text="changed"))
    assert not first.duplicate and again.duplicate and first.reference == again.reference
    eml = Path(first.reference or "")
    assert eml == tmp_path / "email" / "00000007-submitted.eml"
    parsed = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Message-ID"] == "<zcflow-notification-7@zcflow.local>"
    assert parsed["Subject"] == "【职称】王伟的职称申报已提交（编号1）"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert "王伟的工程师（制造业）申报已提交" in plain.get_content() and "<p>" in html.get_content()
    sms = Path(channel.send(a_message(channel="sms", notification_id=8, key="zcflow-notification-8",
                                      address=PHONE, html=None, subject=None)).reference or "")
    assert sms.suffix == ".txt"
    assert f"To: {PHONE}" in sms.read_text("utf-8") and "Segments: 1" in sms.read_text("utf-8")
    inapp = Path(channel.send(a_message(channel="inapp", notification_id=9, key="zcflow-notification-9",
                                        address=None)).reference or "")
    assert json.loads(inapp.read_text("utf-8"))["key"] == "zcflow-notification-9"
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and ".tmp" in p.relative_to(tmp_path).parts]


def test_the_default_configuration_is_the_file_channel(db: Engine, tmp_path: Path) -> None:
    chosen = transports_from_env({"ZCFLOW_OUTBOX_DIR": str(tmp_path / "out")})
    assert chosen.describe() == {"sms": "file", "email": "file", "inapp": "inapp"}
    case_id, at = submitted(db)
    report = deliver(db, at + HOUR, transports=chosen)
    assert report.sent == 2
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
                   if p.is_file())
    assert files == ["email/00000002-submitted.eml", "sms/00000001-submitted.txt"]
    sms = (tmp_path / "out/sms/00000001-submitted.txt").read_text("utf-8")
    assert "【杭州人社】王伟：您的工程师（制造业）申报已提交" in sms
    assert statuses(db, case_id) == [("sms", "sent", 1), ("email", "sent", 1)]


@pytest.mark.parametrize(("env", "field"), [
    ({"ZCFLOW_SMTP_HOST": "127.0.0.1", "ZCFLOW_SMTP_PORT": "smtp"}, "ZCFLOW_SMTP_PORT"),
    ({"ZCFLOW_EMAIL_CHANNEL": "pigeon"}, "ZCFLOW_EMAIL_CHANNEL"),
    ({"ZCFLOW_EMAIL_CHANNEL": "smtp"}, "ZCFLOW_SMTP_HOST"),
    ({"ZCFLOW_SMS_URL": "gateway.example"}, "ZCFLOW_SMS_URL"),
    ({"ZCFLOW_SMS_URL": "http://127.0.0.1:9/sms", "ZCFLOW_SMS_TIMEOUT": "-1"}, "ZCFLOW_SMS_TIMEOUT"),
    ({"ZCFLOW_SMTP_FROM": "zcflow"}, "ZCFLOW_SMTP_FROM"),
])
def test_bad_channel_configuration_names_the_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(ChannelConfigError, match=f"^{field}: "):
        transports_from_env(env)


def test_configuration_picks_smtp_and_the_sms_gateway() -> None:
    chosen = transports_from_env({"ZCFLOW_SMTP_HOST": "127.0.0.1", "ZCFLOW_SMTP_SECURITY": "starttls",
                                  "ZCFLOW_SMS_URL": "http://127.0.0.1:8025/sms", "ZCFLOW_SMS_TOKEN": "t"})
    assert chosen.describe() == {"sms": "sms_http", "email": "smtp", "inapp": "inapp"}
    assert isinstance(chosen.email, SmtpChannel) and chosen.email.port == 587
    assert chosen.email.may_duplicate and chosen.sms.may_duplicate
    memory = transports_from_env({"ZCFLOW_SMS_CHANNEL": "memory", "ZCFLOW_EMAIL_CHANNEL": "memory"})
    assert memory.sms is memory.email and not memory.sms.may_duplicate


def test_mobile_numbers_are_normalised() -> None:
    assert [normalise_phone(p) for p in ("138 0013 8000", "+86-13800138000", "8613800138000", "0571-85257157",
                                         "1380013800")] == [PHONE, PHONE, PHONE, None, None]


# ---- SMTP ----------------------------------------------------------------------------------------

@dataclass
class Mailbox:
    """aiosmtpd handler: keeps what arrives; refuses recipients listed in `refuse`."""

    received: list[Envelope] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def test_smtp_delivers_a_rendered_email_end_to_end(db: Engine, smtp_server: tuple[Mailbox, int]) -> None:
    box, port = smtp_server
    case_id, at = submitted(db)
    chosen = transports_from_env({"ZCFLOW_SMTP_HOST": "127.0.0.1", "ZCFLOW_SMTP_PORT": str(port),
                                  "ZCFLOW_SMTP_FROM": "zhigai@hz.example.cn", "ZCFLOW_SMS_CHANNEL": "memory"})
    report = deliver(db, at + HOUR, transports=chosen)
    assert (report.sent, report.failed) == (2, 0)
    (envelope,) = box.received
    assert envelope.mail_from == "zhigai@hz.example.cn" and envelope.rcpt_tos == [EMPLOYER_MAIL]
    content = envelope.original_content
    assert isinstance(content, bytes)
    mail = email.message_from_bytes(content, policy=default_policy)
    assert isinstance(mail, EmailMessage)
    assert mail["Message-ID"] == "<zcflow-notification-2@hz.example.cn>"
    assert mail["X-Zcflow-Notification"] == "2"
    assert mail["Subject"] == ("【2025上半年度杭州市制造业领域国际职业资格比照认定职称】"
                               "王伟的职称申报已提交（编号1）")
    assert mail["To"].addresses[0].display_name == "杭州示范机电有限公司"
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert "贵单位王伟的工程师（制造业）申报已于2025年3月20日提交" in text
    assert "单位网上审核推荐截止时间为2025年4月14日" in text
    assert "杭州市经信局职改办，地址：杭州市上城区解放东路18号市民中心B座612，电话：85257157" in text
    assert "<table" in html.get_content() and "85257157" in html.get_content()
    assert statuses(db, case_id) == [("sms", "sent", 1), ("email", "sent", 1)]


def test_smtp_refusing_the_recipient_fails_the_row(db: Engine, smtp_server: tuple[Mailbox, int]) -> None:
    box, port = smtp_server
    box.refuse[EMPLOYER_MAIL] = "550 5.1.1 mailbox unavailable"
    _, at = submitted(db)
    chosen = Transports(sms=SmtpChannel("127.0.0.1", port), email=SmtpChannel("127.0.0.1", port))
    report = deliver(db, at + HOUR, transports=chosen)
    # the SMS row has no address for an email transport either: both fail at once, neither retries
    assert (report.failed, report.retried) == (2, 0)
    errors = {e["channel"]: e["error"] for e in report.errors}
    assert "550" in errors["email"] and "mailbox unavailable" in errors["email"]
    assert not box.received


def test_an_unreachable_smtp_server_is_retried(db: Engine) -> None:
    case_id, at = submitted(db)
    port = free_port()  # nothing listens there
    chosen = transports_from_env({"ZCFLOW_SMTP_HOST": "127.0.0.1", "ZCFLOW_SMTP_PORT": str(port),
                                  "ZCFLOW_SMTP_TIMEOUT": "2", "ZCFLOW_SMS_CHANNEL": "memory"})
    report = deliver(db, at + HOUR, transports=chosen)
    assert (report.sent, report.retried, report.failed) == (1, 1, 0)
    assert statuses(db, case_id) == [("sms", "sent", 1), ("email", "pending", 1)]


def test_smtp_without_an_address_is_a_permanent_error() -> None:
    with pytest.raises(PermanentChannelError, match="no email address on file for employer"):
        SmtpChannel("127.0.0.1", 9).send(a_message(address=None))
    with pytest.raises(PermanentChannelError, match="is not valid"):
        SmtpChannel("127.0.0.1", 9).send(a_message(address="not an address@@"))


# ---- HTTP SMS gateway ----------------------------------------------------------------------------

@dataclass
class Gateway:
    """A test SMS gateway: answers 503 to the first `fail` requests; holds the first `hold` requests
    until `release` is set (so the client times out); de-duplicates on request_id like a real one."""

    fail: int = 0
    hold: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append(body)
                state.headers.append(dict(self.headers))
                n = len(state.requests)
            if n <= state.hold:
                state.release.wait(timeout=10)
            if n <= state.fail:
                self._answer(503, {"error": "busy"})
                return
            if body.get("phone") == "13900000000":
                self._answer(400, {"error": "number barred"})
                return
            with state.lock:
                state.sent.setdefault(body["request_id"], body)
            self._answer(200, {"message_id": f"gw-{body['request_id']}"})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def sms_env(url: str, **extra: str) -> dict[str, str]:
    return {"ZCFLOW_SMS_URL": url, "ZCFLOW_SMS_TOKEN": "s3cret", "ZCFLOW_EMAIL_CHANNEL": "memory", **extra}


def test_sms_gateway_receives_the_rendered_sms(db: Engine, gateway: tuple[Gateway, str]) -> None:
    state, url = gateway
    case_id, at = submitted(db, phone="138-0013-8000")
    report = deliver(db, at + HOUR, transports=transports_from_env(sms_env(url)))
    assert (report.sent, report.failed) == (2, 0)
    (body,) = state.requests
    assert body["phone"] == PHONE and body["request_id"] == "zcflow-notification-1"
    assert body["template"] == "submitted" and body["notification_id"] == 1
    text, link = body["content"].split(" 进度：")
    assert text == ("【杭州人社】王伟：您的工程师（制造业）申报已提交（编号1），待单位审核，4月14日截止。"
                    "咨询电话85257157")
    # Every SMS to an applicant ends with its status page's link (CONTRACT §11).
    assert link.startswith("http://127.0.0.1:8000/s/")
    assert read_token(link_key(db), link.rsplit("/", 1)[1], at + HOUR) == (case_id, "ok")
    assert state.headers[0]["Idempotency-Key"] == "zcflow-notification-1"
    assert state.headers[0]["Authorization"] == "Bearer s3cret"
    assert state.headers[0]["Content-Type"].startswith("application/json")
    assert statuses(db, case_id) == [("sms", "sent", 1), ("email", "sent", 1)]


def test_sms_gateway_5xx_answers_are_retried_until_delivered_once(db: Engine,
                                                                   gateway: tuple[Gateway, str]) -> None:
    state, url = gateway
    state.fail = 2
    case_id, at = submitted(db)
    chosen = transports_from_env(sms_env(url))
    t = at + HOUR
    assert deliver(db, t, transports=chosen).retried == 1
    assert deliver(db, t + MINUTE, transports=chosen).retried == 1
    report = deliver(db, t + 3 * MINUTE, transports=chosen)
    assert report.sent == 1
    assert len(state.requests) == 3 and len(state.sent) == 1
    assert statuses(db, case_id)[0] == ("sms", "sent", 3)


def test_sms_gateway_timeout_is_retried_with_the_same_request_id(db: Engine,
                                                                   gateway: tuple[Gateway, str]) -> None:
    """The first request reaches the gateway but its answer comes too late: the client gives up, the
    row is retried with the same request_id, and the gateway (de-duplicating on it) sends one SMS."""
    state, url = gateway
    state.hold = 1
    case_id, at = submitted(db)
    chosen = transports_from_env(sms_env(url, ZCFLOW_SMS_TIMEOUT="0.3"))
    first = deliver(db, at + HOUR, transports=chosen)
    assert first.retried == 1 and "timed out" in first.errors[0]["error"]
    state.release.set()
    report = deliver(db, at + HOUR + MINUTE, transports=chosen)
    assert report.sent == 1
    assert [r["request_id"] for r in state.requests] == ["zcflow-notification-1"] * 2
    assert len(state.sent) == 1
    assert statuses(db, case_id)[0] == ("sms", "sent", 2)


def test_sms_gateway_refusal_and_a_missing_phone_fail_at_once(db: Engine, gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    barred, at = submitted(db, phone="13900000000")
    report = deliver(db, at + HOUR, transports=transports_from_env(sms_env(url)))
    assert (report.failed, report.retried) == (1, 0)
    assert "HTTP 400" in report.errors[0]["error"] and "number barred" in report.errors[0]["error"]
    channel = SmsHttpChannel(url, timeout=2)
    with pytest.raises(PermanentChannelError, match="no mobile phone number on file for applicant 王伟"):
        channel.send(a_message(channel="sms", recipient_role="applicant", recipient_name="王伟", address=None))
    with pytest.raises(PermanentChannelError, match="is not a mobile phone number"):
        channel.send(a_message(channel="sms", address="0571-85257157"))
    assert statuses(db, barred)[0] == ("sms", "failed", 1)


def test_an_unreachable_sms_gateway_is_transient() -> None:
    channel = SmsHttpChannel(f"http://127.0.0.1:{free_port()}/sms", timeout=2)
    with pytest.raises(TransientChannelError, match="SMS gateway"):
        channel.send(a_message(channel="sms", address=PHONE))


def test_retry_policy_validates_itself() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)

"""Finding: a password could be changed only by editing the users table, and there was no way to
disable a user. `zcflow user passwd|disable|enable|unlock`, each in the audit log."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from storage.audit import audit_entries
from tests.cli_support import zcflow
from tests.web_support import fast_hashing
from workflow.clock import now
from workflow.web import throttle
from workflow.web.users import authenticate, create_user

PASSWORD = "correct horse 42"
NEW = "another long passphrase"


@pytest.fixture
def db_with_user(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    fast_hashing(monkeypatch)
    create_user(db, "dept_sc", PASSWORD, "department", {"district": "上城区"}, now())
    return db


def actions(db: Engine) -> list[tuple[str, str]]:
    with db.connect() as conn:
        return [(e.action, e.subject) for e in reversed(audit_entries(conn))]


def test_passwd_disable_enable(db_with_user: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    db = db_with_user
    code, out, _ = zcflow(monkeypatch, capsys, "user", "passwd", "dept_sc", "--password", NEW, "--database", db_url)
    assert code == 0 and "sessions and tokens have ended" in out
    assert authenticate(db, "dept_sc", NEW) is not None and authenticate(db, "dept_sc", PASSWORD) is None
    assert zcflow(monkeypatch, capsys, "user", "disable", "dept_sc", "--database", db_url)[0] == 0
    assert authenticate(db, "dept_sc", NEW) is None
    code, out, _ = zcflow(monkeypatch, capsys, "user", "list", "--database", db_url, "--json")
    assert code == 0 and json.loads(out)[0]["disabled"] is True
    assert zcflow(monkeypatch, capsys, "user", "enable", "dept_sc", "--database", db_url)[0] == 0
    assert authenticate(db, "dept_sc", NEW) is not None
    assert actions(db) == [("user_add", "dept_sc"), ("user_password_reset", "dept_sc"),
                           ("user_disable", "dept_sc"), ("user_enable", "dept_sc")]


@pytest.mark.parametrize(("args", "message"), [
    (["passwd", "dept_sc", "--password", "12345678"], "error [invalid_input]: password: 密码至少 12 个字符"),
    (["passwd", "dept_sc", "--password", "dept_sc-and-more"], "error [invalid_input]: password: 密码不能包含用户名"),
    (["passwd", "nobody", "--password", NEW], "error [not_found]: username: no user 'nobody'"),
    (["disable", "nobody"], "error [not_found]: username: no user 'nobody'"),
    (["unlock"], "error: USERNAME or --address: give one of them"),
])
def test_bad_input_exits_2_naming_the_field(db_with_user: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = zcflow(monkeypatch, capsys, "user", *args, "--database", db_url)
    assert (code, err.strip()) == (2, message)


def test_unlock_lifts_a_lockout(db_with_user: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    db = db_with_user
    with db.begin() as conn:
        for _ in range(throttle.LOCK_AFTER["user"]):
            throttle.record_failure(conn, [throttle.user_key("dept_sc")], throttle.wall_now(), audit_at=now())
    code, out, _ = zcflow(monkeypatch, capsys, "user", "list", "--database", db_url, "--json")
    assert json.loads(out)[0]["locked"] is True
    code, out, _ = zcflow(monkeypatch, capsys, "user", "unlock", "dept_sc", "--database", db_url)
    assert (code, out.strip()) == (0, "dept_sc unlocked")
    assert throttle.locked_keys(db) == {}
    assert actions(db)[-2:] == [("login_lockout", "dept_sc"), ("login_unlock", "dept_sc")]
    code, out, _ = zcflow(monkeypatch, capsys, "user", "unlock", "--address", "10.0.0.9", "--database", db_url)
    assert (code, out.strip()) == (0, "10.0.0.9 was not locked")


def test_every_user_command_records_its_at(db_with_user: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """CONTRACT §3: every command that writes takes --at, the time it records (here in the audit log)."""
    at = "2026-12-01T09:30:00+08:00"
    for args in (["add", "dept_bj", "--role", "department", "--scope", "district=滨江区", "--password", PASSWORD],
                 ["passwd", "dept_bj", "--password", NEW], ["disable", "dept_bj"], ["enable", "dept_bj"]):
        code, _, err = zcflow(monkeypatch, capsys, "user", *args, "--at", at, "--database", db_url)
        assert code == 0, err
    with db_with_user.connect() as conn:
        mine = [e for e in audit_entries(conn) if e.subject == "dept_bj"]
    assert len(mine) == 4 and {e.at.isoformat() for e in mine} == {"2026-12-01T01:30:00+00:00"}
    code, _, err = zcflow(monkeypatch, capsys, "user", "disable", "dept_bj", "--at", "next tuesday",
                          "--database", db_url)
    assert code == 2 and "--at" in err

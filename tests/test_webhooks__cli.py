"""`zcflow webhook add|list|test|events|retry|remove` (CONTRACT §11): bad input exits 2 naming the
argument; adding and removing are audited; `test` sends one signed ping and exits 1 when the
receiver does not take it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from storage.audit import audit_entries
from storage.db import make_engine
from tests.cli_support import zcflow
from tests.webhook_receiver import SECRET, Receiver, closed_port_url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_webhook_commands(db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        return zcflow(monkeypatch, capsys, "webhook", *args, "--database", db_url)

    code, _, err = run("add", "ftp://x", "--secret", SECRET)
    assert code == 2 and "URL" in err
    code, _, err = run("add", receiver.url, "--secret", "short")
    assert code == 2 and "--secret" in err
    code, _, err = run("add", receiver.url, "--secret", SECRET, "--policy", "no-such-policy")
    assert code == 2 and "--policy" in err and "no-such-policy" in err

    code, out, _ = run("add", receiver.url, "--secret", SECRET, "--policy", "hz-recognition-2025h1", "--json")
    assert code == 0
    first = json.loads(out)["id"]
    code, out, _ = run("add", closed_port_url(), "--secret", SECRET, "--json")
    down = json.loads(out)["id"]
    code, out, _ = run("list", "--json")
    listed = json.loads(out)
    assert [(w["id"], w["policies"]) for w in listed] == [(first, ["hz-recognition-2025h1"]), (down, [])]

    code, out, _ = run("test", str(first))
    assert code == 0 and "accepted" in out
    assert receiver.bad_signatures == 0 and receiver.events()[0]["action"] == "ping"
    code, out, _ = run("test", str(down))
    assert code == 1 and "no answer" in out

    code, out, _ = run("events", "--status", "failed", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run("events", "--status", "lost")
    assert code == 2 and "--status" in err
    code, out, _ = run("retry", "--json")
    assert code == 0 and json.loads(out) == {"requeued": 0}

    code, _, err = run("remove", "999")
    assert code == 2 and "999" in err
    code, out, _ = run("remove", str(down))
    assert code == 0 and "removed" in out
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            acts = [(e.action, e.subject) for e in audit_entries(conn)]
    finally:
        engine.dispose()
    assert ("webhook_remove", f"webhook {down}") in acts and ("webhook_add", f"webhook {first}") in acts

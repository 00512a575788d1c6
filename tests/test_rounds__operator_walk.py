"""The README's operator walk (issue 14 "Done when"), command by command as an operator types it:
write hz-recognition-2027h1 from the 2025 H1 file (seed 001), check it and see the Sunday cutoff
(2027-05-30, seed 001 §四's date two years on), import it with a 2027 calendar (the made-up test
file: not the State Council's), file cases, extend the employer cutoff by a week with a 文号 after a
dry run — an approval in the extra week goes through and the employers are notified — then a second
amendment with --reinstate brings back the cases that expired at the management cutoff."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli_support import zcflow
from tests.filings import filing

DATA = Path(__file__).parent / "data" / "calendar" / "made-up-2027.yaml"
PID = "hz-recognition-2027h1"


def move_cutoff(text: str, name: str, new: str) -> str:
    out, n = re.subn(rf"(- name: {name}\n(?:    .*\n)*?    date: )\S+", rf"\g<1>{new}", text)
    assert n == 1
    return out


def test_the_operator_walk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                           tmp_path: Path) -> None:
    monkeypatch.setenv("ZCFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'zcflow.db'}")
    monkeypatch.setenv("ZCFLOW_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> str:
        code, out, err = zcflow(monkeypatch, capsys, *args)
        assert code == 0, (args, out, err)
        return out

    # 1. write the new round from the 2025 H1 file; the operator replaces the dates
    run("policy", "new", PID, "--from", "hz-recognition-2025h1", "--out", "round.yaml")
    text = (tmp_path / "round.yaml").read_text(encoding="utf-8")
    text = text.replace("2025-", "2027-").replace("name: 2025上半年度", "name: 2027上半年度")
    (tmp_path / "round.yaml").write_text(text, encoding="utf-8")

    # 2. check: the paper cutoff 2027-05-30 is a Sunday; 2027 is not known yet
    out = run("policy", "check", "round.yaml")
    assert "warning [cutoff_not_working_day]" in out and "2027-05-30, a Sunday" in out
    assert "warning [unknown_year]" in out
    code, _, err = zcflow(monkeypatch, capsys, "policy", "import", "round.yaml", "--at", "2027-02-24T09:00")
    assert code == 2 and "unknown_year" in err and "calendar import" in err

    # 3. import the 2027 calendar, then the round
    run("calendar", "import", str(DATA))
    out = run("policy", "check", "round.yaml")
    assert "unknown_year" not in out and "2027-05-30, a Sunday" in out
    run("policy", "import", "round.yaml", "--document", "杭经信职改〔2027〕1号", "--at", "2027-02-24T09:00")

    # 4. file cases: two wait for their employer, two are approved and reach management review
    ids = []
    for serial in range(1, 5):
        path = tmp_path / f"a{serial}.json"
        path.write_text(json.dumps(filing("hz-recognition-2025h1", serial).model_dump(mode="json"),
                                   ensure_ascii=False), encoding="utf-8")
        out = run("case", "new", "--policy", PID, str(path), "--at", "2027-03-19T09:00", "--json")
        ids.append(str(json.loads(out)["case"]))
    for case in ids:
        run("case", "act", case, "submit", "--as", "applicant", "--at", "2027-03-22T10:00")
    for case in ids[2:]:
        run("case", "act", case, "employer_approve", "--as", "employer", "--at", "2027-03-23T10:00")
    run("tick", "--at", "2027-04-01T00:00")

    # 5. extend the employer cutoff by a week (04-14 → 04-21): dry run first, then for real
    extended = move_cutoff(text, "employer", "2027-04-21")
    (tmp_path / "round-v2.yaml").write_text(extended, encoding="utf-8")
    args = ("policy", "import", "round-v2.yaml", "--document", "杭经信职改〔2027〕5号", "--reason",
            "省平台系统升级，单位审核延期一周", "--at", "2027-04-12T09:00", "--as", "city")
    dry = json.loads(run(*args, "--dry-run", "--json"))
    assert dry["dry_run"] and dry["deadline_moved"] == 2 and dry["amended"] == 4
    assert json.loads(run("policy", "history", PID, "--json"))[-1]["version"] == 1  # nothing written
    out = run(*args)
    assert "v1 → v2" in out and "employer_review" in out
    # the old cutoff passes; an approval in the extra week goes through
    run("tick", "--at", "2027-04-15T00:00:01")
    out = run("case", "act", ids[0], "employer_approve", "--as", "employer", "--at", "2027-04-16T10:00")
    assert "employer_notice" in out
    notes = json.loads(run("notifications", "--json"))
    amended = {(n["case"], n["recipient_role"]) for n in notes if n["template"] == "amended"}
    assert amended == {(int(c), r) for c in ids[:2] for r in ("applicant", "employer")}

    # 6. the management cutoff (04-30) expires the cases still in management review
    run("tick", "--at", "2027-05-01T00:00:01")
    states = {c: json.loads(run("case", "show", c, "--json"))["state"] for c in ids[2:]}
    assert set(states.values()) == {"expired"}

    # 7. a second amendment moves it to 05-14 and --reinstate brings them back
    second = move_cutoff(extended, "management", "2027-05-14")
    (tmp_path / "round-v3.yaml").write_text(second, encoding="utf-8")
    out = run("policy", "import", "round-v3.yaml", "--document", "杭经信职改〔2027〕8号", "--reinstate",
              "--at", "2027-05-06T09:00", "--as", "city")
    assert "reinstated to management_review: 2" in out
    for case in ids[2:]:
        shown = json.loads(run("case", "show", case, "--json"))
        assert shown["state"] == "management_review"
        assert shown["history"][-1]["action"] == "reinstate"
    history = json.loads(run("policy", "history", PID, "--json"))
    assert [(h["version"], h["document"]) for h in history] == [
        (1, "杭经信职改〔2027〕1号"), (2, "杭经信职改〔2027〕5号"), (3, "杭经信职改〔2027〕8号")]
    diff = run("policy", "diff", PID, "1", "2")
    assert "-    date: 2027-04-14" in diff and "+    date: 2027-04-21" in diff

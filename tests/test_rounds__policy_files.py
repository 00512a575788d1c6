"""Writing the next round's file (CONTRACT §9): `policy new` writes a file that imports on its own,
`policy schema` publishes the JSON Schema, `policy check` exits 2 on an error naming file, line and
field, and prints each warning (exit 0) with its line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from states.policy import POLICY_DIR, POLICY_IDS, get_policy, parse_policy
from tests.cli_support import zcflow
from workflow.policy_files import bundled_text, check_text, json_schema, starting_file
from workflow.policy_registry import calendar_of

Cap = pytest.CaptureFixture[str]


def trial() -> str:
    """Seed 001's round as `policy new` writes it, under a new id."""
    text = bundled_text("hz-recognition-2025h1")
    assert text is not None
    return starting_file(text, "hz-trial-2025h1", "hz-recognition-2025h1", POLICY_DIR)


def codes(text: str) -> list[tuple[str, int | None]]:
    report = check_text(text, "trial.yaml", calendar_of)
    assert report.ok, report.lines()
    return [(w.code, w.line) for w in report.warnings]


def line_no(text: str, fragment: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[:text.index(fragment, start)].count("\n") + 1


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policy_new_writes_a_file_that_imports_on_its_own(policy_id: str) -> None:
    text = bundled_text(policy_id)
    assert text is not None
    written = starting_file(text, "new-round-2027", policy_id, POLICY_DIR)
    new = parse_policy(written, "new-round-2027.yaml")  # no directory: nothing beside it is read
    old = get_policy(policy_id)
    assert new.id == "new-round-2027"
    assert new.catalogue == old.catalogue and new.committee_table == old.committee_table
    assert (new.platform, new.sms_sign, new.certificate) == (old.platform, old.sms_sign, old.certificate)
    first_comment = next(line for line in text.splitlines() if line.startswith("#"))
    assert first_comment in written  # the seed citations (comments) are kept


def test_the_platform_signature_and_certificate_wording_come_from_the_file() -> None:
    """Seed 001 §三 / 002 §二.1: the provincial platform; seed 004 第四条: Wuxi names none."""
    hz, wx = get_policy("hz-recognition-2025h1"), get_policy("wx-recognition-2022")
    assert (hz.platform.short, hz.sms_sign) == ("省平台", "杭州人社")
    assert hz.certificate.issuer == "杭州市人力资源和社会保障局"
    assert (wx.platform.url, wx.sms_sign) == (None, "无锡人社")
    text = trial().replace("sms_sign: 杭州人社", "sms_sign: 萧山人社").replace("short: 省平台", "short: 萧山平台")
    xs = parse_policy(text, "x.yaml")
    from notifications.context import platform, sms_sign

    assert (sms_sign(xs), platform(xs)["short"]) == ("萧山人社", "萧山平台")


def test_schema_command_prints_a_json_schema(monkeypatch: pytest.MonkeyPatch, capsys: Cap) -> None:
    code, out, _ = zcflow(monkeypatch, capsys, "policy", "schema")
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].endswith("2020-12/schema")
    assert {"platform", "sms_sign", "certificate", "catalogue", "cutoffs", "state_map"} <= set(schema["properties"])
    assert schema == json_schema()


def test_new_and_check_on_the_command_line(monkeypatch: pytest.MonkeyPatch, capsys: Cap, tmp_path: Path) -> None:
    target = tmp_path / "hz-trial-2025h1.yaml"
    code, out, err = zcflow(monkeypatch, capsys, "policy", "new", "hz-trial-2025h1", "--from",
                            "hz-recognition-2025h1", "--out", str(target))
    assert code == 0, err
    code, out, err = zcflow(monkeypatch, capsys, "policy", "check", str(target))
    assert code == 0 and "is valid; 0 warning(s)" in out, out + err
    code, _, err = zcflow(monkeypatch, capsys, "policy", "new", "hz-trial-2025h1", "--from",
                          "hz-recognition-2025h1", "--out", str(target))
    assert code == 2 and "--force" in err


def test_check_error_names_file_line_and_field(monkeypatch: pytest.MonkeyPatch, capsys: Cap, tmp_path: Path) -> None:
    text = trial()
    target = tmp_path / "broken.yaml"
    target.write_text(text.replace("    date: 2025-04-14", "    date: 2025-04-31"), encoding="utf-8")
    code, out, err = zcflow(monkeypatch, capsys, "policy", "check", str(target))
    assert code == 2 and "broken.yaml" in err and "line" in err and "2025-04-31" in err
    target.write_text(text.replace("  - name: employer\n    label", "  - name: employer\n    lable"),
                      encoding="utf-8")
    code, out, err = zcflow(monkeypatch, capsys, "policy", "check", str(target), "--json")
    report = json.loads(out)
    assert code == 2 and not report["ok"]
    [error] = report["errors"]
    assert error["field"].startswith("cutoffs[1]") and error["line"] == line_no(text, "- name: employer")
    assert "Traceback" not in err


def test_warning_a_cutoff_on_a_sunday() -> None:
    """2025-05-30 (seed 001 §四) is a Friday; moved to Sunday 2025-06-01 it warns, with its line."""
    text = trial().replace("date: 2025-05-30", "date: 2025-06-01")
    assert ("cutoff_not_working_day", line_no(text, "date: 2025-06-01")) in codes(text)


def test_warning_cutoffs_out_of_order() -> None:
    text = trial().replace("date: 2025-04-30", "date: 2025-04-10")
    assert ("cutoffs_out_of_order", line_no(text, "date: 2025-04-10")) in codes(text)


def test_warning_filing_window_after_the_employer_cutoff() -> None:
    text = trial().replace("  closes: 2025-03-31", "  closes: 2025-04-16")
    found = codes(text)
    assert ("window_after_employer_cutoff", line_no(text, "closes: 2025-04-16")) in found


def test_warning_a_notice_that_cannot_fit_before_the_next_cutoff() -> None:
    """Filed on 03-31 and approved at once, a 5-working-day notice ends on 04-08: a 04-03 employer
    cutoff leaves it no room."""
    text = trial().replace("date: 2025-04-14", "date: 2025-04-03")
    assert "notice_cannot_fit" in [c for c, _ in codes(text)]


def test_warning_a_district_both_covered_and_excluded() -> None:
    text = trial().replace("all_except: [高新区（滨江）, 萧山区,", "all_except: [高新区（滨江）, 上城区, 萧山区,")
    found = codes(text)
    assert ("district_covered_and_excluded", line_no(text, "district: 上城区")) in found


def test_warning_a_duplicated_catalogue_row() -> None:
    text = trial()
    rows = text[text.index("\ncatalogue:"):]
    first = rows[rows.index("  - 'no': 1"):rows.index("  - 'no': 2")]
    text = text.rstrip("\n") + "\n" + first.replace("'no': 1", "'no': 10")
    found = codes(text)
    assert ("duplicate_catalogue_row", line_no(text, "'no': 10")) in found


def test_warning_a_committee_that_covers_nothing() -> None:
    text = bundled_text("hz-recognition-2022")
    assert text is not None
    written = starting_file(text, "hz-trial-2022", "hz-recognition-2022", POLICY_DIR)
    written = written.replace("only:\n      - 拱墅区", "only: []", 1)
    found = codes(written)
    assert "committee_covers_nothing" in [c for c, _ in found]


def test_warning_a_year_the_calendar_does_not_know() -> None:
    text = trial().replace("2025-", "2031-")
    found = codes(text)
    assert ("unknown_year", line_no(text, "date: 2031-03-31")) in found


def test_the_bundled_rounds_have_no_warnings() -> None:
    for policy_id in POLICY_IDS:
        text = bundled_text(policy_id)
        assert text is not None
        found = codes(starting_file(text, f"{policy_id}-copy", policy_id, POLICY_DIR))
        assert found == [], (policy_id, found)


def test_check_simulate_runs_a_generated_round(monkeypatch: pytest.MonkeyPatch, capsys: Cap, tmp_path: Path) -> None:
    target = tmp_path / "trial.yaml"
    target.write_text(trial(), encoding="utf-8")
    code, out, err = zcflow(monkeypatch, capsys, "policy", "check", str(target), "--simulate", "30", "--json")
    assert code == 0, err
    sim = json.loads(out)["simulation"]
    assert sim["cases"] == 30 and sum(sim["final_states"].values()) == 30
    assert sim["ok"], sim["failures"]
    assert re.fullmatch(r"[a-z_]+", next(iter(sim["final_states"])))

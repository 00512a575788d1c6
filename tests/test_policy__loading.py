"""Policies are data files validated on load; a broken file names the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from states.machine import machine_for, mermaid_diagram
from states.policy import POLICY_DIR, PolicyError, load_policies, policies


def test_the_five_contract_policies_load() -> None:
    assert list(policies()) == ["hz-recognition-2025h1", "yh-recognition-2024", "lp-assessment-2022",
                                "hz-recognition-2022", "wx-recognition-2022"]


@pytest.mark.parametrize(("policy_id", "rows"), [("hz-recognition-2022", 45), ("hz-recognition-2025h1", 9),
                                                  ("yh-recognition-2024", 10), ("wx-recognition-2022", 61),
                                                  ("lp-assessment-2022", 0)])
def test_catalogue_sizes_match_the_seeds(policy_id: str, rows: int) -> None:
    assert len(policies()[policy_id].catalogue.rows) == rows


def test_seed_001_cutoffs() -> None:
    """Seed 001 §二 and §四: filing 03-31, employer 04-14, management 04-30, paper 05-30."""
    p = policies()["hz-recognition-2025h1"]
    assert [(c.name, c.date.isoformat()) for c in p.cutoffs] == [
        ("filing", "2025-03-31"), ("employer", "2025-04-14"), ("management", "2025-04-30"),
        ("paper", "2025-05-30")]


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target


BREAKAGES = [
    ("hz-recognition-2025h1.yaml", "reference_date: 2025-06-30", "reference_date: 2025-06-31",
     "hz-recognition-2025h1.yaml", "reference_date"),
    ("hz-recognition-2025h1.yaml", "track: recognition", "track: recogniton", "hz-recognition-2025h1.yaml",
     "track"),
    ("yh-recognition-2024.yaml", "    ends: [draft]", "    ends: [drafting]", "yh-recognition-2024.yaml",
     "ends"),
    ("lp-assessment-2022.yaml", "qualification_notice: {working_days: 5", "qualification_notice: {working_days: 0",
     "lp-assessment-2022.yaml", "notices.qualification_notice.working_days"),
    ("catalogues/wx-recognition-2022.yaml", "title: 助理工程师", "title: 技术员", "wx-recognition-2022.yaml",
     "rows[17].title"),
    ("hangzhou-committees.yaml", "series: 医药工程", "serie: 医药工程", "hangzhou-committees.yaml",
     "committees[2]"),
    ("wx-recognition-2022.yaml", "stages: [draft, employer_review,", "stages: [draft, employer_reveiw,",
     "wx-recognition-2022.yaml", "stages[1]"),
    ("hz-recognition-2022.yaml", "id: hz-recognition-2022", "id: [broken", "hz-recognition-2022.yaml", "line"),
]


@pytest.mark.parametrize(("file", "old", "new", "named_file", "named_field"), BREAKAGES,
                         ids=[b[3] + ":" + b[4] for b in BREAKAGES])
def test_a_broken_file_names_file_and_field(policy_copy: Path, file: str, old: str, new: str, named_file: str,
                                            named_field: str) -> None:
    path = policy_copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(policy_copy)
    assert info.value.file == named_file
    assert named_field in info.value.field or named_field in str(info.value)


def test_one_shared_machine_per_policy() -> None:
    p = policies()["lp-assessment-2022"]
    assert machine_for(p) is machine_for(p)
    assert machine_for(p).machine.models == []  # it never holds cases


def test_diagram_shows_every_stage_of_linping() -> None:
    text = mermaid_diagram(policies()["lp-assessment-2022"])
    assert text.startswith("---") or "stateDiagram" in text
    for stage in policies()["lp-assessment-2022"].stages:
        assert stage in text

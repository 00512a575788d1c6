"""Reading a filing (CONTRACT §5 input; §7: bad input gets a message naming what is wrong, a resident ID
checked as GB 11643 requires): parse_filing raises FilingError naming the field, and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from states.eligibility import FilingError, parse_filing

CONTRACT_EXAMPLE: dict[str, Any] = {
    "name": "王伟", "id_type": "resident_id", "id_number": "330102199001011234", "district": "上城区",
    "employer": "杭州示范机电有限公司", "specialty": "机电制造", "civil_servant": False,
    "education": [{"level": "bachelor", "graduated": "2015-07-01", "relevant": True}],
    "work_start": "2015-07-15", "certificate": {"entry": 5, "obtained": "2021-05-10"},
}
LINPING_EXTRAS: dict[str, Any] = {
    "route": "direct", "assistant_title": {"obtained": "2016-12-31"}, "credits_since_2019": 60,
    "appraisals": {"2019": "称职", "2020": "优秀", "2021": "称职"},
    "photo": {"format": "jpg", "bytes": 120000, "width": 300, "height": 420}, "statement": "本人述职……",
    "technician": {"obtained": "2018-05-01"}, "honours": ["national_technical_expert"],
    "achievements": ["papers", "key_project"],
}


def with_changes(**changes: Any) -> str:
    data = {**CONTRACT_EXAMPLE, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}, ensure_ascii=False)


def test_contract_examples_parse() -> None:
    filing = parse_filing(with_changes(**LINPING_EXTRAS))
    assert filing.education[0].level == "bachelor" and filing.certificate is not None
    assert filing.technician is not None and filing.honours == ["national_technical_expert"]


def test_unknown_fields_are_allowed() -> None:
    assert parse_filing(with_changes(notes="补充说明")).name == "王伟"


ERRORS = [
    ("impossible-graduation-date", with_changes(education=[{"level": "bachelor", "graduated": "2015-02-30"}]),
     "education[0].graduated: not a real date '2015-02-30'"),
    ("impossible-work-start", with_changes(work_start="2015-13-01"),
     "work_start: not a real date '2015-13-01'"),
    ("date-in-another-form", with_changes(work_start="2015/07/15"),
     "work_start: not a date in YYYY-MM-DD form: '2015/07/15'"),
    ("impossible-certificate-date", with_changes(certificate={"entry": 5, "obtained": "2021-02-29"}),
     "certificate.obtained: not a real date '2021-02-29'"),
    ("unknown-education-level", with_changes(education=[{"level": "phd", "graduated": "2015-07-01"}]),
     "education[0].level: unknown value 'phd'; expected one of 'college', 'bachelor', 'second_bachelor', "
     "'master' or 'doctorate'"),
    ("unknown-id-type", with_changes(id_type="driving_licence"),
     "id_type: unknown value 'driving_licence'; expected one of 'resident_id', 'hmt_permit', "
     "'foreign_work_permit' or 'passport'"),
    ("unknown-route", with_changes(route="fast"),
     "route: unknown value 'fast'; expected one of 'normal', 'direct', 'skilled' or 'exceptional'"),
    ("missing-name", with_changes(name=...), "name: required field is missing"),
    ("missing-work-start", with_changes(work_start=...), "work_start: required field is missing"),
    ("missing-graduation", with_changes(education=[{"level": "bachelor"}]),
     "education[0].graduated: required field is missing"),
    ("bad-check-digit", with_changes(id_number="330102199001011235"),
     "id_number: check digit is 5, expected 4"),
    ("short-id-number", with_changes(id_number="33010219900101"),
     "id_number: must have 18 characters, has 14"),
    ("id-birth-date-not-real", with_changes(id_number="330102199002301238"),
     "id_number: birth date 19900230 is not a real date"),
    ("certificate-without-entry-or-name", with_changes(certificate={"issuer": "PMI"}),
     "certificate: give `entry` (the catalogue 序号) or `name` (with `issuer`)"),
    ("entry-zero", with_changes(certificate={"entry": 0}),
     "certificate.entry: Input should be greater than or equal to 1 (got 0)"),
    ("negative-photo-size", with_changes(photo={"format": "jpg", "bytes": -1, "width": 300, "height": 420}),
     "photo.bytes: Input should be greater than or equal to 0 (got -1)"),
    ("not-json", "{\"name\": ", "(input): not JSON: Expecting value (line 1, column 10)"),
    ("empty-text", "", "(input): not JSON: Expecting value (line 1, column 1)"),
    ("json-array", "[]", "(input): must be a JSON object, not list"),
    ("json-null", "null", "(input): must be a JSON object, not NoneType"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_name_the_field(text: str, expected: str) -> None:
    with pytest.raises(FilingError) as caught:
        parse_filing(text)
    assert str(caught.value) == expected
    assert f"{caught.value.field}: {caught.value.message}" == expected
    assert isinstance(caught.value, ValueError)


def test_a_passport_number_is_not_checked_as_a_resident_id() -> None:
    assert parse_filing(with_changes(id_type="passport", id_number="e1234567")).id_number == "E1234567"


def test_a_lower_case_x_check_digit_is_accepted() -> None:
    # 11010519491231002X is the GB 11643 standard's own example.
    assert parse_filing(with_changes(id_number="11010519491231002x")).id_number == "11010519491231002X"


def test_all_problems_are_kept() -> None:
    with pytest.raises(FilingError) as caught:
        parse_filing(with_changes(name=..., work_start="2015-02-30"))
    assert [field for field, _ in caught.value.problems] == ["name", "work_start"]


@pytest.mark.parametrize("text", ["[" * 100_000, "1e999", "\"text\"", "{\"education\": 5}", "\ud800"],
                         ids=["deep-nesting", "huge-number", "json-string", "wrong-type", "lone-surrogate"])
def test_never_another_exception(text: str) -> None:
    with pytest.raises(FilingError):
        parse_filing(text)

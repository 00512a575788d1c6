"""GB 11643-1999 resident ID numbers: length, birth date, check digit (CONTRACT §7)."""

from __future__ import annotations

import pytest

from states.idcard import IdNumberError, check_digit, mask, validate_resident_id


@pytest.mark.parametrize(("first17", "digit"), [
    ("11010519491231002", "X"),  # the standard's own example
    ("44052419800101001", "3"),  # weighted sum 196, 196 mod 11 = 9 -> "3"
    ("33010219900101123", "4"),  # CONTRACT §5's example number
])
def test_check_digit(first17: str, digit: str) -> None:
    assert check_digit(first17) == digit
    assert validate_resident_id(first17 + digit) == first17 + digit


def test_lowercase_x_is_accepted_and_normalised() -> None:
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(("number", "problem"), [
    ("33010219900101123", "18 characters"),
    ("3301021990010112345", "18 characters"),
    ("33010219900101123A", "17 digits"),
    ("330102199002301234", "not a real date"),
    ("330102189901011234", "out of range"),
    ("330102199001011235", "check digit is 5, expected 4"),
])
def test_bad_numbers_say_what_is_wrong(number: str, problem: str) -> None:
    with pytest.raises(IdNumberError, match=problem):
        validate_resident_id(number)


def test_mask_never_shows_the_full_number() -> None:
    assert mask("330102199001011234") == "330*************34"
    assert "19900101" not in mask("330102199001011234")

"""The password policy, in the spirit of NIST SP 800-63B §5.1.1.2 (memorized secrets): length, not
composition rules. One policy for the form, the API and the CLI:

- at least :data:`MIN_LENGTH` characters, at most :data:`MAX_LENGTH` (every character counts, spaces
  included; a password of one repeated character is refused);
- not on the common-password list shipped with the package (``data/common-passwords.txt``), nor one
  of its entries with digits or punctuation added at either end, nor such an entry repeated;
- not containing the user name.

Messages are Chinese (they reach the pages); the field is always ``password``.
"""

from __future__ import annotations

import itertools
import re
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 128  # the one maximum: login form, API token request, user forms, CLI
COMMON_LIST = Path(__file__).parent / "data" / "common-passwords.txt"


class PasswordRejected(ValueError):
    """The password breaks the policy; the message says which rule, in Chinese."""

    field = "password"


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _cores(password: str) -> set[str]:
    """The password and what remains of it without digits and punctuation at either end, lower case;
    also the unit of a repetition (``abcabcabcabc`` → ``abc``)."""
    low = password.lower()
    found = {low, low.strip(), re.sub(r"^[\W\d_]+|[\W\d_]+$", "", low)}
    repeated = re.fullmatch(r"(.+?)\1+", low)
    if repeated:
        found.add(repeated[1])
    return {f for f in found if f}


def _sequence(text: str) -> bool:
    """A run of consecutive characters up or down (digits wrap: …8901…)."""
    steps = {(ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
             for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1}, {9})


def check_password(password: str, username: str | None = None) -> str:
    """`password` unchanged, or PasswordRejected naming the rule it breaks."""
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"password: 密码最长 {MAX_LENGTH} 个字符")
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"password: 密码至少 {MIN_LENGTH} 个字符")
    if "\x00" in password:
        raise PasswordRejected("password: 密码不能包含空字符")
    if len(set(password)) == 1:
        raise PasswordRejected("password: 密码不能由同一个字符重复组成")
    if username and username.strip() and username.strip().lower() in password.lower():
        raise PasswordRejected("password: 密码不能包含用户名")
    if _sequence(password.lower()):
        raise PasswordRejected("password: 密码不能是连续的字符（如 123456789012、abcdefghijkl）")
    cores = _cores(password)
    common = common_passwords()
    if any(c in common for c in cores) or any(len(c) <= 3 for c in cores if c != password.lower()):
        raise PasswordRejected("password: 密码过于常见，请换一个（可用几个词组成的短句）")
    return password

"""Comparing names as people type them: full-width or half-width, any case, any spacing."""

from __future__ import annotations

import re
import unicodedata

_BRACKETED = re.compile(r"[（(]([^（）()]*)[）)]")
_CJK = re.compile(r"[\u3400-\u9fff]")


def key(text: str) -> str:
    """Compatibility-folded (full-width → half-width), accents dropped (TÜV = TUV), case-folded,
    with only letters and digits kept (spaces and punctuation ignored)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in plain if ch.isalnum())


def without_brackets(text: str) -> str:
    return _BRACKETED.sub("", text)


def bracketed_abbreviations(text: str) -> list[str]:
    """Bracketed parts without Chinese characters, e.g. "PMP" in "项目管理专业人士资格认证(PMP)";
    "C级及以上" in the IPMP row is a qualifier, not a name, and is left out."""
    return [m for m in _BRACKETED.findall(text) if m.strip() and not _CJK.search(m)]


def variants(text: str | None) -> set[str]:
    """Keys under which a printed name is recognised: as printed, without its brackets, each bracketed
    abbreviation, and an English name without a leading "The"."""
    if not text:
        return set()
    forms = {text, without_brackets(text), *bracketed_abbreviations(text)}
    forms |= {f[4:] for f in forms if f.lower().startswith("the ")}
    return {k for k in map(key, forms) if k}

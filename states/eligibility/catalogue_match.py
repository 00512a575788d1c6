"""Finding the filing's certificate in a policy's catalogue (CONTRACT §5: `certificate.entry` is the
序号 in that policy's catalogue; `{"name", "issuer"}` may be given instead).

A name matches a row's Chinese name, English name or abbreviation, with or without its bracketed
parts; an issuer, when given, must match the row's Chinese or English issuer. Comparison ignores
case, spaces, punctuation and full-width/half-width forms (text.key). Several catalogues repeat a
name under different issuers (003 附件1 rows 17-21 are all 会员), so a name alone may be ambiguous.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from states.applicant import CertificateRef
from states.eligibility import reasons
from states.eligibility.result import Hint, Reason
from states.eligibility.text import key, variants
from states.policy import Catalogue, CatalogueRow

HINT_COUNT = 3


@lru_cache(maxsize=1024)
def name_keys(row: CatalogueRow) -> frozenset[str]:
    keys = variants(row.name_zh) | variants(row.name_en)
    if row.abbreviation:
        keys.add(key(row.abbreviation))
    return frozenset(keys)


@lru_cache(maxsize=1024)
def issuer_keys(row: CatalogueRow) -> frozenset[str]:
    found = variants(row.issuer_zh) | variants(row.issuer_en)
    for alias in row.issuer_aliases:
        found |= variants(alias)
    return frozenset(found)


@dataclass(frozen=True)
class Match:
    row: CatalogueRow | None
    reasons: tuple[Reason, ...] = ()
    hints: tuple[Hint, ...] = ()


def hint(row: CatalogueRow) -> Hint:
    name = row.name_zh or row.name_en or ""
    return Hint(row.no, name, row.name_en, row.issuer_zh or row.issuer_en, row.title, row.series)


def _similarity(typed: str, keys: frozenset[str]) -> float:
    return max((difflib.SequenceMatcher(None, typed, k).ratio() for k in keys), default=0.0)


def closest(catalogue: Catalogue, name: str, issuer: str | None) -> tuple[Hint, ...]:
    """The rows most like what was typed (difflib ratio on the normalised keys). A name is also
    compared with the issuers, a little discounted (people type "Professional Engineer Ontario" as a
    name); a given issuer weighs half as much as the name."""
    name_key, issuer_key = key(name), key(issuer or "")

    def score(row: CatalogueRow) -> float:
        by_name = max(_similarity(name_key, name_keys(row)), 0.9 * _similarity(name_key, issuer_keys(row)))
        if not issuer_key:
            return by_name
        return (2 * by_name + _similarity(issuer_key, issuer_keys(row))) / 3

    ranked = sorted(catalogue.rows, key=lambda r: (-score(r), r.no))
    return tuple(hint(r) for r in ranked[:HINT_COUNT])


def typed_keys(text: str) -> set[str]:
    """What was typed, also without a leading English "The" (the catalogues print it on some rows)."""
    forms = {text.strip()}
    forms |= {f[4:] for f in forms if f.lower().startswith("the ")}
    return {key(f) for f in forms}


def _matches(row: CatalogueRow, name: str, issuer: str | None) -> bool:
    if not typed_keys(name) & name_keys(row):
        return False
    return not issuer or bool(typed_keys(issuer) & issuer_keys(row))


def find(catalogue: Catalogue, cert: CertificateRef | None) -> Match:
    if cert is None:
        return Match(None, (reasons.certificate_missing(),))
    if cert.entry is not None:
        return _by_entry(catalogue, cert, cert.entry)
    assert cert.name  # CertificateRef requires `entry` or `name`
    found = [r for r in catalogue.rows if _matches(r, cert.name, cert.issuer)]
    if len(found) == 1:
        return Match(found[0])
    if found:
        return Match(None, (reasons.certificate_ambiguous(cert.name, [r.no for r in found]),),
                     tuple(hint(r) for r in found))
    hints = closest(catalogue, cert.name, cert.issuer)
    return Match(None, (reasons.not_in_catalogue_by_name(cert.name, cert.issuer, hints),), hints)


def _by_entry(catalogue: Catalogue, cert: CertificateRef, entry: int) -> Match:
    row = catalogue.row(entry)
    if row is None:
        return Match(None, (reasons.entry_out_of_range(entry, len(catalogue.rows)),))
    # A name given with the 序号 must agree with that row: it catches a mistyped number.
    if cert.name and not _matches(row, cert.name, cert.issuer):
        hints = closest(catalogue, cert.name, cert.issuer)
        return Match(None, (reasons.certificate_mismatch(entry, hint(row), cert.name),), hints)
    return Match(row)

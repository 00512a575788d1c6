"""What a page may not show a person (issue 15): state and action codes, policy ids, English rule
and error codes, seed file names, 24:00 — and, more broadly, any English word that is not on a short
list of names a Chinese office uses as they are (PDF, Excel, CSV, EMS …) or a user name. Shared by the
server-side scan (tests/test_web__chinese.py) and the browser tests (tests/browser)."""

from __future__ import annotations

import html as html_module
import re

from states.eligibility import reasons
from states.policy import policies
from states.vocabulary import ACTIONS, ALL_STATES
from tests.web_support import USERS
from workflow.errors import ERROR_CODES

POLICY_ID = re.compile(r"\b(?:hz|yh|lp|wx)-[a-z]+-\d{4}[a-z0-9]*\b")
SEED_FILE = re.compile(r"\d{3}_[0-9a-f]{16}(?:\.txt)?")
SEED_NUMBER_CITE = re.compile(r"(?<![\d-])00[0-4] (?:附件|§|正文)")  # "001 附件1 §二" (the short cite)
USER_NAME = re.compile(r"(?<![A-Za-z_])[a-z]+_[a-z0-9]+(?![A-Za-z_])")
WORD = re.compile(r"[A-Za-z][A-Za-z_+]{2,}")
ALLOWED_WORDS = frozenset({
    "zcflow", "PDF", "CSV", "Excel", "Asia", "Shanghai", "EMS", "HTML", "JSON", "API",
    *USERS, *(u.split("_")[0] for u in USERS),
})
REASON_CODES = {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)}
CODES = frozenset({*ALL_STATES, *ACTIONS, *ERROR_CODES, *REASON_CODES, "assistant", "intermediate", "senior",
                   "management", "bachelor", "master", "college", "doctorate", "unauthenticated"})


def visible_text(page: str) -> str:
    """The text a browser shows of a server-rendered page: no scripts, styles, tags or the raw
    mermaid source (the browser turns it into a drawing with the Chinese labels)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r'(?is)<pre class="mermaid".*?</pre>', " ", page)
    # title= and placeholder= and option text are read too
    attrs = " ".join(re.findall(r'(?:title|placeholder|aria-label|data-confirm)="([^"]*)"', page))
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return html_module.unescape(page + " " + attrs)


def leaks(text: str) -> list[str]:
    """Everything in `text` a person should not read; empty when the page is clean."""
    found: list[str] = []
    found += POLICY_ID.findall(text)
    found += [m for m in SEED_FILE.findall(text)]
    found += SEED_NUMBER_CITE.findall(text)
    if "24:00" in text:
        found.append("24:00")
    # Allowed names are taken out first: a browser's text runs adjacent links together ("ExcelCSVPDF").
    # A user name (dept_new) is a name, not a code: let it through unless it is one of the codes.
    rest = USER_NAME.sub(lambda m: m[0] if m[0] in CODES else " ", text)
    names = sorted(ALLOWED_WORDS, key=len, reverse=True)
    rest = re.sub("|".join(re.escape(w) for w in names if not w.islower()), " ", rest)
    rest = re.sub(r"(?<![A-Za-z_])(?:" + "|".join(re.escape(w) for w in names if w.islower()) + r")(?![A-Za-z_])",
                  " ", rest)
    found += WORD.findall(rest)
    for pid in policies():
        if pid in text:
            found.append(pid)
    return sorted(set(found))


def assert_chinese(text: str, where: str) -> None:
    bad = leaks(text)
    codes = [b for b in bad if b in CODES]
    context = [re.sub(r"\s+", " ", text[max(0, i - 40):i + 40]) for b in bad[:3] if (i := text.find(b)) >= 0]
    assert not bad, f"{where}: shows {bad}" + (f" (codes: {codes})" if codes else "") + f" in {context}"

"""Issue 15: every page speaks Chinese. Each page of the admin UI, rendered for the administrator,
a district department, an employer, a committee and the city, is scanned for what a person should
not read: state and action codes, policy ids, English rule and error codes, seed file names, 24:00
(tests/chinese_text.py). Error pages and refusals are scanned too; the API keeps its codes and adds
a Chinese `message`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine

from states.policy import policies
from tests.chinese_text import assert_chinese, leaks, visible_text
from tests.web_support import Site, csrf_of

ROLES = ("admin", "dept_sc", "emp_a", "comm_hz", "comm_lp", "city_hz")


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def pages_of(site: Site, username: str) -> list[str]:
    browser = site.browser(username)
    home = browser.get("/").text
    tabs = sorted(set(re.findall(r'href="/\?policy=([a-z0-9-]+)"', home)))
    listed = browser.get("/cases?per_page=200").text
    case_ids = sorted({int(n) for n in re.findall(r'href="/cases/(\d+)"', listed)})
    paths = ["/", "/cases", "/cases?sort=-due", "/cases?sort=submitted&per_page=20", "/documents", "/audit",
             "/cases/999999", "/cases?state=nonsense", "/cases?page=x", "/no-such-page", "/audit?since=2025-13-01"]
    paths += [f"/?policy={p}" for p in tabs] + ["/account/password"]
    if username == "admin":  # the user pages (workflow/web/accounts.py)
        paths += ["/admin/users", "/admin/users/emp_a", "/admin/users/comm_lp"]
    paths += [f"/cases/{i}" for i in case_ids]
    paths += [f"/policies/{p}" for p in policies()] + [f"/policies/{p}?view=full" for p in policies()]
    return paths


@pytest.mark.parametrize("username", ROLES)
def test_no_page_shows_codes_ids_or_file_names(site: Site, username: str) -> None:
    browser = site.browser(username)
    for path in pages_of(site, username):
        r = browser.get(path)
        assert r.status_code in (200, 404, 422), (path, r.status_code)
        assert_chinese(visible_text(r.text), f"{username} {path}")


def test_refusals_and_bulk_results_are_chinese(site: Site) -> None:
    browser = site.browser("emp_a")
    token = csrf_of(browser, "/cases")
    trio = [str(site.cases[k]) for k in ("a_review2", "a_draft", "b_review")]
    pages = [
        browser.post(f"/cases/{site.cases['a_draft']}/actions",
                     data={"action": "employer_approve", "csrf_token": token}),
        browser.post(f"/cases/{site.cases['a_review']}/actions", data={"action": "employer_return", "reason": " ",
                                                                     "csrf_token": token}),
        browser.post(f"/cases/{site.cases['a_review']}/actions", data={"action": "employer_approve", "version": "0",
                                                                     "csrf_token": token}),
        browser.post("/cases/bulk", data={"case_ids": trio, "action": "employer_approve", "csrf_token": token}),
        browser.post("/cases/bulk", data={"case_ids": [str(site.cases["a_review2"])], "action": "employer_return",
                                          "csrf_token": token}),
    ]
    for r in pages:
        assert r.status_code in (200, 409, 422)
        assert 'role="alert"' in r.text or 'data-testid="bulk-results"' in r.text
        assert_chinese(visible_text(r.text), f"POST → {r.status_code}")


def test_the_api_keeps_its_codes_and_adds_a_chinese_message(site: Site) -> None:
    r = site.api("dept_sc", "POST", f"/api/cases/{site.cases['a_management']}/actions",
                 json={"action": "department_return"})
    body = r.json()
    assert (r.status_code, body["error"], body["field"]) == (422, "invalid_input", "reason")
    assert body["message"] == "「主管部门退回修改」须填写理由" and "needs a reason" in body["detail"]
    r = site.api("emp_a", "GET", "/api/cases/999999")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    assert r.json()["message"] == "案件 999999 不存在，或不在您的管辖范围内"
    r = site.api("emp_a", "POST", f"/api/cases/{site.cases['a_draft']}/actions", json={"action": "employer_approve"})
    assert r.json()["error"] == "illegal_transition" and not leaks(r.json()["message"])


def test_the_scan_catches_what_it_looks_for() -> None:
    assert leaks("阶段 employer_review") == ["employer_review"]
    assert "hz-recognition-2025h1" in leaks("hz-recognition-2025h1（3）")
    assert "001_f62017e8010cdeb7.txt" in leaks("依据 001_f62017e8010cdeb7.txt §二.3")
    assert leaks("依据 001 附件1 §二") == ["001 附件"]
    assert leaks("2025-04-30 24:00") == ["24:00"]
    assert leaks("规则 bachelor+5") == ["bachelor+"]
    assert leaks("2025-04-30（周三）24时止 · 导出 Excel · emp_a") == []

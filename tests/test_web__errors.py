"""Workflow errors map to their HTTP status, with `{"error", "message"}` bodies: 422 invalid input,
403 not permitted, 404 absent, 409 illegal transition / conflict; nothing changes on a refusal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine

from tests.web_support import Site, csrf_of


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def act(site: Site, username: str, key: str, body: object) -> tuple[int, dict[str, object]]:
    r = site.api(username, "POST", f"/api/cases/{site.cases[key]}/actions", json=body)
    return r.status_code, r.json()


INVALID_ACTIONS: list[tuple[dict[str, object], str]] = [
    ({"action": "employer_return"}, "reason"),                      # a return needs a reason
    ({"action": "employer_return", "reason": "   "}, "reason"),
    ({"action": "approve_everything"}, "action"),                   # not in the vocabulary
    ({"action": "employer_approve", "reason": "x" * 2001}, "reason"),
    ({"action": "employer_approve", "reason": "a\x00b"}, "reason"),
    ({"reason": "no action"}, "action"),
    ({"action": "employer_approve", "expected_version": -1}, "expected_version"),
]


def test_invalid_action_input_is_422_naming_the_field(site: Site) -> None:
    for body, field in INVALID_ACTIONS:
        status, out = act(site, "emp_a", "a_review", body)
        assert (status, out["error"]) == (422, "invalid_input"), (body, out)
        assert str(out["detail"]).startswith(field) and out["field"] == field, (body, out)
        assert not re.search(r"[a-z]{3}", str(out["message"])), out  # Chinese, without codes
    assert site.state("a_review") == "employer_review"


def test_invalid_list_filters_are_422(site: Site) -> None:
    for params in ({"state": "nowhere"}, {"policy": "xx-2099"}, {"per_page": 0}, {"page": "one"},
                   {"page": "1.0"}, {"due_within": 400}, {"q": "王\x00"}, {"state": ""}):
        r = site.api("admin", "GET", "/api/cases", params=params)
        assert (r.status_code, r.json()["error"]) == (422, "invalid_input"), (params, r.text)


def test_body_that_is_not_json_is_422(site: Site) -> None:
    r = site.client().post(f"/api/cases/{site.cases['a_review']}/actions", content=b"{not json",
                           headers={**site.auth("emp_a"), "Content-Type": "application/json"})
    assert r.status_code == 422


def test_impossible_case_ids(site: Site) -> None:
    # A case number out of range is bad input; a path that is no case number is no route at all.
    for case_id, status in (("0", 422), (str(2**40), 422), ("-3", 404), ("abc", 404)):
        r = site.api("admin", "GET", f"/api/cases/{case_id}")
        assert r.status_code == status, case_id
        assert r.json()["error"] == {422: "invalid_input", 404: "not_found"}[status]


def test_action_the_state_does_not_allow_is_409_naming_state_and_allowed(site: Site) -> None:
    status, out = act(site, "emp_a", "a_draft", {"action": "employer_approve"})
    assert status == 409
    assert out["error"] == "illegal_transition"
    assert out["state"] == "draft"
    # What this actor may do there (issue 12): not the applicant's submit, not the scheduler's expire.
    assert out["allowed"] == []
    assert site.state("a_draft") == "draft"


def test_action_of_another_role_is_403(site: Site) -> None:
    status, out = act(site, "emp_a", "a_management", {"action": "department_approve"})
    assert (status, out["error"], out["allowed_roles"]) == (403, "not_permitted", ["department"])
    assert site.state("a_management") == "management_review"


def test_stale_expected_version_is_409_conflict(site: Site) -> None:
    version = site.api("emp_a", "GET", f"/api/cases/{site.cases['a_review']}").json()["version"]
    status, _ = act(site, "emp_a", "a_review", {"action": "employer_approve", "expected_version": version})
    assert status == 200
    status, out = act(site, "emp_a", "a_review2", {"action": "employer_approve", "expected_version": version + 5})
    assert (status, out["error"]) == (409, "conflict")
    assert site.state("a_review2") == "employer_review"


def test_repeating_an_action_is_409(site: Site) -> None:
    assert act(site, "emp_a", "a_review", {"action": "employer_approve"})[0] == 200
    status, out = act(site, "emp_a", "a_review", {"action": "employer_approve"})
    assert (status, out["error"]) == (409, "illegal_transition")


def test_absent_things_are_404(site: Site) -> None:
    assert site.api("admin", "GET", "/api/cases/424242").json()["error"] == "not_found"
    for path in ("/api/cases/424242", "/api/policies/xx-2099", "/api/no-such-thing"):
        r = site.api("admin", "GET", path)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found"


def test_only_an_administrator_creates_cases(site: Site) -> None:
    from tests.filings import FILINGS, resident_id

    filing = {**FILINGS["hz-recognition-2025h1"], "id_number": resident_id(77)}
    body = {"policy": "hz-recognition-2025h1", "filing": filing}
    r = site.api("emp_a", "POST", "/api/cases", json=body)
    assert (r.status_code, r.json()["error"]) == (403, "not_permitted")
    r = site.api("admin", "POST", "/api/cases", json=body)
    assert r.status_code == 201
    assert site.wf.case(r.json()["case"]).state == "draft"
    bad = {**body, "filing": {**filing, "id_number": "330102199001011235"}}  # wrong check digit
    r = site.api("admin", "POST", "/api/cases", json=bad)
    assert r.status_code == 422
    assert r.json()["field"] == "filing.id_number"
    r = site.api("admin", "POST", "/api/cases", json={**body, "policy": "xx-2099"})
    assert (r.status_code, r.json()["field"]) == (422, "policy")


def test_refused_page_action_shows_why_with_the_errors_status(site: Site) -> None:
    browser = site.browser("emp_a")
    case_id = site.cases["a_draft"]
    r = browser.post(f"/cases/{case_id}/actions", data={"action": "employer_approve",
                                                        "csrf_token": csrf_of(browser, f"/cases/{case_id}")})
    assert r.status_code == 409
    assert "当前状态不允许此操作" in r.text and 'role="alert"' in r.text
    r = browser.post(f"/cases/{site.cases['a_review']}/actions",
                     data={"action": "employer_return", "reason": "",
                           "csrf_token": csrf_of(browser, "/cases")})
    assert r.status_code == 422
    alert = r.text.split('role="alert"')[1][:200]
    assert "单位退回修改未执行：「单位退回修改」须填写理由" in alert and "reason" not in alert
    assert site.state("a_review") == "employer_review"


def test_pages_answer_404_in_html(site: Site) -> None:
    browser = site.browser("emp_a")
    for path in ("/cases/424242", "/policies/xx-2099", "/no-such-page", "/cases/0"):
        r = browser.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "未找到" in r.text


def test_wrong_method_is_405_naming_every_allowed_method(site: Site) -> None:
    r = site.api("emp_a", "PUT", f"/api/cases/{site.cases['a_review']}/actions")
    assert (r.status_code, r.headers["allow"], r.json()["error"]) == (405, "GET, POST", "method_not_allowed")
    r = site.browser("emp_a").get("/logout")
    assert (r.status_code, r.headers["allow"]) == (405, "POST")


def test_unknown_or_repeated_query_parameters_are_422(site: Site) -> None:
    r = site.api("admin", "GET", "/api/cases?stat=draft")
    assert (r.status_code, r.json()["field"]) == (422, "stat")
    r = site.api("admin", "GET", "/api/cases?district=上城区&district=西湖区")
    assert (r.status_code, r.json()["detail"]) == (422, "district: given more than once")
    assert r.json()["message"] == "查询参数「district」重复给出"


def test_responses_carry_security_headers(site: Site) -> None:
    page = site.browser("emp_a").get("/cases")
    api = site.api("emp_a", "GET", "/api/cases")
    for r in (page, api):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
    assert "no-store" not in site.client().get("/static/app.css").headers.get("cache-control", "")

"""Each role sees and acts only within its scope; a case outside it is 404, exactly like an absent
one (CONTRACT §8)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.web_support import Site

EXPECTED = {
    "emp_a": {"a_review", "a_review2", "a_management", "a_draft", "a_notice"},
    "emp_b": {"b_review"},
    "dept_sc": {"a_review", "a_review2", "a_management", "a_draft", "a_notice"},
    "dept_xh": {"b_review"},
    "comm_hz": {"a_review", "a_review2", "a_management", "b_review", "a_notice"},
    "comm_lp": {"lp_committee"},
    "comm_yh": {"yh_review"},
    "city_hz": {"a_review", "a_review2", "a_management", "a_draft", "b_review", "yh_review", "lp_committee",
                "a_notice"},
    "city_wx": {"wx_review"},
    "admin": {"a_review", "a_review2", "a_management", "a_draft", "b_review", "yh_review", "wx_review",
              "lp_committee", "a_notice"},
}


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def test_each_role_lists_exactly_the_cases_in_its_scope(site: Site) -> None:
    for username, keys in EXPECTED.items():
        assert site.visible_ids(username) == {site.cases[k] for k in keys}, username


def test_total_and_filters_count_only_cases_in_scope(site: Site) -> None:
    r = site.api("emp_b", "GET", "/api/cases", params={"q": "王伟"})  # employer A's staff are all 王伟
    assert r.json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
    r = site.api("dept_xh", "GET", "/api/cases", params={"district": "上城区"})
    assert r.json()["total"] == 0


def test_case_outside_scope_is_404_and_indistinguishable_from_an_absent_case(site: Site) -> None:
    other = site.cases["a_review"]
    absent = 999_999
    for method, suffix, body in (("GET", "", None), ("GET", "/actions", None),
                                 ("POST", "/actions", {"action": "employer_approve"}),
                                 ("POST", "/objections", {"reason": "学历造假"})):
        outside = site.api("emp_b", method, f"/api/cases/{other}{suffix}", json=body)
        missing = site.api("emp_b", method, f"/api/cases/{absent}{suffix}", json=body)
        assert outside.status_code == missing.status_code == 404, (suffix, outside.text)
        assert outside.json()["error"] == missing.json()["error"] == "not_found"
        assert outside.json()["message"].replace(str(other), "N") == missing.json()["message"].replace(
            str(absent), "N")
    assert site.state("a_review") == "employer_review"


def test_each_role_acts_on_a_case_in_its_scope(site: Site) -> None:
    moves = [("emp_a", "a_review", "employer_approve", "employer_notice"),
             ("dept_sc", "a_management", "department_approve", "paper_submission"),
             ("comm_lp", "lp_committee", "committee_approve", "qualification_notice"),
             ("emp_b", "b_review", "employer_approve", "employer_notice")]
    for username, key, action, to_state in moves:
        r = site.api(username, "POST", f"/api/cases/{site.cases[key]}/actions", json={"action": action})
        assert r.status_code == 200, r.text
        assert (r.json()["to_state"], r.json()["actor_id"]) == (to_state, username)
        assert site.state(key) == to_state


def test_acting_as_the_users_own_role(site: Site) -> None:
    r = site.api("emp_a", "POST", f"/api/cases/{site.cases['a_review']}/actions",
                 json={"action": "employer_return", "reason": "学历证明不清晰"})
    assert r.json()["actor_role"] == "employer"
    history = site.api("emp_a", "GET", f"/api/cases/{site.cases['a_review']}").json()["history"]
    assert history[-1] == {**history[-1], "action": "employer_return", "actor_role": "employer",
                           "actor_id": "emp_a", "reason": "学历证明不清晰"}


def test_role_in_scope_but_not_entitled_is_403(site: Site) -> None:
    # The committee covers the case (it will decide it) but the employer decides at this stage.
    r = site.api("comm_hz", "POST", f"/api/cases/{site.cases['a_review']}/actions",
                 json={"action": "employer_approve"})
    assert r.status_code == 403
    assert r.json()["error"] == "not_permitted"
    assert site.state("a_review") == "employer_review"


def test_actions_listed_are_only_those_of_the_users_role(site: Site) -> None:
    case_id = site.cases["a_review"]
    listed = {u: [a["action"] for a in site.api(u, "GET", f"/api/cases/{case_id}/actions").json()["actions"]]
              for u in ("emp_a", "dept_sc", "comm_hz", "admin")}
    assert listed == {"emp_a": ["employer_approve", "employer_reject", "employer_return"],
                      "dept_sc": [], "comm_hz": ["revoke"], "admin": []}


def test_admin_sees_everything_but_takes_no_workflow_action(site: Site) -> None:
    r = site.api("admin", "POST", f"/api/cases/{site.cases['a_review']}/actions",
                 json={"action": "employer_approve"})
    assert r.status_code == 403
    assert r.json()["error"] == "not_permitted"


def test_city_sees_only_its_citys_policies(site: Site) -> None:
    wx = [p["id"] for p in site.api("city_wx", "GET", "/api/policies").json()]
    hz = [p["id"] for p in site.api("city_hz", "GET", "/api/policies").json()]
    assert wx == ["wx-recognition-2022"]
    assert "wx-recognition-2022" not in hz and "hz-recognition-2025h1" in hz
    assert site.api("city_wx", "GET", "/api/policies/hz-recognition-2025h1").status_code == 404
    assert site.api("city_hz", "GET", "/api/policies/hz-recognition-2025h1").status_code == 200


def test_bulk_action_treats_cases_outside_scope_as_not_found(site: Site) -> None:
    ids = [site.cases["b_review"], site.cases["a_review"]]
    r = site.api("emp_b", "POST", "/api/cases/bulk-actions", json={"case_ids": ids, "action": "employer_approve"})
    assert r.status_code == 200
    results = {item["case"]: item for item in r.json()["results"]}
    assert results[site.cases["b_review"]]["ok"] is True
    assert results[site.cases["a_review"]] == {"case": site.cases["a_review"], "ok": False, "transition": None,
                                               "error": "not_found",
                                               "message": f"案件 {site.cases['a_review']} 不存在，或不在您的管辖范围内"}
    assert site.state("a_review") == "employer_review"


def test_pages_hide_cases_outside_scope(site: Site) -> None:
    browser = site.browser("emp_b")
    assert browser.get(f"/cases/{site.cases['a_review']}").status_code == 404
    listing = browser.get("/cases").text
    assert f"/cases/{site.cases['b_review']}\"" in listing
    assert f"/cases/{site.cases['a_review']}\"" not in listing
    export = browser.get("/cases/export.csv").content.decode("utf-8-sig")
    assert len(export.strip().splitlines()) == 2  # header and the one case
    assert site.browser("city_wx").get("/policies/hz-recognition-2025h1").status_code == 404

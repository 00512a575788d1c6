"""Policy versions and amendments on the web and in the API (CONTRACT §9), for city and admin users:
the versions page, the 延期 form (dry-run numbers, then confirm), the import form (check report
first), `POST /api/policies` and `POST /api/policies/{id}/amendments` with `dry_run`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.policy import POLICY_DIR, get_policy
from storage.policy_store import policy_versions
from tests.web_support import Site, csrf_of
from workflow.policy_files import bundled_text, starting_file

HZ = "hz-recognition-2025h1"
DOC = "杭经信职改〔2025〕5号"


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def stored(site: Site) -> int:
    with site.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(policy_versions)).scalar_one())


def test_the_extension_form_shows_the_dry_run_then_confirms(site: Site) -> None:
    """Seed 001 §二.2's employer cutoff (04-14) extended to 04-21 by a city user."""
    browser = site.browser("city_hz")
    page = browser.get(f"/policies/{HZ}/versions")
    assert page.status_code == 200 and "第1版" in page.text and "内置" in page.text
    form = {"csrf_token": csrf_of(browser, f"/policies/{HZ}/versions"), "cutoff": "employer",
            "date": "2025-04-21", "document": DOC, "reason": "系统升级延期"}
    dry = browser.post(f"/policies/{HZ}/extend", data=form)
    assert dry.status_code == 200, dry.text
    waiting = len([k for k in site.cases if k in ("a_review", "a_review2", "b_review", "a_notice")])
    assert waiting == 4
    assert re.search(rf'data-testid="deadline-moved">{waiting}<', dry.text), dry.text
    assert "确认执行" in dry.text and stored(site) == 0
    done = browser.post(f"/policies/{HZ}/extend", data={**form, "confirm": "1"}, follow_redirects=False)
    assert done.status_code == 303 and stored(site) == 1
    assert get_policy(HZ).cutoffs[1].date.isoformat() == "2025-04-21"
    page = browser.get(f"/policies/{HZ}/versions")
    assert "第2版" in page.text and DOC in page.text and "city_hz" in page.text
    diff = browser.get(f"/policies/{HZ}/diff?a=1&b=2")
    assert "+    date: 2025-04-21" in diff.text and "-    date: 2025-04-14" in diff.text


def test_the_extension_form_refuses_in_chinese_and_stores_nothing(site: Site) -> None:
    browser = site.browser("city_hz")
    token = csrf_of(browser, f"/policies/{HZ}/versions")
    r = browser.post(f"/policies/{HZ}/extend", data={"csrf_token": token, "cutoff": "employer",
                                                     "date": "2025-04-21", "document": ""})
    assert r.status_code == 422 and "请填写调整依据的文号" in r.text
    r = browser.post(f"/policies/{HZ}/extend", data={"csrf_token": token, "cutoff": "employer",
                                                     "date": "2025-04-31", "document": DOC})
    assert r.status_code == 422 and "不是有效日期" in r.text
    assert stored(site) == 0
    employer = site.browser("emp_a")
    r = employer.post(f"/policies/{HZ}/extend", data={"csrf_token": csrf_of(employer, "/"), "cutoff": "employer",
                                                      "date": "2025-04-21", "document": DOC})
    assert r.status_code in (403, 404)
    r = site.browser("city_wx").post(f"/policies/{HZ}/extend", data={
        "csrf_token": token, "cutoff": "employer", "date": "2025-04-21", "document": DOC})
    assert r.status_code in (403, 404) and stored(site) == 0


def test_the_import_form_shows_the_check_report_first(site: Site) -> None:
    browser = site.browser("admin")
    token = csrf_of(browser, "/policies-import")
    text = bundled_text(HZ)
    assert text is not None
    new = starting_file(text, "hz-web-2025h1", HZ, POLICY_DIR)
    broken = new.replace("track: recognition", "track: recogniton")
    r = browser.post("/policies-import", data={"csrf_token": token, "text": broken})
    assert r.status_code == 422 and "错误：第" in r.text and "track" in r.text and stored(site) == 0
    r = browser.post("/policies-import", data={"csrf_token": token, "text": new.replace(
        "date: 2025-05-30", "date: 2025-06-01")})
    assert r.status_code == 200 and "cutoff_not_working_day" in r.text and "确认导入" in r.text
    assert stored(site) == 0
    r = browser.post("/policies-import", data={"csrf_token": token, "text": new, "confirm": "1"},
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/policies/hz-web-2025h1/versions")
    assert get_policy("hz-web-2025h1").version == 1


def test_api_amendment_with_dry_run_then_for_real(site: Site) -> None:
    body = {"cutoffs": {"employer": "2025-04-21"}, "document": DOC, "dry_run": True}
    r = site.api("city_hz", "POST", f"/api/policies/{HZ}/amendments", json=body)
    assert r.status_code == 200, r.text
    impact = r.json()["impact"]
    assert impact["dry_run"] and impact["kind"] == "amendment" and impact["deadline_moved"] >= 3
    assert stored(site) == 0
    r = site.api("admin", "POST", f"/api/policies/{HZ}/amendments", json={**body, "dry_run": False})
    assert r.status_code == 200 and r.json()["impact"]["to_version"] == 2
    versions = site.api("admin", "GET", f"/api/policies/{HZ}/versions").json()
    assert [(v["version"], v["document"]) for v in versions][-1] == (2, DOC)


def test_api_refusals(site: Site) -> None:
    body = {"cutoffs": {"employer": "2025-04-21"}, "document": DOC}
    assert site.api("emp_a", "POST", f"/api/policies/{HZ}/amendments", json=body).status_code == 403
    assert site.api("city_wx", "POST", f"/api/policies/{HZ}/amendments", json=body).status_code == 404
    r = site.api("admin", "POST", f"/api/policies/{HZ}/amendments", json={"cutoffs": {"nope": "2025-04-21"},
                                                                          "document": DOC})
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    r = site.api("admin", "POST", "/api/policies", json={"text": "id: x\ntrack: [", "dry_run": True})
    assert r.status_code == 422 and "line" in r.json()["detail"]
    text = bundled_text(HZ)
    assert text is not None
    wuxi_city = starting_file(text, "hz-web-2025h1", HZ, POLICY_DIR)
    r = site.api("city_wx", "POST", "/api/policies", json={"text": wuxi_city})
    assert r.status_code == 403
    assert stored(site) == 0

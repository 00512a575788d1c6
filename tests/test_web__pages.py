"""The pages: dashboard, case list (filters, search, pages, CSV), case page, actions with reasons,
bulk actions reported per case, objections during a notice, and the policy page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape

import pytest
from sqlalchemy.engine import Engine

from states.calendar import end_of_day
from states.idcard import mask
from states.policy import get_policy
from tests.filings import resident_id
from tests.web_support import T0, Site, csrf_of, make_case
from workflow.deadlines import tick
from workflow.web import pages
from workflow.web.render import deadline


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def case_links(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/cases/(\d+)"', html)}


def test_dashboard_charts_cases_per_stage_and_cutoffs_at_risk(site: Site) -> None:
    html = site.browser("admin").get("/?policy=hz-recognition-2025h1").text
    chart = html.split('data-testid="stage-chart"')[1].split("</section>")[0]
    rows = dict(re.findall(r'state=([a-z_]+)">[^<]+</a>.*?<span class="num">(\d+)</span>', chart, re.S))
    assert rows["draft"] == "1" and rows["employer_review"] == "3" and rows["employer_notice"] == "1"
    assert rows["management_review"] == "1" and rows["certified"] == "0"
    # Employer cutoff 2025-04-14 ends employer_review and employer_notice: per district, the cases
    # still waiting; 最晚审核日 is 2025-04-07 (Mon): 5 working days Apr 8-11, 14 (Qingming Apr 4-6).
    table = html.split("单位网上审核推荐截止：")[1].split("</section>")[0]
    assert table.startswith("2025-04-14（周一）24时止")
    assert 'data-testid="last-day">2025-04-07（周一）' in table
    waiting = dict(re.findall(r"<td><a [^>]*>([^<]+)</a></td>\s*<td class=\"num\">(\d+)</td>", table))
    assert waiting == {"上城区": "3", "西湖区": "1"}
    # Two weeks ahead with one case a working day possible, nothing is at risk: merely waiting.
    assert 'data-testid="at-risk-total">0<' in table


def test_dashboard_counts_only_the_users_cases(site: Site) -> None:
    html = site.browser("emp_b").get("/?policy=hz-recognition-2025h1").text
    assert "杭州2025上半年认定（1）" in html and "hz-recognition-2025h1（" not in html
    assert case_links(html) <= {site.cases["b_review"]}


def test_dashboard_lists_notices_closing_this_week(site: Site) -> None:
    closes = site.wf.case(site.cases["a_notice"]).notice_closes_at
    site.now = closes - dt.timedelta(hours=12)  # same week (it closes at 00:00 of a weekday)
    html = site.browser("emp_a").get("/?policy=hz-recognition-2025h1").text
    closing = html.split("本周期满的公示")[1].split("</section>")[0]
    assert f'/cases/{site.cases["a_notice"]}"' in closing
    assert deadline(closes) in closing and deadline(closes).endswith("24时止")


def test_dashboard_lists_cases_expired_today(site: Site) -> None:
    filing_cutoff = end_of_day(get_policy("hz-recognition-2025h1").window.closes)  # type: ignore[union-attr]
    tick(site.db, filing_cutoff)
    site.now = filing_cutoff + dt.timedelta(hours=9)
    html = site.browser("dept_sc").get("/?policy=hz-recognition-2025h1").text
    expired = html.split("今日逾期的案件")[1].split("</section>")[0]
    assert case_links(expired) == {site.cases["a_draft"]}
    site.now += dt.timedelta(days=1)
    html = site.browser("dept_sc").get("/?policy=hz-recognition-2025h1").text
    assert "今天没有逾期的案件" in html


FILTERS: list[tuple[str, set[str]]] = [
    ("state=employer_review", {"a_review", "a_review2", "b_review", "yh_review", "wx_review"}),
    ("policy=hz-recognition-2025h1&state=employer_review", {"a_review", "a_review2", "b_review"}),
    ("district=西湖区", {"b_review"}),
    ("employer=杭州西湖测试科技有限公司", {"b_review"}),
    ("committee=杭州市临平区制造业工程技术人员工程师资格评审委员会", {"lp_committee"}),
    ("q=李", {"b_review"}),
    ("q=赵敏", {"a_notice"}),
    ("q=100%25", set()),  # LIKE wildcards are searched for literally
]


def test_case_list_filters(site: Site) -> None:
    browser = site.browser("admin")
    for query, keys in FILTERS:
        html = browser.get(f"/cases?{query}").text
        table = html.split('data-testid="case-table"')[1]
        assert case_links(table) == {site.cases[k] for k in keys}, query
        assert f"共 {len(keys)} 件" in html, query


def test_case_list_deadline_window(site: Site) -> None:
    # At T0 (2025-03-28) the filing cutoff (end of 03-31) is 3.6 days away: only the draft is due
    # within 7 days; the employer cutoff (end of 04-14) and a_notice's close (~04-08) within 30.
    browser = site.browser("emp_a")
    within_7 = case_links(browser.get("/cases?due_within=7").text.split('data-testid="case-table"')[1])
    assert within_7 == {site.cases["a_draft"]}
    within_30 = case_links(browser.get("/cases?due_within=30").text.split('data-testid="case-table"')[1])
    assert within_30 == {site.cases[k] for k in ("a_draft", "a_review", "a_review2", "a_notice")}
    # The management cutoff (end of 04-30) is 33 days away.
    within_40 = case_links(browser.get("/cases?due_within=40").text.split('data-testid="case-table"')[1])
    assert within_40 == within_30 | {site.cases["a_management"]}


def test_search_by_id_number_shows_it_masked(site: Site) -> None:
    full = resident_id(3)
    browser = site.browser("admin")
    for q in (full, full[-6:]):
        table = browser.get(f"/cases?q={q}").text.split('data-testid="case-table"')[1].split("<tbody>")[1]
        assert case_links(table) == {site.cases["b_review"]}, q
        assert mask(full) in table and full not in table


def test_case_list_pages(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PER_PAGE", 4)
    browser = site.browser("admin")
    seen: list[int] = []
    for n in (1, 2, 3):
        html = browser.get(f"/cases?page={n}").text
        assert f"第 {n} / 3 页" in html
        seen += sorted(case_links(html.split('data-testid="case-table"')[1]))
    assert seen == sorted(site.cases.values())
    api = site.api("admin", "GET", "/api/cases", params={"per_page": 4, "page": 3}).json()
    assert (api["total"], len(api["items"])) == (9, 1)


def test_htmx_filter_gets_only_the_table(site: Site) -> None:
    r = site.browser("admin").get("/cases?state=draft", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in r.text and 'data-testid="case-table"' in r.text
    assert case_links(r.text) == {site.cases["a_draft"]}


def test_csv_export_follows_the_filters_with_masked_ids(site: Site) -> None:
    r = site.browser("admin").get("/cases/export.csv?state=employer_review&policy=hz-recognition-2025h1")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["案件号", "政策", "状态", "姓名"]
    assert {int(row[0]) for row in rows[1:]} == {site.cases[k] for k in ("a_review", "a_review2", "b_review")}
    assert all(row[2] == "单位审核" and "*" in row[4] for row in rows[1:])
    assert resident_id(1) not in r.text


def test_case_page_shows_the_whole_case(site: Site) -> None:
    case_id = site.cases["a_notice"]
    html = site.browser("emp_a").get(f"/cases/{case_id}").text
    case = site.wf.case(case_id)
    assert "赵敏" in html and mask(case.id_number) in html and case.id_number not in html
    assert "单位公示" in html                                       # the state
    assert "杭州市制造业工程技术人员工程师资格评审委员会" in html       # eligibility: committee
    assert "符合" in html and "工程师" in html
    timeline = html.split('data-testid="timeline"')[1].split("</ol>")[0]
    assert [a for a in ("创建", "提交申报", "单位审核通过") if a in timeline] == ["创建", "提交申报", "单位审核通过"]
    due = html.split('data-testid="due"')[1].split("</table>")[0]
    assert "公示期满" in due and deadline(case.notice_closes_at) in due
    assert "2025-04-14（周一）24时止" in due  # the employer cutoff: the end of 04-14
    notifications = html.split('data-testid="notifications"')[1].split("</table>")[0]
    assert "已提交" in notifications and "公示开始" in notifications
    assert 'data-testid="objection-form"' in html                   # the notice runs


def test_case_page_action_with_reason_updates_the_timeline(site: Site) -> None:
    browser = site.browser("emp_a")
    case_id = site.cases["a_review"]
    page = browser.get(f"/cases/{case_id}").text
    assert 'value="employer_return"' in page and 'name="reason" required' in page
    r = browser.post(f"/cases/{case_id}/actions", data={
        "action": "employer_return", "reason": "学历证明不清晰", "version": "1",
        "csrf_token": csrf_of(browser, f"/cases/{case_id}")}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/cases/{case_id}?done=employer_return#timeline")
    html = browser.get(r.headers["location"]).text
    assert "已完成：单位退回修改" in html
    timeline = browser.get(f"/cases/{case_id}/timeline").text
    assert "单位退回修改" in timeline and "学历证明不清晰" in timeline and "单位审核 → 退回修改" in timeline
    assert site.state("a_review") == "returned"


def test_case_page_form_from_a_stale_page_is_a_conflict(site: Site) -> None:
    browser = site.browser("emp_a")
    case_id = site.cases["a_review"]
    token = csrf_of(browser, f"/cases/{case_id}")
    first = browser.post(f"/cases/{case_id}/actions", data={"action": "employer_approve", "version": "1",
                                                            "csrf_token": token})
    assert first.status_code == 200
    again = browser.post(f"/cases/{case_id}/actions", data={"action": "employer_reject", "reason": "重复",
                                                            "version": "1", "csrf_token": token})
    assert again.status_code == 409 and "已被他人修改" in again.text


def test_bulk_action_applies_each_case_and_reports_each_failure(site: Site) -> None:
    browser = site.browser("emp_a")
    ids = [site.cases[k] for k in ("a_review", "a_review2", "a_draft", "b_review")]
    r = browser.post("/cases/bulk", data={"case_ids": [str(i) for i in ids], "action": "employer_approve",
                                          "reason": "", "csrf_token": csrf_of(browser, "/cases")})
    assert r.status_code == 200
    assert "共 4 件，成功 <strong>2</strong> 件，失败 <strong>2</strong> 件。所选案件仍保持勾选。" in r.text
    results = r.text.split('data-testid="bulk-results"')[1].split("</table>")[0]
    rows = dict(re.findall(r'href="/cases/(\d+)">#\d+</a></td>\s*<td class="(ok|bad)-text">', results))
    assert rows == {str(site.cases["a_review"]): "ok", str(site.cases["a_review2"]): "ok",
                    str(site.cases["a_draft"]): "bad", str(site.cases["b_review"]): "bad"}
    assert "当前状态不允许此操作" in results
    assert f"案件 {site.cases['b_review']} 不存在，或不在您的管辖范围内" in results
    # The list comes back with the whole selection still ticked (the failures can be retried).
    ticked = set(re.findall(r'name="case_ids" value="(\d+)" form="bulk" aria-label="[^"]*" checked', r.text))
    assert ticked == {str(site.cases[k]) for k in ("a_review", "a_review2", "a_draft")}
    assert [site.state(k) for k in ("a_review", "a_review2", "a_draft", "b_review")] == [
        "employer_notice", "employer_notice", "draft", "employer_review"]


def test_bulk_return_without_reason_is_refused_whole(site: Site) -> None:
    browser = site.browser("emp_a")
    r = browser.post("/cases/bulk", data={"case_ids": [str(site.cases["a_review"])], "action": "employer_return",
                                          "csrf_token": csrf_of(browser, "/cases")})
    assert r.status_code == 422
    assert site.state("a_review") == "employer_review"


def test_bulk_approval_of_fifty_cases(site: Site) -> None:
    ids = [make_case(site.wf, "hz-recognition-2025h1", 100 + i, "employer_review") for i in range(50)]
    r = site.api("emp_a", "POST", "/api/cases/bulk-actions", json={"case_ids": ids, "action": "employer_approve"})
    assert (r.json()["succeeded"], r.json()["failed"]) == (50, 0)


def test_objection_recorded_during_a_notice_acts_as_the_public(site: Site) -> None:
    browser = site.browser("comm_hz")  # any user who sees the case records what the public raised
    case_id = site.cases["a_notice"]
    r = browser.post(f"/cases/{case_id}/objection", data={
        "reason": "论文系他人代写", "objector": "张三", "csrf_token": csrf_of(browser, f"/cases/{case_id}")},
        follow_redirects=False)
    assert r.status_code == 303
    assert site.state("a_notice") == "objection"
    last = site.api("comm_hz", "GET", f"/api/cases/{case_id}").json()["history"][-1]
    assert (last["action"], last["actor_role"], last["actor_id"], last["reason"]) == (
        "object", "public", "张三（comm_hz录入）", "论文系他人代写")
    # Decided by the office that runs the notice: the employer.
    actions = site.api("emp_a", "GET", f"/api/cases/{case_id}/actions").json()["actions"]
    assert {"dismiss_objection", "uphold_objection"} <= {a["action"] for a in actions}


def test_objection_needs_a_reason_and_a_running_notice(site: Site) -> None:
    r = site.api("emp_a", "POST", f"/api/cases/{site.cases['a_notice']}/objections", json={"reason": ""})
    assert r.status_code == 422
    r = site.api("emp_a", "POST", f"/api/cases/{site.cases['a_review']}/objections", json={"reason": "有问题"})
    assert (r.status_code, r.json()["error"]) == (409, "illegal_transition")
    r = site.api("emp_a", "POST", f"/api/cases/{site.cases['a_notice']}/objections",
                 json={"reason": "有问题", "objector": "李四"})
    assert r.status_code == 200 and r.json()["actor_role"] == "public"


def test_policy_page_shows_diagram_and_timeline(site: Site) -> None:
    html = unescape(site.browser("admin").get("/policies/hz-recognition-2025h1").text)
    assert "stateDiagram-v2" in html and 'state "单位审核" as employer_review' in html
    assert "employer_review --> employer_notice: 单位审核通过" in html
    assert '<script src="/static/mermaid.min.js"' in html
    timeline = html.split('data-testid="policy-timeline"')[1].split("</table>")[0]
    assert [d for d in ("2025-02-24", "2025-03-31", "2025-04-14", "2025-04-30", "2025-05-30") if d in timeline] == [
        "2025-02-24", "2025-03-31", "2025-04-14", "2025-04-30", "2025-05-30"]
    assert "已过" not in timeline.split("2025-04-14")[1]  # T0 is 2025-03-28


def test_vendored_scripts_are_served_locally(site: Site) -> None:
    browser = site.browser()
    for name in ("htmx.min.js", "mermaid.min.js", "app.css"):
        r = browser.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 1000, name
    html = site.browser("admin").get("/").text
    assert "https://" not in html.split("<body")[0]


def test_times_are_shown_in_shanghai(site: Site) -> None:
    html = site.browser("admin").get(f"/cases/{site.cases['a_notice']}").text
    assert (T0 - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M") in html  # 09:00 local, not 01:00 UTC


def test_dashboard_pages_the_notices_closing_this_week(site: Site) -> None:
    closes = site.wf.case(site.cases["a_notice"]).notice_closes_at
    site.now = closes - dt.timedelta(hours=12)
    browser = site.browser("admin")
    html = browser.get("/?policy=hz-recognition-2025h1").text
    closing = html.split("本周期满的公示")[1].split("</section>")[0]
    assert 'data-testid="closing-total">共 1 件<' in closing and "closing-pager" not in closing
    html = browser.get("/?policy=hz-recognition-2025h1&closing_page=2").text
    assert "没有这一页" in html.split("本周期满的公示")[1].split("</section>")[0]
    bad = browser.get("/?policy=hz-recognition-2025h1&closing_page=x")
    assert bad.status_code == 422 and "公示列表页码须为整数" in bad.text

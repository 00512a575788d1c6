"""Issue 15: the admin UI for an office's real day — the dashboard of whom to chase, documents in the
UI and the API (CONTRACT §11), the case list's sorting and page size, the 办理日志 page, the diagrams,
and the legal basis as the notice's title and 文号 (never a seed file name)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from states.legal import SEED_FILE
from states.vocabulary import ALL_STATES, Role
from storage.audit import record_audit
from tests.chinese_text import assert_chinese, visible_text
from tests.web_support import EMPLOYER_A, Site, csrf_of
from workflow.clock import SHANGHAI
from workflow.engine import Actor

HZ = "hz-recognition-2025h1"


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def employer_table(html: str) -> str:
    return html.split("单位网上审核推荐截止：")[1].split("</section>")[0]


def rows_of(table: str) -> dict[str, tuple[int, int]]:
    """{who: (waiting, at risk)} of a cutoff table."""
    found = re.findall(r'<td><a [^>]*>([^<]+)</a></td>\s*<td class="num">(\d+)</td>\s*<td class="num">\d+</td>\s*'
                       r'<td class="num">(?:<strong class="bad-text">)?(\d+)', table)
    return {who: (int(w), int(r)) for who, w, r in found}


def test_at_risk_is_apart_from_merely_waiting(site: Site) -> None:
    # seed 002 附件3 §一.4: a 5-working-day employer notice; seed 001 §二.2: employer cutoff 2025-04-14.
    # On 2025-04-09 the last approval day (04-07) has passed: a case still awaiting the employer cannot
    # make it, nor can a notice opened today (it closes 04-16); the notice opened on 03-28 closes in time.
    site.now = dt.datetime(2025, 4, 9, 10, tzinfo=SHANGHAI)
    site.wf.fire(site.cases["a_review2"], "employer_approve", Actor(Role.employer, "emp_a"), site.now)
    table = employer_table(site.browser("dept_sc").get(f"/?policy={HZ}").text)
    assert 'data-testid="last-day">2025-04-07（周一）' in table
    assert rows_of(table) == {EMPLOYER_A: (3, 2)}  # a_review and a_review2 at risk; a_notice only waits


def test_nothing_is_at_risk_weeks_ahead_at_a_working_pace(site: Site) -> None:
    table = employer_table(site.browser("dept_sc").get(f"/?policy={HZ}").text)
    assert rows_of(table) == {EMPLOYER_A: (3, 0)}


def test_tabs_only_for_rounds_the_scope_touches(site: Site) -> None:
    home = site.browser("dept_xh").get("/").text
    tabs = home.split('data-testid="policy-tabs"')[1].split("</div>")[0]
    assert "杭州2025上半年认定" in tabs and "余杭2024认定" not in tabs and "无锡认定" not in tabs
    admin = site.browser("admin").get("/").text.split('data-testid="policy-tabs"')[1].split("</div>")[0]
    assert admin.count('role="tab"') == 5


def test_an_employer_gets_its_own_staffs_registration_form(site: Site) -> None:
    mine = site.api("emp_a", "GET", "/api/documents/form", params={"case": site.cases["a_review"], "format": "pdf"})
    assert mine.status_code == 200 and mine.content.startswith(b"%PDF")
    assert mine.headers["content-type"] == "application/pdf"
    other = site.api("emp_a", "GET", "/api/documents/form", params={"case": site.cases["b_review"]})
    assert (other.status_code, other.json()["error"]) == (404, "not_found")


def test_a_district_gets_its_notice_and_roster_only_of_its_district(site: Site) -> None:
    notice = site.api("dept_xh", "GET", "/api/documents/notice", params={"policy": HZ, "format": "html"})
    assert notice.status_code == 200
    assert "赵敏" not in notice.text  # the running notice is 上城区's
    notice = site.api("dept_sc", "GET", "/api/documents/notice", params={"policy": HZ, "format": "html"})
    assert "赵敏" in notice.text
    # The legal basis: the notice's title, never the seed file name (issue 15).
    # (the employer's 5-working-day notice is the provincial platform's rule, seed 002 附件3 §一.4)
    assert "依据：《关于做好2022年度临平区制造业专业工程师资格评审工作的通知》附件3 §一.4" in notice.text
    assert not SEED_FILE.search(notice.text)
    roster = site.api("dept_xh", "GET", "/api/documents/roster", params={"policy": HZ, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(roster.content)).active
    assert sheet is not None
    names = [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert names == ["李娜"]


def test_document_refusals_are_chinese_with_codes_kept(site: Site) -> None:
    r = site.api("admin", "GET", "/api/documents/checklist", params={"policy": "wx-recognition-2022"})
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (422, "invalid_input", "policy")
    assert r.json()["message"] == "该政策没有纸质材料清单"
    r = site.api("admin", "GET", "/api/documents/roster", params={"policy": HZ, "format": "docx"})
    assert r.status_code == 422 and r.json()["message"].startswith("花名册可下载的格式")
    r = site.api("admin", "GET", "/api/documents/notice", params={"policy": "lp-assessment-2022"})
    assert r.status_code == 422 and r.json()["field"] == "stage"
    r = site.api("admin", "GET", "/api/documents/leaflet", params={"policy": HZ})
    assert r.status_code == 404


def test_every_document_of_the_menu_downloads(site: Site) -> None:
    browser = site.browser("admin")
    menu = browser.get("/documents").text
    links = re.findall(r'data-doc="[^"]+" href="([^"]+)"', menu)
    assert len(links) >= 20
    for href in links:
        r = browser.get(href.replace("&amp;", "&"))
        assert r.status_code == 200, (href, r.text[:300])
        assert len(r.content) > 100
        if "format=html" in href:
            assert not SEED_FILE.search(r.text), href
    form = browser.get(f"/documents/form?policy={HZ}&case={site.cases['a_review']}&format=html")
    assert form.status_code == 200 and "杭州市国际职业资格比照认定职称资格登记表" in form.text


def test_csv_export_levels_and_policies_in_chinese(site: Site) -> None:
    text = site.browser("admin").get(f"/cases/export.csv?policy={HZ}").content.decode("utf-8-sig")
    assert "中级" in text and "intermediate" not in text
    assert "杭州2025上半年认定" in text and HZ not in text


def test_case_list_sorts_by_stage_and_keeps_it_in_the_links(site: Site) -> None:
    browser = site.browser("admin")
    for sort, step in (("state", 1), ("-state", -1)):
        html = browser.get(f"/cases?sort={sort}&per_page=20").text
        states = re.findall(r'class="badge s-([a-z_]+)"', html.split("<tbody>")[1])
        order = [ALL_STATES.index(s) for s in states]
        assert order == sorted(order, reverse=step < 0) and len(order) == len(site.cases)
        assert f"sort={sort}" in html.split('data-testid="export"')[0]  # the pager keeps the sort
    r = browser.get("/cases?sort=password")
    assert r.status_code == 422 and "不能按这一列排序" in r.text
    r = browser.get("/cases?per_page=7")
    assert r.status_code == 422 and "每页条数只能是20、50、100、200" in r.text
    due = browser.get("/cases?sort=due&per_page=20").text.split("<tbody>")[1]
    assert "24时止" in due


def test_audit_page_shows_history_and_administrative_acts(site: Site) -> None:
    with site.db.begin() as conn:
        record_audit(conn, at=site.now, actor="admin", action="user_add", subject="dept_new",
                     detail={"role": "department"})
        # what the rounds, calendar and security engineers' code writes (workflow/amendments.py,
        # workflow/calendar_import.py, workflow/web/throttle.py)
        record_audit(conn, at=site.now, actor="cli:root", action="policy_amend", subject=HZ,
                     detail={"version": 2, "document": "杭经信〔2025〕9号", "reason": "延期", "checksum": "ab12",
                             "amended": 3, "reinstated": 0, "cutoffs": {"employer": "2025-04-21"}})
        record_audit(conn, at=site.now, actor="cli:root", action="calendar_import", subject="2027",
                     detail={"year": 2027, "status": "provisional", "source": "国务院办公厅通知", "replaced": False,
                             "file": "2027.yaml", "identical": False, "override": False})
        record_audit(conn, at=site.now, actor="system", action="login_lockout", subject="emp_b",
                     detail={"key": "user:emp_b", "failures": 10})
    admin = site.browser("admin")
    page = admin.get("/audit").text
    assert_chinese(visible_text(page), "办理日志")
    assert "杭州2025上半年认定" in page and "文号：杭经信〔2025〕9号" in page and "状态：暂定" in page
    assert "连续失败次数：10" in page and "系统" in page
    assert "新增用户" in page and "dept_new" in page and "单位审核通过" in page
    assert "命令行" in page  # the site's users were added through the CLI's functions
    # By case: only that case's rows; a district user never sees administrative acts.
    one = admin.get(f"/audit?case={site.cases['a_notice']}").text.split("<tbody>")[1]
    assert "单位审核通过" in one and "新增用户" not in one
    dept = site.browser("dept_xh").get("/audit").text.split("<tbody>")[1]
    assert "新增用户" not in dept and "李娜" in dept and "赵敏" not in dept
    assert admin.get("/audit?since=2025-02-30").status_code == 422
    xlsx = admin.get("/audit/export.xlsx?action=user_add&actor=admin")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "类别", "操作人", "操作") and [r[3] for r in rows[1:]] == ["新增用户"]


def test_diagram_main_path_by_default_full_view_one_click_away(site: Site) -> None:
    browser = site.browser("admin")
    main = browser.get("/policies/lp-assessment-2022").text
    full = browser.get("/policies/lp-assessment-2022?view=full").text
    source = main.split('class="mermaid"')[1].split("</pre>")[0]
    assert "办结（未取得职称）" in source and "?view=full" in main
    edges = source.count("--&gt;")
    assert edges < full.split('class="mermaid"')[1].count("--&gt;") and edges <= 26
    # one edge per stage into ended states, never one per (stage, way of ending)
    assert "--&gt; rejected" not in source and "--&gt; expired" not in source


def test_a_destructive_action_asks_first_and_bulk_keeps_the_page(site: Site) -> None:
    browser = site.browser("emp_a")
    page = browser.get(f"/cases/{site.cases['a_review']}").text
    assert 'data-confirm="确定对案件' in page and "此操作不可撤回" in page
    r = browser.post("/cases/bulk", data={"case_ids": [str(site.cases["a_review"])], "action": "employer_return",
                                          "back": "state=employer_review&sort=-submitted",
                                          "csrf_token": csrf_of(browser, "/cases")})
    assert r.status_code == 422 and "「单位退回修改」须填写理由" in r.text
    assert 'name="back" value="state=employer_review&amp;sort=-submitted"' in r.text
    assert f'value="{site.cases["a_review"]}" form="bulk" aria-label="选择案件 {site.cases["a_review"]}" checked' \
        in r.text


def test_audit_pages_on_by_cursor_through_ties_without_loss_or_repeat(site: Site) -> None:
    # Many rows share one instant (a sweep writes thousands at the cutoff): a page may end inside them.
    from workflow.web import audit_pages
    from workflow.web.scope import WebUser

    with site.db.begin() as conn:
        for i in range(7):
            record_audit(conn, at=site.now, actor="admin", action="user_add", subject=f"dept_{i}", detail={})
    admin = WebUser(id=1, username="admin", role=Role.admin, scope={})
    f = audit_pages.AuditFilters()
    with site.db.connect() as conn:
        everything = audit_pages.entries(conn, admin, f, 10_000)
        seen: list[audit_pages.Entry] = []
        cursor = None
        for _ in range(100):
            page, cursor = audit_pages.page_of(conn, admin, f, cursor, limit=3)
            seen += page
            if cursor is None:
                break
    assert len(everything) > 12 and sum(e.at == site.now for e in everything) >= 8  # ties across pages
    assert [(e.kind, e.row_id) for e in seen] == [(e.kind, e.row_id) for e in everything]
    assert [e.key for e in seen] == sorted((e.key for e in seen), reverse=True)


def test_audit_page_links_to_older_entries_and_back(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.web import audit_pages

    monkeypatch.setattr(audit_pages, "PAGE_LIMIT", 4)
    browser = site.browser("admin")
    first = browser.get("/audit?since=2025-01-01").text
    assert "最新的 4 条" in first and "回到最新" not in first
    older = re.search(r'href="([^"]+)" data-testid="audit-older"', first)
    assert older is not None and "since=2025-01-01" in older.group(1)
    second = browser.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "较早的" in second.text and "回到最新" in second.text
    first_rows = first.split("<tbody>")[1].split("</tbody>")[0]
    second_rows = second.text.split("<tbody>")[1].split("</tbody>")[0]
    assert second_rows.count("<tr>") == 4 and not set(re.findall(r"<tr>.*?</tr>", first_rows, re.S)) & set(
        re.findall(r"<tr>.*?</tr>", second_rows, re.S))
    bad = browser.get("/audit?before=2025-04-01~9~x")
    assert bad.status_code == 422 and "翻页参数无效" in bad.text

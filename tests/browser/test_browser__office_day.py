"""Issue 15 in a real browser (Debian's Chromium through Playwright): each page for the
administrator, a district department, an employer and a committee, with the rendered text checked
for codes, ids and file names; every document downloaded and opened (openpyxl, pypdfium2); a bulk
action with a failure in it; an action found again in the 办理日志. Screenshots go to artifacts/
(the operator guide in docs/ uses them)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Dialog, Page, expect

from storage.audit import record_audit
from tests.browser.conftest import log_in, open_page, shot
from tests.chinese_text import assert_chinese
from tests.web_support import Site

HZ = "hz-recognition-2025h1"
ROLES = ("admin", "dept_sc", "emp_a", "comm_hz")


def check_page(page: Page, where: str) -> None:
    """The page's rendered text (what a person reads, after scripts ran) carries no code."""
    page.wait_for_load_state("load")
    assert_chinese(page.inner_text("body"), where)


@pytest.mark.parametrize("username", ROLES)
def test_each_page_for_each_role_reads_chinese(site: Site, base_url: str, browser: Browser, backend: str,
                                               username: str) -> None:
    page, elsewhere = open_page(browser, base_url)
    log_in(page, base_url, username)
    check_page(page, f"{username} 概览")
    shot(page, f"{username}-dashboard", backend)

    page.click("header nav a:has-text('案件列表')")
    expect(page.get_by_test_id("total")).to_be_visible()
    check_page(page, f"{username} 案件列表")
    # Sorting by a column keeps itself and the filters in the URL.
    page.click("a[data-sort=submitted]")
    expect(page).to_have_url(re.compile(r"sort=submitted"))
    shot(page, f"{username}-cases", backend)
    first = page.get_by_test_id("case-table").locator("tbody a[href^='/cases/']").first
    if first.count():
        first.click()
        expect(page.get_by_test_id("case-state")).to_be_visible()
        check_page(page, f"{username} 案件")
        shot(page, f"{username}-case", backend)

    page.goto(f"{base_url}/policies/{HZ}")
    expect(page.get_by_test_id("diagram").locator("svg")).to_have_count(1)
    check_page(page, f"{username} 政策")
    shot(page, f"{username}-policy", backend)
    page.click("[data-testid=full-view]")
    expect(page.get_by_test_id("diagram").locator("svg")).to_have_count(1)
    check_page(page, f"{username} 政策（全部）")
    shot(page, f"{username}-policy-full", backend)

    page.click("header nav a:has-text('文档')")
    expect(page.locator("h1")).to_have_text("文档")
    check_page(page, f"{username} 文档")
    shot(page, f"{username}-documents", backend)

    page.click("header nav a:has-text('办理日志')")
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    check_page(page, f"{username} 办理日志")

    # An error page is Chinese too.
    page.goto(f"{base_url}/cases?state=nonsense")
    check_page(page, f"{username} 错误页")
    assert elsewhere == []
    page.close()


def _opened(path: Path, fmt: str) -> str:
    """Open a downloaded document as an office would and return some of its text."""
    if fmt == "xlsx":
        sheet = load_workbook(path).active
        assert sheet is not None
        return " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
    if fmt == "pdf":
        pdf = pdfium.PdfDocument(str(path))
        assert len(pdf) >= 1
        text = pdf[0].get_textpage().get_text_range()
        pdf.close()
        return text
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        return " ".join(" ".join(r) for r in rows)
    return path.read_text(encoding="utf-8")


def test_every_document_downloads_and_opens(site: Site, base_url: str, browser: Browser, backend: str,
                                            tmp_path: Path) -> None:
    page, elsewhere = open_page(browser, base_url)
    log_in(page, base_url, "admin", "/documents")
    links = page.locator("a[data-doc]")
    expect(links.first).to_be_visible()
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert len(hrefs) >= 20
    opened = 0
    for href in hrefs:
        fmt = re.search(r"format=(\w+)", href)[1]  # type: ignore[index]
        if fmt == "html":
            page.goto(base_url + href)
            check_page(page, href)
            page.go_back()
            continue
        with page.expect_download() as info:
            page.click(f"a[href='{href}']")
        target = tmp_path / f"{opened}.{fmt}"
        info.value.save_as(target)
        text = _opened(target, fmt)
        assert text.strip(), href
        assert not re.search(r"\d{3}_[0-9a-f]{16}", text), href  # no seed file name in a document
        opened += 1
    # A 登记表 by case number, from the form on the menu.
    page.fill(f"[data-testid=form-case-{HZ}]", str(site.cases["a_review"]))
    with page.expect_download() as info:
        page.locator("form[action='/documents/form']").first.locator("button").click()
    form = tmp_path / "form.pdf"
    info.value.save_as(form)
    assert "登记表" in _opened(form, "pdf").replace(" ", "")
    shot(page, "documents-menu", backend)
    assert opened >= 10 and elsewhere == []
    page.close()


def test_bulk_action_with_a_failure_keeps_the_selection(site: Site, base_url: str, browser: Browser,
                                                          backend: str) -> None:
    page, elsewhere = open_page(browser, base_url)
    log_in(page, base_url, "emp_a", "/cases")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    chosen = [site.cases[k] for k in ("a_review", "a_review2", "a_draft")]
    for case_id in chosen:
        page.check(f"input[name=case_ids][value='{case_id}']")
    expect(page.get_by_test_id("selected-count")).to_have_text("已选 3 件")

    # A return needs a reason in the browser as in the API: nothing is sent without one.
    page.select_option("#bulk select[name=action]", "employer_return")
    said: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        said.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#bulk button[type=submit]")
    expect(page.get_by_test_id("bulk-summary")).to_have_count(0)
    assert said == ["「单位退回修改」须填写理由。"]

    # Approve the three: the browser asks with the count; the draft fails, the others move.
    page.select_option("#bulk select[name=action]", "employer_approve")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#bulk button[type=submit]")
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("成功 2 件，失败 1 件")
    assert asked and "选中的 3 件案件" in asked[0] and "单位审核通过" in asked[0]
    failed = page.get_by_test_id("bulk-results").locator("tr.risk")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text(f"#{site.cases['a_draft']}")
    expect(failed).to_contain_text("当前状态不允许此操作")
    for case_id in chosen:
        expect(page.locator(f"input[name=case_ids][value='{case_id}']")).to_be_checked()
    check_page(page, "批量结果")
    shot(page, "bulk-with-failure", backend)
    assert [site.state(k) for k in ("a_review", "a_review2", "a_draft")] == [
        "employer_notice", "employer_notice", "draft"]
    assert elsewhere == []
    page.close()


def test_a_destructive_action_asks_first(site: Site, base_url: str, browser: Browser, backend: str) -> None:
    page, _ = open_page(browser, base_url)
    case_id = site.cases["a_review"]
    log_in(page, base_url, "emp_a", f"/cases/{case_id}")
    page.fill("#reason-employer_reject", "不符合认定条件")
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("button[data-action=employer_reject]")
    expect(page.get_by_test_id("case-state")).to_have_text("单位审核")
    assert asked and "单位审核不通过" in asked[0] and "不可撤回" in asked[0]
    assert site.state("a_review") == "employer_review"
    page.close()


def test_an_action_is_found_in_the_audit_page(site: Site, base_url: str, browser: Browser, backend: str,
                                              tmp_path: Path) -> None:
    with site.db.begin() as conn:  # what the user pages write when an administrator adds a user
        record_audit(conn, at=site.now, actor="admin", action="user_add", subject="dept_new",
                     detail={"role": "department", "scope": "上城区"})
    page, elsewhere = open_page(browser, base_url)
    log_in(page, base_url, "emp_a", f"/cases/{site.cases['a_review']}")
    page.fill("#reason-employer_return", "请补充劳动合同")
    page.click("button[data-action=employer_return]")
    expect(page.get_by_test_id("case-state")).to_have_text("退回修改")
    page.close()

    page, elsewhere = open_page(browser, base_url)
    log_in(page, base_url, "admin", "/audit")
    page.fill("input[name=case]", str(site.cases["a_review"]))
    page.select_option("select[name=action]", "employer_return")
    page.click("[data-testid=audit-filters] button[type=submit]")
    rows = page.get_by_test_id("audit-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("单位退回修改")
    expect(rows.first).to_contain_text("用人单位（emp_a）")
    expect(rows.first).to_contain_text("请补充劳动合同")
    shot(page, "audit-filtered", backend)

    page.goto(f"{base_url}/audit?action=user_add")
    expect(page.get_by_test_id("audit-table").locator("tbody tr").first).to_contain_text("新增用户")
    expect(page.get_by_test_id("audit-table").locator("tbody tr").first).to_contain_text("dept_new")
    with page.expect_download() as info:
        page.click("[data-testid=audit-export]")
    path = tmp_path / "audit.xlsx"
    info.value.save_as(path)
    assert "新增用户" in _opened(path, "xlsx")
    check_page(page, "办理日志")
    assert elsewhere == []
    page.close()

"""A person at a browser: Debian's Chromium, driven by Playwright, against uvicorn on 127.0.0.1.
Log in, filter the case list, return a case with a reason, and see the timeline show it. A
screenshot of each step is kept under artifacts/ (git-ignored).

Chromium and a Chinese font come from Debian (scripts/browser-setup installs them when missing);
Playwright never downloads a browser of its own here. Waiting is Playwright's bounded polling
(`expect(...)` with a timeout), never a sleep."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import open_page, shot
from tests.web_support import PASSWORD, Site


def test_log_in_filter_act_and_see_the_timeline(site: Site, base_url: str, browser: Browser,
                                                  backend: str) -> None:
    page, elsewhere = open_page(browser, base_url)

    # Logged out, the case list sends the browser to the login page, which brings it back.
    page.goto(f"{base_url}/cases")
    expect(page).to_have_url(f"{base_url}/login?next=%2Fcases")
    page.fill("#username", "emp_a")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page).to_have_url(f"{base_url}/cases")
    expect(page.get_by_test_id("whoami")).to_contain_text("emp_a · 用人单位")
    expect(page.get_by_test_id("total")).to_have_text("共 5 件")

    # Filter with htmx: choosing a stage replaces the table in place and updates the address.
    # (Until htmx has processed the page, a change would do nothing: the 查询 button is the fallback.)
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.select_option("select[name=state]", "employer_review")
    expect(page.get_by_test_id("total")).to_have_text("共 2 件")
    expect(page).to_have_url(f"{base_url}/cases?state=employer_review")
    rows = page.get_by_test_id("case-table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("330")  # masked ID: first three …
    expect(rows.first).to_contain_text("*")
    shot(page, "case-list-filtered", backend)

    # Open the case and return it with a reason.
    case_id = site.cases["a_review"]
    page.click(f"a[href='/cases/{case_id}']")
    expect(page.get_by_test_id("case-state")).to_have_text("单位审核")
    timeline = page.get_by_test_id("timeline").locator("li")
    expect(timeline).to_have_count(2)  # created, submitted
    page.fill("#reason-employer_return", "学历证明扫描件不清晰，请重新上传")
    page.click("button:has-text('单位退回修改')")

    # The page comes back with the move in the timeline.
    expect(page.locator(".flash.ok")).to_have_text("已完成：单位退回修改")
    expect(page.get_by_test_id("case-state")).to_have_text("退回修改")
    expect(timeline).to_have_count(3)
    expect(timeline.last).to_contain_text("单位退回修改：单位审核 → 退回修改")
    expect(timeline.last).to_contain_text("学历证明扫描件不清晰，请重新上传")
    expect(timeline.last).to_contain_text("用人单位（emp_a）")
    shot(page, "case-returned", backend)
    assert site.state("a_review") == "returned"

    # The dashboard counts the move: one case returned, one fewer in employer review.
    page.click("header nav a:has-text('概览')")
    chart = page.get_by_test_id("stage-chart")
    expect(chart.locator(".row", has_text="退回修改")).to_contain_text("1")
    expect(chart.locator(".row", has_text="单位审核").first).to_contain_text("1")
    shot(page, "dashboard", backend)
    assert elsewhere == []
    page.close()


def test_policy_diagram_and_api_docs_render_offline(site: Site, base_url: str, browser: Browser,
                                               backend: str) -> None:
    page, elsewhere = open_page(browser, base_url)
    page.goto(f"{base_url}/login?next=%2Fpolicies%2Fhz-recognition-2025h1")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.get_by_test_id("policy-timeline")).to_contain_text("2025-04-14")
    # The vendored mermaid.min.js turns the diagram text into an SVG, offline.
    expect(page.get_by_test_id("diagram").locator("svg")).to_have_count(1)
    expect(page.get_by_test_id("diagram")).to_contain_text("单位审核")
    shot(page, "policy-diagram", backend)

    # The API's interactive documentation comes from the vendored Swagger UI, too.
    page.goto(f"{base_url}/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("zcflow")
    expect(page.locator(".opblock-summary-path", has_text="/api/cases/{case_id}/actions")).to_have_count(2)
    shot(page, "api-docs", backend)
    assert elsewhere == []
    page.close()

"""User management in Chromium: an administrator adds a user and disables it, confirming in the
browser's dialog (dismissing it changes nothing); the pages run under the Content-Security-Policy
with no violation. Screenshots under artifacts/."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Dialog, expect

from tests.browser.conftest import open_page, shot  # the fixtures come from tests/browser/conftest.py
from tests.web_support import EMPLOYER_A, PASSWORD, Site


def test_an_admin_adds_and_disables_a_user(site: Site, base_url: str, browser: Browser,
                                           backend: str) -> None:
    page, elsewhere = open_page(browser, base_url)
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    page.goto(f"{base_url}/login?next=%2Fadmin%2Fusers")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.get_by_test_id("users-table")).to_contain_text("emp_a")
    page.get_by_test_id("new-username").fill("emp_new")
    page.get_by_test_id("new-password").fill("a long new passphrase")
    page.get_by_test_id("role").select_option("employer")
    page.fill("input[name=employer]", EMPLOYER_A)
    page.click("button:has-text('添加')")
    expect(page.get_by_test_id("user-emp_new")).to_contain_text("用人单位")
    shot(page, "users", backend)

    page.goto(f"{base_url}/admin/users/emp_new")
    answers = iter([False, True])
    asked: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if next(answers):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.get_by_test_id("disable").click()
    expect(page.get_by_test_id("user-status")).to_have_text("正常")  # dismissed: nothing happened
    page.get_by_test_id("disable").click()
    expect(page.get_by_test_id("user-status")).to_have_text("已停用")
    assert len(asked) == 2 and all(a.startswith("确定停用 emp_new") for a in asked)
    shot(page, "user-disabled", backend)

    # Policy page: the vendored mermaid and its nonce-carrying starter run under the CSP.
    page.goto(f"{base_url}/policies/hz-recognition-2025h1")
    expect(page.get_by_test_id("diagram").locator("svg")).to_have_count(1)
    assert violations == [] and elsewhere == []
    page.close()

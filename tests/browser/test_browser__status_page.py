"""An applicant on a phone: Debian's Chromium, driven by Playwright, opens the status link of an
SMS (CONTRACT §11) on a phone-sized viewport. The page fits the screen without sideways scrolling,
shows the stage, what to do and by when, and whom to call (a tappable number), loads nothing from
elsewhere, and is kept as a screenshot under artifacts/."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from notifications.status_link import link_key, make_token
from tests.browser.conftest import only_local, shot  # the fixtures come from tests/browser/conftest.py
from tests.web_support import Site

PHONE = {"width": 375, "height": 740}  # a common phone's CSS pixels


def test_an_applicant_opens_the_sms_link_on_a_phone(site: Site, base_url: str, browser: Browser,
                                                    backend: str) -> None:
    case_id = site.cases["a_review"]
    case = site.wf.case(case_id)
    token = make_token(link_key(site.db), case_id, site.now)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE,
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    elsewhere = only_local(page, base_url)

    page.goto(f"{base_url}/s/{token}")
    expect(page.get_by_test_id("stage")).to_contain_text("单位审核")
    expect(page.get_by_test_id("todo")).to_contain_text("截止时间")
    expect(page.get_by_test_id("contact").locator("a[href^='tel:']").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(case.id_number)
    # Fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "status-page-phone", backend)

    page.goto(f"{base_url}/s/{token[:-2]}xx")
    expect(page.get_by_test_id("problem")).to_contain_text("链接无效")
    assert elsewhere == []
    context.close()

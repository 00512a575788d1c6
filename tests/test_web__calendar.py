"""The calendar in the admin UI (CONTRACT §10, issue 13): every role sees the years; `city` and
`admin` import one through a CSRF-protected form; deadlines counted on a provisional year are marked
on the case page and in the API; the dashboard warns when next year's schedule is missing.
The 2027 files are MADE UP for tests (tests/data/calendar/), not the State Council's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.vocabulary import Role
from storage.audit import audit_log
from storage.calendar_years import calendar_years
from tests.chinese_text import visible_text
from tests.filings import filing
from tests.web_support import Site, csrf_of
from workflow.clock import SHANGHAI
from workflow.engine import Actor

DATA = Path(__file__).parent / "data" / "calendar"
PROVISIONAL = (DATA / "made-up-2027-provisional.yaml").read_text(encoding="utf-8")
OFFICIAL = (DATA / "made-up-2027.yaml").read_text(encoding="utf-8")


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def stored(db: Engine) -> tuple[int, int]:
    with db.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(calendar_years)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(audit_log).where(
                    audit_log.c.action == "calendar_import")).scalar_one()))


def post_import(site: Site, username: str, content: str, **extra: str) -> object:
    browser = site.browser(username)
    token = csrf_of(browser, "/calendar")
    return browser.post("/calendar/import", data={"content": content, "csrf_token": token, **extra},
                        follow_redirects=False)


@pytest.mark.parametrize("username", ["emp_a", "dept_sc", "comm_hz", "city_hz", "admin"])
def test_every_role_sees_the_calendar(site: Site, username: str) -> None:
    browser = site.browser(username)
    html = browser.get("/").text
    assert 'href="/calendar"' in html
    page = browser.get("/calendar/2026")
    assert page.status_code == 200
    assert "chinesecalendar" in page.text and "春节" in page.text and 'class="day makeup"' in page.text
    can_import = 'data-testid="calendar-import"' in page.text
    assert can_import == (username in ("city_hz", "admin"))


def test_city_imports_a_year_through_the_form(site: Site) -> None:
    r = post_import(site, "city_hz", PROVISIONAL)
    assert r.status_code == 303 and r.headers["location"].startswith("/calendar/2027?moved=")  # type: ignore[attr-defined]
    assert stored(site.db) == (1, 1)
    with site.db.connect() as conn:
        actor = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "calendar_import")).scalar_one()
    assert actor == "city_hz"
    page = site.browser("emp_a").get("/calendar/2027").text
    assert "暂定" in page and "made-up provisional" in page and "导入" in page


def test_employer_may_not_import(site: Site) -> None:
    r = post_import(site, "emp_a", PROVISIONAL)
    assert r.status_code == 403 and "无权导入" in r.text  # type: ignore[attr-defined]
    assert stored(site.db) == (0, 0)


ENGLISH = ("line", "Monday", "give", "is a", "missing", "expected", "differs", "override", "reason", "YAML:")


def error_of(page: str) -> str:
    if 'role="alert">未导入' not in page:
        return ""
    return visible_text(page.split('class="flash err" role="alert">')[1].split("</div>")[0])


@pytest.mark.parametrize(("bad", "expected"), [
    (PROVISIONAL.replace("2027-02-20, ", "2027-02-22, "), "第 13 行：2027-02-22 是周一；调休上班日只能是周六或周日"),
    (PROVISIONAL.replace("to: 2027-02-11", "to: 2027-02-31"),
     "第 9 行：第 2 个假期的结束日期（to）「2027-02-31」不是有效日期"),
    (PROVISIONAL.replace("to: 2027-01-03", "to: 2026-12-30"), "第 8 行：第 1 个假期起止颠倒"),
    (PROVISIONAL.replace("from: 2027-02-05", "from: 2027-01-02"), "与第 8 行的 2027-01-01–2027-01-03（元旦）重叠"),
    (PROVISIONAL.replace("status: provisional", "status: draft"), "第 6 行：状态「draft」无效"),
    (PROVISIONAL.replace("status: provisional", "statu: provisional"), "中的「statu」不是可用的字段"),
    (PROVISIONAL.replace("holidays:\n", "holidays: [\n"), "行：不是有效的 YAML 格式"),
    (PROVISIONAL.replace("2027-09-26", "2027-02-06"), "2027-02-06 既是调休上班日又在第 9 行的假期（春节）内"),
])
def test_a_bad_file_is_refused_in_chinese_naming_the_line(site: Site, bad: str, expected: str) -> None:
    r = post_import(site, "admin", bad)
    assert r.status_code == 422  # type: ignore[attr-defined]
    shown = error_of(r.text)  # type: ignore[attr-defined]
    assert shown.startswith("未导入，数据库未作任何改动。") and expected in shown, shown
    assert not [w for w in ENGLISH if w in shown], shown
    assert stored(site.db) == (0, 0)


def test_a_conflicting_year_is_refused_in_chinese_with_what_to_do(site: Site) -> None:
    official = PROVISIONAL.replace("status: provisional", "status: official")
    assert post_import(site, "admin", official).status_code == 303  # type: ignore[attr-defined]
    other = official.replace("2027-09-26, ", "")
    r = post_import(site, "admin", other)
    shown = error_of(r.text)  # type: ignore[attr-defined]
    assert r.status_code == 422 and "2027 年已导入正式安排" in shown and "1 天不同：2027-09-26" in shown, shown
    assert "请勾选「替换已有的不同安排」并填写原因" in shown and not [w for w in ENGLISH if w in shown]
    package = ("year: 2025\nsource: 测试\nstatus: official\n"
               "holidays:\n  - {from: 2025-01-01, to: 2025-01-02, name: 元旦}\n")
    shown = error_of(post_import(site, "admin", package).text)  # type: ignore[attr-defined]
    assert "第 1 行：系统已内置 2025 年的国务院安排，本文件与之不同" in shown, shown


def test_the_form_needs_its_csrf_token(site: Site) -> None:
    browser = site.browser("admin")
    r = browser.post("/calendar/import", data={"content": PROVISIONAL, "csrf_token": "forged"},
                     follow_redirects=False)
    assert r.status_code == 403
    assert stored(site.db) == (0, 0)


def test_provisional_deadline_is_marked_on_the_case_page_and_in_the_api(site: Site) -> None:
    assert post_import(site, "admin", PROVISIONAL).status_code == 303  # type: ignore[attr-defined]
    policy = "hz-recognition-2022"
    approved = dt.datetime(2027, 2, 16, 10, tzinfo=SHANGHAI)
    case_id = site.wf.create_case(policy, filing(policy, 77), approved - dt.timedelta(hours=2))
    site.wf.fire(case_id, "submit", Actor(Role.applicant), approved - dt.timedelta(hours=1))
    site.wf.fire(case_id, "employer_approve", Actor(Role.employer), approved)

    def marks() -> tuple[bool, bool]:
        due = site.api("admin", "GET", f"/api/cases/{case_id}").json()["due"]
        page = site.browser("admin").get(f"/cases/{case_id}").text
        return due[0]["provisional"], 'data-testid="provisional"' in page

    assert marks() == (True, True)
    assert post_import(site, "admin", OFFICIAL).status_code == 303  # type: ignore[attr-defined]
    assert marks() == (False, False)


def test_dashboard_banner_when_next_year_is_missing(site: Site) -> None:
    site.now = dt.datetime(2026, 10, 31, 23, tzinfo=SHANGHAI)
    assert 'data-testid="calendar-banner"' not in site.browser("dept_sc").get("/").text
    site.now = dt.datetime(2026, 11, 1, 9, tzinfo=SHANGHAI)
    html = site.browser("dept_sc").get("/").text
    assert 'data-testid="calendar-banner"' in html and "2027" in html
    assert post_import(site, "admin", PROVISIONAL).status_code == 303  # type: ignore[attr-defined]
    assert 'data-testid="calendar-banner"' not in site.browser("dept_sc").get("/").text

"""Issue 15's user management, on the pages: an administrator adds users, sets their role and scope,
resets passwords, disables and enables accounts and lifts lockouts; every user changes its own
password (修改密码). Each change is in the audit log with the administrator as actor; destructive
acts ask for confirmation; every form needs the session's CSRF token; only admins manage users."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from storage.audit import audit_entries
from tests.web_support import EMPLOYER_A, PASSWORD, T0, Site, csrf_of
from workflow.web import throttle
from workflow.web.auth import SESSION_COOKIE
from workflow.web.users import authenticate, user_records

NEW = "a brand new passphrase"


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


def audit(db: Engine) -> list[tuple[str, str, str]]:
    with db.connect() as conn:
        return [(e.action, e.actor, e.subject) for e in reversed(audit_entries(conn)) if e.action != "user_add"
                or e.actor != "cli"]


def post(client: TestClient, path: str, data: dict[str, str], page: str = "/admin/users") -> object:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, follow_redirects=False)


def test_an_admin_adds_a_user_who_then_logs_in(site: Site, db: Engine) -> None:
    admin = site.browser("admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "添加用户" in page.text and 'data-testid="user-emp_a"' in page.text
    r = post(admin, "/admin/users", {"username": "emp_c", "password": NEW, "role": "employer",
                                     "employer": EMPLOYER_A})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=added"  # type: ignore[attr-defined]
    assert "已添加用户" in admin.get("/admin/users?done=added").text
    assert authenticate(db, "emp_c", NEW) is not None
    assert audit(db) == [("user_add", "admin", "emp_c")]


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "emp_c", "password": "12345678", "role": "employer", "employer": EMPLOYER_A},
     "密码有误：密码至少 12 个字符"),
    ({"username": "emp_c", "password": "emp_c forever and ever", "role": "employer", "employer": EMPLOYER_A},
     "密码有误：密码不能包含用户名"),
    ({"username": "emp_a", "password": NEW, "role": "employer", "employer": EMPLOYER_A}, "用户名有误"),
    ({"username": "emp\x1b[2Jc", "password": NEW, "role": "employer", "employer": EMPLOYER_A}, "用户名有误"),
    ({"username": "emp_c", "password": NEW, "role": "employer"}, "单位有误"),
    ({"username": "emp_c", "password": NEW, "role": "department", "district": "上城\r\n区"}, "区县有误"),
])
def test_bad_input_on_the_add_form_is_named_in_chinese(site: Site, db: Engine, data: dict[str, str],
                                                       message: str) -> None:
    admin = site.browser("admin")
    r = post(admin, "/admin/users", data)
    assert r.status_code == 422 and message in r.text  # type: ignore[attr-defined]
    assert NEW not in r.text and "12345678" not in r.text  # type: ignore[attr-defined]  # no password echoed
    assert audit(db) == []


def test_scope_reset_disable_enable_unlock_each_audited(site: Site, db: Engine) -> None:
    admin = site.browser("admin")
    victim = site.browser("dept_sc")
    page = "/admin/users/dept_sc"
    r = post(admin, f"{page}/scope", {"role": "department", "district": "西湖区"}, page)
    assert r.status_code == 303
    assert next(u for u in user_records(db) if u.user.username == "dept_sc").user.scope.district == "西湖区"
    r = post(admin, f"{page}/password", {"password": NEW, "confirm": NEW}, page)
    assert r.status_code == 303
    assert victim.get("/", follow_redirects=False).status_code == 303  # the reset ended its session
    assert authenticate(db, "dept_sc", NEW) is not None
    victim = site.browser()
    victim.post("/login", data={"username": "dept_sc", "password": NEW, "csrf_token": csrf_of(victim, "/login")})
    assert victim.get("/", follow_redirects=False).status_code == 200
    assert post(admin, f"{page}/disable", {}, page).status_code == 303
    assert victim.get("/", follow_redirects=False).status_code == 303
    assert "已停用" in admin.get(page).text
    assert post(admin, f"{page}/enable", {}, page).status_code == 303
    with db.begin() as conn:
        for _ in range(throttle.LOCK_AFTER["user"]):
            throttle.record_failure(conn, [throttle.user_key("dept_sc")], throttle.wall_now(), audit_at=T0)
    assert "已锁定" in admin.get(page).text
    assert post(admin, f"{page}/unlock", {}, page).status_code == 303
    assert throttle.locked_keys(db) == {}
    assert audit(db) == [("user_scope", "admin", "dept_sc"), ("user_password_reset", "admin", "dept_sc"),
                         ("user_disable", "admin", "dept_sc"), ("user_enable", "admin", "dept_sc"),
                         ("login_lockout", "system", "dept_sc"), ("login_unlock", "admin", "dept_sc")]


def test_destructive_acts_ask_first(site: Site) -> None:
    text = site.browser("admin").get("/admin/users/dept_sc").text
    forms = re.findall(r"<form[^>]*>", text)
    for act in ("password", "disable"):
        form = next(f for f in forms if f'/admin/users/dept_sc/{act}"' in f)
        assert 'data-confirm="确定' in form, act


def test_only_admins_manage_users(site: Site, db: Engine) -> None:
    for name in ("emp_a", "dept_sc", "city_hz"):
        browser = site.browser(name)
        assert browser.get("/admin/users").status_code == 403
        assert "用户管理" not in browser.get("/").text
        r = post(browser, "/admin/users/emp_b/disable", {}, "/")
        assert r.status_code == 403  # type: ignore[attr-defined]
    assert not next(u for u in user_records(db) if u.user.username == "emp_b").disabled


def test_forms_need_the_sessions_csrf_token(site: Site, db: Engine) -> None:
    admin = site.browser("admin")
    r = admin.post("/admin/users/emp_b/disable", data={"csrf_token": "forged"})
    assert r.status_code == 403
    r = admin.post("/admin/users", data={"username": "x1", "password": NEW, "role": "admin"})
    assert r.status_code == 403
    assert audit(db) == []


def test_everyone_changes_their_own_password(site: Site, db: Engine) -> None:
    browser = site.browser("emp_a")
    assert "修改密码" in browser.get("/").text
    page = "/account/password"
    r = post(browser, page, {"old_password": "wrong one", "new_password": NEW, "confirm": NEW}, page)
    assert r.status_code == 422 and "原密码有误：原密码不正确" in r.text  # type: ignore[attr-defined]
    r = post(browser, page, {"old_password": PASSWORD, "new_password": NEW, "confirm": NEW + "x"}, page)
    assert r.status_code == 422 and "不一致" in r.text  # type: ignore[attr-defined]
    r = post(browser, page, {"old_password": PASSWORD, "new_password": "password12345", "confirm": "password12345"},
             page)
    assert r.status_code == 422 and "密码过于常见" in r.text  # type: ignore[attr-defined]
    cookie = browser.cookies[SESSION_COOKIE]
    r = post(browser, page, {"old_password": PASSWORD, "new_password": NEW, "confirm": NEW}, page)
    assert r.status_code == 303 and r.headers["location"] == "/login?changed=1"  # type: ignore[attr-defined]
    stale = site.client()
    stale.cookies.set(SESSION_COOKIE, cookie)
    assert stale.get("/", follow_redirects=False).status_code == 303
    assert "密码已修改" in site.client().get("/login?changed=1").text
    assert authenticate(db, "emp_a", NEW) is not None
    assert audit(db) == [("user_password", "emp_a", "emp_a")]

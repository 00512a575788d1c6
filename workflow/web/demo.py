"""The web half of `zcflow demo`: one user per role over the demo's data, then the UI.

The users are picked from the loaded round (the busiest employer, its district, the busiest
committee, the city of Hangzhou) so that each sees a realistic slice; they share one demo
password, printed with the address. A restarted demo keeps them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from states.labels import ROLE_LABELS
from storage.repo import cases
from workflow import clock
from workflow.web.app import serve
from workflow.web.scope import WebUser
from workflow.web.users import UserExists, create_user, list_users

DEMO_PASSWORD = "zcflow-demo-2025"
DEMO_POLICY = "hz-recognition-2025h1"


def _busiest(db: Engine, column: str, **where: str) -> str | None:
    col = cases.c[column]
    stmt = select(col).where(col.is_not(None), cases.c.policy_id == DEMO_POLICY)
    for key, value in where.items():
        stmt = stmt.where(cases.c[key] == value)
    with db.connect() as conn:
        found = conn.execute(stmt.group_by(col).order_by(func.count().desc(), col).limit(1)).scalar()
    return str(found) if found is not None else None


def demo_accounts(db: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    """(username, role, scope) for each role, chosen from the cases in `db`."""
    accounts: list[tuple[str, str, dict[str, Any]]] = [("admin", "admin", {})]
    employer = _busiest(db, "employer")
    if employer:
        accounts.append(("employer", "employer", {"employer": employer}))
        district = _busiest(db, "district", employer=employer)
        if district:
            accounts.append(("department", "department", {"district": district}))
    committee = _busiest(db, "committee")
    if committee:
        accounts.append(("committee", "committee", {"committees": [committee]}))
    accounts.append(("city", "city", {"city": "杭州市"}))
    return accounts


def ensure_demo_users(db: Engine) -> list[WebUser]:
    for username, role, scope in demo_accounts(db):
        with contextlib.suppress(UserExists):  # a restarted demo keeps its users
            create_user(db, username, DEMO_PASSWORD, role, scope, clock.now())
    return list_users(db)


def run_demo_web(db: Engine, host: str, port: int, out: Console) -> None:
    """Create the demo users, say how to log in, and serve the UI until Ctrl-C."""
    users = ensure_demo_users(db)
    table = Table("用户名 username", "角色 role", "可见范围 scope", title=f"登录 log in: password {DEMO_PASSWORD}")
    for u in users:
        table.add_row(u.username, f"{ROLE_LABELS[u.role.value]} {u.role.value}", u.scope_text)
    out.print(table)
    out.print(f"admin UI: http://{host}:{port}/  ·  API: http://{host}:{port}/api/  ·  "
              f"OpenAPI: http://{host}:{port}/docs")
    serve(db, host, port)

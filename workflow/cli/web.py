"""`zcflow serve` and `zcflow user …`: the web UI and who may log in to it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from states.text import clip
from workflow.cli.base import (
    AtOpt,
    DbOpt,
    JsonOpt,
    UsageProblem,
    app,
    cli_actor,
    emit_json,
    open_workflow,
    out,
    parse_time,
)

LIST_KEYS = ("committees", "districts", "series", "policies")


def parse_scope_options(values: list[str]) -> dict[str, Any]:
    """`--scope` values as a scope object: one JSON object, or KEY=VALUE pairs (repeatable; the
    list keys committees, districts and series take several values, repeated or comma-separated)."""
    if len(values) == 1 and values[0].lstrip().startswith("{"):
        try:
            data = json.loads(values[0])
        except json.JSONDecodeError as exc:
            raise UsageProblem(f"--scope: not a JSON object: {exc.msg} (column {exc.colno})") from None
        if not isinstance(data, dict):
            raise UsageProblem("--scope: give a JSON object or KEY=VALUE")
        return data
    scope: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise UsageProblem(f"--scope: {clip(item)} is not KEY=VALUE (e.g. --scope employer=杭州示范机电有限公司)")
        if key in LIST_KEYS:
            scope.setdefault(key, []).extend(v.strip() for v in value.split(",") if v.strip())
        elif key in scope:
            raise UsageProblem(f"--scope: {key} given twice")
        else:
            scope[key] = value
    return scope


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    database: DbOpt = None,
) -> None:
    """Run the web UI and the JSON API (set ZCFLOW_SECRET_KEY when several serve processes share
    one database, so that each accepts the others' sessions and tokens)."""
    from workflow.web import serve

    wf = open_workflow(database)
    try:
        serve(wf.db, host, port)
    finally:
        wf.db.dispose()

user_app = typer.Typer(no_args_is_help=True, help="Web users: who may log in, their role and scope.")
app.add_typer(user_app, name="user")

@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="employer, department, committee, city, admin or platform.")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="What the user sees: KEY=VALUE (repeatable) or a JSON object. employer=NAME; "
                        "district=NAME; committees=NAME[,NAME] and/or districts=…,series=…; city=NAME; "
                        "platform: policies=ID[,ID]; admin: none.")] = None,
    password: Annotated[str | None, typer.Option(
        "--password", help="The password (omit to be asked for it, unseen).")] = None,
    at: AtOpt = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a web user."""
    from workflow.errors import InvalidInput
    from workflow.web.users import create_user

    data = parse_scope_options(scope or [])
    when = parse_time(at)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    wf = open_workflow(database)
    try:
        user = create_user(wf.db, username, password, role, data, when, actor=cli_actor())
    except InvalidInput as exc:
        raise UsageProblem(exc.message) from None
    finally:
        wf.db.dispose()
    if as_json:
        emit_json({"id": user.id, "username": user.username, "role": user.role.value,
                   "scope": user.scope.to_json()})
    else:
        out.print(f"user {user.username} added: {user.role.value}, scope {user.scope_text}")

@user_app.command("list")
def user_list(database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the web users with their roles and scopes."""
    from workflow.web.throttle import locked_keys, user_key
    from workflow.web.users import user_records

    wf = open_workflow(database)
    try:
        found = user_records(wf.db)
        locked = locked_keys(wf.db)
    finally:
        wf.db.dispose()
    if as_json:
        emit_json([{"id": r.user.id, "username": r.user.username, "role": r.user.role.value,
                    "scope": r.user.scope.to_json(), "disabled": r.disabled,
                    "locked": user_key(r.user.username) in locked} for r in found])
        return
    table = Table("username", "role", "scope", "status", title=f"{len(found)} users")
    for r in found:
        status = "disabled" if r.disabled else "locked" if user_key(r.user.username) in locked else "active"
        table.add_row(r.user.username, r.user.role.value, json.dumps(r.user.scope.to_json(), ensure_ascii=False),
                      status)
    out.print(table)




@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str | None, typer.Option(
        "--password", help="The new password (omit to be asked for it, unseen).")] = None,
    at: AtOpt = None,
    database: DbOpt = None,
) -> None:
    """Set a user's password (an administrator's reset): ends every session and token of the user."""
    from workflow.web.users import change_password

    when = parse_time(at)
    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    wf = open_workflow(database)
    try:
        change_password(wf.db, username, password, when, actor=cli_actor())
    finally:
        wf.db.dispose()
    out.print(f"password of {username.strip()} changed; its sessions and tokens have ended")


def _set_disabled(username: str, disabled: bool, at: str | None, database: str | None) -> None:
    from workflow.web.users import set_disabled

    when = parse_time(at)
    wf = open_workflow(database)
    try:
        changed = set_disabled(wf.db, username, disabled, when, actor=cli_actor())
    finally:
        wf.db.dispose()
    word = "disabled" if disabled else "enabled"
    if not changed:
        out.print(f"user {username.strip()} was already {word}")
    elif disabled:
        out.print(f"user {username.strip()} disabled; its sessions and tokens have ended")
    else:
        out.print(f"user {username.strip()} enabled")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name.")], at: AtOpt = None,
                 database: DbOpt = None) -> None:
    """Disable a user: no login, and every session and token ends at once."""
    _set_disabled(username, True, at, database)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="Login name.")], at: AtOpt = None,
                database: DbOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False, at, database)


@user_app.command("unlock")
def user_unlock(
    username: Annotated[str | None, typer.Argument(help="Login name locked after failed logins.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="A client address to unlock instead.")] = None,
    at: AtOpt = None,
    database: DbOpt = None,
) -> None:
    """Lift the lockout (or delay) that failed logins put on an account or a client address."""
    from workflow.web import throttle

    if (username is None) == (address is None):
        raise UsageProblem("USERNAME or --address: give one of them")
    when = parse_time(at)
    key = throttle.user_key(username) if username is not None else throttle.addr_key(address)
    wf = open_workflow(database)
    try:
        lifted = throttle.unlock(wf.db, key, when, actor=cli_actor())
    finally:
        wf.db.dispose()
    what = key.split(":", 1)[1]
    out.print(f"{what} unlocked" if lifted else f"{what} was not locked")

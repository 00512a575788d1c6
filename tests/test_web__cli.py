"""`zcflow user add|list` and `zcflow serve`, the commands of workflow/cli/web.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import workflow.web
from tests.web_support import fast_hashing
from workflow.cli import UsageProblem, load_commands
from workflow.cli.web import parse_scope_options
from workflow.web.users import authenticate


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    fast_hashing(monkeypatch)
    return load_commands()


def run(app: typer.Typer, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


def test_user_add_with_each_role_and_its_scope(cli: typer.Typer, db_url: str, db: Engine) -> None:
    cases = [
        ("e1", "employer", ["--scope", "employer=杭州示范机电有限公司"], {"employer": "杭州示范机电有限公司"}),
        ("d1", "department", ["--scope", "district=上城区"], {"district": "上城区"}),
        ("c1", "committee", ["--scope", "committees=甲委员会,乙委员会", "--scope", "committees=丙委员会"],
         {"committees": ["甲委员会", "乙委员会", "丙委员会"]}),
        ("c2", "committee", ["--scope", '{"districts": ["余杭区"], "series": ["制造业"]}'],
         {"districts": ["余杭区"], "series": ["制造业"]}),
        ("t1", "city", ["--scope", "city=无锡市"], {"city": "无锡市"}),
        ("root", "admin", [], {}),
    ]
    for username, role, scope, expected in cases:
        r = run(cli, "user", "add", username, "--role", role, *scope, "--password", "s3cret-passphrase",
                "--database", db_url, "--json")
        assert r.exit_code == 0, (username, r.output, r.exception)
        assert json.loads(r.output)["scope"] == expected
    listed = json.loads(run(cli, "user", "list", "--database", db_url, "--json").output)
    assert [u["username"] for u in listed] == ["c1", "c2", "d1", "e1", "root", "t1"]
    assert authenticate(db, "c2", "s3cret-passphrase") is not None


def test_user_add_asks_for_the_password_when_not_given(cli: typer.Typer, db_url: str, db: Engine) -> None:
    r = run(cli, "user", "add", "admin2", "--role", "admin", "--database", db_url,
            input="long-enough-passphrase\nlong-enough-passphrase\n")
    assert r.exit_code == 0, r.output
    assert "long-enough-passphrase" not in r.output
    assert authenticate(db, "admin2", "long-enough-passphrase") is not None


BAD_INPUT: list[tuple[list[str], str]] = [
    (["--role", "boss"], "role"),
    (["--role", "employer"], "scope.employer"),
    (["--role", "employer", "--scope", "district=上城区"], "scope.district"),
    (["--role", "committee", "--scope", "districts=余杭区"], "scope.series"),
    (["--role", "city", "--scope", "city=上海市"], "scope.city"),
    (["--role", "admin", "--scope", "employer=x"], "scope.employer"),
    (["--role", "admin", "--scope", "employer"], "--scope"),
    (["--role", "admin", "--scope", "{not json"], "--scope"),
    (["--role", "admin", "--password", "short"], "password"),
]


def test_bad_user_input_is_a_usage_problem_naming_the_field(cli: typer.Typer, db_url: str) -> None:
    for args, field in BAD_INPUT:
        if "--password" not in args:
            args = [*args, "--password", "long-enough-passphrase"]
        r = run(cli, "user", "add", "someone", *args, "--database", db_url)
        assert isinstance(r.exception, UsageProblem), (args, r.output)  # workflow.cli.main exits 2 on it
        assert str(r.exception).startswith(field), (args, str(r.exception))


def test_user_add_twice_is_refused(cli: typer.Typer, db_url: str) -> None:
    args = ["user", "add", "root", "--role", "admin", "--password", "long-enough-passphrase", "--database", db_url]
    assert run(cli, *args).exit_code == 0
    r = run(cli, *args)
    assert isinstance(r.exception, UsageProblem)
    assert "already exists" in str(r.exception)


def test_scope_options_parse_pairs_lists_and_json() -> None:
    assert parse_scope_options(["districts=上城区, 西湖区", "series=制造业"]) == {
        "districts": ["上城区", "西湖区"], "series": ["制造业"]}
    assert parse_scope_options(['{"city": "杭州市"}']) == {"city": "杭州市"}
    with pytest.raises(UsageProblem, match="given twice"):
        parse_scope_options(["employer=a", "employer=b"])


def test_serve_runs_the_app_on_the_given_address(cli: typer.Typer, db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Engine, str, int]] = []
    monkeypatch.setattr(workflow.web, "serve", lambda db, host, port: calls.append((db, host, port)))
    r = run(cli, "serve", "--host", "127.0.0.1", "--port", "8765", "--database", db_url)
    assert r.exit_code == 0, r.output
    assert [(host, port) for _, host, port in calls] == [("127.0.0.1", 8765)]
    assert run(cli, "serve", "--port", "70000", "--database", db_url).exit_code == 2

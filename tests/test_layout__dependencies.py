"""The layout's dependency rule, checked: `states/` is pure rules and data (no database, no web),
`storage/` knows nothing of notifications or the workflow, `notifications/` nothing of the workflow;
`workflow/` joins them. Imports inside functions count too. Also: every package is shipped."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("states", "storage", "notifications", "workflow")
FORBIDDEN: dict[str, frozenset[str]] = {
    "states": frozenset({"storage", "notifications", "workflow", "sqlalchemy", "sqlmodel", "psycopg",
                         "fastapi", "starlette", "apscheduler", "jinja2"}),
    "storage": frozenset({"notifications", "workflow", "fastapi", "starlette", "jinja2"}),
    "notifications": frozenset({"workflow", "fastapi", "starlette"}),
}


def imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_tops(path) & FORBIDDEN[layer])
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_checker_sees_lazy_and_dotted_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os.path\n\ndef f():\n    from storage.repo import x\n    import sqlalchemy.orm\n"
                      "from . import sibling\n", encoding="utf-8")
    assert imported_tops(module) == {"os", "storage", "sqlalchemy"}


def test_every_package_is_shipped() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    present = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for layer in LAYERS for init in (ROOT / layer).rglob("__init__.py")
    }
    assert present - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"

"""The lock files cover pyproject.toml: every dependency (runtime and dev extra) is pinned by version
with hashes in requirements/runtime.txt and requirements/dev.txt, which scripts/demo and scripts/test
install with --require-hashes (and zcflow itself with --no-deps). A dependency added to pyproject.toml
without `./scripts/lock` would be missing there: this test names it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def locked(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    # name==version, then an environment marker where the dependency has one (uvloop: not on Windows)
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)(?: ;[^\\\n]*)? \\$", text, re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    for block in blocks[1:]:
        assert "--hash=sha256:" in block, f"{path.name}: {block.splitlines()[0]} has no hash"
    return {k.lower().replace("_", "-"): v for k, v in pins.items()}


def test_every_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = locked(ROOT / "requirements" / "runtime.txt")
    dev = locked(ROOT / "requirements" / "dev.txt")
    missing = [d for d in project["dependencies"] if name(d) not in runtime]
    missing += [d for d in project["optional-dependencies"]["dev"] if name(d) not in dev]
    assert missing == [], f"run ./scripts/lock: {missing} not in requirements/"
    assert {k: v for k, v in runtime.items() if dev.get(k) != v} == {}  # one version of each package
    assert runtime["pylopdf-fonts-zh-cn"] == "0.1.1"  # the CJK font, pinned
    for script in ("test", "demo"):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert "--require-hashes -r requirements/" in text and "--no-deps" in text

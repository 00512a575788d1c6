"""Fixtures and helpers of the browser tests: Debian's Chromium driven by Playwright against uvicorn
on 127.0.0.1, a page that may load only from our server, screenshots under artifacts/."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy.engine import Engine

from tests.web_support import PASSWORD, Site

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium() -> Path:
    # Installs Chromium and a Chinese font from Debian when missing; returns at once otherwise.
    subprocess.run([str(ROOT / "scripts" / "browser-setup")], check=True, timeout=900)
    assert CHROMIUM.exists(), "scripts/browser-setup did not install /usr/bin/chromium"
    return CHROMIUM


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.build(db, monkeypatch)


@pytest.fixture
def base_url(site: Site) -> Iterator[str]:
    """uvicorn serving the site's app in a thread, on a port the OS chose and we hold from the start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 15 s"
        thread.join(timeout=0.05)  # bounded wait on the server thread, not a sleep
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()


def open_page(browser: Browser, base_url: str) -> tuple[Page, list[str]]:
    """A desktop page that may load only from our server (see :func:`only_local`)."""
    page = browser.new_page(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1360, "height": 900})
    return page, only_local(page, base_url)


def only_local(page: Page, base_url: str) -> list[str]:
    """Let `page` load only from our server: anything else is refused and listed (no CDN)."""
    page.set_default_timeout(TIMEOUT_MS)
    elsewhere: list[str] = []

    def ours_or_refused(route: Route) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", ours_or_refused)
    return elsewhere


def shot(page: Page, name: str, backend: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"browser-{name}-{backend}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path




def log_in(page: Page, base_url: str, username: str, target: str = "/") -> None:
    page.goto(f"{base_url}/login?next={quote(target, safe='')}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.get_by_test_id("whoami")).to_contain_text(username)

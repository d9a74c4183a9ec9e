"""The Bürgermonitor in a real browser: Debian's chromium, driven by Playwright for Python.

The page is opened once and never reloaded. Walk-ins draw tickets and a clerk calls one
through the appointments API, and the page shows it; the server is stopped and started
again on the same port (a new application over the same database) and the page shows the
next call by itself, its EventSource having reconnected with Last-Event-ID. Every call is
announced (the page counts announcements in ``data-announced``). Screenshots are kept as
test artefacts.

Without chromium or Playwright the test is skipped on a laptop and fails under CI=true.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from application.clock import FixedClock
from domain.actor import Role
from infrastructure.settings import Settings
from tests.conftest import CLERK, IN_CI, document_places

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "monitor"
PAGE = "/monitor/usingen/buergerbuero"
OFFICE_API = "/api/v1/appointments/usingen/buergerbuero"
WAIT_MS = 30_000  # a hang guard only: every wait below ends as soon as the page shows it


def browser_or_reason() -> str | None:
    """Why the browser test cannot run here (None: it can)."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"Debian's chromium is missing at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
def browser_ready() -> None:
    reason = browser_or_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI needs the browser test: {reason}")
    pytest.skip(reason)


@contextmanager
def serving_on(app: FastAPI, port: int = 0) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 (``port`` 0: any free one) until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the same port after a stop
    sock.bind(("127.0.0.1", port))
    # Open screens keep their streams: a stop cuts them after a second instead of waiting.
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


class Desk:
    """The Usingen office through the appointments API: the kiosk draws, a clerk calls."""

    def __init__(self, base: str, settings: Settings) -> None:
        tokens = DevelopmentTokens(
            settings.token_secret.get_secret_value(),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
        )
        token = tokens.issue(
            subject="anna.schmidt", name=CLERK.display_name, role=Role.CLERK, tenant="usingen"
        )
        self.http = httpx.Client(base_url=f"{base}{OFFICE_API}", timeout=30)
        self.clerk = {"Authorization": f"Bearer {token}"}

    def walk_in(self) -> str:
        drawn = self.http.post("/walk-ins", json={"service": "meldebescheinigung"})
        assert drawn.status_code == 201, drawn.text
        return str(drawn.json()["ticket"])

    def call_next(self, counter: str) -> str:
        called = self.http.post(f"/counters/{quote(counter)}/call-next", headers=self.clerk)
        assert called.status_code == 200, called.text
        return str(called.json()["ticket"])

    def serve(self, ticket: str) -> None:
        served = self.http.post(f"/tickets/{ticket}/served", headers=self.clerk)
        assert served.status_code == 200, served.text


def shoot(page: Any, directory: Path, name: str) -> None:
    """A screenshot into the test's directory and the run's artefacts."""
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(directory / f"{name}.png", ARTIFACTS / f"{name}.png")


def test_the_monitor_shows_each_call_live_and_recovers_after_a_server_restart(
    browser_ready: None, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings = Settings(
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'vorgang.db'}",
        token_secret=SecretStr("monitor-test-secret-0123456789abcdef"),
        feed_heartbeat_seconds=1,
        feed_stream_seconds=120,
    )
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday: the office opens
    app = create_app(settings, clock=clock)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            with serving_on(app) as port:
                desk = Desk(f"http://127.0.0.1:{port}", settings)
                first, second, third = desk.walk_in(), desk.walk_in(), desk.walk_in()
                page.goto(f"http://127.0.0.1:{port}{PAGE}")
                body = page.locator("body")
                expect(page.locator("html")).to_have_attribute("lang", "de")
                expect(page.locator("dd[data-queue=walk_in]")).to_have_text("3", timeout=WAIT_MS)
                expect(body).to_have_attribute("data-connected", "1", timeout=WAIT_MS)
                page.evaluate("window.neverReloaded = true")  # gone with any reload
                page.get_by_role("button", name="Ton einschalten").click()
                expect(body).to_have_attribute("data-sound", "on")
                expect(body).to_have_attribute("data-announced", "0")

                assert desk.call_next("Schalter 3") == first
                expect(page.locator("#newest")).to_contain_text(first, timeout=WAIT_MS)
                expect(page.locator("#newest")).to_contain_text("Schalter 3")
                expect(page.locator("dd[data-queue=walk_in]")).to_have_text("2")
                expect(body).to_have_attribute("data-announced", "1")
                expect(body).to_have_attribute("data-last-announced", first)
                shoot(page, tmp_path, "1-first-call")
            # the server is gone; the page stays open and keeps trying
            expect(body).to_have_attribute("data-connected", "0", timeout=WAIT_MS)
            shoot(page, tmp_path, "2-server-away")

            app = create_app(settings, clock=clock)
            with serving_on(app, port):
                desk = Desk(f"http://127.0.0.1:{port}", settings)
                desk.serve(first)
                assert desk.call_next("Schalter 1") == second
                expect(page.locator("#newest")).to_contain_text(second, timeout=WAIT_MS)
                expect(page.locator("#newest")).to_contain_text("Schalter 1")
                expect(page.locator("#history")).to_contain_text(first)
                expect(page.locator("dd[data-queue=walk_in]")).to_have_text("1")
                expect(body).to_have_attribute("data-announced", "2")
                expect(body).to_have_attribute("data-last-announced", second)
                shoot(page, tmp_path, "3-after-restart")
                assert page.evaluate("window.neverReloaded") is True
                text = page.locator("body").inner_text()
                assert CLERK.display_name not in text  # no person on screen, ever
                assert third not in text  # still waiting: counted, never named
        finally:
            browser.close()

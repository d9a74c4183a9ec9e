"""The clerk console's shell in a real browser: Debian's chromium, driven by Playwright.

A clerk of Usingen signs in with the development form, sees the Posteingang (Usingen's cases,
never Schmitten's), and a case submitted through the API meanwhile appears in the open page by
itself (Server-Sent Events, the page never reloaded). The clerk searches by name (POST) and
opens the statistics. On every page axe-core (installed by ``make pytest`` from the npm
registry into .venv/axe) runs inside the page: no serious or critical violation. The page is
used at 1280 x 800 and by keyboard (the skip link comes first). Screenshots are kept as test
artefacts.

Without chromium, Playwright or axe-core the test is skipped on a laptop and fails under CI=true.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from application.clock import FixedClock
from domain.actor import Role
from infrastructure.settings import Settings
from tests.conftest import IN_CI, document_places
from tests.e2e.test_monitor_browser import CHROMIUM, browser_or_reason, serving_on

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "console"
WAIT_MS = 30_000  # a hang guard only: every wait below ends as soon as the page shows it
SECRET = "console-test-secret-0123456789abcdef"


def console_browser_or_reason() -> str | None:
    """Why the console's browser test cannot run here (None: it can)."""
    reason = browser_or_reason()
    if reason is None and not AXE.exists():
        reason = f"axe-core is missing at {AXE} (make pytest installs it with npm)"
    return reason


@pytest.fixture
def console_browser_ready() -> None:
    reason = console_browser_or_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI needs the console's browser test: {reason}")
    pytest.skip(reason)


def shoot(page: Any, directory: Path, name: str) -> None:
    """A screenshot into the test's directory and the run's artefacts."""
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(directory / f"{name}.png", ARTIFACTS / f"{name}.png")


def accessibility_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # by DevTools: the page's CSP allows
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return found


class Api:
    """Cases submitted the way the portal submits them."""

    def __init__(self, base: str, tokens: DevelopmentTokens) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.tokens = tokens

    def submit(self, tenant: str, name: str) -> dict[str, Any]:
        token = self.tokens.issue(
            subject=f"clerk.{tenant}", name="Portal", role=Role.CLERK, tenant=tenant
        )
        body = {
            "tenant": tenant,
            "service": "general",
            "applicant": {"name": name, "email": "a@example.org", "postal_code": "61250"},
            "data": {"subject": "Sondernutzung"},
        }
        answer = self.http.post(
            "/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 201, answer.text
        case: dict[str, Any] = answer.json()
        return case


def console_app(
    tmp_path: Path, seal_files: tuple[Path, Path]
) -> tuple[FastAPI, DevelopmentTokens, str]:
    """The API with its console on SQLite at a fixed clock, the token issuer and a Usingen
    clerk's token: what each console browser test starts from."""
    settings = Settings(
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'vorgang.db'}",
        token_secret=SecretStr(SECRET),
        feed_heartbeat_seconds=1,
        feed_stream_seconds=120,
    )
    tokens = DevelopmentTokens(SECRET, issuer=settings.token_issuer, audience="vorgang")
    clerk_token = tokens.issue(
        subject="anna.schmidt", name="Anna Schmidt", role=Role.CLERK, tenant="usingen"
    )
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    return create_app(settings, clock=clock), tokens, clerk_token


def test_a_clerk_signs_in_sees_the_posteingang_and_a_new_case_arrives_live(
    console_browser_ready: None, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, tokens, clerk_token = console_app(tmp_path, seal_files)
    with sync_playwright() as playwright, serving_on(app) as port:
        base = f"http://127.0.0.1:{port}"
        api = Api(base, tokens)
        first = api.submit("usingen", "Berta Erstfall")
        elsewhere = api.submit("schmitten", "Schmitten Nachbar")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="de-DE")
            page.goto(f"{base}/console/")
            expect(page).to_have_url(f"{base}/console/sign-in?next=/console/")
            expect(page.locator("html")).to_have_attribute("lang", "de")
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "1-sign-in")

            # keyboard: the skip link is the first stop
            page.keyboard.press("Tab")
            expect(page.locator(":focus")).to_have_text("Zum Inhalt springen")

            page.get_by_label("Token").fill(clerk_token)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Posteingang")).to_be_visible()
            expect(page.locator(f'tr[data-case="{first["id"]}"]')).to_contain_text("Berta Erstfall")
            expect(page.locator("body")).to_contain_text("Angemeldet: Anna Schmidt")
            assert elsewhere["reference"] not in page.locator("main").inner_text()
            expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=WAIT_MS)
            page.evaluate("window.neverReloaded = true")  # gone with any reload
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "2-posteingang")

            arrived = api.submit("usingen", "Carla Neufall")
            row = page.locator(f'tr[data-case="{arrived["id"]}"]')
            expect(row).to_contain_text("Carla Neufall", timeout=WAIT_MS)
            expect(row).to_contain_text(arrived["reference"])
            expect(row.locator(".due")).to_have_text(
                re.compile(r"(im Plan|bald fällig|überfällig|keine Frist)")
            )
            assert page.evaluate("window.neverReloaded") is True
            expect(page.locator("#live-status")).to_contain_text("Posteingang aktualisiert")
            shoot(page, tmp_path, "3-new-case-arrived")

            page.get_by_label("Suche (Aktenzeichen, Name, Anschrift, Text)").fill("Neufall")
            page.get_by_role("button", name="Suchen").click()
            results = page.locator("#search-results")
            expect(results).to_contain_text("1 Vorgang gefunden")
            expect(results).to_contain_text(arrived["reference"])
            assert "Neufall" not in page.url  # the words went in the body
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "4-search")

            page.get_by_role("link", name="Statistik").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Stadt Usingen")
            expect(page.locator("svg[role=img]")).to_have_count(2)
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "5-statistik")

            page.get_by_role("button", name="Abmelden").click()
            expect(page.locator("main")).to_contain_text("Sie sind abgemeldet.")
            page.goto(f"{base}/console/")
            expect(page).to_have_url(f"{base}/console/sign-in?next=/console/")
        finally:
            browser.close()

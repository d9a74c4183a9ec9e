"""The console's case page in a real browser: Debian's chromium, driven by Playwright.

A clerk of Usingen signs in with the development form, opens an applicant's case from the
Posteingang and works it with the generated forms: claims it, asks for information (first
forgetting the questions: the error is shown at the field, which gets the focus), then the
applicant answers through the API and the answer appears in the open page by itself (the
console's event stream; the page is never reloaded), and the decide form arrives with it. The
clerk decides and records the notification; the decision record shows its replay verdict.
axe-core finds no serious or critical violation on the case page, with its forms open.
Screenshots are kept as test artefacts.

Without chromium, Playwright or axe-core the test is skipped on a laptop and fails under CI=true.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import DevelopmentTokens
from domain.actor import Role
from tests.conftest import IN_CI
from tests.e2e.test_console_browser import (
    accessibility_violations,
    console_app,
    console_browser_or_reason,
)
from tests.e2e.test_monitor_browser import CHROMIUM, serving_on

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console-case"
WAIT_MS = 30_000  # a hang guard only: every wait below ends as soon as the page shows it
SECRET = "console-case-test-secret-0123456789abcdef"


@pytest.fixture
def patient_expect() -> Iterator[None]:
    """Waits on the page last up to WAIT_MS (a hang guard: a loaded machine decides slowly)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default again for other tests


@pytest.fixture
def case_browser_ready() -> None:
    reason = console_browser_or_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI needs the case page's browser test: {reason}")
    pytest.skip(reason)


def shoot(page: Any, directory: Path, name: str) -> None:
    """A screenshot into the test's directory and the run's artefacts."""
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(directory / f"{name}.png", ARTIFACTS / f"{name}.png")


class Applicant:
    """The applicant, through the API as the portal sends them."""

    def __init__(self, base: str, tokens: DevelopmentTokens) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        token = tokens.issue(
            subject="portal:4711", name="Erika Beispiel", role=Role.APPLICANT, tenant="usingen"
        )
        self.headers = {"Authorization": f"Bearer {token}"}

    def submit(self) -> dict[str, Any]:
        body = {
            "tenant": "usingen",
            "service": "general",
            "applicant": {"name": "Erika Beispiel", "email": "e@example.org"},
            "data": {"subject": "Sondernutzung Marktplatz"},
        }
        answer = self.http.post("/api/v1/cases", json=body, headers=self.headers)
        assert answer.status_code == 201, answer.text
        case: dict[str, Any] = answer.json()
        return case

    def answer(self, case_id: str, text: str) -> None:
        answer = self.http.post(
            f"/api/v1/cases/{case_id}/provide-information",
            json={"answer": text},
            headers=self.headers,
        )
        assert answer.status_code == 200, answer.text


def test_a_clerk_works_a_case_and_the_applicants_answer_arrives_live(
    case_browser_ready: None,
    patient_expect: None,
    tmp_path: Path,
    seal_files: tuple[Path, Path],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, tokens, clerk_token = console_app(tmp_path, seal_files)
    with sync_playwright() as playwright, serving_on(app) as port:
        base = f"http://127.0.0.1:{port}"
        applicant = Applicant(base, tokens)
        case = applicant.submit()
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="de-DE")
            page.goto(f"{base}/console/sign-in")
            page.get_by_label("Token").fill(clerk_token)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Posteingang")).to_be_visible()

            # open the case from the Posteingang, by keyboard
            link = page.get_by_role("link", name=case["reference"])
            link.focus()
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", level=1)).to_contain_text(case["reference"])
            expect(page.locator("#case-live")).to_contain_text("Erika Beispiel")
            expect(page.locator("body")).to_have_attribute("data-live", "1", timeout=WAIT_MS)
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "1-case")

            page.get_by_role("button", name="Vorgang übernehmen").click()
            expect(page.locator("#case-notice")).to_have_text("Erledigt: Vorgang übernehmen.")
            expect(page.locator("#case-notice")).to_be_focused()
            expect(page.locator("#case-live")).to_contain_text("Anna Schmidt")  # by name
            expect(page.locator("form[data-step=claim]")).to_have_count(0)

            complete = page.locator("form[data-step=confirm_complete]")
            complete.locator("summary").click()
            complete.get_by_role("button", name="Vollständigkeit bestätigen").click()
            expect(page.locator("[data-field=status]")).to_have_text("In Bearbeitung")

            # a field error at the field: the questions forgotten
            request = page.locator("form[data-step=request_information]")
            request.locator("summary").click()
            request.get_by_label("Antwort erbeten bis").fill("2026-03-20")
            request.get_by_role("button", name="Unterlagen oder Angaben nachfordern").click()
            request = page.locator("form[data-step=request_information]")
            questions = request.get_by_label("Fragen an die antragstellende Person")
            expect(questions).to_have_attribute("aria-invalid", "true")
            expect(questions).to_be_focused()
            expect(request.locator("#f-questions-error")).to_have_text(
                "Bitte mindestens einen Eintrag angeben."
            )
            expect(request.get_by_label("Antwort erbeten bis")).to_have_value("2026-03-20")
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "2-field-error")

            questions.fill("Bitte reichen Sie einen Lageplan nach.")
            request.get_by_role("button", name="Unterlagen oder Angaben nachfordern").click()
            expect(page.locator("#case-notice")).to_contain_text("Erledigt: Unterlagen")
            expect(page.locator("[data-field=status]")).to_have_text("Nachforderung")
            page.evaluate("window.neverReloaded = true")  # gone with any reload

            # the applicant answers through the API: the open page shows it by itself
            applicant.answer(case["id"], "Der Lageplan liegt bei.")
            expect(page.locator("[data-field=status]")).to_have_text(
                "In Bearbeitung", timeout=WAIT_MS
            )
            expect(page.locator("#case-live tr[data-event=InformationProvided]")).to_have_count(1)
            expect(page.locator("#case-live-status")).to_contain_text("aktualisiert")
            expect(page.locator("form[data-step=decide]")).to_have_count(1)
            assert page.evaluate("window.neverReloaded") is True
            shoot(page, tmp_path, "3-answer-arrived")

            decide = page.locator("form[data-step=decide]")
            decide.locator("summary").click()
            decide.get_by_label("Ergebnis").select_option(label="Genehmigt")
            decide.get_by_label("Begründung").fill("Die Voraussetzungen liegen vor.")
            decide.get_by_label("Rechtsgrundlage").fill("§ 16 HStrG")
            decide.get_by_role("button", name="Weiteren Eintrag hinzufügen").click()
            decide = page.locator("form[data-step=decide]")
            expect(decide.locator("[name='provisions.1.kind']")).to_be_focused()
            expect(decide.get_by_label("Rechtsgrundlage")).to_have_value("§ 16 HStrG")
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "4-decide-form")
            decide.get_by_label("Rechtsgrundlage").press("Enter")  # sends the decision
            expect(page.locator("#case-notice")).to_contain_text("Erledigt: Entscheiden")
            record = page.locator("article.decision")
            expect(record).to_contain_text("Entscheidung 1: Genehmigt")
            expect(record.locator("[data-verdict]")).to_have_attribute("data-verdict", "consistent")

            notify = page.locator("form[data-step=notify]")
            notify.locator("summary").click()
            notify.get_by_label("Art der Bekanntgabe").select_option(label="Persönlich übergeben")
            notify.get_by_role("button", name="Bekanntgabe erfassen").click()
            expect(page.locator("#case-notice")).to_contain_text("Erledigt: Bekanntgabe")
            expect(page.locator("#case-live")).to_contain_text("Bekanntgegeben")
            assert accessibility_violations(page) == []
            shoot(page, tmp_path, "5-notified")
            events = page.locator("#case-live tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.event)"
            )
            assert events[:2] == ["Submitted", "Claimed"]
            assert events[-2:] == ["Decided", "Notified"]
        except Exception:
            for opened in browser.contexts[0].pages if browser.contexts else ():
                shoot(opened, tmp_path, "failure")  # what the page showed when it failed
            raise
        finally:
            browser.close()

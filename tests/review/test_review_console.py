"""REVIEW (#31): defects of the clerk console found in review.

Each test shows one defect and is marked ``xfail(strict=True)``: it passes once the defect is
fixed (and then the mark must go). Over HTTP with the test client, on SQLite only (nothing
here depends on the database).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from api.console.session import SESSION_COOKIE, Sealer
from application.clock import FixedClock
from domain.actor import Role
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, SECRET
from tests.conftest import document_places, sqlite_target
from tests.polling import until

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings(tmp_path: Path, seal_files: tuple[Path, Path]) -> Settings:
    """SQLite only: these defects do not depend on the database."""
    return Settings(
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
        database_url=sqlite_target(tmp_path).display,
        token_secret=SecretStr(SECRET),
        feed_stream_seconds=0.3,
        read_your_writes_seconds=120,
    )


@pytest.fixture
def console(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def tokens() -> DevelopmentTokens:
    return DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(console: TestClient, token: str) -> str:
    """The development form; the session's CSRF token."""
    page = console.get("/console/sign-in")
    answer = console.post(
        "/console/sign-in",
        data={"token": token, "next": "/console/", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = console.get("/console/statistics")  # any page of the session carries the token
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def clerk_token(
    tokens: DevelopmentTokens,
    *,
    sub: str = "anna.schmidt",
    name: str = "Anna Schmidt",
    tenant: str = "usingen",
    lifetime: timedelta = timedelta(hours=8),
) -> str:
    return tokens.issue(subject=sub, name=name, role=Role.CLERK, tenant=tenant, lifetime=lifetime)


def submit(
    console: TestClient, tokens: DevelopmentTokens, name: str = "Erika Beispiel"
) -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": "usingen", "applicant": {"name": name}}
    response = console.post("/api/v1/cases", json=body, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def bearer(tokens: DevelopmentTokens) -> dict[str, str]:
    """The API's headers for a clerk of Usingen (who enters the test's cases)."""
    return {"Authorization": f"Bearer {clerk_token(tokens, sub='clerk.usingen')}"}


def expire_session(console: TestClient, settings: Settings) -> None:
    """The browser's session cookie as it is after its hours ran out (same session)."""
    sealer = Sealer(settings.id_secret.get_secret_value(), b"session")
    opened = sealer.open(console.cookies[SESSION_COOKIE])
    assert opened is not None
    console.cookies.set(
        SESSION_COOKIE, sealer.seal({**opened, "exp": int(time.time()) - 1}), path="/console"
    )


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    console: TestClient, tokens: DevelopmentTokens
) -> None:
    csrf = sign_in(console, clerk_token(tokens))
    copied = console.cookies[SESSION_COOKIE]  # e.g. from a shared PC's profile, a proxy, malware
    out = console.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    console.cookies.set(SESSION_COOKIE, copied, path="/console")
    replayed = console.get("/console/", follow_redirects=False)
    assert replayed.status_code == 303, "the signed-out session still opens the Posteingang"


def test_the_session_ends_no_later_than_the_token_it_was_opened_with(
    console: TestClient, tokens: DevelopmentTokens, settings: Settings
) -> None:
    short = clerk_token(tokens, lifetime=timedelta(minutes=5))
    sign_in(console, short)
    sealer = Sealer(settings.id_secret.get_secret_value(), b"session")
    opened = sealer.open(console.cookies[SESSION_COOKIE])
    assert opened is not None
    assert opened["exp"] <= time.time() + 5 * 60 + 5, (
        f"the session lasts {(opened['exp'] - time.time()) / 3600:.1f} h; its token 5 min"
    )


def test_an_htmx_command_after_the_session_expired_asks_to_sign_in_again(
    console: TestClient, tokens: DevelopmentTokens, settings: Settings
) -> None:
    case = submit(console, tokens)
    csrf = sign_in(console, clerk_token(tokens))
    page = console.get(f"/console/cases/{case['id']}")
    assert page.status_code == 200
    expire_session(console, settings)  # the tab stayed open over night
    answer = console.post(
        f"/console/cases/{case['id']}/commands/claim",
        data={"csrf_token": csrf, "_version": str(case["version"])},
        headers={**HTMX, "HX-Current-URL": f"http://testserver/console/cases/{case['id']}"},
        follow_redirects=False,
    )
    # htmx swaps nothing for a 403: the button does nothing, the clerk is not told why
    assert answer.status_code == 204, f"{answer.status_code}: {answer.text[:300]}"
    assert answer.headers["HX-Redirect"].startswith("/console/sign-in")


def test_a_form_sent_after_the_session_expired_leads_to_the_sign_in_and_back_to_its_page(
    console: TestClient, tokens: DevelopmentTokens, settings: Settings
) -> None:
    case = submit(console, tokens)
    csrf = sign_in(console, clerk_token(tokens))
    expire_session(console, settings)
    answer = console.post(
        f"/console/cases/{case['id']}/commands/claim",
        data={"csrf_token": csrf, "_version": str(case["version"])},
        follow_redirects=False,
    )
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:300]}"
    assert answer.headers["location"] == f"/console/sign-in?next=/console/cases/{case['id']}"


def test_a_console_page_that_fails_logs_no_text_of_the_error(
    console: TestClient, tokens: DevelopmentTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(console, clerk_token(tokens))

    def failing(*_: Any) -> Any:
        raise RuntimeError("Antragstellerin Erika Beispiel, Lindenweg 3, 61250 Usingen")

    monkeypatch.setattr("api.console.pages.inbox_rows", failing)
    with (
        structlog.testing.capture_logs(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.format_exc_info,
            ]
        ) as logs,
        contextlib.suppress(Exception),
    ):  # the server cuts the response: not the point
        console.get("/console/")
    assert logs, "nothing was logged"
    assert "Erika Beispiel" not in repr(logs), "the error's text (personal data) is in the log"


def test_the_posteingang_and_the_case_name_who_handles_a_case_not_their_account_id(
    console: TestClient, tokens: DevelopmentTokens
) -> None:
    case = submit(console, tokens)
    subject = "5b7e1c9a-3f0d-4f6e-9a51-2c8d7e4b6a10"  # how an OIDC issuer names people
    csrf = sign_in(console, clerk_token(tokens, sub=subject, name="Olga Idc"))
    claimed = console.post(
        f"/console/cases/{case['id']}/commands/claim",
        data={"csrf_token": csrf, "_version": str(case["version"])},
        follow_redirects=False,
    )
    assert claimed.status_code == 303, claimed.text

    def claimed_row() -> re.Match[str] | None:  # the inbox view follows the log: wait for it
        found = re.search(
            rf'<tr data-case="{case["id"]}">.*?</tr>', console.get("/console/").text, re.S
        )
        return found if found and "nicht zugewiesen" not in found.group(0) else None

    row = until("the Posteingang shows the claim", claimed_row, 60.0)
    facts = console.get(f"/console/cases/{case['id']}").text
    holder = re.search(r"<dt>Bearbeitung</dt><dd>([^<]*)</dd>", facts)
    assert holder
    assert subject not in row.group(0), row.group(0)
    assert "Olga Idc" in row.group(0), row.group(0)
    assert holder.group(1) == "Olga Idc", holder.group(1)


def test_a_case_opened_in_the_console_is_logged_as_a_console_read(
    console: TestClient, tokens: DevelopmentTokens
) -> None:
    from uuid import UUID

    from application.access_log import CONSOLE_CASE, AccessLogFilter

    case = submit(console, tokens)
    sign_in(console, clerk_token(tokens))
    assert console.get(f"/console/cases/{case['id']}").status_code == 200
    vorgang: Any = console.app.state.provider.get()  # type: ignore[attr-defined]
    lines = vorgang.access_lines.lines(
        AccessLogFilter(tenant="usingen", case_id=UUID(case["id"])), after=None, limit=10
    )
    assert [line.what for line in lines] == [CONSOLE_CASE]


def test_problems_are_shown_to_the_clerk_in_german(
    console: TestClient, tokens: DevelopmentTokens
) -> None:
    case = submit(console, tokens)
    csrf = sign_in(console, clerk_token(tokens))
    path = f"/console/cases/{case['id']}/commands"
    decide = {"outcome": "approved", "justification": "Passt.", "legal_basis": "§ 16 HStrG"}
    early = console.post(
        f"{path}/decide", data={"csrf_token": csrf, "_version": "1", **decide}, headers=HTMX
    )
    assert 'data-status="409"' in early.text
    console.post(f"{path}/claim", data={"csrf_token": csrf, "_version": "1"})
    past = console.post(
        f"{path}/request_information",
        data={"csrf_token": csrf, "_version": "2", "questions": "Wo?", "reply_by": "2020-01-02"},
        headers=HTMX,
    )
    assert 'data-status="422"' in past.text
    missing = console.get("/console/cases/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    english = re.compile(r"\b(cannot|allowed now|must lie|not found|the)\b")
    for answer in (early, past, missing):
        shown = re.findall(r'(?:role="alert"|class="error field-error")[^>]*>([^<]*)<', answer.text)
        assert shown, answer.text[:500]
        assert not [text for text in shown if english.search(text)], shown


def test_an_admin_signing_in_lands_on_a_page_open_to_them(
    console: TestClient, tokens: DevelopmentTokens
) -> None:
    admin = tokens.issue(subject="ada.admin", name="Ada Admin", role=Role.ADMIN, tenant="usingen")
    page = console.get("/console/sign-in")
    answer = console.post(
        "/console/sign-in",
        data={"token": admin, "next": "/console/", "csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert answer.status_code == 200, f"{answer.status_code}: {answer.url}"

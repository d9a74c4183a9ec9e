"""The documents of a case under review (issue #22): erasure, a new decision after a remedy,
every kind by HTTP, bad input, a failed postbox, who may read, withdrawal, double sending,
history and feed. One app for the module (SQLite), few PDFs rendered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from application.clock import FixedClock
from domain.working_days import berlin_date
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, SECRET, Auth
from tests.conftest import sqlite_target

PROBLEM = "application/problem+json"
REJECTION = {"outcome": "rejected", "justification": "Lage ungeeignet", "legal_basis": "§ 1"}


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    """Monday 2 March 2026, 09:00 in Germany; tests only move it forward."""
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, seal_files: tuple[Path, Path], clock: FixedClock
) -> Iterator[TestClient]:
    """One app for every test here: each test works on cases of its own."""
    root = tmp_path_factory.mktemp("documents-review")
    key, certificate = seal_files
    settings = Settings(
        database_url=sqlite_target(root).display,
        token_secret=SECRET,
        retry_after_seconds=2,
        read_your_writes_seconds=120,
        documents_dir=str(root / "documents"),
        postbox_dir=str(root / "postbox"),
        print_dir=str(root / "print"),
        seal_key_file=str(key),
        seal_certificate_file=str(certificate),
    )
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


def vorgang_of(client: TestClient) -> Any:
    return client.app.state.provider.get()  # type: ignore[attr-defined]


def problem(response: Any, status: int, field: str | None = None) -> str:
    """The response is a problem of this status, naming ``field``: its first message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    if field is None:
        return str(body.get("detail"))
    assert [e["field"] for e in body["errors"]][:1] == [field], body
    return str(body["errors"][0]["message"])


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    if response.headers["content-type"] == "application/pdf":
        return response.content
    return response.json()


def general_case(client: TestClient, auth: Auth, sub: str, **applicant: str) -> str:
    """A general case submitted by ``sub`` through the portal, claimed and complete: its URL."""
    body = {**NEW_CASE, "applicant": {**NEW_CASE["applicant"], **applicant}}
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub=sub))
    url: str = ok(created, 201) and created.headers["Location"]
    for path in ("/claim", "/confirm-complete"):
        ok(client.post(url + path, headers=auth("clerk")))
    return url


def rejected(client: TestClient, auth: Auth, sub: str) -> str:
    """A general case rejected (not yet notified): its URL."""
    url = general_case(client, auth, sub, street="Am Markt", house_number="1", city="Usingen")
    ok(client.post(url + "/decide", json=REJECTION, headers=auth("clerk")))
    return url


def issue(client: TestClient, auth: Auth, url: str, kind: str = "decision", **more: Any) -> Any:
    return client.post(url + "/documents", json={"kind": kind, **more}, headers=auth("clerk"))


def erase(client: TestClient, auth: Auth, url: str, subjects: Any) -> None:
    case_id = url.rsplit("/", 1)[-1]
    ok(
        client.post(
            f"/api/v1/admin/cases/{case_id}/erasure",
            json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": subjects},
            headers=auth("admin"),
        )
    )


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


# ------------------------------------------------------------------ (1) erasure


def test_after_erasing_the_applicant_the_document_is_gone_and_nothing_new_goes_to_them(
    client: TestClient, auth: Auth
) -> None:
    url = rejected(client, auth, "portal:r1")
    ok(issue(client, auth, url), 201)
    ok(client.get(url + "/documents/1", headers=auth("clerk")))
    erase(client, auth, url, ["applicant"])

    gone = client.get(url + "/documents/1", headers=auth("clerk"))
    problem(gone, 410)
    listed = ok(client.get(url + "/documents", headers=auth("clerk")))
    assert [d["number"] for d in listed] == [1]

    # Sending the letter to the erased address: refused, naming the channel.
    for channel in ("letter", "portal", "counter"):
        sending = client.post(
            url + "/documents/1/sendings", json={"channel": channel}, headers=auth()
        )
        problem(sending, 422, "channel")
    # A new letter to an addressee whose name and address are erased: refused, not a 500.
    for channel in (None, "letter"):
        problem(issue(client, auth, url, channel=channel), 422, "addressee")
    assert [d["number"] for d in ok(client.get(url + "/documents", headers=auth()))] == [1]

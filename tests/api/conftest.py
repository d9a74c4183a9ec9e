"""An API client over a real store (SQLite and PostgreSQL), and tokens for every role."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import DevelopmentTokens
from application.clock import FixedClock
from domain.actor import Role, Scope
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from tests.conftest import document_places

SECRET = "api-test-secret-0123456789abcdef-xyz"


@pytest.fixture
def settings(target: DatabaseTarget, tmp_path: Path, seal_files: tuple[Path, Path]) -> Settings:
    return Settings(
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
        database_url=target.display,
        token_secret=SECRET,
        retry_after_seconds=2,
        feed_stream_seconds=0.3,  # the test client reads a response only once it ended
        # Read-your-writes waits this long at most: a busy machine lengthens the wait, it
        # never turns a correct read into a 503 (tests of the 503 set their own).
        read_your_writes_seconds=120,
    )


@pytest.fixture
def client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def tokens() -> DevelopmentTokens:
    return DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")


Auth = Callable[..., dict[str, str]]


@pytest.fixture
def auth(tokens: DevelopmentTokens) -> Auth:
    """Headers for a person: auth("clerk"), auth("applicant", sub="portal:1"), ..."""

    def headers(
        role: str = "clerk",
        *,
        sub: str | None = None,
        tenant: str = "usingen",
        on_behalf_of: str | None = None,
        scopes: Iterable[Scope] | None = None,
        **extra: str,
    ) -> dict[str, str]:
        if scopes is None:  # a service account reading the feed, unless a test says otherwise
            scopes = (Scope.FEED_READ,) if role == "integrator" else ()
        token = tokens.issue(
            subject=sub or f"{role}.{tenant}",
            name=f"{role.title()} Person",
            role=Role(role),
            tenant=tenant,
            on_behalf_of=on_behalf_of,
            scopes=scopes,
        )
        return {"Authorization": f"Bearer {token}", **extra}

    return headers


NEW_CASE = {
    "tenant": "usingen",
    "service": "general",
    "applicant": {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"},
    "data": {"subject": "Sondernutzung"},
}

"""The API starts while PostgreSQL is unreachable, answers 503 with Retry-After, and recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, SECRET, Auth
from tests.api.tcp_proxy import TcpProxy
from tests.conftest import drop_postgres_schema, fresh_postgres_target

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


def eventually(check, seconds: float = 15.0):  # type: ignore[no-untyped-def]
    """Call check until it returns a true value, or fail after some seconds."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail("the API did not recover in time")
        time.sleep(0.3)


def test_unreachable_database_gives_503_then_the_api_recovers(
    pg: DatabaseTarget, auth: Auth
) -> None:
    proxy = TcpProxy(int(pg.env["POSTGRES_PORT"]))
    schema = pg.env["POSTGRES_SCHEMA"]
    url = (
        f"postgresql://postgres@127.0.0.1:{proxy.port}/{pg.env['POSTGRES_DBNAME']}?schema={schema}"
    )
    settings = Settings(
        database_url=url, token_secret=SECRET, connect_timeout_seconds=2, retry_after_seconds=3
    )
    clerk = auth("clerk")
    try:
        with TestClient(create_app(settings)) as client:  # starts although nothing listens
            assert client.get("/health").status_code == 200
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.headers["Retry-After"] == "3"
            down = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk)
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["Retry-After"] == "3"
            assert client.post("/api/v1/cases", json=NEW_CASE).status_code == 401

            proxy.up()
            eventually(lambda: client.get("/ready").status_code == 200)
            created = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk)
            assert created.status_code == 201
            case_url = created.headers["Location"]

            proxy.down()  # the database goes away while the API runs
            eventually(lambda: client.get("/ready").status_code == 503)
            during = client.get(case_url, headers=clerk)
            assert during.status_code == 503
            # Answered by the watch's gate, before any statement could meet the library's
            # retries (a database error after them says "…; try again shortly.").
            assert during.json()["detail"] == "the database is not reachable"
            assert during.headers["Retry-After"] == "3"

            proxy.up()
            eventually(lambda: client.get(case_url, headers=clerk).status_code == 200)
            claimed = client.post(case_url + "/claim", headers=clerk)
            assert claimed.status_code == 200
    finally:
        proxy.down()

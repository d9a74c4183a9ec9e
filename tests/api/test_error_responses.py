"""Every error is a problem with a request id: unexpected 500s, unreadable and oversized bodies,
malformed If-Match; responses with personal data are never stored by caches."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from api.app import create_app
from api.context import ResponseAborted
from application.clock import FixedClock
from domain.actor import Scope
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, SECRET, Auth
from tests.api.live_server import serving
from tests.conftest import sqlite_target

SECRET_INPUT = "eyJ0YW1wZXJlZCI6ICJjdXJzb3IifQ"  # what a tampered cursor could look like

failing = APIRouter()


@failing.get("/test/fails")
def fails() -> None:
    """A route that meets an error nobody expected, quoting its input."""
    raise ValueError(f"invalid literal for int() with base 10: {SECRET_INPUT!r}")


@failing.get("/test/fails-midway")
def fails_midway() -> StreamingResponse:
    """A stream that breaks after its first bytes went out."""

    def rows() -> Iterator[str]:
        yield "first row\n"
        raise ValueError(f"bad row {SECRET_INPUT!r}")

    return StreamingResponse(rows(), media_type="text/csv")


@pytest.fixture
def failing_app(tmp_path: Path, clock: FixedClock) -> FastAPI:
    """The real application (on SQLite) with one route that always fails."""
    settings = Settings(database_url=sqlite_target(tmp_path).display, token_secret=SECRET)
    app = create_app(settings, clock=clock, run_projections=False)
    app.include_router(failing)
    return app


@pytest.fixture
def failing_client(failing_app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions stays on: an error escaping the app fails the test.
    with TestClient(failing_app) as test_client:
        yield test_client


def test_an_unexpected_error_is_a_500_problem_carrying_the_request_id(
    failing_client: TestClient,
) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        response = failing_client.get("/test/fails", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "req-500"
    assert response.json()["request_id"] == "req-500"
    assert response.json()["status"] == 500
    error = next(line for line in logs if line["event"] == "unexpected error")
    assert error["request_id"] == "req-500"
    assert error["error"] == "ValueError"
    assert error["where"][0].startswith("ValueError at test_error_responses.py:")
    access = next(line for line in logs if line["event"] == "request")
    assert (access["request_id"], access["status"]) == ("req-500", 500)


def test_an_unexpected_error_logs_where_it_failed_but_no_input_it_quoted(
    failing_client: TestClient,
) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        failing_client.get("/test/fails", params={"cursor": SECRET_INPUT})
    assert any(line["event"] == "unexpected error" for line in logs)
    assert SECRET_INPUT not in repr(logs)


def test_an_error_after_the_response_started_cuts_it_and_is_logged_with_the_request_id(
    failing_client: TestClient,
) -> None:
    with (
        structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as logs,
        pytest.raises(ResponseAborted),  # the server cuts the connection: the body is incomplete
    ):
        failing_client.get("/test/fails-midway", headers={"X-Request-ID": "req-cut"})
    error = next(line for line in logs if line["event"] == "unexpected error")
    assert (error["request_id"], error["response_started"]) == ("req-cut", True)
    assert SECRET_INPUT not in repr(logs)


def test_the_connection_stays_open_after_an_unexpected_error(failing_app: FastAPI) -> None:
    with serving(failing_app) as base:
        address = urlsplit(base)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=20)
        try:
            connection.request("GET", "/test/fails")
            failed = connection.getresponse()
            failed.read()
            connection.request("GET", "/health")  # the same connection, kept alive
            healthy = connection.getresponse()
            healthy.read()
        finally:
            connection.close()
    assert failed.status == 500
    assert failed.getheader("X-Request-ID")
    assert failed.getheader("Connection") != "close"
    assert healthy.status == 200


def body_error(response: Any) -> dict[str, Any]:
    """The one error a problem about the body names."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert (errors[0]["in"], errors[0]["field"]) == ("body", "body")
    found: dict[str, Any] = errors[0]
    return found


def post_raw(client: TestClient, auth: Auth, content: bytes) -> Any:
    headers = auth("clerk", **{"Content-Type": "application/json"})
    return client.post("/api/v1/cases", content=content, headers=headers)


def test_a_json_syntax_error_names_the_body_by_line_and_column(
    client: TestClient, auth: Auth
) -> None:
    content = b'{\n  "tenant": "usingen",\n  "service" "general"\n}'
    response = post_raw(client, auth, content)
    assert response.status_code == 422
    error = body_error(response)
    assert (error["line"], error["column"]) == (3, 13)
    assert "line 3, column 13" in error["message"]
    assert "delimiter" in error["message"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"tenant": "usingen\xff\xfe"}', "UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000, "deeply"),
        (b'{"tenant": ' + b"7" * 5_000 + b"}", "digits"),
    ],
    ids=["invalid-utf-8", "nested-10000-deep", "number-of-5000-digits"],
)
def test_a_body_that_cannot_be_parsed_is_a_problem_naming_the_body(
    client: TestClient, auth: Auth, content: bytes, says: str
) -> None:
    response = post_raw(client, auth, content)
    assert response.status_code == 400
    assert says in body_error(response)["message"]


def test_a_body_over_the_limit_is_refused_before_the_token_is_checked(
    client: TestClient,
) -> None:
    content = b'{"tenant": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/cases", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413  # not 401: nothing was read or checked
    assert response.headers["X-Request-ID"]
    assert "1048576 bytes" in body_error(response)["message"]


def test_a_chunked_body_is_counted_refused_past_the_limit_and_passed_on_within_it(
    client: TestClient, auth: Auth
) -> None:
    headers = auth("clerk", **{"Content-Type": "application/json", "Idempotency-Key": "c-1"})

    def oversized() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB in all, without a Content-Length
            yield b" " * (64 * 1024)

    refused = client.post("/api/v1/cases", content=oversized(), headers=headers)
    assert refused.status_code == 413
    body_error(refused)

    encoded = json.dumps(NEW_CASE).encode()

    def within() -> Iterator[bytes]:
        yield encoded[:10]
        yield encoded[10:]

    accepted = client.post("/api/v1/cases", content=within(), headers=headers)
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("if_match", ['W/"1"', '"1', '1"', "1", '"01"'], ids=repr)
def test_if_match_is_one_strong_etag_or_a_422_naming_it(
    client: TestClient, auth: Auth, if_match: str
) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("clerk")).json()
    response = client.post(
        f"/api/v1/cases/{case['id']}/claim", headers=auth("clerk", **{"If-Match": if_match})
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "If-Match"


def test_responses_with_case_data_are_never_stored_by_caches(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk)
    url = f"/api/v1/cases/{created.json()['id']}"
    answers = [
        created,
        client.get(url, headers=clerk),
        client.post(url + "/claim", headers=clerk),
        client.get(url + "/history", headers=clerk),
        client.get(url + "/decisions", headers=clerk),
        client.get("/api/v1/cases", params={"q": "Mustermann"}, headers=clerk),
        client.get("/api/v1/inbox", headers=clerk),
        client.get(url, headers=auth("clerk", tenant="schmitten")),  # a problem, too
        client.get(  # the event stream, with personal data granted
            "/api/v1/feed/stream",
            params={"after": "0"},
            headers=auth("integrator", scopes=(Scope.FEED_READ, Scope.PERSONAL_DATA)),
        ),
    ]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.url

"""Bad input is a 4xx problem naming the parameter, never a 500 or a hang (SQLite and PostgreSQL).

Dates at the calendar's edges, tampered cursors, feed sequences that are not ASCII digits
or lie beyond every position, versions beyond any case, NUL characters (PostgreSQL cannot
store them), streams that must be refused before their first byte, and read-your-writes
positions beyond the log's head or ahead of a lagging view.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from application.clock import FixedClock
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang
from projections.audit_query import AuditQuery
from tests.api.conftest import NEW_CASE, Auth
from tests.api.live_server import serving

PROBLEM = "application/problem+json"


def submit(client: TestClient, auth: Auth, **applicant: str) -> dict[str, Any]:
    body = {**NEW_CASE, "applicant": {"name": "Max Mustermann", **applicant}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk"))
    assert response.status_code == 201, response.text
    return response.json()


def token(raw: bytes) -> str:
    """A cursor as the API encodes one, around any bytes."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def names(response: httpx.Response, status: int = 422) -> list[tuple[str, str]]:
    """Assert a problem+json of ``status``; the (in, field) of each error it names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    return [(e["in"], e["field"]) for e in body.get("errors", [])]


def vorgang_of(client: TestClient) -> Vorgang:
    built: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    return built


# ----------------------------------------------------------------------------- dates


def test_search_dates_at_the_calendars_edges_mean_no_bound(client: TestClient, auth: Auth) -> None:
    case = submit(client, auth)
    clerk = auth("clerk")
    for params in (
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "0001-01-02", "to": "9999-12-30"},
    ):
        response = client.get(
            "/api/v1/cases",
            params={**params, "min_position": case["position"]},
            headers=clerk,
        )
        assert response.status_code == 200, (params, response.text)
        assert [i["case_id"] for i in response.json()["items"]] == [case["id"]], params


# --------------------------------------------------------------------------- cursors

TAMPERED = {
    "deeply nested": token(b"[" * 10_000 + b"]" * 10_000),
    "nested within the size bound": token(b"[" * 150 + b"]" * 150),
    "a word": token(b'["x"]'),
    "null": token(b"[null]"),
    "a huge float": token(b"[1e30]"),
    "two numbers": token(b"[1, 2]"),
    "three numbers": token(b"[1, 2, 3]"),
    "a boolean": token(b"[true]"),
    "a number beyond BIGINT": token(b"[99999999999999999999]"),
    "a negative number": token(b"[-1]"),
    "a NUL in text": token(b'["a\\u0000b", "c"]'),
    "not JSON": token(b"\xff\xfe"),
    "not base64": "!!!",
    "an object": token(b'{"a": 1}'),
}
CURSOR_ROUTES = {
    "inbox": ("/api/v1/inbox", "clerk"),
    "audit": ("/api/v1/audit", "auditor"),
    "search": ("/api/v1/cases", "clerk"),
    "search with words": ("/api/v1/cases?q=Mustermann", "clerk"),
}


@pytest.mark.parametrize("route", CURSOR_ROUTES)
def test_tampered_cursors_are_422_naming_the_cursor_on_every_cursor_paged_route(
    client: TestClient, auth: Auth, route: str
) -> None:
    submit(client, auth)
    path, role = CURSOR_ROUTES[route]
    for kind, cursor in TAMPERED.items():
        response = client.get(path, params={"cursor": cursor}, headers=auth(role))
        assert names(response) == [("query", "cursor")], kind


def test_cursors_the_api_handed_out_still_page(client: TestClient, auth: Auth) -> None:
    last = [submit(client, auth) for _ in range(3)][-1]
    for path, role in CURSOR_ROUTES.values():
        headers = auth(role)
        first = client.get(
            path, params={"limit": 2, "min_position": last["position"]}, headers=headers
        )
        assert first.status_code == 200, (path, first.text)
        cursor = first.json()["next_cursor"]
        assert cursor is not None, path
        second = client.get(path, params={"limit": 2, "cursor": cursor}, headers=headers)
        assert second.status_code == 200, (path, second.text)
        assert second.json()["items"], path


@pytest.mark.parametrize(
    "after",
    [
        "²",  # str.isdigit() says yes, int() says no
        "\u0663",  # an Arabic-Indic digit three
        "\uff11",  # a full-width digit one
        "9223372036854775808",  # one beyond BIGINT
        "99999999999999999999",  # twenty nines
        "1" * 21,
        "-1",
        "1 ",
        "",
    ],
)
def test_a_feed_cursor_that_is_not_a_sequence_is_422_naming_after(
    client: TestClient, auth: Auth, after: str
) -> None:
    response = client.get("/api/v1/feed", params={"after": after}, headers=auth("integrator"))
    assert names(response) == [("query", "after")]


def test_a_feed_cursor_beyond_the_last_published_sequence_is_422(
    client: TestClient, auth: Auth
) -> None:
    submit(client, auth)
    integrator = auth("integrator")
    events: list[dict[str, Any]] = []
    while not events:  # the feed view publishes the submission
        events = client.get(
            "/api/v1/feed", params={"after": "0", "wait": 5}, headers=integrator
        ).json()
    head = int(events[-1]["sequence"])
    at_head = client.get("/api/v1/feed", params={"after": str(head)}, headers=integrator)
    assert at_head.status_code == 200
    assert at_head.json() == []
    beyond = client.get("/api/v1/feed", params={"after": str(head + 1000)}, headers=integrator)
    assert names(beyond) == [("query", "after")]
    assert "beyond the head" in beyond.json()["detail"]


def test_a_case_version_beyond_any_case_is_422_naming_version(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth)
    for version in ("9223372036854775808", "2147483648", "0"):
        response = client.get(
            f"/api/v1/cases/{case['id']}", params={"version": version}, headers=auth("clerk")
        )
        assert names(response) == [("query", "version")], version
    assert (
        client.get(
            f"/api/v1/cases/{case['id']}", params={"version": "1"}, headers=auth("clerk")
        ).status_code
        == 200
    )


# ------------------------------------------------------------------------------ NUL

NUL_QUERIES = [
    ("/api/v1/inbox", {"service": "a\x00b"}, "clerk", "service"),
    ("/api/v1/inbox", {"status": "\x00"}, "clerk", "status"),
    ("/api/v1/audit", {"case_id": "a\x00b"}, "auditor", "case_id"),
    ("/api/v1/audit", {"event_type": "a\x00b", "format": "csv"}, "auditor", "event_type"),
    ("/api/v1/stats", {"service": "a\x00b"}, "supervisor", "service"),
    ("/api/v1/cases", {"q": "Max\x00"}, "clerk", "q"),
    ("/api/v1/feed", {"service": "a\x00b"}, "integrator", "service"),
    ("/api/v1/teams", {"tenant": "a\x00b"}, "admin", "tenant"),
]


@pytest.mark.parametrize(("path", "params", "role", "field"), NUL_QUERIES)
def test_a_nul_character_in_a_query_parameter_is_422_naming_it(
    client: TestClient, auth: Auth, path: str, params: dict[str, str], role: str, field: str
) -> None:
    response = client.get(path, params=params, headers=auth(role))
    assert names(response) == [("query", field)]


def test_a_nul_character_in_a_path_parameter_is_422_naming_it(
    client: TestClient, auth: Auth
) -> None:
    response = client.get("/api/v1/cases/a%00b", headers=auth("clerk"))
    assert names(response) == [("path", "case_id")]


def test_a_nul_character_in_a_body_string_is_422_naming_the_field(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth)
    supervisor = auth("supervisor")
    assigned = client.post(
        f"/api/v1/cases/{case['id']}/assign",
        json={"assignee": {"id": "anna\u0000schmidt", "name": "Anna"}, "reason": "Urlaub"},
        headers=supervisor,
    )
    assert names(assigned) == [("body", "assignee.id")]
    noted = client.post(
        f"/api/v1/cases/{case['id']}/notes", json={"text": "a\u0000b"}, headers=auth("clerk")
    )
    assert names(noted) == [("body", "text")]
    for body, field in (
        ({**NEW_CASE, "applicant": {"name": "Max\u0000"}}, "applicant.name"),
        ({**NEW_CASE, "data": {"subject": "So\u0000ndernutzung"}}, "data"),
        ({**NEW_CASE, "data": {"items": [{"note": "\u0000"}]}}, "data"),
    ):
        submitted = client.post("/api/v1/cases", json=body, headers=auth("clerk"))
        assert names(submitted) == [("body", field)], body
    # nothing was stored, and every read model still follows the log
    head = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk")).json()
    assert head["version"] == case["version"]
    inbox = client.get(
        "/api/v1/inbox", params={"min_position": case["position"]}, headers=auth("clerk")
    )
    assert inbox.status_code == 200
    assert [i["case_id"] for i in inbox.json()["items"]] == [case["id"]]


# --------------------------------------------------------------------------- streams


@pytest.mark.parametrize(
    "last_event_id",
    [b"9999999999999999999", b"99999999999999999999999", "²".encode(), "\u0661".encode(), b"1e3"],
)
def test_an_event_stream_with_a_bad_last_event_id_is_refused_before_the_first_byte(
    client: TestClient, auth: Auth, last_event_id: bytes
) -> None:
    headers: dict[str, str | bytes] = {**auth("integrator"), "Last-Event-ID": last_event_id}
    response = client.get("/api/v1/feed/stream", headers=headers)
    assert names(response) == [("header", "Last-Event-ID")]
    assert "retry:" not in response.text


def test_an_event_stream_resuming_beyond_the_head_is_refused_before_the_first_byte(
    client: TestClient, auth: Auth
) -> None:
    submit(client, auth)
    integrator = auth("integrator")
    beyond = client.get("/api/v1/feed/stream", headers={**integrator, "Last-Event-ID": "1000000"})
    assert names(beyond) == [("header", "Last-Event-ID")]
    assert "beyond the head" in beyond.json()["detail"]
    after = client.get("/api/v1/feed/stream", params={"after": "1000000"}, headers=integrator)
    assert names(after) == [("query", "after")]
    from_start = client.get("/api/v1/feed/stream", headers={**integrator, "Last-Event-ID": "0"})
    assert from_start.status_code == 200
    assert from_start.text.startswith("retry: ")


def test_the_audit_csv_export_refuses_a_bad_parameter_before_the_first_byte(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth)
    auditor = auth("auditor")
    for params, field in (
        ({"actor_id": "x\x00"}, "actor_id"),
        ({"min_position": str(case["position"] + 1000)}, "min_position"),
        ({"recorded_from": "yesterday"}, "recorded_from"),
    ):
        response = client.get("/api/v1/audit", params={"format": "csv", **params}, headers=auditor)
        assert names(response) == [("query", field)], params
    whole = client.get(
        "/api/v1/audit",
        params={"format": "csv", "min_position": case["position"]},
        headers=auditor,
    )
    assert whole.status_code == 200
    assert whole.text.startswith("position,case_id")
    assert case["id"] in whole.text


def test_the_audit_csv_export_reads_its_first_batch_before_the_response_starts(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlite3.OperationalError("the view cannot be read")

    monkeypatch.setattr(AuditQuery, "page", unreadable)
    response = client.get("/api/v1/audit", params={"format": "csv"}, headers=auth("auditor"))
    assert names(response, 503) == []  # a problem, not a 200 whose CSV breaks off
    assert "Retry-After" in response.headers


# ------------------------------------------------------------------- read your writes

WAITING_ROUTES = {
    "inbox": ("/api/v1/inbox", "clerk"),
    "audit_trail": ("/api/v1/audit", "auditor"),
    "case_stats": ("/api/v1/stats", "supervisor"),
    "case_search": ("/api/v1/cases", "clerk"),
}


@pytest.mark.parametrize("view", WAITING_ROUTES)
def test_a_min_position_beyond_the_logs_head_is_422_at_once(
    client: TestClient, auth: Auth, view: str
) -> None:
    case = submit(client, auth)
    path, role = WAITING_ROUTES[view]
    for beyond in (case["position"] + 1, 2**62, 2**63 - 1, 2**63, 10**30):
        response = client.get(path, params={"min_position": beyond}, headers=auth(role))
        assert names(response) == [("query", "min_position")], beyond


def test_a_lagging_view_answers_503_view_catching_up_with_retry_after_and_its_position(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = vorgang_of(client).settings
    patient = settings.read_your_writes_seconds  # a following view is waited for, however slow
    first = submit(client, auth)
    clerk = auth("clerk")
    assert (
        client.get(
            "/api/v1/inbox", params={"min_position": first["position"]}, headers=clerk
        ).status_code
        == 200
    )
    runner = vorgang_of(client).projections.runners["inbox"]
    runner.stop()  # the view stops following the log: it never reaches the second submission
    try:
        second = submit(client, auth)
        monkeypatch.setattr(settings, "read_your_writes_seconds", 0.2)  # no need to wait long
        lagging = client.get(
            "/api/v1/inbox", params={"min_position": second["position"]}, headers=clerk
        )
    finally:
        monkeypatch.setattr(settings, "read_your_writes_seconds", patient)
        runner.start()
    assert lagging.status_code == 503
    assert lagging.headers["content-type"].startswith(PROBLEM)
    assert lagging.headers["Retry-After"] == "1"
    problem = lagging.json()
    assert problem["type"].endswith("/view-catching-up")
    assert problem["view"] == "inbox"
    assert first["position"] <= problem["position"] < second["position"]
    assert problem["min_position"] == second["position"]
    caught_up = client.get(
        "/api/v1/inbox", params={"min_position": second["position"]}, headers=clerk
    )
    assert caught_up.status_code == 200


def test_sixty_requests_waiting_for_a_lagging_view_leave_health_answering(
    settings: Settings, clock: FixedClock, auth: Auth
) -> None:
    assert settings.read_your_writes_seconds >= 120  # every waiter outlasts the scenario
    app = create_app(settings, clock=clock)
    clerk = auth("clerk")
    waiters = 60
    with serving(app) as base:
        vorgang: Vorgang = app.state.provider.get()
        runner = vorgang.projections.runners["inbox"]
        runner.stop()  # the inbox lags behind every submission from now on
        created = httpx.post(f"{base}/api/v1/cases", json=NEW_CASE, headers=clerk, timeout=30)
        assert created.status_code == 201
        position = created.json()["position"]

        async def scenario() -> tuple[int, int, list[int]]:
            limits = httpx.Limits(max_connections=waiters + 10)
            async with httpx.AsyncClient(base_url=base, timeout=150, limits=limits) as http:
                lagging = [
                    asyncio.create_task(
                        http.get("/api/v1/inbox", params={"min_position": position}, headers=clerk)
                    )
                    for _ in range(waiters)
                ]
                deadline = time.monotonic() + 60
                while vorgang.projections.waiting < waiters:  # all of them are waiting now
                    assert time.monotonic() < deadline, vorgang.projections.waiting
                    await asyncio.sleep(0.02)
                health = await http.get("/health")
                done_before_health = sum(task.done() for task in lagging)
                runner.start()  # the view catches up: every waiting request answers
                answers = await asyncio.gather(*lagging)
                return health.status_code, done_before_health, [a.status_code for a in answers]

        health, done_before_health, statuses = asyncio.run(scenario())
    assert health == 200
    assert done_before_health == 0  # /health answered while all sixty were still waiting
    assert statuses == [200] * waiters

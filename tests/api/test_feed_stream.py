"""The event stream (Server-Sent Events) and the feed's grants, over a real server.

A stream stays open, so these tests run the application behind uvicorn and read it with
httpx: every event exactly once and in order while writers run, resuming with
Last-Event-ID, heartbeats, and a hundred open streams served by one reader without a
thread or a database connection each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cloudevents.v1.http import from_dict
from fastapi.testclient import TestClient

from api.app import create_app
from application.clock import FixedClock
from domain.actor import Scope
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, Auth
from tests.api.live_server import serving
from tests.api.test_feed_api import NAME, read_all, submit

SUBMITTED = "de.vorgang.case.submitted.v1"
COMPLETE = "de.vorgang.case.completeness_confirmed.v1"


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse an SSE body: each event's ``id`` and ``data``; comments as ``{"comment": ...}``."""
    event: dict[str, Any] = {}
    for line in lines:
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line.startswith("id: "):
            event["id"] = line[4:]
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
        elif line == "" and event:
            yield event
            event = {}


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"feed_stream_seconds": 60, "feed_heartbeat_seconds": 0.3})


def test_a_stream_yields_every_event_once_in_order_and_resumes_with_last_event_id(
    live_settings: Settings, clock: FixedClock, auth: Auth
) -> None:
    app = create_app(live_settings, clock=clock)
    clerk = auth("clerk")
    integrator = auth("integrator", sub="svc-archive")
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        stop = threading.Event()
        written: list[str] = []

        def write() -> None:
            while not stop.is_set() and len(written) < 12:
                body = {**NEW_CASE, "applicant": {"name": NAME}}
                case = http.post("/api/v1/cases", json=body, headers=clerk).json()
                http.post(f"/api/v1/cases/{case['id']}/claim", headers=clerk)
                http.post(f"/api/v1/cases/{case['id']}/confirm-complete", headers=clerk)
                written.append(case["id"])

        writer = threading.Thread(target=write)
        writer.start()
        received: list[dict[str, Any]] = []
        heartbeats = 0
        try:
            last_id = "0"
            for attempt in range(3):  # break off twice mid-stream, resume with Last-Event-ID
                headers = {**integrator, "Last-Event-ID": last_id}
                with http.stream("GET", "/api/v1/feed/stream", headers=headers) as response:
                    assert response.status_code == 200
                    assert response.headers["content-type"].startswith("text/event-stream")
                    taken = 0
                    for event in sse_events(response.iter_lines()):
                        if "comment" in event:
                            heartbeats += 1
                            if not writer.is_alive() and len(received) >= 2 * len(written):
                                break
                            continue
                        received.append(event)
                        last_id = event["id"]
                        taken += 1
                        if attempt < 2 and taken == 5:
                            break  # the connection drops here
        finally:
            stop.set()
            writer.join(timeout=60)
    ids = [e["id"] for e in received]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids), "an event came twice"
    for event in received:
        assert event["data"]["sequence"] == event["id"]
        from_dict(event["data"])  # a valid CloudEvent
        assert NAME not in json.dumps(event)  # no personal data without the grant
    kinds: dict[str, list[str]] = {}
    for event in received:
        kinds.setdefault(event["data"]["subject"], []).append(event["data"]["type"])
    assert set(kinds) == set(written)
    assert all(kinds[case_id] == [SUBMITTED, COMPLETE] for case_id in written)
    assert heartbeats >= 1


def database_connections() -> int:
    """This process's open database handles: sockets to PostgreSQL and SQLite files."""
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[2].endswith(":1538"):  # the remote port 5432
                    sockets.add(f"socket:[{fields[9]}]")
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            count += link in sockets or link.endswith(".db")
    return count


def threads_reading_the_feed() -> int:
    """Threads whose stack is inside a feed read right now."""
    return sum(
        any("feed_query" in f.f_code.co_filename for f in walk(frame))
        for frame in sys._current_frames().values()
    )


def walk(frame: Any) -> Iterator[Any]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def test_a_hundred_streams_share_one_reader_without_a_thread_or_connection_each(
    live_settings: Settings, clock: FixedClock, auth: Auth
) -> None:
    app = create_app(live_settings, clock=clock)
    integrator = auth("integrator")
    clerk = auth("clerk")
    streams = 100
    with serving(app) as base:
        httpx.post(f"{base}/api/v1/cases", json=NEW_CASE, headers=clerk, timeout=30)

        async def scenario() -> dict[str, Any]:
            limits = httpx.Limits(max_connections=streams + 10)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
                case_id: asyncio.Future[str] = asyncio.get_running_loop().create_future()

                async def follow() -> int:
                    async with http.stream(
                        "GET", "/api/v1/feed/stream", headers=integrator
                    ) as response:
                        assert response.status_code == 200
                        seen = 0
                        async for line in response.aiter_lines():
                            if line.startswith("data: "):
                                seen += 1
                                if case_id.done() and case_id.result() in line:
                                    return seen
                    raise AssertionError("the stream ended before the event arrived")

                threads_before = threading.active_count()
                connections_before = database_connections()
                followers = [asyncio.create_task(follow()) for _ in range(streams)]
                broadcaster = None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    broadcaster = getattr(app.state, "feed_broadcaster", None)
                    if broadcaster is not None and broadcaster.listening == streams:
                        break
                    await asyncio.sleep(0.05)
                assert broadcaster is not None
                assert broadcaster.listening == streams
                deadline = time.monotonic() + 30  # a hang guard only
                while threads_reading_the_feed():  # the streams' first reads, then all idle
                    assert time.monotonic() < deadline, "idle streams keep reading the feed"
                    await asyncio.sleep(0.05)
                figures = {
                    "threads": threading.active_count() - threads_before,
                    "reading": threads_reading_the_feed(),
                    "connections": database_connections() - connections_before,
                    "reads_before": broadcaster.reads,
                }
                created = await http.post("/api/v1/cases", json=NEW_CASE, headers=clerk)
                case_id.set_result(created.json()["id"])
                counts = await asyncio.wait_for(asyncio.gather(*followers), 30)
                figures["reads"] = broadcaster.reads - figures["reads_before"]
                figures["counts"] = counts
                return figures

        figures = asyncio.run(scenario())
    # idle streams hold no thread: none is inside a feed read, and the pool stays small
    assert figures["reading"] == 0
    assert figures["threads"] < 45  # anyio's worker pool is capped at 40, whatever the streams
    assert figures["counts"] == [1] * streams  # each stream saw exactly the new event
    assert figures["reads"] <= 5  # one database read served all hundred streams
    assert figures["connections"] < 10  # the pool's, not one per stream


def test_heartbeats_keep_an_idle_stream_open_and_it_ends_to_rebalance(
    live_settings: Settings, clock: FixedClock, auth: Auth
) -> None:
    settings = live_settings.model_copy(update={"feed_stream_seconds": 1.2})
    app = create_app(settings, clock=clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        started = time.monotonic()
        response = http.get("/api/v1/feed/stream", headers=auth("integrator"))
        took = time.monotonic() - started
    assert response.status_code == 200
    assert response.text.startswith("retry: 3000")
    assert response.text.count(": heartbeat") >= 2
    assert took > 1.0  # it ended by itself (a return at all), not before its period


def granted(auth: Auth, role: str = "integrator", *scopes: Scope) -> dict[str, str]:
    return auth(role, scopes=scopes or (Scope.FEED_READ, Scope.PERSONAL_DATA))


def test_personal_data_only_with_the_grant_and_never_once_erased(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth)
    with_grant = read_all(client, granted(auth))
    assert with_grant[0]["data"]["personal"] == {"applicant": {"name": NAME}}
    auditor = read_all(client, auth("auditor"))
    assert auditor[0]["data"]["personal"]["applicant"]["name"] == NAME
    for without in (auth("integrator"), auth("supervisor"), auth("admin")):
        assert NAME not in json.dumps(read_all(client, without))
    streamed = client.get("/api/v1/feed/stream", params={"after": "0"}, headers=granted(auth))
    assert NAME in streamed.text
    plain = client.get("/api/v1/feed/stream", params={"after": "0"}, headers=auth("integrator"))
    assert case["id"] in plain.text
    assert NAME not in plain.text
    page = client.get("/api/v1/feed", headers=granted(auth))
    assert page.headers["Cache-Control"] == "private, no-store"

    erase = {"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]}
    erased = client.post(
        f"/api/v1/admin/cases/{case['id']}/erasure", json=erase, headers=auth("admin")
    )
    assert erased.status_code == 200
    after = read_all(client, granted(auth))
    assert after
    assert all("personal" not in e["data"] for e in after)
    assert NAME not in json.dumps(after)
    assert "gelöscht" not in json.dumps(after)  # erased data is absent, not a placeholder
    streamed = client.get("/api/v1/feed/stream", params={"after": "0"}, headers=granted(auth))
    assert case["id"] in streamed.text
    assert NAME not in streamed.text


def test_a_service_account_reads_what_its_scopes_grant_and_only_its_tenant(
    client: TestClient, auth: Auth
) -> None:
    submit(client, auth)
    submit(client, auth, tenant="schmitten")
    no_scope = client.get("/api/v1/feed", headers=auth("integrator", scopes=()))
    assert no_scope.status_code == 403
    assert no_scope.headers["content-type"].startswith("application/problem+json")
    assert "feed:read" in no_scope.json()["detail"]
    only_personal = auth("integrator", scopes=(Scope.PERSONAL_DATA,))
    assert client.get("/api/v1/feed/stream", headers=only_personal).status_code == 403
    schmitten = auth("integrator", tenant="schmitten")
    streamed = client.get("/api/v1/feed/stream", params={"after": "0"}, headers=schmitten)
    sources = {
        e["data"]["source"] for e in sse_events(iter(streamed.text.splitlines())) if "data" in e
    }
    assert sources == {"/tenants/schmitten"}
    foreign = client.get("/api/v1/feed/stream", params={"tenant": "usingen"}, headers=schmitten)
    assert foreign.status_code == 403
    bad = client.get("/api/v1/feed/stream", headers={**schmitten, "Last-Event-ID": "x"})
    assert bad.status_code == 422
    assert "Last-Event-ID" in bad.text

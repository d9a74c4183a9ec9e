"""The Bürgermonitor: latency from a clerk's call to the board on forty waiting-room screens.

One uvicorn server in this process (SQLite, a clock fixed on a Monday morning so the office
is open whatever day the benchmark runs). Forty screens follow
``GET /monitor/usingen/buergerbuero/events``; a clerk calls walk-ins one after another
(``POST .../counters/{counter}/call-next``, the previous ticket at that counter marked served
first, untimed). Each screen timestamps the board that names the called ticket as newest.

Baseline, measured in the same run on the same server: the plain SSE round trip of the
integration feed — a case submitted over HTTP until its event reaches forty feed streams.
Both paths are a command over HTTP, a projection, one broadcaster and an SSE write, so the
ratio shows what the call board adds. Printed as p50/p99 and as ratios to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from application.clock import FixedClock
from benchmarks.api_throughput import NEW_CASE
from benchmarks.support import quiet_logging, table
from domain.actor import Role, Scope
from infrastructure.settings import Settings

SECRET = secrets.token_urlsafe(32)  # development tokens of this run only
TENANT, OFFICE = "usingen", "buergerbuero"
APPOINTMENTS = f"/api/v1/appointments/{TENANT}/{OFFICE}"
EVENTS = f"/monitor/{TENANT}/{OFFICE}/events"
COUNTERS = ("Schalter 1", "Schalter 2", "Schalter 3")
SUBMITTED = "de.vorgang.case.submitted.v1"
MONDAY_MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Usingen, the office opens


@contextmanager
def serving(database: Path) -> Iterator[str]:
    """The real application behind uvicorn on 127.0.0.1, in a thread; yields the base URL."""
    settings = Settings(
        database_url=f"sqlite:///{database}",
        token_secret=SecretStr(SECRET),
        documents_dir=str(database.parent / "documents"),
        postbox_dir=str(database.parent / "postbox"),
        print_dir=str(database.parent / "print"),
    )
    app = create_app(settings, clock=FixedClock(MONDAY_MORNING))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the benchmark server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def bearer(role: Role, subject: str, scopes: tuple[Scope, ...] = ()) -> dict[str, str]:
    """A development token of this run."""
    tokens = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")
    token = tokens.issue(subject=subject, name="Benchmark", role=role, tenant=TENANT, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def monitor_latencies(base: str, screens: int, calls: int) -> tuple[list[float], list[float]]:
    """Call → board on every screen, and the call's own round trip, in seconds."""
    clerk = bearer(Role.CLERK, "anna.schmidt")
    sent: dict[str, float] = {}
    arrivals: list[dict[str, float]] = []
    round_trips: list[float] = []
    limits = httpx.Limits(max_connections=screens + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        for _ in range(calls):
            drawn = await http.post(f"{APPOINTMENTS}/walk-ins", json={"service": "anmeldung"})
            drawn.raise_for_status()
        connected = asyncio.Semaphore(0)

        async def watch() -> None:
            arrived: dict[str, float] = {}
            arrivals.append(arrived)
            async with http.stream("GET", EVENTS) as response:
                async for line in response.aiter_lines():
                    if line.startswith("retry:"):
                        connected.release()
                    elif line.startswith("data: "):
                        board = json.loads(line[6:])
                        newest = board["calls"][0]["ticket"] if board["calls"] else None
                        if newest in sent and newest not in arrived:
                            arrived[newest] = time.perf_counter()
                            if len(arrived) == calls:
                                return

        watchers = [asyncio.create_task(watch()) for _ in range(screens)]
        for _ in range(screens):
            await asyncio.wait_for(connected.acquire(), 60)
        at_counter: dict[str, str] = {}
        for index in range(calls):
            counter = COUNTERS[index % len(COUNTERS)]
            if counter in at_counter:  # the counter's last citizen was served: untimed
                served = f"{APPOINTMENTS}/tickets/{at_counter[counter]}/served"
                (await http.post(served, headers=clerk)).raise_for_status()
            started = time.perf_counter()
            called = await http.post(
                f"{APPOINTMENTS}/counters/{quote(counter)}/call-next", headers=clerk
            )
            round_trips.append(time.perf_counter() - started)
            called.raise_for_status()
            ticket = called.json()["ticket"]
            sent[ticket] = started
            at_counter[counter] = ticket
            await wait_until_everyone_saw(arrivals, ticket, screens)
        await asyncio.wait_for(asyncio.gather(*watchers), 120)
    deliveries = [at - sent[ticket] for arrived in arrivals for ticket, at in arrived.items()]
    return deliveries, round_trips


async def wait_until_everyone_saw(arrivals: list[dict[str, float]], key: str, n: int) -> None:
    """One command at a time: the next starts once every client has the last."""
    deadline = time.monotonic() + 60
    while sum(key in arrived for arrived in arrivals) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{key} did not reach every client within a minute")
        await asyncio.sleep(0.001)


async def feed_latencies(base: str, streams: int, commands: int) -> tuple[list[float], list[float]]:
    """The baseline: a submission over HTTP → its event on every feed stream, in seconds."""
    reader = bearer(Role.INTEGRATOR, "svc-bench", (Scope.FEED_READ,))
    clerk = bearer(Role.CLERK, "anna.schmidt")
    sent: dict[str, float] = {}
    arrivals: list[dict[str, float]] = []
    round_trips: list[float] = []
    limits = httpx.Limits(max_connections=streams + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        connected = asyncio.Semaphore(0)

        async def follow() -> None:
            arrived: dict[str, float] = {}
            arrivals.append(arrived)
            async with http.stream("GET", "/api/v1/feed/stream", headers=reader) as response:
                async for line in response.aiter_lines():
                    if line.startswith("retry:"):
                        connected.release()
                    elif line.startswith("data: "):
                        event = json.loads(line[6:])
                        if event["type"] == SUBMITTED and event["subject"] in sent:
                            arrived[event["subject"]] = time.perf_counter()
                            if len(arrived) == commands:
                                return

        followers = [asyncio.create_task(follow()) for _ in range(streams)]
        for _ in range(streams):
            await asyncio.wait_for(connected.acquire(), 60)
        for index in range(commands):
            started = time.perf_counter()
            body = {**NEW_CASE, "applicant": {"name": f"Person {index}"}}
            created = await http.post("/api/v1/cases", json=body, headers=clerk)
            round_trips.append(time.perf_counter() - started)
            created.raise_for_status()
            case_id = created.json()["id"]
            sent[case_id] = started
            await wait_until_everyone_saw(arrivals, case_id, streams)
        await asyncio.wait_for(asyncio.gather(*followers), 120)
    deliveries = [at - sent[case_id] for arrived in arrivals for case_id, at in arrived.items()]
    return deliveries, round_trips


def row(name: str, values: list[float], baseline: list[float]) -> list[str]:
    """p50 and p99 in milliseconds, and each as a ratio to the baseline's."""
    p50, p99 = statistics.median(values), percentile(values, 99)
    b50, b99 = statistics.median(baseline), percentile(baseline, 99)
    return [
        name,
        f"{len(values):,}",
        f"{p50 * 1000:.1f}",
        f"{p99 * 1000:.1f}",
        f"{p50 / b50:.2f}",
        f"{p99 / b99:.2f}",
    ]


def main(argv: list[str] | None = None) -> int:
    """Print call-to-screen latency beside the feed's SSE round trip."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monitor")
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    args = parser.parse_args(argv)
    quiet_logging()
    screens, calls = (40, 10) if args.quick else (40, 60)
    print(f"Bürgermonitor: {screens} screens, {calls} calls one after another (SQLite)")
    with (
        tempfile.TemporaryDirectory() as directory,
        serving(Path(directory) / "monitor.db") as base,
    ):
        feed, feed_trips = asyncio.run(feed_latencies(base, screens, calls))
        boards, call_trips = asyncio.run(monitor_latencies(base, screens, calls))
    header = ["path", "samples", "p50 ms", "p99 ms", "p50 ÷ base", "p99 ÷ base"]
    rows = [
        row("feed: submit → feed stream (baseline)", feed, feed),
        row("monitor: call → board on screen", boards, feed),
        row("  submit round trip (HTTP)", feed_trips, feed),
        row("  call round trip (HTTP)", call_trips, feed),
    ]
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

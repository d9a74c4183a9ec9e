"""The integration feed: paging throughput beside the notification log, and stream latency.

Paging: a log of real cases (submitted, claimed, confirmed complete — two of the three
events are published) on SQLite and PostgreSQL; the feed is paged from the start through
the real route (``GET /api/v1/feed``, pages of 500, in-process test client) and through its
query alone, beside reading the same range from the notification log, raw and decoded
(the ceiling any feed built on the log can reach). Printed as events/s and as the ratio
feed ÷ raw log.

Streaming: a uvicorn server of its own (``benchmarks.api_server``, SQLite) with a hundred
clients following ``GET /api/v1/feed/stream``; submissions arrive at a steady pace and each
client timestamps the moment the submission's event reaches it. Latency from sending the
command to delivery at every client (p50/p99), beside the command's own round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from benchmarks.api_throughput import NEW_CASE, serve
from benchmarks.support import (
    SqliteFiles,
    fresh_database,
    postgres_unreachable,
    quiet_logging,
    table,
)
from domain.actor import Actor, Role, Scope
from domain.case_steps import CLAIM, CONFIRM_COMPLETE
from domain.tenants import TENANTS
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.feed_query import FeedFilter, FeedQuery

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
PAGE = 500
SECRET = secrets.token_urlsafe(32)  # development tokens of this run only
SUBMITTED = "de.vorgang.case.submitted.v1"


def seed(vorgang: Vorgang, cases: int) -> None:
    """Cases with three events each: two published (submitted, complete), one internal."""
    service = vorgang.cases
    for index in range(cases):
        created = service.submit(
            actor=CLERK,
            tenant="usingen",
            service="general",
            applicant={"name": f"Person {index}", "email": f"p{index}@example.org"},
            data={"subject": "Sondernutzung"},
        )
        vorgang.commands.handle(created.case_id, CLAIM(), CLERK, None)
        vorgang.commands.handle(created.case_id, CONFIRM_COMPLETE(), CLERK, None)
    vorgang.projections.catch_up()


def timed(read: Callable[[], int], rounds: int) -> tuple[int, float]:
    """Items per read and the median seconds of ``rounds`` reads, after one untimed."""
    read()  # warm: first-request costs (thread pool, caches) are not paging
    counts, seconds = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        counts.append(read())
        seconds.append(time.perf_counter() - started)
    return counts[0], statistics.median(seconds)


def paging_rows(dialect: str, cases: int, rounds: int, files: SqliteFiles) -> list[list[str]]:
    """Events/s paging the feed (route, query) and reading the log (raw, decoded)."""
    with fresh_database(dialect, files) as target:
        settings = Settings(database_url=target.display, token_secret=SecretStr(SECRET))
        vorgang = build(settings)
        try:
            seed(vorgang, cases)
            recorder = vorgang.store.recorder
            mapper = vorgang.store.mapper
            head = recorder.max_notification_id() or 0
            query = FeedQuery(vorgang.views)
            everything = FeedFilter(tenants=tuple(TENANTS))

            def log_raw(decode: bool = False) -> int:
                count, start = 0, 1
                while start <= head:
                    page = recorder.select_notifications(start, PAGE, stop=head)
                    if not page:
                        break
                    if decode:
                        for notification in page:
                            mapper.to_domain_event(notification)
                    count += len(page)
                    start = page[-1].id + 1
                return count

            def feed_query() -> int:
                count, after = 0, 0
                while page := query.page(everything, after=after, limit=PAGE):
                    count += len(page)
                    after = int(page[-1]["sequence"])
                return count

            app = create_app(settings, builder=lambda: vorgang, run_projections=False)
            token = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang").issue(
                subject="svc-bench",
                name="Benchmark",
                role=Role.INTEGRATOR,
                tenant="usingen",
                scopes=(Scope.FEED_READ,),
            )
            with TestClient(app) as client:

                def feed_route() -> int:
                    count, after = 0, "0"
                    headers = {"Authorization": f"Bearer {token}"}
                    while True:
                        response = client.get(
                            "/api/v1/feed", params={"after": after, "limit": PAGE}, headers=headers
                        )
                        page = response.json()
                        if not page:
                            return count
                        count += len(page)
                        after = response.headers["Vorgang-Next-After"]

                measured = {
                    "notification log, raw": timed(log_raw, rounds),
                    "notification log, decoded": timed(lambda: log_raw(decode=True), rounds),
                    "feed query (SQL + CloudEvents)": timed(feed_query, rounds),
                    "feed route (HTTP, JSON)": timed(feed_route, rounds),
                }
        finally:
            vorgang.close()
    raw_rate = measured["notification log, raw"][0] / measured["notification log, raw"][1]
    rows = []
    for label, (count, seconds) in measured.items():
        rate = count / seconds
        rows.append([dialect, label, f"{count:,}", f"{rate:,.0f}", f"{rate / raw_rate:.2f}"])
    return rows


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


async def stream_latencies(
    base_url: str, clients: int, commands: int, per_second: float
) -> tuple[list[float], list[float]]:
    """Deliveries (send → every client) and command round trips, in seconds."""
    tokens = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")
    reader = tokens.issue(
        subject="svc-bench",
        name="Benchmark",
        role=Role.INTEGRATOR,
        tenant="usingen",
        scopes=(Scope.FEED_READ,),
    )
    clerk = tokens.issue(
        subject="anna.schmidt", name="Anna Schmidt", role=Role.CLERK, tenant="usingen"
    )
    sent: dict[str, float] = {}
    arrivals: list[dict[str, float]] = []
    round_trips: list[float] = []
    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        connected = asyncio.Semaphore(0)

        async def follow() -> None:
            arrived: dict[str, float] = {}
            arrivals.append(arrived)
            headers = {"Authorization": f"Bearer {reader}"}
            async with http.stream("GET", "/api/v1/feed/stream", headers=headers) as response:
                async for line in response.aiter_lines():
                    if line.startswith("retry:"):
                        connected.release()
                    elif line.startswith("data: "):
                        event = json.loads(line[6:])
                        if event["type"] == SUBMITTED:
                            arrived[event["subject"]] = time.perf_counter()
                            if len(arrived) == commands:
                                return

        followers = [asyncio.create_task(follow()) for _ in range(clients)]
        for _ in range(clients):
            await asyncio.wait_for(connected.acquire(), 60)
        await asyncio.sleep(1)
        headers = {"Authorization": f"Bearer {clerk}"}
        for index in range(commands):
            started = time.perf_counter()
            body = {**NEW_CASE, "applicant": {"name": f"Person {index}"}}
            response = await http.post("/api/v1/cases", json=body, headers=headers)
            round_trips.append(time.perf_counter() - started)
            sent[response.json()["id"]] = started
            await asyncio.sleep(max(0.0, 1 / per_second - round_trips[-1]))
        await asyncio.wait_for(asyncio.gather(*followers), 120)
    deliveries = [at - sent[case_id] for arrived in arrivals for case_id, at in arrived.items()]
    return deliveries, round_trips


def main(argv: list[str] | None = None) -> int:
    """Print the paging and streaming tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.feed")
    parser.add_argument("--quick", action="store_true", help="fewer cases and commands")
    args = parser.parse_args(argv)
    quiet_logging()
    cases = 300 if args.quick else 3_000
    rounds = 1 if args.quick else 3
    print(
        f"Feed paging: {cases:,} cases, {3 * cases:,} events, pages of {PAGE} (median of {rounds})"
    )
    dialects = ["sqlite"]
    unreachable = postgres_unreachable()
    if unreachable is None:
        dialects.append("postgresql")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as directory:
        files = SqliteFiles(Path(directory))
        for dialect in dialects:
            rows += paging_rows(dialect, cases, rounds, files)
    print(table(["db", "read", "items", "items/s", "÷ raw log"], rows, left=2))
    if unreachable:
        print(f"  (PostgreSQL skipped: {unreachable})")
    clients, commands, pace = (100, 10, 5.0) if args.quick else (100, 60, 5.0)
    print(f"\nFeed stream: {clients} clients, {commands} submissions at {pace:g}/s (SQLite)")
    with (
        tempfile.TemporaryDirectory() as directory,
        serve("vorgang", Path(directory) / "stream.db", SECRET) as server,
    ):
        deliveries, round_trips = asyncio.run(
            stream_latencies(server.base_url, clients, commands, pace)
        )
    ms: Callable[[float], str] = lambda s: f"{s * 1000:.1f}"  # noqa: E731
    figures: list[list[Any]] = [
        [
            "submit round trip",
            len(round_trips),
            ms(percentile(round_trips, 50)),
            ms(percentile(round_trips, 99)),
        ],
        [
            "command → every client",
            len(deliveries),
            ms(percentile(deliveries, 50)),
            ms(percentile(deliveries, 99)),
        ],
    ]
    print(table(["", "samples", "p50 ms", "p99 ms"], [[str(c) for c in r] for r in figures]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Feed delivery: command → webhook arrival and command → NATS arrival, and the throughput of
webhook delivery to 50 subscriptions.

A uvicorn server of its own (``benchmarks.api_server``, SQLite) runs the real application
with everything it runs beside the read models: the webhook worker and, configured by
``VORGANG_NATS_*``, the NATS JetStream relay (a stream and subject prefix of this run's own,
deleted after it). The receivers are a real HTTP server in this process (one path per
subscription, answering 204), and a JetStream ordered consumer on the run's subjects.

Latency: one subscription to the town's submissions; submissions arrive at a steady pace
through ``POST /api/v1/cases``; each is timed from sending the command to its arrival at the
webhook receiver and at the NATS consumer (one clock: this process's). Both include the read
model's lag (the feed view is kept in the server process) and each path's polling
(``VORGANG_WEBHOOK_POLL_SECONDS``, ``VORGANG_NATS_POLL_SECONDS``, their defaults unless set);
the feed's own stream (SSE) is timed beside them: how soon the event is in the feed at all.

Throughput: a backlog of submissions is in the feed; 50 subscriptions are made from the
first sequence (``after: "0"``) and every one of them receives every submission once; the
figure is deliveries per second from the first subscription to the last arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import nats

from api.auth import DevelopmentTokens
from benchmarks.api_throughput import NEW_CASE, serve
from benchmarks.feed import percentile
from benchmarks.support import quiet_logging, table
from domain.actor import Role, Scope

SECRET = secrets.token_urlsafe(32)  # development tokens of this run only
SUBMITTED = "de.vorgang.case.submitted.v1"
NATS_URL = os.environ.get("VORGANG_BENCH_NATS_URL", "nats://127.0.0.1:4222")
SUBSCRIPTIONS = 50
HANG_GUARD = 600.0  # seconds: a delivery that never comes ends the run with an error


class Receivers:
    """Webhook receivers: per path, the first arrival time of each event (by subject)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, dict[str, float]] = {}
        self.ids: dict[str, set[str]] = {}
        self.changed = threading.Condition(self.lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                at = time.perf_counter()
                event = json.loads(body)
                receivers.record(self.path.strip("/"), self.headers["webhook-id"], event, at)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def record(self, path: str, webhook_id: str, event: dict[str, Any], at: float) -> None:
        with self.changed:
            if webhook_id in self.ids.setdefault(path, set()):
                return  # a retry: the first arrival counts
            self.ids[path].add(webhook_id)
            self.arrived.setdefault(path, {})[event["subject"]] = at
            self.changed.notify_all()

    def count(self, paths: list[str]) -> int:
        with self.lock:
            return sum(len(self.arrived.get(p, {})) for p in paths)

    def wait_for(self, paths: list[str], total: int) -> float:
        """Block until ``total`` arrivals over ``paths``; the last arrival's time."""
        deadline = time.monotonic() + HANG_GUARD
        with self.changed:
            while sum(len(self.arrived.get(p, {})) for p in paths) < total:
                if not self.changed.wait(max(deadline - time.monotonic(), 0.0)):
                    raise RuntimeError(f"webhooks missing after {HANG_GUARD:g} s")
            return max(max(self.arrived[p].values()) for p in paths)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The server process inherits these (its settings read ``VORGANG_*``)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def tokens() -> tuple[str, str]:
    """A clerk who submits, and an integrator who subscribes."""
    issuer = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")
    clerk = issuer.issue(
        subject="anna.schmidt", name="Anna Schmidt", role=Role.CLERK, tenant="usingen"
    )
    integrator = issuer.issue(
        subject="svc-bench",
        name="Benchmark",
        role=Role.INTEGRATOR,
        tenant="usingen",
        scopes=(Scope.FEED_READ, Scope.WEBHOOKS_MANAGE),
    )
    return clerk, integrator


async def subscribe(http: httpx.AsyncClient, token: str, url: str, after: str | None) -> None:
    body: dict[str, Any] = {"url": url, "tenants": ["usingen"], "types": [SUBMITTED]}
    if after is not None:
        body["after"] = after
    response = await http.post(
        "/api/v1/subscriptions", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code != 201:
        raise RuntimeError(f"subscription refused: {response.status_code} {response.text[:300]}")


async def submit(http: httpx.AsyncClient, token: str, index: int) -> str:
    body = {**NEW_CASE, "applicant": {"name": f"Person {index}"}}
    response = await http.post(
        "/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code != 201:
        raise RuntimeError(f"submission refused: {response.status_code} {response.text[:300]}")
    return str(response.json()["id"])


async def follow_feed(
    http: httpx.AsyncClient, token: str, arrived: dict[str, float], following: asyncio.Event
) -> None:
    """The feed's own stream beside them: when the event is in the feed view at all."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.stream("GET", "/api/v1/feed/stream", headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("retry:"):
                following.set()
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                if event["type"] == SUBMITTED:
                    arrived.setdefault(event["subject"], time.perf_counter())


async def measure(
    base_url: str,
    receivers: Receivers,
    prefix: str,
    sizes: tuple[int, float, int, int],
) -> dict[str, Any]:
    """Latencies (command → webhook, command → NATS) and the subscriptions' throughput."""
    commands, pace, backlog, subscriptions = sizes
    clerk, integrator = tokens()
    sent: dict[str, float] = {}
    nats_arrived: dict[str, float] = {}
    nats_seen = asyncio.Event()
    client = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        js = client.jetstream()

        async def on_message(message: Any) -> None:
            at = time.perf_counter()
            event = json.loads(message.data)
            if event["type"] == SUBMITTED:
                nats_arrived.setdefault(event["subject"], at)
                nats_seen.set()

        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            streamed: dict[str, float] = {}
            following = asyncio.Event()
            follower = asyncio.create_task(follow_feed(http, integrator, streamed, following))
            await asyncio.wait_for(following.wait(), HANG_GUARD)
            await subscribe(http, integrator, receivers.url("latency"), None)
            warm = await submit(http, clerk, -1)  # the relay's stream exists once this arrives
            deadline = time.monotonic() + HANG_GUARD
            while True:
                try:
                    await js.subscribe(f"{prefix}.>", ordered_consumer=True, cb=on_message)
                    break
                except Exception:  # the stream is created by the relay's first connect
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
            await asyncio.to_thread(receivers.wait_for, ["latency"], 1)
            while warm not in nats_arrived:
                await asyncio.wait_for(nats_seen.wait(), HANG_GUARD)
                nats_seen.clear()
            round_trips: list[float] = []
            for index in range(commands):
                started = time.perf_counter()
                case_id = await submit(http, clerk, index)
                round_trips.append(time.perf_counter() - started)
                sent[case_id] = started
                await asyncio.sleep(max(0.0, 1 / pace - round_trips[-1]))
            await asyncio.to_thread(receivers.wait_for, ["latency"], commands + 1)
            while not set(sent) <= set(nats_arrived):
                await asyncio.wait_for(nats_seen.wait(), HANG_GUARD)
                nats_seen.clear()
            while not set(sent) <= set(streamed):
                await asyncio.sleep(0.05)
            follower.cancel()
            stream = [streamed[c] - s for c, s in sent.items()]
            webhook = [receivers.arrived["latency"][c] - s for c, s in sent.items()]
            broker = [nats_arrived[c] - s for c, s in sent.items()]

            for index in range(backlog):  # the backlog the 50 subscriptions start from
                await submit(http, clerk, commands + index)
            total = 1 + commands + backlog
            await asyncio.to_thread(receivers.wait_for, ["latency"], total)
            paths = [f"s{index}" for index in range(subscriptions)]
            started = time.perf_counter()
            for path in paths:
                await subscribe(http, integrator, receivers.url(path), "0")
            last = await asyncio.to_thread(receivers.wait_for, paths, total * subscriptions)
    finally:
        await client.close()
    return {
        "round_trips": round_trips,
        "stream": stream,
        "webhook": webhook,
        "nats": broker,
        "subscriptions": subscriptions,
        "deliveries": total * subscriptions,
        "seconds": last - started,
    }


async def delete_stream(stream: str) -> None:
    client = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        await client.jetstream().delete_stream(stream)
    except Exception as error:  # never created: the run failed before
        print(f"  (stream {stream} not deleted: {type(error).__name__})")
    finally:
        await client.close()


async def nats_unreachable() -> str | None:
    try:
        client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as error:
        return f"NATS at {NATS_URL} is not reachable ({type(error).__name__})"
    try:
        await client.jetstream().account_info()
    except Exception as error:
        return f"NATS at {NATS_URL} has no JetStream ({type(error).__name__})"
    finally:
        await client.close()
    return None


def run(
    commands: int, pace: float, backlog: int, subscriptions: int = SUBSCRIPTIONS
) -> dict[str, Any]:
    """One measurement against a fresh server, stream and receivers."""
    tag = uuid.uuid4().hex[:10]
    stream, prefix = f"BENCH_{tag}", f"bench{tag}"
    receivers = Receivers()
    settings = {
        "VORGANG_NATS_URL": NATS_URL,
        "VORGANG_NATS_STREAM": stream,
        "VORGANG_NATS_SUBJECT_PREFIX": prefix,
        "VORGANG_ENVIRONMENT": "development",  # receivers on loopback
    }
    try:
        with (
            tempfile.TemporaryDirectory() as directory,
            environment(settings),
            serve("vorgang", Path(directory) / "delivery.db", SECRET) as server,
        ):
            sizes = (commands, pace, backlog, subscriptions)
            return asyncio.run(measure(server.base_url, receivers, prefix, sizes))
    finally:
        receivers.close()
        asyncio.run(delete_stream(stream))


def main(argv: list[str] | None = None) -> int:
    """Print the latency and throughput tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.feed_delivery")
    parser.add_argument("--quick", action="store_true", help="fewer commands, a smaller backlog")
    args = parser.parse_args(argv)
    quiet_logging()
    unreachable = asyncio.run(nats_unreachable())
    if unreachable:
        print(f"Feed delivery: skipped ({unreachable})")
        return 0
    commands, pace, backlog = (10, 5.0, 20) if args.quick else (60, 5.0, 100)
    print(
        f"Feed delivery: {commands} submissions at {pace:g}/s → one webhook subscription and "
        f"the NATS relay (SQLite, one server process)"
    )
    figures = run(commands, pace, backlog)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f}"

    rows = [
        [label, str(len(values)), ms(percentile(values, 50)), ms(percentile(values, 99))]
        for label, values in (
            ("submit round trip", figures["round_trips"]),
            ("command → feed stream (SSE)", figures["stream"]),
            ("command → webhook arrival", figures["webhook"]),
            ("command → NATS arrival", figures["nats"]),
        )
    ]
    print(table(["", "samples", "p50 ms", "p99 ms"], rows))
    deliveries, seconds = figures["deliveries"], figures["seconds"]
    print(
        f"\nWebhook throughput: {SUBSCRIPTIONS} subscriptions, each {deliveries // SUBSCRIPTIONS} "
        f"submissions from the first sequence"
    )
    print(
        table(
            ["deliveries", "seconds", "deliveries/s"],
            [[f"{deliveries:,}", f"{seconds:.1f}", f"{deliveries / seconds:,.0f}"]],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

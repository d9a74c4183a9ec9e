"""``POST /api/v1/cases`` over real HTTP, against a bare FastAPI endpoint of the same shape.

Both servers are uvicorn processes of their own on 127.0.0.1 (one worker, an ephemeral
port), driven from this process by ``httpx`` clients with keep-alive, one per thread. The
real one is ``api.app.create_app`` on a fresh SQLite file with the real wiring (encrypted
personal data); every request creates a case (no Idempotency-Key). The bare one reads the
bearer header and validates ``SubmitCase``, storing nothing. Printed as ratios
(Vorgang ÷ bare) beside p50/p99 latency, and the CPU each side used, so the figures mean
the same on any machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.auth import DevelopmentTokens
from benchmarks.support import Measurement, drive, table
from domain.actor import Role

NEW_CASE: dict[str, Any] = {
    "tenant": "usingen",
    "service": "general",
    "applicant": {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"},
    "data": {"subject": "Sondernutzung"},
}
CLIENTS = (1, 4)
STARTUP_SECONDS = 30.0


@dataclass
class Server:
    """A running benchmark server."""

    process: subprocess.Popen[str]
    base_url: str
    log: Path
    database: Path

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux), else None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            return ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None


@contextmanager
def serve(kind: str, folder: Path, secret: str) -> Iterator[Server]:
    """Start ``benchmarks.api_server`` and wait until it answers; stop it afterwards."""
    database = folder / f"{kind}-{time.monotonic_ns()}.db"
    log = folder / f"{kind}-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "benchmarks.api_server", kind, f"sqlite:///{database}", secret],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"the {kind} server did not start: {_tail(log)}")
        server = Server(process, f"http://127.0.0.1:{int(line.split()[1])}", log, database)
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited: {_tail(server.log)}")
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS:g} s")


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) or "no output"


@dataclass
class Result:
    """One measurement and the CPU both sides spent on it."""

    measurement: Measurement
    server_cpu: float | None  # share of one core, over the measurement
    client_cpu: float


def measure(
    server: Server, clients: int, headers: dict[str, str], *, max_requests: int, seconds: float
) -> Result:
    """Drive ``POST /api/v1/cases`` from ``clients`` threads, each with its own keep-alive."""
    opened: list[httpx.Client] = []

    def worker(_index: int) -> Callable[[], object]:
        client = httpx.Client(base_url=server.base_url, headers=headers, timeout=30)
        opened.append(client)

        def post() -> None:
            response = client.post("/api/v1/cases", json=NEW_CASE)
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        return post

    cpu_server = server.cpu_seconds()
    cpu_client = time.process_time()
    try:
        m = drive(clients, worker, max_ops=max_requests, max_seconds=seconds, warmup_ops=10)
    finally:
        for client in opened:
            client.close()
    cpu_client = time.process_time() - cpu_client
    after = server.cpu_seconds()
    server_cpu = (
        (after - cpu_server) / m.seconds if after is not None and cpu_server is not None else None
    )
    # Both CPU figures include the untimed warm-up and connection set-up: an upper bound.
    return Result(m, server_cpu, cpu_client / m.seconds)


def storage_per_case(server: Server) -> str:
    """Rows written per created case in the Vorgang server's SQLite file (after a run)."""
    with sqlite3.connect(server.database) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))


def main(argv: list[str]) -> None:
    """Measure the bare endpoint and Vorgang's, with 1 and 4 clients; print the ratios."""
    parser = argparse.ArgumentParser(prog="bench api")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter measurements")
    args = parser.parse_args(argv)
    max_requests, seconds = (300, 0.8) if args.quick else (3_000, 3.0)
    folder = Path(tempfile.mkdtemp(prefix="vorgang-bench-api-"))
    secret = secrets.token_urlsafe(32)
    token = DevelopmentTokens(secret, issuer="vorgang-dev", audience="vorgang").issue(
        subject="clerk.usingen", name="Clerk Person", role=Role.CLERK, tenant="usingen"
    )
    headers = {"Authorization": f"Bearer {token}"}

    results: dict[tuple[str, int], Result] = {}
    footnotes: list[str] = []
    for clients in CLIENTS:
        for kind in ("bare", "vorgang"):
            with serve(kind, folder, secret) as server:  # a fresh server and database each
                results[kind, clients] = measure(
                    server, clients, headers, max_requests=max_requests, seconds=seconds
                )
            if kind == "vorgang":
                footnotes.append(f"{clients} client(s): {storage_per_case(server)}")

    print(
        "API throughput: POST /api/v1/cases over HTTP/1.1 keep-alive to uvicorn "
        "(1 process, 127.0.0.1), httpx sync clients, one thread each"
    )
    print(
        "  Vorgang: api.app.create_app on a fresh SQLite file, real wiring (AES-GCM personal "
        "data), JSON logs at INFO; bare: same header and SubmitCase body, nothing stored"
    )
    print(
        f"  each: {max_requests} requests or {seconds:g} s after 10 untimed per client; "
        "ratio = Vorgang ÷ bare; CPU = share of one core (incl. warm-up)"
    )
    rows = []
    for clients in CLIENTS:
        bare = results["bare", clients]
        for kind, label in (("bare", "bare FastAPI"), ("vorgang", "Vorgang submit")):
            r = results[kind, clients]
            m = r.measurement
            rows.append(
                [
                    label,
                    str(clients),
                    str(m.ops),
                    f"{m.seconds:.2f}",
                    f"{m.rate:,.0f}",
                    f"{m.rate / bare.measurement.rate:.3f}",
                    f"{m.percentile(50) * 1e3:.2f}",
                    f"{m.percentile(50) / bare.measurement.percentile(50):.1f}",
                    f"{m.percentile(99) * 1e3:.2f}",
                    f"{m.percentile(99) / bare.measurement.percentile(99):.1f}",
                    f"{r.server_cpu:.0%}" if r.server_cpu is not None else "n/a",
                    f"{r.client_cpu:.0%}",
                ]
            )
    print(
        table(
            [
                "endpoint",
                "clients",
                "requests",
                "s",
                "req/s",
                "ratio",
                "p50 ms",
                "ratio",
                "p99 ms",
                "ratio",
                "server CPU",
                "client CPU",
            ],
            rows,
        )
    )
    print("  rows stored by Vorgang per run (tables: rows):")
    for note in footnotes:
        print(f"    {note}")

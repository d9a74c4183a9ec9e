"""``POST /api/v1/cases`` over real HTTP, against a bare FastAPI endpoint of the same shape.

Both servers are uvicorn processes of their own on 127.0.0.1 (one worker, an ephemeral
port), driven from this process by ``httpx`` clients with keep-alive, one per thread. The
real one is ``api.app.create_app`` on a fresh SQLite file with the real wiring (encrypted
personal data); every request creates a case (no Idempotency-Key). The bare one reads the
bearer header and validates ``SubmitCase``, storing nothing. Printed as ratios
(Vorgang ÷ bare) beside p50/p99 latency and the CPU each side used, so the figures mean the
same on any machine.

The PostgreSQL variant under a real load generator is ``benchmarks/api_load.py``.
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
from benchmarks.support import Measurement, drive, quiet_logging, table
from domain.actor import Role

NEW_CASE: dict[str, Any] = {
    "tenant": "usingen",
    "service": "general",
    "applicant": {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"},
    "data": {"subject": "Sondernutzung"},
}
STARTUP_SECONDS = 30.0
WARMUP_PER_CLIENT = 10


@dataclass(frozen=True)
class Run:
    """One row: which server, how many clients."""

    label: str
    kind: str  # "bare" or "vorgang"
    clients: int


RUNS = (
    Run("bare FastAPI", "bare", 1),
    Run("Vorgang submit", "vorgang", 1),
    Run("bare FastAPI", "bare", 4),
    Run("Vorgang submit", "vorgang", 4),
)


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
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None


@contextmanager
def serve(kind: str, database: Path, secret: str) -> Iterator[Server]:
    """Start ``benchmarks.api_server`` and wait until it answers; stop it afterwards."""
    log = database.with_suffix(".log")
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
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
        if process.stdout:
            process.stdout.close()


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
    """One measurement, the CPU both sides spent on it, and what the server stored."""

    measurement: Measurement
    server_cpu: float | None  # share of one core over the measured time
    client_cpu: float
    stored: str = ""


def measure(
    server: Server, clients: int, headers: dict[str, str], *, max_requests: int, seconds: float
) -> Result:
    """Drive ``POST /api/v1/cases`` from ``clients`` threads, each with its own keep-alive."""
    opened: list[httpx.Client] = []

    def worker(_index: int) -> Callable[[], object]:
        client = httpx.Client(base_url=server.base_url, headers=headers, timeout=60)
        opened.append(client)

        def post() -> None:
            response = client.post("/api/v1/cases", json=NEW_CASE)
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        return post

    cpu: dict[str, tuple[float | None, float]] = {}

    def mark(at: str) -> Callable[[], None]:
        return lambda: cpu.__setitem__(at, (server.cpu_seconds(), time.process_time()))

    try:
        m = drive(
            clients,
            worker,
            max_ops=max_requests,
            max_seconds=seconds,
            warmup_ops=WARMUP_PER_CLIENT,
            on_start=mark("start"),
            on_stop=mark("stop"),
        )
    finally:
        for client in opened:
            client.close()
    (server_start, client_start), (server_stop, client_stop) = cpu["start"], cpu["stop"]
    server_cpu = None
    if server_start is not None and server_stop is not None:
        server_cpu = (server_stop - server_start) / m.seconds
    cpu_client = client_stop - client_start
    return Result(m, server_cpu, cpu_client / m.seconds)


def stored(database: Path) -> str:
    """What a Vorgang run left in its SQLite file, per created case."""
    with sqlite3.connect(database) as conn:
        topics = dict(conn.execute("SELECT topic, count(*) FROM stored_events GROUP BY topic"))
        keys = conn.execute("SELECT count(*) FROM vorgang_personal_data_keys").fetchone()[0]
    conn.close()
    cases = sum(n for topic, n in topics.items() if topic.endswith(".Submitted"))
    per_case = sum(topics.values()) / max(cases, 1)
    return f"{cases} cases; per case {per_case:.1f} event(s), {keys / max(cases, 1):.1f} key rows"


def main(argv: list[str]) -> None:
    """Measure the bare endpoint and Vorgang's, with 1 and 4 clients; print the ratios."""
    parser = argparse.ArgumentParser(prog="bench api")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter measurements")
    args = parser.parse_args(argv)
    max_requests, seconds = (300, 0.8) if args.quick else (3_000, 3.0)
    quiet_logging()
    secret = secrets.token_urlsafe(32)
    token = DevelopmentTokens(secret, issuer="vorgang-dev", audience="vorgang").issue(
        subject="clerk.usingen", name="Clerk Person", role=Role.CLERK, tenant="usingen"
    )
    headers = {"Authorization": f"Bearer {token}"}

    results: dict[Run, Result] = {}
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-api-") as folder:
        for number, run in enumerate(RUNS):
            database = Path(folder) / f"{run.kind}-{number}.db"  # a fresh file per server
            with serve(run.kind, database, secret) as server:
                result = measure(
                    server, run.clients, headers, max_requests=max_requests, seconds=seconds
                )
            if run.kind == "vorgang":
                result.stored = stored(database)
            results[run] = result

    print(
        "API throughput: POST /api/v1/cases, HTTP/1.1 keep-alive to uvicorn (1 process, "
        "h11, 127.0.0.1); httpx sync clients, one thread each"
    )
    print(
        "  Vorgang: api.app.create_app, fresh SQLite file, real wiring (AES-GCM personal "
        "data), JSON logs at INFO; bare: same header + SubmitCase body, stores nothing"
    )
    print(
        f"  each: {max_requests} requests or {seconds:g} s, after {WARMUP_PER_CLIENT} untimed per "
        "client; ratio = Vorgang ÷ bare at the same clients; CPU = share of one core"
    )
    rows = []
    for run, r in results.items():
        bare = next(results[b] for b in RUNS if b.kind == "bare" and b.clients == run.clients)
        m, base = r.measurement, bare.measurement
        rows.append(
            [
                run.label,
                str(run.clients),
                str(m.ops),
                f"{m.seconds:.2f}",
                f"{m.rate:,.0f}",
                f"{m.rate / base.rate:.3f}",
                f"{m.percentile(50) * 1e3:.2f}",
                f"{m.percentile(50) / base.percentile(50):.1f}",
                f"{m.percentile(99) * 1e3:.2f}",
                f"{m.percentile(99) / base.percentile(99):.1f}",
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
    print("  stored by Vorgang (incl. warm-up requests):")
    for run, r in results.items():
        if r.stored:
            print(f"    {run.label}, {run.clients} client(s): {r.stored}")

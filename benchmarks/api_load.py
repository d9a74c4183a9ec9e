"""``POST /api/v1/cases`` on PostgreSQL under wrk, against a bare endpoint served the same way.

Real server processes, a real load generator: ``vorgang serve`` (the command operators run)
on a fresh PostgreSQL schema with the real wiring (encrypted personal data, JSON logs at
INFO), and the bare FastAPI endpoint of ``benchmarks/api_server.py`` (reads the bearer header,
validates ``SubmitCase``, stores nothing) under uvicorn with the same number of processes.
wrk (Debian's ``wrk``) drives both with the same connections for the same time; every
request creates a case (no Idempotency-Key). Printed: req/s and its ratio to bare, p50/p99
latency, and the CPU per request of the server processes and of PostgreSQL, so what bounds
the rest can be read off (2 cores shared by wrk, the server and PostgreSQL).

Rows: one process (API and projections in it, the default), and ``--workers 2`` (two API
processes and one projection process: the recommendation for 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.auth import DevelopmentTokens
from benchmarks.api_throughput import NEW_CASE  # the same request as the SQLite benchmark
from benchmarks.support import (
    POSTGRES_URL,
    drop_postgres_schema,
    fresh_postgres_target,
    postgres_unreachable,
    table,
)
from domain.actor import Role

STARTUP_SECONDS = 60.0
CONNECTIONS = 16


@dataclass(frozen=True)
class Run:
    """One server set-up."""

    label: str
    kind: str  # "bare" or "vorgang"
    workers: int


RUNS = (
    Run("bare FastAPI, 1 process", "bare", 1),
    Run("Vorgang, 1 process (projections in it)", "vorgang", 1),
    Run("bare FastAPI, 2 processes", "bare", 2),
    Run("Vorgang, --workers 2 (+1 projection process)", "vorgang", 2),
)


@dataclass
class Load:
    """What wrk reported, and the CPU spent meanwhile."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float  # per request, all server processes
    postgres_cpu_ms: float  # per request, all PostgreSQL backends


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU of every process named ``postgres`` on this machine."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if name == "postgres":
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def serve(run: Run, secret: str, database_url: str, log: Path) -> Iterator[tuple[int, str]]:
    """Start the server of ``run``; yield its pid and base URL; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "VORGANG_DATABASE_URL": database_url,
        "VORGANG_TOKEN_SECRET": secret,
        "VORGANG_LOG_FORMAT": "json",
        "VORGANG_LOG_LEVEL": "INFO",
    }
    if run.kind == "vorgang":
        vorgang = Path(sys.executable).with_name("vorgang")
        command = [str(vorgang), "serve", "--dev", "--port", str(port)]
        command += ["--workers", str(run.workers)]
    else:
        command = [sys.executable, "-m", "uvicorn", "benchmarks.api_server:bare_app"]
        command += ["--factory", "--port", str(port), "--workers", str(run.workers)]
        command += ["--no-access-log", "--log-level", "warning"]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, log)
        yield process.pid, base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Until ``/health`` answers 200 (or the process exits: its log's tail is the error)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = " | ".join(log.read_text(errors="replace").splitlines()[-3:])
                raise RuntimeError(f"the server exited: {tail}")
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS:g} s")


def wrk_script(folder: Path, token: str) -> Path:
    """The Lua script: POST the same new case with the bearer token."""
    script = folder / "post_case.lua"
    body = json.dumps(NEW_CASE).replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    return script


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> tuple[str, float]:
    """wrk's report and the measured seconds."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(script), f"{base}/api/v1/cases"]
    started = time.monotonic()
    report = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    return report, time.monotonic() - started


def milliseconds(text: str) -> float:
    """wrk's ``1.23ms`` / ``850.00us`` / ``1.20s`` in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse(report: str) -> tuple[int, float, float, int]:
    """Requests, p50 ms, p99 ms and non-2xx responses (plus socket errors) from wrk."""
    requests = int(re.search(r"(\d+) requests in", report).group(1))  # type: ignore[union-attr]
    # The latency distribution's own lines (a "+/- Stdev" cell such as 69.99% also ends in 99%).
    p50 = milliseconds(re.search(r"^\s+50%\s+(\S+)$", report, re.M).group(1))  # type: ignore[union-attr]
    p99 = milliseconds(re.search(r"^\s+99%\s+(\S+)$", report, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: (.*)", report)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return requests, p50, p99, errors


def measure(run: Run, secret: str, token: str, folder: Path, seconds: int) -> Load:
    """Serve, warm up, load for ``seconds``; the server's and PostgreSQL's CPU meanwhile."""
    target = fresh_postgres_target()
    url = f"{POSTGRES_URL}?schema={target.env['POSTGRES_SCHEMA']}"
    script = wrk_script(folder, token)
    try:
        with serve(run, secret, url, folder / f"{run.kind}-{run.workers}.log") as (pid, base):
            run_wrk(base, script, 2, CONNECTIONS)  # warm-up: pools, caches, sequences
            server_before, pg_before = tree_cpu_seconds(pid), postgres_cpu_seconds()
            report, elapsed = run_wrk(base, script, seconds, CONNECTIONS)
            server_cpu = tree_cpu_seconds(pid) - server_before
            pg_cpu = postgres_cpu_seconds() - pg_before
    finally:
        drop_postgres_schema(target)
    requests, p50, p99, errors = parse(report)
    return Load(
        requests=requests,
        seconds=elapsed,
        rate=requests / elapsed,
        p50_ms=p50,
        p99_ms=p99,
        errors=errors,
        server_cpu_ms=server_cpu / max(requests, 1) * 1e3,
        postgres_cpu_ms=pg_cpu / max(requests, 1) * 1e3,
    )


def main(argv: list[str]) -> None:
    """Each run in turn; a table of rates, ratios to bare, latency and CPU per request."""
    parser = argparse.ArgumentParser(prog="bench api_load")
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 10 s")
    args = parser.parse_args(argv)
    seconds = 3 if args.quick else 10
    if shutil.which("wrk") is None:
        print("API load (wrk): skipped, wrk is not installed (apt-get install wrk)")
        return
    reason = postgres_unreachable()
    if reason:
        print(f"API load (wrk): skipped, {reason}")
        return
    secret = secrets.token_urlsafe(32)
    token = DevelopmentTokens(secret, issuer="vorgang-dev", audience="vorgang").issue(
        subject="clerk.usingen", name="Clerk Person", role=Role.CLERK, tenant="usingen"
    )
    loads: dict[Run, Load] = {}
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-load-") as name:
        for run in RUNS:
            loads[run] = measure(run, secret, token, Path(name), seconds)
    print(
        f"API load: POST /api/v1/cases on PostgreSQL, wrk -t1 -c{CONNECTIONS} -d{seconds}s "
        "(2 s warm-up first), servers on 127.0.0.1; ratio = Vorgang ÷ bare with the same "
        "processes; CPU ms per request (server processes; PostgreSQL backends)"
    )
    rows = []
    for run, load in loads.items():
        bare = next(loads[r] for r in RUNS if r.kind == "bare" and r.workers == run.workers)
        rows.append(
            [
                run.label,
                f"{load.requests:,}",
                f"{load.rate:,.0f}",
                f"{load.rate / bare.rate:.2f}",
                f"{load.p50_ms:.1f}",
                f"{load.p99_ms:.1f}",
                str(load.errors),
                f"{load.server_cpu_ms:.2f}",
                f"{load.postgres_cpu_ms:.2f}",
            ]
        )
    print(
        table(
            [
                "server",
                "requests",
                "req/s",
                "÷ bare",
                "p50 ms",
                "p99 ms",
                "errors",
                "CPU ms",
                "PG CPU ms",
            ],
            rows,
        )
    )

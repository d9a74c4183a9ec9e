"""One server per service, loaded by wrk: what the wrk benchmarks of one service share.

The water readings and holiday registrations benchmarks measure a service against the
baseline ``general`` the same way: a fresh database per service, both servers (``vorgang
serve``) started together, each loaded alone by Debian's ``wrk`` with a script that sends an
exact number of requests, the server's CPU (and PostgreSQL's) per request, then the store or
the API read back. What differs (the seed, the requests, the checks) stays in each benchmark.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from eventsourcing.utils import get_topic
from pydantic import SecretStr

from application.store import VorgangStore
from benchmarks.api_load import Run, postgres_cpu_seconds, serve, tree_cpu_seconds
from benchmarks.support import POSTGRES_URL, postgres_unreachable
from domain.services.catalogue import SERVICES
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.privacy.transcoding import EncryptedPersonalData
from infrastructure.settings import Settings
from infrastructure.wiring import one_process_creates_tables, open_personal_data_keys, open_store

READY_SECONDS = 300.0  # a hang guard: views built from a large seed take seconds
WRK_HANG_GUARD_SECONDS = 900  # wrk's -d: it stops long before, after the last response
LOAD_HEADER = ["database", "service", "requests", "s", "req/s", "ratio", "p50 ms", "p99 ms"]
LOAD_HEADER += ["ratio"]


@dataclass
class Load:
    """One wrk run: what it sent and got back, and the server's CPU meanwhile."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    failures: str  # the first non-2xx responses: status and body
    server_cpu_ms: float  # per request: the server process (and PostgreSQL's backends)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        """Responses outside 200-299."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


# ------------------------------------------------------------------ wrk


def lua_string(text: str) -> str:
    """A Lua string literal of one line of text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(base: str, script: Path, connections: int) -> Load:
    """Run the script to its last response; what wrk reported (server CPU: the caller's).

    wrk's main thread sleeps for ``-d`` whatever its threads do: the script says ``DONE`` on
    stderr after the last response, and SIGINT (wrk's Ctrl-C) ends the sleep and the run.
    """
    command = ["wrk", "-t1", f"-c{connections}", f"-d{WRK_HANG_GUARD_SECONDS}s", "--timeout", "60s"]
    command += ["-s", str(script), f"{base}/api/v1/cases"]
    with subprocess.Popen(  # noqa: S603 (Debian's wrk, our own script)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as wrk:
        assert wrk.stderr is not None
        complaints = []
        for line in wrk.stderr:
            if line.strip() == "DONE":
                wrk.send_signal(signal.SIGINT)
                break
            complaints.append(line)
        output, rest = wrk.communicate(timeout=60)
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed: {(''.join(complaints) + rest)[-500:]}")
    found = re.search(
        r"^RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
        r"socket_errors=(\d+) statuses=(\S*)$",
        output,
        re.M,
    )
    if found is None:
        raise RuntimeError(f"wrk reported no result: {output[-500:]}")
    requests, duration, p50, p99, socket_errors = (int(found.group(i)) for i in range(1, 6))
    statuses = {
        int(code): int(n)
        for code, n in (part.split("=") for part in found.group(6).split(",") if part)
    }
    return Load(
        requests=requests,
        seconds=duration / 1e6,
        p50_ms=p50 / 1e3,
        p99_ms=p99 / 1e3,
        statuses=statuses,
        socket_errors=socket_errors,
        failures=output.partition("FAILURES\n")[2].strip(),
        server_cpu_ms=0.0,
    )


# ------------------------------------------------------------------ the store


def database_url(target: DatabaseTarget) -> str:
    """The URL the server is started with."""
    if target.dialect == "postgresql":
        return f"{POSTGRES_URL}?schema={target.env['POSTGRES_SCHEMA']}"
    return f"sqlite:///{target.env['SQLITE_DBNAME']}"


@contextmanager
def opened(url: str, secret: str) -> Iterator[VorgangStore]:
    """The store as the server opens it (its recorder, the personal-data keys), no views."""
    settings = Settings(database_url=url, token_secret=SecretStr(secret))
    target = parse_database_url(url)
    with one_process_creates_tables(target):
        keys = open_personal_data_keys(settings, target)
        store = open_store(target, EncryptedPersonalData(keys), keys)
    try:
        yield store
    finally:
        store.close()
        keys.close()


def wait_until_ready(base: str) -> None:
    """Until ``/ready`` answers 200: the server's new views have caught up with the seed."""
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(base_url=base, timeout=10) as client:
        while (answer := client.get("/ready")).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {READY_SECONDS:g} s: {answer.text[:300]}")
            time.sleep(0.1)


def stored_events(store: VorgangStore, topic: str) -> Iterator[Any]:
    """Every stored event of a topic, decoded, in the log's order."""
    start = 1
    while page := store.recorder.select_notifications(start, 1000, topics=[topic]):
        yield from (store.mapper.to_domain_event(notification) for notification in page)
        start = page[-1].id + 1


def check_cases(store: VorgangStore, service: str, expected: int) -> tuple[str, list[str]]:
    """As many cases of the service as were submitted."""
    topic = get_topic(SERVICES[service].case_class.Submitted)
    count = sum(submitted.service == service for submitted in stored_events(store, topic))
    problems = [] if count == expected else [f"{count:,} {service} cases for {expected:,} sent"]
    return f"{count:,} {service} cases stored", problems


# ------------------------------------------------------------------ the servers


def dialects(postgres: bool) -> tuple[list[str], str]:
    """SQLite, and PostgreSQL where asked and it answers; the line saying why it was skipped."""
    if not postgres:
        return ["sqlite"], ""
    reason = postgres_unreachable()
    if reason is not None:
        return ["sqlite"], f"  postgresql skipped: {reason}"
    return ["sqlite", "postgresql"], ""


def start_servers(
    databases: ExitStack, urls: Mapping[str, str], secret: str, folder: Path, dialect: str
) -> dict[str, tuple[ExitStack, int, str]]:
    """A server per service on its database, started together (start-up is most of a small
    run's time); per service the stack that stops it, its pid and base URL.

    ``databases`` closes every server that started, also when another failed to.
    """
    servers = {service: ExitStack() for service in urls}
    for stack in servers.values():
        databases.callback(stack.close)

    def start(service: str) -> tuple[int, str]:
        log = folder / f"{dialect}-{service}.log"
        return servers[service].enter_context(
            serve(Run(service, "vorgang", 1), secret, urls[service], log)
        )

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        started = dict(zip(urls, pool.map(start, urls), strict=True))
    return {service: (servers[service], pid, base) for service, (pid, base) in started.items()}


def warm_up(base: str, script: Path, connections: int, requests: int) -> None:
    """The untimed requests before the measured ones: every one answered 2xx."""
    warm = run_wrk(base, script, connections)
    if warm.non_2xx or warm.socket_errors or warm.requests != requests:
        raise RuntimeError(f"the warm-up failed: {warm.statuses}; {warm.failures[:600]}")


def measured_load(pid: int, dialect: str, base: str, script: Path, connections: int) -> Load:
    """The measured run, with the CPU the server (and PostgreSQL's backends) spent per request."""
    server_before, pg_before = tree_cpu_seconds(pid), postgres_cpu_seconds()
    load = run_wrk(base, script, connections)
    cpu = tree_cpu_seconds(pid) - server_before
    if dialect == "postgresql":
        cpu += postgres_cpu_seconds() - pg_before
    load.server_cpu_ms = cpu / max(load.requests, 1) * 1e3
    return load


def load_problems(load: Load, expected: int, refused: str) -> list[str]:
    """What went wrong with the load itself: requests not completed, refusals, socket errors."""
    problems = []
    if load.requests != expected:
        problems.append(f"wrk completed {load.requests:,} of {expected:,} requests")
    if load.non_2xx or load.socket_errors:
        problems.append(f"{load.non_2xx} {refused}, {load.socket_errors} socket errors")
    return problems


# ------------------------------------------------------------------ the report


class Measured(Protocol):
    """What every benchmark's outcome holds: the load, and the check afterwards."""

    load: Load
    stored: str
    problems: list[str]


def load_cells(dialect: str, service: str, load: Load, baseline: Load) -> list[str]:
    """The columns of ``LOAD_HEADER``: the load, and its ratios to the baseline's."""
    return [
        dialect,
        service,
        f"{load.requests:,}",
        f"{load.seconds:.2f}",
        f"{load.rate:,.0f}",
        f"{load.rate / baseline.rate:.2f}" if baseline.rate else "n/a",
        f"{load.p50_ms:.1f}",
        f"{load.p99_ms:.1f}",
        f"{load.p99_ms / baseline.p99_ms:.2f}" if baseline.p99_ms else "n/a",
    ]


def print_checks(outcomes: Mapping[tuple[str, str], Measured], heading: str, refused: str) -> None:
    """Per database and service: the check afterwards, and the first responses refused."""
    print(f"  {heading}:")
    for (dialect, service), outcome in outcomes.items():
        verdict = "; ".join(outcome.problems) or "as sent"
        print(f"    {dialect}, {service}: {outcome.stored} ({verdict})")
        if outcome.load.failures:
            print(f"      first {refused}:")
            for line in outcome.load.failures.splitlines()[:5]:
                print(f"        {line}")

"""``vorgang serve --workers 2`` on PostgreSQL: two API processes, one projection process.

The real command in a process of its own, driven over HTTP: a submission answered by one API
process is found in the inbox read through ``?min_position`` (kept by the projection
process, since the API processes keep no views), and the log shows one projection process
beside two API processes. Decides by what the server answers and logs, never by a pause.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.auth import DevelopmentTokens
from application.facade import DatabaseUnavailable
from domain.actor import Role
from infrastructure import serving
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import drop_postgres_schema, fresh_postgres_target

pytestmark = pytest.mark.postgres
SECRET = "serve-workers-test-secret-0123456789"
STARTUP_LIMIT_SECONDS = 120.0  # a guard against a hang, not a measure: the test waits for state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


@pytest.fixture
def served(
    pg: DatabaseTarget, tmp_path: Path
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """The base URL of ``vorgang serve --dev --workers 2``, its log file and its process."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "VORGANG_DATABASE_URL": pg.display,
        "VORGANG_TOKEN_SECRET": SECRET,
        "VORGANG_LOG_FORMAT": "json",
        "VORGANG_LOG_LEVEL": "INFO",
    }
    command = [str(Path(sys.executable).with_name("vorgang")), "serve", "--dev", "--workers", "2"]
    command += ["--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        # Up: both API processes opened the store at start-up, and the projection process
        # runs (three processes on one fresh schema, creating its tables together).
        wait_for(lambda: ready(base, log), process, log)
        yield base, log, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ready(base: str, log: Path) -> bool:
    return (
        answers_health(base)
        # Every process opened the store (one that uvicorn replaced opens it again).
        and log_count(log, "store opened") >= 3
        and log_count(log, "projections running") >= 1
    )


def answers_health(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def log_count(log: Path, event: str) -> int:
    return sum(f'"event": "{event}"' in line for line in log.read_text().splitlines())


def startup_report(log: Path) -> str:
    """What start-up logged, without the health checks: the counts the test waits for, and
    every line that is not a request (warnings, errors, tracebacks)."""
    lines = [line for line in log.read_text().splitlines() if '"event": "request"' not in line]
    counts = {event: log_count(log, event) for event in ("store opened", "projections running")}
    return f"{counts}\n" + "\n".join(lines)[-6000:]


def wait_for(ready, process: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    limit = time.monotonic() + STARTUP_LIMIT_SECONDS
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"vorgang serve exited: {log.read_text()[-2000:]}")
        if time.monotonic() > limit:
            pytest.fail(f"vorgang serve did not come up: {startup_report(log)}")
        time.sleep(0.1)


def test_one_server_serves_read_your_writes_restarts_its_projections_and_stops_when_killed(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    """One ``serve --workers 2`` (each start costs three processes) through three steps.

    Two API processes and one projection process serve read-your-writes; a projection
    process that dies is started again; killed outright, the serving process leaves no
    process behind.
    """
    two_api_processes_and_one_projection_process_serve_read_your_writes(served)
    a_projection_process_that_dies_is_started_again(served)
    the_processes_stop_when_the_serving_process_is_killed_outright(served)


def two_api_processes_and_one_projection_process_serve_read_your_writes(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base, log, _process = served
    token = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang").issue(
        subject="anna.schmidt", name="Anna Schmidt", role=Role.CLERK, tenant="usingen"
    )
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        submitted = []
        for number in range(6):  # several connections' worth: both API processes answer
            response = client.post(
                "/api/v1/cases",
                json={
                    "tenant": "usingen",
                    "service": "general",
                    "applicant": {"name": f"Person {number}"},
                    "data": {"subject": f"Anliegen {number}"},
                },
                headers={"Connection": "close"},
            )
            assert response.status_code == 201, response.text
            submitted.append(response.json())
        last = max(case["position"] for case in submitted)
        inbox = client.get("/api/v1/inbox", params={"min_position": last, "limit": 50})
        assert inbox.status_code == 200, inbox.text
        found = {item["case_id"] for item in inbox.json()["items"]}
        assert {case["id"] for case in submitted} <= found
        references = [case["reference"] for case in submitted]
        assert len(set(references)) == 6
    # One process keeps the views; no API process failed to open the store.
    assert log_count(log, "projections running") == 1
    assert log_count(log, "database unavailable") == 0


def children_of(parent: int) -> set[int]:
    """The live child processes of ``parent`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def the_processes_stop_when_the_serving_process_is_killed_outright(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    """SIGKILL leaves the parent no chance to stop its children: they notice and stop."""
    _base, log, process = served
    children = children_of(process.pid) - {
        pid for pid in children_of(process.pid) if "resource_tracker" in cmdline(pid)
    }
    assert len(children) == 3, [cmdline(pid) for pid in children]  # two API, one projection
    process.kill()
    process.wait()
    limit = time.monotonic() + STARTUP_LIMIT_SECONDS
    while any(alive(pid) for pid in children):
        if time.monotonic() > limit:
            pytest.fail(f"still running after their parent was killed: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def start_together(target: DatabaseTarget, count: int) -> tuple[list[Vorgang], list[BaseException]]:
    """``count`` start-ups released at the same moment; what opened and what failed."""
    together = threading.Barrier(count)
    opened: list[Vorgang] = []
    failures: list[BaseException] = []

    def start() -> None:
        together.wait(timeout=30)
        try:
            opened.append(build(Settings(database_url=target.display)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened, failures


@pytest.mark.parametrize("attempt", range(3))
def test_processes_starting_together_on_a_fresh_schema_all_open_it(
    pg: DatabaseTarget, attempt: int
) -> None:
    """Four start-ups at once on a fresh schema: every one opens the store.

    Without one creator at a time, ``CREATE ... IF NOT EXISTS`` of the same table or type
    in two sessions fails one of them on the catalogue's unique index.
    """
    opened, failures = start_together(pg, 4)
    for vorgang in opened:
        vorgang.close()
    assert failures == []
    assert len(opened) == 4


def projection_pids(log: Path) -> list[int]:
    """The pids of the projection processes that reported running, in order."""
    pids = []
    for line in log.read_text().splitlines():
        if '"event": "projections running"' in line:
            pids.append(int(json.loads(line)["pid"]))
    return pids


def a_projection_process_that_dies_is_started_again(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    _base, log, process = served
    [first] = projection_pids(log)
    os.kill(first, signal.SIGKILL)
    limit = time.monotonic() + STARTUP_LIMIT_SECONDS
    while len(projection_pids(log)) < 2:
        if process.poll() is not None or time.monotonic() > limit:
            pytest.fail(f"no projection process came back: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    second = projection_pids(log)[1]
    assert second != first
    assert alive(second)
    assert log_count(log, "projection process ended; starting another") == 1


def test_the_projection_loop_waits_for_a_database_that_is_down_at_start(
    pg: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Down twice, then up: the loop keeps trying (a process that gave up kept no views)."""
    monkeypatch.setenv("VORGANG_DATABASE_URL", pg.display)
    monkeypatch.setattr(serving, "FIRST_RETRY_SECONDS", 0.01)
    attempts: list[str] = []
    built: list[Vorgang] = []

    def flaky_build(settings: Settings) -> Vorgang:
        attempts.append("try")
        if len(attempts) <= 2:
            raise DatabaseUnavailable("cannot open the database: connection refused")
        built.append(build(settings))
        return built[0]

    monkeypatch.setattr(serving, "build", flaky_build)
    stop = threading.Event()
    loop = threading.Thread(target=serving.keep_read_models, args=(stop,))
    loop.start()
    try:
        limit = time.monotonic() + STARTUP_LIMIT_SECONDS
        while not (built and built[0].projections.running):
            assert loop.is_alive(), "the loop gave up"
            assert time.monotonic() < limit, "the projections never started"
            time.sleep(0.01)
    finally:
        stop.set()
        loop.join()
    assert len(attempts) == 3

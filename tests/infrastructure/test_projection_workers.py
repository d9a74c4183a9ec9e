"""Several workers for one projection on PostgreSQL: exactly one applies, another takes over.

Each worker has views of its own (advisory locks belong to a session), and its own lock
and LISTEN connections carry an application name, so ``pg_locks`` shows which worker
holds a projection. The projections keep a ledger (one row per applied event, written in
the view's transaction; see ``projection_worker``), so "applied exactly once" is counted,
not inferred.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from application.clock import FixedClock
from application.store import VorgangStore
from infrastructure.database import DatabaseTarget
from infrastructure.view_database import PostgresViews
from infrastructure.wiring import Vorgang
from tests.conftest import admin_connection, drop_postgres_schema, fresh_postgres_target
from tests.infrastructure import projection_worker as pw

pytestmark = pytest.mark.postgres

FRESH = 99
TAKEOVER_SECONDS = 60.0  # a hang guard only: the verdicts are the states reached
KEYS = ("inbox_v1", "audit_trail_v1")


class NamedViews(PostgresViews):
    """Views whose own connections (the lock's, the listener's) carry an application name."""

    def __init__(self, target: DatabaseTarget, application_name: str) -> None:
        self.application_name = application_name
        super().__init__(target)

    def connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        conn = super().connect(autocommit=autocommit)
        conn.execute("SELECT set_config('application_name', %s, false)", (self.application_name,))
        if not autocommit:
            conn.commit()
        return conn


@dataclass
class Worker:
    """One worker of a projection: a store, views and a runner of its own."""

    name: str
    store: VorgangStore
    views: NamedViews
    projection: Any  # a ledgered projection: it counts its ``calls`` and has a ``gate``
    runner: pw.CountingRunner

    def close(self) -> None:
        self.runner.stop()
        self.views.close()
        self.store.close()


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    """A schema of its own (skipped on a laptop without PostgreSQL, failing under CI)."""
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


@pytest.fixture
def writer(pg: DatabaseTarget) -> Iterator[tuple[Vorgang, FixedClock]]:
    """The application that writes cases, with a first few already in the log."""
    vorgang, clock = pw.new_vorgang(pg.display)
    pw.write_cases(vorgang.cases, clock, 0, 10)
    try:
        yield vorgang, clock
    finally:
        vorgang.close()


@pytest.fixture
def prefix() -> str:
    """The application names of this test's workers start with it."""
    return f"vorgang-w-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workers(pg: DatabaseTarget, prefix: str) -> Iterator[Callable[[str], Worker]]:
    """Make in-process workers for the inbox, version 1; all are closed at the end."""
    made: list[Worker] = []

    def make(name: str) -> Worker:
        store = pw.open_store(pg)
        views = NamedViews(pg, f"{prefix}-{name}")
        projection = pw.inbox(1, name)
        runner = pw.CountingRunner(store, views, projection, batch_size=20, poll_seconds=0.2)
        made.append(Worker(name, store, views, projection, runner))
        return made[-1]

    yield make
    for worker in made:
        worker.runner.request_stop()
    for worker in made:
        worker.close()


def holders(target: DatabaseTarget, prefix: str) -> list[tuple[str, int]]:
    """(application name, backend pid) of this test's sessions holding an advisory lock."""
    with admin_connection(target) as conn:
        rows = conn.execute(
            "SELECT a.application_name, l.pid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE %s "
            "ORDER BY 1",
            (prefix + "%",),
        ).fetchall()
    return [(str(name), int(str(pid))) for name, pid in rows]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until the condition held; fail after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


def more_cases(writer: tuple[Vorgang, FixedClock], first: int, count: int = 5) -> int:
    """Write cases; return the new head of the log."""
    vorgang, clock = writer
    pw.write_cases(vorgang.cases, clock, first, count)
    return pw.head(vorgang.store)


def applied_by(worker: Worker, key: str = "inbox_v1") -> int:
    """How many event positions a worker committed to the view."""
    return pw.ledger_workers(worker.views, key)[worker.name]


def assert_inbox_exactly_once(worker: Worker) -> None:
    """The inbox at the head, equal to a fresh rebuild, every case event in it once."""
    store, views = worker.store, worker.views
    assert pw.positions(views)["inbox_v1"] == pw.head(store)
    pw.rebuild(store, views, FRESH, ["inbox"])
    pw.assert_views_equal(views, 1, FRESH, ["inbox"])
    pw.assert_applied_exactly_once(views, "inbox_v1", pw.case_event_positions(store))


def test_one_of_two_workers_applies_and_the_other_takes_over_when_it_stops(
    pg: DatabaseTarget,
    writer: tuple[Vorgang, FixedClock],
    workers: Callable[[str], Worker],
    prefix: str,
) -> None:
    a, b = workers("a"), workers("b")
    a.runner.start()
    assert a.runner.wait_for(pw.head(writer[0].store), timeout=TAKEOVER_SECONDS)
    b.runner.start()
    goal = more_cases(writer, 100)
    assert a.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
    tried = b.runner.lock_attempts
    wait_until(lambda: b.runner.lock_attempts >= tried + 3, TAKEOVER_SECONDS, "b trying the lock")
    assert [name for name, _ in holders(pg, prefix)] == [f"{prefix}-a"]
    assert b.projection.calls == 0
    assert applied_by(b) == 0

    a.runner.stop()  # releases the lock
    took = wait_until(
        lambda: [name for name, _ in holders(pg, prefix)] == [f"{prefix}-b"],
        TAKEOVER_SECONDS,
        "b holding the lock",
    )
    goal = more_cases(writer, 200)
    assert b.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
    assert applied_by(b) > 0
    calls_of_a = a.projection.calls
    goal = more_cases(writer, 300)
    assert b.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
    assert a.projection.calls == calls_of_a
    assert_inbox_exactly_once(b)
    print(f"b took over {took:.2f} s after a stopped")


def test_the_standby_takes_over_when_the_holding_process_is_killed(
    pg: DatabaseTarget,
    writer: tuple[Vorgang, FixedClock],
    prefix: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "holder.log"
    with log.open("w") as stderr:
        holder = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", pw.__name__, pg.display, "--mode", "follow"],
            cwd=pw.ROOT,
            env={**os.environ, "PGAPPNAME": f"{prefix}-holder"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    standby: list[Worker] = []
    try:

        def holding() -> bool:
            # A holder that died (say, on an import error) fails now, with what it said.
            assert holder.poll() is None, f"the holder exited: {log.read_text()[-2000:]}"
            return len(holders(pg, f"{prefix}-holder")) == 2

        wait_until(holding, 120, "the holder's locks")  # a hang guard: the verdict is the state
        store, views = pw.open_store(pg), NamedViews(pg, f"{prefix}-standby")
        for projection in (pw.inbox(1, "standby"), pw.audit_trail(1, "standby")):
            runner = pw.CountingRunner(store, views, projection, batch_size=20, poll_seconds=0.2)
            standby.append(Worker("standby", store, views, projection, runner))
            runner.start()
        goal = more_cases(writer, 100)
        wait_until(
            lambda: min(pw.positions(views)[key] for key in KEYS) >= goal,
            TAKEOVER_SECONDS,
            "the holder applying",
        )
        tried = [worker.runner.lock_attempts for worker in standby]
        wait_until(
            lambda: all(
                w.runner.lock_attempts >= n + 3 for w, n in zip(standby, tried, strict=True)
            ),
            TAKEOVER_SECONDS,
            "the standby trying the locks",
        )
        assert all(worker.projection.calls == 0 for worker in standby)

        holder.kill()  # SIGKILL: no release, no goodbye; its sessions end with it
        holder.wait(timeout=10)
        took = wait_until(
            lambda: len(holders(pg, f"{prefix}-standby")) == 2,
            TAKEOVER_SECONDS,
            "the standby holding both locks",
        )
        goal = more_cases(writer, 200)
        for worker in standby:
            assert worker.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
        assert holders(pg, f"{prefix}-holder") == []
        expected = pw.case_event_positions(store)
        for key in KEYS:
            pw.assert_applied_exactly_once(views, key, expected)
            assert pw.ledger_workers(views, key)["standby"] > 0
        pw.rebuild(store, views, FRESH)
        pw.assert_views_equal(views, 1, FRESH)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for worker in standby:
            worker.runner.request_stop()
        for worker in standby:
            worker.runner.stop()
        if standby:
            standby[0].views.close()
            standby[0].store.close()
    print(f"the standby took over {took:.2f} s after the holder was killed")


def terminate(target: DatabaseTarget, pid: int) -> None:
    """End one backend, as an operator (or a network failure) would."""
    with admin_connection(target) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_hung_holder_whose_session_was_ended_cannot_commit_its_stale_batch(
    pg: DatabaseTarget,
    writer: tuple[Vorgang, FixedClock],
    workers: Callable[[str], Worker],
    prefix: str,
) -> None:
    """The advisory lock is an optimisation; the tracking write is the guarantee."""
    a, b = workers("a"), workers("b")
    a.runner.start()
    assert a.runner.wait_for(pw.head(writer[0].store), timeout=TAKEOVER_SECONDS)
    b.runner.start()
    wait_until(lambda: b.runner.lock_attempts >= 2, TAKEOVER_SECONDS, "b trying the lock")
    [(name, lock_pid)] = holders(pg, prefix)
    assert name == f"{prefix}-a"

    gate = threading.Event()
    a.projection.gate = gate  # a reads its next batch, then hangs before applying it
    calls = a.projection.calls
    goal = more_cases(writer, 100)
    wait_until(lambda: a.projection.calls > calls, TAKEOVER_SECONDS, "a inside its next batch")
    terminate(pg, lock_pid)  # a's lock goes; a itself hangs on, its batch in hand
    took = wait_until(
        lambda: [n for n, _ in holders(pg, prefix)] == [f"{prefix}-b"],
        TAKEOVER_SECONDS,
        "b holding the lock",
    )
    assert b.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
    assert applied_by(b) > 0

    applied_by_a = applied_by(a)
    gate.set()  # a wakes up and tries to commit the batch b has applied meanwhile
    wait_until(
        lambda: bool(a.runner.failures) or applied_by(a) > applied_by_a,
        TAKEOVER_SECONDS,
        "a's stale batch settled",
    )
    pw.assert_applied_exactly_once(b.views, "inbox_v1", pw.case_event_positions(b.store))
    assert applied_by(a) == applied_by_a
    assert a.runner.failures == ["TrackingConflict"]
    goal = more_cases(writer, 200)
    assert b.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
    tried = a.runner.lock_attempts
    wait_until(lambda: a.runner.lock_attempts >= tried + 2, TAKEOVER_SECONDS, "a trying the lock")
    assert [n for n, _ in holders(pg, prefix)] == [f"{prefix}-b"]  # a stands by now
    assert_inbox_exactly_once(b)
    print(f"b took over {took:.2f} s after a's session ended; a failed with {a.runner.failures}")


def test_when_the_holders_session_ends_exactly_one_worker_applies_again(
    pg: DatabaseTarget,
    writer: tuple[Vorgang, FixedClock],
    workers: Callable[[str], Worker],
    prefix: str,
) -> None:
    a, b = workers("a"), workers("b")
    a.runner.start()
    b.runner.start()
    wait_until(lambda: len(holders(pg, prefix)) == 1, TAKEOVER_SECONDS, "one holder")
    for round_ in range(3):
        [(name, lost)] = holders(pg, prefix)
        terminate(pg, lost)

        def new_holder(lost: int = lost) -> bool:
            return any(pid != lost for _, pid in holders(pg, prefix))

        wait_until(new_holder, TAKEOVER_SECONDS, "a new holder")
        [(name, _)] = holders(pg, prefix)
        current = a if name == f"{prefix}-a" else b
        other = b if current is a else a
        tried = other.runner.lock_attempts  # the other worker tries the lock meanwhile too
        wait_until(
            lambda w=other, n=tried: w.runner.lock_attempts >= n + 2,  # type: ignore[misc]
            TAKEOVER_SECONDS,
            "the other worker trying the lock",
        )
        assert [n for n, _ in holders(pg, prefix)] == [name]
        before = applied_by(other)
        goal = more_cases(writer, 100 * (round_ + 1))
        assert current.runner.wait_for(goal, timeout=TAKEOVER_SECONDS)
        assert applied_by(other) == before  # the new events went to the holder alone
        assert len(holders(pg, prefix)) == 1
    assert_inbox_exactly_once(a)


def test_views_in_two_schemas_of_one_database_do_not_share_a_lock(
    pg: DatabaseTarget, writer: tuple[Vorgang, FixedClock], prefix: str
) -> None:
    """A deployment per schema (docs/architecture.md, decision 2) runs its own projections."""
    other = fresh_postgres_target()
    made: list[Worker] = []
    try:
        other_vorgang, other_clock = pw.new_vorgang(other.display)
        try:
            pw.write_cases(other_vorgang.cases, other_clock, 0, 3)
        finally:
            other_vorgang.close()
        for name, target in (("here", pg), ("there", other)):
            store = pw.open_store(target)
            views = NamedViews(target, f"{prefix}-{name}")
            projection = pw.inbox(1, name)
            runner = pw.CountingRunner(store, views, projection, batch_size=20, poll_seconds=0.2)
            made.append(Worker(name, store, views, projection, runner))
            runner.start()
        for worker in made:
            assert worker.runner.wait_for(pw.head(worker.store), timeout=TAKEOVER_SECONDS), (
                f"the inbox in the schema {worker.name!r} never ran: {holders(pg, prefix)}"
            )
        assert len(holders(pg, prefix)) == 2
    finally:
        for worker in made:
            worker.close()
        drop_postgres_schema(other)

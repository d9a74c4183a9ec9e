"""Projection runners killed at random moments, and PostgreSQL dropping every connection.

A worker process (``tests.infrastructure.projection_worker``) catches the inbox and the
audit trail up in small batches and is SIGKILLed, again and again; a last worker
finishes. The views must then equal a fresh rebuild of the same log row for row, and the
ledger (one row per applied event, written in the view's own transaction) must hold
every case event exactly once: nothing missing, nothing doubled.

Where each kill lands is decided by what the worker reports, never by a clock: at a
stage of its start-up, or at its ``n``-th committed audit trail batch (a random ``n``),
either while it waits right after that commit or in the middle of the next batch. The
inbox runs free beside it, so its kills land anywhere. A slower machine makes the test
longer, never different: every kill lands mid-catch-up, and every worker planned to
commit does, by construction.

The plan is drawn from a fixed seed, so the suite is the same on every run; explore
others with ``VORGANG_CRASH_SEED=<seed>`` or ``=random`` (the seed is in every failure).
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from application.clock import FixedClock
from application.store import VorgangStore
from infrastructure import projection_runner
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.demo import seed_demo
from infrastructure.projection_runner import TRACKING
from infrastructure.view_database import ViewDatabase, ViewTransaction, open_views
from infrastructure.wiring import Vorgang
from projections.projection import Applied
from tests.conftest import (
    admin_connection,
    drop_postgres_schema,
    fresh_postgres_target,
    require_postgres,
)
from tests.infrastructure import projection_worker as pw
from tests.infrastructure.conftest import copy_sqlite_demo

MODULE = "tests.infrastructure.projection_worker"
_SEED = os.environ.get("VORGANG_CRASH_SEED", "15")
SEED = random.SystemRandom().randrange(10**6) if _SEED == "random" else int(_SEED)
SQLITE_KILLS = 50
POSTGRES_KILLS = 15
RESTARTS = 2
FRESH = 99  # the fresh rebuild of version v is version FRESH + v


def write_log(vorgang: Vorgang, clock: FixedClock, cases: int) -> int:
    """The demo's 68 cases in every state, then ``cases`` busy ones; return the head."""
    seed_demo(vorgang)
    pw.write_cases(vorgang.cases, clock, 0, cases)
    return pw.head(vorgang.store)


class Lines:
    """A worker's stdout, read in a thread so that every wait has a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.strip())
        self._queue.put(None)

    def wait(self, prefix: str, timeout: float) -> list[str]:
        """The words of the next line that starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                seen = self.seen[-5:]
                raise AssertionError(f"no {prefix!r} within {timeout} s; saw {seen}") from None
            if line is None:
                raise AssertionError(f"worker ended before {prefix!r}; saw {self.seen[-5:]}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line.split()


def stderr_tail(path: Path, lines: int = 15) -> str:
    """The end of a worker's log, for failure messages."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Kill:
    """Where a worker is killed: at a stage of its start-up, or in its n-th batch or after."""

    trigger: str  # a start-up stage (pw.STAGES) or "commit"
    then: str = ""  # open: batch n written, uncommitted; commit: while committing it;
    # hold: right after committing it; go: somewhere in batch n + 1 (see pw.serve)

    def batches(self, n: int) -> set[int]:
        """How many audit trail batches the worker may have committed when it dies."""
        return {"": {0}, "open": {n - 1}, "commit": {n - 1, n}, "hold": {n}, "go": {n}}[self.then]


def plan(kills: int, rng: random.Random) -> list[Kill]:
    """A fifth of the kills in start-up, a tenth in a batch's transaction, a fifth in its
    commit, the rest after a committed batch, half waiting, half in the next batch.

    Fixed shares rather than a draw for each kill, so that what the verdict counts on
    (most workers have committed a batch before they die) holds by construction.
    """
    fifth, tenth = kills // 5, kills // 10
    kinds = [Kill(pw.STAGES[i % len(pw.STAGES)]) for i in range(fifth)]
    kinds += [Kill("commit", "open") for _ in range(tenth)]
    kinds += [Kill("commit", "commit") for _ in range(fifth)]
    rest = kills - 2 * fifth - tenth
    kinds += [Kill("commit", "hold" if i % 2 else "go") for i in range(rest)]
    rng.shuffle(kinds)
    return kinds


@dataclass
class Crashes:
    """What the kill loop did."""

    runs: int = 0
    startup: int = 0  # kills at a stage of start-up (the audit trail held in its first batch)
    open: int = 0  # kills with a batch written and its transaction open
    committing: int = 0  # kills while a batch was being committed (before, in or after)
    held: int = 0  # kills while the worker waited right after its n-th committed batch
    mid_batch: int = 0  # kills at a random point of the batch after the n-th
    appended: int = 0  # events written while workers were being killed
    committers: set[str] = field(default_factory=set, repr=False)  # workers that committed
    progress: list[int] = field(default_factory=list)  # slowest view's position after each kill


@contextmanager
def fork_server(url: str, log: Path) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """``projection_worker --mode serve``: one Python start-up, a forked worker per run."""
    with log.open("w") as stderr:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", MODULE, url, "--mode", "serve", "--timeout", "60"],
            cwd=pw.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
        )
        try:
            assert server.stdin is not None
            assert server.stdout is not None
            lines = Lines(server.stdout)
            lines.wait("serving", 60)  # a hang guard only: it waits for the line
            yield server, lines
        finally:
            if server.stdin is not None:
                server.stdin.close()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@dataclass
class Snapshot:
    """The tracking positions and the ledger, read in one transaction: as of one moment."""

    positions: dict[str, int]
    ledger: list[tuple[str, int, str]]  # projection, position, worker

    @classmethod
    def read(cls, views: ViewDatabase) -> Snapshot:
        """Both, from one transaction."""
        with views.transaction() as tx:
            positions = tx.query(f"SELECT name, position FROM {TRACKING}")  # noqa: S608
            ledger = tx.query(f"SELECT projection, position, worker FROM {pw.LEDGER}")  # noqa: S608
        return cls(
            {str(name): int(at) for name, at in positions},
            [(str(key), int(at), str(worker)) for key, at, worker in ledger],
        )

    def applied_by(self, key: str, worker: str) -> int:
        """How many events a worker committed to a view."""
        return sum(1 for k, _, w in self.ledger if (k, w) == (key, worker))

    def assert_matches_position(
        self, views: ViewDatabase, store: VorgangStore, key: str, context: str
    ) -> None:
        """The view holds every case event up to its position exactly once, and none beyond."""
        position = self.positions[key]
        counts = Counter(at for k, at, _ in self.ledger if k == key)
        expected = set(pw.case_event_positions(store, stop=position))
        doubled = sorted(at for at, times in counts.items() if times > 1)
        missing = sorted(expected - set(counts))
        beyond = sorted(set(counts) - expected)
        assert not doubled, f"{key}: applied twice {doubled[:5]} ({context})"
        assert not missing, f"{key}: {len(missing)} events up to {position} missing ({context})"
        assert not beyond, (
            f"{key}: applied beyond its position {position}: {beyond[:5]} ({context}); "
            f"positions read again: {pw.positions(views)}"
        )


def crash_repeatedly(
    url: str,
    views: ViewDatabase,
    writer: tuple[Vorgang, FixedClock],
    *,
    kills: int,
    rng: random.Random,
    log: Path,
) -> Crashes:
    """Start a worker, SIGKILL it where the plan says, check what survived; ``kills`` times."""
    vorgang, clock = writer
    inbox_key, audit_key = "inbox_v1", "audit_trail_v1"  # the worker runs version 1
    crashes = Crashes()
    with fork_server(url, log) as (server, lines):
        assert server.stdin is not None
        for kill in plan(kills, rng):
            crashes.runs += 1
            worker = f"w{crashes.runs}"
            at = pw.positions(views).get(audit_key, 0)
            while len(pending := pw.case_event_positions(vorgang.store, after=at)) < 300:
                # Keep ahead of the workers: more events arrive while they crash.
                before = pw.head(vorgang.store)
                pw.write_cases(vorgang.cases, clock, 10_000 + crashes.runs * 30, 30)
                crashes.appended += pw.head(vorgang.store) - before
            goal = pw.head(vorgang.store)
            batch_size = rng.randint(5, 20)
            # The gate lets no more than n batches commit: n + 1 full batches must leave an
            # event over, so that every kill lands before the head, by construction.
            n = min(rng.randint(1, 8), (len(pending) - 1) // batch_size - 1)
            n = max(n, 2) if kill.then == "commit" else n  # it times a commit before
            fraction = rng.uniform(0, 1.5)
            command = f"{worker} {batch_size} {kill.trigger} {n} {kill.then or '-'} {fraction:.3f}"
            server.stdin.write(f"run {command}\n")
            server.stdin.flush()
            words = lines.wait("exit", 120)  # a hang guard only: the server answers
            code, how, commits, reported = int(words[2]), words[3], int(words[5]), int(words[6])
            context = f"seed {SEED}, run {crashes.runs}: {command}"
            assert (code, how) == (-9, "hit"), (
                f"worker exited {code} ({how}; {context}):\n{stderr_tail(log)}"
            )
            errors = {k: e for k, e in pw.last_errors(views).items() if k.endswith("_v1") and e}
            assert not errors, f"a worker failed ({context}): {errors}"  # none, ever
            seen = Snapshot.read(views)
            now = seen.positions
            # Exactly the batches the plan let it commit survived the kill, whole, and the
            # tracking position is the last one it reported; nothing of a batch that was
            # under way is left. A kill in a commit leaves all of the batch or none.
            applied = seen.applied_by(audit_key, worker)
            batches, rest = divmod(applied, batch_size)
            assert rest == 0, f"part of a batch survived: {applied} events ({context})"
            assert batches in kill.batches(n), f"{batches} batches survived ({context})"
            assert commits in (batches, batches - 1), f"{commits} reported ({context})"
            if commits == batches:
                assert now[audit_key] == (reported if batches else at), f"{now} ({context})"
            assert now[audit_key] < goal, f"killed after the head ({context})"
            # Both views hold every case event up to their position once, and no other:
            # a view's rows and its position are one transaction, wherever the kill fell.
            for key in (inbox_key, audit_key):
                seen.assert_matches_position(views, vorgang.store, key, context)
            if kill.trigger != "commit":
                crashes.startup += 1
            crashes.open += kill.then == "open"
            crashes.committing += kill.then == "commit"
            crashes.held += kill.then == "hold"
            crashes.mid_batch += kill.then == "go"
            if batches:
                crashes.committers.add(worker)
            crashes.progress.append(min(now[inbox_key], now[audit_key]))
    return crashes


def finish(url: str, log: Path) -> None:
    """A worker started from scratch (a cold ``python -m``) catches up to the head."""
    with log.open("a") as stderr:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", MODULE, url, "--batch-size", "11", "--timeout", "30"],
            cwd=pw.ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, (
        f"the last worker did not reach the head (seed {SEED}): {done.stdout}\n{stderr_tail(log)}"
    )


def assert_exactly_the_fresh_rebuild(vorgang: Vorgang, views: ViewDatabase, version: int) -> None:
    """Both views at the head, equal to a fresh rebuild row for row, every event once."""
    store = vorgang.store
    end = pw.head(store)
    at = pw.positions(views)
    assert at[f"inbox_v{version}"] == end
    assert at[f"audit_trail_v{version}"] == end
    pw.rebuild(store, views, FRESH + version)
    pw.assert_views_equal(views, version, FRESH + version)
    expected = pw.case_event_positions(store)
    assert len(expected) > 1000
    for key in (f"inbox_v{version}", f"audit_trail_v{version}"):
        pw.assert_applied_exactly_once(views, key, expected)


# --------------------------------------------------------------------- SQLite


def test_sqlite_views_survive_fifty_kills_at_random_moments(
    tmp_path: Path, sqlite_demo: Path
) -> None:
    # The log starts as write_log's: a copy of the run's demo (seeded once for every test
    # that starts from it), then the busy cases.
    url, _ = copy_sqlite_demo(sqlite_demo, tmp_path / "demo")
    rng = random.Random(SEED)
    vorgang, clock = pw.new_vorgang(url)
    views = open_views(parse_database_url(url))
    started = time.monotonic()
    try:
        pw.write_cases(vorgang.cases, clock, 0, 230)
        crashes = crash_repeatedly(
            url, views, (vorgang, clock), kills=SQLITE_KILLS, rng=rng, log=tmp_path / "worker.log"
        )
        finish(url, tmp_path / "worker.log")
        assert_exactly_the_fresh_rebuild(vorgang, views, 1)
        assert pw.last_errors(views)["inbox_v1"] is None  # no conflict, no failure, ever
        assert pw.last_errors(views)["audit_trail_v1"] is None
        # Most killed workers had committed a batch first (kills land mid-catch-up, not
        # only at start-up): by the plan, each checked above, and their rows are all here.
        workers = pw.ledger_workers(views, "audit_trail_v1")
        assert crashes.committers <= set(workers), f"{crashes} (seed {SEED})"
        assert len(crashes.committers) > SQLITE_KILLS // 2, f"{crashes} (seed {SEED})"
    finally:
        views.close()
        vorgang.close()
    took = time.monotonic() - started
    print(f"seed {SEED}: {crashes}; {len(workers)} workers applied audit batches; {took:.1f} s")


class BrokenLog:
    """A log sink that fails, as a closed stderr or a broken pipe does."""

    def __getattr__(self, level: str) -> Callable[..., None]:
        def fail(*args: object, **kwargs: object) -> None:
            raise BrokenPipeError(f"log.{level}: the log sink is gone")

        return fail


def test_a_runner_survives_its_log_sink_breaking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing log write, even in the error path, must not end the runner's thread."""
    vorgang, clock = pw.new_vorgang(f"sqlite:///{tmp_path / 'vorgang.db'}")
    try:
        pw.write_cases(vorgang.cases, clock, 0, 5)
        monkeypatch.setattr(projection_runner, "log", BrokenLog())
        projection = pw.inbox(1, "thread")
        apply, hiccups = projection.apply, [RuntimeError("hiccup")] * 2

        def flaky(tx: ViewTransaction, batch: Sequence[Applied]) -> None:
            if hiccups:
                raise hiccups.pop()
            apply(tx, batch)

        monkeypatch.setattr(projection, "apply", flaky)
        runner = pw.CountingRunner(
            vorgang.store, vorgang.views, projection, batch_size=7, poll_seconds=0.05
        )
        runner.start()
        try:
            reached = runner.wait_for(pw.head(vorgang.store), timeout=10)
        finally:
            runner.stop()
        assert reached, f"the runner stopped at {runner.position()}: {runner.failures}"
        assert runner.failures == ["RuntimeError", "RuntimeError"]
    finally:
        vorgang.close()


# ----------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres_log() -> Iterator[DatabaseTarget]:
    """A schema with a log of a few thousand events, shared by the PostgreSQL tests here.

    Each test runs views of its own version over it, so they do not meet.
    """
    require_postgres()
    target = fresh_postgres_target()
    vorgang, clock = pw.new_vorgang(target.display)
    try:
        write_log(vorgang, clock, cases=110)
    finally:
        vorgang.close()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


@pytest.mark.postgres
def test_postgres_views_survive_kills_at_random_moments(
    postgres_log: DatabaseTarget, tmp_path: Path
) -> None:
    url = postgres_log.display
    rng = random.Random(SEED + 1)
    vorgang, clock = pw.new_vorgang(url)
    views = open_views(postgres_log)
    try:
        crashes = crash_repeatedly(
            url, views, (vorgang, clock), kills=POSTGRES_KILLS, rng=rng, log=tmp_path / "worker.log"
        )
        finish(url, tmp_path / "worker.log")
        assert_exactly_the_fresh_rebuild(vorgang, views, 1)
        assert pw.last_errors(views)["inbox_v1"] is None
        assert pw.last_errors(views)["audit_trail_v1"] is None
    finally:
        views.close()
        vorgang.close()
    print(f"seed {SEED + 1}: {crashes}")


def terminate_backends(target: DatabaseTarget, application_name: str) -> int:
    """What a PostgreSQL restart does to a process: every connection it has is gone.

    Only the backends of this test (by application name) are terminated, so that test
    sessions running beside this one in the same database are not disturbed.
    """
    with admin_connection(target) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


def advisory_locks(target: DatabaseTarget, application_name: str) -> int:
    """How many advisory locks the backends of this test hold."""
    with admin_connection(target) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = %s",
            (application_name,),
        ).fetchone()
    return int(str(row[0])) if row else 0


@pytest.mark.postgres
def test_postgres_restarts_mid_catch_up_and_the_runners_recover_by_themselves(
    postgres_log: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = 2
    name = f"vorgang-restart-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # every connection this test opens from now on
    store = pw.open_store(postgres_log)
    views = open_views(postgres_log)
    runners = [
        pw.CountingRunner(store, views, projection, batch_size=5, poll_seconds=0.2)
        for projection in (pw.inbox(version, "thread"), pw.audit_trail(version, "thread"))
    ]
    goal = pw.head(store)
    rng = random.Random(SEED + 2)
    restarts: list[tuple[int, int]] = []  # (slowest position, backends terminated)
    try:
        for runner in runners:
            runner.start()
        deadline = time.monotonic() + 30
        while min(runner.position() for runner in runners) == 0:
            assert time.monotonic() < deadline, "the runners never started applying"
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.4))
        for _ in range(RESTARTS):
            before = [runner.position() for runner in runners]
            restarts.append((min(before), terminate_backends(postgres_log, name)))
            # Once each applies again (the pools reconnect by themselves), restart again.
            deadline = time.monotonic() + 60
            while any(
                runner.position() < min(at + 60, goal)
                for runner, at in zip(runners, before, strict=True)
            ):
                assert time.monotonic() < deadline, f"no recovery after {restarts}"
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.3))
        started = time.monotonic()
        reached = [runner.wait_for(goal, timeout=60) for runner in runners]
        finished = time.monotonic() - started
        # Between cycles each runner sees that its lock went with its session, and retakes it.
        deadline = time.monotonic() + 10
        while advisory_locks(postgres_log, name) < len(runners):
            assert time.monotonic() < deadline, "the runners did not retake their locks"
            time.sleep(0.05)
    finally:
        for runner in runners:
            runner.request_stop()
        for runner in runners:
            runner.stop()
    failures = [failure for runner in runners for failure in runner.failures]
    try:
        assert all(reached), f"not at the head {goal} after restarts {restarts}: {failures}"
        assert all(0 < slowest < goal for slowest, _ in restarts), (
            f"a restart did not land mid-catch-up (head {goal}): {restarts}"
        )
        assert all(terminated >= 3 for _, terminated in restarts), restarts  # lock, pool, LISTEN
        lost = [runner.locks_lost for runner in runners]
        # Each noticed that its lock's session was gone (a failure is logged only when a
        # statement was in flight; idle pooled connections are just replaced).
        assert all(n >= 1 for n in lost), f"locks lost {lost} in {RESTARTS} restarts"
        assert pw.positions(views)[f"inbox_v{version}"] == goal
        pw.rebuild(store, views, FRESH + version)
        pw.assert_views_equal(views, version, FRESH + version)
        expected = pw.case_event_positions(store)
        for key in (f"inbox_v{version}", f"audit_trail_v{version}"):
            pw.assert_applied_exactly_once(views, key, expected)
    finally:
        views.close()
        store.close()
    print(f"restarts {restarts}, failures {failures}, locks lost {lost}, end {finished:.1f} s")

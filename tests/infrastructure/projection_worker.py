# ruff: noqa: S608 - table names are module constants or the test's own; values are bound
"""A projection worker to crash, and what the crash and worker tests share.

Run as ``python -m tests.infrastructure.projection_worker <database_url> [options]``:

* ``--mode once`` (default): runners for the inbox and the audit trail catch up in
  background threads (``ProjectionRunner.start``, the production loop) until both reach
  the head of the log as it was at start, then it prints ``done`` and exits 0.
* ``--mode follow``: the same, but keeps following the log until killed.
* ``--mode serve``: a fork server for the crash test. It imports everything once, then
  on each ``run <worker> <batch_size> <trigger> <n> <then> <fraction>`` line forks a
  child that works like ``once``, SIGKILLs it at a point the child reports (a stage of
  its start-up, or a moment of its ``n``-th audit trail batch; see ``serve``) and prints
  ``exit <pid> <code> ...``. A killed child is a process dying mid-catch-up, without
  paying for Python start-up on each of dozens of kills, and without a clock deciding
  what a kill interrupts: a slower machine makes a run longer, never different. No
  database is opened before the fork.

A worker prints ``started <pid>`` once its runners are running. The projections are
the production ``Inbox`` and ``AuditTrail`` with a *ledger*: each batch also inserts one
row per event position, in the same transaction as the view rows and the tracking
position, so a batch committed twice shows as a doubled position even where the view
itself would hide it (the inbox folds idempotently).
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case import Case
from domain.working_days import is_working_day
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.demo import TOWNS
from infrastructure.logging import configure_logging
from infrastructure.projection_runner import TRACKING, ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.view_database import (
    ProjectionLock,
    ViewDatabase,
    ViewTransaction,
    open_views,
)
from infrastructure.wiring import Vorgang, build
from persistence.transcodings import PersonalDataInClear
from projections.audit_trail import AuditTrail
from projections.case_events import case_event_topics
from projections.inbox import Inbox
from projections.projection import Applied, Projection
from tests.steps import take

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "projection_ledger"
NOTES_PER_CASE = 6


# ------------------------------------------------------------------ projections


class Ledgered(Projection):
    """Records every applied position in the ledger, in the view's own transaction."""

    worker = "?"
    gate: threading.Event | None = None  # when set by a test, apply waits for it
    written: Callable[[str], None] | None = None  # told once a batch's rows are in, uncommitted
    calls = 0

    def create_tables(self, tx: ViewTransaction) -> None:
        super().create_tables(tx)  # type: ignore[safe-super]
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {LEDGER} "
            "(projection TEXT NOT NULL, position BIGINT NOT NULL, worker TEXT NOT NULL)"
        )

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait()
        super().apply(tx, batch)  # type: ignore[safe-super]
        if batch:
            values = ", ".join("(?, ?, ?)" for _ in batch)
            params: list[Any] = []
            for applied in batch:
                params += [self.key, applied.position, self.worker]
            tx.execute(
                f"INSERT INTO {LEDGER} (projection, position, worker) VALUES {values}", params
            )
        if self.written is not None:
            self.written(self.key)


def inbox(version: int = 1, worker: str = "?", *, ledger: bool = True) -> Inbox:
    """The production inbox under a version of the test's choosing."""
    bases: tuple[type, ...] = (Ledgered, Inbox) if ledger else (Inbox,)
    klass = type(f"Inbox{version}", bases, {"version": version, "worker": worker})
    projection: Inbox = klass()
    return projection


def audit_trail(version: int = 1, worker: str = "?", *, ledger: bool = True) -> AuditTrail:
    """The production audit trail under a version of the test's choosing."""
    bases: tuple[type, ...] = (Ledgered, AuditTrail) if ledger else (AuditTrail,)
    klass = type(f"AuditTrail{version}", bases, {"version": version, "worker": worker})
    projection: AuditTrail = klass()
    return projection


BOTH = ("inbox", "audit_trail")


def view_tables(version: int, names: Sequence[str] = BOTH) -> list[tuple[str, str]]:
    """Every table of the inbox and the audit trail of a version, with its key column."""
    tables = {
        "inbox": [(f"inbox_v{version}", "case_id")],
        "audit_trail": [
            (f"audit_trail_v{version}", "position"),
            (f"audit_trail_v{version}_cases", "case_id"),
        ],
    }
    return [table for name in names for table in tables[name]]


# ------------------------------------------------------------------ the log


def new_vorgang(url: str) -> tuple[Vorgang, FixedClock]:
    """The wired application (encrypting personal data) with a clock the log generator moves."""
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    return build(Settings(database_url=url, key_cache_seconds=30), clock=clock), clock


def open_store(target: DatabaseTarget) -> VorgangStore:
    """A store for reading the log (runners never decrypt; they keep personal data sealed)."""
    return VorgangStore(env=target.env, personal_data=PersonalDataInClear())


def write_cases(cases: CaseService, clock: FixedClock, first: int, count: int) -> None:
    """Cases that are submitted, claimed, annotated; some released, confirmed or withdrawn.

    Most of each case's events are saved together (``handle``: several commands, one
    save), so a few thousand events take seconds; single commands and notes on earlier
    cases interleave the cases in the log.
    """
    ids: dict[int, UUID] = {}
    for i in range(first, first + count):
        town = TOWNS[i % len(TOWNS)]
        clerk = town.clerk
        applicant = Actor(f"portal:crash-{i}", f"Person {i}", Role.APPLICANT, town.tenant)
        result = cases.submit(
            actor=applicant,
            tenant=town.tenant,
            service="general",
            applicant={"name": f"Person {i}", "email": f"person{i}@example.org"},
            data={"subject": f"Anfrage {i}"},
            idempotency_key=f"crash-{i}",
        )
        ids[i] = result.case_id
        if not result.created:
            continue
        clock.advance(timedelta(minutes=13))

        def work(case: Case, i: int = i, clerk: Actor = clerk) -> None:
            case.claim(actor=clerk, at=clock.now())
            if i % 2:
                case.confirm_complete(actor=clerk, at=clock.now())
            for n in range(NOTES_PER_CASE):
                case.add_note(actor=clerk, at=clock.now(), text=f"Notiz {n} zu {i}")
            if i % 3 == 0:
                case.release(actor=clerk, at=clock.now(), reason="Urlaub")

        case: Case = cases.store.repository.get(result.case_id)
        work(case)
        cases.store.save(case)  # several commands, one save
        if i % 7 == 0:
            take(cases, result.case_id, "withdraw", actor=clerk, reason="Rücknahme")
        earlier = i - 5
        if earlier in ids and earlier % 7:
            take(
                cases,
                ids[earlier],
                "add_note",
                actor=TOWNS[earlier % len(TOWNS)].clerk,
                text="Rückruf",
            )


def head(store: VorgangStore) -> int:
    """The last position of the log."""
    return store.recorder.max_notification_id() or 0


def case_event_positions(store: VorgangStore, after: int = 0, stop: int | None = None) -> list[int]:
    """The positions of the case events in the log (what each view must apply once).

    Only those after ``after`` and up to ``stop`` (the head) if given.
    """
    return [
        n.id
        for n in store.recorder.select_notifications(
            start=after + 1,
            limit=10**9,
            stop=head(store) if stop is None else stop,
            topics=case_event_topics(),
        )
    ]


# ------------------------------------------------------------------ checks


class CountingRunner(ProjectionRunner):
    """Remembers every failure the runner survived, every lock it lost or tried to take."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.failures: list[str] = []
        self.locks_lost = 0
        self.lock_attempts = 0  # how often it tried to take the lock (a standby keeps trying)
        super().__init__(*args, **kwargs)

    def _record_error(self, error: Exception) -> None:
        self.failures.append(type(error).__name__)
        super()._record_error(error)

    def _acquire(self, previous: ProjectionLock | None) -> ProjectionLock | None:
        self.locks_lost += previous is not None
        self.lock_attempts += 1
        return super()._acquire(previous)


def positions(views: ViewDatabase) -> dict[str, int]:
    """Every projection's tracking position."""
    return {name: int(p) for name, p in views.query(f"SELECT name, position FROM {TRACKING}")}


def last_errors(views: ViewDatabase) -> dict[str, str | None]:
    """Every projection's last recorded error."""
    return dict(views.query(f"SELECT name, last_error FROM {TRACKING}"))


def rebuild(
    store: VorgangStore, views: ViewDatabase, version: int, names: Sequence[str] = BOTH
) -> None:
    """A fresh build of the views under another version, in one go (one batch each)."""
    factories = {"inbox": inbox, "audit_trail": audit_trail}
    for name in names:
        projection = factories[name](version, ledger=False)
        ProjectionRunner(store, views, projection, batch_size=10**9).catch_up()


def table_rows(views: ViewDatabase, table: str, key: str) -> list[tuple[Any, ...]]:
    """Every row of a table in key order."""
    return views.query(f"SELECT * FROM {table} ORDER BY {key}")


def assert_views_equal(
    views: ViewDatabase, version: int, fresh: int, names: Sequence[str] = BOTH
) -> None:
    """The views of ``version`` equal the fresh rebuild ``fresh`` row for row."""
    for (table, key), (fresh_table, _) in zip(
        view_tables(version, names), view_tables(fresh, names), strict=True
    ):
        got = table_rows(views, table, key)
        expected = table_rows(views, fresh_table, key)
        assert got, f"{table} is empty"
        missing = set(expected) - set(got)
        extra = set(got) - set(expected)
        summary = f"{table}: {len(got)} rows, {fresh_table}: {len(expected)} rows"
        assert not missing, f"{summary}; missing {sorted(missing, key=str)[:2]}"
        assert not extra, f"{summary}; unexpected {sorted(extra, key=str)[:2]}"
        assert got == expected, f"{table} differs from {fresh_table} in order or duplicates"


def ledger(views: ViewDatabase, key: str) -> Counter[int]:
    """How often each position was committed to a view."""
    rows = views.query(f"SELECT position FROM {LEDGER} WHERE projection = ?", (key,))
    return Counter(int(row[0]) for row in rows)


def ledger_workers(views: ViewDatabase, key: str) -> Counter[str]:
    """How many event positions each worker committed to a view."""
    rows = views.query(f"SELECT worker FROM {LEDGER} WHERE projection = ?", (key,))
    return Counter(str(row[0]) for row in rows)


def assert_applied_exactly_once(views: ViewDatabase, key: str, expected: list[int]) -> None:
    """Every case event committed to the view exactly once: none missing, none doubled."""
    counts = ledger(views, key)
    doubled = sorted(p for p, n in counts.items() if n > 1)
    missing = sorted(set(expected) - set(counts))
    unexpected = sorted(set(counts) - set(expected))
    assert not doubled, f"{key}: {len(doubled)} positions applied twice, e.g. {doubled[:5]}"
    assert not missing, f"{key}: {len(missing)} positions never applied, e.g. {missing[:5]}"
    assert not unexpected, f"{key}: positions that are no case events: {unexpected[:5]}"


# ------------------------------------------------------------------ the worker


def say(line: str) -> None:
    """One line to stdout, written at once (children share the server's pipe)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


GATED = "audit_trail"  # the projection whose runner a forked worker holds after each batch


class Reports:
    """A forked worker's line to the fork server: stages reached, batches written, committed.

    Once a batch of the gated projection is written (its transaction still open) and
    again once it is committed, that runner's thread waits for the server's go (one byte
    on ``gate``), so the server knows where that runner is, or can be at most: one step
    past the last go it gave.
    """

    def __init__(self, reports: int, gate: int) -> None:
        self._reports = reports
        self._gate = gate

    def tell(self, *words: object) -> None:
        """One line; a single write of less than PIPE_BUF bytes, so threads never interleave."""
        os.write(self._reports, (" ".join(str(w) for w in words) + "\n").encode())

    def written(self, name: str) -> None:
        """A batch's rows are written, not yet committed: say so; if gated, wait for the go."""
        self.tell("written", name)
        self._wait(name)

    def committed(self, name: str, position: int) -> None:
        """A batch is committed: say so; if gated, wait for the go."""
        self.tell("commit", name, position)
        self._wait(name)

    def _wait(self, name: str) -> None:
        if name.startswith(GATED):
            os.read(self._gate, 1)  # b"" once the server is gone: go on


class ReportingRunner(ProjectionRunner):
    """The production runner and loop, telling ``committed`` after each committed batch."""

    def __init__(self, *args: Any, committed: Callable[[str, int], None], **kwargs: Any) -> None:
        self._committed = committed
        super().__init__(*args, **kwargs)

    def catch_up(self) -> int:
        head = self.store.recorder.max_notification_id() or 0
        return self.catch_up_to(head, progress=self._report)

    def _report(self, position: int, head: int) -> None:
        self._committed(self.name, position)


def work(
    url: str,
    *,
    batch_size: int,
    version: int,
    follow: bool,
    timeout: float,
    worker: str | None = None,
    reports: Reports | None = None,
) -> int:
    """Run both projections in runner threads until the head at start (or forever)."""
    target = parse_database_url(url)
    store = open_store(target)
    views = open_views(target)
    worker = worker or f"pid{os.getpid()}"
    if reports is not None:
        reports.tell("opened")
    runners = [
        ReportingRunner(
            store,
            views,
            p,
            batch_size=batch_size,
            poll_seconds=0.2,
            committed=reports.committed,
        )
        if reports is not None
        else ProjectionRunner(store, views, p, batch_size=batch_size, poll_seconds=0.2)
        for p in (inbox(version, worker), audit_trail(version, worker))
    ]
    if reports is not None:
        for runner in runners:
            assert isinstance(runner.projection, Ledgered)
            runner.projection.written = reports.written
    goal = head(store)
    if reports is not None:
        reports.tell("setup")  # tables and tracking rows created
    for runner in runners:
        runner.start()
    say(f"started {os.getpid()}")
    if reports is not None:
        reports.tell("started")
    if follow:
        while True:
            time.sleep(3600)
    deadline = time.monotonic() + timeout
    reached = all(r.wait_for(goal, max(deadline - time.monotonic(), 0)) for r in runners)
    for runner in runners:
        runner.stop()
    if not reached:
        say(f"timeout {os.getpid()} {positions(views)} {last_errors(views)}")
        return 1
    say(f"done {os.getpid()} {goal}")
    return 0


STAGES = ("fork", "opened", "setup", "started")  # kill triggers before the first batch


class Lines:
    """Lines from a pipe, each with a timeout (``select`` sees the pipe, not a buffer)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def next(self, deadline: float) -> str | None:
        """The next line; None once the writer is gone; TimeoutError past the deadline."""
        while b"\n" not in self._buffer:
            if not select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))[0]:
                raise TimeoutError
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()


@dataclass
class Watched:
    """What the fork server saw of one worker before and after killing it."""

    how: str = "hit"  # hit (the trigger came), eof (the worker ended first), timeout
    let_go: int = 0  # gated batches the server let the worker commit and go on from
    commits: int = 0  # gated batches the worker reported committed, up to its death
    position: int = 0  # the gated projection's last reported position

    def count(self, words: list[str]) -> bool:
        """Count a report; True if it was a committed batch of the gated projection."""
        if words[:1] != ["commit"] or not words[1].startswith(GATED):
            return False
        self.commits += 1
        self.position = int(words[2])
        return True


def watch(
    lines: Lines, gate: int, trigger: str, n: int, then: str, fraction: float, timeout: float
) -> Watched:
    """Read a worker's reports until its kill trigger; let the gated runner go as planned.

    ``go`` waits ``fraction`` of the last batch's duration (as this server saw it) after
    letting the worker on, so that the kill lands at a random point of the next batch
    however fast the machine is; the gate still keeps that batch from committing.
    """
    seen = Watched()
    if trigger == "fork":
        return seen
    deadline = time.monotonic() + timeout
    began = time.monotonic()  # when the gated runner's batch now under way began
    committing = time.monotonic()  # when it was last let go to commit a written batch
    commit_took = 0.0  # how long its last commit took, from the go to the report
    while True:
        try:
            line = lines.next(deadline)
        except TimeoutError:
            seen.how = "timeout"
            return seen
        if line is None:
            seen.how = "eof"
            return seen
        words = line.split()
        if trigger in STAGES and words[0] == trigger:
            return seen  # the gated runner is held in its first batch at most
        if words[0] == "started":
            began = time.monotonic()
        if trigger != "commit" or len(words) < 2 or not words[1].startswith(GATED):
            continue
        if words[0] == "written":
            if then == "open" and seen.commits + 1 == n:
                return seen  # batch n is written, its transaction open
            os.write(gate, b".")
            committing = time.monotonic()
            if then == "commit" and seen.commits + 1 == n:
                time.sleep(fraction * commit_took)  # before, in or after the commit
                return seen
            continue
        commit_took = time.monotonic() - committing
        seen.count(words)
        if seen.commits == n and then == "hold":
            return seen  # it waits right after its n-th commit
        took, began = time.monotonic() - began, time.monotonic()
        os.write(gate, b".")
        seen.let_go += 1
        if seen.commits == n:
            time.sleep(fraction * took)  # where in batch n + 1, not whether: the gate holds
            return seen


def serve(url: str, *, version: int, timeout: float) -> int:
    """Per ``run <worker> <batch_size> <trigger> <n> <then> <fraction>`` line: fork, kill.

    The kill is decided by what the worker reports, not by a clock: right after the
    fork; once it says it has ``opened`` the database, ``setup`` its tables or ``started``
    its runners (the gated runner is held in its first batch); or at its ``n``-th audit
    trail batch: with the batch written and its transaction open (``open``), at
    ``fraction`` of a commit's duration after letting it commit (``commit``: before, in
    or after the commit), while it waits right after committing it (``hold``), or at
    ``fraction`` of a batch's duration after letting it go on (``go``: the kill lands
    somewhere in batch n + 1, which the gate keeps from committing). The server kills
    its own child before reaping it, so the pid cannot belong to anyone else yet. It
    answers ``exit <pid> <code> <how> <let_go> <commits> <position>`` (see ``Watched``).
    """
    assert threading.active_count() == 1, "fork only from a single-threaded server"
    is_working_day(date.today())  # imports the holiday calendars once, not in every child
    say("serving")
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] != "run":
            break
        worker, batch_size, trigger, n, then, fraction = command[1:7]
        report_read, report_write = os.pipe()
        gate_read, gate_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a worker process of its own
            os.close(report_read)
            os.close(gate_write)
            code = 1
            try:
                code = work(
                    url,
                    batch_size=int(batch_size),
                    version=version,
                    follow=False,
                    timeout=timeout,
                    worker=worker,
                    reports=Reports(report_write, gate_read),
                )
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(report_write)
        os.close(gate_read)
        lines = Lines(report_read)
        seen = watch(lines, gate_write, trigger, int(n), then, float(fraction), timeout)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        while (rest := lines.next(time.monotonic() + timeout)) is not None:
            seen.count(rest.split())  # what it reported before it died (the pipe ends with it)
        os.close(report_read)
        os.close(gate_write)
        code = os.waitstatus_to_exitcode(status)
        say(f"exit {pid} {code} {seen.how} {seen.let_go} {seen.commits} {seen.position}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--mode", choices=("once", "follow", "serve"), default="once")
    parser.add_argument("--batch-size", type=int, default=7)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    configure_logging("json", "INFO")  # to stderr: stdout carries the protocol lines
    if args.mode == "serve":
        return serve(args.database_url, version=args.version, timeout=args.timeout)
    return work(
        args.database_url,
        batch_size=args.batch_size,
        version=args.version,
        follow=args.mode == "follow",
        timeout=args.timeout,
    )


if __name__ == "__main__":
    sys.exit(main())

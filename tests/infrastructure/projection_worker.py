# ruff: noqa: S608 - table names are module constants or the test's own; values are bound
"""A projection worker to crash, and what the crash and worker tests share.

Run as ``python -m tests.infrastructure.projection_worker <database_url> [options]``:

* ``--mode once`` (default): runners for the inbox and the audit trail catch up in
  background threads (``ProjectionRunner.start``, the production loop) until both reach
  the head of the log as it was at start, then it prints ``done`` and exits 0.
* ``--mode follow``: the same, but keeps following the log until killed.
* ``--mode serve``: a fork server for the crash test. It imports everything once, then
  on each ``run <batch_size> <fork|started> <delay>`` line of stdin forks a child that
  works like ``once``, SIGKILLs it ``delay`` seconds after the fork or after the child
  has started, and prints ``exit <pid> <code>``. A killed child is a process dying at a
  random moment, without paying for Python start-up on each of dozens of kills. No
  database is opened before the fork.

A worker prints ``started <pid>`` once its runners are running. The projections are
the production ``Inbox`` and ``AuditTrail`` with a *ledger*: each batch also inserts one
row per event position, in the same transaction as the view rows and the tracking
position, so a batch committed twice shows as a doubled position even where the view
itself would hide it (the inbox folds idempotently).
"""

from __future__ import annotations

import argparse
import functools
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from application.transcodings import PersonalDataInClear
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
from projections.audit_trail import AuditTrail
from projections.case_events import case_event_topics
from projections.inbox import Inbox
from projections.projection import Applied, Projection

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "projection_ledger"
NOTES_PER_CASE = 6


# ------------------------------------------------------------------ projections


class Ledgered(Projection):
    """Records every applied position in the ledger, in the view's own transaction."""

    worker = "?"
    gate: threading.Event | None = None  # when set by a test, apply waits for it
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

        cases.handle(result.case_id, actor=clerk, expected_version=None, command=work)
        if i % 7 == 0:
            cases.withdraw(result.case_id, actor=clerk, reason="Rücknahme")
        earlier = i - 5
        if earlier in ids and earlier % 7:
            cases.add_note(ids[earlier], actor=TOWNS[earlier % len(TOWNS)].clerk, text="Rückruf")


def head(store: VorgangStore) -> int:
    """The last position of the log."""
    return store.recorder.max_notification_id() or 0


def case_event_positions(store: VorgangStore) -> list[int]:
    """The positions of every case event in the log (what each view must apply once)."""
    return [
        n.id
        for n in store.recorder.select_notifications(
            start=1, limit=10**9, stop=head(store), topics=case_event_topics()
        )
    ]


# ------------------------------------------------------------------ checks


class CountingRunner(ProjectionRunner):
    """Remembers every failure the runner survived and every lock it lost."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.failures: list[str] = []
        self.locks_lost = 0
        super().__init__(*args, **kwargs)

    def _record_error(self, error: Exception) -> None:
        self.failures.append(type(error).__name__)
        super()._record_error(error)

    def _acquire(self, previous: ProjectionLock | None) -> ProjectionLock | None:
        self.locks_lost += previous is not None
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


def work(
    url: str,
    *,
    batch_size: int,
    version: int,
    follow: bool,
    timeout: float,
    started: Callable[[], object] | None = None,
) -> int:
    """Run both projections in runner threads until the head at start (or forever)."""
    target = parse_database_url(url)
    store = open_store(target)
    views = open_views(target)
    worker = f"pid{os.getpid()}"
    runners = [
        ProjectionRunner(store, views, p, batch_size=batch_size, poll_seconds=0.2)
        for p in (inbox(version, worker), audit_trail(version, worker))
    ]
    goal = head(store)
    for runner in runners:
        runner.start()
    say(f"started {os.getpid()}")
    if started is not None:
        started()
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


def serve(url: str, *, version: int, timeout: float) -> int:
    """Per ``run <batch_size> <fork|started> <delay>`` line: fork a worker, SIGKILL it.

    The kill comes ``delay`` seconds after the fork (while the worker still opens the
    database and sets up) or after the worker says it has started applying. The server
    kills its own child before reaping it, so the pid cannot belong to anyone else yet.
    It answers ``exit <pid> <code>``: -9 when the kill landed, 0 when the worker had
    finished first.
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
        batch_size, phase, delay = int(command[1]), command[2], float(command[3])
        ready, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a worker process of its own
            os.close(ready)
            code = 1
            try:
                code = work(
                    url,
                    batch_size=batch_size,
                    version=version,
                    follow=False,
                    timeout=timeout,
                    started=functools.partial(os.write, ready_write, b"."),
                )
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(ready_write)
        if phase == "started":
            select.select([ready], [], [], timeout)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.close(ready)
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {os.waitstatus_to_exitcode(status)}")
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

"""Commands per second through the application layer, against two baselines in the same run.

Each command is ``CaseService.add_note`` on a case submitted beforehand: load the case,
check, encrypt the note, save one event in one transaction. It is compared on the same
database, with the same number of threads, with

- the physical floor: a single-row ``INSERT`` + ``COMMIT`` loop into a scratch table
  (plain ``sqlite3`` / ``psycopg``), and
- the stock library: ``Application.save`` of a minimal ``Counter`` aggregate, one trivial
  event per save, on the library's own recorder (on PostgreSQL its stock
  ``PostgresApplicationRecorder``: lock, NOTIFY, INSERT, COMMIT in a transaction of their
  own; held in memory; and, for the same shape as a command, read back with
  ``repository.get`` first).

The write path itself: ``VorgangStore.save`` of the same ``Counter`` on the recorder our
database URL selects (on PostgreSQL ``infrastructure/postgres_recorder.py``: one call of a
function that takes the same lock, concurrent saves of the process committed together;
docs/architecture.md decision 4), and on PostgreSQL once more with ``POSTGRES_PRE_PING=y``
(a ping per pool checkout) to show what that round trip costs. The library baselines run
with the pool settings of our URL, without pre-ping, and the stock save once more with
pre-ping, as this project configured it before (the issue's baseline).

The service is built by the real wiring (``infrastructure.wiring.build``): personal data
encrypted with AES-GCM, 30 s key cache. Every measurement gets a fresh SQLite file or
PostgreSQL schema and stops after a bounded count or time, whichever comes first.
Printed as ratios (command/s ÷ baseline op/s), so the figures mean the same on any machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from application.store import VorgangStore
from benchmarks.support import (
    Measurement,
    SqliteFiles,
    drive,
    fresh_database,
    postgres_connection,
    postgres_unreachable,
    quiet_logging,
    table,
)
from domain.actor import Actor, Role
from domain.case_steps import ADD_NOTE, Note
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from infrastructure.wiring import build
from persistence.transcodings import PersonalDataInClear

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
APPLICANT = Actor("portal:1", "Max Mustermann", Role.APPLICANT, "usingen")
PAYLOAD_BYTES = 256
THREADS = (1, 4)
DIALECTS = {"sqlite": "SQLite (file, WAL)", "postgresql": "PostgreSQL"}


class Counter(Aggregate):
    """The smallest useful aggregate: one trivial event per increment."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class CounterApp(Application[UUID]):
    """The stock library application, nothing of Vorgang's."""

    name = "bench"


@dataclass(frozen=True)
class Budget:
    """Bounds of one measurement."""

    max_ops: int
    max_seconds: float
    per_thread: int  # cases (or counters) each thread cycles through
    events_each: int  # measured events per case (or counter) at most, so replays stay short

    def ops_for(self, threads: int) -> int:
        """The count bound for variants that cycle through aggregates."""
        return min(self.max_ops, threads * self.per_thread * self.events_each)


Op = Callable[[], object]


# ------------------------------------------------------------------ variants


def physical(target: DatabaseTarget, threads: int, budget: Budget) -> Measurement:
    """INSERT one 256-byte row and COMMIT, in a loop (per thread its own connection)."""
    closers: list[Callable[[], None]] = []
    payload = os.urandom(PAYLOAD_BYTES)
    if target.is_postgres:
        with postgres_connection(target) as conn:
            conn.execute("CREATE TABLE scratch (id BIGSERIAL PRIMARY KEY, payload BYTEA)")
            conn.commit()

        def worker(_index: int) -> Op:
            conn = postgres_connection(target)
            closers.append(conn.close)

            def op() -> None:
                conn.execute("INSERT INTO scratch (payload) VALUES (%s)", (payload,))
                conn.commit()

            return op

    else:
        dbname = target.env["SQLITE_DBNAME"]
        with sqlite3.connect(dbname, isolation_level=None) as setup:
            setup.execute("PRAGMA journal_mode=WAL")  # as the event store uses
            setup.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, payload BLOB)")
        setup.close()

        def worker(_index: int) -> Op:
            conn = sqlite3.connect(
                dbname, isolation_level=None, timeout=10, check_same_thread=False
            )
            closers.append(conn.close)

            def op() -> None:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO scratch (payload) VALUES (?)", (payload,))
                conn.execute("COMMIT")

            return op

    try:
        return drive(threads, worker, max_ops=budget.max_ops, max_seconds=budget.max_seconds)
    finally:
        for close in closers:
            close()


def stock(target: DatabaseTarget) -> dict[str, str]:
    """The target's environment on the library's own recorder (no recorder topic)."""
    env = dict(target.env)
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    return env


def with_pre_ping(target: DatabaseTarget) -> dict[str, str]:
    """The target's environment with a ping per pool checkout."""
    return {**target.env, "POSTGRES_PRE_PING": "y"}


def counter_saves(
    app: Application[UUID], threads: int, budget: Budget, *, reload: bool
) -> Measurement:
    """``app.save`` of a Counter per op (``reload``: ``repository.get`` first)."""

    def worker(_index: int) -> Op:
        counters = [Counter() for _ in range(budget.per_thread)]
        app.save(*counters)
        ids = [c.id for c in counters]
        turn = iter(range(1 << 62))

        def save_held() -> None:
            counter = counters[next(turn) % len(counters)]
            counter.increment()
            app.save(counter)

        def get_and_save() -> None:
            counter: Counter = app.repository.get(ids[next(turn) % len(ids)])
            counter.increment()
            app.save(counter)

        return get_and_save if reload else save_held

    # Held counters are never replayed, so only a reload bounds the events per counter.
    max_ops = budget.ops_for(threads) if reload else budget.max_ops
    try:
        return drive(threads, worker, max_ops=max_ops, max_seconds=budget.max_seconds)
    finally:
        app.close()


def library(
    target: DatabaseTarget, threads: int, budget: Budget, *, reload: bool, pre_ping: bool = False
) -> Measurement | None:
    """The stock library: ``Application.save`` on its own recorder."""
    if pre_ping and not target.is_postgres:
        return None
    env = stock(target) | ({"POSTGRES_PRE_PING": "y"} if pre_ping else {})
    return counter_saves(CounterApp(env=env), threads, budget, reload=reload)


def store_save(
    target: DatabaseTarget, threads: int, budget: Budget, *, pre_ping: bool = False
) -> Measurement | None:
    """``VorgangStore.save`` of a Counter on the recorder the URL selects."""
    if pre_ping and not target.is_postgres:
        return None
    env = with_pre_ping(target) if pre_ping else target.env
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    return counter_saves(store, threads, budget, reload=False)


def commands(target: DatabaseTarget, threads: int, budget: Budget) -> Measurement:
    """``CaseService.add_note`` on the real wiring, round-robin over each thread's cases."""
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=30))
    cases = vorgang.cases
    commands = vorgang.commands
    note = ADD_NOTE(Note(text="Vermerk zum Vorgang"))
    one_at_a_time = threading.Lock()  # set-up only: concurrent submits retry on the counter

    def worker(index: int) -> Op:
        ids = []
        for i in range(budget.per_thread):
            with one_at_a_time:
                case_id = cases.submit(
                    actor=APPLICANT,
                    tenant="usingen",
                    service="general",
                    applicant={"name": f"Person {index}-{i}", "email": f"p{index}@example.org"},
                    data={"subject": f"Anfrage {i}"},
                ).case_id
                # The first note creates the case-text and clerk keys (commits of their
                # own); after it, every measured command is exactly one transaction.
                commands.handle(case_id, ADD_NOTE(Note(text="Eingang geprüft")), CLERK, None)
            ids.append(case_id)
        turn = iter(range(1 << 62))

        def op() -> None:
            commands.handle(ids[next(turn) % len(ids)], note, CLERK, None)

        return op

    try:
        return drive(
            threads, worker, max_ops=budget.ops_for(threads), max_seconds=budget.max_seconds
        )
    finally:
        vorgang.close()


VARIANTS: dict[str, Callable[[DatabaseTarget, int, Budget], Measurement | None]] = {
    "INSERT+COMMIT (driver)": physical,
    "library save (Counter)": lambda t, n, b: library(t, n, b, reload=False),
    "library save, pre-ping": lambda t, n, b: library(t, n, b, reload=False, pre_ping=True),
    "VorgangStore.save (Counter)": store_save,
    "VorgangStore.save, pre-ping": lambda t, n, b: store_save(t, n, b, pre_ping=True),
    "library get+save (Counter)": lambda t, n, b: library(t, n, b, reload=True),
    "CaseService.add_note": commands,
}
PHYSICAL, LIB_SAVE, LIB_SAVE_PING, STORE_SAVE, *_ = VARIANTS


# ------------------------------------------------------------------ report


Results = dict[tuple[str, int], list[Measurement]]


def rate(results: Results, variant: str, threads: int) -> float:
    """The median ops/s of a variant's rounds."""
    return statistics.median(m.rate for m in results[variant, threads])


def rows_for(dialect: str, results: Results) -> list[list[str]]:
    """Table rows of one database: ops/s, and ratios against both baselines and 1 thread."""
    rows: list[list[str]] = []
    for threads in THREADS:
        for variant in VARIANTS:
            runs = results.get((variant, threads))
            if not runs:
                continue
            r = rate(results, variant, threads)
            rows.append(
                [
                    DIALECTS[dialect],
                    variant,
                    str(threads),
                    f"{statistics.median(m.ops for m in runs):.0f}",
                    f"{statistics.median(m.seconds for m in runs):.2f}",
                    f"{r:,.0f}",
                    f"{statistics.median(m.percentile(50) for m in runs) * 1e3:.2f}",
                    f"{r / rate(results, PHYSICAL, threads):.3f}",
                    f"{r / rate(results, LIB_SAVE, threads):.2f}",
                    f"{r / rate(results, variant, THREADS[0]):.2f}",
                ]
            )
    return rows


def round_ratio(results: Results, variant: str, baseline: str, threads: int) -> float:
    """The median over rounds of variant ÷ baseline, each measured in the same round.

    Neighbours in time share the machine's load of the moment, so a round's own ratio
    drifts less than the ratio of medians when other work comes and goes.
    """
    pairs = zip(results[variant, threads], results[baseline, threads], strict=True)
    return statistics.median(v.rate / b.rate for v, b in pairs)


def write_path_summary(results: Results) -> str:
    """The issue's figure: our save ÷ the stock save on PostgreSQL, per thread count."""
    parts = []
    for threads in THREADS:
        parts.append(
            f"{threads} thread{'s' if threads > 1 else ''}: "
            f"{round_ratio(results, STORE_SAVE, LIB_SAVE, threads):.2f} x stock save "
            f"({round_ratio(results, STORE_SAVE, LIB_SAVE_PING, threads):.2f} x with its "
            f"pre-ping), {round_ratio(results, STORE_SAVE, PHYSICAL, threads):.2f} x INSERT+COMMIT"
        )
    return (
        "  write path on PostgreSQL, VorgangStore.save (median of per-round ratios): "
        + "; ".join(parts)
    )


HEADER = [
    "database",
    "variant",
    "threads",
    "ops",
    "s",
    "ops/s",
    "p50 ms",
    "÷ INSERT",
    "÷ lib save",
    "÷ 1 thread",
]


def main(argv: list[str]) -> None:
    """Measure every variant on SQLite and (if reachable) PostgreSQL; print the ratios."""
    parser = argparse.ArgumentParser(prog="bench commands")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter measurements")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    budget = (
        Budget(max_ops=1_000, max_seconds=0.5, per_thread=20, events_each=8)
        if quick
        else Budget(max_ops=5_000, max_seconds=1.5, per_thread=50, events_each=12)
    )
    rounds = args.rounds or (1 if quick else 3)
    quiet_logging()

    print(
        "command throughput: CaseService.add_note via infrastructure.wiring.build "
        "(real wiring: AES-GCM personal data, 30 s key cache)"
    )
    print(
        f"  each measurement: fresh database; stops at {budget.max_ops} ops or "
        f"{budget.max_seconds:g} s; median of {rounds} round{'s' if rounds > 1 else ''}"
    )
    print(
        f"  aggregates: {budget.per_thread} cases (counters) per thread, round-robin, "
        f"at most {budget.events_each} measured events each (cases: submitted + 1 note before)"
    )
    print(
        f"  ratios: ops/s ÷ INSERT+COMMIT ({PAYLOAD_BYTES}-byte row, same database and threads),"
        " ÷ library save, ÷ the same variant on 1 thread"
    )
    skipped = postgres_unreachable()
    dialects = [d for d in DIALECTS if d == "sqlite" or skipped is None]
    rows: list[list[str]] = []
    summary: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-") as folder:
        sqlite_files = SqliteFiles(Path(folder))
        for dialect in dialects:
            results: Results = {}
            for _ in range(rounds):  # interleaved, so drift hits every variant alike
                for threads in THREADS:
                    for name, measure in VARIANTS.items():
                        with fresh_database(dialect, sqlite_files) as target:
                            measured = measure(target, threads, budget)
                        if measured is not None:
                            results.setdefault((name, threads), []).append(measured)
            rows.extend(rows_for(dialect, results))
            if dialect == "postgresql":
                summary.append(write_path_summary(results))
    print(table(HEADER, rows, left=2))
    for line in summary:
        print(line)
    if skipped is not None:
        print(f"  PostgreSQL rows skipped: {skipped}")

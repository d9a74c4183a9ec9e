"""Shared by the benchmarks: fresh databases, a bounded multi-threaded driver, tables.

The PostgreSQL helpers mirror ``tests/conftest.py`` (a schema of its own per measurement,
dropped afterwards) without importing from the tests.
"""

from __future__ import annotations

import itertools
import logging
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.logging import configure_logging

POSTGRES_URL = os.environ.get(
    "VORGANG_BENCH_POSTGRES_URL",
    os.environ.get("VORGANG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


def quiet_logging() -> None:
    """Only warnings, on stderr: the wiring logs at INFO, which would clutter the tables."""
    configure_logging("console", "WARNING")
    logging.getLogger("eventsourcing").setLevel(logging.WARNING)


# ------------------------------------------------------------------ databases


def _connect(target: DatabaseTarget, **extra: Any) -> psycopg.Connection[Any]:
    env = target.env
    return psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
        dbname=env["POSTGRES_DBNAME"],
        **extra,
    )


def postgres_unreachable() -> str | None:
    """None if PostgreSQL answers, else the reason it does not (one line)."""
    target = parse_database_url(POSTGRES_URL)
    try:
        with _connect(target, connect_timeout=3):
            return None
    except psycopg.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"PostgreSQL at {target.display} is not reachable: {first[:200]}"


def fresh_postgres_target() -> DatabaseTarget:
    """A PostgreSQL target in a schema of its own, created now."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    target = parse_database_url(f"{POSTGRES_URL}?schema={schema}")
    with _connect(target, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return target


def drop_postgres_schema(target: DatabaseTarget) -> None:
    """Remove a benchmark schema and everything in it."""
    with _connect(target, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{target.env["POSTGRES_SCHEMA"]}" CASCADE')


def postgres_connection(target: DatabaseTarget) -> psycopg.Connection[Any]:
    """A plain psycopg connection whose search path is the target's schema."""
    conn = _connect(target)
    schema = target.env.get("POSTGRES_SCHEMA")
    if schema:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.commit()
    return conn


class SqliteFiles:
    """Fresh SQLite files in one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._counter = itertools.count()

    def new(self) -> DatabaseTarget:
        """A target on a file nobody has used yet."""
        return parse_database_url(f"sqlite:///{self.folder}/bench-{next(self._counter)}.db")


@contextmanager
def fresh_database(dialect: str, sqlite_files: SqliteFiles) -> Iterator[DatabaseTarget]:
    """A fresh SQLite file or PostgreSQL schema for one measurement, removed afterwards."""
    if dialect == "postgresql":
        target = fresh_postgres_target()
        try:
            yield target
        finally:
            drop_postgres_schema(target)
        return
    target = sqlite_files.new()
    try:
        yield target
    finally:
        path = Path(target.env["SQLITE_DBNAME"])
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)


# ------------------------------------------------------------------ measuring


@dataclass
class Measurement:
    """Operations completed by all threads together, and over how long."""

    threads: int
    ops: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency in seconds at the p-th percentile (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
        return ordered[rank]


def drive(
    threads: int,
    worker: Callable[[int], Callable[[], object]],
    *,
    max_ops: int,
    max_seconds: float,
    warmup_ops: int = 0,
    on_start: Callable[[], object] | None = None,
    on_stop: Callable[[], object] | None = None,
) -> Measurement:
    """Run operations on ``threads`` threads until ``max_ops`` in total or ``max_seconds``.

    ``worker(i)`` is called in thread ``i`` (untimed) and returns the operation it repeats.
    Each thread first runs ``warmup_ops`` operations, untimed; then all start together.
    ``on_start`` and ``on_stop`` are called just before the start and just after the end.
    """
    tickets = itertools.count()  # next() on a count is atomic under the GIL
    ready = threading.Barrier(threads + 1)
    go = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    deadline = [0.0]

    def run(index: int) -> None:
        try:
            op = worker(index)
            for _ in range(warmup_ops):
                op()
        except Exception as error:  # reported by the caller, not by the thread hook
            errors.append(error)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        go.wait()
        mine = latencies[index]
        clock = time.perf_counter
        try:
            while next(tickets) < max_ops:
                started = clock()
                if started >= deadline[0]:
                    break
                op()
                mine.append(clock() - started)
        except Exception as error:
            errors.append(error)

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        for thread in pool:
            thread.join()
        raise errors[0] from None
    if on_start is not None:
        on_start()
    started = time.perf_counter()
    deadline[0] = started + max_seconds
    go.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if on_stop is not None:
        on_stop()
    if errors:
        raise errors[0]
    merged = [x for per_thread in latencies for x in per_thread]
    return Measurement(threads=threads, ops=len(merged), seconds=elapsed, latencies=merged)


def median_rate(runs: Sequence[Measurement]) -> float:
    """The median ops/s of several rounds."""
    return statistics.median(m.rate for m in runs)


# ------------------------------------------------------------------ printing


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    left: int = 1,
    indent: str = "  ",
) -> str:
    """The first ``left`` columns left-aligned, the others right-aligned, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            str(cell).ljust(widths[i]) if i < left else str(cell).rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines)

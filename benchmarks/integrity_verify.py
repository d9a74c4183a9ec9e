"""Verifying the log's hash chain: full against incremental, and against reading alone.

A log of N stored records (synthetic states of 200 to 800 random bytes, 20 versions per
aggregate; the chain never decodes, so their content does not matter) is written straight
through the recorder, then chained by the ``integrity_chain`` projection as a worker would
(``ProjectionRunner.catch_up``, checkpoints signed every 1000 records). Measured in the same
run, on SQLite and PostgreSQL:

* read: the stored records read in the verifier's batches (``select_notifications`` without
  a topic filter) and made ``StoredRecord`` values, no hashing — the floor of any check;
* full: ``vorgang audit verify --full``'s work (``verify_log(full=True)``): read, merge-walk
  with the chain table, recompute every link, check every signed checkpoint;
* incremental: after 1 % more records were appended and chained, ``verify_log(full=False)``
  from the last checkpoint the full run reached — a daily run.

Printed as records/s and as ratios: full against read (what hashing and the chain table
cost), incremental against full (what the daily run saves).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from application.clock import FixedClock
from benchmarks.support import (
    SqliteFiles,
    fresh_database,
    postgres_unreachable,
    quiet_logging,
    table,
)
from infrastructure.integrity.verify import log_head, records_after, verify_log
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build

TOPIC = "benchmarks.integrity:Synthetic"
VERSIONS = 20  # records per aggregate
WRITE_BATCH = 1000


def append(vorgang: Vorgang, count: int) -> None:
    """``count`` synthetic records, written through the recorder in batches."""
    written = 0
    while written < count:
        events = []
        for _ in range(min(WRITE_BATCH, count - written) // VERSIONS or 1):
            originator = uuid.uuid4()
            for version in range(1, VERSIONS + 1):
                size = 200 + (version * 37) % 600
                events.append(StoredEvent(originator, version, TOPIC, os.urandom(size)))
        vorgang.store.recorder.insert_events(events)
        written += len(events)


def chain(vorgang: Vorgang) -> tuple[int, float]:
    """Chain what is not chained yet; (records, seconds)."""
    started = time.perf_counter()
    done = vorgang.projections.runners["integrity_chain"].catch_up()
    return done, time.perf_counter() - started


def read_only(vorgang: Vorgang) -> tuple[int, float]:
    """Every stored record read as the verifier reads it, no hashing; (records, seconds)."""
    started = time.perf_counter()
    count = sum(1 for _ in records_after(vorgang.store, 0, log_head(vorgang.store)))
    return count, time.perf_counter() - started


def verify(vorgang: Vorgang, *, full: bool) -> tuple[int, float]:
    """One verification; (records recomputed, seconds). A disagreement ends the run."""
    started = time.perf_counter()
    report = verify_log(
        vorgang.store,
        vorgang.views,
        vorgang.integrity.public_keys,
        full=full,
        by="benchmark",
        signer=vorgang.integrity.signer,  # a signed run is the next incremental run's start
    )
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"verification found {report.disagreement}")
    return report.records, seconds


def measure(dialect: str, events: int, files: SqliteFiles) -> list[list[str]]:
    """The table's rows for one database."""
    with fresh_database(dialect, files) as target, tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=target.display,
            documents_dir=f"{folder}/documents",
            postbox_dir=f"{folder}/postbox",
            print_dir=f"{folder}/print",
        )
        vorgang = build(settings, clock=FixedClock(datetime(2026, 3, 2, 8, tzinfo=UTC)))
        try:
            append(vorgang, events)
            chained, chain_seconds = chain(vorgang)
            read, read_seconds = read_only(vorgang)
            full, full_seconds = verify(vorgang, full=True)
            append(vorgang, max(events // 100, VERSIONS))
            chain(vorgang)
            more, incremental_seconds = verify(vorgang, full=False)
            checkpoints = len(vorgang.integrity.checkpoints("log", limit=100_000))
        finally:
            vorgang.close()

    def rate(count: int, seconds: float) -> str:
        return f"{count / seconds:,.0f}" if seconds else "-"

    return [
        [
            dialect,
            "chain (projection)",
            f"{chained:,}",
            f"{chain_seconds:.2f}",
            rate(chained, chain_seconds),
            "",
        ],
        [
            dialect,
            "read, no hashing",
            f"{read:,}",
            f"{read_seconds:.2f}",
            rate(read, read_seconds),
            "1.00",
        ],
        [
            dialect,
            f"full verify ({checkpoints} checkpoints)",
            f"{full:,}",
            f"{full_seconds:.2f}",
            rate(full, full_seconds),
            f"{(full / full_seconds) / (read / read_seconds):.2f}",
        ],
        [
            dialect,
            "incremental after +1 %",
            f"{more:,}",
            f"{incremental_seconds:.3f}",
            rate(more, incremental_seconds),
            f"{incremental_seconds / full_seconds:.3f} of full",
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure on SQLite and (if reachable) PostgreSQL; print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks integrity_verify")
    parser.add_argument("--quick", action="store_true", help="10,000 records")
    parser.add_argument("--events", type=int, default=100_000, help="records in the log")
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args(argv)
    quiet_logging()
    events = 10_000 if args.quick else args.events
    dialects = args.dialect or ["sqlite", "postgresql"]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        files = SqliteFiles(Path(folder))
        for dialect in dialects:
            if dialect == "postgresql" and (reason := postgres_unreachable()):
                print(f"  postgresql skipped: {reason}")
                continue
            rows += measure(dialect, events, files)
    print(f"Integrity: verifying the log's hash chain ({events:,} records)")
    header = ["database", "pass", "records", "seconds", "records/s", "ratio"]
    print(table(header, rows, left=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Read models at scale (issue #7): rebuild rate and memory, query latency, projection lag.

``python -m benchmarks read_models [--quick]`` runs the three parts; ``python -m
benchmarks.read_models rebuild|latency|lag [sizes]`` runs one, at any size.

- rebuild: every view (inbox, audit trail, statistics, feed, search), one by one and all
  together, rebuilt from a PostgreSQL log of 200,000 case events, as events/s and as a
  ratio to merely reading and decoding the same notifications (the ceiling); peak memory
  of each pass at two log sizes, so "flat" can be seen.
- latency: p50/p99 of the inbox queries clerks run, with 1,000,000 open cases in the view
  on PostgreSQL and 100,000 on SQLite, as ratios to a primary-key read of the same view;
  with the index each query used (from EXPLAIN).
- lag: the writer alone, then commands written at 10, 20, 30 and 50 % of its rate while every
  projection runs in the same process; lag p50/p99 from a command's commit to each view
  including it, and the highest of those rates at which every view's lag p99 stays ≤ 100 ms.

PostgreSQL data sets are kept in schemas of their own (``bench_readmodels_*``) and reused
by later runs while complete; drop them with ``--drop``.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import read_models_lag as lag
from benchmarks import read_models_latency as latency
from benchmarks import read_models_rebuild as rebuilding
from benchmarks.read_models_log import SCHEMA_PREFIX as LOG_SCHEMAS
from benchmarks.read_models_log import decode_costs, decode_report, prepared_log, sqlite_copy
from benchmarks.read_models_views import SCHEMA_PREFIX as VIEW_SCHEMAS
from benchmarks.read_models_views import InboxViews, postgres_inbox, sqlite_inbox
from benchmarks.support import (
    POSTGRES_URL,
    postgres_connection,
    postgres_unreachable,
    quiet_logging,
)
from infrastructure.database import parse_database_url
from infrastructure.settings import Settings
from infrastructure.wiring import build

PARTS = ("rebuild", "latency", "lag")
DECODE_SAMPLE = 20_000  # events decoded in memory for the cost of decoding
QUERY_BUDGET_SECONDS = 10.0  # per query case; a slow one gets fewer runs (30 at least)


@dataclass(frozen=True)
class Sizes:
    """How big each part runs."""

    log_events: tuple[int, int]  # the smaller log shows whether memory stays flat
    templates: int  # cases through CaseService, copied to fill the log
    postgres_cases: int
    sqlite_cases: int
    query_runs: int
    lag_seconds: float
    writer_seconds: float
    fresh_process: bool = True  # each rebuild pass in a process of its own (memory figures)


FULL = Sizes((25_000, 200_000), 204, 1_000_000, 100_000, 300, 20.0, 8.0)
QUICK = Sizes((2_000, 8_000), 68, 20_000, 10_000, 40, 3.0, 2.0)


def rebuild_part(sizes: Sizes) -> None:
    """Rebuild rates and memory at two log sizes."""
    print("read models: rebuild from the log (PostgreSQL), each pass in a fresh process")
    passes = []
    for events in sizes.log_events:
        target, info = prepared_log(events, templates=sizes.templates)
        print(f"  log {info.describe()}")
        passes += rebuilding.measure_all(target, info.events, fresh_process=sizes.fresh_process)
    print(rebuilding.report(passes))
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-") as folder:
        small, info = prepared_log(sizes.log_events[0], templates=sizes.templates)
        copied = sqlite_copy(small, str(Path(folder) / "log.db"))
        print(f"  SQLite: the log of {info.events:,} case events copied into a file")
        passes_here = rebuilding.measure_all(copied, info.events, fresh_process=sizes.fresh_process)
        print(rebuilding.report(passes_here))
    sample = min(sizes.log_events[0], DECODE_SAMPLE)
    print(f"  what decoding costs, per event ({sample:,} events in memory, no database time):")
    print(decode_report(decode_costs(target, sample)))
    print(
        "  ceiling: select notifications in batches of "
        f"{rebuilding.BATCH:,} (topic filter, the next batch read ahead) and decode them, "
        "personal data sealed, as a rebuild reads; measured before every rebuild, the fastest "
        "kept; ÷ ceiling = rebuild events/s ÷ ceiling events/s on the same log; "
        "peak MiB: peak RSS of the pass's process; +MiB: of which above the process before the pass"
    )
    print(
        "  bytes: stored state per event; typed: values stored under a transcoding; "
        "÷ library: µs per event ÷ the library's µs per event of a minimal aggregate"
    )


def _latency_on(filled: InboxViews, database: str, runs: int) -> None:
    print(f"  {filled.describe()}")
    vorgang = build(Settings(database_url=filled.target.display))
    try:
        views = latency.RecordingViews(vorgang.views)
        cases = [
            latency.baseline_case(views),
            *latency.inbox_cases(views, vorgang),
            *latency.search_cases(views, vorgang),
        ]
        timed = latency.measure(views, cases, runs, budget_seconds=QUERY_BUDGET_SECONDS)
        print(latency.report(database, timed))
    finally:
        vorgang.close()


def latency_part(sizes: Sizes, postgres: bool) -> None:
    """Inbox query latency with many cases in the view, on both databases."""
    print(
        f"read models: inbox query latency, one page of {latency.PAGE} "
        "(InboxQuery.page with the API's opener: names decrypted)"
    )
    if postgres:
        _latency_on(postgres_inbox(sizes.postgres_cases), "PostgreSQL", sizes.query_runs)
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-") as folder:
        filled = sqlite_inbox(sizes.sqlite_cases, str(Path(folder) / "inbox.db"))
        _latency_on(filled, "SQLite", sizes.query_runs)
    print(
        "  p50 ÷ base: p50 ÷ the p50 of the baseline row; index: from EXPLAIN of the "
        "statement sent (+ sort: the rows are sorted after reading)"
    )


LAG_FRACTIONS = (0.1, 0.2, 0.3, 0.5)  # of the rate the writers reach alone
LAG_GOAL_SECONDS = 0.1  # issue 18: lag p99 within 100 ms
KEPT_UP = 0.95  # a paced run kept up if it achieved this share of the rate asked


def lag_part(sizes: Sizes) -> None:
    """Projection lag while commands arrive steadily, up to the highest rate that holds."""
    print(
        f"read models: projection lag (PostgreSQL), {lag.WRITERS} writer threads through "
        "CaseService (submit, claim, confirm complete, note), projections in-process"
    )
    alone = lag.writer_alone(sizes.writer_seconds)
    paced = [
        lag.with_projections(max(1, round(alone.achieved * fraction)), sizes.lag_seconds)
        for fraction in LAG_FRACTIONS
    ]
    print(lag.report([alone, *paced]))
    print(
        "  behind p99: how late the writers started commands against the schedule; "
        "lag: commit → the view's tracked position includes it; paced runs at "
        + ", ".join(f"{f:.0%}" for f in LAG_FRACTIONS)
        + " of the rate the writers reach alone"
    )
    held = [
        run
        for run in paced
        if run.rate_asked
        and run.achieved >= KEPT_UP * run.rate_asked
        and run.drained
        and all(lag.percentile(v, 99) <= LAG_GOAL_SECONDS for v in run.lags.values() if v)
    ]
    if held:
        best = max(held, key=lambda run: run.achieved)
        worst = max(lag.percentile(v, 99) for v in best.lags.values() if v)
        print(
            f"  highest steady rate with every view's lag p99 ≤ {LAG_GOAL_SECONDS * 1e3:.0f} ms: "
            f"{best.achieved:.0f} commands/s ({worst * 1e3:.0f} ms at the slowest view)"
        )
    else:
        print(f"  no paced rate kept every view's lag p99 ≤ {LAG_GOAL_SECONDS * 1e3:.0f} ms")


def drop_schemas() -> None:
    """Remove every data set this benchmark keeps."""
    with postgres_connection(parse_database_url(POSTGRES_URL)) as conn:
        conn.autocommit = True
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s OR nspname LIKE %s",
            (LOG_SCHEMAS + "%", VIEW_SCHEMAS + "%"),
        ).fetchall()
        for (schema,) in rows:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            print(f"dropped {schema}")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen parts (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.read_models")
    parser.add_argument("parts", nargs="*", choices=[[], *PARTS], help="run only these")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--log-events", type=int, nargs=2, metavar=("SMALL", "LARGE"))
    parser.add_argument("--templates", type=int, help="cases through CaseService in a new log")
    parser.add_argument("--postgres-cases", type=int)
    parser.add_argument("--sqlite-cases", type=int)
    parser.add_argument("--runs", type=int, help="timed runs of each query")
    parser.add_argument("--lag-seconds", type=float)
    parser.add_argument("--drop", action="store_true", help="drop the kept data sets and stop")
    args = parser.parse_args(argv)
    quiet_logging()
    if args.drop:
        drop_schemas()
        return
    base = QUICK if args.quick else FULL
    chosen_sizes = {
        "log_events": tuple(args.log_events) if args.log_events else None,
        "templates": args.templates,
        "postgres_cases": args.postgres_cases,
        "sqlite_cases": args.sqlite_cases,
        "query_runs": args.runs,
        "lag_seconds": args.lag_seconds,
    }
    sizes = replace(base, **{k: v for k, v in chosen_sizes.items() if v is not None})
    unreachable = postgres_unreachable()
    chosen = args.parts or list(PARTS)
    for index, part in enumerate(chosen):
        if index:
            print()
        if part == "latency":
            latency_part(sizes, postgres=unreachable is None)
        elif unreachable is None:
            rebuild_part(sizes) if part == "rebuild" else lag_part(sizes)
        else:
            print(f"read models: {part} skipped: {unreachable}")
    if unreachable is not None and "latency" in chosen:
        print(f"  PostgreSQL latency rows skipped: {unreachable}")


if __name__ == "__main__":
    main()

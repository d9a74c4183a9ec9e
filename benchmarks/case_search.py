"""Case search: building the blind index, query latency beside an inbox page, and at scale.

A log of cases spread over the four towns (names, streets and subjects drawn from short
lists, so common names repeat as in a real town) on SQLite and PostgreSQL. Building: the
case_search view and the inbox are each rebuilt from the whole log (``rebuild``, side by
side), printed as events/s and the ratio search ÷ inbox — the price of opening every sealed
value and hashing its words. Querying: the median and 95th percentile of one page (20
results) for typical searches, through the query module alone, beside one inbox page of the
same tenant (the ratio search ÷ inbox).

At scale (PostgreSQL): the case search view holds 1,000,000 cases (``--scale``; 20,000 with
``--quick``), written in bulk as the projection writes its rows (``read_models_search``;
the data set is kept between runs and shared with ``benchmarks.read_models``), and the same
queries run on 10,000 cases (a hundredth) beside it. Per query: p50 and p99 of the first
page in ms, p50 ÷ the p50 of reading one row of the view by primary key (the baseline,
measured in the same run), and p99 at scale ÷ p99 on the hundredth: near 1 when a page
costs what the page needs, a hundred when it costs what the matches number.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final

from api.routes.read_models import opener
from application.clock import FixedClock
from benchmarks.read_models_latency import SEARCH_PAGE, QueryCase, RecordingViews, Timed
from benchmarks.read_models_latency import measure as measure_latency
from benchmarks.read_models_search import QUERIES, case_search
from benchmarks.read_models_views import TENANTS as SCALE_TENANTS
from benchmarks.read_models_views import postgres_inbox
from benchmarks.support import (
    SqliteFiles,
    fresh_database,
    postgres_unreachable,
    quiet_logging,
    table,
)
from domain.actor import Actor, Role
from domain.case_steps import CONFIRM_COMPLETE
from domain.tenants import TENANTS
from domain.working_days import berlin_date
from infrastructure.projection_rebuild import rebuild
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.inbox_query import InboxFilter, InboxQuery
from projections.search import CaseSearch
from projections.search_query import SearchFilter, SearchQuery

FIRST = ["Jürgen", "Erika", "Hans", "Fatma", "Sven", "Anna", "Paul", "Jörg", "Marie", "Ali"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]
LAST += ["Schulz", "Hoffmann", "Yilmaz", "Kowalski", "Großmann", "Bäcker", "Öztürk"]
STREETS = ["Hauptstraße", "Obergasse", "Weilburger Straße", "Am Graben", "Schulstraße"]
SUBJECTS = ["Umzug", "Sondernutzung des Gehwegs", "Grabpflege", "Container", "Baustelle"]
BUDGET_SECONDS: Final = 20.0  # per query at scale: a slow one gets fewer runs (30 at least)
SMALL_QUERIES: dict[str, dict[str, Any]] = {
    "whole name": {"text": "Jürgen Müller"},
    "word beginning": {"text": "Müll"},
    "spelling (Strasse)": {"text": "Hauptstrasse"},
    "reference": {"text": "USI-2026-000007"},
    "status filter, no words": {"status": "in_review"},
    "newest first, no words": {},
}


def seed(vorgang: Vorgang, clock: FixedClock, cases: int, rng: random.Random) -> None:
    """Cases over the four towns; every third one confirmed complete."""
    towns = sorted(TENANTS)
    for index in range(cases):
        tenant = towns[index % len(towns)]
        actor = Actor(f"clerk.{tenant}", "Sachbearbeitung", Role.CLERK, tenant)
        applicant = {
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "street": rng.choice(STREETS),
            "house_number": str(rng.randint(1, 120)),
            "city": tenant.title(),
        }
        case = vorgang.cases.submit(
            actor=actor,
            tenant=tenant,
            service="general",
            applicant=applicant,
            data={"subject": rng.choice(SUBJECTS)},
        )
        if index % 3 == 0:
            vorgang.commands.handle(case.case_id, CONFIRM_COMPLETE(), actor, None)
        clock.advance(timedelta(minutes=7))


def timed(op: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    op()  # warm caches and plans
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        op()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def measure(dialect: str, files: SqliteFiles, cases: int, rounds: int) -> list[list[str]]:
    """Build and query figures for one dialect, as table rows."""
    rows: list[list[str]] = []
    with fresh_database(dialect, files) as target:
        clock = FixedClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
        vorgang = build(Settings(database_url=target.display), clock=clock)
        try:
            seed(vorgang, clock, cases, random.Random(7))
            events = vorgang.store.recorder.max_notification_id() or 0
            built = {}
            for name in ("inbox", "case_search"):
                done = rebuild(
                    vorgang.store, vorgang.views, vorgang.projections.runners[name].projection
                )
                built[name] = done.seconds
            rows.append(
                [
                    f"{dialect}: build from {events} events",
                    f"{events / built['inbox']:.0f} ev/s",
                    f"{events / built['case_search']:.0f} ev/s",
                    f"{built['inbox'] / built['case_search']:.2f}",
                ]
            )
            search = vorgang.projections.runners["case_search"].projection
            assert isinstance(search, CaseSearch)
            reader = SearchQuery(vorgang.views, search.terms, opener(vorgang.projections))
            inbox = InboxQuery(vorgang.views, opener(vorgang.projections))
            today = berlin_date(clock.now())
            base, base95 = timed(
                lambda: inbox.page(
                    InboxFilter(tenant="usingen"), today=today, limit=20, cursor=None
                ),
                rounds,
            )
            rows.append(
                [f"{dialect}: inbox page (baseline)", f"{base:.2f} ms", f"{base95:.2f} ms", "1.00"]
            )
            for label, filters in SMALL_QUERIES.items():
                wanted = SearchFilter(tenant="usingen", **filters)
                median, p95 = timed(partial(reader.page, wanted, limit=20, cursor=None), rounds)
                rows.append(
                    [
                        f"{dialect}: {label}",
                        f"{median:.2f} ms",
                        f"{p95:.2f} ms",
                        f"{median / base:.2f}",
                    ]
                )
        finally:
            vorgang.close()
    return rows


def scale_cases(vorgang: Vorgang, views: RecordingViews, scale: int) -> list[QueryCase]:
    """The baseline and the searches of ``QUERIES`` (first page; the common street's second)."""
    tenants = list(SCALE_TENANTS)
    reader = SearchQuery(views, case_search(vorgang).terms, opener(vorgang.projections))
    table_name = reader.table
    ids = [r[0] for r in views.query(f"SELECT case_id FROM {table_name} LIMIT 1000")]

    def by_key(i: int) -> object:
        return views.query(
            f"SELECT case_id, status FROM {table_name} WHERE case_id = ?", [ids[i % len(ids)]]
        )

    def first_page(text: str) -> Callable[[int], object]:
        def run(i: int) -> object:
            wanted = SearchFilter(tenant=tenants[i % len(tenants)], text=text)
            return reader.page(wanted, limit=SEARCH_PAGE, cursor=None)

        return run

    street = QUERIES["common street"]
    second = {  # the cursor a clerk holds after the first page
        t: reader.page(SearchFilter(tenant=t, text=street), limit=SEARCH_PAGE, cursor=None)[1]
        for t in tenants
    }

    def second_page(i: int) -> object:
        tenant = tenants[i % len(tenants)]
        wanted = SearchFilter(tenant=tenant, text=street)
        return reader.page(wanted, limit=SEARCH_PAGE, cursor=second[tenant])

    return [
        QueryCase("baseline: one row by primary key", by_key),
        *(QueryCase(label, first_page(text)) for label, text in QUERIES.items()),
        QueryCase("common street, page 2 (cursor)", second_page),
    ]


def at_scale(scale: int, runs: int) -> str:
    """p50/p99 of the searches at ``scale`` cases and at a hundredth of it (PostgreSQL)."""
    timed: dict[int, list[Timed]] = {}
    described = []
    for cases in (scale // 100, scale):
        filled = postgres_inbox(cases)
        described.append(f"  {filled.describe()}")
        vorgang = build(Settings(database_url=filled.target.display))
        try:
            views = RecordingViews(vorgang.views)
            measured = measure_latency(
                views, scale_cases(vorgang, views, cases), runs, budget_seconds=BUDGET_SECONDS
            )
            timed[cases] = measured
        finally:
            vorgang.close()
    small, large = timed[scale // 100], timed[scale]
    base = large[0].percentile(50)
    rows = [
        [
            at.name,
            str(len(at.seconds)),
            f"{few.percentile(50) * 1e3:.2f}",
            f"{few.percentile(99) * 1e3:.2f}",
            f"{at.percentile(50) * 1e3:.2f}",
            f"{at.percentile(99) * 1e3:.2f}",
            f"{at.percentile(50) / base:.1f}",
            f"{at.percentile(99) / few.percentile(99):.2f}",
        ]
        for few, at in zip(small, large, strict=True)
    ]
    header = [
        "query (first page of 20, one town)",
        "runs",
        f"{scale // 100:,}: p50 ms",
        "p99 ms",
        f"{scale:,}: p50 ms",
        "p99 ms",
        "p50 ÷ base",
        "p99 ÷ p99 at 1/100",
    ]
    return "\n".join([*described, table(header, rows)])


def main(argv: list[str] | None = None) -> None:
    """Print the table for SQLite and, if reachable, PostgreSQL, then the search at scale."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.case_search")
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--scale", type=int, default=1_000_000, help="cases at scale")
    parser.add_argument("--scale-runs", type=int, default=300, help="timed runs per query")
    parser.add_argument(
        "--quick", action="store_true", help="400 cases, 40 rounds; 20,000 at scale, 40 runs"
    )
    args = parser.parse_args(argv)
    cases, rounds = (400, 40) if args.quick else (args.cases, args.rounds)
    scale, scale_runs = (20_000, 40) if args.quick else (args.scale, args.scale_runs)
    quiet_logging()
    print(f"Case search: {cases} cases over four towns; one page of 20 results for usingen")
    unreachable = postgres_unreachable()
    with tempfile.TemporaryDirectory() as folder:
        files = SqliteFiles(Path(folder))
        rows = measure("sqlite", files, cases, rounds)
        if unreachable is None:
            rows += measure("postgresql", files, cases, rounds)
        else:
            print(f"  (PostgreSQL skipped: {unreachable})")
    print(table(["measurement", "inbox / median", "search / p95", "ratio"], rows))
    print("  build rows: events/s of the inbox and of the search rebuild, ratio search ÷ inbox")
    print("  query rows: median and p95 of one page, ratio median ÷ inbox page median")
    if unreachable is not None:
        return
    print()
    print(f"Case search at scale (PostgreSQL): {scale:,} cases, and a hundredth beside it")
    print(at_scale(scale, scale_runs))
    print(
        "  p50 ÷ base: p50 at scale ÷ the p50 of one row by primary key at scale; "
        "p99 ÷ p99 at 1/100: the same query's p99 at scale ÷ its p99 on a hundredth of the "
        "cases; towns take turns"
    )


if __name__ == "__main__":
    main()

"""Case search: building the blind index, and query latency beside an inbox page.

A log of cases spread over the four towns (names, streets and subjects drawn from short
lists, so common names repeat as in a real town) on SQLite and PostgreSQL. Building: the
case_search view and the inbox are each rebuilt from the whole log (``rebuild``, side by
side), printed as events/s and the ratio search ÷ inbox — the price of opening every sealed
value and hashing its words. Querying: the median and 95th percentile of one page (20
results) for typical searches, through the query module alone, beside one inbox page of the
same tenant (the ratio search ÷ inbox).
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
from typing import Any

from api.routes.read_models import opener
from application.clock import FixedClock
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
QUERIES: dict[str, dict[str, Any]] = {
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
            for label, filters in QUERIES.items():
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


def main(argv: list[str] | None = None) -> None:
    """Print the table for SQLite and, if reachable, PostgreSQL."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.case_search")
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="400 cases, 40 rounds")
    args = parser.parse_args(argv)
    cases, rounds = (400, 40) if args.quick else (args.cases, args.rounds)
    quiet_logging()
    print(f"Case search: {cases} cases over four towns; one page of 20 results for usingen")
    with tempfile.TemporaryDirectory() as folder:
        files = SqliteFiles(Path(folder))
        rows = measure("sqlite", files, cases, rounds)
        unreachable = postgres_unreachable()
        if unreachable is None:
            rows += measure("postgresql", files, cases, rounds)
        else:
            print(f"  (PostgreSQL skipped: {unreachable})")
    print(table(["measurement", "inbox / median", "search / p95", "ratio"], rows))
    print("  build rows: events/s of the inbox and of the search rebuild, ratio search ÷ inbox")
    print("  query rows: median and p95 of one page, ratio median ÷ inbox page median")


if __name__ == "__main__":
    main()

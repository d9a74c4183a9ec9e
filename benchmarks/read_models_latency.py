"""Latency of the queries the API runs on the views, p50/p99, with the plan each one used.

Each query case is a call of the real query function (``InboxQuery.page`` with the API's
opener, which decrypts the applicant names of the page), varied per run over tenants and
clerks. The baseline, measured in the same run on the same connection pool, is the
smallest query a view can answer: one inbox row by primary key. A query case is anything
callable, so another read model's query (case search) is added by appending its cases in
``query_cases``. The plan comes from ``EXPLAIN`` of the statement the query function
actually sent (captured by a thin wrapper around the view database).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from api.routes.read_models import opener
from benchmarks.read_models_views import (
    CLERKS_PER_TENANT,
    RARE_SERVICE,
    TENANTS,
    TODAY,
    clerk_id,
)
from benchmarks.support import table
from infrastructure.view_database import ProjectionLock, ViewDatabase, ViewTransaction
from infrastructure.wiring import Vorgang
from projections.inbox import Inbox
from projections.inbox_query import InboxFilter, InboxQuery

PAGE = 50  # the API's default page size
SLOW_MS = 25.0  # a p99 above this prints the whole plan


class RecordingViews(ViewDatabase):
    """The view database, remembering the last statement read (for EXPLAIN)."""

    def __init__(self, views: ViewDatabase) -> None:
        self.inner = views
        self.dialect = views.dialect
        self.last: tuple[str, list[Any]] = ("", [])

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        with self.inner.transaction() as tx:
            yield tx

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.last = (sql, list(params))
        return self.inner.query(sql, params)

    def try_lock(self, name: str) -> ProjectionLock | None:
        return self.inner.try_lock(name)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class QueryCase:
    """A named query; ``run(i)`` performs the i-th variation of it."""

    name: str
    run: Callable[[int], object]


@dataclass(frozen=True)
class Timed:
    """Latencies of one query case and the plan it used."""

    name: str
    seconds: list[float]
    plan: list[str]

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in seconds."""
        ordered = sorted(self.seconds)
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def inbox_cases(views: RecordingViews, vorgang: Vorgang) -> list[QueryCase]:
    """Typical clerk queries of the work queue, as ``GET /api/v1/inbox`` runs them."""
    query = InboxQuery(views, opener(vorgang))
    tenants = list(TENANTS)

    def tenant(i: int) -> str:
        return tenants[i % len(tenants)]

    def me(i: int) -> str:
        return clerk_id(tenant(i), (i // len(tenants)) % CLERKS_PER_TENANT)

    def page(filter_: InboxFilter, cursor: str | None = None) -> object:
        return query.page(filter_, today=TODAY, limit=PAGE, cursor=cursor)

    second_pages = {}
    for t in tenants:  # the cursor a clerk holds after reading the first page
        _items, cursor = query.page(InboxFilter(tenant=t), today=TODAY, limit=PAGE, cursor=None)
        second_pages[t] = cursor

    return [
        QueryCase("queue by due date, page 1", lambda i: page(InboxFilter(tenant=tenant(i)))),
        QueryCase(
            "queue by due date, page 2 (cursor)",
            lambda i: page(InboxFilter(tenant=tenant(i)), second_pages[tenant(i)]),
        ),
        QueryCase(
            "my cases (assignee = me)",
            lambda i: page(InboxFilter(tenant=tenant(i), assignee=me(i))),
        ),
        QueryCase(
            "my overdue cases",
            lambda i: page(InboxFilter(tenant=tenant(i), assignee=me(i), overdue=True)),
        ),
        QueryCase("unassigned", lambda i: page(InboxFilter(tenant=tenant(i), unassigned=True))),
        QueryCase(
            "status = information_requested",
            lambda i: page(InboxFilter(tenant=tenant(i), status="information_requested")),
        ),
        QueryCase(
            "status = objection_lodged (2 %)",
            lambda i: page(InboxFilter(tenant=tenant(i), status="objection_lodged")),
        ),
        QueryCase(
            f"service = {RARE_SERVICE} (1 %)",
            lambda i: page(InboxFilter(tenant=tenant(i), service=RARE_SERVICE)),
        ),
        QueryCase("overdue", lambda i: page(InboxFilter(tenant=tenant(i), overdue=True))),
    ]


def search_cases(views: RecordingViews, vorgang: Vorgang) -> list[QueryCase] | str:
    """Case search queries, once ``projections/search_query.py`` exists; else why not.

    Hook: when case search lands, fill its view the fast way (see ``read_models_views``)
    and return its typical queries here as ``QueryCase``s (a reference, a name, a street).
    """
    try:
        import projections.search_query  # noqa: F401
    except ImportError:
        return "case search not measured: projections/search_query.py does not exist yet"
    return "case search not measured: its query cases are not written yet (search_cases)"


def baseline_case(views: RecordingViews) -> QueryCase:
    """One inbox row by primary key: the floor of a round trip through the view database."""
    table_name = Inbox().table
    ids = [r[0] for r in views.query(f"SELECT case_id FROM {table_name} LIMIT 1000")]

    def run(i: int) -> object:
        return views.query(
            f"SELECT case_id, status FROM {table_name} WHERE case_id = ?", [ids[i % len(ids)]]
        )

    return QueryCase("baseline: one row by primary key", run)


def plan_of(views: RecordingViews) -> list[str]:
    """The plan of the statement the last query sent."""
    sql, params = views.last
    if views.dialect == "postgresql":
        rows = views.inner.query(f"EXPLAIN {sql}", params)
        return [str(r[0]) for r in rows]
    rows = views.inner.query(f"EXPLAIN QUERY PLAN {sql}", params)
    return [str(r[-1]) for r in rows]


def indexes_in(plan: list[str]) -> str:
    """The indexes a plan uses (or "table scan"), and "+ sort" if it sorts."""
    found: list[str] = []
    for line in plan:
        for pattern in (
            r"Scan(?: Backward)? using (\S+)",
            r"Bitmap Index Scan on (\S+)",
            r"USING (?:COVERING )?INDEX (\S+)",
        ):
            match = re.search(pattern, line)
            if match and match.group(1) not in found:
                found.append(match.group(1))
    how = ", ".join(name.removeprefix(Inbox().table + "_") for name in found)
    if not how:
        how = "table scan" if any("Seq Scan" in x or x.startswith("SCAN") for x in plan) else "-"
    sorts = any(x.lstrip(" ->").startswith("Sort") or "TEMP B-TREE" in x for x in plan)
    return how + (" + sort" if sorts else "")


def measure(views: RecordingViews, cases: list[QueryCase], runs: int) -> list[Timed]:
    """Warm each case up, then time ``runs`` variations of each; capture each plan."""
    timed = []
    for case in cases:
        for i in range(min(10, runs)):
            case.run(i)
        plan = plan_of(views)
        seconds = []
        for i in range(runs):
            started = time.perf_counter()
            case.run(i)
            seconds.append(time.perf_counter() - started)
        timed.append(Timed(case.name, seconds, plan))
    return timed


def report(database: str, timed: list[Timed]) -> str:
    """p50/p99 per query case, ratios to the baseline's p50, the indexes used."""
    base = statistics.median(timed[0].seconds)
    rows = [
        [
            database,
            t.name,
            str(len(t.seconds)),
            f"{t.percentile(50) * 1e3:.2f}",
            f"{t.percentile(99) * 1e3:.2f}",
            f"{t.percentile(50) / base:.1f}",
            indexes_in(t.plan),
        ]
        for t in timed
    ]
    lines = [
        table(
            ["database", "query", "runs", "p50 ms", "p99 ms", "p50 ÷ base", "index"], rows, left=2
        )
    ]
    for t in timed[1:]:
        if t.percentile(99) * 1e3 > SLOW_MS:
            lines.append(f"  plan of {t.name!r} ({database}):")
            lines.extend(f"    {line}" for line in t.plan)
    return "\n".join(lines)

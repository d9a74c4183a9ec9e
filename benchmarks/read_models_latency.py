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
from benchmarks.read_models_search import QUERIES, case_search
from benchmarks.read_models_views import (
    CLERKS_PER_TENANT,
    PREFIXES,
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
from projections.search_query import SearchFilter, SearchQuery

PAGE = 50  # the inbox route's default page size
SEARCH_PAGE = 20  # the search route's default page size
SLOW_MS = 25.0  # a p99 above this prints the whole plan
WARMUP_RUNS = 2
MIN_RUNS = 30


class RecordingViews(ViewDatabase):
    """The view database, remembering the last statement read (for EXPLAIN)."""

    def __init__(self, views: ViewDatabase) -> None:
        self.inner = views
        self.last: tuple[str, list[Any]] = ("", [])

    @property
    def dialect(self) -> str:
        """The wrapped database's SQL dialect."""
        return self.inner.dialect

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
    query = InboxQuery(views, opener(vorgang.projections))
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
            "objection open (2 %)",
            lambda i: page(InboxFilter(tenant=tenant(i), objection_open=True)),
        ),
        QueryCase(
            f"service = {RARE_SERVICE} (1 %)",
            lambda i: page(InboxFilter(tenant=tenant(i), service=RARE_SERVICE)),
        ),
        QueryCase("overdue", lambda i: page(InboxFilter(tenant=tenant(i), overdue=True))),
    ]


def search_cases(views: RecordingViews, vorgang: Vorgang) -> list[QueryCase]:
    """Typical searches of ``GET /api/v1/search`` (``SearchQuery.page``), over the tenants."""
    reader = SearchQuery(views, case_search(vorgang).terms, opener(vorgang.projections))
    tenants = list(TENANTS)

    def find(i: int, **wanted: Any) -> object:
        tenant = tenants[i % len(tenants)]
        return reader.page(SearchFilter(tenant=tenant, **wanted), limit=SEARCH_PAGE, cursor=None)

    def reference(i: int) -> str:
        return f"{PREFIXES[tenants[i % len(tenants)]]}-2026-{1 + i * 37 % 1000:07d}"

    def words(text: str) -> Callable[[int], object]:
        return lambda i: find(i, text=text)

    return [
        *(QueryCase(f"search: {label}", words(text)) for label, text in QUERIES.items()),
        QueryCase("search: name and subject", lambda i: find(i, text="Weber Container")),
        QueryCase("search: reference", lambda i: find(i, reference=reference(i))),
        QueryCase("search: status, no words", lambda i: find(i, status="in_review")),
        QueryCase("search: newest first", lambda i: find(i)),
    ]


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


INDEX_PATTERNS = (  # how a plan line names what it reads by: an index name, or a label
    (r"Scan(?: Backward)? using (\S+)", None),  # PostgreSQL
    (r"Bitmap Index Scan on (\S+)", None),
    (r"USING (?:COVERING )?INDEX sqlite_autoindex", "pkey"),  # SQLite
    (r"USING (?:COVERING )?INDEX (\S+)", None),
    (r"VIRTUAL TABLE INDEX \d+:M", "fts5"),
    (r"USING INTEGER PRIMARY KEY", "rowid"),
)


def indexes_in(plan: list[str]) -> str:
    """The indexes a plan uses (or "table scan"), and "+ sort" if it sorts."""
    found: list[str] = []
    for line in plan:
        for pattern, label in INDEX_PATTERNS:
            match = re.search(pattern, line)
            if match:
                name = label or re.sub(r"^\w+?_v\d+_", "", match.group(1))
                if name not in found:
                    found.append(name)
                break
    how = ", ".join(found)
    if not how:
        how = "table scan" if any("Seq Scan" in x or x.startswith("SCAN") for x in plan) else "-"
    sorts = any(re.search(r"(?:^|->)\s*(?:Incremental )?Sort\s+\(|TEMP B-TREE", x) for x in plan)
    return how + (" + sort" if sorts else "")


def measure(
    views: RecordingViews, cases: list[QueryCase], runs: int, *, budget_seconds: float
) -> list[Timed]:
    """Warm each case up, then time ``runs`` variations of each; capture each plan.

    A slow case stops after ``budget_seconds`` (with at least ``MIN_RUNS`` runs), so one
    slow query cannot stretch the whole benchmark; the table prints how many runs it had.
    """
    timed = []
    for case in cases:
        for i in range(min(WARMUP_RUNS, runs)):
            case.run(i)
        plan = plan_of(views)
        seconds: list[float] = []
        deadline = time.perf_counter() + budget_seconds
        for i in range(runs):
            started = time.perf_counter()
            if started > deadline and len(seconds) >= MIN_RUNS:
                break
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

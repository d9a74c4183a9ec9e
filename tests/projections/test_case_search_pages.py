"""Search pages read level by level equal one order computed from the rows' own terms.

Cases whose names and subjects are words, beginnings of one another, and inflections
("Müll", "Müller", "Müllerschön"; "Grab", "Gräber"), some submitted at the same moment. For
any query of their words, any page size and any number of newest rows PostgreSQL looks
through before gathering a level, the pages followed by their cursors list every match
once, in the order of relevance, then newest first, then case id — computed here from each
row's document terms alone. On PostgreSQL a common word's page reads about as many rows as
the page holds, not every match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.routes.read_models import opener
from application.clock import FixedClock
from infrastructure.wiring import Vorgang
from projections.search import CaseSearch
from projections.search_query import SearchFilter, SearchQuery
from projections.search_terms import QueryWord
from projections.view_store import ViewDatabase, ViewTransaction
from tests.projections.test_case_search import ERIKA, JUERGEN, submit

NAMES = ["Anna Müll", "Anna Müller", "Paul Müllerschön", "Erika Wegner", "Paul Weg", "Hans Haupt"]
SUBJECTS = ["Grab", "Gräber pflegen", "Grabmal", "Hauptstraße", "Anmeldung"]
WORDS = ["Müll", "Müller", "Mül", "Weg", "Wegn", "Anna", "Paul", "Grab", "Gräbern", "Grabm"]
WORDS += ["Haupt", "Hauptstr", "Anmeld", "Erika", "Zwackel"]  # "weg" is a stop word


@pytest.fixture
def searched(vorgang: Vorgang, clock: FixedClock) -> Vorgang:
    """Twenty cases of the words above; every third at the moment of the one before."""
    for i in range(20):
        name, subject = NAMES[i % len(NAMES)], SUBJECTS[(i // 2) % len(SUBJECTS)]
        street = "Hauptstraße" if i % 4 == 0 else None
        submit(vorgang, JUERGEN if i % 3 == 0 else ERIKA, name, street=street, subject=subject)
        if i % 3 != 1:
            clock.advance(timedelta(minutes=3))
    vorgang.projections.runners["case_search"].catch_up()
    return vorgang


def projection(v: Vorgang) -> CaseSearch:
    found = v.projections.runners["case_search"].projection
    assert isinstance(found, CaseSearch)
    return found


def expected(
    v: Vorgang, words: list[QueryWord], submitted_by: str | None = None
) -> list[tuple[int, str]]:
    """(relevance, reference) of every match, in the promised order, from the rows' terms."""
    search = projection(v)
    rows = v.views.query(
        f"SELECT case_id, reference, submitted_at, submitted_by, tenant, clear_terms, "  # noqa: S608
        f"subject_terms FROM {search.table}"
    )
    found = []
    for case_id, reference, submitted_at, by, tenant, clear_terms, subject_terms in rows:
        if submitted_by not in (None, by):
            continue
        terms = set(
            search.document_terms(
                {"tenant": tenant, "clear_terms": clear_terms, "subject_terms": subject_terms}
            )
        )
        whole = [w.stem_token in terms for w in words]
        begun = [w.prefix_token in terms for w in words]
        if all(a or b for a, b in zip(whole, begun, strict=True)):
            found.append((sum(whole), submitted_at, case_id, reference))
    found.sort(reverse=True)
    return [(score, reference) for score, _, _, reference in found]


def paged(
    query: SearchQuery, text: str, limit: int, submitted_by: str | None = None
) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    cursor = None
    wanted = SearchFilter(tenant="usingen", text=text, submitted_by=submitted_by)
    while True:
        items, cursor = query.page(wanted, limit=limit, cursor=cursor)
        assert len(items) == limit or cursor is None
        seen += [(item["relevance"], item["reference"]) for item in items]
        if cursor is None:
            return seen


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)
    # Seven words reach a level in up to 35 ways: those levels count per row instead.
    | st.lists(st.sampled_from(["Müll", "Mül", "Anna", "Grab", "Gräbern"]), min_size=7, max_size=7),
    limit=st.integers(1, 6),
    walk_rows=st.integers(1, 8),
    submitted_by=st.sampled_from([None, JUERGEN.id]),  # an applicant's own cases
)
def test_pages_list_every_match_once_by_relevance_then_newest(
    searched: Vorgang, words: list[str], limit: int, walk_rows: int, submitted_by: str | None
) -> None:
    search = projection(searched)
    query = SearchQuery(
        searched.views, search.terms, opener(searched.projections), walk_rows=walk_rows
    )
    text = " ".join(words)
    wanted = expected(searched, search.terms.query_words("usingen", text), submitted_by)
    assert paged(query, text, limit, submitted_by) == wanted


def test_the_words_above_reach_every_level(searched: Vorgang) -> None:
    """The cases hold whole words and mere beginnings of one query at once."""
    search = projection(searched)
    levels = {s for s, _ in expected(searched, search.terms.query_words("usingen", "Müll Grab"))}
    assert levels == {0, 1, 2}


class CountingViews:
    """The view database, remembering every statement read through it."""

    def __init__(self, views: ViewDatabase) -> None:
        self.inner = views
        self.sent: list[tuple[str, list[Any]]] = []

    @property
    def dialect(self) -> str:
        return self.inner.dialect

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        with self.inner.transaction() as tx:
            yield tx

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.sent.append((sql, list(params)))
        return self.inner.query(sql, params)


def rows_read(views: CountingViews) -> int:
    """Rows the statements sent read from the table, by ``EXPLAIN ANALYZE`` of each."""

    def scanned(node: dict[str, Any]) -> int:
        own = 0
        if node["Node Type"] in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Seq Scan"}:
            own = node["Actual Rows"] * node["Actual Loops"]
        return own + sum(scanned(child) for child in node.get("Plans", []))

    total = 0
    for sql, params in views.sent:
        plan = views.inner.query(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)[0][0]
        total += scanned((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return total


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgresql"], indirect=True)
def test_a_common_words_page_reads_the_newest_rows_not_every_match(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    for i in range(60):
        submit(vorgang, ERIKA, f"Erika Müller {i}", subject="Anmeldung")
        clock.advance(timedelta(minutes=1))
    vorgang.projections.runners["case_search"].catch_up()
    search = projection(vorgang)
    views = CountingViews(vorgang.views)
    query = SearchQuery(views, search.terms, opener(vorgang.projections), walk_rows=20)
    items, cursor = query.page(SearchFilter(tenant="usingen", text="Müller"), limit=5, cursor=None)
    assert len(items) == 5
    assert cursor is not None
    assert rows_read(views) <= 20  # at most the walk, never the 60 matches
    views.sent.clear()
    items, _ = query.page(SearchFilter(tenant="usingen", text="Müller"), limit=5, cursor=cursor)
    assert len(items) == 5
    assert rows_read(views) <= 20  # the cursor starts the walk where the page ended

"""Case search rows for the same generated cases as the inbox, and its typical queries.

Each row is what ``CaseSearch`` writes for a submission: clear stems of the reference,
service and subject, and the keyed tokens of the applicant's name and address, computed
with the projection's own ``SearchTerms`` (cached per distinct value: names and streets
repeat, as in a real town). Indexes (and PostgreSQL's generated ``tsvector`` with its GIN
index) come from ``CaseSearch.create_tables`` after the load.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg

from infrastructure.wiring import Vorgang
from projections.search import COLUMNS, CaseSearch, set_personal_terms

Applicant = Callable[[str, int], dict[str, str]]  # (tenant, position) → name and address

INDEXES = ("submitted", "status", "service", "applicant", "reference", "document")
SUBJECTS = (
    "Sondernutzung des Gehwegs",
    "Umzug mit Halteverbot",
    "Container vor dem Haus",
    "Anmeldung eines Hundes",
    "Grabpflege und Grabmal",
    "Stand auf dem Weihnachtsmarkt",
    "Ferienspiele Anmeldung",
    "Zählerstand Wasser",
)


def case_search(vorgang: Vorgang) -> CaseSearch:
    """The case search projection of this wiring."""
    projection = vorgang.projections.runners["case_search"].projection
    if not isinstance(projection, CaseSearch):
        raise TypeError("the case_search runner does not run CaseSearch")
    return projection


def search_rows(
    search: CaseSearch, inbox_rows: Iterable[tuple[Any, ...]], applicant_of: Applicant
) -> Iterator[tuple[Any, ...]]:
    """The search row of each inbox row (same case), in ``COLUMNS`` order."""
    personal: dict[tuple[str, str], set[str]] = {}
    clear: dict[str, str] = {}

    def tokens(tenant: str, text: str) -> set[str]:
        key = (tenant, text)
        if key not in personal:
            personal[key] = search.terms.personal_tokens(tenant, text)
        return personal[key]

    def stems(text: str) -> str:
        if text not in clear:
            clear[text] = " ".join(search.terms.clear_terms([text]))
        return clear[text]

    def reference_stems(reference: str) -> str:
        # One reference per case, so caching it whole is no use; its words are a prefix
        # and the year (cached) and a number, which stemming leaves as it is (checked).
        head, number = reference.rsplit("-", 1)
        return f"{stems(head)} {number}"

    if reference_stems("USI-2026-0000042") != stems("USI-2026-0000042"):
        raise AssertionError("the search terms of a reference are no longer its words")

    for row in inbox_rows:
        case_id, tenant, reference, service, sealed_name, status = row[:6]
        submitted_at, position = row[7], row[12]
        applicant = applicant_of(tenant, position)
        by_subject = set().union(*(tokens(tenant, value) for value in applicant.values()))
        subject = SUBJECTS[position % len(SUBJECTS)]
        found: dict[str, Any] = {
            "clear_terms": " ".join(
                part
                for part in (reference_stems(reference), stems(service), stems(subject))
                if part
            )
        }
        set_personal_terms(found, {"applicant": sorted(by_subject)})
        yield (
            case_id,
            tenant,
            reference,
            service,
            status,
            submitted_at,
            f"portal:{position}",
            sealed_name,
            found["clear_terms"],
            found["hashed_terms"],
            found["subject_terms"],
            position,
        )


def _drop_indexes(vorgang: Vorgang) -> CaseSearch:
    search = case_search(vorgang)
    with vorgang.views.transaction() as tx:
        for table in search.tables():
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        search.create_tables(tx)
        for name in INDEXES:
            tx.execute(f"DROP INDEX IF EXISTS {search.table}_{name}")
    return search


def _create_indexes(vorgang: Vorgang, search: CaseSearch) -> None:
    with vorgang.views.transaction() as tx:
        search.create_tables(tx)


def copy_postgres(
    vorgang: Vorgang,
    conn: psycopg.Connection[Any],
    inbox_rows: Iterable[tuple[Any, ...]],
    applicant_of: Applicant,
) -> None:
    """COPY the search rows into an emptied table; then its indexes."""
    search = _drop_indexes(vorgang)
    with conn.cursor().copy(f"COPY {search.table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in search_rows(search, inbox_rows, applicant_of):
            copy.write_row(row)
    conn.commit()
    _create_indexes(vorgang, search)
    conn.execute(f"ANALYZE {search.table}")
    conn.commit()


def insert_sqlite(
    vorgang: Vorgang,
    conn: sqlite3.Connection,
    inbox_rows: list[tuple[Any, ...]],
    applicant_of: Applicant,
) -> None:
    """Insert the search rows and their FTS5 documents; then the indexes."""
    search = _drop_indexes(vorgang)
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    rows = [(i + 1, *r) for i, r in enumerate(search_rows(search, inbox_rows, applicant_of))]
    hashed = COLUMNS.index("hashed_terms") + 1
    for first in range(0, len(rows), 50_000):
        part = rows[first : first + 50_000]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            f"INSERT INTO {search.table} (doc, {', '.join(COLUMNS)}) VALUES ({marks})", part
        )
        conn.executemany(
            f"INSERT INTO {search.text_table} (rowid, terms) VALUES (?, ?)",
            [(r[0], f"{r[hashed - 1]} {r[hashed]}".strip()) for r in part],
        )
        conn.execute("COMMIT")
    _create_indexes(vorgang, search)

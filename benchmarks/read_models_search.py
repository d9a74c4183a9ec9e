"""Case search rows for the same generated cases as the inbox, and its typical queries.

Each row is what ``CaseSearch`` writes for a submission: clear stems of the reference,
service and subject, the keyed tokens of the applicant's name and address, and (on
PostgreSQL) the document of every term, computed with the projection's own methods
(personal tokens cached per distinct value: names and streets repeat, as in a real town).
One case in ``RARE_EVERY`` has a rare subject, so a rare word has a few dozen matches per
town. Indexes (and PostgreSQL's GIN index) come from ``CaseSearch.create_tables`` after the
load.

``QUERIES`` are the searches both benchmarks time (``benchmarks.case_search`` and the
read-model latency): a common word, a common street, a word's beginning, a whole name, a
rare word, and two common words that never meet in one case.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg

from infrastructure.wiring import Vorgang
from projections.inbox import COLUMNS as INBOX_COLUMNS
from projections.search import COLUMNS, LIVE_TABLE, CaseSearch

Applicant = Callable[[str, int], dict[str, str]]  # (tenant, position) → name and address

INDEXES = ("submitted", "status", "service", "applicant", "reference", "document")
SUBMITTED_AT = INBOX_COLUMNS.index("submitted_at")  # where an inbox row holds what search needs
POSITION = INBOX_COLUMNS.index("position")
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
RARE_SUBJECT = "Sperrmüll Sonderabholung"
RARE_EVERY = 9_973  # positions: about 100 cases in a million, 33 in the largest town
QUERIES: dict[str, str] = {  # what a clerk types (share of a town's cases): label → words
    "common word": "Anmeldung",  # 25 %: two subjects of eight
    "common street": "Hauptstrasse",  # 20 %: one street of five, another spelling
    "word beginning": "Müll",  # 4 %: a name's beginning (whole by stem, too)
    "whole name": "Jürgen Müller",  # 0.2 %
    "rare word": "Sonderabholung",  # 0.01 %
    "common words never together": "Jürgen Hauptstrasse",  # 5 % and 20 %, never in one case
}


def case_search(vorgang: Vorgang) -> CaseSearch:
    """The case search projection of this wiring."""
    projection = vorgang.projections.runners["case_search"].projection
    if not isinstance(projection, CaseSearch):
        raise TypeError("the case_search runner does not run CaseSearch")
    return projection


def search_rows(
    search: CaseSearch, inbox_rows: Iterable[tuple[Any, ...]], applicant_of: Applicant
) -> Iterator[tuple[Any, ...]]:
    """The search row of each inbox row (same case), in ``search.columns`` order."""
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
        submitted_at, position = row[SUBMITTED_AT], row[POSITION]
        applicant = applicant_of(tenant, position)
        by_subject = set().union(*(tokens(tenant, value) for value in applicant.values()))
        subject = RARE_SUBJECT if position % RARE_EVERY == 0 else SUBJECTS[position % len(SUBJECTS)]
        found: dict[str, Any] = {
            "case_id": case_id,
            "tenant": tenant,
            "reference": reference,
            "service": service,
            "status": status,
            "submitted_at": submitted_at,
            "submitted_by": f"portal:{position}",
            "applicant_name": sealed_name,
            "clear_terms": " ".join(
                part
                for part in (reference_stems(reference), stems(service), stems(subject))
                if part
            ),
            "position": position,
        }
        search.set_terms(found, {"applicant": sorted(by_subject)})
        yield tuple(found[column] for column in search.columns)


def search_table_filled(conn: psycopg.Connection[Any]) -> bool:
    """Whether a kept PostgreSQL data set has rows in the case search view of this version
    (a wiring built on it since a new version creates the view's tables, empty)."""
    found = conn.execute("SELECT to_regclass(%s)", (LIVE_TABLE,)).fetchone()
    if found is None or found[0] is None:
        return False
    return conn.execute(f"SELECT EXISTS (SELECT 1 FROM {LIVE_TABLE})").fetchone() == (True,)


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
    with conn.cursor().copy(
        f"COPY {search.table} ({', '.join(search.columns)}) FROM STDIN"
    ) as copy:
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
    for first in range(0, len(rows), 50_000):
        part = rows[first : first + 50_000]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            f"INSERT INTO {search.table} (doc, {', '.join(COLUMNS)}) VALUES ({marks})", part
        )
        conn.executemany(
            f"INSERT INTO {search.text_table} (rowid, terms) VALUES (?, ?)",
            [
                (r[0], " ".join(search.document_terms(dict(zip(COLUMNS, r[1:], strict=True)))))
                for r in part
            ],
        )
        conn.execute("COMMIT")
    _create_indexes(vorgang, search)

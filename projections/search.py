"""Case search: every case of a tenant, findable by reference, applicant, address and text.

One row per case with the structured filters as indexed columns (tenant, status, service,
submitted_at, reference, who submitted) and a full-text document built from the submission:
keyed hashes of every word and of its beginnings, the tenant's own (see
``projections.search_terms``) — never a personal value in clear. Personal values arrive
sealed; the projection opens them only to compute their tokens and keeps the tokens per
data subject, so ``PersonalDataErased`` drops that subject's tokens from the row at once.
A rebuild opens the same sealed values again: erased ones no longer open (their keys are
destroyed) and yield no tokens, so the rebuilt index equals the incremental one.
Non-personal text is kept in the row as its clear stems (``clear_terms``).

The document is the set of its terms, computed here: the tokens of the clear stems and
their beginnings, and every subject's tokens (``subject_terms``). SQLite keeps it in an
FTS5 table (``unicode61 remove_diacritics 2``) beside the rows, linked by the
row's integer key; its pages are scrubbed on delete (``secure_delete``, and FTS5's own
``secure-delete`` where SQLite has it, 3.42+; before that an erasure batch ends with an
FTS5 ``optimize``, which rewrites the index without the deleted entries). PostgreSQL keeps
it in the row as a ``tsvector`` of exactly these terms, written as ``tsvector`` text (no
parser of the database splits a token), with a GIN index.
Rows stay whole in their table page (``toast_tuple_target``), so a query reading the newest
rows in index order checks each document without a look-up in the TOAST table. Rewriting
the row is enough there: old row versions hold only tokens, never a clear value, and VACUUM
reclaims them.

Version 2 (from 1): clear words indexed as tokens too, word beginnings as tokens rather
than prefix queries; PostgreSQL's document of exact terms (version 1 parsed them under the
``german`` and ``simple`` configurations, which split a token such as ``8e668bd385ed``
into a number and a word), kept in the row; no ``hashed_terms`` column (the subjects'
tokens are in ``subject_terms``).

Version 3 (from 2): the status is the case's main track only (docs/architecture.md,
decision 23): a case with an objection is found by where its work stands, no longer under
``objection_lodged`` or ``objection_forwarded``, which a version 2 row may still hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from domain.case import Case
from domain.personal_data import Erased, PersonalData
from projections.bulk import CHUNK, load_rows, upsert_rows
from projections.case_events import case_event_topics, status_after
from projections.inbox import utc_text
from projections.projection import Applied, Projection
from projections.sealed import Sealed, sealed_json
from projections.search_match import lexeme
from projections.search_terms import SearchTerms
from projections.view_store import ViewTransaction

OpenPersonal = Callable[[Sealed], PersonalData | Erased]
"""Opens a sealed personal value with the application's keys (``Erased`` once shredded)."""

COLUMNS = (
    "case_id",
    "tenant",
    "reference",
    "service",
    "status",
    "submitted_at",
    "submitted_by",
    "applicant_name",
    "clear_terms",
    "subject_terms",
    "position",
)
POSTGRES_COLUMNS = (*COLUMNS, "document")  # SQLite keeps the document in its FTS5 table
# The applicant's name and address are searched; contact details and birth date are not.
APPLICANT_FIELDS = ("name", "street", "house_number", "postal_code", "city")
UNSEARCHED_DATA_FIELDS = frozenset({"email", "phone", "coordinates"})
_NOT_WORDS = re.compile(r"^[\d\s.,:+\-TZ]*$")  # numbers, dates and times in clear data
# PostgreSQL: a row up to this size stays in its page, its document not moved to TOAST
# (the default moves values out from 2 kB, and a row holds about 2 kB).
ROW_KEPT_WHOLE_BYTES = 8160


class CaseSearch(Projection):
    """Every case per tenant, with filters and a blind full-text index."""

    name: ClassVar[str] = "case_search"
    version: ClassVar[int] = 3  # 3: statuses of the main track only

    def __init__(self, dialect: str, terms: SearchTerms, open_personal: OpenPersonal) -> None:
        self.dialect = dialect
        self.terms = terms
        self.open_personal = open_personal
        self.columns = POSTGRES_COLUMNS if dialect == "postgresql" else COLUMNS

    @property
    def text_table(self) -> str:
        """SQLite only: the FTS5 index of the rows' documents."""
        return f"{self.key}_text"

    def tables(self) -> list[str]:
        """The rows, and on SQLite their FTS5 index."""
        return [self.table, self.text_table] if self.dialect == "sqlite" else [self.table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Rows with indexed filter columns, and the full-text index of the dialect."""
        columns = (
            "tenant TEXT NOT NULL, reference TEXT NOT NULL, "
            "service TEXT NOT NULL, status TEXT NOT NULL, submitted_at TEXT NOT NULL, "
            "submitted_by TEXT NOT NULL, applicant_name TEXT, clear_terms TEXT NOT NULL, "
            "subject_terms TEXT NOT NULL, position BIGINT NOT NULL"
        )
        if self.dialect == "sqlite":
            # An explicit integer key: VACUUM keeps it, so the FTS5 rows stay linked.
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                f"doc INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE, {columns})"
            )
            tx.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.text_table} USING fts5("
                "terms, tokenize = 'unicode61 remove_diacritics 2', detail = none)"
            )
            if secure_delete_available(tx):
                tx.execute(
                    f"INSERT INTO {self.text_table} ({self.text_table}, rank) "
                    "VALUES ('secure-delete', 1)"
                )
            reference = "tenant, reference"
        else:
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (case_id TEXT PRIMARY KEY, {columns}, "
                f"document tsvector NOT NULL) WITH (toast_tuple_target = {ROW_KEPT_WHOLE_BYTES})"
            )
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_document "
                f"ON {self.table} USING GIN (document)"
            )
            reference = "tenant, reference text_pattern_ops"
        for name, indexed in (
            ("submitted", "tenant, submitted_at, case_id"),
            ("status", "tenant, status, submitted_at, case_id"),
            ("service", "tenant, service, submitted_at, case_id"),
            ("applicant", "tenant, submitted_by, submitted_at, case_id"),
            ("reference", reference),
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{name} ON {self.table} ({indexed})"
            )

    def topics(self) -> list[str]:
        """Every case event (each may change the status)."""
        return case_event_topics()

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows, upsert them, rewrite changed documents."""
        ids = sorted({str(a.event.originator_id) for a in batch})
        rows = load_rows(tx, self.table, self.columns, ids)
        rewritten: set[str] = set()
        erased = False
        for applied in batch:
            changed = self._fold(rows, applied)
            if changed:
                rewritten.add(str(applied.event.originator_id))
                erased = erased or isinstance(applied.event, Case.PersonalDataErased)
        upsert_rows(tx, self.table, self.columns, list(rows.values()))
        if self.dialect == "sqlite" and rewritten:
            self._rewrite_documents(tx, sorted(rewritten), rows)
            if erased and not secure_delete_available(tx):
                tx.execute(f"INSERT INTO {self.text_table} ({self.text_table}) VALUES ('optimize')")

    def _fold(self, rows: dict[str, dict[str, Any]], applied: Applied) -> bool:
        """Apply one event to its row; True if the row's document changed."""
        event: Any = applied.event
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            rows[case_id] = self._submitted(event, applied.position)
            return True
        row = rows.get(case_id)
        if row is None:
            return False
        row["status"] = status_after(event, row["status"])
        row["position"] = applied.position
        if not isinstance(event, Case.PersonalDataErased):
            return False
        by_subject: dict[str, list[str]] = json.loads(row["subject_terms"])
        for subject in event.subjects:
            by_subject.pop(subject, None)
        self.set_terms(row, by_subject)
        return True

    def _submitted(self, event: Any, position: int) -> dict[str, Any]:
        tenant = event.tenant
        applicant: Mapping[str, Any] = event.applicant
        clear = [event.reference, event.service]
        personal: list[Any] = [applicant[f] for f in APPLICANT_FIELDS if f in applicant]
        for value in data_values(event.data):
            if isinstance(value, str):
                if not _NOT_WORDS.match(value):
                    clear.append(value)
            else:
                personal.append(value)
        by_subject: dict[str, set[str]] = {}
        for value in personal:
            opened = self.open_personal(value) if isinstance(value, Sealed) else value
            # Special categories (Art. 9 DSGVO, e.g. health) are not made searchable at all.
            if isinstance(opened, PersonalData) and not opened.special_category:
                tokens = self.terms.personal_tokens(tenant, opened.reveal())
                by_subject.setdefault(opened.subject, set()).update(tokens)
        row = {
            "case_id": str(event.originator_id),
            "tenant": tenant,
            "reference": event.reference,
            "service": event.service,
            "status": status_after(event, None),
            "submitted_at": utc_text(event.at),
            "submitted_by": event.actor.id,
            "applicant_name": sealed_json(applicant.get("name")),
            "clear_terms": " ".join(self.terms.clear_terms(clear)),
            "position": position,
        }
        self.set_terms(row, {s: sorted(t) for s, t in by_subject.items()})
        return row

    def set_terms(self, row: dict[str, Any], by_subject: Mapping[str, list[str]]) -> None:
        """Store the tokens per data subject and, on PostgreSQL, the document of the row's
        terms."""
        row["subject_terms"] = json.dumps(dict(sorted(by_subject.items())))
        if self.dialect == "postgresql":
            row["document"] = " ".join(lexeme(t) for t in self.document_terms(row))

    def document_terms(self, row: Mapping[str, Any]) -> list[str]:
        """Every term of a row's document: the tokens of its clear stems and their
        beginnings, and every subject's tokens."""
        tokens = self.terms.clear_tokens(row["tenant"], row["clear_terms"].split())
        for subject_tokens in json.loads(row["subject_terms"]).values():
            tokens.update(subject_tokens)
        return sorted(tokens)

    def _rewrite_documents(
        self, tx: ViewTransaction, case_ids: list[str], rows: Mapping[str, Mapping[str, Any]]
    ) -> None:
        for start in range(0, len(case_ids), CHUNK):
            part = case_ids[start : start + CHUNK]
            marks = ", ".join("?" for _ in part)
            docs = tx.query(
                f"SELECT doc, case_id FROM {self.table} WHERE case_id IN ({marks})", part
            )
            keys = [doc for doc, _ in docs]
            tx.execute(
                f"DELETE FROM {self.text_table} WHERE rowid IN ({', '.join('?' for _ in keys)})",
                keys,
            )
            values = ", ".join("(?, ?)" for _ in docs)
            params: list[Any] = []
            for doc, case_id in docs:
                params += [doc, " ".join(self.document_terms(rows[case_id]))]
            tx.execute(f"INSERT INTO {self.text_table} (rowid, terms) VALUES {values}", params)


LIVE_TABLE = f"{CaseSearch.name}_v{CaseSearch.version}"
LIVE_TEXT_TABLE = f"{LIVE_TABLE}_text"


def data_values(value: Any, field: str = "") -> Iterator[str | Sealed | PersonalData]:
    """The searchable values of application data: clear text and personal values."""
    if field in UNSEARCHED_DATA_FIELDS:
        return
    if isinstance(value, str | Sealed | PersonalData):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from data_values(item, str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from data_values(item, field)


def secure_delete_available(tx: ViewTransaction) -> bool:
    """True if this SQLite's FTS5 can scrub deleted entries itself (3.42 and later)."""
    version = tx.query("SELECT sqlite_version()")[0][0]
    return tuple(int(p) for p in str(version).split(".")[:2]) >= (3, 42)

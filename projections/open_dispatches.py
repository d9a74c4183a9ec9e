"""Open dispatches: the sendings whose outcome a channel has still to report.

One row per document (case and number) whose latest sending is open (``Dispatch.open``): a
message accepted in the postbox and not yet retrieved, a letter in a print batch not yet
posted, a document in the portal not yet downloaded. ``DocumentSent`` inserts or replaces the
row; ``DeliveryReported`` removes it once the outcome completes or fails the sending (an
``accepted`` from the postbox leaves it open). The delivery watch
(``infrastructure/documents/delivery_watch.py``) asks the channels about these rows.

Beside it, every sending's reference is kept with its case and document, so a report that
comes back late (a letter returned after its document was sent again) is known for what it
is: stale, not a report on the sending now open. The rows hold no personal data (channel,
reference, days), so erasing a case's personal data (``PersonalDataErased``) leaves them.
The town of each case comes from its submission, kept in a third table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import singledispatchmethod
from typing import Any, ClassVar, Final
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.case import Case
from domain.case_documents import CaseDocuments
from domain.documents import Channel, Dispatch, Outcome
from projections.bulk import CHUNK, load_rows, upsert_rows
from projections.case_events import case_event_classes
from projections.projection import Applied, Projection
from projections.view_store import ViewDatabase, ViewTransaction

COLUMNS: Final = ("case_id", "tenant", "number", "channel", "reference", "sent_on")
CASE_COLUMNS: Final = ("case_id", "tenant")
REFERENCE_COLUMNS: Final = ("channel", "reference", "case_id", "number")

DOCUMENT_EVENTS: Final[tuple[type[Any], ...]] = (
    CaseDocuments.DocumentSent,
    CaseDocuments.DeliveryReported,
)

Key = tuple[str, int]  # case id, document number


@dataclass(frozen=True, slots=True)
class OpenSending:
    """A sending awaiting its outcome: the case, the document, the channel's reference."""

    case_id: UUID
    tenant: str
    number: int
    channel: Channel
    reference: str
    sent_on: date


@dataclass
class _Batch:
    """What a batch changes: the rows it touches, as the events leave them."""

    cases: dict[str, dict[str, Any]]
    rows: dict[Key, dict[str, Any] | None]  # None: the row goes
    references: list[tuple[str, str, str, int]]


class OpenDispatches(Projection):
    """Per document, its latest sending while that is open."""

    name: ClassVar[str] = "open_dispatches"
    version: ClassVar[int] = 1

    @property
    def cases_table(self) -> str:
        """The town of every case (from its submission)."""
        return f"{self.key}_cases"

    @property
    def references_table(self) -> str:
        """Every sending's channel reference with its case and document number."""
        return f"{self.key}_references"

    def tables(self) -> list[str]:
        """The open sendings, the cases' towns and the references of all sendings."""
        return [self.table, self.cases_table, self.references_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Open sendings by case and number, indexed by channel for the delivery watch."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "case_id TEXT NOT NULL, tenant TEXT NOT NULL, number INTEGER NOT NULL, "
            "channel TEXT NOT NULL, reference TEXT NOT NULL, sent_on TEXT NOT NULL, "
            "PRIMARY KEY (case_id, number))"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_channel "
            f"ON {self.table} (channel, sent_on, case_id)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} ("
            "case_id TEXT PRIMARY KEY, tenant TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.references_table} ("
            "channel TEXT NOT NULL, reference TEXT NOT NULL, case_id TEXT NOT NULL, "
            "number INTEGER NOT NULL, PRIMARY KEY (channel, reference))"
        )

    def topics(self) -> list[str]:
        """Submissions of every case type (the town), sendings and their outcomes."""
        read: tuple[type[Any], ...] = (Case.Submitted, *DOCUMENT_EVENTS)
        # The documents' events are recorded as the mixin's classes (``CaseDocuments.…``),
        # which are no case type's own: named here besides those of every case type.
        classes: list[type[Any]] = [*case_event_classes(), *DOCUMENT_EVENTS]
        return sorted({get_topic(klass) for klass in classes if issubclass(klass, read)})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched documents, then write what changed."""
        ids = sorted({str(a.event.originator_id) for a in batch})
        changes = _Batch(load_rows(tx, self.cases_table, CASE_COLUMNS, ids), {}, [])
        for key, row in self._load_rows(tx, ids).items():
            changes.rows[key] = row
        for applied in batch:
            self._fold(applied.event, changes)
        upsert_rows(tx, self.cases_table, CASE_COLUMNS, list(changes.cases.values()))
        self._write_rows(tx, changes.rows)
        if changes.references:
            tx.execute_many(
                f"INSERT INTO {self.references_table} ({', '.join(REFERENCE_COLUMNS)}) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel, reference) DO UPDATE SET "
                "case_id = excluded.case_id, number = excluded.number",
                changes.references,
            )

    # ------------------------------------------------------------------ folding

    @singledispatchmethod
    def _fold(self, event: Any, changes: _Batch) -> None:
        return  # events of no concern here (PersonalDataErased among them: no personal data)

    @_fold.register
    def _submitted(self, event: Case.Submitted, changes: _Batch) -> None:
        case_id = str(event.originator_id)
        changes.cases[case_id] = {"case_id": case_id, "tenant": event.tenant}

    @_fold.register
    def _sent(self, event: CaseDocuments.DocumentSent, changes: _Batch) -> None:
        case_id = str(event.originator_id)
        dispatch = event.dispatch
        known = changes.cases.get(case_id)
        # Every case is submitted before it sends anything; the actor's town is a fallback.
        tenant = known["tenant"] if known else event.actor.on_behalf_of or event.actor.tenant
        changes.rows[(case_id, event.number)] = {
            "case_id": case_id,
            "tenant": tenant,
            "number": event.number,
            "channel": Channel(dispatch.channel).value,
            "reference": dispatch.reference,
            "sent_on": dispatch.sent_on.isoformat(),
        }
        changes.references.append(
            (Channel(dispatch.channel).value, dispatch.reference, case_id, event.number)
        )

    @_fold.register
    def _reported(self, event: CaseDocuments.DeliveryReported, changes: _Batch) -> None:
        key = (str(event.originator_id), event.number)
        row = changes.rows.get(key)
        if row is None:
            return
        sending = Dispatch(
            channel=Channel(row["channel"]),
            sent_on=date.fromisoformat(row["sent_on"]),
            reference=row["reference"],
        ).reported(Outcome(event.outcome), event.on, None)
        if not sending.open:
            changes.rows[key] = None

    # ------------------------------------------------------------------ storage

    def _load_rows(self, tx: ViewTransaction, ids: Sequence[str]) -> dict[Key, dict[str, Any]]:
        selected = f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE case_id"
        found: list[tuple[Any, ...]] = []
        if tx.dialect == "postgresql":
            found = tx.query(f"{selected} = ANY(?)", (list(ids),)) if ids else []
        else:
            for start in range(0, len(ids), CHUNK):
                part = list(ids[start : start + CHUNK])
                found += tx.query(f"{selected} IN ({', '.join('?' for _ in part)})", part)
        return {(r[0], int(r[2])): dict(zip(COLUMNS, r, strict=True)) for r in found}

    def _write_rows(self, tx: ViewTransaction, rows: dict[Key, dict[str, Any] | None]) -> None:
        gone = [key for key, row in rows.items() if row is None]
        if gone:
            tx.execute_many(f"DELETE FROM {self.table} WHERE case_id = ? AND number = ?", gone)
        kept = [tuple(row[c] for c in COLUMNS) for row in rows.values() if row is not None]
        if kept:
            tx.execute_many(
                f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (case_id, number) DO UPDATE SET tenant = excluded.tenant, "
                "channel = excluded.channel, reference = excluded.reference, "
                "sent_on = excluded.sent_on",
                kept,
            )


# ---------------------------------------------------------------------- queries


def open_sendings(
    views: ViewDatabase, channel: Channel, view: OpenDispatches | None = None
) -> list[OpenSending]:
    """The open sendings of a channel, oldest first."""
    table = (view or OpenDispatches()).table
    rows = views.query(
        f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE channel = ? "
        "ORDER BY sent_on, case_id, number",
        (channel.value,),
    )
    return [
        OpenSending(
            case_id=UUID(r[0]),
            tenant=r[1],
            number=int(r[2]),
            channel=Channel(r[3]),
            reference=r[4],
            sent_on=date.fromisoformat(r[5]),
        )
        for r in rows
    ]


def sending_with(
    views: ViewDatabase, channel: Channel, reference: str, view: OpenDispatches | None = None
) -> tuple[UUID, int, bool] | None:
    """The case and document a channel's reference was sent for, and whether that sending
    is the document's open one; None for a reference the view has not seen (yet)."""
    projection = view or OpenDispatches()
    rows = views.query(
        f"SELECT r.case_id, r.number, o.reference FROM {projection.references_table} r "
        f"LEFT JOIN {projection.table} o ON o.case_id = r.case_id AND o.number = r.number "
        "AND o.channel = r.channel WHERE r.channel = ? AND r.reference = ?",
        (channel.value, reference),
    )
    if not rows:
        return None
    case_id, number, open_reference = rows[0]
    return UUID(case_id), int(number), open_reference == reference

"""The hash chain over the log: one link per stored record, in log order (decision 35).

Each row holds a record's position, its originator and version, and its link: SHA-256 over
the previous link and the record exactly as stored (``persistence/chain.py``). A batch
continues from the last row's link (``GENESIS`` before the first record) and appends its
rows in one set-based insert; nothing is decoded, so personal data stays encrypted and a
crypto-shredded case keeps its links. The view is never rebuilt: recomputing it from the
records as they are now would launder any tampering (``vorgang audit verify`` checks it).

``after_batch`` (set by the wiring) runs in the batch's transaction with the new head: it
signs a checkpoint when enough records were chained since the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from persistence.chain import GENESIS, StoredRecord, link_of
from projections.bulk import insert_rows
from projections.projection import RecordProjection
from projections.view_store import ViewTransaction

COLUMNS = ("position", "originator_id", "originator_version", "link")

AfterBatch = Callable[[ViewTransaction, int, bytes], None]  # (tx, head position, head link)


class IntegrityChain(RecordProjection):
    """``integrity_chain_v1``: position, originator id, originator version, link (hex)."""

    name: ClassVar[str] = "integrity_chain"
    version: ClassVar[int] = 1

    def __init__(self, after_batch: AfterBatch | None = None) -> None:
        self.after_batch = after_batch

    def create_tables(self, tx: ViewTransaction) -> None:
        """The chain's one table, keyed by log position."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (position BIGINT PRIMARY KEY, "
            "originator_id TEXT NOT NULL, originator_version BIGINT NOT NULL, "
            "link TEXT NOT NULL)"
        )

    def apply_records(self, tx: ViewTransaction, records: Sequence[StoredRecord]) -> None:
        """Chain the records after the last link: one read, one insert."""
        if not records:
            return
        last = tx.query(f"SELECT link FROM {self.table} ORDER BY position DESC LIMIT 1")
        previous = bytes.fromhex(str(last[0][0])) if last else GENESIS
        rows = []
        for record in records:
            previous = link_of(previous, record)
            rows.append(
                (
                    record.position,
                    str(record.originator_id),
                    record.originator_version,
                    previous.hex(),
                )
            )
        insert_rows(tx, self.table, COLUMNS, rows)
        if self.after_batch is not None:
            self.after_batch(tx, records[-1].position, previous)

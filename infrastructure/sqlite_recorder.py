"""The SQLite event recorder that writes a save's new personal-data key rows with its events.

A new case's data keys are made while its events are encoded; the key store holds them back
(``PersonalDataKeys.write_new_keys_with_events``) and this recorder inserts them in the
transaction that inserts the events: a case's events and the keys that open them are
committed together or not at all, in one write transaction instead of two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from infrastructure.privacy.key_store import TABLE, NewKeyRow, WritesKeyRows

INSERT_KEY = (
    f"INSERT INTO {TABLE} (key_id, case_id, subject, kek_id, wrapped_key, created_at) "  # noqa: S608 (our own table name)
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class SQLiteRecorderWithKeys(WritesKeyRows, SQLiteApplicationRecorder):
    """Inserts events, and the key rows made while encoding them, in one transaction."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events and this thread's new key rows, committed together."""
        if not stored_events:  # nothing is written: rows (if any) stay unwritten, uncached
            return super().insert_events(stored_events, **kwargs)

        def write(rows: list[NewKeyRow]) -> Sequence[int] | None:
            with self.datastore.transaction(commit=True) as cursor:
                ids = self._insert_events(cursor, stored_events, **kwargs)
                if rows:
                    cursor.executemany(
                        INSERT_KEY,
                        [
                            (
                                r.key_id,
                                r.case_hex,
                                r.subject,
                                r.kek_id,
                                r.wrapped_key,
                                r.created_at.isoformat(),
                            )
                            for r in rows
                        ],
                    )
            return ids

        return self.with_new_key_rows(write)

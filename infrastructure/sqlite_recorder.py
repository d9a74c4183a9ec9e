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

from infrastructure.privacy.key_store import TABLE, NewKeyRow, PersonalDataKeys

INSERT_KEY = (
    f"INSERT INTO {TABLE} (key_id, case_id, subject, kek_id, wrapped_key, created_at) "  # noqa: S608 (our own table name)
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class SQLiteRecorderWithKeys(SQLiteApplicationRecorder):
    """Inserts events, and the key rows made while encoding them, in one transaction."""

    keys: PersonalDataKeys | None = None

    def write_keys_of(self, keys: PersonalDataKeys) -> None:
        """Take new key rows from this key store from now on."""
        self.keys = keys
        keys.write_new_keys_with_events()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events and this thread's new key rows, committed together."""
        if not stored_events:  # nothing is written: rows (if any) stay unwritten, uncached
            return super().insert_events(stored_events, **kwargs)
        rows: list[NewKeyRow] = self.keys.take_new_rows() if self.keys is not None else []
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
        if rows and self.keys is not None:
            self.keys.written(rows)
        return ids

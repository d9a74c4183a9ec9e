"""The PostgreSQL save function that also writes the save's new personal-data key rows.

A new case's data keys are made while its events are encoded; the key store holds them back
(``PersonalDataKeys.write_new_keys_with_events``) and this recorder passes them to its save
function as arrays, which inserts them under the events table's lock, before the events, in
the same transaction and the same round trip: a case's events and the keys that open them
are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composable, Identifier

from infrastructure.postgres_recorder import PostgresOneRoundTripRecorder
from infrastructure.privacy.key_store import TABLE, NewKeyRow, WritesKeyRows

KEY_COLUMNS = (
    ("key_id", "text[]"),
    ("case_id", "text[]"),
    ("subject", "text[]"),
    ("kek_id", "text[]"),
    ("wrapped_key", "bytea[]"),
    ("created_at", "timestamptz[]"),
)


class PostgresRecorderWithKeys(WritesKeyRows, PostgresOneRoundTripRecorder):
    """One round trip: lock, notify, insert the new key rows and the events."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # A function of its own (another signature): stores opened without keys keep theirs.
        self.save_function_name = f"{events_table_name}_save_keys_v{self.FUNCTION_VERSION}"
        self.check_identifier_length(self.save_function_name)

    def _save_parameters(self) -> list[tuple[str, Composable]]:
        return [(f"new_{name}s", SQL(kind)) for name, kind in KEY_COLUMNS]

    def _save_statements(self) -> list[Composable]:
        columns = SQL(", ").join(Identifier(name) for name, _kind in KEY_COLUMNS)
        arrays = SQL(", ").join(Identifier(f"new_{name}s") for name, _kind in KEY_COLUMNS)
        return [
            SQL("INSERT INTO {schema}.{table} ({columns}) SELECT * FROM unnest({arrays});").format(
                schema=Identifier(self.datastore.schema),
                table=Identifier(TABLE),
                columns=columns,
                arrays=arrays,
            )
        ]

    def _save_arguments(self, **kwargs: Any) -> list[Any]:
        rows: Sequence[NewKeyRow] = kwargs.get("new_key_rows", ())
        return [
            [r.key_id for r in rows],
            [r.case_hex for r in rows],
            [r.subject for r in rows],
            [r.kek_id for r in rows],
            [r.wrapped_key for r in rows],
            [r.created_at for r in rows],
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events and this thread's new key rows, committed together."""
        if not stored_events:  # nothing is written: rows (if any) stay unwritten, uncached
            return super().insert_events(stored_events, **kwargs)
        return self.with_new_key_rows(
            lambda rows: super(PostgresRecorderWithKeys, self).insert_events(
                stored_events, new_key_rows=rows, **kwargs
            )
        )

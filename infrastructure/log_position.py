"""Where an aggregate's event stands in the one notification log (its log position).

Integrators and projections use the position to wait until a read model has caught up
with a change. The library has no query for it, so this reads the recorder's own table:
SQLite numbers notifications by ``rowid``, PostgreSQL by ``notification_id``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from application.store import VorgangStore


class LogPositions:
    """Finds the log position of an aggregate's event at a version."""

    def __init__(self, store: VorgangStore) -> None:
        self._recorder: Any = store.recorder

    # Retried like the recorder's reads: a pooled connection the server ended while idle
    # fails its first statement (no ping per checkout, docs/architecture.md decision 4).
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def of(self, aggregate_id: UUID, version: int) -> int | None:
        """The position of that event, or None if there is no such event."""
        recorder = self._recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            statement = (
                f"SELECT rowid FROM {recorder.events_table_name} "  # noqa: S608 - library's name
                "WHERE originator_id = ? AND originator_version = ?"
            )
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (aggregate_id.hex, version))  # stored as hex
                row = cursor.fetchone()
            return int(row[0]) if row else None
        if isinstance(recorder, PostgresApplicationRecorder):
            query = SQL(
                "SELECT notification_id FROM {schema}.{table} "
                "WHERE originator_id = %s AND originator_version = %s"
            ).format(
                schema=Identifier(recorder.datastore.schema),
                table=Identifier(recorder.events_table_name),
            )
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(query, (aggregate_id, version))
                found = cursor.fetchone()
            return int(found["notification_id"]) if found else None
        return None

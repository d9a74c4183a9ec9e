"""Two questions the event store answers in one statement each, beside its recorder.

- **Which of these aggregates exist?** A submission with an Idempotency-Key derives the
  case id its key gives for every case type (docs/architecture.md, decision 8) and asks
  once, instead of loading each candidate.
- **The next reference number of a town and year** (decision 18), without a counter
  aggregate that every submission of the town would load, change and save:
  on PostgreSQL a sequence per town and year (``nextval`` outside the saving transaction:
  never blocks, strictly increasing across all processes); on SQLite a row per town and
  year, counted up in a short write transaction of its own (SQLite writes one at a time
  anyway, so the numbers increase across all processes too).

A number is taken before the case is saved and is never given back: a submission that then
fails (the database goes away, a concurrent retry with the same Idempotency-Key saved
first) leaves a gap, and a PostgreSQL crash may skip up to 32 numbers (sequences log ahead).
Gaps are allowed; a number is never issued twice.

A town and year that still has numbers from the earlier ``ReferenceCounter`` aggregate
continues after its last number: ``seed`` tells the first allocation where that counter
stopped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, InterfaceError, OperationalError
from eventsourcing.utils import retry

# Retried like the recorder's reads: a pooled connection the server ended while idle fails
# its first statement (no ping per checkout, docs/architecture.md decision 4).
RETRIED = retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)

Seed = Callable[[], int]  # the last number issued before this table or sequence existed


class StoreIndex(Protocol):
    """Existence of aggregates and reference numbers, answered by the store's database."""

    def stored_ids(self, ids: Collection[UUID]) -> set[UUID]:
        """Those of ``ids`` that name a stored aggregate."""

    def next_reference_number(self, tenant: str, year: int, seed: Seed) -> int:
        """A number of this town and year never issued before (above ``seed()`` at first)."""


def store_index_for(recorder: ApplicationRecorder) -> StoreIndex:
    """The index for the recorder's database (PostgreSQL or SQLite)."""
    # Imported here: each dialect's driver module only when it is the one in use.
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresIndex(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SqliteIndex(recorder)
    raise TypeError(f"no store index for {type(recorder).__name__}")


class PostgresIndex:
    """A sequence per town and year; existence by the events' primary key."""

    def __init__(self, recorder: Any) -> None:
        from psycopg import sql

        self._datastore = recorder.datastore
        self._schema: str = recorder.datastore.schema or "public"
        self._sql = sql
        self._stored_ids = sql.SQL(
            "SELECT originator_id FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) AND originator_version = 1"
        ).format(
            schema=sql.Identifier(self._schema),
            table=sql.Identifier(recorder.events_table_name),
        )
        self._known: set[str] = set()  # sequences this process has seen exist
        self._lock = threading.Lock()

    @RETRIED
    def stored_ids(self, ids: Collection[UUID]) -> set[UUID]:
        """One indexed lookup for all candidates."""
        if not ids:
            return set()
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._stored_ids, (list(ids),), prepare=True)
            return {UUID(str(row["originator_id"])) for row in curs.fetchall()}

    @RETRIED
    def next_reference_number(self, tenant: str, year: int, seed: Seed) -> int:
        """``nextval`` of the town's sequence for the year (created at the first number).

        A sequence is created only where none exists yet. One that this process used and
        that is gone now was dropped behind its back: that is an error, not a reason to
        count again from the seed (which would issue numbers twice).
        """
        name = f"vorgang_reference_{tenant}_{year}"
        regclass = ".".join('"' + part.replace('"', '""') + '"' for part in (self._schema, name))
        if name not in self._known:
            self._create(name, regclass, seed)
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT nextval(%s::regclass) AS n", (regclass,), prepare=True)
            row = curs.fetchone()
            assert row is not None
            return int(row["n"])

    def _create(self, name: str, regclass: str, seed: Seed) -> None:
        from psycopg import errors  # raised as is inside the block (translated outside it)

        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT to_regclass(%s) AS found", (regclass,))
            row = curs.fetchone()
            exists = row is not None and row["found"] is not None
        if not exists:
            start = seed() + 1  # with no connection held: it may read and save in the store
            statement = self._sql.SQL("CREATE SEQUENCE IF NOT EXISTS {} START WITH {}")
            # Another process creating it at the same moment: use theirs.
            with (
                self._datastore.get_connection() as conn,
                conn.cursor() as curs,
                contextlib.suppress(errors.UniqueViolation, errors.DuplicateTable),
            ):
                curs.execute(
                    statement.format(
                        self._sql.Identifier(self._schema, name), self._sql.Literal(start)
                    )
                )
        with self._lock:
            self._known.add(name)


class SqliteIndex:
    """A row per town and year in the events' database file."""

    def __init__(self, recorder: Any) -> None:
        self._datastore = recorder.datastore
        self._table = recorder.events_table_name
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "CREATE TABLE IF NOT EXISTS vorgang_reference_numbers ("
                "tenant TEXT NOT NULL, year INTEGER NOT NULL, last_number INTEGER NOT NULL, "
                "PRIMARY KEY (tenant, year))"
            )

    def stored_ids(self, ids: Collection[UUID]) -> set[UUID]:
        """One indexed lookup for all candidates."""
        if not ids:
            return set()
        wanted = [i.hex for i in ids]
        marks = ",".join("?" * len(wanted))
        with self._datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT originator_id FROM {self._table} "  # noqa: S608 (our own table name)
                f"WHERE originator_version = 1 AND originator_id IN ({marks})",
                wanted,
            )
            return {UUID(row["originator_id"]) for row in curs.fetchall()}

    def next_reference_number(self, tenant: str, year: int, seed: Seed) -> int:
        """Count the town's row for the year up in a write transaction of its own."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE vorgang_reference_numbers SET last_number = last_number + 1 "
                "WHERE tenant = ? AND year = ? RETURNING last_number",
                (tenant, year),
            )
            row = curs.fetchone()
            if row is not None:
                return int(row["last_number"])
        first = seed() + 1  # outside the write lock: it may read the store
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO vorgang_reference_numbers (tenant, year, last_number) "
                "VALUES (?, ?, ?) ON CONFLICT (tenant, year) "
                "DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
                (tenant, year, first),
            )
            row = curs.fetchone()
            assert row is not None
            return int(row["last_number"])

"""Saving on PostgreSQL in one round trip, with the log order of the stock insert path.

docs/architecture.md, decision 4. The library's stock ``PostgresApplicationRecorder`` saves
in a transaction of several statements (lock the events table, NOTIFY, INSERT, COMMIT), and
its optional database function saves in one statement but without the table lock, so ids
could commit out of order there. ``PostgresOneRoundTripRecorder`` creates a function of its
own that does all of it: it takes the same ``EXCLUSIVE`` lock on the events table (with the
configured lock timeout), NOTIFYs the recorder's channel and inserts the save's events,
returning their notification ids. A save is one prepared ``SELECT`` on an autocommit
connection: one round trip, one transaction, and commit order is still log order, so a
reader following the log never passes an id that a late commit fills afterwards.

Group commit: saves of this process that arrive while one is being written queue and go
together in the next call (``infrastructure/group_commit.py``), of a second function that
writes each save in a block of its own (a savepoint): one transaction and one commit for
all, while a save that breaks a constraint (a duplicate version) fails alone with an
``IntegrityError`` and the others are written. A lone save is the single call above.

A later change can write rows of another table in the same transaction (the same round
trip) by overriding ``_save_parameters``, ``_save_statements`` and ``_save_arguments``;
``Application.save(*objs, **kwargs)`` hands its keyword arguments through to
``insert_events``.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection, Cursor
from psycopg.errors import DuplicateObject, DuplicateTable
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from infrastructure.group_commit import GroupCommit, PendingSave

# The library retries its own inserts this often and this long apart; so do we.
ATTEMPTS = 10
WAIT_SECONDS = 0.2


def _created_meanwhile(error: Exception) -> bool:
    """Whether creating a type failed because another process created it at that moment."""
    if isinstance(error, IntegrityError):
        return True
    return isinstance(error.__cause__, DuplicateTable | DuplicateObject)


class ConnectionLost(OperationalError):
    """The connection of a save broke: the server ended it, before or after the commit."""


class PostgresOneRoundTripRecorder(PostgresApplicationRecorder):
    """Saves events by one call of a function that locks the table, notifies and inserts."""

    # Part of the function's name: a changed body gets a new name, so processes of an older
    # release that are still running keep calling the body they were built for.
    FUNCTION_VERSION = 1

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.save_function_name = f"{events_table_name}_save_v{self.FUNCTION_VERSION}"
        self.save_batch_function_name = f"{events_table_name}_save_batch_v{self.FUNCTION_VERSION}"
        self.check_identifier_length(self.save_batch_function_name)
        self._group = GroupCommit(self._write_batch)

    # ------------------------------------------------------------- extension points

    def _save_parameters(self) -> list[tuple[str, Composable]]:
        """Parameters of the save function after ``events``: (name, SQL array type) each.

        Override (with ``_save_statements`` and ``_save_arguments``) to write rows of
        another table in the same transaction as the events, e.g. an array of a
        composite type this recorder also creates (append its ``CREATE TYPE`` to
        ``sql_create_statements`` and its name to ``datastore.db_type_names``). Each is
        an array: a batch of saves passes all saves' rows in one and hands every save
        its own slice under the parameter's name.
        """
        return []

    def _save_statements(self) -> list[Composable]:
        """PL/pgSQL statements run after the lock and before the events are inserted.

        They refer to the parameters of ``_save_parameters`` by name. An error in them
        (a unique violation is an ``IntegrityError``) undoes the whole save.
        """
        return []

    def _save_arguments(self, **kwargs: Any) -> list[Any]:
        """Values of the ``_save_parameters``, from the keyword arguments of the save.

        ``kwargs`` are those ``Application.save`` was called with, plus the library's own
        (``tracking``, None for an ``Application``). One list (of this save's rows, maybe
        empty) per parameter. Called once per save that has events (a save without events
        makes no call), before the first attempt.
        """
        return []

    # ------------------------------------------------------------- the function

    @property
    def _schema(self) -> Identifier:
        return Identifier(self.datastore.schema)

    def _create_save_function_statement(self) -> Composed:
        parameters = [
            SQL("events {schema}.{type}[]").format(
                schema=self._schema, type=Identifier(self.stored_event_type_name)
            ),
            *(
                SQL("{} {}").format(Identifier(name), kind)
                for name, kind in self._save_parameters()
            ),
        ]
        body = [
            SQL("LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;").format(
                schema=self._schema, table=Identifier(self.events_table_name)
            ),
            SQL("NOTIFY {channel};").format(channel=Identifier(self.channel_name)),
            *self._save_statements(),
            SQL(
                "RETURN QUERY INSERT INTO {schema}.{table} "
                "(originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "RETURNING notification_id;"
            ).format(schema=self._schema, table=Identifier(self.events_table_name)),
        ]
        # The lock comes first, before the sequence hands out any id, and is held until
        # the commit: one saving transaction at a time takes ids and commits, in id order.
        return SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}({parameters}) "
            "RETURNS SETOF bigint LANGUAGE plpgsql "
            "SET lock_timeout = {lock_timeout} "
            "AS $save$ BEGIN {body} END; $save$"
        ).format(
            schema=self._schema,
            function=Identifier(self.save_function_name),
            parameters=SQL(", ").join(parameters),
            lock_timeout=Literal(f"{self.datastore.lock_timeout}s"),
            body=SQL(" ").join(body),
        )

    @cached_property
    def _save_statement(self) -> str:
        # Rendered once: composing the identifiers again on every save costs CPU.
        return self._compose_save_statement().as_string(None)

    def _compose_save_statement(self) -> Composed:
        arguments = [
            SQL("%b::{schema}.{type}[]").format(
                schema=self._schema, type=Identifier(self.stored_event_type_name)
            ),
            *(SQL("%s::{}").format(kind) for _name, kind in self._save_parameters()),
        ]
        return SQL(
            "SELECT notification_id FROM {schema}.{function}({arguments}) AS notification_id"
        ).format(
            schema=self._schema,
            function=Identifier(self.save_function_name),
            arguments=SQL(", ").join(arguments),
        )

    def _create_save_batch_function_statement(self) -> Composed:
        """Several saves in one transaction, each in a block of its own (a savepoint).

        A save that breaks a constraint (a duplicate version) is rolled back alone and
        answered with its error; the others are written. The events of all saves are one
        array, cut by ``sizes``; so is each extension parameter, by ``sizes_<name>``.
        """
        extra = self._save_parameters()
        parameters = [
            SQL("events {schema}.{type}[], sizes int[]").format(
                schema=self._schema, type=Identifier(self.stored_event_type_name)
            ),
            *(
                SQL("{all} {kind}, {sizes} int[]").format(
                    all=Identifier(f"all_{name}"), kind=kind, sizes=Identifier(f"sizes_{name}")
                )
                for name, kind in extra
            ),
        ]
        offsets = [
            SQL("first int := 1;"),
            *(SQL("{} int := 1;").format(Identifier(f"first_{name}")) for name, _kind in extra),
        ]
        slices = [
            SQL("{name} {kind} := {all}[{first} : {first} + {sizes}[save] - 1];").format(
                name=Identifier(name),
                kind=kind,
                all=Identifier(f"all_{name}"),
                first=Identifier(f"first_{name}"),
                sizes=Identifier(f"sizes_{name}"),
            )
            for name, kind in extra
        ]
        advance = [
            SQL("first := first + sizes[save];"),
            *(
                SQL("{first} := {first} + {sizes}[save];").format(
                    first=Identifier(f"first_{name}"), sizes=Identifier(f"sizes_{name}")
                )
                for name, _kind in extra
            ),
        ]
        body = SQL(
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "FOR save IN 1 .. coalesce(array_length(sizes, 1), 0) LOOP "
            "  DECLARE {slices} BEGIN "
            "    {statements} "
            "    WITH inserted AS ("
            "      INSERT INTO {schema}.{table} "
            "      (originator_id, originator_version, topic, state) "
            "      SELECT originator_id, originator_version, topic, state "
            "      FROM unnest(events[first : first + sizes[save] - 1]) "
            "      RETURNING notification_id) "
            "    SELECT array_agg(notification_id ORDER BY notification_id) INTO ids "
            "    FROM inserted; "
            "    error := NULL; "
            "    RETURN NEXT; "
            "  EXCEPTION WHEN integrity_constraint_violation THEN "
            "    ids := NULL; "
            "    error := SQLERRM; "
            "    RETURN NEXT; "
            "  END; "
            "  {advance} "
            "END LOOP;"
        ).format(
            schema=self._schema,
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
            slices=SQL(" ").join(slices),
            statements=SQL(" ").join(self._save_statements()),
            advance=SQL(" ").join(advance),
        )
        return SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}({parameters}) "
            "RETURNS TABLE (ids bigint[], error text) LANGUAGE plpgsql "
            "SET lock_timeout = {lock_timeout} "
            "AS $save$ DECLARE save int; {offsets} BEGIN {body} END; $save$"
        ).format(
            schema=self._schema,
            function=Identifier(self.save_batch_function_name),
            parameters=SQL(", ").join(parameters),
            lock_timeout=Literal(f"{self.datastore.lock_timeout}s"),
            offsets=SQL(" ").join(offsets),
            body=body,
        )

    @cached_property
    def _save_batch_statement(self) -> str:
        arguments = [
            SQL("%b::{schema}.{type}[], %s::int[]").format(
                schema=self._schema, type=Identifier(self.stored_event_type_name)
            ),
            *(SQL("%s::{}, %s::int[]").format(kind) for _name, kind in self._save_parameters()),
        ]
        return (
            SQL("SELECT ids, error FROM {schema}.{function}({arguments})")
            .format(
                schema=self._schema,
                function=Identifier(self.save_batch_function_name),
                arguments=SQL(", ").join(arguments),
            )
            .as_string(None)
        )

    def create_table(self) -> None:
        """Create the tables, types and the save function (again: it is replaced)."""
        for attempt in range(1, 4):
            try:
                super().create_table()
            except (IntegrityError, ProgrammingError) as error:
                # Another process created one of the library's types at the same moment
                # (its own transaction, outside the lock below): the catalogue's unique
                # index, or the type's relation, says so; the next attempt finds it.
                if attempt == 3 or not _created_meanwhile(error):
                    raise
            else:
                return

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # Several processes may start at once: one at a time creates the tables and
        # replaces the function (concurrent CREATE OR REPLACE of one function can fail).
        key = zlib.crc32(f"{self.datastore.schema}.{self.events_table_name}".encode())
        curs.execute("SELECT pg_advisory_xact_lock(%s, %s)", (0x766F7267, key - (1 << 31)))
        super()._create_table(curs)
        curs.execute(self._create_save_function_statement(), prepare=False)
        curs.execute(self._create_save_batch_function_statement(), prepare=False)

    # ------------------------------------------------------------- saving

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Store the events (and what the extension points add) in one call; their ids.

        A duplicate (originator_id, originator_version) raises ``IntegrityError`` and
        stores nothing of this save. A lost connection or a lock timeout
        (``OperationalError``, ``InterfaceError``) is retried as the library retries its
        inserts; if a retry then meets these very events already stored (the earlier
        attempt committed, but its answer was lost), their ids are returned instead of
        an ``IntegrityError``, so a save is never reported as a conflict with itself.
        """
        if not stored_events:
            return None  # nothing to save: no call, and no rows of the extension points
        extra = self._save_arguments(**kwargs)
        attempt = 1
        while True:
            try:
                try:
                    return self._call_save_function(stored_events, extra)
                except IntegrityError:
                    stored = self._ids_if_stored(stored_events) if attempt > 1 else None
                    if stored is None:
                        raise
                    return stored
            except ConnectionLost:
                if attempt >= ATTEMPTS:
                    raise
                attempt += 1
                # The server ended it (a restart, an administrator): others idle in the
                # pool are likely gone too. Replace those at once and try again now; if
                # that breaks again the server may be restarting: pause as for the others.
                if attempt > 2:
                    time.sleep(WAIT_SECONDS * (1 + 0.1 * (random.random() - 0.5)))  # noqa: S311
                self.datastore.pool.check()
            except (InterfaceError, OperationalError):
                if attempt >= ATTEMPTS:
                    raise
                attempt += 1
                time.sleep(WAIT_SECONDS * (1 + 0.1 * (random.random() - 0.5)))  # noqa: S311

    def saves_waiting(self) -> int:
        """Saves of this process queued for the next batch (group commit)."""
        return self._group.queued()

    def _call_save_function(
        self, stored_events: Sequence[StoredEvent], extra: list[Any]
    ) -> list[int]:
        # Saves of other threads that arrive meanwhile go together in the next batch.
        return self._group.save((stored_events, extra))

    def _write_batch(self, batch: Sequence[PendingSave]) -> None:
        """Write the saves of a batch: alone by the save function, several by the batch one."""
        if len(batch) == 1:
            (pending,) = batch
            events, extra = pending.args
            try:
                pending.done(self._write_one(events, extra))
            except Exception as error:  # this save's own outcome
                pending.failed(error)
            return
        events = [e for pending in batch for e in pending.args[0]]
        arguments: list[Any] = [
            [self._pg_stored_event(e) for e in events],
            [len(pending.args[0]) for pending in batch],
        ]
        for index in range(len(self._save_parameters())):
            rows = [list(pending.args[1][index]) for pending in batch]
            arguments += [[row for part in rows for row in part], [len(part) for part in rows]]
        try:
            with self._connection() as curs:
                curs.execute(self._save_batch_statement, arguments, prepare=True)
                answers = curs.fetchall()
        except (InterfaceError, OperationalError):
            raise  # the connection or the lock: every save of the batch tries again
        except Exception:
            # Only a constraint violation is kept to its own save inside the batch; anything
            # else (a value the server refuses, one psycopg cannot send) undid the whole
            # call, so nothing of it is stored: each save now gets an outcome of its own.
            for pending in batch:
                events, extra = pending.args
                try:
                    pending.done(self._write_one(events, extra))
                except Exception as error:
                    pending.failed(error)
            return
        if len(answers) != len(batch):
            msg = f"wrote a batch of {len(batch)} saves but got {len(answers)} answers"
            raise ProgrammingError(msg)
        for pending, answer in zip(batch, answers, strict=True):
            if answer["error"] is not None:
                pending.failed(IntegrityError(answer["error"]))
            else:
                pending.done(self._checked_ids(answer["ids"], len(pending.args[0])))

    def _write_one(self, stored_events: Sequence[StoredEvent], extra: list[Any]) -> list[int]:
        events = [self._pg_stored_event(e) for e in stored_events]
        with self._connection() as curs:
            curs.execute(self._save_statement, (events, *extra), prepare=True)
            ids = [row["notification_id"] for row in curs.fetchall()]
        return self._checked_ids(ids, len(stored_events))

    @staticmethod
    def _checked_ids(ids: list[int] | None, count: int) -> list[int]:
        if ids is None or len(ids) != count:
            msg = f"saved {count} events but got {len(ids or [])} notification ids"
            raise ProgrammingError(msg)
        return ids

    def _pg_stored_event(self, event: StoredEvent) -> Any:
        return self.construct_pg_stored_event(
            event.originator_id, event.originator_version, event.topic, event.state
        )

    @contextmanager
    def _connection(self) -> Iterator[Cursor[DictRow]]:
        """A cursor on a pooled connection; a broken connection is ``ConnectionLost``."""
        used: list[Connection[Any]] = []
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                used.append(conn)
                yield curs
        except (InterfaceError, OperationalError) as error:
            if used and used[0].broken:
                raise ConnectionLost(str(error)) from error
            raise

    def _ids_if_stored(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The notification ids of exactly these events if all are stored, else None."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {schema}.{table} WHERE (originator_id, originator_version) IN "
            "(SELECT * FROM unnest(%s::{id_type}[], %s::bigint[]))"
        ).format(
            schema=self._schema,
            table=Identifier(self.events_table_name),
            id_type=Identifier(self.datastore.originator_id_type),
        )
        keys = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, keys)
            rows = {
                (str(row["originator_id"]), row["originator_version"]): row
                for row in curs.fetchall()
            }
        ids = []
        for event in stored_events:
            row = rows.get((str(event.originator_id), event.originator_version))
            if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                return None
            ids.append(int(row["notification_id"]))
        return ids

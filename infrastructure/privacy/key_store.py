"""Data keys per (case, data subject), wrapped by the KEK, in a table of their own.

A destroyed key keeps its row as a tombstone (``wrapped_key`` NULL, ``destroyed_at`` set),
so decoding can tell "erased" (show ``[gelöscht]``) from "missing" (an error). After a key
is destroyed the freed bytes are scrubbed from the database files: SQLite runs with
``secure_delete`` and truncates its write-ahead log; PostgreSQL rewrites the key table
(``VACUUM FULL``), so the old row versions leave the table's files.

Keys are cached in-process for ``cache_seconds``. Erasure clears this process's cache at
once; another process forgets a destroyed key within ``cache_seconds``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from infrastructure.database import DatabaseTarget
from infrastructure.privacy.key_encryption import KEY_BYTES, KeyRing, WrappedKey
from persistence.new_aggregates import current_save, is_being_created

TABLE = "vorgang_personal_data_keys"
CACHE_ENTRIES = 50_000


class UnknownDataKey(LookupError):
    """A ciphertext names a key that was never stored: the key table is incomplete."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"personal data key {key_id} is missing from {TABLE} (restored without its keys?)"
        )


@dataclass(frozen=True, slots=True)
class NewKeyRow:
    """A key row made during a save, for the event recorder to write with the save's events."""

    key_id: str
    case_hex: str
    subject: str
    kek_id: str
    wrapped_key: bytes
    created_at: datetime
    key: bytes  # the plain key, for the caches once the row is written; never stored
    save: int = 0  # the save (in its thread) it was made for: rows of no other save


@dataclass(frozen=True, slots=True)
class DataKey:
    """A data key ready to use."""

    key_id: str
    key: bytes


class _TtlCache:
    """A small LRU cache whose entries expire."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if self._seconds <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self._seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class PersonalDataKeys(ABC):
    """Creates, finds and destroys data keys; the SQL dialect is left to subclasses."""

    def __init__(self, ring: KeyRing, *, cache_seconds: float = 30.0) -> None:
        self.ring = ring
        self._for_writing = _TtlCache(cache_seconds)
        self._for_reading = _TtlCache(cache_seconds)
        # Set when the event recorder writes new key rows in the same transaction as the
        # events that use them: new keys then wait here, per thread, until it takes them.
        self._deferred = False
        self._new_rows = threading.local()

    def write_new_keys_with_events(self) -> None:
        """From now on the event recorder writes new key rows (``take_new_rows``)."""
        self._deferred = True

    def take_new_rows(self) -> list[NewKeyRow]:
        """The key rows this thread made for the save running now (the recorder writes them).

        Rows left from an earlier save that failed before its events reached the recorder
        are dropped: their keys were never used by anything stored.
        """
        pending: dict[tuple[UUID, str], NewKeyRow] = getattr(self._new_rows, "rows", {})
        self._new_rows.rows = {}
        save = current_save()
        return [row for row in pending.values() if row.save == save]

    def written(self, rows: Collection[NewKeyRow]) -> None:
        """The recorder committed these rows: their keys may be cached now."""
        for row in rows:
            self._for_writing.put((UUID(row.case_hex), row.subject), DataKey(row.key_id, row.key))
            self._for_reading.put(row.key_id, row.key)

    # ------------------------------------------------------------------ use

    def key_for_writing(self, case_id: UUID, subject: str) -> DataKey:
        """The live key of (case, subject), created on first use."""
        cached = self._for_writing.get((case_id, subject))
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        pending: dict[tuple[UUID, str], NewKeyRow] | None = getattr(self._new_rows, "rows", None)
        save = current_save()
        if pending and any(row.save != save for row in pending.values()):
            pending = self._new_rows.rows = {  # an earlier save's leftovers: never stored
                k: row for k, row in pending.items() if row.save == save
            }
        if pending and (case_id, subject) in pending:  # made earlier in this save
            made = pending[(case_id, subject)]
            return DataKey(made.key_id, made.key)
        # A case this save creates has no key yet (rows are written with their events only).
        row = (
            None
            if self._deferred and is_being_created(case_id)
            else self._select_live(case_id.hex, subject)
        )
        if row is not None:
            key_id, kek, blob = row
            data_key = DataKey(key_id, self.ring.unwrap(WrappedKey(kek, blob), key_id=key_id))
        else:
            key_id = uuid.uuid4().hex
            data_key = DataKey(key_id, os.urandom(KEY_BYTES))
            wrapped = self.ring.wrap(data_key.key, key_id=key_id)
            at = datetime.now(UTC)
            if self._deferred:
                # Cached only once written: a save that fails must not leave a key in the
                # cache whose row was never stored.
                if pending is None:
                    pending = self._new_rows.rows = {}
                pending[(case_id, subject)] = NewKeyRow(
                    key_id,
                    case_id.hex,
                    subject,
                    wrapped.kek_id,
                    wrapped.blob,
                    at,
                    data_key.key,
                    save,
                )
                return data_key
            self._insert(key_id, case_id.hex, subject, wrapped, at)
        self._for_writing.put((case_id, subject), data_key)
        self._for_reading.put(data_key.key_id, data_key.key)
        return data_key

    def key_for_reading(self, key_id: str) -> bytes | None:
        """The key, or None once it was destroyed (the value is erased)."""
        cached = self._for_reading.get(key_id)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        pending: dict[tuple[UUID, str], NewKeyRow] = getattr(self._new_rows, "rows", {})
        for made in pending.values():  # made in this thread, not written yet
            if made.key_id == key_id:
                return made.key
        row = self._select(key_id)
        if row is None:
            raise UnknownDataKey(key_id)
        kek, blob = row
        if blob is None:
            return None
        key = self.ring.unwrap(WrappedKey(kek, blob), key_id=key_id)
        self._for_reading.put(key_id, key)
        return key

    def destroy(self, case_id: UUID, subjects: Collection[str] | None = None) -> list[str]:
        """Destroy the keys of these subjects (all subjects if None); return their ids."""
        self._for_writing.clear()
        self._for_reading.clear()
        chosen = list(subjects) if subjects is not None else self.subjects_of(case_id)
        destroyed = self._destroy(case_id.hex, chosen, datetime.now(UTC)) if chosen else []
        if destroyed:
            self._scrub()
        self._for_writing.clear()
        self._for_reading.clear()
        return destroyed

    def subjects_of(self, case_id: UUID) -> list[str]:
        """The data subjects that have (or had) keys in this case."""
        return sorted(self._subjects(case_id.hex))

    def erased_subjects_of(self, case_id: UUID) -> list[str]:
        """The data subjects of this case whose keys were destroyed."""
        return sorted(self._erased_subjects(case_id.hex))

    def rewrap_all(self) -> int:
        """Rewrap every live key under the current KEK; return how many changed."""
        changed = 0
        for key_id, kek, blob in self._select_wrapped_by_other(self.ring.current_id):
            data_key = self.ring.unwrap(WrappedKey(kek, blob), key_id=key_id)
            self._update_wrapping(key_id, self.ring.wrap(data_key, key_id=key_id))
            changed += 1
        if changed:
            self._scrub()
        return changed

    # -------------------------------------------------------------- dialect

    @abstractmethod
    def _select_live(self, case_hex: str, subject: str) -> tuple[str, str, bytes] | None: ...

    @abstractmethod
    def _insert(
        self, key_id: str, case_hex: str, subject: str, wrapped: WrappedKey, at: datetime
    ) -> None: ...

    @abstractmethod
    def _select(self, key_id: str) -> tuple[str, bytes | None] | None: ...

    @abstractmethod
    def _destroy(self, case_hex: str, subjects: list[str], at: datetime) -> list[str]: ...

    @abstractmethod
    def _subjects(self, case_hex: str) -> set[str]: ...

    @abstractmethod
    def _erased_subjects(self, case_hex: str) -> set[str]: ...

    @abstractmethod
    def _select_wrapped_by_other(self, kek_id: str) -> list[tuple[str, str, bytes]]: ...

    @abstractmethod
    def _update_wrapping(self, key_id: str, wrapped: WrappedKey) -> None: ...

    @abstractmethod
    def _scrub(self) -> None:
        """Remove freed bytes of destroyed or rewrapped keys from the database files."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


Ids = TypeVar("Ids")


class WritesKeyRows:
    """What an event recorder needs to write a save's new key rows with its events."""

    keys: PersonalDataKeys | None = None

    def write_keys_of(self, keys: PersonalDataKeys) -> None:
        """Take new key rows from this key store from now on."""
        self.keys = keys
        keys.write_new_keys_with_events()

    def with_new_key_rows(self, write: Callable[[list[NewKeyRow]], Ids]) -> Ids:
        """``write`` the save's events with this thread's new key rows; cache them once written."""
        rows = self.keys.take_new_rows() if self.keys is not None else []
        written = write(rows)
        if rows and self.keys is not None:
            self.keys.written(rows)
        return written


class SQLiteKeys(PersonalDataKeys):
    """The key table in the same SQLite file as the events."""

    def __init__(self, dbname: str, ring: KeyRing, *, cache_seconds: float = 30.0) -> None:
        super().__init__(ring, cache_seconds=cache_seconds)
        in_memory = dbname.startswith("file:")
        self._lock = threading.Lock()
        self._conn = self._connect(dbname)
        if not in_memory:
            self._conn.execute("PRAGMA journal_mode=WAL")
        # Writes wait for the file's write lock on a connection of their own, so reads of
        # keys never queue behind them: a projection batch that holds the write lock and
        # opens a sealed value must not wait for a writer that waits for that batch. (A
        # shared-cache memory database locks by table: one connection serves both there.)
        self._write_lock = self._lock if in_memory else threading.Lock()
        self._write_conn = self._conn if in_memory else self._connect(dbname)
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "key_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, subject TEXT NOT NULL, "
            "kek_id TEXT NOT NULL, wrapped_key BLOB, created_at TEXT NOT NULL, "
            "destroyed_at TEXT)"
        )
        self._conn.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_case ON {TABLE} (case_id, subject)")

    @staticmethod
    def _connect(dbname: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            dbname,
            uri=dbname.startswith("file:"),
            check_same_thread=False,
            isolation_level=None,
            timeout=10,
        )
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._write_conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._write_conn
            except BaseException:
                self._write_conn.execute("ROLLBACK")
                raise
            self._write_conn.execute("COMMIT")

    def _query(self, statement: str, *params: Any) -> list[Any]:
        with self._lock:
            return self._conn.execute(statement, params).fetchall()

    def _select_live(self, case_hex: str, subject: str) -> tuple[str, str, bytes] | None:
        rows = self._query(
            f"SELECT key_id, kek_id, wrapped_key FROM {TABLE} WHERE case_id = ? AND subject = ? "
            "AND wrapped_key IS NOT NULL ORDER BY created_at LIMIT 1",
            case_hex,
            subject,
        )
        return (rows[0][0], rows[0][1], bytes(rows[0][2])) if rows else None

    def _insert(
        self, key_id: str, case_hex: str, subject: str, wrapped: WrappedKey, at: datetime
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                f"INSERT INTO {TABLE} (key_id, case_id, subject, kek_id, wrapped_key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, case_hex, subject, wrapped.kek_id, wrapped.blob, at.isoformat()),
            )

    def _select(self, key_id: str) -> tuple[str, bytes | None] | None:
        rows = self._query(f"SELECT kek_id, wrapped_key FROM {TABLE} WHERE key_id = ?", key_id)
        if not rows:
            return None
        blob = rows[0][1]
        return rows[0][0], bytes(blob) if blob is not None else None

    def _destroy(self, case_hex: str, subjects: list[str], at: datetime) -> list[str]:
        marks = ", ".join("?" for _ in subjects)
        with self._transaction() as conn:
            rows = conn.execute(
                f"UPDATE {TABLE} SET wrapped_key = NULL, destroyed_at = ? WHERE case_id = ? "
                f"AND subject IN ({marks}) AND wrapped_key IS NOT NULL RETURNING key_id",
                (at.isoformat(), case_hex, *subjects),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def _subjects(self, case_hex: str) -> set[str]:
        rows = self._query(f"SELECT DISTINCT subject FROM {TABLE} WHERE case_id = ?", case_hex)
        return {r[0] for r in rows}

    def _erased_subjects(self, case_hex: str) -> set[str]:
        rows = self._query(
            f"SELECT DISTINCT subject FROM {TABLE} WHERE case_id = ? AND wrapped_key IS NULL",
            case_hex,
        )
        return {r[0] for r in rows}

    def _select_wrapped_by_other(self, kek_id: str) -> list[tuple[str, str, bytes]]:
        rows = self._query(
            f"SELECT key_id, kek_id, wrapped_key FROM {TABLE} "
            "WHERE wrapped_key IS NOT NULL AND kek_id <> ?",
            kek_id,
        )
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def _update_wrapping(self, key_id: str, wrapped: WrappedKey) -> None:
        with self._transaction() as conn:
            conn.execute(
                f"UPDATE {TABLE} SET kek_id = ?, wrapped_key = ? WHERE key_id = ?",
                (wrapped.kek_id, wrapped.blob, key_id),
            )

    def _scrub(self) -> None:
        # secure_delete zeroed the freed bytes in the page; the old page image still sits in
        # the write-ahead log until a checkpoint copies the new one over and truncates it.
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._write_lock:
            self._write_conn.close()
        with self._lock:
            self._conn.close()


class PostgresKeys(PersonalDataKeys):
    """The key table in the same PostgreSQL database (and schema) as the events."""

    def __init__(self, target: DatabaseTarget, ring: KeyRing, *, cache_seconds: float = 30.0):
        super().__init__(ring, cache_seconds=cache_seconds)
        env = target.env
        # The schema the event store uses (the library's default is public), never whatever
        # the search_path finds first: the save function writes new key rows there too.
        self._table = sql.Identifier(env.get("POSTGRES_SCHEMA") or "public", TABLE)
        self._pool: ConnectionPool[Any] = ConnectionPool(
            kwargs={
                "host": env["POSTGRES_HOST"],
                "port": int(env["POSTGRES_PORT"]),
                "user": env["POSTGRES_USER"],
                "password": env.get("POSTGRES_PASSWORD") or None,
                "dbname": env["POSTGRES_DBNAME"],
                "connect_timeout": int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
                "autocommit": True,
            },
            min_size=1,
            max_size=4,
            timeout=float(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            open=False,
            check=ConnectionPool.check_connection,  # a connection broken while idle is replaced
        )
        self._pool.open(wait=True, timeout=float(env.get("POSTGRES_CONNECT_TIMEOUT", "5")))
        self._run(
            "CREATE TABLE IF NOT EXISTS {t} (key_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, "
            "subject TEXT NOT NULL, kek_id TEXT NOT NULL, wrapped_key BYTEA, "
            "created_at TIMESTAMPTZ NOT NULL, destroyed_at TIMESTAMPTZ)"
        )
        index = sql.Identifier(f"{TABLE}_case")
        self._run("CREATE INDEX IF NOT EXISTS {i} ON {t} (case_id, subject)", i=index)

    def _run(self, statement: str, *params: Any, **names: sql.Composable) -> list[Any]:
        query = sql.SQL(statement).format(t=self._table, **names)
        with self._pool.connection() as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def _select_live(self, case_hex: str, subject: str) -> tuple[str, str, bytes] | None:
        rows = self._run(
            "SELECT key_id, kek_id, wrapped_key FROM {t} WHERE case_id = %s AND subject = %s "
            "AND wrapped_key IS NOT NULL ORDER BY created_at LIMIT 1",
            case_hex,
            subject,
        )
        return (rows[0][0], rows[0][1], bytes(rows[0][2])) if rows else None

    def _insert(
        self, key_id: str, case_hex: str, subject: str, wrapped: WrappedKey, at: datetime
    ) -> None:
        self._run(
            "INSERT INTO {t} (key_id, case_id, subject, kek_id, wrapped_key, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            key_id,
            case_hex,
            subject,
            wrapped.kek_id,
            wrapped.blob,
            at,
        )

    def _select(self, key_id: str) -> tuple[str, bytes | None] | None:
        rows = self._run("SELECT kek_id, wrapped_key FROM {t} WHERE key_id = %s", key_id)
        if not rows:
            return None
        blob = rows[0][1]
        return rows[0][0], bytes(blob) if blob is not None else None

    def _destroy(self, case_hex: str, subjects: list[str], at: datetime) -> list[str]:
        rows = self._run(
            "UPDATE {t} SET wrapped_key = NULL, destroyed_at = %s WHERE case_id = %s "
            "AND subject = ANY(%s) AND wrapped_key IS NOT NULL RETURNING key_id",
            at,
            case_hex,
            subjects,
        )
        return sorted(r[0] for r in rows)

    def _subjects(self, case_hex: str) -> set[str]:
        return {
            r[0] for r in self._run("SELECT DISTINCT subject FROM {t} WHERE case_id = %s", case_hex)
        }

    def _erased_subjects(self, case_hex: str) -> set[str]:
        rows = self._run(
            "SELECT DISTINCT subject FROM {t} WHERE case_id = %s AND wrapped_key IS NULL", case_hex
        )
        return {r[0] for r in rows}

    def _select_wrapped_by_other(self, kek_id: str) -> list[tuple[str, str, bytes]]:
        rows = self._run(
            "SELECT key_id, kek_id, wrapped_key FROM {t} WHERE wrapped_key IS NOT NULL "
            "AND kek_id <> %s",
            kek_id,
        )
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def _update_wrapping(self, key_id: str, wrapped: WrappedKey) -> None:
        self._run(
            "UPDATE {t} SET kek_id = %s, wrapped_key = %s WHERE key_id = %s",
            wrapped.kek_id,
            wrapped.blob,
            key_id,
        )

    def _scrub(self) -> None:
        # An UPDATE leaves the old row version in the heap until vacuumed; VACUUM FULL writes
        # the table anew and drops the old files. (WAL segments and backups: see README.)
        self._run("VACUUM FULL {t}")

    def close(self) -> None:
        self._pool.close()


def open_keys(target: DatabaseTarget, ring: KeyRing, *, cache_seconds: float) -> PersonalDataKeys:
    """The key store beside the events of this database target."""
    if target.is_postgres:
        return PostgresKeys(target, ring, cache_seconds=cache_seconds)
    return SQLiteKeys(target.env["SQLITE_DBNAME"], ring, cache_seconds=cache_seconds)

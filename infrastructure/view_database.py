"""The connection a projection writes its views with: SQLite or PostgreSQL, one small API.

It implements the port projections own (``projections/view_store.py``), and adds what only
the runner needs: a lock per projection across processes, and closing the connections.

Views live in the events' database (docs/architecture.md, decision 3), so a view update and
its tracking position commit in one transaction. SQL is written once with ``?``
placeholders; PostgreSQL gets ``%s``. SQLite write transactions begin IMMEDIATE, since a
deferred read-then-write fails at once with "database is locked". Rows in bulk go by
``executemany`` on SQLite and by ``COPY`` (appending) or a pipelined ``executemany`` on
PostgreSQL, never as one statement with thousands of placeholders (psycopg parses such a
statement in Python every time: it is too long for its cache).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from infrastructure.database import DatabaseTarget
from projections import view_store
from projections.view_store import ViewTransaction

__all__ = ["ProjectionLock", "ViewDatabase", "ViewTransaction", "open_views"]


class ViewDatabase(view_store.ViewDatabase, ABC):
    """The projections' view database, plus the runner's locks and closing."""

    dialect: str

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        """A write transaction: committed on success, rolled back on any error."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read outside any write transaction."""

    @abstractmethod
    def try_lock(self, name: str) -> ProjectionLock | None:
        """An exclusive lock on a projection name across processes, or None if held."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class ProjectionLock(ABC):
    """Held while a process applies a projection."""

    @abstractmethod
    def alive(self) -> bool:
        """True while the lock is still held (its session still open)."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for an advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class _SQLiteTransaction(ViewTransaction):
    dialect = "sqlite"

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(sql, tuple(params))
        return self._cursor.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor.execute(sql, tuple(params)).fetchall()

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # Table and column names are the projections' own constants; values are bound.
        marks = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        self._cursor.executemany(insert, rows)


class _ThreadLock(ProjectionLock):
    """SQLite has one process per file here; a process-wide lock per name suffices."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._held = True

    def alive(self) -> bool:
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


_SQLITE_LOCKS: dict[str, threading.Lock] = {}
_SQLITE_LOCKS_GUARD = threading.Lock()


class SQLiteViews(ViewDatabase):
    """Views in the SQLite file of the events."""

    dialect = "sqlite"

    def __init__(self, dbname: str) -> None:
        self._dbname = dbname
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._dbname,
                uri=self._dbname.startswith("file:"),
                isolation_level=None,
                timeout=30,
                check_same_thread=False,
            )
            if not self._dbname.startswith("file:"):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteTransaction(conn.cursor())
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, tuple(params)).fetchall()

    def try_lock(self, name: str) -> ProjectionLock | None:
        key = f"{self._dbname}:{name}"
        with _SQLITE_LOCKS_GUARD:
            lock = _SQLITE_LOCKS.setdefault(key, threading.Lock())
        return _ThreadLock(lock) if lock.acquire(blocking=False) else None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PostgresTransaction(ViewTransaction):
    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(_pg(sql), tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(_pg(sql), tuple(params)).fetchall()

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # psycopg pipelines the rows: one prepared statement, one round trip for all.
        with self._conn.cursor() as cursor:
            cursor.executemany(_pg(sql), rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


class _AdvisoryLock(ProjectionLock):
    """A session-level advisory lock, held in the process's lock session."""

    def __init__(self, session: _LockSession, conn: psycopg.Connection[Any], key: int) -> None:
        self._session = session
        self._conn = conn
        self._key = key

    def alive(self) -> bool:
        return self._session.alive(self._conn, self._key)

    def release(self) -> None:
        self._session.release(self._conn, self._key)


class _LockSession:
    """One connection whose session holds the projection locks this process holds.

    One for all of a process's projections, not one each: a start opens one connection for
    its locks, not a dozen. A key is held at most once here (PostgreSQL would let the same
    session take it twice), so two runners of one view in a process still take turns. When
    the session ends, its locks end with it; each holder sees that at its next look
    (``alive``) and tries again on a new session. The last lock released ends the session.
    """

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connect = connect
        self._guard = threading.Lock()  # one statement at a time on the connection
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[int] = set()

    def try_lock(self, key: int) -> ProjectionLock | None:
        with self._guard:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._end()
                self._conn = self._connect()
            conn = self._conn
            if key in self._held:
                return None
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            except psycopg.Error:
                self._end()
                raise
            if not (row and row[0]):
                if not self._held:
                    self._end()  # a standby holds nothing: no session kept open for it
                return None
            self._held.add(key)
            return _AdvisoryLock(self, conn, key)

    def alive(self, conn: psycopg.Connection[Any], key: int) -> bool:
        with self._guard:
            if conn is not self._conn or key not in self._held:
                return False
            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                self._end()
                return False
            return not conn.closed

    def release(self, conn: psycopg.Connection[Any], key: int) -> None:
        with self._guard:
            if conn is not self._conn or key not in self._held:
                return  # its session ended already, and the lock with it
            self._held.discard(key)
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except psycopg.Error:
                self._end()
                return
            if not self._held:
                self._end()

    def close(self) -> None:
        with self._guard:
            self._end()

    def _end(self) -> None:
        """End the session (and with it every lock it held)."""
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            with suppress(psycopg.Error):
                conn.close()


def compress_with_lz4(conn: psycopg.Connection[Any]) -> None:
    """Compress large view values with lz4 where the server has it (PostgreSQL 14+ built
    with lz4), instead of the default pglz: an audit trail row's changes or a case's state
    of a few KiB is written several times faster (pglz: 80 µs per 4.5 KiB state, lz4: 28),
    at about the same size. Values compressed either way stay readable."""
    row = conn.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    ).fetchone()
    if row is not None and row[0]:
        conn.execute("SET default_toast_compression = lz4")
    conn.commit()


class PostgresViews(ViewDatabase):
    """Views in the PostgreSQL database (and schema) of the events."""

    dialect = "postgresql"

    def __init__(self, target: DatabaseTarget) -> None:
        env = target.env
        schema = env.get("POSTGRES_SCHEMA") or "public"
        self._schema = schema
        self._kwargs: dict[str, Any] = {
            "host": env["POSTGRES_HOST"],
            "port": int(env["POSTGRES_PORT"]),
            "user": env["POSTGRES_USER"],
            "password": env.get("POSTGRES_PASSWORD") or None,
            "dbname": env["POSTGRES_DBNAME"],
            "connect_timeout": int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            "options": f"-c search_path={schema}",
        }
        timeout = float(env.get("POSTGRES_CONNECT_TIMEOUT", "5"))
        self._pool: ConnectionPool[Any] = ConnectionPool(
            kwargs=self._kwargs,
            min_size=1,
            max_size=6,
            timeout=timeout,
            open=False,
            check=ConnectionPool.check_connection,
            configure=compress_with_lz4,
        )
        self._pool.open(wait=False)
        self._locks = _LockSession(lambda: self.connect(autocommit=True))

    def connect(self, *, autocommit: bool) -> psycopg.Connection[Any]:
        """A connection of its own (for LISTEN or an advisory lock)."""
        return psycopg.connect(**self._kwargs, autocommit=autocommit)

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        with self._pool.connection() as conn, conn.transaction():
            yield _PostgresTransaction(conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            rows: list[tuple[Any, ...]] = conn.execute(_pg(sql), tuple(params)).fetchall()
            return rows

    def try_lock(self, name: str) -> ProjectionLock | None:
        # Advisory locks are per database: name the schema too, or a deployment in another
        # schema of the same database would hold this one's projections on standby.
        return self._locks.try_lock(lock_key(f"{self._schema}.{name}"))

    def close(self) -> None:
        self._locks.close()
        self._pool.close()


def open_views(target: DatabaseTarget) -> ViewDatabase:
    """The view database beside the events of this target."""
    if target.is_postgres:
        return PostgresViews(target)
    return SQLiteViews(target.env["SQLITE_DBNAME"])

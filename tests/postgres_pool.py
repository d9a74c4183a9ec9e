"""PostgreSQL schemas for tests, kept by each test process: tables created once, emptied after.

Creating the store's, the keys' and the views' tables costs most of an application's start
on PostgreSQL, and dropping a schema with them costs more. So each test process keeps the
schemas its tests gave back: the first is made by building the whole application once (its
tables, types and functions as every start makes them). A schema given back is emptied in a
few round trips on one connection: every table that ever held a row is truncated (new
files, so no bytes of the last test stay on disk), every sequence used is restarted, and
whatever was made since the schema was prepared is dropped (a sequence the application
makes on demand, a test's own table or function). The next test starts as on a new schema:
no rows, numbers from 1, the same tables.

A schema whose structure changed (a test dropped, added or altered something), or that
another session still holds a lock in (an advisory lock of its projections or of its table
creation, a lock on one of its tables), is dropped instead, as every schema was before, and
the next test gets a new one.

A schema is emptied beside the next test, in a thread of the pool, while that test runs on
the other schema the process keeps (two at most once warm): the next test never waits for
the last one's reset, unless the one it would take is still being emptied.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import sql

from infrastructure.database import DatabaseTarget

Connect = Callable[[DatabaseTarget], AbstractContextManager[psycopg.Connection[Any]]]

# The advisory locks of this code base, keyed on a schema (infrastructure/wiring.py,
# postgres_recorder.py, view_database.py): table creation, and each projection.
CREATING_TABLES_LOCK = 0x766F7267
EVENTS_TABLE = "vorgang_events"
TRACKING = "vorgang_projections"
UNSIGNED_32 = 0xFFFFFFFF
# Schemas a process keeps: one for the running test, one being emptied beside it.
KEPT = 2

# Everything a start creates in the schema, as one digest: relations, columns, defaults,
# indexes, constraints, triggers, functions and types.
STRUCTURE = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT concat_ws(' ', 'rel', c.relname, c.relkind, c.relpersistence)
    FROM pg_class c WHERE c.relnamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'col', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, a.attidentity, a.attgenerated, a.attstorage,
                   a.attcompression, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(' ', 'idx', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'con', conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'trg', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'fn', p.proname, pg_get_function_identity_arguments(p.oid),
                   md5(coalesce(p.prosrc, '')))
    FROM pg_proc p WHERE p.pronamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'type', t.typname, t.typtype) FROM pg_type t WHERE t.typnamespace = %(ns)s
  UNION ALL
  SELECT concat_ws(' ', 'seq', c.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                   s.seqcycle)
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = %(ns)s
) AS structure(item)
"""

# What the reset needs, in one round trip: the structure, whether another session still
# holds a lock of the schema, the tables that ever held a row, the sequences ever used.
# (Only the module's constants are formatted in; every value is bound.)
STATE = f"""
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
SELECT ({STRUCTURE.replace("%(ns)s", "(SELECT oid FROM ns)")}),
  (SELECT count(*) FROM pg_locks l
    WHERE l.pid <> pg_backend_pid() AND l.database = (
            SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((l.locktype = 'relation' AND l.relation IN (
              SELECT oid FROM pg_class WHERE relnamespace = (SELECT oid FROM ns)))
        OR (l.locktype = 'advisory' AND l.objsubid = 2 AND l.classid = {CREATING_TABLES_LOCK}
            AND l.objid::bigint IN (%(recorder_key)s, hashtext(%(schema)s)::bigint & {UNSIGNED_32})
           )
        OR (l.locktype = 'advisory' AND l.objsubid = 1
            AND (l.classid::bigint << 32 | l.objid::bigint) = ANY(%(keys)s)))),
  (SELECT coalesce(array_agg(c.relname ORDER BY c.relname), '{{}}') FROM pg_class c
    WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('r', 'p')
      AND (pg_relation_size(c.oid) > 0
           OR (c.reltoastrelid <> 0 AND pg_relation_size(c.reltoastrelid) > 0))),
  (SELECT coalesce(array_agg(sequencename ORDER BY sequencename), '{{}}') FROM pg_sequences
    WHERE schemaname = %(schema)s AND last_value IS NOT NULL)
"""  # noqa: S608


# Every object a test or the application may make in the schema, each with its key and the
# statement that drops it: tables (views), sequences not owned by a column, functions, types.
OBJECTS = """
SELECT concat_ws(' ', 'rel', c.relname),
       format('DROP %%s IF EXISTS %%I.%%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT concat_ws(' ', 'seq', c.relname),
       format('DROP SEQUENCE IF EXISTS %%I.%%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT concat_ws(' ', 'fn', p.proname, pg_get_function_identity_arguments(p.oid)),
       format('DROP ROUTINE IF EXISTS %%I.%%I(%%s) CASCADE', n.nspname, p.proname,
              pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
UNION ALL
SELECT concat_ws(' ', 'type', t.typname),
       format('DROP TYPE IF EXISTS %%I.%%I CASCADE', n.nspname, t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = %(schema)s AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
   AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
"""


def projection_lock_key(schema: str, name: str) -> int:
    """A projection's advisory lock (infrastructure.view_database.lock_key)."""
    digest = hashlib.sha256(f"{schema}.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def recorder_lock_key(schema: str) -> int:
    """The second half of the recorder's table-creation lock, unsigned as pg_locks shows it
    (infrastructure.postgres_recorder; the start's half is the server's hashtext)."""
    return (zlib.crc32(f"{schema}.{EVENTS_TABLE}".encode()) - (1 << 31)) & UNSIGNED_32


class SchemaPool:
    """The schemas of one test process: given out one per test, emptied when given back."""

    def __init__(
        self,
        *,
        create: Callable[[], DatabaseTarget],
        drop: Callable[[DatabaseTarget], None],
        connect: Connect,
        prepare: Callable[[DatabaseTarget], None],
    ) -> None:
        """``create`` makes an empty schema, ``drop`` removes one, ``connect`` opens an
        autocommit connection to a target's database, ``prepare`` creates a new schema's
        tables (by building the application once)."""
        self._create = create
        self._drop = drop
        self._connect = connect
        self._prepare = prepare
        self._idle: list[DatabaseTarget] = []
        self._structure: dict[str, str] = {}  # schema → digest of its tables as prepared
        self._objects: dict[str, set[str]] = {}  # schema → keys of its objects as prepared
        self._lock = threading.Lock()  # the three above, shared with the emptying thread
        self._resets: list[Future[None]] = []
        self._emptier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schema-reset")

    def take(self) -> DatabaseTarget:
        """An empty schema with the application's tables: one given back (waiting for it to
        be emptied where the process keeps as many as it may), or a new one."""
        while True:
            with self._lock:
                if self._idle:
                    return self._idle.pop()
                kept = len(self._structure)  # prepared and not dropped: in use or emptying
            pending = self._pending()
            if not pending or kept < KEPT:
                break
            wait(pending, return_when=FIRST_COMPLETED)
        target = self._create()
        try:
            self._prepare(target)
            with self._connect(target) as conn:
                schema = schema_of(target)
                structure = self._state(conn, target)[0]
                objects = set(self._made(conn, schema))
        except BaseException:
            self._drop(target)
            raise
        with self._lock:
            self._structure[schema] = structure
            self._objects[schema] = objects
        return target

    def give_back(self, target: DatabaseTarget) -> None:
        """Have the schema emptied for a later test (or dropped where that is not safe),
        beside the next test."""
        self._pending()  # an error of an earlier reset surfaces here, not never
        self._resets.append(self._emptier.submit(self._reset, target))

    def _pending(self) -> list[Future[None]]:
        """The resets still running; those that ended are forgotten (raising their error,
        if one escaped)."""
        pending = []
        for reset in self._resets:
            if reset.done():
                reset.result()
            else:
                pending.append(reset)
        self._resets = pending
        return pending

    def _reset(self, target: DatabaseTarget) -> None:
        """Empty the schema for the next test, or drop it where that is not safe."""
        schema = schema_of(target)
        with self._lock:
            expected = self._structure.get(schema)
        try:
            with self._connect(target) as conn:
                self._drop_made_since(conn, schema)
                structure, locks_held, tables, sequences = self._state(conn, target)
                if expected is None or structure != expected or locks_held:
                    raise LookupError(schema)  # not as prepared, or still in use: dropped
                reset: list[sql.Composable] = [sql.SQL("SET LOCAL lock_timeout = '10s'")]
                if tables:
                    listed = sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
                    reset.append(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(listed))
                reset += [
                    sql.SQL("ALTER SEQUENCE {} RESTART").format(sql.Identifier(schema, s))
                    for s in sequences
                ]
                if len(reset) > 1:  # one round trip, one transaction
                    conn.execute(sql.SQL("; ").join(reset).as_string(conn), prepare=False)
        except (LookupError, psycopg.Error):
            with self._lock:
                self._structure.pop(schema, None)
                self._objects.pop(schema, None)
            self._drop(target)
            return
        with self._lock:
            self._idle.append(target)

    def close(self) -> None:
        """Wait for the resets still running, then drop every schema kept."""
        self._emptier.shutdown(wait=True)
        try:
            self._pending()
        finally:
            while self._idle:
                target = self._idle.pop()
                self._structure.pop(schema_of(target), None)
                self._objects.pop(schema_of(target), None)
                self._drop(target)

    @staticmethod
    def _made(conn: psycopg.Connection[Any], schema: str) -> dict[str, str]:
        """The schema's objects: key → the statement that drops it."""
        return {str(key): str(drop) for key, drop in conn.execute(OBJECTS, {"schema": schema})}

    def _drop_made_since(self, conn: psycopg.Connection[Any], schema: str) -> None:
        """Drop what was made since the schema was prepared (a town's reference numbers of a
        year, the save function of a store without keys, a test's own view): a new schema
        does not have it either."""
        prepared = self._objects.get(schema, set())
        made = [drop for key, drop in self._made(conn, schema).items() if key not in prepared]
        if made:  # one round trip, one transaction
            conn.execute("; ".join(["SET LOCAL lock_timeout = '10s'", *made]), prepare=False)

    @staticmethod
    def _state(
        conn: psycopg.Connection[Any], target: DatabaseTarget
    ) -> tuple[str, int, list[str], list[str]]:
        schema = schema_of(target)
        names = conn.execute(
            sql.SQL("SELECT name FROM {}").format(sql.Identifier(schema, TRACKING))
        ).fetchall()
        row = conn.execute(
            STATE,
            {
                "schema": schema,
                "recorder_key": recorder_lock_key(schema),
                "keys": [projection_lock_key(schema, str(name)) for (name,) in names],
            },
        ).fetchone()
        assert row is not None
        return str(row[0]), int(row[1]), list(row[2]), list(row[3])


def schema_of(target: DatabaseTarget) -> str:
    """The schema a PostgreSQL target names."""
    return target.env["POSTGRES_SCHEMA"]

"""Rebuilding a view without downtime: fill new tables side by side, then switch at once.

The copy is built under a shadow name from the start of the log while the live view keeps
serving (and its runner keeps applying). Once the copy has caught up, one transaction drops
the live tables, renames the copy's tables into their place, gives them the live index
names and sets the live tracking position to the copy's. A live runner that was ahead
simply applies the events after that position again, to the new tables; one that was
behind goes on from there. Readers see the old view or the new one, never a half.

The fill reads the log once for every view rebuilt together, the next batch read and
decoded while the last one is written (``infrastructure/log_batches.py``), and writes rows
in bulk (``projections/bulk.py``); a view may keep state in memory between the batches of
a fill (``Projection.fill_begins``). The copy's secondary indexes are built once, after the
fill, instead of being kept up to date row by row: on PostgreSQL under the copy's names
before the switch, which only renames them; on SQLite (which cannot rename an index) by
the switch. Indexes that enforce something (primary keys, unique ones) stay throughout.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.store import VorgangStore
from infrastructure.log_batches import log_ahead
from infrastructure.projection_runner import TRACKING, ProjectionRunner
from infrastructure.view_database import ViewDatabase, ViewTransaction
from projections.projection import Projection, RecordProjection

Progress = Callable[[int, int], None]  # (position, head)
BATCH_SIZE = 2000  # events per batch (and transaction) of a fill; two batches are held at most


class NotRebuildable(ValueError):
    """A view that must never be recomputed from the records as they are now."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is never rebuilt: recomputing the hash chain from the records as they "
            "are now would hide any tampering; check it with `vorgang audit verify`"
        )
        self.name = name


def rebuildable(projection: Projection) -> bool:
    """Whether a view may be rebuilt from the log (the hash chain may not)."""
    return not isinstance(projection, RecordProjection) or projection.rebuildable


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did."""

    name: str
    position: int
    events: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Index:
    """An index of a view's table, as the database would create it again."""

    name: str
    definition: str
    enforces: bool  # a primary key or unique index: it must exist while rows are written


def table_indexes(tx: ViewTransaction, dialect: str, table: str) -> list[Index]:
    """The indexes of a table (on SQLite the explicitly created ones)."""
    if dialect == "sqlite":
        rows = tx.query(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
        return [
            Index(str(name), str(sql), str(sql).upper().startswith("CREATE UNIQUE"))
            for name, sql in rows
        ]
    rows = tx.query(
        "SELECT i.relname, pg_get_indexdef(i.oid), x.indisprimary OR x.indisunique "
        "OR x.indisexclusion FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE t.relname = ? AND n.nspname = current_schema()",
        (table,),
    )
    return [
        Index(str(name), str(definition), bool(enforces)) for name, definition, enforces in rows
    ]


def rebuild(
    store: VorgangStore,
    views: ViewDatabase,
    projection: Projection,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Rebuilt:
    """Build a fresh copy of the view from the log and switch to it atomically."""
    (done,) = rebuild_together(store, views, [projection], batch_size=batch_size, progress=progress)
    return done


def rebuild_together(
    store: VorgangStore,
    views: ViewDatabase,
    projections: Sequence[Projection],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> list[Rebuilt]:
    """Rebuild several views from one read of the log (each event decoded once for all of
    them), then switch each to its copy atomically, one after the other."""
    if not projections:
        return []
    for projection in projections:
        if not rebuildable(projection):
            raise NotRebuildable(projection.name)
    started = time.monotonic()
    suffix = f"_rb{uuid.uuid4().hex[:10]}"  # unique: the copies' index names must be too
    shadows = []
    for projection in projections:
        shadow = copy.copy(projection)
        shadow.shadow = suffix
        shadows.append(shadow)
    runners = [ProjectionRunner(store, views, s, batch_size=batch_size) for s in shadows]
    deferred = _drop_secondary_indexes(views, shadows)
    for shadow in shadows:
        shadow.fill_begins()
    applied = _fill(store, views, runners, batch_size, progress)
    with views.transaction() as tx:
        for shadow in shadows:
            shadow.fill_ends(tx)
    if views.dialect == "postgresql":
        _build_indexes(views, deferred, shadows)
        applied = _fill(store, views, runners, batch_size, progress, applied)
    done = []
    for projection, shadow, runner in zip(projections, shadows, runners, strict=True):
        position = _switch(store, views, projection, shadow, runner)
        seconds = round(time.monotonic() - started, 3)
        done.append(Rebuilt(projection.key, position, applied[shadow.key], seconds))
    return done


def _drop_secondary_indexes(views: ViewDatabase, shadows: Sequence[Projection]) -> list[Index]:
    """Drop the copies' indexes that enforce nothing; return them, to build after the fill."""
    dropped = []
    with views.transaction() as tx:
        for shadow in shadows:
            for table in shadow.tables():
                for index in table_indexes(tx, views.dialect, table):
                    if not index.enforces:
                        tx.execute(f"DROP INDEX {index.name}")
                        dropped.append(index)
    return dropped


def _build_indexes(
    views: ViewDatabase, indexes: Sequence[Index], shadows: Sequence[Projection]
) -> None:
    """Build the copies' indexes at once (and their statistics), outside any switch."""
    with views.transaction() as tx:
        for index in indexes:
            tx.execute(index.definition)
        for shadow in shadows:
            for table in shadow.tables():
                tx.execute(f"ANALYZE {table}")


def _fill(
    store: VorgangStore,
    views: ViewDatabase,
    runners: Sequence[ProjectionRunner],
    batch_size: int,
    progress: Progress | None,
    applied: dict[str, int] | None = None,
) -> dict[str, int]:
    """Apply the log to the copies until they are less than a batch behind its head.

    Each batch is read and decoded once and applied to every copy in one transaction; a
    copy reads only its own topics of it.
    """
    applied = dict(applied or dict.fromkeys((r.name for r in runners), 0))
    own_topics = [frozenset(r.projection.topics()) for r in runners]
    topics = frozenset().union(*own_topics)
    chosen = [None if mine == topics else mine for mine in own_topics]
    (position,) = {r.position() for r in runners}  # filled together from the start
    while True:
        head = store.recorder.max_notification_id() or 0
        with log_ahead(
            store, runners[0].mapper, sorted(topics), position, head, batch_size
        ) as batches:
            for batch in batches:
                with views.transaction() as tx:
                    for runner, mine in zip(runners, chosen, strict=True):
                        events = batch.for_topics(mine)
                        runner.apply_batch(tx, batch.start, batch.end, events)
                        applied[runner.name] += len(events)
                position = batch.end
                for runner in runners:
                    runner.known_position = position
                if progress is not None:
                    progress(position, head)
        if (store.recorder.max_notification_id() or 0) - position < batch_size:
            return applied  # close enough: the last stretch is applied inside the switch


def _switch(
    store: VorgangStore,
    views: ViewDatabase,
    projection: Projection,
    shadow: Projection,
    runner: ProjectionRunner,
) -> int:
    """Apply the last stretch to the copy and put it in the live view's place; its position."""
    live_tables = projection.tables()
    shadow_tables = shadow.tables()
    with views.transaction() as tx:
        if views.dialect == "postgresql":
            # Take every lock the switch needs up front, in the order a runner takes them
            # (view tables, then tracking), so a live runner waits instead of deadlocking.
            tables = ", ".join([*live_tables, *shadow_tables, TRACKING])
            tx.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        position = runner.apply_pending(tx)
        for table in live_tables:
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        for old, new in zip(shadow_tables, live_tables, strict=True):
            tx.execute(f"ALTER TABLE {old} RENAME TO {new}")
            for index in table_indexes(tx, views.dialect, new):
                live_name = index.name.replace(shadow.key, projection.key)
                if views.dialect == "postgresql" and live_name != index.name:
                    tx.execute(f"ALTER INDEX {index.name} RENAME TO {live_name}")
                elif views.dialect == "sqlite" or not index.enforces:
                    tx.execute(f"DROP INDEX IF EXISTS {index.name}")  # made again just below
        projection.create_tables(tx)  # the live indexes still missing, on the rebuilt tables
        tx.execute(
            f"INSERT INTO {TRACKING} (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, last_error = NULL",
            (projection.key, position),
        )
        tx.execute(f"DELETE FROM {TRACKING} WHERE name = ?", (shadow.key,))
    return position


VERSIONED = re.compile(r"^(?P<name>[a-z][a-z0-9_]*?)_v(?P<version>[0-9]+)$")


def superseded_views(views: ViewDatabase, current: Sequence[Projection]) -> list[str]:
    """Tracked views older than the version this code keeps (``inbox_v1`` beside ``_v2``).

    They stay after an upgrade so that processes still running the previous release keep
    serving them during a rolling deployment; prune them once the rollout is complete.
    """
    versions = {p.name: p.version for p in current}
    superseded = []
    for (key,) in views.query(f"SELECT name FROM {TRACKING} ORDER BY name"):
        match = VERSIONED.match(str(key))
        if match is None or match["name"] not in versions:
            continue
        if int(match["version"]) < versions[match["name"]]:
            superseded.append(str(key))
    return superseded


def view_tables(tx: ViewTransaction, dialect: str, key: str) -> list[str]:
    """The tables of a view: named by its key, or its key and a suffix (``feed_v1_cases``)."""
    if dialect == "sqlite":
        rows = tx.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = tx.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    names = [str(r[0]) for r in rows]
    return sorted(n for n in names if n == key or n.startswith(f"{key}_"))


def prune(views: ViewDatabase, keys: Sequence[str]) -> dict[str, list[str]]:
    """Drop these views' tables and tracking rows; return what was dropped per view."""
    dropped: dict[str, list[str]] = {}
    with views.transaction() as tx:
        for key in keys:
            tables = view_tables(tx, views.dialect, key)
            for table in tables:
                tx.execute(f"DROP TABLE IF EXISTS {table}")
            tx.execute(f"DELETE FROM {TRACKING} WHERE name = ?", (key,))
            dropped[key] = tables
    return dropped

"""Rebuilding a view without downtime: fill new tables side by side, then switch at once.

The copy is built under a shadow name from the start of the log while the live view keeps
serving (and its runner keeps applying). Once the copy has caught up, one transaction drops
the live tables, renames the copy's tables into their place, gives them the live index
names and sets the live tracking position to the copy's. A live runner that was ahead
simply applies the events after that position again, to the new tables; one that was
behind goes on from there. Readers see the old view or the new one, never a half.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.store import VorgangStore
from infrastructure.projection_runner import TRACKING, ProjectionRunner
from infrastructure.view_database import ViewDatabase, ViewTransaction
from projections.projection import Projection

Progress = Callable[[int, int], None]  # (position, head)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did."""

    name: str
    position: int
    events: int
    seconds: float


def index_names(tx: ViewTransaction, dialect: str, table: str) -> list[str]:
    """The explicitly created indexes of a table."""
    if dialect == "sqlite":
        rows = tx.query(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
    else:
        rows = tx.query(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE t.relname = ? AND n.nspname = current_schema() AND NOT x.indisprimary",
            (table,),
        )
    return [str(r[0]) for r in rows]


def rebuild(
    store: VorgangStore,
    views: ViewDatabase,
    projection: Projection,
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> Rebuilt:
    """Build a fresh copy of the view from the log and switch to it atomically."""
    started = time.monotonic()
    shadow = copy.copy(projection)
    shadow.shadow = f"_rb{uuid.uuid4().hex[:10]}"  # unique: its index names must be too
    runner = ProjectionRunner(store, views, shadow, batch_size=batch_size)
    events = 0
    while True:
        head = store.recorder.max_notification_id() or 0
        events += runner.catch_up_to(head, progress=progress)
        if (store.recorder.max_notification_id() or 0) - runner.position() < batch_size:
            break  # close enough: the last stretch is applied inside the switch below
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
            stale = index_names(tx, views.dialect, old)
            tx.execute(f"ALTER TABLE {old} RENAME TO {new}")
            for index in stale:
                tx.execute(f"DROP INDEX IF EXISTS {index}")
        projection.create_tables(tx)  # the live index names, on the rebuilt tables
        tx.execute(
            f"INSERT INTO {TRACKING} (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, last_error = NULL",
            (projection.key, position),
        )
        tx.execute(f"DELETE FROM {TRACKING} WHERE name = ?", (shadow.key,))
    return Rebuilt(projection.key, position, events, round(time.monotonic() - started, 3))


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

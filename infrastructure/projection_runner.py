"""Our projection runner over the library's notification log (docs/architecture.md, decision 5).

Each cycle reads the head of the log, then notifications after the view's position up to
that head (``stop``, so a topic filter can still advance over events it skips), decodes
them with personal data left sealed, and applies them with the new tracking position in
one transaction; the tracking write only succeeds from the position it read, so a batch
can never be applied twice. PostgreSQL wakes the runner by LISTEN/NOTIFY, SQLite by a
nudge after each save in this process; both also poll. An advisory lock per projection
lets any number of workers run while exactly one applies it; a standby takes over when
the holder's session ends. Errors are logged, recorded, and retried with backoff.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import Mapper, Notification

from application.store import VorgangStore
from infrastructure.view_database import (
    PostgresViews,
    ProjectionLock,
    ViewDatabase,
    ViewTransaction,
)
from persistence.chain import StoredRecord
from projections.projection import Applied, Projection, RecordProjection
from projections.sealed import SealingTranscoder

log = structlog.get_logger(__name__)

TRACKING = "vorgang_projections"
HEARTBEAT_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 30.0
LISTEN_SLICE_SECONDS = 0.25  # how often the listener looks up to see whether to stop


def _log(level: str, event: str, **fields: Any) -> None:
    """Log from the runner's thread; a failing sink (closed stderr, broken pipe) must not end it."""
    with contextlib.suppress(Exception):
        getattr(log, level)(event, **fields)


class TrackingConflict(RuntimeError):
    """The view's position moved under us: someone else applied this batch. Rolled back."""


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """Where a projection stands, for operators and the status API."""

    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    applied_at: str | None
    heartbeat_at: str | None
    last_error: str | None
    state: str  # idle, catching_up, failing, stalled (events waiting, no heartbeat), stopped


def create_tracking(views: ViewDatabase) -> None:
    """The table of projection positions, shared by every projection."""
    with views.transaction() as tx:
        tracking_table(tx)


def tracking_table(tx: ViewTransaction) -> None:
    """The table of projection positions, in the caller's transaction.

    ``built_at`` is set when a view first reached the head of the log: until then a new
    view version is still being built, and a process serving it is not ready.
    """
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {TRACKING} ("
        "name TEXT PRIMARY KEY, position BIGINT NOT NULL, applied_at TEXT, "
        "heartbeat_at TEXT, last_error TEXT, error_at TEXT, built_at TEXT)"
    )
    if tx.dialect == "postgresql":
        columns = tx.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (TRACKING,),
        )
    else:
        columns = [(r[1],) for r in tx.query(f"PRAGMA table_info({TRACKING})")]
    # Altered only where the column is missing: ALTER TABLE locks the table exclusively
    # even when the column is there, and in a start's set-up transaction (every view's
    # tables) that lock would hold every runner's tracking update until the commit, or
    # deadlock with a runner that holds its view's tables and waits for it.
    if "built_at" not in {str(c) for (c,) in columns}:
        tx.execute(f"ALTER TABLE {TRACKING} ADD COLUMN built_at TEXT")


def set_up_views(views: ViewDatabase, projections: Sequence[Projection]) -> set[str]:
    """The tracking table, every projection's tables and tracking row, in one transaction;
    returns the names of the views already built (reached the head of the log once).

    One transaction for all of them, not two per projection: every process start (and
    every test's) pays for this, and each transaction is a round trip or a write lock more.
    """
    names = [p.key for p in projections]
    if not names:
        return set()
    marks = ", ".join("?" for _ in names)
    with views.transaction() as tx:
        tracking_table(tx)
        for projection in projections:
            projection.create_tables(tx)
        tx.execute(
            f"INSERT INTO {TRACKING} (name, position) "
            f"VALUES {', '.join('(?, 0)' for _ in names)} ON CONFLICT (name) DO NOTHING",
            names,
        )
        built = tx.query(
            f"SELECT name FROM {TRACKING} WHERE name IN ({marks}) AND built_at IS NOT NULL",
            names,
        )
    return {str(name) for (name,) in built}


def views_being_built(views: ViewDatabase, names: Sequence[str]) -> dict[str, int]:
    """Of these views, the ones not yet built once: name → position reached so far."""
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = views.query(
        f"SELECT name, position FROM {TRACKING} WHERE name IN ({marks}) AND built_at IS NULL",
        list(names),
    )
    return {str(name): int(position) for name, position in rows}


def now_text() -> str:
    """The current time as ISO text in UTC."""
    return datetime.now(UTC).isoformat()


class ProjectionRunner:
    """Keeps one projection caught up with the log."""

    def __init__(
        self,
        store: VorgangStore,
        views: ViewDatabase,
        projection: Projection,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        set_up: bool = True,
    ) -> None:
        """``set_up=False``: the caller has set the view up already (``set_up_views``, for
        all of a process's views at once) and tells ``set_built`` what it found."""
        self.store = store
        self.views = views
        self.projection = projection
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.mapper: Mapper[Any] = Mapper(transcoder=SealingTranscoder())
        self._topics = projection.topics()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._caught_up = threading.Condition()
        self._last_heartbeat = 0.0
        self.known_position = 0  # last position this process saw committed (no query needed)
        self._built = False  # known to have reached the head once (tracking's built_at)
        if set_up:
            self.setup()

    @property
    def name(self) -> str:
        """The projection's name and version."""
        return self.projection.key

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        """Create the tracking table, the view's tables and its tracking row."""
        self._built = self.name in set_up_views(self.views, [self.projection])

    def set_built(self, built: bool) -> None:
        """What the set-up found: the view has reached the head of the log once."""
        self._built = built

    def position(self) -> int:
        """The last log position applied to the view."""
        rows = self.views.query(f"SELECT position FROM {TRACKING} WHERE name = ?", (self.name,))
        self.known_position = int(rows[0][0]) if rows else 0
        return self.known_position

    # ------------------------------------------------------------------ apply

    def catch_up(self) -> int:
        """Apply everything up to the head of the log as it is now; return events applied."""
        return self.catch_up_to(self.store.recorder.max_notification_id() or 0)

    def catch_up_to(self, head: int, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply batch by batch (a transaction each) up to ``head``; return events applied."""
        position = self.position()
        applied = 0
        while position < head:
            notifications, new_position = self._next(position, head)
            reaches_head = new_position >= head and not self._built
            with self.views.transaction() as tx:
                self._apply(tx, position, new_position, notifications)
                if reaches_head:  # built with the batch that reaches the head: no extra commit
                    self._mark_built_in(tx)
            if reaches_head:
                self._built = True
            self._last_heartbeat = time.monotonic()  # the batch's tracking update beat too
            applied += len(notifications)
            position = self.known_position = new_position
            if progress is not None:
                progress(position, head)
        if position >= head and not self._built:
            self._mark_built()
        with self._caught_up:
            self._caught_up.notify_all()
        return applied

    def _mark_built(self) -> None:
        beats = threading.current_thread() is self._thread  # the background runner: it lives
        with self.views.transaction() as tx:
            self._mark_built_in(tx)
            if beats:  # its first heartbeat in the same commit, not one of its own after
                tx.execute(
                    f"UPDATE {TRACKING} SET heartbeat_at = ? WHERE name = ?",
                    (now_text(), self.name),
                )
        self._built = True
        if beats:
            self._last_heartbeat = time.monotonic()

    def _mark_built_in(self, tx: ViewTransaction) -> None:
        tx.execute(
            f"UPDATE {TRACKING} SET built_at = ? WHERE name = ? AND built_at IS NULL",
            (now_text(), self.name),
        )

    def apply_pending(self, tx: ViewTransaction) -> int:
        """Inside the caller's transaction, apply up to the head; return the new position."""
        head = self.store.recorder.max_notification_id() or 0
        rows = tx.query(f"SELECT position FROM {TRACKING} WHERE name = ?", (self.name,))
        position = int(rows[0][0]) if rows else 0
        while position < head:
            notifications, new_position = self._next(position, head)
            self._apply(tx, position, new_position, notifications)
            position = new_position
        return position

    def _next(self, position: int, head: int) -> tuple[list[Notification], int]:
        notifications = list(
            self.store.recorder.select_notifications(
                start=position + 1, limit=self.batch_size, stop=head, topics=self._topics
            )
        )
        full = len(notifications) == self.batch_size
        return notifications, (notifications[-1].id if full else head)

    def decode(self, notifications: Sequence[Notification]) -> list[Applied]:
        """Notifications as the projection receives them: events, personal data sealed."""
        return [Applied(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def _apply(
        self, tx: ViewTransaction, old: int, new: int, notifications: list[Notification]
    ) -> None:
        if isinstance(self.projection, RecordProjection):
            self.apply_records(tx, old, new, stored_records(notifications))
        else:
            self.apply_batch(tx, old, new, self.decode(notifications))

    def apply_records(
        self, tx: ViewTransaction, old: int, new: int, records: Sequence[StoredRecord]
    ) -> None:
        """Apply stored records, undecoded, and move the position from ``old`` to ``new``."""
        projection = self.projection
        assert isinstance(projection, RecordProjection)
        if records:
            self._lock_tables(tx)
            projection.apply_records(tx, records)
        self._move(tx, old, new)

    def apply_batch(
        self, tx: ViewTransaction, old: int, new: int, batch: Sequence[Applied]
    ) -> None:
        """Apply decoded events and move the position from ``old`` to ``new``, in ``tx``.

        A rebuild of several views decodes each batch once and hands it to each of them.
        """
        if batch:
            self._lock_tables(tx)
            self.projection.apply(tx, batch)
        self._move(tx, old, new)

    def _lock_tables(self, tx: ViewTransaction) -> None:
        if self.views.dialect == "postgresql":
            # Lock the view's tables in the order a rebuild's switch locks them, before a
            # batch reads any (a batch may read its second table before writing its
            # first): a switch that holds the first then waits for us, not the reverse.
            tables = ", ".join(self.projection.tables())
            tx.execute(f"LOCK TABLE {tables} IN ROW EXCLUSIVE MODE")

    def _move(self, tx: ViewTransaction, old: int, new: int) -> None:
        moved = tx.execute(
            f"UPDATE {TRACKING} SET position = ?, applied_at = ?, heartbeat_at = ? "
            "WHERE name = ? AND position = ?",
            (new, now_text(), now_text(), self.name, old),
        )
        if moved != 1:
            raise TrackingConflict(f"{self.name} is no longer at position {old}")

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the view has reached a position (read-your-writes); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wake()
            with self._caught_up:
                self._caught_up.wait(timeout=min(remaining, 0.05))
        return True

    # -------------------------------------------------------------- background

    def start(self, *, listen: bool = True) -> None:
        """Run in a daemon thread until ``stop``; ``listen=False`` where someone else
        listens for the log's NOTIFY and wakes this runner (the host, one for all)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, name=f"projection-{self.name}", daemon=True
        )
        self._thread.start()
        if listen and isinstance(self.views, PostgresViews):
            self._listener = threading.Thread(
                target=self._listen, name=f"listen-{self.name}", daemon=True
            )
            self._listener.start()

    def request_stop(self) -> None:
        """Ask the thread (and the listener) to stop, without waiting."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (and the listener) and wait for them."""
        self.request_stop()
        for thread in (self._thread, self._listener):
            if thread is not None:
                thread.join(timeout=10)
        self._thread = self._listener = None

    def wake(self) -> None:
        """Something was saved: look at the log now rather than at the next poll."""
        self._wake.set()

    def run(self) -> None:
        """Hold the projection's lock (or stand by), apply, wait, repeat; never give up."""
        backoff = 0.5
        lock: ProjectionLock | None = None
        while not self._stop.is_set():
            try:
                if lock is None or not lock.alive():
                    lock = self._acquire(lock)
                    if lock is None:
                        self._stop.wait(self.poll_seconds)  # standby: another worker holds it
                        continue
                self.catch_up()
                self._heartbeat()
                backoff = 0.5
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
            except Exception as error:  # the runner must survive anything and retry
                _log(
                    "warning",
                    "projection failed; retrying",
                    projection=self.name,
                    error=type(error).__name__,
                    detail=str(error).splitlines()[0][:200] if str(error) else "",
                    retry_in=backoff,
                )
                self._record_error(error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        if lock is not None:
            lock.release()

    def _acquire(self, previous: ProjectionLock | None) -> ProjectionLock | None:
        if previous is not None:
            previous.release()
            _log("warning", "projection lock lost", projection=self.name)
        lock = self.views.try_lock(self.name)
        if lock is not None:
            _log("info", "projection lock held", projection=self.name)
        return lock

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat < HEARTBEAT_SECONDS:
            return
        with self.views.transaction() as tx:
            tx.execute(
                f"UPDATE {TRACKING} SET heartbeat_at = ? WHERE name = ?", (now_text(), self.name)
            )
        self._last_heartbeat = time.monotonic()

    def _record_error(self, error: Exception) -> None:
        text = f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"
        with contextlib.suppress(Exception), self.views.transaction() as tx:
            tx.execute(
                f"UPDATE {TRACKING} SET last_error = ?, error_at = ? WHERE name = ?",
                (text, now_text(), self.name),
            )

    def _listen(self) -> None:
        """LISTEN for the recorder's NOTIFY; any notification wakes the runner."""
        assert isinstance(self.views, PostgresViews)
        listen_for_saves(self.views, self.store, self._stop, self._wake.set)

    # ----------------------------------------------------------------- status

    def status(self) -> ProjectionStatus:
        """Position, head, lag in events and seconds, last error, heartbeat, state."""
        rows = self.views.query(
            f"SELECT position, applied_at, heartbeat_at, last_error, error_at FROM {TRACKING} "
            "WHERE name = ?",
            (self.name,),
        )
        position, applied_at, heartbeat_at, last_error, error_at = (
            rows[0] if rows else (0, None, None, None, None)
        )
        return describe(
            name=self.name,
            position=int(position),
            head=self.store.recorder.max_notification_id() or 0,
            oldest_waiting=self._oldest_waiting(int(position)),
            applied_at=applied_at,
            heartbeat_at=heartbeat_at,
            last_error=last_error,
            error_at=error_at,
        )

    def _oldest_waiting(self, position: int) -> datetime | None:
        head = self.store.recorder.max_notification_id() or 0
        if position >= head:
            return None
        first = self.store.recorder.select_notifications(
            start=position + 1, limit=1, stop=head, topics=self._topics
        )
        if not first:
            return None
        recorded: datetime = getattr(self.mapper.to_domain_event(first[0]), "timestamp")  # noqa: B009
        return recorded


def stored_records(notifications: Sequence[Notification]) -> list[StoredRecord]:
    """Notifications as stored records: exactly the stored fields, nothing decoded."""
    return [
        StoredRecord(
            n.id,
            n.topic,
            n.originator_id if isinstance(n.originator_id, UUID) else UUID(n.originator_id),
            n.originator_version,
            bytes(n.state),
        )
        for n in notifications
    ]


def listen_for_saves(
    views: PostgresViews, store: VorgangStore, stop: threading.Event, wake: Callable[[], None]
) -> None:
    """LISTEN for the recorder's NOTIFY until ``stop``; any notification calls ``wake``.

    On a connection of its own; lost, it is opened again after a second (the runners'
    poll keeps them going meanwhile).
    """
    channel = getattr(store.recorder, "channel_name", "vorgang_events")
    while not stop.is_set():
        try:
            with views.connect(autocommit=True) as conn:
                conn.execute(f'LISTEN "{channel}"')
                while not stop.is_set():
                    for _ in conn.notifies(timeout=LISTEN_SLICE_SECONDS, stop_after=1):
                        wake()
        except psycopg.Error:
            stop.wait(1.0)


def describe(
    *,
    name: str,
    position: int,
    head: int,
    oldest_waiting: datetime | None,
    applied_at: str | None,
    heartbeat_at: str | None,
    last_error: str | None,
    error_at: str | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ProjectionStatus:
    """Status from the tracking row: a stalled runner looks different from an idle one."""
    moment = now()
    lag_seconds = (moment - oldest_waiting).total_seconds() if oldest_waiting else 0.0
    beat_age = (
        (moment - datetime.fromisoformat(heartbeat_at)).total_seconds() if heartbeat_at else None
    )
    recent_error = error_at is not None and (
        applied_at is None or datetime.fromisoformat(error_at) > datetime.fromisoformat(applied_at)
    )
    fresh = beat_age is not None and beat_age <= 5 * HEARTBEAT_SECONDS
    if recent_error:
        state = "failing"
    elif fresh:
        state = "catching_up" if oldest_waiting else "idle"
    else:
        # No runner beats any more: with events waiting that is a stall, else just stopped.
        state = "stalled" if oldest_waiting else "stopped"
    return ProjectionStatus(
        name=name,
        position=position,
        head=head,
        lag_events=max(head - position, 0),
        lag_seconds=round(lag_seconds, 3),
        applied_at=applied_at,
        heartbeat_at=heartbeat_at,
        last_error=last_error,
        state=state,
    )

"""The NATS JetStream relay: the integration feed fanned out through a broker.

It reads the feed view (never the event log) in sequence order from a cursor of its own and
publishes each event as its CloudEvent **without personal data** (``cloud_event(row, None)``:
no grant, so nothing sealed is ever opened) to
``<prefix>.<tenant>.<service>.<type without "de.vorgang.">``, e.g.
``vorgang.usingen.road-opening.case.decided.v1``, with the header ``Nats-Msg-Id`` = the
event id.

Exactly once, as far as a broker can give it: a batch is published, every message's
JetStream acknowledgement awaited, and only then is the cursor stored (one short
transaction). A relay killed between the acknowledgement and the cursor publishes the
batch again on restart; JetStream drops those messages as duplicates by ``Nats-Msg-Id``
within the stream's duplicate window (default 2 h, far longer than any restart), so a
consumer sees each event once. Beyond the window (a cursor restored from an old backup)
consumers still dedupe by the event id.

The stream is created if missing (subjects ``<prefix>.>``, retention, max age, duplicate
window from the settings); an existing stream is used as it is configured, and every
publish names it (``Nats-Expected-Stream``), so a subject captured by another stream fails
loudly instead of moving the cursor.

One relay per stream and deployment publishes: it holds a lock in the view database
(PostgreSQL: an advisory lock, ended with the session, e.g. on SIGKILL); another relay
stands by and takes over from the stored cursor.
"""

# ruff: noqa: S608 - the table name is a module constant; every value is a bound parameter

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import nats
import structlog
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from infrastructure.view_database import ProjectionLock, ViewDatabase
from projections.feed_query import FeedQuery, FeedRow, cloud_event

log = structlog.get_logger(__name__)

CURSORS: Final = "nats_relay_cursors"
TYPE_PREFIX: Final = "de.vorgang."
NO_SERVICE: Final = "_"  # a subject token cannot be empty (payment requests have no service)
FIRST_RETRY_SECONDS: Final = 0.5
LONGEST_RETRY_SECONDS: Final = 30.0
_NOT_IN_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def create_relay_tables(views: ViewDatabase) -> None:
    """The relay's cursors (one per stream) in the view database (never rebuilt)."""
    with views.transaction() as tx:
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {CURSORS} (stream TEXT PRIMARY KEY, "
            "position BIGINT NOT NULL, updated_at TEXT NOT NULL)"
        )


def _token(text: str) -> str:
    """One subject token: never empty, no dots, wildcards or blanks."""
    return _NOT_IN_A_TOKEN.sub("_", text) or NO_SERVICE


def subject_for(prefix: str, row: FeedRow) -> str:
    """``<prefix>.<tenant>.<service>.<type without de.vorgang.>`` (its dots kept as tokens)."""
    kind = row.type.removeprefix(TYPE_PREFIX)
    tokens = [_token(part) for part in kind.split(".")]
    return ".".join([prefix, _token(row.tenant), _token(row.service), *tokens])


def message_for(row: FeedRow) -> bytes:
    """The CloudEvent in structured mode, never with personal data (no grant to open it)."""
    body = cloud_event(row, None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def headers_for(row: FeedRow) -> dict[str, str]:
    """``Nats-Msg-Id`` is the event id: JetStream drops a second copy within its window."""
    return {
        "Nats-Msg-Id": row.id,
        "Content-Type": "application/cloudevents+json",
        "Vorgang-Sequence": str(row.sequence),
    }


@dataclass(frozen=True)
class RelayConfig:
    """Where and how the relay publishes (``VORGANG_NATS_*``)."""

    url: str
    stream: str = "VORGANG"
    subject_prefix: str = "vorgang"
    retention: str = "limits"
    max_age_seconds: float = 0.0  # 0: no limit
    duplicate_window_seconds: float = 7200.0
    batch: int = 256
    poll_seconds: float = 0.05
    ack_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.max_age_seconds and self.duplicate_window_seconds > self.max_age_seconds:
            raise ValueError(
                "the duplicate window cannot be longer than the stream's max age "
                f"({self.duplicate_window_seconds:g} s > {self.max_age_seconds:g} s)"
            )

    @classmethod
    def from_settings(cls, settings: Any, url: str | None = None) -> RelayConfig:
        """From the settings; ``url`` overrides ``VORGANG_NATS_URL`` (the CLI's ``--url``)."""
        chosen = url or settings.nats_url
        if not chosen:
            raise ValueError("no NATS URL: set VORGANG_NATS_URL or pass --url")
        return cls(
            url=chosen,
            stream=settings.nats_stream,
            subject_prefix=settings.nats_subject_prefix,
            retention=settings.nats_retention,
            max_age_seconds=settings.nats_max_age_seconds,
            duplicate_window_seconds=settings.nats_duplicate_window_seconds,
            batch=settings.nats_batch,
            poll_seconds=settings.nats_poll_seconds,
        )

    def stream_config(self) -> StreamConfig:
        """The stream the relay creates when it is missing."""
        return StreamConfig(
            name=self.stream,
            subjects=[f"{self.subject_prefix}.>"],
            retention=RetentionPolicy(self.retention),
            max_age=self.max_age_seconds or None,
            duplicate_window=self.duplicate_window_seconds,
            storage=StorageType.FILE,
        )


async def ensure_stream(js: JetStreamContext, config: RelayConfig) -> bool:
    """Create the stream if missing (True); an existing one is left as configured."""
    try:
        info = await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(config.stream_config())
        log.info("nats stream created", stream=config.stream, subjects=f"{config.subject_prefix}.>")
        return True
    window = info.config.duplicate_window or 0
    if window < config.duplicate_window_seconds:  # a restart may then publish an event twice
        log.warning(
            "nats stream's duplicate window is shorter than configured",
            stream=config.stream,
            window_seconds=window,
            configured_seconds=config.duplicate_window_seconds,
        )
    return False


class RelayCursors:
    """How far each stream's relay has published: stored only after JetStream acknowledged."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def position(self, stream: str) -> int:
        """The last sequence acknowledged for the stream (0 before the first)."""
        found = self.views.query(f"SELECT position FROM {CURSORS} WHERE stream = ?", [stream])
        return int(found[0][0]) if found else 0

    def advance(self, stream: str, position: int, moment: str) -> None:
        """Store the position (never backwards: a late relay cannot undo a newer one's)."""
        with self.views.transaction() as tx:
            tx.execute(
                f"INSERT INTO {CURSORS} (stream, position, updated_at) VALUES (?, ?, ?) "
                f"ON CONFLICT (stream) DO UPDATE SET position = CASE WHEN excluded.position > "
                f"{CURSORS}.position THEN excluded.position ELSE {CURSORS}.position END, "
                "updated_at = excluded.updated_at",
                [stream, position, moment],
            )


class PublishFailed(RuntimeError):
    """A message of the batch was not acknowledged; the cursor stays before it."""


class NatsRelay:
    """Publishes the feed view to JetStream from its cursor, while it holds the lock."""

    def __init__(
        self,
        config: RelayConfig,
        views: ViewDatabase,
        *,
        cursors: RelayCursors | None = None,
    ) -> None:
        self.config = config
        self.views = views
        self.query = FeedQuery(views)
        self.cursors = cursors or RelayCursors(views)
        self.position = 0
        self.published = 0  # messages JetStream stored
        self.duplicates = 0  # messages JetStream dropped as already stored (a restart)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock: ProjectionLock | None = None

    # --------------------------------------------------------------- Background

    def start(self) -> None:
        """Relay in a background thread with an event loop of its own."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="nats-relay", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask it to stop, without waiting."""
        self._stop.set()

    def stop(self) -> None:
        """Stop after the batch in flight, release the lock."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run(self) -> None:
        """Relay until asked to stop (the CLI's main loop; a thread's target)."""
        asyncio.run(self.relay())

    # --------------------------------------------------------------- the loop

    async def relay(self) -> None:
        """Connect (again and again, backing off), make sure of the stream, publish."""
        pause = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            try:
                client = await nats.connect(
                    self.config.url,
                    name="vorgang-relay",
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    allow_reconnect=True,
                )
            except Exception as error:  # no server yet: the cursor waits where it is
                log.warning("nats unreachable", error=type(error).__name__, retry_in=pause)
                await self._pause(pause)
                pause = min(pause * 2, LONGEST_RETRY_SECONDS)
                continue
            pause = FIRST_RETRY_SECONDS
            try:
                js = client.jetstream(timeout=self.config.ack_timeout_seconds)
                await ensure_stream(js, self.config)
                await self.follow(js)
            except Exception as error:  # a timeout, the database away: again from the cursor
                log.warning("nats relay interrupted", error=type(error).__name__)
                self._release()
                await self._pause(pause)
            finally:
                self._release()
                try:
                    await client.close()
                except Exception as error:  # already gone
                    log.debug("nats close failed", error=type(error).__name__)

    async def follow(self, js: JetStreamContext) -> None:
        """While holding the lock: publish every batch after the cursor, then wait for more."""
        while not self._stop.is_set():
            if not self._holding():
                await self._pause(max(self.config.poll_seconds, 0.25))  # another relay works
                continue
            if not await self.relay_batch(js):
                await self._pause(self.config.poll_seconds)

    async def relay_batch(self, js: JetStreamContext) -> int:
        """Publish the next batch after the cursor; returns how many were acknowledged."""
        rows = self.query.rows(None, after=self.position, limit=self.config.batch)
        if not rows:
            return 0
        acknowledged = await self.publish(js, rows)
        if acknowledged:
            self.cursors.advance(self.config.stream, acknowledged[-1].sequence, _now())
            self.position = acknowledged[-1].sequence
        if len(acknowledged) < len(rows):
            raise PublishFailed(f"{len(rows) - len(acknowledged)} of {len(rows)} not acknowledged")
        return len(acknowledged)

    async def publish(self, js: JetStreamContext, rows: Sequence[FeedRow]) -> list[FeedRow]:
        """Publish the rows at once and await every acknowledgement; returns the rows up to
        the first that was not acknowledged (the cursor may move past those only)."""
        outcomes = await asyncio.gather(
            *(
                js.publish(
                    subject_for(self.config.subject_prefix, row),
                    message_for(row),
                    stream=self.config.stream,
                    headers=headers_for(row),
                )
                for row in rows
            ),
            return_exceptions=True,
        )
        acknowledged: list[FeedRow] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning(
                    "nats publish failed", sequence=row.sequence, error=type(outcome).__name__
                )
                break
            acknowledged.append(row)
            if outcome.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
        return acknowledged

    # --------------------------------------------------------------- lock and pauses

    def _holding(self) -> bool:
        if self._lock is not None and self._lock.alive():
            return True
        self._lock = None
        self._lock = self.views.try_lock(f"nats_relay:{self.config.stream}")
        if self._lock is None:
            return False
        self.position = self.cursors.position(self.config.stream)  # where the last holder left
        log.info("nats relay publishing", stream=self.config.stream, after=self.position)
        return True

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            try:
                lock.release()
            except Exception as error:
                log.warning("nats relay lock not released", error=type(error).__name__)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake within a tick once asked to stop."""
        end = asyncio.get_running_loop().time() + seconds
        while not self._stop.is_set():
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def build_relay(settings: Any, views: ViewDatabase, url: str | None = None) -> NatsRelay:
    """The relay from the settings (its table is created with the others, on start)."""
    return NatsRelay(RelayConfig.from_settings(settings, url), views)

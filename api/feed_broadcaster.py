"""One reader of new feed events per process, shared by every open stream and long-poll.

Streams and long-polls are ``async`` and hold neither a thread nor a
database connection while they wait. A single task reads what the feed projection
published since it last looked, at most once per tick, and only when something may be new:
in a process that runs the projections that is when the runner's position moved (no query
at all while idle); with a separate worker, a cheap poll once a second. It hands each new
batch to every subscriber, which filters it and writes it out.

A subscriber that cannot keep up (its queue is full) is cut off rather than slowing the
others or growing memory; its client reconnects with ``Last-Event-ID`` and resumes exactly
where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from api.view_broadcaster import ViewBroadcaster
from projections.feed_query import FeedRow

log = structlog.get_logger(__name__)
T = TypeVar("T")

READ_LIMIT = 500
QUEUE_BATCHES = 256
READER_THREADS = 4  # feed reads run on these threads only, however many streams catch up


@dataclass(frozen=True)
class FeedSource:
    """Where the broadcaster reads: new rows, the head, and a cheap "may be new" signal."""

    rows_after: Callable[[int, int], list[FeedRow]]  # (after, limit) → rows, blocking
    head: Callable[[], int]  # the highest published sequence, blocking
    moved: Callable[[], int | None]  # the in-process runner's position, None without one


@dataclass(eq=False)
class Subscription:
    """One open stream's inbox of batches; ``cut_off`` once it fell too far behind."""

    queue: asyncio.Queue[list[FeedRow]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_BATCHES)
    )
    cut_off: bool = False

    def offer(self, rows: list[FeedRow]) -> None:
        if self.cut_off:
            return
        try:
            self.queue.put_nowait(rows)
        except asyncio.QueueFull:
            self.cut_off = True


class FeedBroadcaster(ViewBroadcaster[FeedSource]):
    """Reads new feed rows once and fans them out; runs only while someone listens."""

    name = "feed"

    def __init__(
        self,
        source: Callable[[], FeedSource],
        *,
        tick_seconds: float = 0.05,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            source,
            tick_seconds=tick_seconds,
            poll_seconds=poll_seconds,
            reader_threads=READER_THREADS,
        )
        self._subscribers: set[Subscription] = set()
        self._waiters = 0
        self._changed: asyncio.Condition | None = None
        self._starting: asyncio.Lock | None = None
        self.last = -1  # the highest sequence read so far (-1: not started)
        self.reads = 0  # database reads made, for tests and metrics

    @property
    def listening(self) -> int:
        """Open streams and waiting long-polls."""
        return len(self._subscribers) + self._waiters

    async def subscribe(self) -> Subscription:
        """A new subscription; every row after ``self.last`` at this moment will reach it."""
        await self._ensure_running()
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a closed stream."""
        self._subscribers.discard(subscription)

    async def wait_beyond(self, sequence: int, timeout: float) -> bool:
        """Wait until a row after ``sequence`` was published (True) or ``timeout`` passed."""
        await self._ensure_running()
        assert self._changed is not None
        self._waiters += 1
        try:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self.last > sequence), timeout
                    )
            return self.last > sequence
        finally:
            self._waiters -= 1

    async def _ensure_running(self) -> None:
        if self._changed is None or self._starting is None:
            self._changed = asyncio.Condition()
            self._starting = asyncio.Lock()
        async with self._starting:
            if not self.running:
                self.last = await self.read(self._source().head)
                self._start()

    async def _read(self, source: FeedSource) -> None:
        while True:
            rows = await self.read(source.rows_after, self.last, READ_LIMIT)
            self.reads += 1
            if not rows:
                return
            self.last = rows[-1].sequence
            for subscription in list(self._subscribers):
                subscription.offer(rows)
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()
            if len(rows) < READ_LIMIT:
                return

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
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

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


class FeedBroadcaster:
    """Reads new feed rows once and fans them out; runs only while someone listens."""

    def __init__(
        self,
        source: Callable[[], FeedSource],
        *,
        tick_seconds: float = 0.05,
        poll_seconds: float = 1.0,
    ) -> None:
        self._source = source  # called each round: the database may have been reopened
        self.tick = tick_seconds
        self.poll = poll_seconds
        self._subscribers: set[Subscription] = set()
        self._waiters = 0
        self._changed: asyncio.Condition | None = None
        self._starting: asyncio.Lock | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self.last = -1  # the highest sequence read so far (-1: not started)
        self.reads = 0  # database reads made, for tests and metrics

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking feed read on one of the broadcaster's few reader threads.

        A hundred streams catching up at once queue here instead of taking a hundred
        threads; and as only these threads read, SQLite opens a connection for each of
        them, not for every worker thread of the server.
        """
        if self._readers is None:
            self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="feed-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(call, *args, **kwargs))

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

    async def stop(self) -> None:
        """Cancel the reader and end its threads (at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._readers is not None:
            self._readers.shutdown(wait=False, cancel_futures=True)
            self._readers = None

    async def _ensure_running(self) -> None:
        if self._changed is None or self._starting is None:
            self._changed = asyncio.Condition()
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._task is None or self._task.done():
                self.last = await self.read(self._source().head)
                self._task = asyncio.create_task(self._run(), name="feed-broadcaster")

    async def _run(self) -> None:
        seen: int | None = None
        idle = 0.0
        while self.listening:
            try:
                source = self._source()
                moved = source.moved()
                due = moved is not None and moved != seen
                if not due and moved is None and idle >= self.poll:
                    due = True  # a separate worker applies the feed: poll the view
                if due:
                    seen, idle = moved, 0.0
                    await self._read(source)
                    continue
            except Exception as error:  # the database is away: keep listening, try again
                log.warning("feed broadcaster cannot read", error=type(error).__name__)
                seen = None
                await asyncio.sleep(self.poll)
                continue
            await asyncio.sleep(self.tick)
            idle += self.tick
        self._task = None

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

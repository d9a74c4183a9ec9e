"""One reader per process for a view many streams watch: the loop the feed and the monitor share.

A single task looks whether the view moved — the in-process runner's position, no query at
all while idle; with a separate worker applying the view, a cheap poll every ``poll``
seconds — and when it did, reads what changed once (``_read``) for every listener. Blocking
reads run on a few threads of the broadcaster's own, so a hundred listeners catching up queue
there rather than take a hundred threads (and SQLite opens a connection per reader thread, not
per server thread). The database going away is logged and retried; the task ends with the
last listener and starts again with the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


class MovingView(Protocol):
    """What the loop asks of a view's source: where the view stands, if known in-process."""

    def moved(self) -> int | None:
        """The runner's position (None: another process applies the view; poll it)."""


S = TypeVar("S", bound=MovingView)


class ViewBroadcaster(Generic[S]):
    """Watches one view for every listener of the process; subclasses read and hand out."""

    name = "view"  # names the task, the reader threads and the log line

    def __init__(
        self,
        source: Callable[[], S],
        *,
        tick_seconds: float = 0.05,
        poll_seconds: float = 1.0,
        reader_threads: int = 2,
    ) -> None:
        self._source = source  # called each round: the database may have been reopened
        self.tick = tick_seconds
        self.poll = poll_seconds
        self._reader_threads = reader_threads
        self._readers: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> int:
        """How many listen now; the loop ends when nobody does."""
        raise NotImplementedError

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking read on one of the broadcaster's few reader threads."""
        if self._readers is None:
            self._readers = ThreadPoolExecutor(
                self._reader_threads, thread_name_prefix=f"{self.name}-read"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(call, *args, **kwargs))

    def _start(self) -> None:
        """Start the loop if it is not running (called under the subclass's start lock)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-broadcaster")

    @property
    def running(self) -> bool:
        """The loop runs."""
        return self._task is not None and not self._task.done()

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

    async def _run(self) -> None:
        seen: int | None = None
        idle = 0.0
        while self.listening:
            try:
                source = self._source()
                moved = source.moved()
                due = moved is not None and moved != seen
                if not due and moved is None and idle >= self.poll:
                    due = True  # a separate worker applies the view: poll it
                if due:
                    seen, idle = moved, 0.0
                    await self._read(source)
                    continue
            except Exception as error:  # the database is away: keep listening, try again
                log.warning(f"{self.name} broadcaster cannot read", error=type(error).__name__)
                seen = None
                await asyncio.sleep(self.poll)
                continue
            await asyncio.sleep(self.tick)
            idle += self.tick
        self._task = None

    async def _read(self, source: S) -> None:
        """Read what changed and hand it to the listeners."""
        raise NotImplementedError

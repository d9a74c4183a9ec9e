"""One reader of changed call boards per process, shared by every open waiting-room screen.

Forty screens must not take forty threads or database connections (decision 23 and
the feed's decision 11): a single task notices that the call board view moved — the
in-process runner's position, no query while idle; with a separate worker, a cheap poll —
reads which boards changed, reads each changed board once, and hands it to every screen that
shows it. A board is a whole snapshot, so a screen that lags keeps only the newest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from projections.call_board_query import Board, Changed

log = structlog.get_logger(__name__)
T = TypeVar("T")

BoardKey = tuple[str, str, str]  # tenant, office, day
READER_THREADS = 2
QUEUED_BOARDS = 4
CHANGED_PAGE = 500


@dataclass(frozen=True)
class BoardSource:
    """Where the broadcaster reads: changed boards, one board, and a cheap "may be new"."""

    changed_after: Callable[[int, int], list[Changed]]  # (after, limit), blocking
    board: Callable[[str, str, str], Board]  # (tenant, office, day) → board, blocking
    head: Callable[[], int]  # the highest board position, blocking
    moved: Callable[[], int | None]  # the in-process runner's position, None without one


@dataclass(eq=False)
class Screen:
    """One open screen's inbox of boards; only the newest matters."""

    key: BoardKey
    queue: asyncio.Queue[Board] = field(default_factory=lambda: asyncio.Queue(QUEUED_BOARDS))

    def offer(self, board: Board) -> None:
        """Queue a board; a full queue drops its oldest (a newer board supersedes it)."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(board)


class MonitorBroadcaster:
    """Reads changed boards once and fans them out; runs only while a screen listens."""

    def __init__(
        self,
        source: Callable[[], BoardSource],
        *,
        tick_seconds: float = 0.05,
        poll_seconds: float = 1.0,
    ) -> None:
        self._source = source  # called each round: the database may have been reopened
        self.tick = tick_seconds
        self.poll = poll_seconds
        self._screens: dict[BoardKey, set[Screen]] = defaultdict(set)
        self._starting: asyncio.Lock | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self.last = -1  # the highest board position read so far
        self.reads = 0  # board reads made, for tests and metrics

    async def read(self, call: Callable[..., T], *args: Any) -> T:
        """Run a blocking read on the broadcaster's own few threads."""
        if self._readers is None:
            self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="monitor-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(call, *args))

    def source(self) -> BoardSource:
        """Where to read now (the database may have been reopened since)."""
        return self._source()

    @property
    def listening(self) -> int:
        """Open screens."""
        return sum(len(screens) for screens in self._screens.values())

    async def subscribe(self, key: BoardKey) -> Screen:
        """A new screen; every change of its board after this moment reaches it."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._task is None or self._task.done():
                self.last = await self.read(self._source().head)
                self._task = asyncio.create_task(self._run(), name="monitor-broadcaster")
            screen = Screen(key)
            self._screens[key].add(screen)
        return screen

    def unsubscribe(self, screen: Screen) -> None:
        """Stop delivering to a closed screen."""
        screens = self._screens.get(screen.key)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self._screens[screen.key]

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
                log.warning("monitor broadcaster cannot read", error=type(error).__name__)
                seen = None
                await asyncio.sleep(self.poll)
                continue
            await asyncio.sleep(self.tick)
            idle += self.tick
        self._task = None

    async def _read(self, source: BoardSource) -> None:
        keys: set[BoardKey] = set()
        while True:
            changed = await self.read(source.changed_after, self.last, CHANGED_PAGE)
            self.reads += 1
            if changed:
                self.last = changed[-1].position
                keys |= {(c.tenant, c.office, c.day) for c in changed}
            if len(changed) < CHANGED_PAGE:
                break
        for key in keys:
            if key in self._screens:  # each changed board read once, however many show it
                board = await self.read(source.board, *key)
                for screen in list(self._screens.get(key, ())):
                    screen.offer(board)

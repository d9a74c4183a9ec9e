"""One reader of changed call boards per process, shared by every open waiting-room screen.

Forty screens must not take forty threads or database connections (decision 23 and
the feed's decision 11): a single task notices that the call board view moved — the
in-process runner's position, no query while idle; with a separate worker, a cheap poll —
reads which boards changed, reads each changed board once, and hands it to every screen that
shows it. A board is a whole snapshot, so a screen that lags keeps only the newest one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from api.view_broadcaster import ViewBroadcaster
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


class MonitorBroadcaster(ViewBroadcaster[BoardSource]):
    """Reads changed boards once and fans them out; runs only while a screen listens."""

    name = "monitor"

    def __init__(
        self,
        source: Callable[[], BoardSource],
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
        self._screens: dict[BoardKey, set[Screen]] = defaultdict(set)
        self._starting: asyncio.Lock | None = None
        self.last = -1  # the highest board position read so far
        self.reads = 0  # board reads made, for tests and metrics

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
            if not self.running:
                self.last = await self.read(self._source().head)
                self._start()
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

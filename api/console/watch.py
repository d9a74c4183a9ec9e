"""One watcher of the inbox view per process: tells open console pages their town's inbox moved.

Built on ``ViewBroadcaster`` (the loop the feed and the Bürgermonitor share): while nobody
listens nothing runs; while someone does, a move of the inbox runner (or, with a separate
worker applying the view, a cheap poll) reads one small signature per town — how many rows,
the highest position — and signals the listeners of each town whose signature changed. A
signal carries only the view's position: the page fetches its rows through the checked read.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from api.ports import ReadSide
from api.provider import VorgangProvider
from api.view_broadcaster import ViewBroadcaster
from projections.inbox import Inbox

Signature = tuple[int, int]  # rows, highest position
QUEUED_SIGNALS = 4


@dataclass(frozen=True)
class InboxSource:
    """Where the watcher reads: each town's signature, and the runner's position."""

    signatures: Callable[[], dict[str, Signature]]  # blocking
    moved: Callable[[], int | None]


def inbox_source(read_side: ReadSide) -> InboxSource:
    """The inbox view of this process's read side."""
    table = Inbox().table
    runner = read_side.runners["inbox"]

    def signatures() -> dict[str, Signature]:
        rows = read_side.views.query(
            f"SELECT tenant, COUNT(*), COALESCE(MAX(position), 0) FROM {table} "  # noqa: S608
            "GROUP BY tenant"
        )
        return {str(t): (int(n), int(p)) for t, n, p in rows}

    def moved() -> int | None:
        return runner.known_position if read_side.running else None

    return InboxSource(signatures=signatures, moved=moved)


class InboxWatch(ViewBroadcaster[InboxSource]):
    """Signals each town's open console pages when that town's inbox changed."""

    name = "console-inbox"

    def __init__(self, source: Callable[[], InboxSource], **timing: float) -> None:
        super().__init__(source, reader_threads=1, **timing)
        self._listeners: dict[str, set[asyncio.Queue[int]]] = defaultdict(set)
        self._starting: asyncio.Lock | None = None
        self._seen: dict[str, Signature] = {}

    @property
    def listening(self) -> int:
        """Open pages."""
        return sum(len(queues) for queues in self._listeners.values())

    async def subscribe(self, tenant: str) -> asyncio.Queue[int]:
        """A new page of ``tenant``; every later change of its inbox signals it."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if not self.running:
                self._seen = await self.read(self._source().signatures)
                self._start()
            queue: asyncio.Queue[int] = asyncio.Queue(QUEUED_SIGNALS)
            self._listeners[tenant].add(queue)
        return queue

    def unsubscribe(self, tenant: str, queue: asyncio.Queue[int]) -> None:
        """A page closed."""
        queues = self._listeners.get(tenant)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._listeners[tenant]

    async def _read(self, source: InboxSource) -> None:
        now = await self.read(source.signatures)
        changed = {t for t in set(now) | set(self._seen) if now.get(t) != self._seen.get(t)}
        self._seen = now
        for tenant in changed:
            position = now.get(tenant, (0, 0))[1]
            for queue in list(self._listeners.get(tenant, ())):
                if queue.full():  # a signal is "look again": one waiting is enough
                    continue
                queue.put_nowait(position)


def inbox_watch(request: Request) -> InboxWatch:
    """The process's one inbox watcher, made on first use in the server's loop."""
    state = request.app.state
    if getattr(state, "console_inbox_watch", None) is None:
        provider: VorgangProvider = state.provider
        state.console_inbox_watch = InboxWatch(lambda: inbox_source(provider.get().projections))
    watch: InboxWatch = state.console_inbox_watch
    return watch

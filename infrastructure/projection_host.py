"""The projections of a process: built once, started under `serve` or `worker`, woken on save."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

import anyio
import psycopg

from api.ports import BeyondTheHead, StillCatchingUp
from application.store import VorgangStore
from domain.personal_data import Erased, PersonalData, PersonalValue
from infrastructure.projection_runner import (
    ProjectionRunner,
    ProjectionStatus,
    listen_for_saves,
    set_up_views,
    views_being_built,
)
from infrastructure.view_database import PostgresViews, ViewDatabase
from projections.appointment_due import AppointmentDue
from projections.appointment_stats import AppointmentStats
from projections.audit_trail import AuditTrail
from projections.call_board import CallBoard
from projections.case_stats import CaseStats
from projections.due_timers import DueTimers
from projections.feed import Feed
from projections.holiday_offerings import HolidayOfferings
from projections.inbox import Inbox
from projections.integrity_chain import AfterBatch, IntegrityChain
from projections.markets import Markets
from projections.open_dispatches import OpenDispatches
from projections.projection import Projection
from projections.receivables import Receivables
from projections.sealed import Sealed
from projections.search import CaseSearch
from projections.search_terms import SearchTerms
from projections.water_meters import WaterMeters

# While a request waits for a view, it looks at the in-process runner's position (memory)
# at every tick and reads the tracking row (a short query in a worker thread) now and then,
# for a view applied by another process.
WAIT_TICK_SECONDS = (0.005, 0.1)  # first and longest pause between looks
READ_EVERY_SECONDS = 0.25


def case_search(store: VorgangStore, dialect: str, search_key: bytes) -> CaseSearch:
    """The case search, opening sealed personal values with the store's own keys."""
    transcoder = store.mapper.transcoder

    def open_personal(sealed: Sealed) -> PersonalValue:
        opened = transcoder.decode(sealed.as_json().encode())
        if not isinstance(opened, PersonalData | Erased):
            raise TypeError(f"a sealed value opened as {type(opened).__name__}")
        return opened

    return CaseSearch(dialect, SearchTerms(search_key), open_personal)


def default_projections(
    store: VorgangStore,
    views: ViewDatabase,
    search_key: bytes,
    *,
    chain_checkpoints: AfterBatch | None = None,
) -> list[Projection]:
    """The read models every deployment keeps, and the hash chain over the log (signing a
    checkpoint in its batch when ``chain_checkpoints`` says one is due)."""
    return [
        IntegrityChain(chain_checkpoints),
        Inbox(),
        AuditTrail(),
        CaseStats(),
        Feed(),
        DueTimers(),
        OpenDispatches(),
        AppointmentStats(),
        AppointmentDue(),
        CallBoard(),
        Receivables(),
        WaterMeters(),
        HolidayOfferings(),
        Markets(),
        case_search(store, views.dialect, search_key),
    ]


class Background(Protocol):
    """Work that runs beside the projections in the same process (the scheduler)."""

    def start(self) -> None:
        """Start in a background thread."""

    def request_stop(self) -> None:
        """Ask it to stop, without waiting."""

    def stop(self) -> None:
        """Stop and wait for it."""


class ProjectionHost:
    """Runners for every projection over one store and one view database."""

    def __init__(
        self,
        store: VorgangStore,
        views: ViewDatabase,
        projections: Sequence[Projection] | None = None,
        *,
        search_key: bytes,
        poll_seconds: float = 1.0,
        chain_checkpoints: AfterBatch | None = None,
    ) -> None:
        self.store = store
        self.views = views
        if projections is None:
            projections = default_projections(
                store, views, search_key, chain_checkpoints=chain_checkpoints
            )
        self.runners = {
            p.name: ProjectionRunner(store, views, p, poll_seconds=poll_seconds, set_up=False)
            for p in projections
        }
        built = set_up_views(views, projections)  # every view's tables: one transaction
        for runner in self.runners.values():
            runner.set_built(runner.name in built)
        store.after_save(self.wake)
        self.running = False
        self.kept_elsewhere = False  # another process applies the log to the views
        self.waiting = 0  # requests waiting in ``reach`` right now
        self.beside: list[Background] = []  # started and stopped with the projections
        self._stop_listening = threading.Event()
        self._listener: threading.Thread | None = None

    def run_beside(self, work: Background) -> None:
        """Start ``work`` whenever the projections start here (``serve``, ``worker``).

        The scheduler runs where the read models are kept: in the one process of ``serve``,
        in the projection process of ``serve --workers``, and in every ``vorgang worker``
        (its firings are claimed once across all of them).
        """
        self.beside.append(work)

    def start(self) -> None:
        """Keep every projection caught up in background threads.

        On PostgreSQL one listener for the log's NOTIFY wakes them all: one connection and
        one thread per process, not one per projection.
        """
        for runner in self.runners.values():
            runner.start(listen=False)
        if isinstance(self.views, PostgresViews) and self._listener is None:
            self._stop_listening.clear()
            self._listener = threading.Thread(
                target=listen_for_saves,
                args=(self.views, self.store, self._stop_listening, self.wake),
                name="listen-projections",
                daemon=True,
            )
            self._listener.start()
        for work in self.beside:
            work.start()
        self.running = True

    @property
    def applies_inline(self) -> bool:
        """True where nothing else applies the log: a read catches the view up itself."""
        return not self.running and not self.kept_elsewhere

    def leave_to_another_process(self) -> None:
        """Another process keeps the views: reads wait for it and never apply the log here.

        (Applying here too would race that process batch for batch: each would fail the
        other's tracking update, a request with an error, the process with a back-off.)
        """
        self.kept_elsewhere = True

    def stop(self) -> None:
        """Stop the background threads (all asked at once, then awaited)."""
        for work in self.beside:
            work.request_stop()
        for runner in self.runners.values():
            runner.request_stop()
        self._stop_listening.set()
        self._wake_listeners()
        for work in self.beside:
            work.stop()
        for runner in self.runners.values():
            runner.stop()
        if self._listener is not None:
            self._listener.join(timeout=10)
            self._listener = None
        self.running = False

    def _wake_listeners(self) -> None:
        """One NOTIFY on the log's channel: the listener sees its stop request now rather
        than at the end of its listening slice (a shutdown without the wait)."""
        if not isinstance(self.views, PostgresViews) or not self.running:
            return
        channel = getattr(self.store.recorder, "channel_name", "vorgang_events")
        with contextlib.suppress(psycopg.Error), self.views.transaction() as tx:
            tx.execute(f'NOTIFY "{channel}"')  # on a pooled connection: no connect for it

    def wake(self) -> None:
        """A save happened in this process: look at the log now."""
        for runner in self.runners.values():
            runner.wake()

    def catch_up(self) -> int:
        """Apply everything up to the head now, in this thread (CLI, tests)."""
        return sum(runner.catch_up() for runner in self.runners.values())

    async def reach(self, name: str, position: int, timeout: float) -> int:
        """Read-your-writes without holding a thread: the view's position once it includes
        ``position``; ``BeyondTheHead`` at once for a position the log has not reached,
        ``StillCatchingUp`` if the view is still behind after ``timeout`` seconds.

        The wait itself is on the event loop; only the short reads of the tracking row
        and the head run in a worker thread, so any number of waiting requests leave the
        thread pool to everyone else (``/health`` among them).
        """
        runner = self.runners[name]
        self.waiting += 1
        try:
            current = await anyio.to_thread.run_sync(self._look, name)
            if current >= position:
                return current
            head = await anyio.to_thread.run_sync(self.head)
            if position > head:
                raise BeyondTheHead(position, head)
            deadline = time.monotonic() + timeout
            pause, longest = WAIT_TICK_SECONDS
            next_read = time.monotonic() + READ_EVERY_SECONDS
            while True:
                if runner.known_position >= position:
                    return runner.known_position
                now = time.monotonic()
                if now >= next_read:
                    current = await anyio.to_thread.run_sync(self._look, name)
                    if current >= position:
                        return current
                    next_read = time.monotonic() + READ_EVERY_SECONDS
                if now >= deadline:
                    raise StillCatchingUp(name, max(current, runner.known_position), position)
                runner.wake()
                await anyio.sleep(min(pause, max(deadline - now, 0)))
                pause = min(pause * 2, longest)
        finally:
            self.waiting -= 1

    def _look(self, name: str) -> int:
        """The view's position from its tracking row (caught up first without runners)."""
        runner = self.runners[name]
        if self.applies_inline:
            runner.catch_up()  # CLI and tests without background threads
        return runner.position()

    def head(self) -> int:
        """The head of the notification log."""
        return self.store.recorder.max_notification_id() or 0

    def wait_for(self, name: str, position: int, timeout: float) -> bool:
        """Read-your-writes: wait until the named view has reached a log position."""
        runner = self.runners[name]
        if self.applies_inline:
            deadline = time.monotonic() + timeout
            while runner.position() < position and time.monotonic() < deadline:
                runner.catch_up()
        return runner.wait_for(position, timeout)

    def caught_up(self, name: str, timeout: float) -> bool:
        """Whether the named view reached the log's head as of now within ``timeout``: a
        directory that answers from the view where it is current, else from the log."""
        return self.wait_for(name, self.head(), timeout)

    def being_built(self) -> dict[str, tuple[int, int]]:
        """Views of this version not built yet: name → (position, head).

        A new view version is filled from the start of the log; until it first reaches the
        head, the process is not ready, so a rolling deployment keeps the previous version
        (other processes, other tables) serving meanwhile.
        """
        building = views_being_built(self.views, [r.name for r in self.runners.values()])
        if not building:
            return {}
        head = self.head()
        return {name: (position, head) for name, position in building.items()}

    def open_sealed(self, text: str) -> Any:
        """A sealed value of a view, opened with the store's keys (``Erased`` once erased)."""
        return self.store.mapper.transcoder.decode(text.encode())

    def statuses(self) -> list[ProjectionStatus]:
        """Every projection's status."""
        return [runner.status() for runner in self.runners.values()]

"""Group commit: saves that arrive while one is being written go together in the next write.

The first save to arrive writes alone. Saves that arrive while a write is under way queue;
when it is done, one of them (the next leader, in its own thread) takes every save queued
by then and writes them in one transaction. A lone save pays nothing but a lock; under
load, one commit (one WAL flush, one hold of the events table's lock) serves many saves.

The write function decides each save's outcome: it calls ``done`` or ``failed`` on every
save of the batch. ``GroupCommit`` knows nothing of databases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class PendingSave:
    """One save waiting for its batch: what to write, and then its outcome."""

    __slots__ = ("_error", "_ids", "args", "finished")

    def __init__(self, args: Any) -> None:
        self.args = args
        self.finished = False
        self._ids: list[int] = []
        self._error: BaseException | None = None

    def done(self, ids: list[int]) -> None:
        """Written: these are the notification ids of its events."""
        self._ids = ids
        self.finished = True

    def failed(self, error: BaseException) -> None:
        """Not written (of this save, nothing is stored)."""
        self._error = error
        self.finished = True

    def outcome(self) -> list[int]:
        """The ids, or the error raised again in the saving thread (a fresh instance each)."""
        error = self._error
        if error is None:
            return self._ids
        try:
            again = type(error)(*error.args)
        except Exception:  # an error class with a constructor of its own: raise it as is
            raise error from None
        raise again from error


Write = Callable[[Sequence[PendingSave]], None]


class GroupCommit:
    """Writes saves of concurrent threads in batches, leader by leader."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._changed = threading.Condition(threading.Lock())
        self._queue: list[PendingSave] = []
        self._writing = False

    def save(self, args: Any) -> list[int]:
        """Write ``args`` in the next batch (leading it if no batch is being written)."""
        pending = PendingSave(args)
        with self._changed:
            self._queue.append(pending)
            while self._writing and not pending.finished:
                self._changed.wait()
            if not pending.finished:
                self._writing = True
                batch, self._queue = self._queue, []
        if not pending.finished:
            try:
                self._write_batch(batch)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()
        return pending.outcome()

    def queued(self) -> int:
        """Saves waiting for the batch being written to finish."""
        with self._changed:
            return len(self._queue)

    def _write_batch(self, batch: list[PendingSave]) -> None:
        try:
            self._write(batch)
        except BaseException as error:  # every save of the batch hears of it
            for pending in batch:
                if not pending.finished:
                    pending.failed(error)
            if not isinstance(error, Exception):
                raise
        for pending in batch:
            if not pending.finished:
                pending.failed(RuntimeError("the batch gave this save no outcome"))

"""The notification log read ahead in decoded batches, for a rebuild (and its benchmark).

A rebuild reads the whole log once and applies it batch by batch. While the views' database
writes one batch, a thread of its own already selects and decodes the next, so the two
overlap instead of taking turns; at most two batches are held at any time, whatever the
length of the log. Each event is decoded once, for every view the batch is applied to.

Decoding and applying a batch make many objects that live exactly as long as the batch,
which is what makes Python's cyclic garbage collector run its full collection again and
again, each time walking every object of the process (a quarter of a rebuild's time,
measured). ``collection_paused`` holds automatic collections off meanwhile; those objects
are freed by reference counting as each batch ends, and a young collection every few
batches takes what reference counting cannot (a rebuild of 25,000 events left 23 objects
to it), so memory stays bounded by the batches in flight.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper

from application.store import VorgangStore
from projections.projection import Applied

COLLECT_EVERY = 8  # batches between two young collections while collection is paused


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """Events after ``start`` up to ``end``, decoded once, each with its topic."""

    start: int
    end: int
    events: list[tuple[str, Applied]]

    def for_topics(self, topics: frozenset[str] | None) -> list[Applied]:
        """The events of these topics (all with None), in log order."""
        if topics is None:
            return [applied for _, applied in self.events]
        return [applied for topic, applied in self.events if topic in topics]


def read_batch(
    store: VorgangStore,
    mapper: Mapper[Any],
    topics: Sequence[str],
    start: int,
    head: int,
    size: int,
) -> DecodedBatch:
    """Up to ``size`` notifications after ``start`` (not beyond ``head``), decoded.

    The batch ends at its last notification when full, else at ``head``: a filtered read
    still advances over the events it skips (docs/architecture.md, decision 5).
    """
    notifications = store.recorder.select_notifications(
        start=start + 1, limit=size, stop=head, topics=topics
    )
    events = [(n.topic, Applied(n.id, mapper.to_domain_event(n))) for n in notifications]
    end = notifications[-1].id if len(notifications) == size else head
    return DecodedBatch(start, end, events)


@contextmanager
def log_ahead(
    store: VorgangStore,
    mapper: Mapper[Any],
    topics: Sequence[str],
    start: int,
    head: int,
    size: int,
) -> Iterator[Iterator[DecodedBatch]]:
    """Decoded batches from ``start`` to ``head``, the next one read while this one is used.

    Inside, automatic garbage collection is paused; leaving waits for a read in flight.
    """
    with collection_paused(), closing(_read_ahead(store, mapper, topics, start, head, size)) as it:
        yield it


def _read_ahead(
    store: VorgangStore,
    mapper: Mapper[Any],
    topics: Sequence[str],
    start: int,
    head: int,
    size: int,
) -> Generator[DecodedBatch, None, None]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-ahead") as reader:
        ahead: Future[DecodedBatch] | None = None
        if start < head:
            ahead = reader.submit(read_batch, store, mapper, topics, start, head, size)
        for count in itertools.count(1):
            if ahead is None:
                return
            batch = ahead.result()
            ahead = None
            if batch.end < head:
                ahead = reader.submit(read_batch, store, mapper, topics, batch.end, head, size)
            yield batch
            del batch
            if count % COLLECT_EVERY == 0:
                gc.collect(1)  # what reference counting left (cycles), among young objects


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection inside (across threads: until the last leaves).

    Collection resumes as it was when the last pause ends; one disabled by the process
    stays disabled.
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()

"""Which aggregates the save running in this thread creates (their first event is in it),
and which save that is.

The store marks them while it encodes and records a save; the personal-data key store asks,
so a data key for a case that is only now being created is made without first looking for
one in the database: none can exist, because key rows are only ever written in the
transaction of the events that use them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

_saving = threading.local()


@contextmanager
def creating(aggregate_ids: frozenset[UUID]) -> Iterator[None]:
    """Within this block (in this thread) these aggregates are being created.

    Each outermost block is a save of its own (``current_save`` numbers them).
    """
    before: frozenset[UUID] = getattr(_saving, "ids", frozenset())
    depth: int = getattr(_saving, "depth", 0)
    if depth == 0:
        _saving.number = getattr(_saving, "number", 0) + 1
    _saving.ids = before | aggregate_ids
    _saving.depth = depth + 1
    try:
        yield
    finally:
        _saving.ids = before
        _saving.depth = depth


def current_save() -> int:
    """The number of the save running in this thread (0 before its first; the last one's
    after it ended): what is made for a save belongs to it alone."""
    return int(getattr(_saving, "number", 0))


def is_being_created(aggregate_id: UUID) -> bool:
    """True while the save running in this thread creates this aggregate."""
    ids: frozenset[UUID] = getattr(_saving, "ids", frozenset())
    return aggregate_id in ids

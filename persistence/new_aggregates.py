"""Which aggregates the save running in this thread creates (their first event is in it).

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
    """Within this block (in this thread) these aggregates are being created."""
    before: frozenset[UUID] = getattr(_saving, "ids", frozenset())
    _saving.ids = before | aggregate_ids
    try:
        yield
    finally:
        _saving.ids = before


def is_being_created(aggregate_id: UUID) -> bool:
    """True while the save running in this thread creates this aggregate."""
    ids: frozenset[UUID] = getattr(_saving, "ids", frozenset())
    return aggregate_id in ids

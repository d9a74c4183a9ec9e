"""Deciding again from a fresh load when another save came first (optimistic concurrency).

The records staff keep outside cases (a holiday offering, a market) are changed by several
people and the scheduler at once. A use case loads what it needs, decides, and saves all of
it in one atomic save; when another save changed one of those aggregates meanwhile, the
store refuses the save (``IntegrityError`` on the version) and the use case decides again
from a fresh load, after a short pause with jitter, so the losers of a race do not collide
again in lock step. After ``ATTEMPTS`` lost races it gives up (``ConcurrentUpdate``: 409).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Final, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentUpdate
from application.store import VorgangStore

__all__ = ["ATTEMPTS", "decided_and_saved", "pause"]

ATTEMPTS: Final = 30

T = TypeVar("T")


def pause(attempt: int) -> None:
    """Back off with jitter before trying again after a lost race (the first try: none)."""
    if attempt:
        time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311


def decided_and_saved(
    store: VorgangStore,
    contended: UUID,
    decide: Callable[[], tuple[T, Sequence[Aggregate]]],
    attempts: int = ATTEMPTS,
) -> T:
    """Run ``decide`` (fresh loads, the decision; it answers the result and what to save) and
    save what it changed in one save; a save that lost its race is decided again.

    A refusal ``decide`` raises ends the use case as it is (nothing is saved). ``contended``
    names the record the race was about when the attempts run out.
    """
    for attempt in range(attempts):
        pause(attempt)
        result, changed = decide()
        try:
            store.save(*changed)
        except IntegrityError:
            continue  # another save came first: decided again from a fresh load
        return result
    raise ConcurrentUpdate(contended)

"""A case command that also changes aggregates several cases share, saved in one atomic save.

Some rules span cases and live in aggregates of their own: the holdings of resident parking
(one permit per plate and per resident), and, in time, graves (rest periods), offerings
with limited places, water meters. A command on such a case loads the case and the shared
aggregates it needs, runs one domain command that checks the rule and changes them, and
saves the case with every changed aggregate at once. A save that loses a race on any of
them writes nothing and is retried from a fresh load, so the loser decides again on what
the winner saved; a caller's stale If-Match stays a 412. This is what the reference counter
does for submissions, for every command of a case.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.cases import CaseService, load_visible
from application.errors import ConcurrentUpdate
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.errors import InvalidTransition

ATTEMPTS: Final = 30
RETRY_PAUSE_SECONDS: Final = 0.002

C = TypeVar("C", bound=Case)


def only_created(aggregate: Aggregate) -> bool:
    """True for an aggregate made in this step whose only event is its creation."""
    return aggregate.version == len(aggregate.pending_events) == 1


def run_jointly(
    cases: CaseService,
    case_id: UUID,
    *,
    actor: Actor,
    expected_version: int | None,
    case_type: type[C],
    name: str,
    step: Callable[[C, datetime], Sequence[Aggregate]],
) -> CommandResult:
    """Run ``step`` on the case; save it with the shared aggregates it returns, atomically.

    ``step`` loads the shared aggregates itself (fresh on every attempt), gives one domain
    command and returns them; those it only created and did not change are not saved.
    """
    store = cases.store
    for attempt in range(ATTEMPTS):
        if attempt:
            # Another command saved first: back off with jitter, then reload everything.
            time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS * 2 ** min(attempt, 6)))  # noqa: S311
        case = load_visible(store, case_id, actor)
        if not isinstance(case, case_type):
            raise InvalidTransition(name, case.status, case.allowed_commands())
        cases.check_expected_version(case, actor, expected_version)  # an applicant's: their view's
        shared = step(case, cases.clock.now())
        changed = [a for a in shared if a.pending_events and not only_created(a)]
        try:
            recordings = store.save(case, *changed)
        except IntegrityError:
            continue
        position = max((r.notification.id for r in recordings), default=None)
        return CommandResult(case_id, case.version, position)
    raise ConcurrentUpdate(case_id)

"""What the case views read from case events: topics, and the status and holder they leave.

The topic list is derived from the event classes of every case type in the catalogue, so
a new service's events are never silently missed. The status comes from the events
themselves: every event that leads the case into a status records it (``ChangesStatus``),
so the views restate no transition of the domain.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from domain.case import Case, ChangesStatus
from domain.lifecycle import CaseStatus
from domain.services.catalogue import SERVICES


def case_event_classes() -> list[type[Any]]:
    """Every event class that a case type of the catalogue can record."""
    found: dict[str, type[Any]] = {}
    for definition in SERVICES.values():
        for klass in definition.case_class.__mro__:
            if not (isinstance(klass, type) and issubclass(klass, Case)):
                continue
            for value in vars(klass).values():
                if isinstance(value, type) and issubclass(value, CanMutateAggregate):
                    found[get_topic(value)] = value
    return list(found.values())


def case_event_topics() -> list[str]:
    """Topics of every case event (created events of every case type included)."""
    return sorted(get_topic(klass) for klass in case_event_classes())


def status_after(event: Any, current: str | None) -> str | None:
    """The case status after this event: the one it records, or the one the case had."""
    if isinstance(event, ChangesStatus):
        return event.status
    if isinstance(event, Case.Submitted):
        return CaseStatus.SUBMITTED
    return current


@singledispatch
def holder_after(event: Any, holder: str | None) -> str | None:
    """Who holds the case after this event: claimed, assigned, given back, or ended."""
    return holder


@holder_after.register(Case.Claimed)
def _claimed(event: Case.Claimed, holder: str | None) -> str | None:
    return event.actor.id


@holder_after.register(Case.Assigned)
def _assigned(event: Case.Assigned, holder: str | None) -> str | None:
    return event.assigned_to.id


@holder_after.register(Case.Released)
@holder_after.register(Case.Withdrawn)
@holder_after.register(Case.Closed)
def _given_back(event: Case.Released | Case.Withdrawn | Case.Closed, holder: str | None) -> None:
    return None


OPEN_STATUSES_EXCLUDED = {CaseStatus.CLOSED, CaseStatus.WITHDRAWN}

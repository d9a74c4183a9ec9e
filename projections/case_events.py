"""What the case views read from case events: topics, and the status each event leaves.

The topic list is derived from the event classes of every case type in the catalogue, so
a new service's events are never silently missed; a test checks that every event class
has a status rule here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from domain.case import Case
from domain.lifecycle import CaseStatus as S
from domain.services.catalogue import SERVICES
from domain.services.resident_parking import ResidentParkingStatus as P
from domain.services.road_opening import RoadOpeningStatus as R
from domain.services.sewer_connection import SewerConnectionStatus as W
from domain.services.traffic_sign_order import TrafficSignOrderStatus as V


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


Rule = Callable[[Any, str | None], str | None]

_FIXED: dict[str, str] = {
    "Submitted": S.SUBMITTED,
    "CompletenessConfirmed": S.IN_REVIEW,
    "InformationRequested": S.INFORMATION_REQUESTED,
    "CountersignRefused": S.IN_REVIEW,
    "PaymentRecorded": S.DECIDED,
    "Notified": S.NOTIFIED,
    "ObjectionLodged": S.OBJECTION_LODGED,
    "ObjectionRemedied": S.IN_REVIEW,
    "ObjectionForwarded": S.OBJECTION_FORWARDED,
    "BecameFinal": S.FINAL,
    "Withdrawn": S.WITHDRAWN,
    "Closed": S.CLOSED,
    "WorksStarted": R.WORKS_STARTED,
    "WorksCompleted": R.WORKS_COMPLETED,
    "ConstructionReported": W.CONSTRUCTION_REPORTED,
    "ConnectionDefectsFound": W.CONNECTION_DEFECTIVE,
    "ConnectionAccepted": W.CONNECTION_ACCEPTED,
    "ConnectionChargeAssessed": W.CHARGE_ASSESSED,
    "SignsPutUp": V.SIGNS_UP,
    "SignsRemoved": V.COMPLETED,
    "PermitReturned": P.RETURNED,
    "PermitRevoked": P.REVOKED,
}
_RECORDED = {"InformationProvided", "Decided", "Countersigned"}  # the event names the status
_UNCHANGED = {
    "Claimed",
    "Released",
    "Assigned",
    "NoteAdded",
    "PeriodExtended",
    "PersonalDataErased",
}
_UNCHANGED |= {"PermitRenewed", "NumberPlateChanged"}  # a resident parking permit stays in force
_UNCHANGED |= {"ConnectionPointDetermined"}  # sewer connection: part of the review
_NEVER_RECORDED = {"Created", "Event"}  # base classes the library defines; never triggered


def status_after(event: Any, current: str | None) -> str | None:
    """The case status after this event (the views' copy of the lifecycle's outcomes)."""
    name = type(event).__name__
    if name in _FIXED:
        return _FIXED[name]
    if name in _RECORDED:
        return str(event.status)
    if name == "RestorationInspected":
        return R.RESTORATION_DEFECTIVE if event.defects else R.WARRANTY_RUNNING
    if name in _UNCHANGED or name in _NEVER_RECORDED:
        return current
    raise LookupError(f"no status rule for case event {name}")


def has_status_rule(event_class: type[Any]) -> bool:
    """True if ``status_after`` knows the class."""
    name = event_class.__name__
    return (
        name in _FIXED
        or name in _RECORDED
        or name in _UNCHANGED
        or name in _NEVER_RECORDED
        or name == "RestorationInspected"
    )


HOLDER_CLEARED = {"Released", "Withdrawn", "Closed"}


def holder_after(event: Any, holder: str | None) -> str | None:
    """Who holds the case after this event: claimed, assigned, given back, or ended."""
    name = type(event).__name__
    if name == "Claimed":
        return str(event.actor.id)
    if name == "Assigned":
        return str(event.assigned_to.id)
    if name in HOLDER_CLEARED:
        return None
    return holder


OPEN_STATUSES_EXCLUDED = {S.CLOSED, S.WITHDRAWN}

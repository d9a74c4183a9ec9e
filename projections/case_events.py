"""What the case views read from case events: topics, and the state the events leave.

The topic list is derived from the event classes of every case type in the catalogue, so
a new service's events are never silently missed. The status comes from the events
themselves: every event that leads the case into a status records it (``ChangesStatus``),
so the views restate no transition of the domain.

The status is the case's main track only (docs/architecture.md, decision 23). The legal
track beside it — where the latest objection (Widerspruch) stands, the objection deadline,
when the decision stopped the processing clock, when it became final (bestandskräftig) —
is read from the events that record it, dispatched on their classes, whatever status the
service's own steps have reached.
"""

from __future__ import annotations

from functools import cache, singledispatch
from typing import Any, Final

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic

from domain.case import Case
from domain.lifecycle import CaseStatus, ChangesStatus
from domain.objection import OPEN_STATES, ObjectionState
from domain.services.catalogue import SERVICES
from domain.working_days import berlin_date

# Statuses that no longer exist: before the legal track moved beside the case, an objection
# took the case out of ``notified`` into these. Stored events are upcast without them, so a
# view built from the log never sees them; a view kept across the change (the feed's
# published history) may still hold one, and reads it as the ``notified`` it came from.
LEGACY_STATUSES: Final = {
    "objection_lodged": CaseStatus.NOTIFIED,
    "objection_forwarded": CaseStatus.NOTIFIED,
}


def case_event_classes() -> list[type[Any]]:
    """Every event class that a case type of the catalogue can record.

    A mixin of ``Case`` (``CaseDocuments``, ``CaseCharges``) records its events under its
    own classes (``domain.case_charges:CaseCharges.ChargeSettled``), so every aggregate class
    in a case type's ancestry is read, not only those below one mixin. The catalogue is
    fixed at import, so the walk is done once per process (every view's start asks).
    """
    return list(_case_event_classes())


@cache
def _case_event_classes() -> tuple[type[Any], ...]:
    found: dict[str, type[Any]] = {}
    for definition in SERVICES.values():
        for klass in definition.case_class.__mro__:
            if not (isinstance(klass, type) and issubclass(klass, Aggregate)):
                continue
            if klass is Aggregate:
                continue
            for value in vars(klass).values():
                if isinstance(value, type) and issubclass(value, CanMutateAggregate):
                    found[get_topic(value)] = value
    return tuple(found.values())


def case_event_topics() -> list[str]:
    """Topics of every case event (created events of every case type included)."""
    return sorted(get_topic(klass) for klass in case_event_classes())


def status_after(event: Any, current: str | None) -> str | None:
    """The case status after this event: the one it records, or the one the case had (an
    event of a shape stored before it recorded a status kept it: ``STATUS_KEPT``)."""
    if isinstance(event, ChangesStatus):
        return event.status if event.status is not None else current
    if isinstance(event, Case.Submitted):
        return CaseStatus.SUBMITTED
    if current in LEGACY_STATUSES:
        return LEGACY_STATUSES[current]
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


@singledispatch
def objection_after(event: Any, state: str | None) -> str | None:
    """Where the case's latest objection stands after this event (None: none was lodged).

    Only one objection is open at a time, and a new one is lodged only once the last is
    disposed of, so the latest objection's state says whether one is open.
    """
    return state


@objection_after.register(Case.ObjectionLodged)
def _lodged(event: Case.ObjectionLodged, state: str | None) -> str:
    return ObjectionState.PENDING


@objection_after.register(Case.ObjectionHeard)
def _heard(event: Case.ObjectionHeard, state: str | None) -> str:
    return ObjectionState.HEARD


@objection_after.register(Case.ObjectionForwarded)
def _forwarded(event: Case.ObjectionForwarded, state: str | None) -> str:
    return ObjectionState.FORWARDED


@objection_after.register(Case.ObjectionRemedied)
def _remedied(event: Case.ObjectionRemedied, state: str | None) -> str:
    # Remedies recorded before version 3 carry no remedy record: they were all in full.
    remedy = event.remedy
    if remedy is not None and remedy.outcome == ObjectionState.PARTLY_REMEDIED:
        return ObjectionState.PARTLY_REMEDIED
    return ObjectionState.REMEDIED


@objection_after.register(Case.ObjectionWithdrawn)
def _objection_withdrawn(event: Case.ObjectionWithdrawn, state: str | None) -> str:
    return ObjectionState.WITHDRAWN


@objection_after.register(Case.ObjectionDecided)
def _objection_decided(event: Case.ObjectionDecided, state: str | None) -> str:
    return ObjectionState.DECIDED


def objection_is_open(state: str | None) -> bool:
    """An objection in this state is not yet disposed of: work for the clerk."""
    return state in OPEN_STATES


@singledispatch
def decided_on_after(event: Any, decided_on: str | None) -> str | None:
    """The day (ISO) the decision stopped the processing clock, or None while it runs.

    As the domain's clock (``ProcessingClock.decided``): a decision stops it, a draft
    awaiting its countersignature too; a refused countersignature and a remedy with a new
    decision (Abhilfe, § 72 VwGO) reopen it. A case whose clock stopped is never overdue,
    whatever the service's later steps are.
    """
    return decided_on


@decided_on_after.register(Case.Decided)
def _decided(event: Case.Decided, decided_on: str | None) -> str:
    return berlin_date(event.at).isoformat()


@decided_on_after.register(Case.DeemedApproved)
def _deemed_approved(event: Case.DeemedApproved, decided_on: str | None) -> str:
    # § 42a HVwVfG: the approval is deemed granted, the clock stopped for good on that day.
    return event.took_effect_on.isoformat()


@decided_on_after.register(Case.CountersignRefused)
def _refused(event: Case.CountersignRefused, decided_on: str | None) -> None:
    return None


@decided_on_after.register(Case.ObjectionRemedied)
@decided_on_after.register(Case.ObjectionDecided)
def _reopened(
    event: Case.ObjectionRemedied | Case.ObjectionDecided, decided_on: str | None
) -> str | None:
    return None if event.new_decision else decided_on


@singledispatch
def objection_deadline_after(event: Any, deadline: str | None) -> str | None:
    """The last day (ISO) for an objection: set by the notification, a year after it once the
    remedy notice was found defective (§ 58 (2) VwGO), gone when a new decision is due."""
    return deadline


@objection_deadline_after.register(Case.Notified)
@objection_deadline_after.register(Case.RemedyNoticeFoundDefective)
def _deadline_set(
    event: Case.Notified | Case.RemedyNoticeFoundDefective, deadline: str | None
) -> str:
    return event.objection_deadline.isoformat()


@objection_deadline_after.register(Case.ObjectionRemedied)
@objection_deadline_after.register(Case.ObjectionDecided)
def _deadline_gone(
    event: Case.ObjectionRemedied | Case.ObjectionDecided, deadline: str | None
) -> str | None:
    return None if event.new_decision else deadline


@singledispatch
def final_on_after(event: Any, final_on: str | None) -> str | None:
    """The first day (ISO) the decision is final (bestandskräftig), or None while it is not."""
    return final_on


@final_on_after.register(Case.BecameFinal)
def _final(event: Case.BecameFinal, final_on: str | None) -> str:
    return event.final_on.isoformat()


@final_on_after.register(Case.ObjectionLodged)
def _objected(event: Case.ObjectionLodged, final_on: str | None) -> str | None:
    # An objection in time keeps the decision open; a late one leaves it final. An objection
    # recorded without its deadline (before version 3) was always in time.
    return None if event.objection.timely else final_on


@final_on_after.register(Case.ReinstatementGranted)
def _reinstated(event: Case.ReinstatementGranted, final_on: str | None) -> None:
    return None


@final_on_after.register(Case.ObjectionRemedied)
@final_on_after.register(Case.ObjectionDecided)
def _final_reopened(
    event: Case.ObjectionRemedied | Case.ObjectionDecided, final_on: str | None
) -> str | None:
    return None if event.new_decision else final_on

"""Cases taken through the legal track for the view tests, step by step as the API takes them.

The steps go through the one command pipeline (``tests.steps.take``) on the fully wired
application, so the views read exactly the events a client's requests record.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.rules.notification import Delivery
from domain.services import road_opening, traffic_sign_order
from domain.working_days import berlin_date
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK
from tests.steps import take

APPLICANT = Actor("portal:widerspruch", "Erika Mustermann", Role.APPLICANT, "usingen")
GROUNDS = "Die Auflage zur Arbeitszeit ist unverhältnismäßig, sagt Erika Mustermann."


def today(clock: FixedClock) -> date:
    """The business day in Germany."""
    return berlin_date(clock.now())


def aggregate(v: Vorgang, case_id: UUID) -> Case:
    """The case as its events make it now."""
    case: Case = v.store.repository.get(case_id)
    return case


def iso(value: date | None) -> str:
    """A date the case must have, as ISO text."""
    assert value is not None
    return value.isoformat()


def general_case(v: Vorgang, *, name: str = "Erika Mustermann") -> UUID:
    """A general case of Usingen, submitted now."""
    return v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": name},
        data={"subject": "Anliegen"},
    ).case_id


def in_review(v: Vorgang, case_id: UUID) -> None:
    """Complete (the processing period runs) and claimed by the clerk."""
    take(v.cases, case_id, "confirm_complete", actor=CLERK)
    take(v.cases, case_id, "claim", actor=CLERK)


def decide(v: Vorgang, case_id: UUID, **more: Any) -> None:
    """Rejected by the clerk (a general case), or as ``more`` says."""
    fields: dict[str, Any] = {
        "outcome": DecisionOutcome.REJECTED,
        "justification": "Die Voraussetzungen liegen nicht vor.",
        "legal_basis": "§ 1 Satzung",
    }
    take(v.cases, case_id, "decide", actor=CLERK, **(fields | more))


def notify(v: Vorgang, case_id: UUID, delivery: Delivery = Delivery.COUNTER) -> None:
    """Handed over (or sent) today."""
    take(v.cases, case_id, "notify", actor=CLERK, delivery=delivery)


def notified_general_case(v: Vorgang, clock: FixedClock) -> UUID:
    """A general case rejected and handed over, an hour apart each step."""
    case_id = general_case(v)
    clock.advance(timedelta(hours=1))
    in_review(v, case_id)
    clock.advance(timedelta(hours=1))
    decide(v, case_id)
    clock.advance(timedelta(hours=1))
    notify(v, case_id)
    return case_id


def lodge_objection(v: Vorgang, case_id: UUID, received_on: date | None = None) -> None:
    """The applicant's Widerspruch, recorded by the clerk."""
    take(
        v.cases,
        case_id,
        "lodge_objection",
        actor=CLERK,
        grounds=GROUNDS,
        received_on=received_on,
    )


def hear_objection(v: Vorgang, case_id: UUID, clock: FixedClock) -> None:
    """The Anhörungsausschuss heard the objection today (self-government matters)."""
    take(v.cases, case_id, "hear_objection", actor=CLERK, held_on=today(clock))


def notified_traffic_sign_order(v: Vorgang, clock: FixedClock) -> UUID:
    """A traffic sign order (a road traffic matter) refused and handed over, an hour apart
    each step: its objection goes to the supervising authority."""
    case_id = v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="traffic-sign-order",
        applicant={"name": "Erika Mustermann"},
        data=traffic_sign_order.example(today(clock)),
    ).case_id
    clock.advance(timedelta(hours=1))
    in_review(v, case_id)
    clock.advance(timedelta(hours=1))
    decide(
        v,
        case_id,
        legal_basis="§ 45 Abs. 1 StVO",
        discretion="Die Ladezone in der Nebenstraße genügt für den Umzug.",
    )
    clock.advance(timedelta(hours=1))
    notify(v, case_id)
    return case_id


def permit_with_works_started(v: Vorgang, clock: FixedClock) -> UUID:
    """A road opening permit approved, handed over, and its works started on the first day
    the application planned them (the clock stands on that day)."""
    data = road_opening.example(today(clock))
    case_id = v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": "Erika Mustermann"},
        data=data,
    ).case_id
    clock.advance(timedelta(hours=1))
    in_review(v, case_id)
    clock.advance(timedelta(hours=1))
    decide(
        v,
        case_id,
        outcome=DecisionOutcome.APPROVED,
        justification="Belange des Verkehrs stehen nicht entgegen.",
        legal_basis="§ 16 HStrG",
        discretion="Kurzzeitige Nutzung des Gehwegs; der Fußverkehr bleibt möglich.",
    )
    clock.advance(timedelta(hours=1))
    notify(v, case_id)
    start = date.fromisoformat(data["planned_period"]["start"])
    clock.advance(start - today(clock))
    take(v.cases, case_id, "works_started", actor=CLERK, started_on=start)
    return case_id


def permit_in_warranty(v: Vorgang, clock: FixedClock) -> UUID:
    """A road opening permit whose works were completed and accepted: the warranty runs."""
    case_id = permit_with_works_started(v, clock)
    clock.advance(timedelta(days=3))
    take(v.cases, case_id, "works_completed", actor=CLERK, completed_on=today(clock))
    clock.advance(timedelta(days=1))
    take(
        v.cases,
        case_id,
        "inspect_restoration",
        actor=CLERK,
        inspected_on=today(clock),
        defects=[],
    )
    return case_id

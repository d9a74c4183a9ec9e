"""Builders for domain tests: a case in a given state, with a clock that moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import uuid4

from pydantic import BaseModel

from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.services.headstone_permit import SERVICE_ID as HEADSTONE
from domain.services.headstone_permit import HeadstonePermit, HeadstonePermitApplication
from domain.services.headstone_permit import example as headstone_example
from domain.services.road_opening import SERVICE_ID as ROAD_OPENING
from domain.services.road_opening import RoadOpeningApplication, RoadOpeningPermit
from domain.services.road_opening import example as road_opening_example
from domain.services.sewer_connection import SERVICE_ID as SEWER
from domain.services.sewer_connection import SewerConnection, SewerConnectionApplication
from domain.services.sewer_connection import example as sewer_example
from domain.working_days import BERLIN

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
OTHER_CLERK = Actor("ben.weber", "Ben Weber", Role.CLERK, "usingen")
SUPERVISOR = Actor("carla.koch", "Carla Koch", Role.SUPERVISOR, "usingen")
APPLICANT = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen")
FOREIGN_CLERK = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
CASH_OFFICE = Actor("kasse.usingen", "Gemeindekasse Usingen", Role.CASH_OFFICE, "usingen")
DELEGATED_CLERK = Actor("emil.wolf", "Emil Wolf", Role.CLERK, "neu-anspach", on_behalf_of="usingen")

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Germany
C = TypeVar("C", bound=Case)


def submitted(case_class: type[Case] = Case, at: datetime = START) -> Case:
    """A freshly submitted case of Usingen."""
    case_id = uuid4()
    return case_class.submit(
        case_id=case_id,
        actor=APPLICANT,
        at=at,
        tenant="usingen",
        service="general",
        reference="USI-2026-000001",
        applicant={
            "name": PersonalData(case_id, Subjects.APPLICANT, "Max Mustermann"),
            "email": PersonalData(case_id, Subjects.APPLICANT, "max@example.org"),
        },
        data={"purpose": "test"},
        request_fingerprint="f" * 64,
    )


def service_case(case_class: type[C], service: str, form: BaseModel, at: datetime = START) -> C:
    """A case of a service, submitted as the application does: its personal data marked."""
    case_id = uuid4()
    case = case_class.submit(
        case_id=case_id,
        actor=APPLICANT,
        at=at,
        tenant="usingen",
        service=service,
        reference="USI-2026-000002",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
        data=personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(case, case_class)
    return case


def in_review(case_class: type[Case] = Case) -> Case:
    """Complete, claimed by CLERK."""
    case = submitted(case_class)
    case.confirm_complete(actor=CLERK, at=START + timedelta(hours=1))
    case.claim(actor=CLERK, at=START + timedelta(hours=2))
    return case


def decided(case_class: type[Case] = Case, *, fee: str | None = None) -> Case:
    """Approved by CLERK on the second day."""
    case = in_review(case_class)
    case.decide(
        actor=CLERK,
        at=START + timedelta(days=1),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        fee=Decimal(fee) if fee else None,
    )
    return case


def notified(case_class: type[Case] = Case, *, fee: str | None = None) -> Case:
    """Decided and handed over at the counter on 3 March 2026: objections until 7 April.

    The month ends on 3 April, Good Friday; 6 April is Easter Monday (§ 31 (3) HVwVfG).
    """
    case = decided(case_class, fee=fee)
    case.notify(actor=CLERK, at=START + timedelta(days=1, hours=1))
    return case


ON = date(2026, 3, 3)


def noon(day: date) -> datetime:
    """Noon in Germany on that day."""
    return datetime.combine(day, time(12), tzinfo=BERLIN).astimezone(UTC)


def headstone_permit_decided(day: date) -> HeadstonePermit:
    """A headstone permit submitted the day before, approved on ``day`` (standard conditions)."""
    form = HeadstonePermitApplication.model_validate(headstone_example(day))
    permit = service_case(HeadstonePermit, HEADSTONE, form, at=noon(day - timedelta(days=1)))
    permit.confirm_complete(actor=CLERK, at=noon(day - timedelta(days=1)))
    permit.claim(actor=CLERK, at=noon(day - timedelta(days=1)))
    permit.decide(
        actor=CLERK,
        at=noon(day),
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Das Grabmal entspricht der Friedhofssatzung.",
        legal_basis="§ 20 Friedhofssatzung",
    )
    return permit


def sewer_permit_decided(day: date, expires_on: date | None = None) -> SewerConnection:
    """A sewer connection permit submitted the day before, approved on ``day`` (its point set)."""
    form = SewerConnectionApplication.model_validate(sewer_example(day))
    permit = service_case(SewerConnection, SEWER, form, at=noon(day - timedelta(days=1)))
    permit.confirm_complete(actor=CLERK, at=noon(day - timedelta(days=1)))
    permit.claim(actor=CLERK, at=noon(day - timedelta(days=1)))
    permit.determine_connection_point(
        actor=CLERK,
        at=noon(day),
        manhole="S 12-034",
        invert_depth_m=Decimal("2.40"),
        description="Fahrbahnmitte",
    )
    permit.decide(
        actor=CLERK,
        at=noon(day),
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Der Anschluss entspricht der Entwässerungssatzung.",
        legal_basis="§ 12 Entwässerungssatzung",
        expires_on=expires_on,
    )
    return permit


def road_opening_decided(day: date, **decide: object) -> RoadOpeningPermit:
    """A road opening permit submitted the day before and approved on ``day``, at discretion."""
    form = RoadOpeningApplication.model_validate(road_opening_example(day - timedelta(days=1)))
    permit = service_case(RoadOpeningPermit, ROAD_OPENING, form, at=noon(day - timedelta(days=1)))
    permit.confirm_complete(actor=CLERK, at=noon(day - timedelta(days=1)))
    permit.claim(actor=CLERK, at=noon(day - timedelta(days=1)))
    arguments: dict[str, object] = {
        "outcome": DecisionOutcome.APPROVED,
        "justification": "Die Sondernutzung ist erlaubnisfähig.",
        "legal_basis": "§§ 16, 18 HStrG",
        "discretion": "Der Gemeingebrauch wird nur kurz beeinträchtigt.",
        **decide,
    }
    permit.decide(actor=CLERK, at=noon(day), **arguments)  # type: ignore[arg-type]
    return permit


def pay_fees(case: Case, at: datetime) -> Case:
    """The cash office records every open charge of the case as paid in full."""
    for charge in case.charges:
        if charge.kassenzeichen not in case.settled_charges:
            case.settle_charge(
                actor=CASH_OFFICE,
                at=at,
                kassenzeichen=charge.kassenzeichen,
                amount=charge.amount,
                payment=f"counter:{charge.kassenzeichen}",
            )
    return case

"""Builders for domain tests: a case in a given state, with a clock that moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.personal_data import PersonalData, Subjects

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
OTHER_CLERK = Actor("ben.weber", "Ben Weber", Role.CLERK, "usingen")
SUPERVISOR = Actor("carla.koch", "Carla Koch", Role.SUPERVISOR, "usingen")
APPLICANT = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen")
FOREIGN_CLERK = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
DELEGATED_CLERK = Actor("emil.wolf", "Emil Wolf", Role.CLERK, "neu-anspach", on_behalf_of="usingen")

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Germany


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


def in_review(case_class: type[Case] = Case) -> Case:
    """Complete, claimed by CLERK."""
    case = submitted(case_class)
    case.confirm_complete(actor=CLERK, at=START + timedelta(hours=1))
    case.claim(actor=CLERK, at=START + timedelta(hours=2))
    return case


def decided(case_class: type[Case] = Case, *, fee: str | None = None) -> Case:
    """Approved by CLERK on the second day."""
    from decimal import Decimal

    case = in_review(case_class)
    case.decide(
        actor=CLERK,
        at=START + timedelta(days=1),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        legal_remedy_notice="Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch ...",
        fee=Decimal(fee) if fee else None,
    )
    return case


def notified(case_class: type[Case] = Case) -> Case:
    """Decided and notified on 3 March 2026: objections until 7 April (after Easter)."""
    case = decided(case_class)
    case.notify(actor=CLERK, at=START + timedelta(days=1, hours=1))
    return case


ON = date(2026, 3, 3)

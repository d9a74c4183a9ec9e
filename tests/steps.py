"""Tests take steps the way the API does: by name, through the one command pipeline.

``take(cases, case_id, "claim", CLERK)`` builds the step's body from the keyword arguments
(checked like a request body), and runs it with ``CommandHandler.handle``; enum values are
passed as the text a client would send, and ``None`` as a field left out.
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.commands import CommandHandler
from application.payments import PaymentService
from application.views import CommandResult
from domain.actor import Actor, Role
from domain.case_steps import CASE_STEPS, StaffDirectory
from domain.commands import Step
from domain.decision import DecisionOutcome
from domain.services.catalogue import SERVICES
from domain.working_days import berlin_date
from tests.conftest import APPLICANT, CLERK

CASH_OFFICE = Actor("kasse.usingen", "Gemeindekasse Usingen", Role.CASH_OFFICE, "usingen")

ALL_STEPS: tuple[Step, ...] = (
    *CASE_STEPS,
    *(step for d in SERVICES.values() if d.steps is not None for step in d.steps),
)


def step_named(name: str) -> Step:
    """The step of this name, or of this domain method (``start_works``)."""
    for step in ALL_STEPS:
        if step.name == name:
            return step
    for step in ALL_STEPS:
        if step.command_name == name:
            return step
    raise KeyError(name)


def take(
    cases: CaseService | CommandHandler,
    case_id: UUID,
    name: str,
    actor: Actor,
    *,
    expected_version: int | None = None,
    staff: StaffDirectory | None = None,
    **fields: Any,
) -> CommandResult:
    """Run the named step with a body of these fields, as ``actor``."""
    step = step_named(name)
    body = None
    if step.body is not None and (fields or not step.body_optional):
        plain = {
            k: v.value if isinstance(v, Enum) else v for k, v in fields.items() if v is not None
        }
        body = step.body(**plain)
    handler = cases if isinstance(cases, CommandHandler) else CommandHandler(cases, staff=staff)
    return handler.handle(case_id, step(body), actor, expected_version)


def submitted(
    cases: CaseService,
    service: str = "general",
    data: dict[str, Any] | None = None,
    *,
    applicant: dict[str, Any] | None = None,
    actor: Actor = APPLICANT,
    tenant: str = "usingen",
) -> UUID:
    """A case of this service submitted in Usingen (a general one about ``Anliegen``), its id."""
    return cases.submit(
        actor=actor,
        tenant=tenant,
        service=service,
        applicant=applicant if applicant is not None else {"name": "A"},
        data=data if data is not None else {"subject": "Anliegen"},
    ).case_id


def in_review(cases: CaseService | CommandHandler, case_id: UUID, actor: Actor = CLERK) -> None:
    """Claim the case and confirm it complete, as the clerk does before deciding."""
    take(cases, case_id, "claim", actor=actor)
    take(cases, case_id, "confirm_complete", actor=actor)


def decided(
    cases: CaseService | CommandHandler,
    case_id: UUID,
    actor: Actor = CLERK,
    *,
    outcome: DecisionOutcome = DecisionOutcome.APPROVED,
    justification: str = "j",
    legal_basis: str = "§ 16 HStrG",
    **fields: Any,
) -> CommandResult:
    """Claim, confirm complete and decide: the clerk's way from a submission to a decision.

    The remedy notice comes from the town's configuration; a service whose legal basis gives
    discretion needs ``discretion``, and the clerk's own conditions need a hearing
    (``hearing_held_on`` or ``hearing_not_needed_because``).
    """
    in_review(cases, case_id, actor)
    return take(
        cases,
        case_id,
        "decide",
        actor=actor,
        outcome=outcome,
        justification=justification,
        legal_basis=legal_basis,
        **fields,
    )


def notified(
    cases: CaseService | CommandHandler,
    case_id: UUID,
    actor: Actor = CLERK,
    *,
    delivery: str = "counter",
    **fields: Any,
) -> CommandResult:
    """Record the notification (handed over at the counter today unless told otherwise)."""
    return take(cases, case_id, "notify", actor=actor, delivery=delivery, **fields)


def pay_at_the_cash_office(cases: CaseService, case_id: UUID, reference: str = "K-1") -> None:
    """The cash office records every open charge of the case as paid at the counter."""
    payments = PaymentService(cases.store, cases.clock)
    case = cases.store.repository.get(case_id)
    for charge in case.charges:
        if charge.kassenzeichen not in case.settled_charges:
            cash_office = Actor(
                CASH_OFFICE.id, CASH_OFFICE.display_name, Role.CASH_OFFICE, case.tenant
            )
            payments.record_receipt(
                cash_office,
                charge.kassenzeichen,
                amount=charge.amount,
                channel="counter",
                received_on=berlin_date(cases.clock.now()),
                reference=f"{reference}-{charge.number}",
            )

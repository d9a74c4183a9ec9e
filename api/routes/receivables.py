"""Receivables over HTTP (#24): one by its Kassenzeichen, the town's open list, and the cash
office's receipts.

The **cash office**, and only it, records counter and bank-transfer receipts — never the
person who decided or countersigned the charge (the use case refuses: 422 naming ``actor``).
Another town's staff meet 404 on every receivable of this town.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
import structlog
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import allow
from api.dependencies import ActorDep, ReadSideDep, SettingsDep
from api.problems import BadHeader, NotFound
from api.routes.payments import (
    After,
    Limit,
    MinPosition,
    Money,
    PaymentsDep,
    Strict,
    checked_after,
    rows_as,
    tagged,
)
from api.routes.read_models import caught_up, tenant_for
from api.routes.service_steps import PROBLEMS
from application.payments import PaymentService, receivable_view
from domain.actor import Actor, Role
from domain.commands import ShortText
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import is_valid_kassenzeichen
from projections.receivables_query import OPEN_CURSOR, open_receivables

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=PROBLEMS)  # type: ignore[arg-type]

OPEN_LIST_READERS = (Role.CASH_OFFICE, Role.AUDITOR, Role.SUPERVISOR)

Kassenzeichen = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{3}-[0-9]{2}-[0-9]{6}-[0-9]{2}-[0-9]$",
        description="AAA-YY-NNNNNN-SS-C (the check digit is checked too).",
        examples=["123-26-000001-01-7"],
    ),
]


def receivable_of(payments: PaymentService, actor: Actor, kassenzeichen: str) -> Any:
    """The receivable the caller may see under this Kassenzeichen, or 404."""
    if not is_valid_kassenzeichen(kassenzeichen):
        raise BadHeader("kassenzeichen", "the check digit does not match", where="path")
    try:
        return payments.receivable(actor, kassenzeichen)
    except InvalidCommand:  # none of the caller's town, or not the member's account
        raise NotFound(f"no receivable {kassenzeichen}") from None


class PaymentOut(BaseModel):
    """Money applied to a receivable."""

    payment: str
    amount: Decimal
    received_on: date
    channel: str
    recorded_by: str


class ReceivableOut(BaseModel):
    """A fee owed under its Kassenzeichen, and what was paid and refunded."""

    kassenzeichen: str
    tenant: str
    case_id: UUID
    case_reference: str
    service: str
    business_customer: UUID | None
    amount: Decimal
    currency: str
    ledger: str
    legal_basis: str
    due_on: date | None
    prepaid: bool
    status: str = Field(examples=["open"], description="open, partly_paid, settled, cancelled")
    paid: Decimal
    outstanding: Decimal
    refunded: Decimal
    refund_due: Decimal
    payments: list[PaymentOut]
    version: int


class RecordReceipt(Strict):
    """Money received at the counter or by bank transfer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": "73.40",
                    "channel": "bank_transfer",
                    "received_on": "2026-03-02",
                    "reference": "Kontoauszug 41/2026 Pos. 7",
                }
            ]
        },
    )

    amount: Money
    channel: Literal["counter", "bank_transfer"]
    received_on: date
    reference: ShortText = Field(
        description="The statement or receipt text: sealed with the case's free text (it may "
        "name the payer); the same receipt entered twice is refused."
    )


class ReceivableRowOut(BaseModel):
    """A receivable in a list (the read model's row); its ``cursor`` pages on."""

    receivable_id: UUID
    tenant: str
    kassenzeichen: str
    business_customer: UUID | None
    case_id: UUID
    case_reference: str
    service: str
    amount: Decimal
    paid: Decimal
    refunded: Decimal
    outstanding: Decimal
    credit: Decimal
    currency: str
    status: str = Field(description="open, partly_paid, settled, cancelled")
    due_on: date | None
    prepaid: bool
    ledger: str
    opened_at: str | None
    settled_at: str | None
    position: int
    cursor: str


def receivable_out(receivable: Any, actor: Actor) -> ReceivableOut:
    """The receivable as the caller reads it: a member never the ids of staff (the role of
    who recorded a payment only, as on their case)."""
    view = receivable_view(receivable)
    if actor.role is Role.APPLICANT:
        for payment, recorded in zip(view["payments"], receivable.payments.values(), strict=True):
            payment["recorded_by"] = str(recorded.recorded_by.role)
    return ReceivableOut(**view)


@router.get(
    "/receivables",
    summary="The town's open receivables (cash office, auditors, supervisors)",
    **allow(*OPEN_LIST_READERS),
)
async def open_receivables_of_town(
    actor: ActorDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    receivable_status: Annotated[Literal["open"], Query(alias="status")] = "open",
    tenant: Annotated[str | None, Query(description="A town you act for.")] = None,
    limit: Limit = 100,
    after: After = None,
    min_position: MinPosition = None,
) -> list[ReceivableRowOut]:
    """Open and partly paid receivables of the caller's town, by due date (none last)."""
    checked_after(after, *OPEN_CURSOR)
    town = tenant_for(actor, tenant)
    await caught_up(read_side, settings, "receivables", min_position)
    rows = await anyio.to_thread.run_sync(
        lambda: open_receivables(read_side.views, town, limit=limit, after=after)
    )
    return rows_as(rows, ReceivableRowOut)


@router.get(
    "/receivables/{kassenzeichen}",
    summary="A receivable by its Kassenzeichen",
    **allow(Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE, Role.AUDITOR),
)
def get_receivable(
    kassenzeichen: Kassenzeichen, actor: ActorDep, payments: PaymentsDep, response: Response
) -> ReceivableOut:
    """Members of its account, the town's staff and auditors; anyone else: 404."""
    receivable = receivable_of(payments, actor, kassenzeichen)
    tagged(response, receivable.version)
    return receivable_out(receivable, actor)


@router.post(
    "/receivables/{kassenzeichen}/receipts",
    status_code=status.HTTP_201_CREATED,
    summary="Record money received at the counter or by bank transfer (cash office)",
    **allow(Role.CASH_OFFICE),
)
def record_receipt(
    kassenzeichen: Kassenzeichen,
    body: RecordReceipt,
    actor: ActorDep,
    payments: PaymentsDep,
    response: Response,
) -> ReceivableOut:
    """The cash office only, and never who decided or countersigned the charge (422 naming
    ``actor``); the same reference twice is refused. A prepaid case waiting for this payment
    continues."""
    receivable_of(payments, actor, kassenzeichen)
    receivable = payments.record_receipt(
        actor,
        kassenzeichen,
        amount=Decimal(body.amount),
        channel=body.channel,
        received_on=body.received_on,
        reference=body.reference,
    )
    response.headers["Location"] = f"/api/v1/receivables/{kassenzeichen}"
    tagged(response, receivable.version)
    log.info("receipt recorded", kassenzeichen=kassenzeichen, channel=body.channel)
    return receivable_out(receivable, actor)


__all__ = ["router"]

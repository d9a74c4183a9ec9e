"""Business customer accounts over HTTP (#24): registering one with its owner, its members,
and the lists its members read: the account's receivables and payment requests.

The town's staff (clerk, supervisor, admin) register a business customer with its first
member, an applicant account, as owner; owners manage the members. Members see their
account, its receivables and payment requests; another applicant gets 404, never 403, so an
account's existence does not leak.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
import structlog
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow
from api.dependencies import (
    ActorDep,
    ExpectedVersionDep,
    ReadSideDep,
    RecordReadDep,
    SettingsDep,
)
from api.routes.payments import (
    READERS,
    After,
    Limit,
    MinPosition,
    PaymentsDep,
    Strict,
    checked_after,
    checked_version,
    rows_as,
    tagged,
    visible,
)
from api.routes.read_models import caught_up
from api.routes.receivables import ReceivableRowOut
from api.routes.service_steps import PROBLEMS
from application.access_log import BUSINESS_CUSTOMER
from application.payments import PaymentService, checked_role, customer_view
from domain.actor import Actor, Role
from domain.commands import ShortText
from projections.receivables_query import ACCOUNT_CURSOR, payment_requests_of, receivables_of

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=PROBLEMS)  # type: ignore[arg-type]

REGISTRARS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)

AccountId = Annotated[UUID, Path(description="The business customer account's id.")]
MemberId = Annotated[
    str, Path(min_length=1, max_length=200, description="The member's account id (token sub).")
]


class RegisterCustomer(Strict):
    """A business customer of the caller's town and its first member (owner)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"company": "Brenner Tiefbau GmbH", "owner": "portal:brenner-1"}]
        },
    )

    company: ShortText
    owner: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="The applicant account id (token sub) of the customer's first user.")


class MemberIn(Strict):
    """A member's role in the account."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "payer"}]})

    role: Literal["owner", "payer", "viewer"] = Field(
        description="owner: manages members and pays; payer: pays and sees; viewer: sees."
    )


class MemberOut(BaseModel):
    """A member of an account and their role."""

    member: str
    role: str


class CustomerOut(BaseModel):
    """A business customer account as its members and the town's staff read it."""

    id: UUID
    tenant: str
    customer_number: str = Field(examples=["GK-USI-0001"])
    company: str | None
    members: list[MemberOut]
    version: int


def customer_out(account: Any) -> CustomerOut:
    return CustomerOut(**customer_view(account))


@router.post(
    "/business-customers",
    status_code=status.HTTP_201_CREATED,
    summary="Register a business customer with its first member (owner)",
    **allow(*REGISTRARS),
)
def register_customer(
    body: RegisterCustomer, actor: ActorDep, payments: PaymentsDep, response: Response
) -> CustomerOut:
    """A Gewerbekunde of the caller's town gets a customer number; its owner manages members."""
    account = payments.register_customer(actor, company=body.company, owner=body.owner)
    response.headers["Location"] = f"/api/v1/business-customers/{account.id}"
    tagged(response, account.version)
    log.info("business customer registered", business_customer=str(account.id))
    return customer_out(account)


@router.get(
    "/business-customers/{account_id}",
    summary="A business customer account and its members",
    **allow(*READERS),
)
def get_customer(
    account_id: AccountId,
    actor: ActorDep,
    payments: PaymentsDep,
    response: Response,
    record: RecordReadDep,
) -> CustomerOut:
    """For its members and the town's staff; anyone else: 404."""
    with visible("business customer", account_id):
        account = payments.customer(actor, account_id)
    record(BUSINESS_CUSTOMER, query={"account_id": str(account_id)})  # staff; not members
    tagged(response, account.version)
    response.headers["Cache-Control"] = "private, no-store"
    return customer_out(account)


@router.put(
    "/business-customers/{account_id}/members/{member}",
    summary="Add a member to the account or change their role (owners)",
    **allow(Role.APPLICANT),
)
def put_member(
    account_id: AccountId,
    member: MemberId,
    body: MemberIn,
    actor: ActorDep,
    payments: PaymentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CustomerOut:
    """Only an owner of the account; the last owner is never demoted."""
    with visible("business customer", account_id):
        checked_version(expected, account_id, payments.customer(actor, account_id).version)
        account = payments.add_member(
            actor, account_id, member=member, role=checked_role(body.role)
        )
    tagged(response, account.version)
    return customer_out(account)


@router.delete(
    "/business-customers/{account_id}/members/{member}",
    summary="Remove a member from the account (owners)",
    **allow(Role.APPLICANT),
)
def delete_member(
    account_id: AccountId,
    member: MemberId,
    actor: ActorDep,
    payments: PaymentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CustomerOut:
    """Only an owner of the account; never the last owner."""
    with visible("business customer", account_id):
        checked_version(expected, account_id, payments.customer(actor, account_id).version)
        account = payments.remove_member(actor, account_id, member=member)
    tagged(response, account.version)
    return customer_out(account)


ReceivableStatus = Literal["open", "partly_paid", "settled", "cancelled"]


class PaymentRequestRowOut(BaseModel):
    """A payment request in a list (the read model's row)."""

    id: UUID
    tenant: str
    business_customer: UUID
    status: str
    total: Decimal
    paid: Decimal
    overpaid: Decimal
    currency: str
    provider: str | None
    provider_reference: str | None
    requested_at: str | None
    expires_at: str | None
    last_event_at: str | None
    kassenzeichen: list[str]
    position: int


@router.get(
    "/business-customers/{account_id}/receivables",
    summary="The account's receivables (optionally of one status)",
    **allow(*READERS),
)
async def account_receivables(
    account_id: AccountId,
    actor: ActorDep,
    payments: PaymentsDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    receivable_status: Annotated[ReceivableStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    after: After = None,
    min_position: MinPosition = None,
) -> list[ReceivableRowOut]:
    """Still owed first, each by due date; members and the town's staff (from the
    receivables read model: ``min_position`` waits for a write you made)."""
    checked_after(after, *ACCOUNT_CURSOR)
    account = await anyio.to_thread.run_sync(lambda: account_for(payments, actor, account_id))
    await caught_up(read_side, settings, "receivables", min_position)
    rows = await anyio.to_thread.run_sync(
        lambda: receivables_of(
            read_side.views,
            account.tenant,
            account.id,
            status=receivable_status,
            limit=limit,
            after=after,
        )
    )
    return rows_as(rows, ReceivableRowOut)


@router.get(
    "/business-customers/{account_id}/payment-requests",
    summary="The account's payment requests",
    **allow(*READERS),
)
async def account_requests(
    account_id: AccountId,
    actor: ActorDep,
    payments: PaymentsDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    limit: Limit = 100,
    min_position: MinPosition = None,
) -> list[PaymentRequestRowOut]:
    """Newest first; members and the town's staff (from the receivables read model)."""
    account = await anyio.to_thread.run_sync(lambda: account_for(payments, actor, account_id))
    await caught_up(read_side, settings, "receivables", min_position)
    rows = await anyio.to_thread.run_sync(
        lambda: payment_requests_of(read_side.views, account.tenant, account.id, limit=limit)
    )
    return rows_as(rows, PaymentRequestRowOut)


def account_for(payments: PaymentService, actor: Actor, account_id: UUID) -> Any:
    with visible("business customer", account_id):
        return payments.customer(actor, account_id)


__all__ = ["router"]

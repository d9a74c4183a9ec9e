"""Paying fees online (#24): business customer accounts, receivables, payment requests, the
provider's callbacks, the cash office's receipts and refunds.

Who may do what, declared on each route (``allow``) and reviewed in the access matrix:

- The town's staff (clerk, supervisor, admin) register a **business customer** with its first
  member, an applicant account, as owner; owners manage the members. Members see their
  account, its receivables and payment requests; another applicant gets 404, never 403, so
  an account's existence does not leak.
- A member who may pay (owner, payer) opens a **payment request** for receivables of the
  account: the provider's checkout URL comes back, the payer pays there (Vorgang never sees
  card or account data).
- The provider's **callback** carries no bearer token: its signature is the authentication
  (401 when it does not verify or is stale, logged without its body); a duplicate is
  acknowledged (204) and applied once. ``status-poll`` asks the provider when none came.
- The **cash office**, and only it, records counter and bank-transfer receipts — never the
  person who decided or countersigned the charge (the use case refuses: 422 naming
  ``actor``). Staff ask for **refunds**; the cash office or a supervisor who did not ask
  approves (four eyes).

Another town's staff meet 404 on every account, receivable and request of this town.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow, public
from api.dependencies import (
    ActorDep,
    ExpectedVersionDep,
    FacadeDep,
    ReadSideDep,
    SettingsDep,
)
from api.problems import BadHeader, NotFound
from api.routes.read_models import caught_up, checked_cursor, tenant_for
from api.routes.service_steps import PROBLEMS
from application.errors import CaseNotFound, VersionMismatch
from application.payments import (
    NoProvider,
    Payer,
    PaymentService,
    checked_role,
    customer_view,
    receivable_view,
    request_view,
)
from domain.actor import Actor, Role
from domain.commands import ShortText, Text
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import is_valid_kassenzeichen
from projections.receivables_query import (
    ACCOUNT_CURSOR,
    OPEN_CURSOR,
    open_receivables,
    payment_requests_of,
    receivables_of,
)

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=PROBLEMS)  # type: ignore[arg-type]

OWN_STAFF = (Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE, Role.AUDITOR, Role.ADMIN)
READERS = (Role.APPLICANT, *OWN_STAFF)
REGISTRARS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
CANCELLERS = (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE)
REFUND_ASKERS = (Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE)
REFUND_DECIDERS = (Role.CASH_OFFICE, Role.SUPERVISOR)
OPEN_LIST_READERS = (Role.CASH_OFFICE, Role.AUDITOR, Role.SUPERVISOR)
PROVIDER_PROBLEMS: dict[int | str, dict[str, Any]] = {
    502: {"description": "The payment provider refused the request."},
    503: {
        "description": "No payment provider configured, or it cannot be reached; see Retry-After."
    },
}

AccountId = Annotated[UUID, Path(description="The business customer account's id.")]
RequestId = Annotated[UUID, Path(description="The payment request's id.")]
MemberId = Annotated[
    str, Path(min_length=1, max_length=200, description="The member's account id (token sub).")
]
Kassenzeichen = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{3}-[0-9]{2}-[0-9]{6}-[0-9]{2}-[0-9]$",
        description="AAA-YY-NNNNNN-SS-C (the check digit is checked too).",
        examples=["123-26-000001-01-7"],
    ),
]
ProviderName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,30}$", examples=["simulator"])]
RefundId = Annotated[str, Path(pattern=r"^R[0-9]{1,4}$", examples=["R1"])]
Money = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$"),
    Field(description="Euros with at most two decimal places, as a string.", examples=["73.40"]),
]
Keyword = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


def payment_service(vorgang: FacadeDep) -> PaymentService:
    """The payment use cases of the process."""
    return vorgang.payments


PaymentsDep = Annotated[PaymentService, Depends(payment_service)]


@contextmanager
def visible(kind: str, key: object) -> Iterator[None]:
    """What the caller may not see does not exist for them: 404 naming what they asked for."""
    try:
        yield
    except CaseNotFound:
        raise NotFound(f"no {kind} {key}") from None


def receivable_of(payments: PaymentService, actor: Actor, kassenzeichen: str) -> Any:
    """The receivable the caller may see under this Kassenzeichen, or 404."""
    if not is_valid_kassenzeichen(kassenzeichen):
        raise BadHeader("kassenzeichen", "the check digit does not match", where="path")
    try:
        return payments.receivable(actor, kassenzeichen)
    except InvalidCommand:  # none of the caller's town, or not the member's account
        raise NotFound(f"no receivable {kassenzeichen}") from None


def checked_version(expected: int | None, aggregate_id: UUID, actual: int) -> None:
    """If-Match names the version the caller read (412 otherwise)."""
    if expected is not None and expected != actual:
        raise VersionMismatch(aggregate_id, expected, actual)


def tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


# ------------------------------------------------------------------ models


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


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


class PayerIn(Strict):
    """Who pays (personal data: sealed once recorded)."""

    company: ShortText
    contact: ShortText
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    ]


class RequestPayment(Strict):
    """Pay these receivables of the account through the provider."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "business_customer": "4f1c2b7e-8d3a-5e6f-9a0b-1c2d3e4f5a6b",
                    "kassenzeichen": ["123-26-000001-01-7"],
                    "payer": {
                        "company": "Brenner Tiefbau GmbH",
                        "contact": "Jörg Brenner",
                        "email": "buchhaltung@brenner-tiefbau.example",
                    },
                    "return_url": "https://portal.example/zahlung/fertig",
                }
            ]
        },
    )

    business_customer: UUID
    kassenzeichen: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        min_length=1, max_length=50
    )
    payer: PayerIn
    return_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None
    ) = None


class ItemOut(BaseModel):
    """A receivable a payment request settles."""

    kassenzeichen: str
    case_id: UUID
    case_reference: str
    amount: Decimal


class RefundOut(BaseModel):
    """A refund asked for on a payment request and its decision."""

    refund: str
    amount: Decimal
    status: str
    requested_by: str
    decided_by: str | None


class PaymentRequestOut(BaseModel):
    """A payment request: its items, the checkout, what was paid and refunded."""

    id: UUID
    tenant: str
    business_customer: UUID
    status: str = Field(description="requested, pending, paid, failed, expired, cancelled")
    total: Decimal
    paid: Decimal
    overpaid: Decimal
    refunded: Decimal
    currency: str
    provider: str | None
    provider_reference: str | None
    checkout_url: str | None = Field(description="Where the payer pays (the provider's page).")
    expires_at: datetime
    items: list[ItemOut]
    refunds: list[RefundOut]
    version: int


class CancelRequest(Strict):
    """Why the request is cancelled (a keyword, never free text)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "paid_by_bank_transfer"}]}
    )

    reason: Keyword


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


class AskRefund(Strict):
    """Pay money back: how much, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount": "10.00", "reason": "Doppelt überwiesen, Rückzahlung."}]
        },
    )

    amount: Money
    reason: Text


class RejectRefund(Strict):
    """Why the refund is refused."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Die Überzahlung wurde verrechnet."}]},
    )

    reason: Text


def customer_out(account: Any) -> CustomerOut:
    return CustomerOut(**customer_view(account))


def receivable_out(receivable: Any) -> ReceivableOut:
    return ReceivableOut(**receivable_view(receivable))


def request_out(request: Any) -> PaymentRequestOut:
    return PaymentRequestOut(**request_view(request))


# ------------------------------------------------------------------ business customers


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
    account_id: AccountId, actor: ActorDep, payments: PaymentsDep, response: Response
) -> CustomerOut:
    """For its members and the town's staff; anyone else: 404."""
    with visible("business customer", account_id):
        account = payments.customer(actor, account_id)
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
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page.")]
After = Annotated[
    str | None,
    Query(max_length=500, description="The cursor of the last row of the page before."),
]
MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Wait until the read model has seen this log position."),
]


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


def rows_as(rows: list[dict[str, Any]], model: type[BaseModel]) -> list[Any]:
    return [model.model_validate(row) for row in rows]


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
    checked_cursor(after, *ACCOUNT_CURSOR)
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


# ------------------------------------------------------------------ receivables


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
    checked_cursor(after, *OPEN_CURSOR)
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
    return receivable_out(receivable)


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
    return receivable_out(receivable)


# ------------------------------------------------------------------ payment requests


@router.post(
    "/payment-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Pay receivables of an account online: a checkout at the provider",
    responses=PROVIDER_PROBLEMS,
    **allow(Role.APPLICANT),
)
def create_payment_request(
    body: RequestPayment, actor: ActorDep, payments: PaymentsDep, response: Response
) -> PaymentRequestOut:
    """A member who may pay (owner, payer) names the Kassenzeichen; the answer's
    ``checkout_url`` is where they pay. The provider unreachable: nothing is saved (503)."""
    with visible("business customer", body.business_customer):
        request = payments.request_payment(
            actor,
            body.business_customer,
            kassenzeichen=body.kassenzeichen,
            payer=Payer(body.payer.company, body.payer.contact, body.payer.email),
            return_url=body.return_url,
        )
    response.headers["Location"] = f"/api/v1/payment-requests/{request.id}"
    tagged(response, request.version)
    log.info("payment request opened", payment_request=str(request.id), items=len(request.items))
    return request_out(request)


@router.get("/payment-requests/{request_id}", summary="A payment request", **allow(*READERS))
def get_payment_request(
    request_id: RequestId, actor: ActorDep, payments: PaymentsDep, response: Response
) -> PaymentRequestOut:
    """Members of its account and the town's staff; anyone else: 404."""
    with visible("payment request", request_id):
        request = payments.request(actor, request_id)
    tagged(response, request.version)
    return request_out(request)


@router.post(
    "/payment-requests/{request_id}/cancellation",
    summary="Cancel a payment request nothing was paid on",
    **allow(*CANCELLERS),
)
def cancel_payment_request(
    request_id: RequestId,
    body: CancelRequest,
    actor: ActorDep,
    payments: PaymentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> PaymentRequestOut:
    """The member who asked, or the town's staff; once money arrived: refused (422)."""
    with visible("payment request", request_id):
        checked_version(expected, request_id, payments.request(actor, request_id).version)
        request = payments.cancel_request(actor, request_id, reason=body.reason)
    tagged(response, request.version)
    return request_out(request)


@router.post(
    "/payment-requests/{request_id}/status-poll",
    summary="Ask the provider what happened (when a callback never came)",
    responses=PROVIDER_PROBLEMS,
    **allow(*CANCELLERS),
)
def poll_payment_request(
    request_id: RequestId, actor: ActorDep, payments: PaymentsDep, response: Response
) -> PaymentRequestOut:
    """Every event the provider reports is applied once, as its callback would have been."""
    with visible("payment request", request_id):
        payments.request(actor, request_id)  # the caller may see it
        payments.poll(request_id)
        request = payments.request(actor, request_id)
    tagged(response, request.version)
    return request_out(request)


# Public (no token), and the body documented by hand: the route reads it as raw bytes.
CALLBACK_ACCESS = public()
CALLBACK_ACCESS["openapi_extra"] |= {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "id": "evt_5f0c1f7e",
                    "type": "payment.paid",
                    "provider_reference": "sim_8a4b4c1e",
                    "amount": "73.40",
                    "occurred_at": "2026-03-02T09:12:00+01:00",
                },
            }
        },
    }
}


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature is over these bytes."""
    return await request.body()


@router.post(
    "/payments/providers/{provider}/callbacks",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="The payment provider's signed callback (no token: the signature authenticates)",
    responses={
        401: {"description": "The signature does not verify, or is outside the replay window."},
        404: {"description": "No payment provider of this name, or no request it names."},
    },
    **CALLBACK_ACCESS,
)
def provider_callback(
    provider: ProviderName,
    payments: PaymentsDep,
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) over the
    raw body. Applied once per event id: a duplicate is acknowledged (204) and changes
    nothing."""
    try:
        payments.provider(provider)
    except NoProvider:
        raise NotFound(f"no payment provider {provider!r}") from None
    headers = {name.lower(): value for name, value in request.headers.items()}
    with visible("payment request of provider", provider):
        reported = payments.receive_callback(provider, headers, body)
    log.info("payment callback applied", provider=provider, event_id=reported.event_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------ refunds


@router.post(
    "/payment-requests/{request_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    summary="Ask to pay money back (staff)",
    **allow(*REFUND_ASKERS),
)
def ask_refund(
    request_id: RequestId,
    body: AskRefund,
    actor: ActorDep,
    payments: PaymentsDep,
    response: Response,
) -> PaymentRequestOut:
    """At most what is due for refund (an overpayment, a cancelled charge's credit); another
    person of the cash office or a supervisor approves it."""
    with visible("payment request", request_id):
        request = payments.request_refund(
            actor, request_id, amount=Decimal(body.amount), reason=body.reason
        )
    refund = list(request.refunds)[-1]
    response.headers["Location"] = f"/api/v1/payment-requests/{request_id}/refunds/{refund}"
    tagged(response, request.version)
    return request_out(request)


@router.post(
    "/payment-requests/{request_id}/refunds/{refund}/approval",
    summary="Approve a refund: the provider pays it back (cash office or supervisor, four eyes)",
    responses=PROVIDER_PROBLEMS,
    **allow(*REFUND_DECIDERS),
)
def approve_refund(
    request_id: RequestId,
    refund: RefundId,
    actor: ActorDep,
    payments: PaymentsDep,
    response: Response,
) -> PaymentRequestOut:
    """Never by who asked for it (422 naming ``actor``)."""
    with visible("payment request", request_id):
        request = payments.approve_refund(actor, request_id, refund)
    tagged(response, request.version)
    return request_out(request)


@router.post(
    "/payment-requests/{request_id}/refunds/{refund}/rejection",
    summary="Refuse a refund, with the reason (cash office or supervisor)",
    **allow(*REFUND_DECIDERS),
)
def reject_refund(
    request_id: RequestId,
    refund: RefundId,
    body: RejectRefund,
    actor: ActorDep,
    payments: PaymentsDep,
    response: Response,
) -> PaymentRequestOut:
    """Nothing is paid back; the reason is recorded (sealed)."""
    with visible("payment request", request_id):
        request = payments.reject_refund(actor, request_id, refund, reason=body.reason)
    tagged(response, request.version)
    return request_out(request)


__all__ = ["router"]


# ------------------------------------------------------------------ reconciliation


class ReconciliationRunOut(BaseModel):
    """One reconciliation run of a town's provider payments for a day."""

    tenant: str
    provider: str
    day: date
    run: int = Field(description="1 for the first run of the day, then counting up.")
    at: datetime
    by: str = Field(description="Who ran it (the command line: cli:reconcile).")
    report_digest: str = Field(description="SHA-256 of the provider's settlement rows.")
    balanced: bool
    matched: list[dict[str, str]]
    missing: list[dict[str, str]] = Field(description="Recorded here, not in the report.")
    unexpected: list[dict[str, str]] = Field(
        description="In the report, not recorded here (or with another amount)."
    )


@router.get(
    "/payments/reconciliations",
    summary="The reconciliation runs of a day (cash office, auditors, supervisors)",
    **allow(Role.CASH_OFFICE, Role.AUDITOR, Role.SUPERVISOR),
)
def get_reconciliations(
    day: Annotated[date, Query(description="The settlement day (YYYY-MM-DD).")],
    actor: ActorDep,
    payments: PaymentsDep,
    provider: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_-]{1,30}$", description="The provider.")
    ] = None,
    tenant: Annotated[str | None, Query(description="A town you act for.")] = None,
) -> list[ReconciliationRunOut]:
    """Every run of `vorgang payments reconcile` for the town and day, oldest first: matched,
    missing and unexpected rows (Kassenzeichen, amount, provider reference; nothing personal)."""
    town = tenant_for(actor, tenant)
    runs = payments.reconciliation_runs(actor, town, day, provider)
    return [ReconciliationRunOut.model_validate(run) for run in runs]

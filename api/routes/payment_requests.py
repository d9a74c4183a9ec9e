"""Payment requests over HTTP (#24): paying receivables online, cancelling, asking the
provider, the provider's signed callback, refunds, and the reconciliation runs.

- A member who may pay (owner, payer) opens a **payment request** for receivables of the
  account: the provider's checkout URL comes back, the payer pays there (Vorgang never sees
  card or account data).
- The provider's **callback** carries no bearer token: its signature is the authentication
  (401 when it does not verify or is stale, logged without its body); a duplicate is
  acknowledged (204) and applied once. ``status-poll`` asks the provider when none came.
- Staff ask for **refunds**; the cash office or a supervisor who did not ask approves (four
  eyes).

Another town's staff meet 404 on every request of this town.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow, public
from api.dependencies import ActorDep, ExpectedVersionDep
from api.problems import NotFound, ServiceUnavailable
from api.routes.payments import (
    READERS,
    Money,
    PaymentsDep,
    Strict,
    checked_version,
    tagged,
    visible,
)
from api.routes.read_models import tenant_for
from api.routes.service_steps import PROBLEMS
from application.errors import ConcurrentUpdate
from application.payment_ports import BadSignature
from application.payments import NoProvider, Payer, request_view
from domain.actor import Actor, Role
from domain.commands import ShortText, Text

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=PROBLEMS)  # type: ignore[arg-type]

CANCELLERS = (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE)
REFUND_ASKERS = (Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE)
REFUND_DECIDERS = (Role.CASH_OFFICE, Role.SUPERVISOR)
PROVIDER_PROBLEMS: dict[int | str, dict[str, Any]] = {
    502: {"description": "The payment provider refused the request."},
    503: {
        "description": "No payment provider configured, or it cannot be reached; see Retry-After."
    },
}

RequestId = Annotated[UUID, Path(description="The payment request's id.")]
ProviderName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,30}$", examples=["simulator"])]
# Unix seconds fit in 12 digits for 30,000 years; a longer webhook-timestamp is no signature
# (and its arithmetic must not fail: anyone may send a callback).
TIMESTAMP_DIGITS = 20
RefundId = Annotated[str, Path(pattern=r"^R[0-9]{1,4}$", examples=["R1"])]
Keyword = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


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


def request_out(request: Any, actor: Actor) -> PaymentRequestOut:
    """The request as the caller reads it: a member never the ids of staff who asked for or
    decided a refund (``staff`` instead, as their case shows no staff ids)."""
    view = request_view(request)
    if actor.role is Role.APPLICANT:
        for refund in view["refunds"]:
            refund["requested_by"] = "staff"
            refund["decided_by"] = refund["decided_by"] and "staff"
    return PaymentRequestOut(**view)


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
    return request_out(request, actor)


@router.get("/payment-requests/{request_id}", summary="A payment request", **allow(*READERS))
def get_payment_request(
    request_id: RequestId, actor: ActorDep, payments: PaymentsDep, response: Response
) -> PaymentRequestOut:
    """Members of its account and the town's staff; anyone else: 404."""
    with visible("payment request", request_id):
        request = payments.request(actor, request_id)
    tagged(response, request.version)
    return request_out(request, actor)


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
    return request_out(request, actor)


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
    return request_out(request, actor)


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
    if len(headers.get("webhook-timestamp", "").strip()) > TIMESTAMP_DIGITS:
        raise BadSignature("the callback's webhook-timestamp is not unix seconds")
    with visible("payment request of provider", provider):
        try:
            reported = payments.receive_callback(provider, headers, body)
        except RecursionError:  # signed, but nesting deeper than JSON parsing recurses
            raise BadSignature("the callback's body is not an event of this provider") from None
        except ConcurrentUpdate:
            # Lost every race: a provider retries a 5xx, while it takes a 4xx as final.
            raise ServiceUnavailable(
                "the payment is being recorded by another request: try again", retry_after=1
            ) from None
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
    return request_out(request, actor)


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
    return request_out(request, actor)


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
    return request_out(request, actor)


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


__all__ = ["router"]

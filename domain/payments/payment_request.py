"""A payment request: one business customer paying one or more receivables through a provider.

``requested`` → ``pending`` (checkout started at the provider) → ``paid`` | ``failed`` |
``expired`` | ``cancelled``. Provider events arrive twice, late or out of order, so each is
counted once by its event id (``has_event``); money is never lost: a payment is recorded in
any state, applied to the items in their order (``Allocation``), and what is left over is
``overpaid``, allocated to nobody. A payment arriving after the request was cancelled is
allocated to nobody at all: all of it is refund due.

Refunds (full or partial) are asked for with a reason (free text: ``PersonalData`` under the
request's ``case-text`` subject), approved by the cash office or a supervisor who did not ask
(four eyes), and recorded as paid once the provider refunded. Requested, approved and paid
refunds together never exceed what was paid. The payer's company, contact and e-mail are
``PersonalData`` of the request (subject ``payer``): erasing them leaves the money intact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import ActorRecord, Role
from domain.case import check_aware
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import check_kassenzeichen
from domain.payments.money import CURRENCY, ZERO, euros
from domain.payments.receivable import (
    check_identifier,
    check_keyword,
    check_text,
    receivable_id,
)
from domain.personal_data import PersonalData, PersonalValue, Subjects

PAYER: Final = "payer"  # the data subject of the payer's company, contact and e-mail
PAYER_FIELDS: Final = ("company", "contact", "email")
REQUESTED: Final = "requested"
PENDING: Final = "pending"
PAID: Final = "paid"
FAILED: Final = "failed"
EXPIRED: Final = "expired"
CANCELLED: Final = "cancelled"
WAITING: Final = (REQUESTED, PENDING)  # not yet paid, failed, expired or cancelled
REFUND_REQUESTED: Final = "requested"
REFUND_APPROVED: Final = "approved"
REFUND_REJECTED: Final = "rejected"
REFUND_PAID: Final = "paid"
REFUND_APPROVERS: Final = frozenset({Role.CASH_OFFICE, Role.SUPERVISOR})
_NOT_A_KEYWORD: Final = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class RequestItem:
    """A receivable a payment request settles, with the amount asked for it."""

    kassenzeichen: str
    receivable_id: UUID
    case_id: UUID
    case_reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of a payment applied to one item's receivable."""

    kassenzeichen: str
    receivable_id: UUID
    case_id: UUID
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of a payment request: asked for, approved or rejected, paid."""

    refund: str
    amount: Decimal
    reason: PersonalValue
    requested_by: str  # actor id
    requested_at: datetime
    status: str  # requested, approved, rejected, paid
    decided_by: str | None = None  # who approved or rejected
    decided_at: datetime | None = None
    provider_refund_reference: str | None = None
    paid_at: datetime | None = None


class WrongRequestState(InvalidCommand):
    """A command the payment request's status does not allow (a conflict, not bad input)."""

    def __init__(self, command: str, status: str) -> None:
        self.command = command
        self.status = status
        super().__init__("status", f"cannot {command} a payment request that is {status}")


def reason_code(text: str | None) -> str:
    """A provider's failure reason as a keyword (``card_declined``): never free text."""
    code = _NOT_A_KEYWORD.sub("_", (text or "").strip().lower()).strip("_")[:60]
    return code or "unknown"


class PaymentRequest(Aggregate):
    """A business customer's payment of receivables through a payment provider."""

    @classmethod
    def request(
        cls,
        *,
        request_id: UUID,
        tenant: str,
        business_customer: UUID,
        items: tuple[RequestItem, ...],
        payer: dict[str, PersonalData],
        requested_by: ActorRecord,
        at: datetime,
        expires_at: datetime,
    ) -> PaymentRequest:
        """Ask to pay these receivables: at least one, each Kassenzeichen once."""
        check_aware(at)
        check_aware(expires_at)
        check_text(tenant, "tenant")
        if expires_at <= at:
            raise InvalidCommand("expires_at", "a payment request expires after it is made")
        if not items:
            raise InvalidCommand("items", "a payment request settles at least one receivable")
        seen: set[str] = set()
        checked: list[RequestItem] = []
        for index, item in enumerate(items):
            field = f"items.{index}"
            if not isinstance(item, RequestItem):
                raise InvalidCommand(field, "must be a RequestItem")
            check_kassenzeichen(item.kassenzeichen, f"{field}.kassenzeichen")
            if item.kassenzeichen in seen:
                raise InvalidCommand(f"{field}.kassenzeichen", "is asked for twice")
            seen.add(item.kassenzeichen)
            if item.receivable_id != receivable_id(tenant, item.kassenzeichen):
                raise InvalidCommand(
                    f"{field}.receivable_id", "is not the receivable of the Kassenzeichen"
                )
            check_text(item.case_reference, f"{field}.case_reference")
            amount = euros(item.amount, f"{field}.amount")
            checked.append(replace(item, amount=amount))
        unknown = sorted(set(payer) - set(PAYER_FIELDS))
        if unknown:
            raise InvalidCommand(f"payer.{unknown[0]}", "is not a payer field")
        if "company" not in payer:
            raise InvalidCommand("payer.company", "the paying company is needed")
        for name, value in payer.items():
            if not isinstance(value, PersonalData):
                raise InvalidCommand(f"payer.{name}", "must be a PersonalData value")
            if value.case_id != request_id or value.subject != PAYER:
                raise InvalidCommand(f"payer.{name}", "belongs to the request's payer subject")
            if not value.value.strip():
                raise InvalidCommand(f"payer.{name}", "must not be empty")
        return cls(
            id=request_id,
            tenant=tenant,
            business_customer=business_customer,
            items=checked,
            payer=dict(sorted(payer.items())),
            requested_by=requested_by,
            at=at,
            expires_at=expires_at,
            total=sum((i.amount for i in checked), ZERO),
            currency=CURRENCY,
        )

    class Requested(Aggregate.Created):
        """A business customer asked to pay receivables (items in the order they are paid)."""

        tenant: str
        business_customer: UUID
        items: list[RequestItem]
        payer: dict[str, PersonalValue]
        requested_by: ActorRecord
        at: datetime
        expires_at: datetime
        total: Decimal
        currency: str

    @event(Requested)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        business_customer: UUID,
        items: list[RequestItem],
        payer: dict[str, PersonalValue],
        requested_by: ActorRecord,
        at: datetime,
        expires_at: datetime,
        total: Decimal,
        currency: str,
    ) -> None:
        self.tenant = tenant
        self.business_customer = business_customer
        self.items: tuple[RequestItem, ...] = tuple(items)
        self.payer = dict(payer)
        self.requested_by = requested_by
        self.requested_at = at
        self.expires_at = expires_at
        self.total = total
        self.currency = currency
        self.status = REQUESTED
        self.provider: str | None = None
        self.provider_reference: str | None = None
        self.checkout_url: str | None = None
        self.paid_total = ZERO
        self.overpaid = ZERO
        self.paid_at: datetime | None = None
        self.allocated: dict[str, Decimal] = {i.kassenzeichen: ZERO for i in items}
        self.provider_events: dict[str, str] = {}  # provider event id -> what it recorded
        self.refunds: dict[str, Refund] = {}
        self.closed_reason: str | None = None  # why it failed or was cancelled

    # ------------------------------------------------------------------ queries

    def has_event(self, event_id: str) -> bool:
        """Whether a provider event with this id was recorded already."""
        return event_id in self.provider_events

    @property
    def partially_paid(self) -> bool:
        """Money arrived, but less than the total."""
        return ZERO < self.paid_total < self.total

    @property
    def refunded(self) -> Decimal:
        """Refunds the provider paid back."""
        return self._refunds_in(REFUND_PAID)

    @property
    def refunds_pending(self) -> Decimal:
        """Refunds asked for or approved, not yet paid back."""
        return self._refunds_in(REFUND_REQUESTED, REFUND_APPROVED)

    @property
    def refundable(self) -> Decimal:
        """The most a new refund may be: paid, less refunds paid or under way."""
        return max(self.paid_total - self.refunded - self.refunds_pending, ZERO)

    @property
    def refund_due(self) -> Decimal:
        """Money allocated to no receivable that no refund pays back yet."""
        return max(self.overpaid - self.refunded - self.refunds_pending, ZERO)

    def _refunds_in(self, *statuses: str) -> Decimal:
        return sum((r.amount for r in self.refunds.values() if r.status in statuses), ZERO)

    def item(self, kassenzeichen: str) -> RequestItem | None:
        """The item of a Kassenzeichen, or None."""
        return next((i for i in self.items if i.kassenzeichen == kassenzeichen), None)

    def refund(self, refund: str) -> Refund:
        """A refund of this request, or ``InvalidCommand`` naming ``refund``."""
        found = self.refunds.get(refund)
        if found is None:
            raise InvalidCommand("refund", "this payment request has no such refund")
        return found

    # ------------------------------------------------------------------ checkout

    def checkout_started(
        self, *, provider: str, provider_reference: str, checkout_url: str, at: datetime
    ) -> None:
        """The provider opened a checkout for the request: the payer is sent there."""
        check_aware(at)
        check_identifier(provider, "provider")
        check_identifier(provider_reference, "provider_reference")
        if not isinstance(checkout_url, str) or not checkout_url.startswith(
            ("https://", "http://")
        ):
            raise InvalidCommand("checkout_url", "must be an http(s) URL")
        if self.status != REQUESTED:
            raise WrongRequestState("start the checkout of", self.status)
        self._checkout_started(
            provider=provider,
            provider_reference=provider_reference,
            checkout_url=checkout_url,
            at=at,
            status=PENDING,
        )

    class CheckoutStarted(Aggregate.Event):
        """A checkout opened at the provider; the request is pending there."""

        provider: str
        provider_reference: str
        checkout_url: str
        at: datetime
        status: str

    @event(CheckoutStarted)
    def _checkout_started(
        self,
        *,
        provider: str,
        provider_reference: str,
        checkout_url: str,
        at: datetime,
        status: str,
    ) -> None:
        self.provider = provider
        self.provider_reference = provider_reference
        self.checkout_url = checkout_url
        self.status = status

    # ------------------------------------------------------------------ provider events

    def record_payment(
        self, *, event_id: str, amount: Decimal, paid_at: datetime, at: datetime
    ) -> tuple[Allocation, ...]:
        """Record money the provider received; returns how it was applied to the items.

        An event id recorded before returns ``()`` and records nothing. Each item gets up to
        its amount in order; the rest is overpaid. Recorded in any status: a payment after a
        failure or expiry still pays the items; after a cancellation it pays nobody (refund due).
        """
        check_aware(at)
        check_aware(paid_at)
        check_identifier(event_id, "event_id")
        if self.has_event(event_id):
            return ()
        money = euros(amount, "amount")
        allocations: list[Allocation] = []
        left = money
        if self.status != CANCELLED:
            for item in self.items:
                share = min(left, item.amount - self.allocated.get(item.kassenzeichen, ZERO))
                if share > ZERO:
                    allocations.append(
                        Allocation(item.kassenzeichen, item.receivable_id, item.case_id, share)
                    )
                    left -= share
        paid_total = self.paid_total + money
        if self.status == CANCELLED:
            status = CANCELLED
        else:
            status = PAID if paid_total >= self.total else PENDING
        self._payment_received(
            event_id=event_id,
            amount=money,
            paid_at=paid_at,
            at=at,
            allocations=allocations,
            overpaid=left,
            status=status,
        )
        return tuple(allocations)

    class PaymentReceived(Aggregate.Event):
        """Money received at the provider, applied to the items; ``overpaid`` went to nobody."""

        event_id: str
        amount: Decimal
        paid_at: datetime
        at: datetime
        allocations: list[Allocation]
        overpaid: Decimal
        status: str

    @event(PaymentReceived)
    def _payment_received(
        self,
        *,
        event_id: str,
        amount: Decimal,
        paid_at: datetime,
        at: datetime,
        allocations: list[Allocation],
        overpaid: Decimal,
        status: str,
    ) -> None:
        self.provider_events[event_id] = "paid"
        self.paid_total += amount
        self.overpaid += overpaid
        for allocation in allocations:
            self.allocated[allocation.kassenzeichen] = (
                self.allocated.get(allocation.kassenzeichen, ZERO) + allocation.amount
            )
        if status == PAID and self.paid_at is None:
            self.paid_at = paid_at
        self.status = status

    def record_failure(self, *, event_id: str, reason: str, at: datetime) -> bool:
        """The provider reports the payment failed; ignored (False) once money arrived or the
        request ended, or for an event id recorded before."""
        check_aware(at)
        check_identifier(event_id, "event_id")
        if self.has_event(event_id) or self.status not in WAITING or self.paid_total > ZERO:
            return False
        self._payment_failed(event_id=event_id, reason=reason_code(reason), at=at, status=FAILED)
        return True

    class PaymentFailed(Aggregate.Event):
        """The provider reports that the payment failed (a reason code, no card data)."""

        event_id: str
        reason: str
        at: datetime
        status: str

    @event(PaymentFailed)
    def _payment_failed(self, *, event_id: str, reason: str, at: datetime, status: str) -> None:
        self.provider_events[event_id] = "failed"
        self.closed_reason = reason
        self.status = status

    def expire(self, *, at: datetime) -> bool:
        """The request lapsed unpaid at its expiry; ignored (False) once money arrived or the
        request ended."""
        check_aware(at)
        if at < self.expires_at:
            raise InvalidCommand("at", f"the payment request expires at {self.expires_at}")
        if self.status not in WAITING or self.paid_total > ZERO:
            return False
        self._expired(at=at, status=EXPIRED)
        return True

    class Expired(Aggregate.Event):
        """The request lapsed unpaid."""

        at: datetime
        status: str

    @event(Expired)
    def _expired(self, *, at: datetime, status: str) -> None:
        self.status = status

    def cancel(self, *, actor: ActorRecord, at: datetime, reason: str) -> None:
        """The requester or staff call the request off before any money arrived."""
        check_aware(at)
        check_keyword(reason, "reason")
        if actor.role is Role.APPLICANT and actor.id != self.requested_by.id:
            raise InvalidCommand("actor", "only the requester or staff cancel a payment request")
        if self.status not in WAITING:
            raise WrongRequestState("cancel", self.status)
        if self.paid_total > ZERO:
            raise InvalidCommand("status", "money has arrived: ask for a refund instead")
        self._cancelled(actor=actor, at=at, reason=reason, status=CANCELLED)

    class Cancelled(Aggregate.Event):
        """The request called off before any money arrived (a keyword says why)."""

        actor: ActorRecord
        at: datetime
        reason: str
        status: str

    @event(Cancelled)
    def _cancelled(self, *, actor: ActorRecord, at: datetime, reason: str, status: str) -> None:
        self.closed_reason = reason
        self.status = status

    # ------------------------------------------------------------------ refunds

    def request_refund(
        self,
        *,
        refund: str,
        amount: Decimal,
        reason: PersonalData | str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        """Staff ask to pay money back (full or partial), with a reason."""
        check_aware(at)
        check_identifier(refund, "refund")
        if refund in self.refunds:
            raise InvalidCommand("refund", "a refund with this id was asked for already")
        if actor.role is Role.APPLICANT:
            raise InvalidCommand("actor", "staff ask for a refund")
        money = euros(amount, "amount")
        if money > self.refundable:
            raise InvalidCommand(
                "amount",
                f"at most {self.refundable} {CURRENCY} can be refunded"
                " (paid, less refunds paid or under way)",
            )
        self._refund_requested(
            refund=refund,
            amount=money,
            reason=self._sealed_reason(reason),
            actor=actor,
            at=at,
        )

    def _sealed_reason(self, reason: PersonalData | str) -> PersonalData:
        if isinstance(reason, str):
            reason = PersonalData(self.id, Subjects.CASE_TEXT, reason.strip())
        if not isinstance(reason, PersonalData):
            raise InvalidCommand("reason", "must be text")
        if reason.case_id != self.id or reason.subject != Subjects.CASE_TEXT:
            raise InvalidCommand("reason", "belongs to the request's case-text subject")
        if not reason.value.strip() or len(reason.value) > 2000:
            raise InvalidCommand("reason", "a reason of 1 to 2000 characters is needed")
        return reason

    class RefundRequested(Aggregate.Event):
        """Staff asked to pay money back (the reason is sealed free text)."""

        refund: str
        amount: Decimal
        reason: PersonalValue
        actor: ActorRecord
        at: datetime

    @event(RefundRequested)
    def _refund_requested(
        self,
        *,
        refund: str,
        amount: Decimal,
        reason: PersonalValue,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        self.refunds[refund] = Refund(refund, amount, reason, actor.id, at, REFUND_REQUESTED)

    def approve_refund(self, *, refund: str, actor: ActorRecord, at: datetime) -> None:
        """The cash office or a supervisor who did not ask approves a refund (four eyes)."""
        check_aware(at)
        found = self.refund(refund)
        if found.status != REFUND_REQUESTED:
            raise InvalidCommand("refund", f"the refund is {found.status}, not requested")
        if actor.id == found.requested_by:
            raise InvalidCommand("actor", "who asked for a refund never approves it (four eyes)")
        if actor.role not in REFUND_APPROVERS:
            raise InvalidCommand("actor", "the cash office or a supervisor approves refunds")
        self._refund_approved(refund=refund, actor=actor, at=at)

    class RefundApproved(Aggregate.Event):
        """A refund approved by someone other than who asked; the provider pays it next."""

        refund: str
        actor: ActorRecord
        at: datetime

    @event(RefundApproved)
    def _refund_approved(self, *, refund: str, actor: ActorRecord, at: datetime) -> None:
        self.refunds[refund] = replace(
            self.refunds[refund], status=REFUND_APPROVED, decided_by=actor.id, decided_at=at
        )

    def reject_refund(
        self, *, refund: str, actor: ActorRecord, at: datetime, reason: PersonalData | str
    ) -> None:
        """Staff turn a refund down (or its asker withdraws it) before it was approved."""
        check_aware(at)
        found = self.refund(refund)
        if found.status != REFUND_REQUESTED:
            raise InvalidCommand("refund", f"the refund is {found.status}, not requested")
        if actor.role is Role.APPLICANT:
            raise InvalidCommand("actor", "staff decide on refunds")
        self._refund_rejected(refund=refund, actor=actor, at=at, reason=self._sealed_reason(reason))

    class RefundRejected(Aggregate.Event):
        """A refund turned down (the reason is sealed free text); nothing is paid back."""

        refund: str
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(RefundRejected)
    def _refund_rejected(
        self, *, refund: str, actor: ActorRecord, at: datetime, reason: PersonalValue
    ) -> None:
        self.refunds[refund] = replace(
            self.refunds[refund], status=REFUND_REJECTED, decided_by=actor.id, decided_at=at
        )

    def record_refund_paid(
        self, *, refund: str, provider_refund_reference: str, at: datetime
    ) -> bool:
        """The provider paid an approved refund back; False if it was recorded already."""
        check_aware(at)
        check_identifier(provider_refund_reference, "provider_refund_reference")
        found = self.refund(refund)
        if found.status == REFUND_PAID:
            if found.provider_refund_reference != provider_refund_reference:
                raise InvalidCommand(
                    "provider_refund_reference", "the refund was paid under another reference"
                )
            return False
        if found.status != REFUND_APPROVED:
            raise InvalidCommand("refund", f"the refund is {found.status}, not approved")
        self._refund_paid(refund=refund, provider_refund_reference=provider_refund_reference, at=at)
        return True

    class RefundPaid(Aggregate.Event):
        """The provider paid an approved refund back."""

        refund: str
        provider_refund_reference: str
        at: datetime

    @event(RefundPaid)
    def _refund_paid(self, *, refund: str, provider_refund_reference: str, at: datetime) -> None:
        self.refunds[refund] = replace(
            self.refunds[refund],
            status=REFUND_PAID,
            provider_refund_reference=provider_refund_reference,
            paid_at=at,
        )

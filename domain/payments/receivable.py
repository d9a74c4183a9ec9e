"""A receivable: one charge the town is owed under one Kassenzeichen, and what became of it.

A fee a decision assesses is opened as a receivable (one per charge line, id from town and
Kassenzeichen, ``receivable_id``) and booked to the municipal accounting (HKR) through the
feed. Payments come from the provider, or from the cash office at the counter or by bank
transfer, never from the person who ordered the payment (GemHVO: ordering and handling cash
are separate duties). A receivable is settled at most once; money paid beyond the amount, or
after the receivable was cancelled (the case withdrawn), is credit: recorded, never lost, and
refunded at most once.

Amounts: ``outstanding`` = amount - paid (never below zero; zero once cancelled), ``credit``
(= ``refund_due``) = paid - refunded - (amount unless cancelled), never below zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import ActorRecord, Role
from domain.case import check_aware
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import check_kassenzeichen
from domain.payments.money import CURRENCY, ZERO, euros
from domain.personal_data import Erased, PersonalData, PersonalValue
from domain.working_days import berlin_date

RECEIVABLE_NAMESPACE: Final = UUID("5c1f3e0a-8b7d-5a42-9e61-2f4d8c7b3a19")
PROVIDER: Final = "provider"
COUNTER: Final = "counter"
BANK_TRANSFER: Final = "bank_transfer"
CHANNELS: Final = (PROVIDER, COUNTER, BANK_TRANSFER)
CASH_CHANNELS: Final = (COUNTER, BANK_TRANSFER)  # money the cash office itself receives
OPEN: Final = "open"
PARTLY_PAID: Final = "partly_paid"
SETTLED: Final = "settled"
CANCELLED: Final = "cancelled"
KEYWORD: Final = re.compile(r"[a-z][a-z0-9_]{0,59}")  # a reason: a keyword, never free text


def receivable_id(tenant: str, kassenzeichen: str) -> UUID:
    """The id of the receivable of a Kassenzeichen in a town: the same in every process."""
    return uuid5(RECEIVABLE_NAMESPACE, f"{tenant}/{kassenzeichen}")


def check_identifier(value: str, field: str) -> str:
    """An id given by the caller or a provider (a bank statement's reference too): printable,
    1 to 200 characters, no space at either end."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 200
        or value != value.strip()
        or not value.isprintable()
    ):
        raise InvalidCommand(field, "must be an id of 1 to 200 printable characters")
    return value


def check_keyword(value: str, field: str) -> str:
    """A reason given as a keyword (``case_withdrawn``): never free text, it is not sealed."""
    if not isinstance(value, str) or not KEYWORD.fullmatch(value):
        raise InvalidCommand(field, "must be a keyword such as case_withdrawn, never free text")
    return value


def check_text(value: str, field: str) -> str:
    """A short non-empty label (ledger, legal basis, service, reference)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InvalidCommand(field, "must be a non-empty text of at most 500 characters")
    return value.strip()


@dataclass(frozen=True, slots=True)
class AppliedPayment:
    """A payment applied to a receivable: how much of it settled the charge, how much is credit."""

    payment: str
    amount: Decimal
    applied: Decimal  # the part that paid the outstanding amount
    overpaid: Decimal  # the rest: credit of the debtor
    received_on: date
    channel: str
    recorded_by: ActorRecord
    at: datetime
    request_id: UUID | None = None
    reference: PersonalValue | None = None  # a receipt's statement text (may name people)


@dataclass(frozen=True, slots=True)
class ReceivableRefund:
    """Credit paid back to the debtor."""

    refund: str
    amount: Decimal
    at: datetime
    recorded_by: ActorRecord


class Receivable(Aggregate):
    """One charge owed under one Kassenzeichen: payments, refunds, cancellation."""

    @classmethod
    def open(
        cls,
        *,
        tenant: str,
        kassenzeichen: str,
        case_id: UUID,
        case_reference: str,
        service: str,
        debtor: PersonalValue,
        business_customer: UUID | None,
        amount: Decimal,
        ledger: str,
        legal_basis: str,
        due_on: date | None,
        prepaid: bool,
        ordered_by: ActorRecord,
        at: datetime,
    ) -> Receivable:
        """Open the receivable of a charge a decision assessed (the case's debtor owes it)."""
        check_aware(at)
        check_text(tenant, "tenant")
        check_kassenzeichen(kassenzeichen)
        if not isinstance(debtor, PersonalData | Erased) or debtor.case_id != case_id:
            raise InvalidCommand("debtor", "must be the case's PersonalData")
        if due_on is not None and not isinstance(due_on, date):
            raise InvalidCommand("due_on", "must be a date")
        return cls(
            id=receivable_id(tenant, kassenzeichen),
            tenant=tenant,
            kassenzeichen=kassenzeichen,
            case_id=case_id,
            case_reference=check_text(case_reference, "case_reference"),
            service=check_text(service, "service"),
            debtor=debtor,
            business_customer=business_customer,
            amount=euros(amount, "amount"),
            currency=CURRENCY,
            ledger=check_text(ledger, "ledger"),
            legal_basis=check_text(legal_basis, "legal_basis"),
            due_on=due_on,
            prepaid=bool(prepaid),
            ordered_by=ordered_by,
            at=at,
        )

    class Opened(Aggregate.Created):
        """A charge assessed by a decision opened as a receivable (booked to the HKR)."""

        tenant: str
        kassenzeichen: str
        case_id: UUID
        case_reference: str
        service: str
        debtor: PersonalValue
        business_customer: UUID | None
        amount: Decimal
        currency: str
        ledger: str
        legal_basis: str
        due_on: date | None
        prepaid: bool
        ordered_by: ActorRecord
        at: datetime

    @event(Opened)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        kassenzeichen: str,
        case_id: UUID,
        case_reference: str,
        service: str,
        debtor: PersonalValue,
        business_customer: UUID | None,
        amount: Decimal,
        currency: str,
        ledger: str,
        legal_basis: str,
        due_on: date | None,
        prepaid: bool,
        ordered_by: ActorRecord,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.kassenzeichen = kassenzeichen
        self.case_id = case_id
        self.case_reference = case_reference
        self.service = service
        self.debtor = debtor
        self.business_customer = business_customer
        self.amount = amount
        self.currency = currency
        self.ledger = ledger
        self.legal_basis = legal_basis
        self.due_on = due_on
        self.prepaid = prepaid
        self.ordered_by = ordered_by
        self.opened_at = at
        self.payments: dict[str, AppliedPayment] = {}
        self.refunds: dict[str, ReceivableRefund] = {}
        self.cancelled = False
        self.cancelled_at: datetime | None = None
        self.cancel_reason: str | None = None
        self.settled_at: datetime | None = None

    # ------------------------------------------------------------------ queries

    @property
    def paid(self) -> Decimal:
        """Every payment received, overpayments included."""
        return sum((p.amount for p in self.payments.values()), ZERO)

    @property
    def refunded(self) -> Decimal:
        """Every refund paid back."""
        return sum((r.amount for r in self.refunds.values()), ZERO)

    @property
    def outstanding(self) -> Decimal:
        """What is still owed: amount - paid, never below zero; zero once cancelled."""
        if self.cancelled:
            return ZERO
        return max(self.amount - self.paid, ZERO)

    @property
    def credit(self) -> Decimal:
        """What the debtor has paid beyond what they owe and not yet got back."""
        owed = ZERO if self.cancelled else self.amount
        return max(self.paid - self.refunded - owed, ZERO)

    @property
    def refund_due(self) -> Decimal:
        """The most a refund may pay back now: the credit."""
        return self.credit

    @property
    def status(self) -> str:
        """open, partly_paid, settled or cancelled."""
        if self.cancelled:
            return CANCELLED
        if self.settled_at is not None:
            return SETTLED
        return PARTLY_PAID if self.payments else OPEN

    def has_payment(self, payment: str) -> bool:
        """Whether a payment with this id was applied already."""
        return payment in self.payments

    def has_refund(self, refund: str) -> bool:
        """Whether a refund with this id was recorded already."""
        return refund in self.refunds

    # ------------------------------------------------------------------ payments

    def apply_payment(
        self,
        *,
        payment: str,
        amount: Decimal,
        received_on: date,
        channel: str,
        recorded_by: ActorRecord,
        at: datetime,
        request_id: UUID | None = None,
        reference: PersonalData | None = None,
    ) -> Decimal:
        """Apply money received; returns the part that paid the outstanding amount.

        ``reference`` is a receipt's statement or receipt text, sealed under the case's
        ``case-text`` subject (it may name the payer); the ``payment`` id must not hold it.

        The rest (beyond the amount, or all of it once cancelled) is credit, recorded as an
        overpayment. The cash office records counter and bank-transfer receipts, never the
        person who ordered the payment; provider payments name their payment request.
        """
        check_aware(at)
        check_identifier(payment, "payment")
        if self.has_payment(payment):
            raise InvalidCommand("payment", "already recorded")
        money = euros(amount, "amount")
        if not isinstance(received_on, date) or isinstance(received_on, datetime):
            raise InvalidCommand("received_on", "must be a date")
        if received_on > berlin_date(at):
            raise InvalidCommand("received_on", "money cannot be received after it is recorded")
        if channel not in CHANNELS:
            raise InvalidCommand("channel", f"must be one of {', '.join(CHANNELS)}")
        if channel in CASH_CHANNELS:
            if recorded_by.role is not Role.CASH_OFFICE:
                raise InvalidCommand("recorded_by", "only the cash office records a receipt")
            if recorded_by.id == self.ordered_by.id:
                raise InvalidCommand(
                    "recorded_by", "who ordered the payment never records its receipt"
                )
        elif request_id is None:
            raise InvalidCommand("request_id", "a provider payment names its payment request")
        if reference is not None and (
            not isinstance(reference, PersonalData) or reference.case_id != self.case_id
        ):
            raise InvalidCommand("reference", "must be the case's PersonalData")
        applied = min(money, self.outstanding)
        settles = self.settled_at is None and not self.cancelled and applied == self.outstanding
        self._payment_applied(
            payment=payment,
            amount=money,
            applied=applied,
            overpaid=money - applied,
            received_on=received_on,
            channel=channel,
            recorded_by=recorded_by,
            at=at,
            request_id=request_id,
            reference=reference,
            status=SETTLED if settles else (PARTLY_PAID if self.status == OPEN else self.status),
        )
        return applied

    class PaymentApplied(Aggregate.Event):
        """Money received for the receivable; ``status`` is where it leads (``settled`` once)."""

        payment: str
        amount: Decimal
        applied: Decimal
        overpaid: Decimal
        received_on: date
        channel: str
        recorded_by: ActorRecord
        at: datetime
        request_id: UUID | None
        reference: PersonalValue | None
        status: str

    @event(PaymentApplied)
    def _payment_applied(
        self,
        *,
        payment: str,
        amount: Decimal,
        applied: Decimal,
        overpaid: Decimal,
        received_on: date,
        channel: str,
        recorded_by: ActorRecord,
        at: datetime,
        request_id: UUID | None,
        reference: PersonalValue | None,
        status: str,
    ) -> None:
        self.payments[payment] = AppliedPayment(
            payment,
            amount,
            applied,
            overpaid,
            received_on,
            channel,
            recorded_by,
            at,
            request_id,
            reference,
        )
        if status == SETTLED and self.settled_at is None:
            self.settled_at = at

    # ------------------------------------------------------------------ cancellation

    def cancel(self, *, actor: ActorRecord, at: datetime, reason: str) -> None:
        """Nothing is owed any more (the case was withdrawn): money paid so far, a settled
        receivable's too, becomes credit — a refund due, which the cash office decides."""
        check_aware(at)
        check_keyword(reason, "reason")
        if self.status == CANCELLED:
            raise WrongReceivableState("cancel", self.status)
        self._cancelled(actor=actor, at=at, reason=reason)

    class Cancelled(Aggregate.Event):
        """The receivable cancelled (a keyword says why); any money paid is now refund due."""

        actor: ActorRecord
        at: datetime
        reason: str

    @event(Cancelled)
    def _cancelled(self, *, actor: ActorRecord, at: datetime, reason: str) -> None:
        self.cancelled = True
        self.cancelled_at = at
        self.cancel_reason = reason

    # ------------------------------------------------------------------ refunds

    def record_refund(
        self, *, refund: str, amount: Decimal, at: datetime, actor: ActorRecord
    ) -> None:
        """Record credit paid back to the debtor (never more than the refund due)."""
        check_aware(at)
        check_identifier(refund, "refund")
        if self.has_refund(refund):
            raise InvalidCommand("refund", "already recorded")
        money = euros(amount, "amount")
        if money > self.refund_due:
            raise InvalidCommand(
                "amount", f"a refund is at most the refund due ({self.refund_due} {CURRENCY})"
            )
        self._refund_recorded(refund=refund, amount=money, at=at, actor=actor)

    class RefundRecorded(Aggregate.Event):
        """Credit paid back to the debtor."""

        refund: str
        amount: Decimal
        at: datetime
        actor: ActorRecord

    @event(RefundRecorded)
    def _refund_recorded(
        self, *, refund: str, amount: Decimal, at: datetime, actor: ActorRecord
    ) -> None:
        self.refunds[refund] = ReceivableRefund(refund, amount, at, actor)

    # ------------------------------------------------------------------ due date

    def set_due_date(self, *, due_on: date, at: datetime, actor: ActorRecord) -> None:
        """Set when the charge falls due (on notification; dunning reads it later).

        A prepaid charge may be settled before its decision is notified: the date is still
        recorded for the books. Only a cancelled receivable falls due no more.
        """
        check_aware(at)
        if not isinstance(due_on, date) or isinstance(due_on, datetime):
            raise InvalidCommand("due_on", "must be a date")
        if self.cancelled:
            raise WrongReceivableState("set the due date of", self.status)
        self._due_date_set(due_on=due_on, at=at, actor=actor)

    class DueDateSet(Aggregate.Event):
        """The date the charge falls due."""

        due_on: date
        at: datetime
        actor: ActorRecord

    @event(DueDateSet)
    def _due_date_set(self, *, due_on: date, at: datetime, actor: ActorRecord) -> None:
        self.due_on = due_on


class WrongReceivableState(InvalidCommand):
    """A command the receivable's status does not allow (a conflict, not bad input)."""

    def __init__(self, command: str, status: str) -> None:
        self.command = command
        self.status = status
        super().__init__("status", f"cannot {command} a receivable that is {status}")

"""Paying fees: business customer accounts, payment requests, the provider, the cash office.

- A **business customer** (Gewerbekunde) holds an account of one town with members, the
  customer's own staff, each in an account role; a member who may pay bills a case to the
  account (``bill_to``) and pays its receivables.
- A **payment request** settles receivables of one account through the payment provider:
  the provider opens a checkout first (nothing is saved when it cannot), then the request is
  saved with the checkout it started. Its id follows from the provider and the provider's
  reference, so a callback finds it with one read.
- What the provider reports — by a signed callback or, when none came, a status poll —
  is applied once per event id: the request records the money, each receivable it settles
  records its share, and a case awaiting that payment continues (``settle_charge``), all in
  one save, decided again from a fresh load when another save won the race. A case withdrawn
  meanwhile takes no settlement: its receivable was cancelled, and the money it receives is
  a refund due — never lost.
- The **cash office** records receipts at the counter and by bank transfer; never the person
  who ordered the payment (who decided or countersigned the decision charging it).
- **Refunds** are asked for by staff and approved by another person of the cash office or a
  supervisor (four eyes), then paid back through the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.errors import ApplicationError, CaseNotFound, ConcurrentUpdate
from application.payment_ports import (
    CheckoutOrder,
    PaymentProvider,
    ProviderEvent,
    ProviderEventKind,
)
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case import Case
from domain.errors import InvalidCommand
from domain.payments.business_customer import AccountRole, BusinessCustomer, business_customer_id
from domain.payments.kassenzeichen import check_kassenzeichen
from domain.payments.money import euros
from domain.payments.payment_request import PaymentRequest, RequestItem
from domain.payments.receivable import Receivable, receivable_id
from domain.payments.reconciliation import Reconciliation, reconciliation_id
from domain.personal_data import PersonalData, Subjects, reveal
from domain.tenants import tenant as tenant_named
from domain.working_days import berlin_date

PAYMENTS_ID: Final = "system:payments"
PAYMENTS_NAME: Final = "Zahlungsverkehr"
REQUEST_NAMESPACE: Final = uuid5(NAMESPACE_URL, "https://vorgang.example/payment-requests")
REQUEST_LIFETIME: Final = timedelta(hours=2)
ATTEMPTS: Final = 30
RECEIPT_CHANNELS: Final = ("counter", "bank_transfer")
REFUND_APPROVERS: Final = (Role.CASH_OFFICE, Role.SUPERVISOR)


class NoProvider(ApplicationError):
    """No payment provider is configured for this deployment (or not of this name)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no payment provider {name!r} is configured")


def payments_actor(tenant: str) -> Actor:
    """The system as it records what the payment provider reported."""
    return Actor(PAYMENTS_ID, PAYMENTS_NAME, Role.SYSTEM, tenant)


def payment_request_id(provider: str, provider_reference: str) -> UUID:
    """The id of the request a provider's payment belongs to: one read finds it."""
    return uuid5(REQUEST_NAMESPACE, f"{provider}/{provider_reference}")


@dataclass(frozen=True, slots=True)
class Payer:
    """Who pays, as the customer's member gives it (personal data once recorded)."""

    company: str
    contact: str
    email: str


class PaymentService:
    """Business customers, payment requests, provider reports, receipts and refunds."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        providers: Mapping[str, PaymentProvider] | None = None,
        *,
        request_lifetime: timedelta = REQUEST_LIFETIME,
        receipt_key: bytes = b"vorgang-receipts",
        provider_name: str = "simulator",
    ) -> None:
        self.store = store
        self.receipt_key = receipt_key  # receipts' ids are keyed digests of their reference
        self.provider_name = provider_name  # the configured one's, even while it is unset
        self.clock = clock
        self.providers = dict(providers or {})
        self.request_lifetime = request_lifetime

    # ------------------------------------------------------------------ loading

    def _get(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        try:
            found: Aggregate = self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise CaseNotFound(aggregate_id) from None
        if not isinstance(found, kind):
            raise CaseNotFound(aggregate_id)
        return found

    def provider(self, name: str | None = None) -> PaymentProvider:
        """The provider of this name (the only one when none is named)."""
        if name is None and len(self.providers) == 1:
            return next(iter(self.providers.values()))
        found = self.providers.get(name or "")
        if found is None:
            raise NoProvider(name or "")
        return found

    def customer(self, actor: Actor, customer_id: UUID) -> BusinessCustomer:
        """The account, for its members and the town's staff; anyone else: not found."""
        account: BusinessCustomer = self._get(customer_id, BusinessCustomer)
        if actor.role is Role.APPLICANT:
            if account.tenant != actor.tenant or not account.may_see(actor.id):
                raise CaseNotFound(customer_id)
        elif actor.role is not Role.SYSTEM and account.tenant not in (
            actor.tenant,
            actor.on_behalf_of,
        ):
            raise CaseNotFound(customer_id)
        return account

    def receivable(self, actor: Actor, kassenzeichen: str) -> Receivable:
        """The receivable under this Kassenzeichen of the actor's town (members: their own)."""
        check_kassenzeichen(kassenzeichen)
        for tenant in _tenants_of(actor):
            try:
                found: Aggregate = self.store.repository.get(receivable_id(tenant, kassenzeichen))
            except AggregateNotFoundError:
                continue
            if isinstance(found, Receivable) and self._may_see_receivable(actor, found):
                return found
        raise InvalidCommand("kassenzeichen", f"no receivable of yours has {kassenzeichen}")

    def _may_see_receivable(self, actor: Actor, receivable: Receivable) -> bool:
        if actor.role is not Role.APPLICANT:
            return True
        if receivable.business_customer is None:
            return False
        try:
            account = self.customer(actor, receivable.business_customer)
        except CaseNotFound:
            return False
        return account.may_see(actor.id)

    def request(self, actor: Actor, request_id: UUID) -> PaymentRequest:
        """The payment request, for the account's members and the town's staff."""
        request: PaymentRequest = self._get(request_id, PaymentRequest)
        if actor.role is Role.APPLICANT:
            self.customer(actor, request.business_customer)  # not a member: not found
        elif actor.role is not Role.SYSTEM and request.tenant not in _tenants_of(actor):
            raise CaseNotFound(request_id)
        return request

    # ------------------------------------------------------------------ accounts

    def register_customer(self, actor: Actor, *, company: str, owner: str) -> BusinessCustomer:
        """Register a business customer of the actor's town with its first member (owner)."""
        if not actor.acts_as(Role.CLERK, Role.SUPERVISOR, Role.ADMIN):
            raise InvalidCommand("actor", "the town's staff register business customers")
        tenant = actor.on_behalf_of or actor.tenant
        town = tenant_named(tenant)
        number = self.store.index.next_reference_number(f"{tenant}_customers", 0, lambda: 0)
        customer_number = f"GK-{town.reference_prefix}-{number:04d}"
        account_id = business_customer_id(tenant, customer_number)
        at = self.clock.now()
        account = BusinessCustomer.register(
            tenant=tenant,
            customer_number=customer_number,
            company=PersonalData(case_id=account_id, subject="company", value=company),
            owner=owner,
            actor=actor.recorded_in(account_id),
            at=at,
        )
        self.store.save(account)
        return account

    def add_member(
        self, actor: Actor, customer_id: UUID, *, member: str, role: AccountRole
    ) -> BusinessCustomer:
        """An owner of the account (or the town's staff) adds a member in an account role."""
        account = self.customer(actor, customer_id)
        account.add_member(
            member=member,
            role=role,
            actor_id=actor.id,
            actor=actor.recorded_in(account.id),
            at=self.clock.now(),
        )
        self.store.save(account)
        return account

    def remove_member(self, actor: Actor, customer_id: UUID, *, member: str) -> BusinessCustomer:
        """An owner removes a member (never the last owner)."""
        account = self.customer(actor, customer_id)
        account.remove_member(
            member=member,
            actor_id=actor.id,
            actor=actor.recorded_in(account.id),
            at=self.clock.now(),
        )
        self.store.save(account)
        return account

    # ------------------------------------------------------------------ paying

    def request_payment(
        self,
        actor: Actor,
        customer_id: UUID,
        *,
        kassenzeichen: Sequence[str],
        payer: Payer,
        return_url: str | None = None,
        provider: str | None = None,
    ) -> PaymentRequest:
        """Open a checkout at the provider for these receivables of the account, and save
        the request with it. The provider unreachable: nothing is saved (503)."""
        account = self.customer(actor, customer_id)
        if actor.role is Role.APPLICANT and not account.may_pay(actor.id):
            raise InvalidCommand("actor", "your role in the account does not let you pay")
        if not kassenzeichen:
            raise InvalidCommand("kassenzeichen", "name at least one Kassenzeichen to pay")
        if len(set(kassenzeichen)) != len(kassenzeichen):
            raise InvalidCommand("kassenzeichen", "names a Kassenzeichen twice")
        items = []
        for index, kz in enumerate(kassenzeichen):
            field = f"kassenzeichen[{index}]"
            check_kassenzeichen(kz, field)
            try:
                found: Aggregate | None = self.store.repository.get(
                    receivable_id(account.tenant, kz)
                )
            except AggregateNotFoundError:
                found = None
            if not isinstance(found, Receivable) or found.business_customer != account.id:
                raise InvalidCommand(field, f"the account has no receivable {kz}")
            if found.outstanding <= 0:
                raise InvalidCommand(field, f"{kz} is {found.status}: nothing is owed")
            items.append(
                RequestItem(
                    kassenzeichen=kz,
                    receivable_id=found.id,
                    case_id=found.case_id,
                    case_reference=found.case_reference,
                    amount=found.outstanding,
                )
            )
        gateway = self.provider(provider)
        total = sum((i.amount for i in items), Decimal(0))
        town = tenant_named(account.tenant)
        order = CheckoutOrder(
            request_id=uuid4(),
            amount=total,
            currency="EUR",
            description=f"{town.display_name}: " + ", ".join(i.kassenzeichen for i in items),
            kassenzeichen=tuple(i.kassenzeichen for i in items),
            return_url=return_url,
            item_amounts=tuple(i.amount for i in items),
        )
        checkout = gateway.start_checkout(order)
        request_id = payment_request_id(gateway.name, checkout.provider_reference)
        at = self.clock.now()
        sealed = {
            name: PersonalData(case_id=request_id, subject="payer", value=value)
            for name, value in (
                ("company", payer.company),
                ("contact", payer.contact),
                ("email", payer.email),
            )
        }
        request = PaymentRequest.request(
            request_id=request_id,
            tenant=account.tenant,
            business_customer=account.id,
            items=tuple(items),
            payer=sealed,
            requested_by=actor.recorded_in(request_id),
            at=at,
            expires_at=at + self.request_lifetime,
        )
        request.checkout_started(
            provider=gateway.name,
            provider_reference=checkout.provider_reference,
            checkout_url=checkout.checkout_url,
            at=at,
        )
        self.store.save(request)
        return request

    def cancel_request(self, actor: Actor, request_id: UUID, *, reason: str) -> PaymentRequest:
        """The requester or the town's staff cancel a request nothing was paid on."""
        request = self.request(actor, request_id)
        request.cancel(actor=actor.recorded_in(request.id), at=self.clock.now(), reason=reason)
        self.store.save(request)
        return request

    def receive_callback(
        self, provider: str, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        """Verify a provider's callback (401 when it does not verify) and apply its event."""
        gateway = self.provider(provider)
        reported = gateway.verify_callback(headers, body, self.clock.now())
        self.apply(gateway.name, reported)
        return reported

    def poll(self, request_id: UUID) -> PaymentRequest:
        """Ask the provider about a request and apply every event it reports (the callbacks
        that never came, or came late); events applied before count once."""
        request: PaymentRequest = self._get(request_id, PaymentRequest)
        if request.provider is None or request.provider_reference is None:
            return request
        status = self.provider(request.provider).status(request.provider_reference)
        for reported in status.events:
            self.apply(request.provider, reported)
        polled: PaymentRequest = self._get(request_id, PaymentRequest)
        return polled

    def expire_due(self, request_id: UUID) -> PaymentRequest:
        """Poll the request once more, then let it expire if nothing was paid by its end."""
        request = self.poll(request_id)
        now = self.clock.now()
        waiting = request.status in ("requested", "pending") and request.paid_total == 0
        if waiting and now >= request.expires_at:
            request.expire(at=now)
            self.store.save(request)
        return request

    def apply(self, provider: str, reported: ProviderEvent) -> None:
        """Apply one provider event to its request, receivables and cases, in one save."""
        request_id = payment_request_id(provider, reported.provider_reference)
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            request: PaymentRequest = self._get(request_id, PaymentRequest)
            if request.has_event(reported.event_id):
                return
            changed = self._applied(request, provider, reported)
            try:
                self.store.save(request, *changed)
            except IntegrityError:
                continue
            return
        raise ConcurrentUpdate(request_id)

    def _applied(
        self, request: PaymentRequest, provider: str, reported: ProviderEvent
    ) -> list[Aggregate]:
        at = self.clock.now()
        kind = reported.kind
        if kind is ProviderEventKind.PAID:
            amount = euros(reported.amount or Decimal(0), "amount")
            allocations = request.record_payment(
                event_id=reported.event_id, amount=amount, paid_at=reported.occurred_at, at=at
            )
            return self._settle(request, provider, reported, allocations, at)
        if kind in (ProviderEventKind.FAILED, ProviderEventKind.CANCELLED):
            request.record_failure(
                event_id=reported.event_id, reason=reported.reason or kind.value, at=at
            )
        elif kind is ProviderEventKind.EXPIRED:
            request.record_failure(event_id=reported.event_id, reason="expired", at=at)
        # REFUNDED: the refund was recorded when the provider accepted it (``approve_refund``).
        return []

    def _settle(
        self,
        request: PaymentRequest,
        provider: str,
        reported: ProviderEvent,
        allocations: Sequence[Any],
        at: datetime,
    ) -> list[Aggregate]:
        system = payments_actor(request.tenant)
        changed: list[Aggregate] = []
        cases: dict[UUID, Case] = {}  # one request may settle several charges of a case
        for allocation in allocations:
            receivable: Receivable = self._get(allocation.receivable_id, Receivable)
            payment = f"{provider}:{reported.event_id}"
            if receivable.has_payment(payment):
                continue
            receivable.apply_payment(
                payment=payment,
                amount=allocation.amount,
                received_on=berlin_date(reported.occurred_at),
                channel="provider",
                recorded_by=system.recorded_in(receivable.id),
                at=at,
                request_id=request.id,
            )
            changed.append(receivable)
            self._settle_case(receivable, system, payment, at, cases)
        return changed + [case for case in cases.values() if case.pending_events]

    def _settle_case(
        self,
        receivable: Receivable,
        actor: Actor,
        payment: str,
        at: datetime,
        cases: dict[UUID, Case],
    ) -> None:
        """The case learns its charge is settled (unless it was withdrawn or closed).

        ``cases`` holds the cases this save loaded (one request may settle several charges
        of one case); whoever saves takes those with pending events.
        """
        if receivable.status != "settled":
            return
        if receivable.case_id not in cases:
            try:
                found: Aggregate = self.store.repository.get(receivable.case_id)
            except AggregateNotFoundError:
                return
            if not isinstance(found, Case):
                return
            cases[receivable.case_id] = found
        case = cases[receivable.case_id]
        if receivable.kassenzeichen in case.settled_charges:
            return
        if (
            case.status in ("withdrawn", "closed")
            or case.charge_under(receivable.kassenzeichen) is None
        ):
            return
        case.settle_charge(
            actor=actor,
            at=at,
            kassenzeichen=receivable.kassenzeichen,
            amount=receivable.amount,
            payment=payment,
        )

    # ------------------------------------------------------------------ the cash office

    def record_receipt(
        self,
        actor: Actor,
        kassenzeichen: str,
        *,
        amount: Decimal,
        channel: str,
        received_on: date,
        reference: str,
    ) -> Receivable:
        """The cash office records money received at the counter or by bank transfer.

        Never by whoever ordered the payment (decided or countersigned its decision): the
        separation of ordering and handling cash the municipal budget law requires.
        """
        if not actor.acts_as(Role.CASH_OFFICE):
            raise InvalidCommand("actor", "the cash office records receipts")
        actor = actor.acting_in((Role.CASH_OFFICE,))
        if channel not in RECEIPT_CHANNELS:
            raise InvalidCommand("channel", f"must be one of {', '.join(RECEIPT_CHANNELS)}")
        reference = reference.strip()
        if not reference:
            raise InvalidCommand("reference", "must not be empty")
        amount = euros(amount, "amount")
        if received_on > berlin_date(self.clock.now()):
            raise InvalidCommand("received_on", "must not lie in the future")
        # The id makes a receipt idempotent without holding its text, which may name people:
        # the text itself is sealed with the case's free text (erased with it).
        digest = hmac.new(
            self.receipt_key, f"{kassenzeichen}\x1f{reference}".encode(), hashlib.sha256
        )
        payment = f"{channel}:{digest.hexdigest()[:24]}"
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            receivable = self.receivable(actor, kassenzeichen)
            self._check_not_ordered_by(actor, receivable)
            if receivable.has_payment(payment):
                raise InvalidCommand("reference", "a receipt with this reference is recorded")
            at = self.clock.now()
            receivable.apply_payment(
                payment=payment,
                amount=amount,
                received_on=received_on,
                channel=channel,
                recorded_by=actor.recorded_in(receivable.id),
                at=at,
                reference=PersonalData(
                    case_id=receivable.case_id, subject=Subjects.CASE_TEXT, value=reference
                ),
            )
            cases: dict[UUID, Case] = {}
            self._settle_case(receivable, actor, payment, at, cases)
            try:
                self.store.save(receivable, *cases.values())
            except IntegrityError:
                continue
            return receivable
        raise ConcurrentUpdate(receivable_id(actor.tenant, kassenzeichen))

    def _check_not_ordered_by(self, actor: Actor, receivable: Receivable) -> None:
        ordering = {receivable.ordered_by.id}
        try:
            case: Aggregate | None = self.store.repository.get(receivable.case_id)
        except AggregateNotFoundError:
            case = None
        if isinstance(case, Case):
            for decision in case.decisions:
                ordering.add(decision.decided_by.id)
                if decision.countersigned_by is not None:
                    ordering.add(decision.countersigned_by.id)
        if actor.id in ordering:
            raise InvalidCommand(
                "actor",
                "who ordered the payment (decided or countersigned it) does not record its "
                "receipt: another person of the cash office must",
            )

    # ------------------------------------------------------------------ reconciliation

    def reconciliation_runs(
        self, actor: Actor, tenant: str, day: date, provider: str | None = None
    ) -> list[dict[str, Any]]:
        """Every run of the town's reconciliation with the provider for the day, oldest first:
        who ran it and when, the report's digest and the rows matched, missing, unexpected."""
        if not actor.acts_as(Role.CASH_OFFICE, Role.AUDITOR, Role.SUPERVISOR, Role.SYSTEM):
            raise InvalidCommand("actor", "the cash office, auditors and supervisors read them")
        if actor.role is not Role.SYSTEM and tenant not in _tenants_of(actor):
            raise InvalidCommand("tenant", "you do not act for this town")
        name = provider or self.provider_name
        runs: list[dict[str, Any]] = []
        for stored in self.store.events.get(reconciliation_id(tenant, name, day)):
            if isinstance(stored, Reconciliation.Reconciled):
                runs.append(
                    {
                        "tenant": tenant,
                        "provider": stored.provider,
                        "day": stored.day,
                        "run": len(runs) + 1,
                        "at": stored.at,
                        "by": stored.actor.id,
                        "report_digest": stored.report_digest,
                        "balanced": not stored.missing and not stored.unexpected,
                        "matched": list(stored.matched),
                        "missing": list(stored.missing),
                        "unexpected": list(stored.unexpected),
                    }
                )
        return runs

    # ------------------------------------------------------------------ refunds

    def refundable(self, request: PaymentRequest) -> Decimal:
        """What may still be paid back on the request: the overpayment no receivable took,
        and the credit of the receivables it paid (a cancelled charge, one paid twice), less
        refunds asked for and not yet decided."""
        return max(self._due_for_refund(request) - request.refunds_pending, Decimal(0))

    def _due_for_refund(self, request: PaymentRequest) -> Decimal:
        """The overpayment left and the credit of the receivables the request paid, before
        any refund under way (another request's refund may take the same credit first)."""
        credit = Decimal(0)
        for receivable in self._receivables_of(request):
            own = request.allocated.get(receivable.kassenzeichen, Decimal(0))
            own -= _refunded_for(receivable, request)
            credit += max(min(receivable.credit, own), Decimal(0))
        return self._overpayment_left(request) + credit

    def _receivables_of(self, request: PaymentRequest) -> list[Receivable]:
        found = []
        for item in request.items:
            try:
                receivable: Aggregate = self.store.repository.get(item.receivable_id)
            except AggregateNotFoundError:
                continue
            if isinstance(receivable, Receivable):
                found.append(receivable)
        return found

    def _overpayment_left(self, request: PaymentRequest) -> Decimal:
        """The overpayment not yet paid back (refunds pay it back before any credit)."""
        to_receivables = sum(
            (_refunded_for(r, request) for r in self._receivables_of(request)), Decimal(0)
        )
        return max(request.overpaid - (request.refunded - to_receivables), Decimal(0))

    def request_refund(
        self, actor: Actor, request_id: UUID, *, amount: Decimal, reason: str
    ) -> PaymentRequest:
        """Staff ask to pay money back (what is due for refund at most), with the reason."""
        if not actor.acts_as(Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE):
            raise InvalidCommand("actor", "the town's staff ask for refunds")
        request = self.request(actor, request_id)
        amount = euros(amount, "amount")
        due = self.refundable(request)
        if amount > due:
            raise InvalidCommand("amount", f"only {due} EUR is due for refund on this request")
        request.request_refund(
            refund=f"R{len(request.refunds) + 1}",
            amount=amount,
            reason=PersonalData(case_id=request.id, subject="case-text", value=reason),
            actor=actor.recorded_in(request.id),
            at=self.clock.now(),
        )
        self.store.save(request)
        return request

    def approve_refund(self, actor: Actor, request_id: UUID, refund: str) -> PaymentRequest:
        """Another person (cash office or supervisor) approves; the provider pays it back and
        the refund is recorded on the request and the receivables whose credit it pays."""
        if not actor.acts_as(*REFUND_APPROVERS):
            raise InvalidCommand("actor", "the cash office or a supervisor approves refunds")
        actor = actor.acting_in(REFUND_APPROVERS)
        paid_back: str | None = None  # the provider's reference, once it paid the refund back
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            request = self.request(actor, request_id)
            overpayment_left = self._overpayment_left(request)
            asked = request.refund(refund)
            if paid_back is not None and asked.status == "paid":
                return request  # recorded by a save that raced this one
            others = request.refunds_pending - asked.amount  # this one is pending until approved
            due = self._due_for_refund(request) - others
            if paid_back is None and asked.status == "requested" and asked.amount > due:
                # The credit was paid back meanwhile (a refund of another request of the same
                # receivable): the provider must not pay it out a second time.
                raise InvalidCommand("amount", "the refund exceeds what is still due: reject it")
            request.approve_refund(
                refund=refund, actor=actor.recorded_in(request.id), at=self.clock.now()
            )
            if paid_back is None:
                gateway = self.provider(request.provider)
                assert request.provider_reference is not None
                paid_back = gateway.refund(
                    request.provider_reference, asked.amount, f"{request.id}/{refund}"
                )
            at = self.clock.now()
            request.record_refund_paid(refund=refund, provider_refund_reference=paid_back, at=at)
            changed = self._refund_receivables(
                request, refund, asked.amount, overpayment_left, actor, at
            )
            try:
                self.store.save(request, *changed)
            except IntegrityError:
                continue  # the money went out: record it on a fresh load, never lose it
            return request
        raise ConcurrentUpdate(request_id)

    def reject_refund(
        self, actor: Actor, request_id: UUID, refund: str, *, reason: str
    ) -> PaymentRequest:
        """The approver refuses the refund, with the reason."""
        if not actor.acts_as(*REFUND_APPROVERS):
            raise InvalidCommand("actor", "the cash office or a supervisor decides refunds")
        actor = actor.acting_in(REFUND_APPROVERS)
        request = self.request(actor, request_id)
        request.reject_refund(
            refund=refund, actor=actor.recorded_in(request.id), at=self.clock.now(), reason=reason
        )
        self.store.save(request)
        return request

    def _refund_receivables(
        self,
        request: PaymentRequest,
        refund: str,
        amount: Decimal,
        overpayment_left: Decimal,
        actor: Actor,
        at: datetime,
    ) -> list[Aggregate]:
        """The part of a refund beyond the request's own overpayment pays receivables' credit."""
        remaining = amount - min(amount, overpayment_left)
        changed: list[Aggregate] = []
        for item in request.items:
            if remaining <= 0:
                break
            receivable: Receivable = self._get(item.receivable_id, Receivable)
            own = request.allocated.get(item.kassenzeichen, Decimal(0))
            share = min(remaining, receivable.credit, own - _refunded_for(receivable, request))
            if share <= 0:
                continue
            receivable.record_refund(
                refund=f"{request.id}/{refund}",
                amount=share,
                at=at,
                actor=actor.recorded_in(receivable.id),
            )
            changed.append(receivable)
            remaining -= share
        return changed


def _refunded_for(receivable: Receivable, request: PaymentRequest) -> Decimal:
    """What refunds of this request paid back on the receivable."""
    prefix = f"{request.id}/"
    return sum(
        (r.amount for key, r in receivable.refunds.items() if key.startswith(prefix)),
        Decimal(0),
    )


def _tenants_of(actor: Actor) -> tuple[str, ...]:
    """The towns whose payments the actor may see: their own, and a delegating one."""
    return tuple(t for t in (actor.tenant, actor.on_behalf_of) if t)


def checked_role(value: str) -> AccountRole:
    """An account role by its name, or an error naming ``role``."""
    try:
        return AccountRole(value)
    except ValueError:
        allowed = ", ".join(r.value for r in AccountRole)
        raise InvalidCommand("role", f"must be one of {allowed}") from None


def customer_view(account: BusinessCustomer) -> dict[str, Any]:
    """An account as its members and the town's staff read it."""
    return {
        "id": account.id,
        "tenant": account.tenant,
        "customer_number": account.customer_number,
        "company": account.company.reveal(),
        "members": [
            {"member": member, "role": str(role)}
            for member, role in sorted(account.members.items())
        ],
        "version": account.version,
    }


def receivable_view(receivable: Receivable) -> dict[str, Any]:
    """A receivable as the account's members, the cash office and auditors read it."""
    return {
        "kassenzeichen": receivable.kassenzeichen,
        "tenant": receivable.tenant,
        "case_id": receivable.case_id,
        "case_reference": receivable.case_reference,
        "service": receivable.service,
        "business_customer": receivable.business_customer,
        "amount": receivable.amount,
        "currency": receivable.currency,
        "ledger": receivable.ledger,
        "legal_basis": receivable.legal_basis,
        "due_on": receivable.due_on,
        "prepaid": receivable.prepaid,
        "status": receivable.status,
        "paid": receivable.paid,
        "outstanding": receivable.outstanding,
        "refunded": receivable.refunded,
        "refund_due": receivable.refund_due,
        "payments": [
            {
                "payment": p.payment,
                "amount": p.amount,
                "received_on": p.received_on,
                "channel": p.channel,
                "reference": reveal(p.reference),
                "recorded_by": p.recorded_by.id,
            }
            for p in receivable.payments.values()
        ],
        "version": receivable.version,
    }


def request_view(request: PaymentRequest) -> dict[str, Any]:
    """A payment request as the account's members and the town's staff read it."""
    return {
        "id": request.id,
        "tenant": request.tenant,
        "business_customer": request.business_customer,
        "status": request.status,
        "total": request.total,
        "paid": request.paid_total,
        "overpaid": request.overpaid,
        "refunded": request.refunded,
        "currency": "EUR",
        "provider": request.provider,
        "provider_reference": request.provider_reference,
        "checkout_url": request.checkout_url,
        "expires_at": request.expires_at,
        "items": [
            {
                "kassenzeichen": i.kassenzeichen,
                "case_id": i.case_id,
                "case_reference": i.case_reference,
                "amount": i.amount,
            }
            for i in request.items
        ],
        "refunds": [
            {
                "refund": name,
                "amount": r.amount,
                "status": r.status,
                "requested_by": r.requested_by,
                "decided_by": r.decided_by,
            }
            for name, r in request.refunds.items()
        ],
        "version": request.version,
    }

"""Paying a road opening permit's fee as a business customer, through the application only.

A contractor's case billed to its account waits for payment after the approval; the
provider's report settles the receivable and the case in one save, once per event; the cash
office records receipts (never who decided); a withdrawal and a payment meeting in any order
end with the money kept as a refund due; refunds need a second person.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.errors import CaseNotFound, ConcurrentUpdate
from application.letters import compose
from application.payment_ports import (
    BadSignature,
    Checkout,
    CheckoutOrder,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    SettlementRow,
)
from application.payments import Payer, PaymentService
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.documents import DocumentKind
from domain.errors import InvalidCommand
from domain.payments.business_customer import BusinessCustomer
from domain.payments.kassenzeichen import is_valid_kassenzeichen
from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import Receivable, receivable_id
from domain.services import road_opening
from domain.services.road_opening import RoadOpeningPermit
from domain.working_days import berlin_date
from tests.conftest import APPLICANT, CLERK, SUPERVISOR
from tests.steps import decided, take

CASH_OFFICE = Actor("kasse.usingen", "Gemeindekasse Usingen", Role.CASH_OFFICE, "usingen")
PAYER = Payer(company="Tiefbau Hochtaunus GmbH", contact="Jörg Brenner", email="jb@tiefbau.example")
DISCRETION = "Der Gemeingebrauch wird nur kurz beeinträchtigt."


class FakeProvider:
    """A provider in memory: checkouts, and the events the test reports through it."""

    name = "fake"

    def __init__(self) -> None:
        self.orders: dict[str, CheckoutOrder] = {}
        self.events: dict[str, list[ProviderEvent]] = {}
        self.refunds: list[tuple[str, Decimal, str]] = []

    def start_checkout(self, order: CheckoutOrder) -> Checkout:
        reference = f"fk_{len(self.orders) + 1}"
        self.orders[reference] = order
        return Checkout(reference, f"https://pay.example/{reference}")

    def status(self, provider_reference: str) -> ProviderStatus:
        return ProviderStatus(provider_reference, tuple(self.events.get(provider_reference, ())))

    def refund(self, provider_reference: str, amount: Decimal, refund_id: str) -> str:
        self.refunds.append((provider_reference, amount, refund_id))
        return f"rf_{len(self.refunds)}"

    def settlement_report(self, day: date) -> tuple[SettlementRow, ...]:
        return ()

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        raise BadSignature("the fake provider sends no callbacks")

    def paid(self, reference: str, amount: str, at: datetime) -> ProviderEvent:
        """The payer paid ``amount`` at the checkout."""
        number = len(self.events.get(reference, ())) + 1
        event = ProviderEvent(
            f"ev_{reference}_{number}", reference, ProviderEventKind.PAID, Decimal(amount), at
        )
        self.events.setdefault(reference, []).append(event)
        return event


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def payments(cases: CaseService, clock: FixedClock, provider: FakeProvider) -> PaymentService:
    return PaymentService(cases.store, clock, {provider.name: provider})


def billed_permit(cases: CaseService, payments: PaymentService) -> tuple[UUID, BusinessCustomer]:
    """A contractor's road opening billed to its account and approved: it awaits payment."""
    account = payments.register_customer(CLERK, company=PAYER.company, owner=APPLICANT.id)
    data = road_opening.example(berlin_date(cases.clock.now()))
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": PAYER.company},
        data=data,
    ).case_id
    take(cases, case_id, "bill_to", actor=APPLICANT, business_customer=str(account.id))
    decided(cases, case_id, outcome=DecisionOutcome.APPROVED, discretion=DISCRETION)
    return case_id, account


def permit(cases: CaseService, case_id: UUID) -> RoadOpeningPermit:
    found: Any = cases.store.repository.get(case_id)
    assert isinstance(found, RoadOpeningPermit)
    return found


def receivables(cases: CaseService, case_id: UUID) -> list[Receivable]:
    case = permit(cases, case_id)
    return [
        cases.store.repository.get(receivable_id(case.tenant, c.kassenzeichen))
        for c in case.charges
    ]


def pay_request(
    payments: PaymentService, provider: FakeProvider, cases: CaseService, case_id: UUID
) -> PaymentRequest:
    case = permit(cases, case_id)
    assert case.business_customer is not None
    return payments.request_payment(
        APPLICANT,
        case.business_customer,
        kassenzeichen=[c.kassenzeichen for c in case.charges],
        payer=PAYER,
    )


def test_the_permit_waits_for_the_fee_and_one_paid_report_settles_everything_once(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    case_id, account = billed_permit(cases, payments)
    case = permit(cases, case_id)
    assert case.status == "awaiting_payment"
    assert case.charges
    assert all(c.prepaid and is_valid_kassenzeichen(c.kassenzeichen) for c in case.charges)
    opened = receivables(cases, case_id)
    assert [r.status for r in opened] == ["open"] * len(opened)
    assert {r.business_customer for r in opened} == {account.id}
    assert all(r.ordered_by.id == CLERK.id for r in opened)

    request = pay_request(payments, provider, cases, case_id)
    assert request.status == "pending"
    assert request.checkout_url
    total = sum((c.amount for c in case.charges), Decimal(0))
    assert request.total == total
    assert provider.orders[request.provider_reference or ""].item_amounts == tuple(
        c.amount for c in case.charges
    )
    reported = provider.paid(request.provider_reference or "", str(total), cases.clock.now())
    payments.apply(provider.name, reported)
    versions = (permit(cases, case_id).version, [r.version for r in receivables(cases, case_id)])
    payments.apply(provider.name, reported)  # the same callback again
    payments.poll(request.id)  # and once more by the status poll
    assert (permit(cases, case_id).version, [r.version for r in receivables(cases, case_id)]) == (
        versions
    )
    case = permit(cases, case_id)
    assert case.status == "decided"
    assert case.settled_charges == {c.kassenzeichen for c in case.charges}
    assert [r.status for r in receivables(cases, case_id)] == ["settled"] * len(case.charges)
    assert payments.request(APPLICANT, request.id).status == "paid"


def test_a_partial_payment_keeps_the_case_waiting_until_the_rest_arrives(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    part = Decimal("10.00")
    payments.apply(
        provider.name, provider.paid(request.provider_reference or "", str(part), cases.clock.now())
    )
    assert permit(cases, case_id).status == "awaiting_payment"
    assert payments.request(APPLICANT, request.id).partially_paid
    rest = request.total - part
    payments.apply(
        provider.name, provider.paid(request.provider_reference or "", str(rest), cases.clock.now())
    )
    assert permit(cases, case_id).status == "decided"
    assert sum((r.paid for r in receivables(cases, case_id)), Decimal(0)) == request.total


def test_the_cash_office_records_a_receipt_but_never_whoever_ordered_the_payment(
    cases: CaseService, payments: PaymentService
) -> None:
    case_id, _ = billed_permit(cases, payments)
    charge = permit(cases, case_id).charges[0]
    day = berlin_date(cases.clock.now())
    deciding_clerk_in_the_cash_office = Actor(
        CLERK.id, CLERK.display_name, Role.CASH_OFFICE, "usingen"
    )
    for actor, field in ((CLERK, "actor"), (deciding_clerk_in_the_cash_office, "actor")):
        with pytest.raises(InvalidCommand) as refused:
            payments.record_receipt(
                actor,
                charge.kassenzeichen,
                amount=charge.amount,
                channel="counter",
                received_on=day,
                reference="BAR-1",
            )
        assert refused.value.field == field
    payments.record_receipt(
        CASH_OFFICE,
        charge.kassenzeichen,
        amount=charge.amount,
        channel="bank_transfer",
        received_on=day,
        reference="KAZ-2026-0815",
    )
    with pytest.raises(InvalidCommand) as twice:
        payments.record_receipt(
            CASH_OFFICE,
            charge.kassenzeichen,
            amount=charge.amount,
            channel="bank_transfer",
            received_on=day,
            reference="KAZ-2026-0815",
        )
    assert twice.value.field == "reference"
    case = permit(cases, case_id)
    assert charge.kassenzeichen in case.settled_charges
    if len(case.charges) == 1:
        assert case.status == "decided"


@pytest.mark.parametrize("first", ["withdrawal", "payment"])
def test_a_payment_and_a_withdrawal_in_either_order_keep_the_money_as_a_refund_due(
    cases: CaseService, payments: PaymentService, provider: FakeProvider, first: str
) -> None:
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    reported = provider.paid(
        request.provider_reference or "", str(request.total), cases.clock.now()
    )
    if first == "withdrawal":
        take(cases, case_id, "withdraw", actor=APPLICANT)
        payments.apply(provider.name, reported)
    else:
        payments.apply(provider.name, reported)
        take(cases, case_id, "withdraw", actor=APPLICANT)
    assert permit(cases, case_id).status == "withdrawn"
    after = receivables(cases, case_id)
    assert [r.status for r in after] == ["cancelled"] * len(after)
    assert sum((r.paid for r in after), Decimal(0)) == request.total  # nothing lost
    assert sum((r.refund_due for r in after), Decimal(0)) == request.total
    assert payments.refundable(payments.request(CLERK, request.id)) == request.total


def test_a_payment_racing_a_withdrawal_ends_in_the_same_defined_state(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    """Both saves run at once: one loses the race and is decided again (or retried by the
    applicant, as the API's 409 tells them); the money ends as a refund due either way."""
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    reported = provider.paid(
        request.provider_reference or "", str(request.total), cases.clock.now()
    )
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def pay() -> None:
        start.wait()
        try:
            payments.apply(provider.name, reported)
        except BaseException as error:
            errors.append(error)

    def withdraw() -> None:
        start.wait()
        for _attempt in range(20):
            try:
                take(cases, case_id, "withdraw", actor=APPLICANT)
                return
            except ConcurrentUpdate:
                continue
            except BaseException as error:
                errors.append(error)
                return

    threads = [threading.Thread(target=pay), threading.Thread(target=withdraw)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert permit(cases, case_id).status == "withdrawn"
    after = receivables(cases, case_id)
    assert [r.status for r in after] == ["cancelled"] * len(after)
    assert sum((r.refund_due for r in after), Decimal(0)) == request.total


def test_an_overpayment_is_refunded_only_with_a_second_persons_approval(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    over = request.total + Decimal("5.00")
    payments.apply(
        provider.name, provider.paid(request.provider_reference or "", str(over), cases.clock.now())
    )
    assert permit(cases, case_id).status == "decided"
    paid = payments.request(CLERK, request.id)
    assert paid.overpaid == Decimal("5.00")
    assert payments.refundable(paid) == Decimal("5.00")
    with pytest.raises(InvalidCommand) as too_much:
        payments.request_refund(CLERK, request.id, amount=Decimal("5.01"), reason="zu viel")
    assert too_much.value.field == "amount"
    asked = payments.request_refund(CLERK, request.id, amount=Decimal("5.00"), reason="Überzahlung")
    [refund] = asked.refunds
    supervisor_who_asked = Actor(CLERK.id, CLERK.display_name, Role.SUPERVISOR, "usingen")
    with pytest.raises(InvalidCommand) as own:
        payments.approve_refund(supervisor_who_asked, request.id, refund)
    assert own.value.field == "actor"
    with pytest.raises(InvalidCommand) as clerk:
        payments.approve_refund(
            Actor("ben.weber", "Ben Weber", Role.CLERK, "usingen"), request.id, refund
        )
    assert clerk.value.field == "actor"
    done = payments.approve_refund(SUPERVISOR, request.id, refund)
    assert done.refund(refund).status == "paid"
    assert provider.refunds == [
        (request.provider_reference, Decimal("5.00"), f"{request.id}/{refund}")
    ]
    assert payments.refundable(done) == Decimal(0)
    # The receivables keep what they were owed: the refund paid back the overpayment only.
    assert [r.status for r in receivables(cases, case_id)] == ["settled"] * len(
        permit(cases, case_id).charges
    )


def test_members_only_reach_their_account_and_another_town_sees_nothing(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    case_id, account = billed_permit(cases, payments)
    stranger = Actor("portal:9999", "Fremd", Role.APPLICANT, "usingen")
    other_town = Actor("dora.fischer", "Dora Fischer", Role.CASH_OFFICE, "schmitten")
    kassenzeichen = permit(cases, case_id).charges[0].kassenzeichen
    for actor in (stranger, other_town):
        with pytest.raises(CaseNotFound):
            payments.customer(actor, account.id)
        with pytest.raises(InvalidCommand):
            payments.receivable(actor, kassenzeichen)
    with pytest.raises(CaseNotFound):
        payments.request_payment(stranger, account.id, kassenzeichen=[kassenzeichen], payer=PAYER)
    assert payments.receivable(APPLICANT, kassenzeichen).kassenzeichen == kassenzeichen
    assert provider.orders == {}


def test_an_unpaid_request_expires_after_its_time_and_a_late_payment_still_counts(
    cases: CaseService, payments: PaymentService, provider: FakeProvider, clock: FixedClock
) -> None:
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    assert payments.expire_due(request.id).status == "pending"  # not yet
    clock.advance(timedelta(hours=3))
    assert payments.expire_due(request.id).status == "expired"
    late = provider.paid(request.provider_reference or "", str(request.total), clock.now())
    payments.apply(provider.name, late)
    assert payments.request(CLERK, request.id).status == "paid"
    assert permit(cases, case_id).status == "decided"


def test_a_withdrawal_after_the_bekanntgabe_keeps_the_fee_owed(
    cases: CaseService, payments: PaymentService
) -> None:
    """The official act was completed when the decision was made known: its fee stays."""
    case_id, _ = billed_permit(cases, payments)
    case = permit(cases, case_id)
    for charge in case.charges:
        payments.record_receipt(
            CASH_OFFICE,
            charge.kassenzeichen,
            amount=charge.amount,
            channel="counter",
            received_on=berlin_date(cases.clock.now()),
            reference=f"BAR-{charge.number}",
        )
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    take(cases, case_id, "withdraw", actor=APPLICANT)
    assert permit(cases, case_id).status == "withdrawn"
    kept = receivables(cases, case_id)
    assert [r.status for r in kept] == ["settled"] * len(kept)
    assert sum((r.refund_due for r in kept), Decimal(0)) == 0


def test_the_bescheid_names_every_fee_with_its_kassenzeichen_and_that_it_was_paid(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    reference = request.provider_reference or ""
    payments.apply(provider.name, provider.paid(reference, str(request.total), cases.clock.now()))
    case = permit(cases, case_id)
    first, *more = case.charges
    assert more, "the example road opening is a special use: two fees"
    letter = compose(
        case,
        DocumentKind.DECISION,
        number=case.next_document_number(),
        issued_on=berlin_date(cases.clock.now()),
        issued_by=CLERK.recorded_in(case_id),
        automatic=False,
        cash_reference=case.cash_reference_for(DocumentKind.DECISION, 1),
    )
    assert letter.costs is not None
    assert letter.costs.cash_reference == first.kassenzeichen
    for charge in more:
        assert any(charge.kassenzeichen in note for note in letter.costs.notes)
    assert "Die festgesetzten Gebühren sind bereits bezahlt." in letter.costs.notes

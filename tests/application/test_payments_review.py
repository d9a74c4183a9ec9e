"""Review of e-payment (#24): money paid back twice, and other holes found in review.

Each test names the defect it guards against; the fixtures and helpers are the payment
flow's (``tests/application/test_payments_flow.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.payments import PaymentService
from domain.documents import DocumentKind
from domain.errors import InvalidCommand
from domain.working_days import berlin_date
from tests.application.test_payments_flow import (
    CASH_OFFICE,
    FakeProvider,
    billed_permit,
    pay_request,
    payments,
    permit,
    provider,
    receivables,
)
from tests.conftest import CLERK, SUPERVISOR
from tests.steps import pay_at_the_cash_office, take

__all__ = ["payments", "provider"]  # the flow's fixtures, used here by name


def test_two_refunds_of_one_double_payment_never_pay_back_more_than_the_credit(
    cases: CaseService, payments: PaymentService, provider: FakeProvider
) -> None:
    """A receivable paid through two requests has one payment's credit; a refund asked on
    each request while neither is decided must not both be paid back by the provider."""
    case_id, _ = billed_permit(cases, payments)
    first = pay_request(payments, provider, cases, case_id)
    second = pay_request(payments, provider, cases, case_id)  # before the first was paid
    for request in (first, second):
        reported = provider.paid(
            request.provider_reference or "", str(request.total), cases.clock.now()
        )
        payments.apply(provider.name, reported)
    credit = sum((r.credit for r in receivables(cases, case_id)), Decimal(0))
    assert credit == first.total
    for request in (first, second):
        payments.request_refund(CLERK, request.id, amount=request.total, reason="doppelt bezahlt")
    payments.approve_refund(SUPERVISOR, first.id, "R1")
    with pytest.raises(InvalidCommand) as refused:
        payments.approve_refund(SUPERVISOR, second.id, "R1")
    assert refused.value.field == "amount"
    assert sum((amount for _, amount, _ in provider.refunds), Decimal(0)) == credit
    assert payments.request(CLERK, second.id).refund("R1").status == "requested"


def test_a_costs_document_never_takes_the_kassenzeichen_of_another_charge(
    cases: CaseService, payments: PaymentService
) -> None:
    """A road opening charges 01 (administrative fee) and 02 (special use fee); a second
    document assessing costs must not print 02: money paid under it would settle the
    special use fee."""
    case_id, _ = billed_permit(cases, payments)
    case = permit(cases, case_id)
    charged = {c.kassenzeichen for c in case.charges}
    assert len(charged) == 2
    for number in range(2, 4):
        assert case.cash_reference_for(DocumentKind.CHARGE_ASSESSMENT, number) not in charged


def test_a_receipts_reference_is_never_stored_in_clear(
    cases: CaseService, payments: PaymentService
) -> None:
    case_id, _ = billed_permit(cases, payments)
    charge = permit(cases, case_id).charges[0]
    payments.record_receipt(
        CASH_OFFICE,
        charge.kassenzeichen,
        amount=charge.amount,
        channel="bank_transfer",
        received_on=berlin_date(cases.clock.now()),
        reference="Ueberweisung Erika Mustermann",
    )
    [receivable, *_] = receivables(cases, case_id)
    stored = [
        *receivable.payments,
        *(p.payment for p in receivable.payments.values()),
        *(str(getattr(e, "payment", "")) for e in cases.store.events.get(case_id)),
    ]
    assert not [text for text in stored if "Mustermann" in text]


class RacedProvider(FakeProvider):
    """Refunds once per refund id (as the simulator does); the first refund call meets a
    concurrent save of the request (a refund asked for meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: list[Any] = []
        self.by_id: dict[str, str] = {}

    def refund(self, provider_reference: str, amount: Decimal, refund_id: str) -> str:
        while self.meanwhile:
            self.meanwhile.pop()()
        if refund_id not in self.by_id:
            self.by_id[refund_id] = super().refund(provider_reference, amount, refund_id)
        return self.by_id[refund_id]


def test_a_refund_the_provider_paid_is_recorded_though_another_save_raced_it(
    cases: CaseService, clock: FixedClock
) -> None:
    """The provider pays the refund back before the approval is saved; a concurrent save of
    the request must not leave the money paid out and the refund still ``requested``."""
    provider = RacedProvider()
    payments = PaymentService(cases.store, clock, {provider.name: provider})
    case_id, _ = billed_permit(cases, payments)
    request = pay_request(payments, provider, cases, case_id)
    over = request.total + Decimal("10.00")
    payments.apply(
        provider.name, provider.paid(request.provider_reference or "", str(over), clock.now())
    )
    payments.request_refund(CLERK, request.id, amount=Decimal("4.00"), reason="Überzahlung")
    provider.meanwhile.append(
        lambda: payments.request_refund(
            CASH_OFFICE, request.id, amount=Decimal("6.00"), reason="Überzahlung, Rest"
        )
    )
    payments.approve_refund(SUPERVISOR, request.id, "R1")
    after = payments.request(CLERK, request.id)
    assert after.refund("R1").status == "paid"
    assert after.refund("R2").status == "requested"
    assert provider.refunds == [(request.provider_reference, Decimal("4.00"), f"{request.id}/R1")]


def test_a_fee_refunded_by_a_remedy_is_due_for_refund_on_its_receivable(
    cases: CaseService, payments: PaymentService
) -> None:
    case_id, _ = billed_permit(cases, payments)
    pay_at_the_cash_office(cases, case_id)
    fee = permit(cases, case_id).charges[0]
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="Gebühr zu hoch")
    take(
        cases,
        case_id,
        "remedy_objection",
        actor=CLERK,
        reason="Die Gebühr war nicht geschuldet.",
        fee_refund=fee.amount,
        new_decision=False,
        operative_part="Die Gebührenfestsetzung wird aufgehoben.",
    )
    assert permit(cases, case_id).fee_refunded == fee.amount
    [receivable, *_] = receivables(cases, case_id)
    assert receivable.refund_due == fee.amount

"""Review of e-payment (#24): money paid back twice, and other holes found in review.

Each test names the defect it guards against; the fixtures and helpers are the payment
flow's (``tests/application/test_payments_flow.py``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.cases import CaseService
from application.payments import PaymentService
from domain.errors import InvalidCommand
from tests.application.test_payments_flow import (
    FakeProvider,
    billed_permit,
    pay_request,
    payments,
    provider,
    receivables,
)
from tests.conftest import CLERK, SUPERVISOR

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

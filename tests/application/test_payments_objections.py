"""A remedy or Widerspruchsbescheid reaches the receivables of the fees it changes.

A fee refunded in full withdraws its charge (the receivable is cancelled, what was paid is a
refund due for the cash office); a fee refunded in part is charged anew for the rest, under the
next Kassenzeichen and due when the fee was; a remedy with a new decision sets the charges of
the decision in force aside, so the new decision's fee is never owed beside the first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from application.cases import CaseService
from application.payments import PaymentService
from domain.case import Case
from domain.case_charges import DECISION_SET_ASIDE, FEE_REFUNDED, SPECIAL_USE_FEE
from domain.errors import InvalidCommand
from domain.payments.receivable import Receivable, receivable_id
from tests.application.test_payments_flow import billed_permit, payments, permit, provider
from tests.conftest import CLERK, SUPERVISOR
from tests.steps import decided, notified, pay_at_the_cash_office, submitted, take

__all__ = ["payments", "provider"]  # the payment flow's fixtures, used here by name
FEE = Decimal("120.00")


def case_of(cases: CaseService, case_id: UUID) -> Case:
    found: Case = cases.store.repository.get(case_id)
    return found


def receivable(cases: CaseService, case_id: UUID, kassenzeichen: str) -> Receivable:
    found: Receivable = cases.store.repository.get(
        receivable_id(case_of(cases, case_id).tenant, kassenzeichen)
    )
    return found


def objected(cases: CaseService, *, paid: bool) -> UUID:
    """A general case approved with a fee of 120 EUR (paid at the cash office, if said),
    notified at the counter, and an objection against the fee lodged."""
    case_id = submitted(cases)
    decided(cases, case_id, fee=FEE)
    if paid:
        pay_at_the_cash_office(cases, case_id)
    notified(cases, case_id)
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="Gebühr zu hoch")
    return case_id


def remedied(cases: CaseService, case_id: UUID, refund: Decimal, **fields: object) -> None:
    take(
        cases,
        case_id,
        "remedy_objection",
        actor=CLERK,
        reason="Die Gebühr war zu hoch.",
        fee_refund=refund,
        **{
            "new_decision": False,
            "operative_part": "Die Gebühr wird herabgesetzt.",
            "extent": "partial",
            **fields,
        },
    )


@pytest.mark.parametrize("paid", [True, False], ids=["paid", "unpaid"])
def test_a_fee_refunded_in_part_leaves_the_rest_owed_under_a_new_kassenzeichen(
    cases: CaseService, paid: bool
) -> None:
    case_id = objected(cases, paid=paid)
    [first] = case_of(cases, case_id).charges
    first_due_on = receivable(cases, case_id, first.kassenzeichen).due_on
    remedied(cases, case_id, Decimal("40.00"))
    case = case_of(cases, case_id)
    assert case.fee_refunded == Decimal("40.00")
    assert case.withdrawn_charges == {first.kassenzeichen}
    [rest] = case.fee_charges_in_force()
    assert rest.kassenzeichen != first.kassenzeichen
    assert (rest.amount, rest.refers_to, rest.ledger) == (
        Decimal("80.00"),
        "decision:1",
        first.ledger,
    )
    withdrawn = receivable(cases, case_id, first.kassenzeichen)
    assert withdrawn.status == "cancelled"
    assert withdrawn.cancel_reason == FEE_REFUNDED
    assert withdrawn.refund_due == (FEE if paid else Decimal(0))  # never lost, never owed
    owed = receivable(cases, case_id, rest.kassenzeichen)
    assert (owed.status, owed.outstanding, owed.due_on) == ("open", Decimal("80.00"), first_due_on)
    assert first_due_on is not None
    assert owed.ordered_by.id == CLERK.id


def test_a_second_refund_lowers_the_rest_and_never_refunds_more_than_was_assessed(
    cases: CaseService,
) -> None:
    case_id = objected(cases, paid=False)
    remedied(cases, case_id, Decimal("40.00"))
    take(cases, case_id, "hear_objection", actor=CLERK, held_on=date(2026, 3, 2))
    with pytest.raises(InvalidCommand) as refused:
        take(
            cases,
            case_id,
            "decide_objection",
            actor=SUPERVISOR,
            outcome="partly_granted",
            reasons="teilweise begründet",
            costs_borne_by="authority",
            served_on=date(2026, 3, 2),
            fee_refund=Decimal("80.01"),
        )
    assert refused.value.field == "fee_refund"
    take(
        cases,
        case_id,
        "decide_objection",
        actor=SUPERVISOR,
        outcome="partly_granted",
        reasons="teilweise begründet",
        costs_borne_by="authority",
        served_on=date(2026, 3, 2),
        fee_refund=Decimal("80.00"),
    )
    case = case_of(cases, case_id)
    assert case.fee_charges_in_force() == ()  # refunded in full: nothing owed
    assert len(case.charges) == 2
    assert case.withdrawn_charges == {c.kassenzeichen for c in case.charges}
    owed = [receivable(cases, case_id, c.kassenzeichen) for c in case.charges]
    assert [r.status for r in owed] == ["cancelled", "cancelled"]
    assert sum((r.outstanding for r in owed), Decimal(0)) == 0


def test_a_widerspruchsbescheid_refunding_the_paid_fee_makes_it_due_for_refund(
    cases: CaseService,
) -> None:
    case_id = objected(cases, paid=True)
    [fee] = case_of(cases, case_id).charges
    take(cases, case_id, "hear_objection", actor=CLERK, held_on=date(2026, 3, 2))
    take(
        cases,
        case_id,
        "decide_objection",
        actor=SUPERVISOR,
        outcome="granted",
        reasons="begründet",
        costs_borne_by="authority",
        served_on=date(2026, 3, 2),
        fee_refund=FEE,
        operative_part="Der Gebührenbescheid wird aufgehoben.",
    )
    case = case_of(cases, case_id)
    assert case.charges == (fee,)  # nothing left to charge anew
    due = receivable(cases, case_id, fee.kassenzeichen)
    assert (due.status, due.refund_due, due.outstanding) == ("cancelled", FEE, Decimal(0))


def test_a_remedy_with_a_new_decision_charges_the_new_fee_instead_of_beside_the_first(
    cases: CaseService,
) -> None:
    case_id = objected(cases, paid=True)
    [first] = case_of(cases, case_id).charges
    take(
        cases,
        case_id,
        "remedy_objection",
        actor=CLERK,
        reason="Die Auflage war nicht erforderlich.",
        new_decision=True,
    )
    set_aside = receivable(cases, case_id, first.kassenzeichen)
    assert (set_aside.status, set_aside.cancel_reason) == ("cancelled", DECISION_SET_ASIDE)
    assert set_aside.refund_due == FEE  # paid under the decision set aside: a refund due
    take(
        cases,
        case_id,
        "decide",
        actor=CLERK,
        outcome="approved",
        justification="ohne Auflage",
        legal_basis="§ 16 HStrG",
        fee=Decimal("100.00"),
    )
    case = case_of(cases, case_id)
    [new] = case.charges_in_force(len(case.decisions))
    assert new.kassenzeichen != first.kassenzeichen
    assert new.refers_to == f"decision:{len(case.decisions)}"
    owed = [receivable(cases, case_id, c.kassenzeichen) for c in case.charges]
    assert sum((r.outstanding for r in owed), Decimal(0)) == Decimal("100.00")
    assert sum((r.refund_due for r in owed), Decimal(0)) == FEE


def test_a_refund_of_the_fee_leaves_the_special_use_fee_beside_it_owed_and_paid(
    cases: CaseService, payments: PaymentService
) -> None:
    """A road opening charges the administrative fee and the Sondernutzungsgebühr; the fee
    refund of a remedy reaches the fee only."""
    case_id, _ = billed_permit(cases, payments)
    pay_at_the_cash_office(cases, case_id)
    fee, use_fee = permit(cases, case_id).charges
    assert use_fee.ledger == SPECIAL_USE_FEE
    notified(cases, case_id)
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="Gebühr zu hoch")
    remedied(cases, case_id, fee.amount)
    case = permit(cases, case_id)
    assert case.withdrawn_charges == {fee.kassenzeichen}
    assert case.charges == (fee, use_fee)
    kept = receivable(cases, case_id, use_fee.kassenzeichen)
    assert (kept.status, kept.refund_due) == ("settled", Decimal(0))
    assert receivable(cases, case_id, fee.kassenzeichen).refund_due == fee.amount

"""A receivable: opened for a charge, paid by the provider or the cash office, cancelled, refunded.

Money is euros with two places above zero; the cash office records counter and bank-transfer
receipts, never the clerk who ordered the payment; a receivable is settled once, and what is
paid beyond it (or after it was cancelled) is credit, refunded at most once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actor import ActorRecord, Role
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import (
    is_valid_kassenzeichen,
    kassenzeichen,
    official_key_of,
)
from domain.payments.money import euros
from domain.payments.receivable import Receivable, receivable_id
from domain.personal_data import PersonalData, Subjects

TOWN = "usingen"
AGS = "06434011"
CASE_ID = UUID("6f1c1f9e-6a40-4d0b-9a33-6a2c1d3f0e11")
KZ = kassenzeichen(AGS, 2026, 12, 1)
WRONG_KZ = KZ[:-1] + str((int(KZ[-1]) + 1) % 10)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEBTOR = PersonalData(CASE_ID, Subjects.APPLICANT, "Tiefbau Müller GmbH")
REQUEST_ID = UUID("0d7c9a51-2b1e-4c3f-8a6d-5e4f3b2a1c09")


def record(actor_id: str, role: Role, tenant: str = TOWN) -> ActorRecord:
    """An actor as an event records them."""
    return ActorRecord(
        actor_id, PersonalData(CASE_ID, Subjects.actor(actor_id), actor_id), role, tenant
    )


CLERK = record("anna.schmidt", Role.CLERK)
CASH = record("kurt.kasse", Role.CASH_OFFICE)
CASH_CLERK_TOO = record(
    "anna.schmidt", Role.CASH_OFFICE
)  # the ordering clerk, acting as cash office
SYSTEM = record("system", Role.SYSTEM)


def opened(amount: str = "150.00", **changes: Any) -> Receivable:
    """A receivable of a road opening fee, ordered by Anna Schmidt."""
    given: dict[str, Any] = {
        "tenant": TOWN,
        "kassenzeichen": KZ,
        "case_id": CASE_ID,
        "case_reference": "USI-2026-000012",
        "service": "road_opening",
        "debtor": DEBTOR,
        "business_customer": None,
        "amount": Decimal(amount),
        "ledger": "administrative_fee",
        "legal_basis": "VwKostO-MWEVW Nr. 1.2",
        "due_on": date(2026, 3, 16),
        "prepaid": True,
        "ordered_by": CLERK,
        "at": AT,
    }
    given.update(changes)
    return Receivable.open(**given)


def pay(receivable: Receivable, payment: str, amount: str, **changes: Any) -> Decimal:
    """A provider payment of ``amount``."""
    given: dict[str, Any] = {
        "payment": payment,
        "amount": Decimal(amount),
        "received_on": date(2026, 3, 2),
        "channel": "provider",
        "recorded_by": SYSTEM,
        "at": AT,
        "request_id": REQUEST_ID,
    }
    given.update(changes)
    return receivable.apply_payment(**given)


def replayed(receivable: Receivable) -> Receivable:
    """The receivable rebuilt from its events."""
    events = receivable.collect_events()
    rebuilt: Receivable | None = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt


# ------------------------------------------------------------------ money and Kassenzeichen


def test_euros_are_quantized_to_cents() -> None:
    assert euros("12.5", "amount") == Decimal("12.50")
    assert str(euros(3, "amount")) == "3.00"


@pytest.mark.parametrize("bad", ["0", "-1", "0.001", "NaN", "Infinity", "1000000000.01", "x", 1.5])
def test_euros_refuse_what_the_cash_office_cannot_book(bad: Any) -> None:
    with pytest.raises(InvalidCommand) as refused:
        euros(bad, "amount")
    assert refused.value.field == "amount"


def test_a_kassenzeichen_carries_the_town_and_a_check_digit() -> None:
    assert "011-26-000012-01-" + KZ[-1] == KZ
    assert is_valid_kassenzeichen(KZ)
    assert official_key_of(KZ) == "011"
    assert not is_valid_kassenzeichen(WRONG_KZ)
    swapped = KZ[:11] + KZ[12] + KZ[11] + KZ[13:]  # 000012 -> 000021
    assert not is_valid_kassenzeichen(swapped)
    assert not is_valid_kassenzeichen("011-26-12-01-3")
    with pytest.raises(InvalidCommand):
        official_key_of(WRONG_KZ)


# ------------------------------------------------------------------ opening


def test_a_receivable_opens_for_a_charge_with_its_id_from_town_and_kassenzeichen() -> None:
    receivable = opened()
    assert receivable.id == receivable_id(TOWN, KZ)
    assert receivable.id != receivable_id("schmitten", KZ)
    assert (receivable.status, receivable.outstanding, receivable.credit) == (
        "open",
        Decimal("150.00"),
        Decimal("0.00"),
    )
    assert receivable.currency == "EUR"
    assert receivable.debtor == DEBTOR


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"kassenzeichen": WRONG_KZ}, "kassenzeichen"),
        ({"debtor": PersonalData(uuid4(), Subjects.APPLICANT, "x")}, "debtor"),
        ({"ledger": " "}, "ledger"),
        ({"at": datetime(2026, 3, 2, 9, 0)}, "at"),
    ],
)
def test_opening_refuses_what_no_cash_office_books(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        opened(**changes)
    assert refused.value.field == field


# ------------------------------------------------------------------ payments


def test_a_payment_of_the_full_amount_settles_the_receivable() -> None:
    receivable = opened()
    assert pay(receivable, "p1", "150.00") == Decimal("150.00")
    assert (receivable.status, receivable.outstanding, receivable.settled_at) == (
        "settled",
        Decimal("0.00"),
        AT,
    )
    applied = receivable.collect_events()[-1]
    assert isinstance(applied, Receivable.PaymentApplied)
    assert (applied.applied, applied.overpaid, applied.status) == (
        Decimal("150.00"),
        Decimal("0.00"),
        "settled",
    )


def test_part_payments_settle_once_and_what_follows_is_credit() -> None:
    receivable = opened()
    assert pay(receivable, "p1", "100.00") == Decimal("100.00")
    assert (receivable.status, receivable.outstanding) == ("partly_paid", Decimal("50.00"))
    assert pay(receivable, "p2", "70.00", at=AT + timedelta(hours=1)) == Decimal("50.00")
    assert receivable.status == "settled"
    assert receivable.settled_at == AT + timedelta(hours=1)
    assert pay(receivable, "p3", "10.00", at=AT + timedelta(hours=2)) == Decimal("0.00")
    assert receivable.settled_at == AT + timedelta(hours=1)  # settled once
    assert (receivable.paid, receivable.credit, receivable.refund_due) == (
        Decimal("180.00"),
        Decimal("30.00"),
        Decimal("30.00"),
    )
    settling = [
        e
        for e in receivable.collect_events()
        if isinstance(e, Receivable.PaymentApplied) and e.status == "settled" and e.applied
    ]
    assert [e.payment for e in settling] == ["p2"]


def test_the_same_payment_is_never_applied_twice() -> None:
    receivable = opened()
    pay(receivable, "p1", "10.00")
    assert receivable.has_payment("p1")
    with pytest.raises(InvalidCommand) as refused:
        pay(receivable, "p1", "10.00")
    assert (refused.value.field, str(refused.value)) == ("payment", "payment: already recorded")
    assert receivable.paid == Decimal("10.00")


def test_the_cash_office_records_counter_and_bank_transfer_receipts() -> None:
    receivable = opened()
    pay(receivable, "bank-1", "150.00", channel="bank_transfer", recorded_by=CASH, request_id=None)
    assert receivable.status == "settled"


@pytest.mark.parametrize("who", [CLERK, SYSTEM, CASH_CLERK_TOO])
def test_who_ordered_the_payment_or_is_not_the_cash_office_records_no_receipt(
    who: ActorRecord,
) -> None:
    receivable = opened()
    with pytest.raises(InvalidCommand) as refused:
        pay(receivable, "c1", "150.00", channel="counter", recorded_by=who, request_id=None)
    assert refused.value.field == "recorded_by"
    assert receivable.paid == Decimal("0.00")


def test_a_provider_payment_names_its_request_and_a_channel_is_known() -> None:
    receivable = opened()
    with pytest.raises(InvalidCommand) as refused:
        pay(receivable, "p1", "1.00", request_id=None)
    assert refused.value.field == "request_id"
    with pytest.raises(InvalidCommand) as refused:
        pay(receivable, "p1", "1.00", channel="cash_in_an_envelope")
    assert refused.value.field == "channel"
    with pytest.raises(InvalidCommand) as refused:
        pay(receivable, "p1", "1.00", received_on=date(2026, 3, 3))
    assert refused.value.field == "received_on"


# ------------------------------------------------------------------ cancellation and refunds


def test_a_payment_after_the_case_was_withdrawn_is_credit_never_lost() -> None:
    receivable = opened()
    pay(receivable, "p1", "50.00")
    receivable.cancel(actor=SYSTEM, at=AT, reason="case_withdrawn")
    assert (receivable.status, receivable.outstanding, receivable.credit) == (
        "cancelled",
        Decimal("0.00"),
        Decimal("50.00"),
    )
    assert pay(receivable, "p2", "100.00") == Decimal("0.00")
    assert (receivable.status, receivable.credit, receivable.settled_at) == (
        "cancelled",
        Decimal("150.00"),
        None,
    )
    receivable.record_refund(refund="r1", amount=Decimal("150.00"), at=AT, actor=CASH)
    assert (receivable.refunded, receivable.credit) == (Decimal("150.00"), Decimal("0.00"))


def test_a_receivable_is_cancelled_once_for_a_keyword_and_what_was_paid_is_due_back() -> None:
    receivable = opened()
    with pytest.raises(InvalidCommand) as refused:
        receivable.cancel(actor=SYSTEM, at=AT, reason="Herr Müller zog zurück")
    assert refused.value.field == "reason"
    pay(receivable, "p1", "150.00")
    assert receivable.status == "settled"
    receivable.cancel(actor=SYSTEM, at=AT, reason="case_withdrawn")  # withdrawn after paying
    assert receivable.status == "cancelled"
    assert receivable.refund_due == Decimal("150.00")
    with pytest.raises(InvalidCommand) as refused:
        receivable.cancel(actor=SYSTEM, at=AT, reason="case_withdrawn")
    assert refused.value.field == "status"


def test_a_refund_never_exceeds_the_credit() -> None:
    receivable = opened()
    pay(receivable, "p1", "160.00")
    with pytest.raises(InvalidCommand) as refused:
        receivable.record_refund(refund="r1", amount=Decimal("10.01"), at=AT, actor=CASH)
    assert refused.value.field == "amount"
    receivable.record_refund(refund="r1", amount=Decimal("10.00"), at=AT, actor=CASH)
    with pytest.raises(InvalidCommand) as refused:
        receivable.record_refund(refund="r2", amount=Decimal("0.01"), at=AT, actor=CASH)
    assert refused.value.field == "amount"
    with pytest.raises(InvalidCommand) as refused:
        receivable.record_refund(refund="r1", amount=Decimal("0.01"), at=AT, actor=CASH)
    assert refused.value.field == "refund"
    assert receivable.status == "settled"


def test_the_due_date_is_set_until_the_receivable_is_cancelled() -> None:
    receivable = opened()
    receivable.set_due_date(due_on=date(2026, 4, 1), at=AT, actor=CLERK)
    assert receivable.due_on == date(2026, 4, 1)
    pay(receivable, "p1", "150.00")  # a prepaid fee: paid before the decision is notified
    receivable.set_due_date(due_on=date(2026, 5, 1), at=AT, actor=CLERK)
    assert receivable.due_on == date(2026, 5, 1)
    cancelled = opened()
    cancelled.cancel(actor=SYSTEM, at=AT, reason="case_withdrawn")
    with pytest.raises(InvalidCommand) as refused:
        cancelled.set_due_date(due_on=date(2026, 5, 1), at=AT, actor=CLERK)
    assert refused.value.field == "status"


@pytest.mark.parametrize("bad", ["", " p1", "p1\n", "x" * 201])
def test_a_payment_id_is_printable_and_short(bad: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        pay(opened(), bad, "1.00")
    assert refused.value.field == "payment"


def test_a_bank_statement_reference_is_a_payment_id() -> None:
    receivable = opened()
    pay(
        receivable,
        "bank_transfer:Auszug 12/2026 Pos. 3",
        "1.00",
        channel="bank_transfer",
        recorded_by=CASH,
        request_id=None,
    )
    assert receivable.payments["bank_transfer:Auszug 12/2026 Pos. 3"].recorded_by == CASH


def test_the_receivable_replays_from_its_events() -> None:
    receivable = opened()
    pay(receivable, "p1", "100.00")
    receivable.set_due_date(due_on=date(2026, 4, 1), at=AT, actor=CLERK)
    receivable.cancel(actor=SYSTEM, at=AT, reason="case_withdrawn")
    receivable.record_refund(refund="r1", amount=Decimal("40.00"), at=AT, actor=CASH)
    rebuilt = replayed(receivable)
    assert rebuilt.__dict__ == receivable.__dict__

"""A payment request: a business customer pays receivables through a provider, once per event.

Provider events come twice, late and out of order; each counts once, money is applied to the
items in order and what is left is overpaid, nothing is ever lost; a failure, an expiry or a
cancellation ends only a request without money; refunds need four eyes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.actor import ActorRecord, Role
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import kassenzeichen
from domain.payments.payment_request import Allocation, PaymentRequest, RequestItem
from domain.payments.receivable import receivable_id
from domain.personal_data import Erased, PersonalData, Subjects

TOWN = "usingen"
REQUEST_ID = UUID("2a8e4c6d-1f3b-4d5a-9c7e-8b6a5d4c3e21")
CUSTOMER = UUID("7b3d9e2f-4a1c-5d6e-8f9a-0b1c2d3e4f5a")
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPIRES = AT + timedelta(hours=1)
CASE_A = UUID("11111111-1111-4111-8111-111111111111")
CASE_B = UUID("22222222-2222-4222-8222-222222222222")
KZ_A = kassenzeichen("06434011", 2026, 12, 1)
KZ_B = kassenzeichen("06434011", 2026, 13, 1)


def item(kz: str, case_id: UUID, reference: str, amount: str) -> RequestItem:
    """The item of a receivable of Usingen."""
    return RequestItem(kz, receivable_id(TOWN, kz), case_id, reference, Decimal(amount))


ITEMS = (
    item(KZ_A, CASE_A, "USI-2026-000012", "100.00"),
    item(KZ_B, CASE_B, "USI-2026-000013", "50.00"),
)


# an item whose receivable id is not the receivable of its Kassenzeichen in the town
FOREIGN_ITEM = RequestItem(KZ_B, receivable_id("schmitten", KZ_B), CASE_B, "R", Decimal("1"))


def person(actor_id: str, role: Role) -> ActorRecord:
    """An actor as the request records them."""
    name = PersonalData(REQUEST_ID, Subjects.actor(actor_id), actor_id)
    return ActorRecord(actor_id, name, role, TOWN)


CONTRACTOR = person("portal:4711", Role.APPLICANT)  # a payer member of the business customer
COLLEAGUE = person("portal:4712", Role.APPLICANT)
CLERK = person("anna.schmidt", Role.CLERK)
CASH = person("kurt.kasse", Role.CASH_OFFICE)
OTHER_CASH = person("lena.kasse", Role.CASH_OFFICE)
SUPERVISOR = person("carla.koch", Role.SUPERVISOR)
PAYER = {
    "company": PersonalData(REQUEST_ID, "payer", "Tiefbau Müller GmbH"),
    "contact": PersonalData(REQUEST_ID, "payer", "Jana Müller"),
    "email": PersonalData(REQUEST_ID, "payer", "buchhaltung@tiefbau-mueller.example"),
}


def requested(**changes: Any) -> PaymentRequest:
    """A request for 150 EUR over two receivables."""
    given: dict[str, Any] = {
        "request_id": REQUEST_ID,
        "tenant": TOWN,
        "business_customer": CUSTOMER,
        "items": ITEMS,
        "payer": PAYER,
        "requested_by": CONTRACTOR,
        "at": AT,
        "expires_at": EXPIRES,
    }
    given.update(changes)
    return PaymentRequest.request(**given)


def pending() -> PaymentRequest:
    """A request whose checkout is open at the simulator."""
    request = requested()
    request.checkout_started(
        provider="simulator",
        provider_reference="sim_123",
        checkout_url="http://127.0.0.1:8765/checkout/sim_123",
        at=AT,
    )
    return request


def pay(request: PaymentRequest, event_id: str, amount: str) -> tuple[Allocation, ...]:
    """The provider reports money received."""
    return request.record_payment(
        event_id=event_id, amount=Decimal(amount), paid_at=AT, at=AT + timedelta(minutes=1)
    )


# ------------------------------------------------------------------ the request


def test_a_request_names_its_items_total_and_sealed_payer() -> None:
    request = requested()
    assert request.id == REQUEST_ID
    assert (request.status, request.total, request.paid_total) == (
        "requested",
        Decimal("150.00"),
        Decimal("0.00"),
    )
    assert request.items == ITEMS
    assert request.business_customer == CUSTOMER
    assert all(v.subject == "payer" for v in request.payer.values())
    assert request.expires_at == EXPIRES


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": ()}, "items"),
        ({"items": (ITEMS[0], ITEMS[0])}, "items.1.kassenzeichen"),
        ({"items": (item(KZ_A[:-1] + "x", CASE_A, "R", "1.00"),)}, "items.0.kassenzeichen"),
        ({"items": (ITEMS[0], FOREIGN_ITEM)}, "items.1.receivable_id"),
        ({"items": (item(KZ_A, CASE_A, "R", "0.00"),)}, "items.0.amount"),
        ({"payer": {"company": "Tiefbau Müller GmbH"}}, "payer.company"),
        ({"payer": {"company": PersonalData(CASE_A, "payer", "X")}}, "payer.company"),
        ({"payer": {"contact": PAYER["contact"]}}, "payer.company"),
        ({"payer": {**PAYER, "iban": PAYER["contact"]}}, "payer.iban"),
        ({"expires_at": AT}, "expires_at"),
        ({"at": datetime(2026, 3, 2, 9, 0)}, "at"),
    ],
)
def test_a_request_refuses_what_cannot_be_paid(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        requested(**changes)
    assert refused.value.field == field


def test_the_checkout_makes_the_request_pending_once() -> None:
    request = pending()
    assert (request.status, request.provider, request.provider_reference) == (
        "pending",
        "simulator",
        "sim_123",
    )
    assert request.checkout_url == "http://127.0.0.1:8765/checkout/sim_123"
    with pytest.raises(InvalidCommand) as refused:
        request.checkout_started(
            provider="simulator", provider_reference="sim_124", checkout_url="http://x/", at=AT
        )
    assert refused.value.field == "status"


# ------------------------------------------------------------------ payments


def test_a_payment_is_applied_to_the_items_in_order() -> None:
    request = pending()
    allocations = pay(request, "evt_1", "120.00")
    assert allocations == (
        Allocation(KZ_A, receivable_id(TOWN, KZ_A), CASE_A, Decimal("100.00")),
        Allocation(KZ_B, receivable_id(TOWN, KZ_B), CASE_B, Decimal("20.00")),
    )
    assert (request.status, request.partially_paid) == ("pending", True)
    assert pay(request, "evt_2", "40.00") == (
        Allocation(KZ_B, receivable_id(TOWN, KZ_B), CASE_B, Decimal("30.00")),
    )
    assert (request.status, request.partially_paid, request.paid_total, request.overpaid) == (
        "paid",
        False,
        Decimal("160.00"),
        Decimal("10.00"),
    )
    assert request.refund_due == Decimal("10.00")


def test_a_provider_event_counts_once() -> None:
    request = pending()
    assert pay(request, "evt_1", "150.00")
    version = request.version
    assert pay(request, "evt_1", "150.00") == ()
    assert request.version == version
    assert request.has_event("evt_1")
    assert request.paid_total == Decimal("150.00")


def test_a_failure_after_the_money_arrived_is_ignored() -> None:
    request = pending()
    pay(request, "evt_2", "150.00")
    assert request.record_failure(event_id="evt_1", reason="card_declined", at=AT) is False
    assert request.status == "paid"


def test_a_failure_ends_a_request_without_money_and_a_late_payment_still_pays() -> None:
    request = pending()
    assert request.record_failure(event_id="evt_1", reason="Declined by payer!", at=AT)
    assert request.status == "failed"
    assert request.closed_reason == "declined_by_payer"
    assert request.record_failure(event_id="evt_1", reason="again", at=AT) is False
    assert pay(request, "evt_2", "150.00")
    assert request.status == "paid"


def test_a_request_expires_unpaid_at_its_expiry_only() -> None:
    request = pending()
    with pytest.raises(InvalidCommand) as refused:
        request.expire(at=EXPIRES - timedelta(seconds=1))
    assert refused.value.field == "at"
    assert request.expire(at=EXPIRES) is True
    assert request.status == "expired"
    assert request.expire(at=EXPIRES) is False
    paid = pending()
    pay(paid, "evt_1", "10.00")
    assert paid.expire(at=EXPIRES) is False
    assert paid.status == "pending"


def test_a_payment_after_cancellation_is_allocated_to_nobody_and_refund_due() -> None:
    request = pending()
    request.cancel(actor=CONTRACTOR, at=AT, reason="paying_by_transfer")
    assert request.status == "cancelled"
    assert pay(request, "evt_1", "150.00") == ()
    assert (request.status, request.paid_total, request.overpaid, request.refund_due) == (
        "cancelled",
        Decimal("150.00"),
        Decimal("150.00"),
        Decimal("150.00"),
    )


def test_cancelling_is_for_the_requester_or_staff_and_before_money() -> None:
    request = pending()
    with pytest.raises(InvalidCommand) as refused:
        request.cancel(actor=COLLEAGUE, at=AT, reason="changed_mind")
    assert refused.value.field == "actor"
    with pytest.raises(InvalidCommand) as refused:
        request.cancel(actor=CLERK, at=AT, reason="Herr Müller rief an")
    assert refused.value.field == "reason"
    pay(request, "evt_1", "1.00")
    with pytest.raises(InvalidCommand) as refused:
        request.cancel(actor=CLERK, at=AT, reason="changed_mind")
    assert refused.value.field == "status"


# ------------------------------------------------------------------ refunds


def paid_with_refund(amount: str = "50.00") -> PaymentRequest:
    request = pending()
    pay(request, "evt_1", "150.00")
    request.request_refund(
        refund="ref-1", amount=Decimal(amount), reason="fee reduced", actor=CLERK, at=AT
    )
    return request


def test_a_refund_is_asked_with_a_sealed_reason() -> None:
    request = paid_with_refund()
    refund = request.refunds["ref-1"]
    assert refund.reason == PersonalData(REQUEST_ID, Subjects.CASE_TEXT, "fee reduced")
    assert (refund.status, request.refunds_pending, request.refunded) == (
        "requested",
        Decimal("50.00"),
        Decimal("0.00"),
    )


def test_refunds_asked_never_exceed_what_was_paid() -> None:
    request = paid_with_refund("100.00")
    with pytest.raises(InvalidCommand) as refused:
        request.request_refund(
            refund="ref-2", amount=Decimal("50.01"), reason="x", actor=CLERK, at=AT
        )
    assert refused.value.field == "amount"
    with pytest.raises(InvalidCommand) as refused:
        request.request_refund(
            refund="ref-1", amount=Decimal("1.00"), reason="x", actor=CLERK, at=AT
        )
    assert refused.value.field == "refund"
    with pytest.raises(InvalidCommand) as refused:
        request.request_refund(
            refund="ref-3", amount=Decimal("1.00"), reason="x", actor=CONTRACTOR, at=AT
        )
    assert refused.value.field == "actor"


def test_who_asked_for_a_refund_never_approves_it() -> None:
    request = pending()
    pay(request, "evt_1", "150.00")
    request.request_refund(refund="ref-1", amount=Decimal("10.00"), reason="x", actor=CASH, at=AT)
    with pytest.raises(InvalidCommand) as refused:
        request.approve_refund(refund="ref-1", actor=CASH, at=AT)
    assert refused.value.field == "actor"
    with pytest.raises(InvalidCommand) as refused:
        request.approve_refund(refund="ref-1", actor=CLERK, at=AT)  # not the cash office
    assert refused.value.field == "actor"
    request.approve_refund(refund="ref-1", actor=OTHER_CASH, at=AT)
    assert request.refunds["ref-1"].status == "approved"
    assert request.refunds["ref-1"].decided_by == OTHER_CASH.id


def test_an_approved_refund_is_paid_once() -> None:
    request = paid_with_refund()
    with pytest.raises(InvalidCommand) as refused:
        request.record_refund_paid(refund="ref-1", provider_refund_reference="re_1", at=AT)
    assert refused.value.field == "refund"
    request.approve_refund(refund="ref-1", actor=SUPERVISOR, at=AT)
    assert request.record_refund_paid(refund="ref-1", provider_refund_reference="re_1", at=AT)
    assert (
        request.record_refund_paid(refund="ref-1", provider_refund_reference="re_1", at=AT) is False
    )
    assert (request.refunded, request.refunds_pending) == (Decimal("50.00"), Decimal("0.00"))


def test_a_rejected_refund_frees_its_amount() -> None:
    request = paid_with_refund("150.00")
    request.reject_refund(refund="ref-1", actor=CASH, at=AT, reason="fee stands")
    assert request.refunds["ref-1"].status == "rejected"
    with pytest.raises(InvalidCommand):
        request.approve_refund(refund="ref-1", actor=OTHER_CASH, at=AT)
    request.request_refund(refund="ref-2", amount=Decimal("150.00"), reason="x", actor=CLERK, at=AT)


def test_the_request_replays_from_its_events() -> None:
    request = paid_with_refund()
    request.approve_refund(refund="ref-1", actor=CASH, at=AT)
    request.record_refund_paid(refund="ref-1", provider_refund_reference="re_1", at=AT)
    pay(request, "evt_2", "5.00")
    rebuilt: PaymentRequest | None = None
    for e in request.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.__dict__ == request.__dict__


def test_erasing_the_payer_and_the_reasons_leaves_the_money_intact() -> None:
    request = paid_with_refund()
    request.approve_refund(refund="ref-1", actor=CASH, at=AT)
    rebuilt: PaymentRequest | None = None
    for e in request.collect_events():
        if isinstance(e, PaymentRequest.Requested):
            e = replace_fields(e, payer={k: Erased(REQUEST_ID, "payer") for k in e.payer})
        if isinstance(e, PaymentRequest.RefundRequested):
            e = replace_fields(e, reason=Erased(REQUEST_ID, Subjects.CASE_TEXT))
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert all(v.is_erased for v in rebuilt.payer.values())
    assert rebuilt.refunds["ref-1"].reason.is_erased
    assert (rebuilt.paid_total, rebuilt.refunds_pending, rebuilt.status) == (
        request.paid_total,
        request.refunds_pending,
        "paid",
    )


def replace_fields(e: Any, **changes: Any) -> Any:
    """The event as it decodes once the keys of some of its fields were destroyed."""
    copy = object.__new__(type(e))
    copy.__dict__.update({**e.__dict__, **changes})
    return copy

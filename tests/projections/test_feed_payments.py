"""The feed publishes charges, receivables and payment requests for the accounting (HKR) and
the payment integration: Kassenzeichen, amounts, ids and keywords, never a person, a card, a
checkout page or a receipt's own reference."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import Receivable
from infrastructure.wiring import Vorgang
from projections.feed import (
    DESCRIPTIONS,
    PUBLIC_TYPES,
    RECEIVABLE_TYPES,
    REQUEST_TYPES,
    TYPE_PREFIX,
    Feed,
)
from projections.feed_query import FeedFilter, FeedQuery
from tests.conftest import APPLICANT, CLERK
from tests.projections.test_receivables_view import COMPANY, billing
from tests.steps import take

# Internal: the checkout (its page is the payer's), and refunds asked for or turned down
# (their reasons are sealed free text; an approved refund is published).
NOT_PUBLISHED = {"CheckoutStarted", "RefundRequested", "RefundRejected"}
SUPERVISOR_OF_CASH = Actor("kasse.leitung", "Kassenleitung", Role.CASH_OFFICE, "usingen")


def feed(v: Vorgang, tenant: str = "usingen") -> list[dict[str, Any]]:
    v.projections.catch_up()
    return FeedQuery(v.views).page(FeedFilter(tenants=(tenant,)), after=0, limit=1000)


def short(event: dict[str, Any]) -> str:
    return str(event["type"][len(TYPE_PREFIX) : -len(".v1")])


def payments_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if short(e).startswith(("receivable_", "payment_request_"))]


def test_every_payment_event_is_published_or_deliberately_internal() -> None:
    for aggregate, published in ((Receivable, RECEIVABLE_TYPES), (PaymentRequest, REQUEST_TYPES)):
        names = {
            klass.__name__
            for klass in vars(aggregate).values()
            if isinstance(klass, type) and issubclass(klass, aggregate.Event)
        } - {"Event", "Created"}
        assert {key.split(".")[1] for key in published} == names - NOT_PUBLISHED
        for key, (public, _) in published.items():
            assert PUBLIC_TYPES[key] == public
            assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
            assert public.startswith(("receivable_", "payment_request_"))  # the feed's style
    topics = set(Feed().topics())
    assert "domain.payments.receivable:Receivable.PaymentApplied" in topics
    assert "domain.case_charges:CaseCharges.ChargeSettled" in topics


def test_a_prepaid_permit_charged_paid_online_and_by_the_cash_office(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    case_id = bills.permit()
    first, *rest = bills.kassenzeichen(case_id)
    owed = bills.receivable(first).amount
    request_id = bills.request([first])
    clock.advance(timedelta(minutes=3))
    bills.pay(request_id, str(owed + Decimal("2.50")), "evt-1")  # paid a little too much
    for number, kz in enumerate(rest):
        bills.receipt(kz, str(bills.receivable(kz).amount), f"Überweisung Karl Hinz {number}")

    events = feed(vorgang)
    text = json.dumps(events)
    for secret in (
        "Karl Hinz",
        COMPANY,
        "karl.hinz@example.org",
        "pay.example",  # the checkout page
        "Überweisung",  # a receipt's reference: a bank statement's text
        "evt-1",  # the provider's event id
    ):
        assert secret not in text
    case_events = [short(e) for e in events if e["subject"] == str(case_id)]
    charged = len(rest) + 1
    assert case_events.count("fee_charged") == charged
    assert case_events.count("charge_settled") == charged
    settled = [e for e in events if short(e) == "charge_settled"]
    assert [e["data"]["status"] for e in settled][-1] == "decided"  # no longer awaiting
    assert {e["data"]["kassenzeichen"] for e in settled} == {first, *rest}
    fee = next(e for e in events if short(e) == "fee_charged")
    assert fee["data"]["kassenzeichen"] == first
    assert fee["data"]["prepaid"] is True
    assert fee["data"]["currency"] == "EUR"

    receivable_id = str(bills.receivable(first).id)
    mine = [e for e in events if e["subject"] == receivable_id]
    assert [short(e) for e in mine] == ["receivable_created", "receivable_payment_applied"]
    created, applied = mine
    receivable = bills.receivable(first)
    assert created["data"] == {
        "kassenzeichen": first,
        "case_id": str(case_id),
        "reference": receivable.case_reference,
        "service": "road-opening",
        "status": "open",
        "outstanding": str(owed),
        "credit": "0.00",
        "currency": "EUR",
        "version": 1,
        "links": {"case": f"/api/v1/cases/{case_id}"},
        "amount": str(owed),
        "due_on": receivable.due_on.isoformat() if receivable.due_on else None,
        "ledger": receivable.ledger,
        "legal_basis": receivable.legal_basis,
        "prepaid": True,
        "town": "usingen",
        "official_key": created["data"]["official_key"],
        "business_customer": str(bills.account),
    }
    assert created["data"]["official_key"].isdigit()
    assert created["source"] == "/tenants/usingen"
    assert created["time"] <= applied["time"]
    data = applied["data"]
    # The request keeps what it received beyond its items (allocated to nobody).
    assert (data["amount"], data["applied"], data["overpaid"]) == (str(owed), str(owed), "0.00")
    assert (data["status"], data["outstanding"], data["credit"], data["settled"]) == (
        "settled",
        "0.00",
        "0.00",
        True,
    )
    assert (data["channel"], data["request_id"]) == ("provider", str(request_id))
    counter = [
        e
        for e in events
        if short(e) == "receivable_payment_applied" and e["subject"] != receivable_id
    ]
    assert len(counter) == len(rest)
    assert all(e["data"]["channel"] == "counter" for e in counter)
    assert all(e["data"]["request_id"] is None for e in counter)

    requests = [e for e in events if e["subject"] == str(request_id)]
    assert [short(e) for e in requests] == [
        "payment_request_created",
        "payment_request_payment_received",
    ]
    made, received = requests
    assert made["data"]["items"] == [
        {
            "kassenzeichen": first,
            "case_id": str(case_id),
            "reference": receivable.case_reference,
            "amount": str(owed),
        }
    ]
    assert made["data"]["business_customer"] == str(bills.account)
    assert (made["data"]["status"], made["data"]["total"]) == ("requested", str(owed))
    by_service = FeedQuery(vorgang.views).page(
        FeedFilter(tenants=("usingen",), service="road-opening"), after=0, limit=1000
    )
    subjects = {e["subject"] for e in by_service}
    assert receivable_id in subjects  # a receivable has its case's service
    assert str(request_id) not in subjects  # a request has none: it may span services
    assert received["data"]["status"] == "paid"
    assert received["data"]["allocations"] == [{"kassenzeichen": first, "amount": str(owed)}]
    assert received["data"]["overpaid"] == "2.50"
    assert received["data"]["provider"] == "fake"
    assert feed(vorgang, "schmitten") == []  # another town's integrator sees none of it


def test_due_dates_withdrawals_expiry_cancellation_and_refunds(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    withdrawn = bills.permit()
    kept = bills.permit()
    lapsing = bills.request(bills.kassenzeichen(kept)[:1])
    called_off = bills.request(bills.kassenzeichen(withdrawn)[:1])
    bills.payments.cancel_request(APPLICANT, called_off, reason="changed_my_mind")
    take(vorgang.cases, withdrawn, "withdraw", actor=APPLICANT)
    clock.advance(timedelta(hours=3))
    bills.payments.expire_due(lapsing)
    paid_kz = bills.kassenzeichen(kept)[0]
    paying = bills.request([paid_kz])
    amount = bills.receivable(paid_kz).amount
    bills.pay(paying, str(amount + Decimal("4.00")), "evt-7")
    bills.payments.request_refund(
        CLERK, paying, amount=Decimal("4.00"), reason="Doppelt bezahlt, Herr Hinz"
    )
    bills.payments.approve_refund(SUPERVISOR_OF_CASH, paying, "R1")

    events = payments_of(feed(vorgang))
    kinds = [short(e) for e in events]
    assert "Herr Hinz" not in json.dumps(events)  # the refund's reason stays sealed
    cancelled = [e for e in events if short(e) == "receivable_cancelled"]
    assert len(cancelled) == len(bills.kassenzeichen(withdrawn))
    assert {e["data"]["reason"] for e in cancelled} == {"case_withdrawn"}
    assert {(e["data"]["status"], e["data"]["outstanding"]) for e in cancelled} == {
        ("cancelled", "0.00")
    }
    by_request = {
        str(r): [short(e) for e in events if e["subject"] == str(r)]
        for r in (
            lapsing,
            called_off,
            paying,
        )
    }
    assert by_request[str(lapsing)] == ["payment_request_created", "payment_request_expired"]
    assert by_request[str(called_off)] == ["payment_request_created", "payment_request_cancelled"]
    assert by_request[str(paying)] == [
        "payment_request_created",
        "payment_request_payment_received",
        "payment_request_refund_approved",
        "payment_request_refund_paid",
    ]
    reason = next(e for e in events if short(e) == "payment_request_cancelled")["data"]["reason"]
    assert reason == "changed_my_mind"
    approved, refunded_back = (e for e in events if short(e).startswith("payment_request_refund"))
    assert (approved["data"]["refund"], approved["data"]["amount"]) == ("R1", "4.00")
    assert refunded_back["data"]["amount"] == "4.00"
    assert refunded_back["data"]["provider_refund_reference"]
    assert kinds.index("payment_request_refund_paid") > kinds.index(
        "payment_request_refund_approved"
    )
    for event in events:  # ids are stable: a rebuilt feed gives the same id to the same event
        assert UUID(event["id"])

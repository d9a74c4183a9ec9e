"""The receivables view lists what an account owes, what the cash office awaits, and the
payment requests the watch polls: amounts as the aggregates compute them, no person named."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.payment_ports import (
    Checkout,
    CheckoutOrder,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    SettlementRow,
)
from application.payments import Payer, PaymentService
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.payments.receivable import Receivable
from domain.services import road_opening
from domain.working_days import berlin_date
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.cursors import InvalidCursor
from projections.receivables import Receivables
from projections.receivables_query import (
    open_receivables,
    payment_requests_of,
    receivables_of,
    waiting_requests,
)
from tests.conftest import APPLICANT, CLERK
from tests.steps import take

CASH_OFFICE = Actor("kasse.usingen", "Gemeindekasse Usingen", Role.CASH_OFFICE, "usingen")
COMPANY = "Tiefbau Hinz GmbH"
PAYER = Payer(company=COMPANY, contact="Karl Hinz", email="karl.hinz@example.org")


@dataclass
class FakeProvider:
    """A payment provider that opens checkouts and reports what the test tells it."""

    name: str = "fake"
    events: dict[str, list[ProviderEvent]] = field(default_factory=dict)
    opened: int = 0

    def start_checkout(self, order: CheckoutOrder) -> Checkout:
        self.opened += 1
        reference = f"chk-{self.opened}"
        self.events[reference] = []
        return Checkout(reference, f"https://pay.example/{reference}")

    def status(self, provider_reference: str) -> ProviderStatus:
        return ProviderStatus(provider_reference, tuple(self.events.get(provider_reference, [])))

    def refund(self, provider_reference: str, amount: Decimal, refund_id: str) -> str:
        return f"rf-{provider_reference}-{refund_id}"

    def settlement_report(self, day: date) -> tuple[SettlementRow, ...]:
        return ()

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        raise NotImplementedError


@dataclass
class Billing:
    """A business customer with road opening permits billed to it, and the payment service."""

    vorgang: Vorgang
    clock: FixedClock
    payments: PaymentService
    provider: FakeProvider
    account: UUID

    def permit(self) -> UUID:
        """A road opening billed to the account and approved: it waits for its payment."""
        v, clock = self.vorgang, self.clock
        case_id = v.cases.submit(
            actor=APPLICANT,
            tenant="usingen",
            service="road-opening",
            applicant={"name": "Karl Hinz"},
            data=road_opening.example(berlin_date(clock.now())),
        ).case_id
        take(v.cases, case_id, "bill_to", actor=APPLICANT, business_customer=str(self.account))
        take(v.cases, case_id, "confirm_complete", actor=CLERK)
        take(v.cases, case_id, "claim", actor=CLERK)
        clock.advance(timedelta(minutes=5))
        take(
            v.cases,
            case_id,
            "decide",
            actor=CLERK,
            outcome=DecisionOutcome.APPROVED,
            justification="Belange des Verkehrs stehen nicht entgegen.",
            legal_basis="§ 16 HStrG",
            discretion="Kurzzeitige Nutzung des Gehwegs; der Fußverkehr bleibt möglich.",
        )
        return case_id

    def kassenzeichen(self, case_id: UUID) -> list[str]:
        """The Kassenzeichen the case charged, in order."""
        case: Case = self.vorgang.store.repository.get(case_id)
        return [charge.kassenzeichen for charge in case.charges]

    def receivable(self, kassenzeichen: str) -> Receivable:
        """The receivable as its events make it."""
        return self.payments.receivable(CASH_OFFICE, kassenzeichen)

    def request(self, kassenzeichen: list[str]) -> UUID:
        """The account's owner asks to pay these Kassenzeichen; the checkout is open."""
        request = self.payments.request_payment(
            APPLICANT, self.account, kassenzeichen=kassenzeichen, payer=PAYER
        )
        return UUID(str(request.id))

    def pay(self, request_id: UUID, amount: str, event_id: str) -> None:
        """The provider reports money received for the request (its callback)."""
        request = self.payments.request(CASH_OFFICE, request_id)
        assert request.provider_reference is not None
        self.payments.apply(
            self.provider.name,
            ProviderEvent(
                event_id,
                request.provider_reference,
                ProviderEventKind.PAID,
                Decimal(amount),
                self.clock.now(),
            ),
        )

    def receipt(self, kassenzeichen: str, amount: str, reference: str) -> None:
        """The cash office records money received at the counter."""
        self.payments.record_receipt(
            CASH_OFFICE,
            kassenzeichen,
            amount=Decimal(amount),
            channel="counter",
            received_on=berlin_date(self.clock.now()),
            reference=reference,
        )


def billing(vorgang: Vorgang, clock: FixedClock) -> Billing:
    """A business customer of Usingen whose owner is the portal applicant."""
    provider = FakeProvider()
    payments = PaymentService(vorgang.store, clock, {provider.name: provider})
    account = payments.register_customer(CLERK, company=COMPANY, owner=APPLICANT.id)
    return Billing(vorgang, clock, payments, provider, UUID(str(account.id)))


def caught_up(v: Vorgang) -> None:
    v.projections.catch_up()


def test_an_account_sees_what_it_owes_and_paid_open_first_by_due_date(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    first = bills.permit()
    clock.advance(timedelta(days=1))
    second = bills.permit()
    paid, *_ = bills.kassenzeichen(first)
    owed = bills.kassenzeichen(second)
    bills.pay(bills.request([paid]), str(bills.receivable(paid).amount), "evt-1")
    part = bills.receivable(owed[0]).amount - Decimal("10.00")
    bills.receipt(owed[0], str(part), "K-77")
    caught_up(vorgang)

    rows = receivables_of(vorgang.views, "usingen", bills.account, limit=50)
    by_kz = {row["kassenzeichen"]: row for row in rows}
    assert set(by_kz) == {*bills.kassenzeichen(first), *owed}
    for kz, row in by_kz.items():  # the view agrees with the aggregate, amount for amount
        receivable = bills.receivable(kz)
        assert isinstance(row["amount"], Decimal)
        assert (row["amount"], row["paid"], row["refunded"], row["outstanding"]) == (
            receivable.amount,
            receivable.paid,
            receivable.refunded,
            receivable.outstanding,
        )
        assert row["status"] == receivable.status
        assert row["due_on"] == receivable.due_on
        assert row["receivable_id"] == receivable.id
        assert row["case_reference"] == receivable.case_reference
        assert row["prepaid"] is True
    assert by_kz[paid]["status"] == "settled"
    assert by_kz[paid]["settled_at"] is not None
    assert by_kz[owed[0]]["status"] == "partly_paid"
    assert by_kz[owed[0]]["outstanding"] == Decimal("10.00")
    statuses = [row["status"] for row in rows]
    assert statuses.index("settled") > max(
        i for i, s in enumerate(statuses) if s in ("open", "partly_paid")
    )  # still owed first
    owed_rows = [row for row in rows if row["status"] != "settled"]
    assert [row["due_on"] for row in owed_rows] == sorted(row["due_on"] for row in owed_rows)

    settled = receivables_of(vorgang.views, "usingen", bills.account, status="settled", limit=50)
    assert [row["kassenzeichen"] for row in settled] == [
        kz for kz in bills.kassenzeichen(first) if bills.receivable(kz).status == "settled"
    ]
    text = json.dumps(rows, default=str)
    for personal in ("Karl Hinz", COMPANY, "karl.hinz@example.org"):
        assert personal not in text
    assert receivables_of(vorgang.views, "schmitten", bills.account, limit=50) == []


def test_pages_follow_each_other_by_cursor_without_gaps_or_repeats(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    for _ in range(3):
        bills.permit()
        clock.advance(timedelta(days=1))
    caught_up(vorgang)
    everything = receivables_of(vorgang.views, "usingen", bills.account, limit=100)
    assert len(everything) >= 3
    seen: list[str] = []
    after = None
    while True:
        page = receivables_of(vorgang.views, "usingen", bills.account, limit=2, after=after)
        if not page:
            break
        seen += [row["kassenzeichen"] for row in page]
        after = page[-1]["cursor"]
    assert seen == [row["kassenzeichen"] for row in everything]

    office: list[str] = []
    after = None
    while page := open_receivables(vorgang.views, "usingen", limit=2, after=after):
        office += [row["kassenzeichen"] for row in page]
        after = page[-1]["cursor"]
    assert office == [row["kassenzeichen"] for row in everything]  # all still owed
    with pytest.raises(InvalidCursor):
        open_receivables(vorgang.views, "usingen", limit=2, after="not-a-cursor")


def test_the_cash_office_lists_only_what_is_still_owed(vorgang: Vorgang, clock: FixedClock) -> None:
    bills = billing(vorgang, clock)
    case_id = bills.permit()
    kz = bills.kassenzeichen(case_id)
    caught_up(vorgang)
    assert [r["kassenzeichen"] for r in open_receivables(vorgang.views, "usingen", limit=50)] == kz
    for number, each in enumerate(kz):
        bills.receipt(each, str(bills.receivable(each).amount), f"K-{number}")
    caught_up(vorgang)
    assert open_receivables(vorgang.views, "usingen", limit=50) == []
    assert open_receivables(vorgang.views, "schmitten", limit=50) == []


def test_payment_requests_of_an_account_and_the_ones_the_watch_polls(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    # A charge of each of two cases: one request pays receivables of several cases.
    kz = [bills.kassenzeichen(bills.permit())[0], bills.kassenzeichen(bills.permit())[0]]
    first = bills.request(kz)
    caught_up(vorgang)
    assert waiting_requests(vorgang.views, started_before=clock.now(), limit=10) == []
    later = clock.now() + timedelta(seconds=1)
    waiting = waiting_requests(vorgang.views, started_before=later, limit=10)
    assert [row["id"] for row in waiting] == [first]
    assert waiting[0]["status"] == "pending"
    assert waiting[0]["provider"] == "fake"
    assert waiting[0]["kassenzeichen"] == kz

    total = sum((bills.receivable(k).amount for k in kz), Decimal(0))
    clock.advance(timedelta(minutes=1))
    bills.pay(first, str(total + Decimal("5.00")), "evt-9")  # five euros too many
    clock.advance(timedelta(minutes=1))
    caught_up(vorgang)
    assert waiting_requests(vorgang.views, started_before=clock.now(), limit=10) == []

    other = bills.permit()
    second = bills.request(bills.kassenzeichen(other))
    clock.advance(timedelta(hours=3))  # past its end: nothing was paid
    bills.payments.expire_due(second)
    caught_up(vorgang)
    rows = payment_requests_of(vorgang.views, "usingen", bills.account, limit=10)
    assert [row["id"] for row in rows] == [second, first]  # newest first
    expired, paid = rows
    assert (paid["status"], paid["total"], paid["paid"], paid["overpaid"]) == (
        "paid",
        total,
        total + Decimal("5.00"),
        Decimal("5.00"),
    )
    assert paid["provider_reference"] == "chk-1"
    assert expired["status"] == "expired"
    assert expired["paid"] == Decimal("0.00")
    assert datetime.fromisoformat(expired["expires_at"]) < clock.now()
    assert waiting_requests(vorgang.views, started_before=clock.now(), limit=10) == []
    text = json.dumps(rows, default=str)
    for personal in ("Karl Hinz", COMPANY, "karl.hinz@example.org", "pay.example"):
        assert personal not in text
    assert payment_requests_of(vorgang.views, "schmitten", bills.account, limit=10) == []


def test_the_view_has_a_version_of_its_own_and_reads_only_payment_events() -> None:
    view = Receivables()
    assert view.tables() == ["receivables_v1", "receivables_v1_payment_requests"]
    assert all(t.startswith(("domain.payments.",)) for t in view.topics())
    assert "domain.payments.receivable:Receivable.PaymentApplied" in view.topics()
    assert "domain.payments.payment_request:PaymentRequest.Expired" in view.topics()


class OneByOne(Receivables):
    """The same view under a version of its own, filled one event per batch."""

    version = 98


class AllAtOnce(Receivables):
    """The same view under another version, filled in one batch."""

    version = 99


def test_the_view_is_the_same_whatever_the_batches(vorgang: Vorgang, clock: FixedClock) -> None:
    bills = billing(vorgang, clock)
    case_id = bills.permit()
    first, *rest = bills.kassenzeichen(case_id)
    request_id = bills.request([first])
    bills.pay(request_id, "1.00", "evt-1")  # a part first
    bills.pay(request_id, str(bills.receivable(first).amount), "evt-2")  # then too much
    for kz in rest:
        bills.receipt(kz, "1.00", f"K-{kz}")
    take(vorgang.cases, case_id, "withdraw", actor=APPLICANT)
    one, many = OneByOne(), AllAtOnce()
    ProjectionRunner(vorgang.store, vorgang.views, one, batch_size=1).catch_up()
    ProjectionRunner(vorgang.store, vorgang.views, many, batch_size=1000).catch_up()
    for small, big, key in zip(one.tables(), many.tables(), ("receivable_id", "id"), strict=True):
        rows = vorgang.views.query(f"SELECT * FROM {small} ORDER BY {key}")  # noqa: S608
        assert rows == vorgang.views.query(f"SELECT * FROM {big} ORDER BY {key}")  # noqa: S608
        assert rows
    selected = f"SELECT kassenzeichen, status, paid, credit FROM {one.table}"  # noqa: S608
    found = {r[0]: r for r in vorgang.views.query(selected)}
    for kz, row in found.items():  # and as the aggregates compute it
        receivable = bills.receivable(kz)
        assert row[1:] == (receivable.status, str(receivable.paid), str(receivable.credit))

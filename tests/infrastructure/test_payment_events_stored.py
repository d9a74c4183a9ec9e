"""Every payments event and snapshot goes through the real store on SQLite and comes back equal.

A receivable, a payment request, a business customer and a reconciliation are taken through
every event of their classes, saved, read back event by event and as aggregates, and
snapshotted and loaded from the snapshot: the stored shapes are our own dicts
(``persistence/payment_transcodings.py``), Decimals stay exact, dates stay dates, and the
payer's data stays ``PersonalData`` of the request.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from application.store import VorgangStore
from domain.payments.business_customer import AccountRole, BusinessCustomer
from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import Receivable
from domain.payments.reconciliation import Reconciliation, settlement_row
from domain.personal_data import PersonalData
from persistence.payment_transcodings import register_payment_transcodings
from persistence.transcodings import PersonalDataInClear
from tests.conftest import sqlite_target
from tests.domain import test_business_customer as customers
from tests.domain import test_payment_request as requests
from tests.domain import test_receivable as receivables


class PaymentsStore(VorgangStore):
    """The store with the payments domain's transcodings (until the wiring registers them)."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_payment_transcodings(transcoder)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PaymentsStore]:
    app = PaymentsStore(env=sqlite_target(tmp_path).env, personal_data=PersonalDataInClear())
    try:
        yield app
    finally:
        app.close()


def receivable_through_every_event() -> Receivable:
    r = receivables.opened()
    receivables.pay(r, "p1", "100.00")
    r.set_due_date(due_on=date(2026, 4, 1), at=receivables.AT, actor=receivables.CLERK)
    r.cancel(actor=receivables.SYSTEM, at=receivables.AT, reason="case_withdrawn")
    receivables.pay(
        r, "bank-1", "20.00", channel="bank_transfer", recorded_by=receivables.CASH, request_id=None
    )
    r.record_refund(
        refund="r1", amount=Decimal("120.00"), at=receivables.AT, actor=receivables.CASH
    )
    return r


def other_request(request_id: str) -> PaymentRequest:
    """Another request of the contractor, its payer sealed under its own id."""
    rid = UUID(request_id)
    payer = {"company": PersonalData(rid, "payer", "Tiefbau Müller GmbH")}
    return requests.requested(request_id=rid, payer=payer)


def requests_through_every_event() -> list[PaymentRequest]:
    paid = requests.pending()
    requests.pay(paid, "evt_1", "160.00")
    paid.request_refund(
        refund="ref-1",
        amount=Decimal("10.00"),
        reason="overpaid",
        actor=requests.CLERK,
        at=requests.AT,
    )
    paid.approve_refund(refund="ref-1", actor=requests.CASH, at=requests.AT)
    paid.record_refund_paid(refund="ref-1", provider_refund_reference="re_1", at=requests.AT)
    paid.request_refund(
        refund="ref-2",
        amount=Decimal("5.00"),
        reason="asked twice",
        actor=requests.CLERK,
        at=requests.AT,
    )
    paid.reject_refund(refund="ref-2", actor=requests.CASH, at=requests.AT, reason="duplicate")
    failed = other_request("3b9f5d7e-2a4c-4e6b-8d0f-9c7b6e5d4f32")
    failed.record_failure(event_id="evt_9", reason="card_declined", at=requests.AT)
    expired = other_request("4c0a6e8f-3b5d-4f7c-9e1a-0d8c7f6e5a43")
    expired.expire(at=requests.EXPIRES)
    cancelled = other_request("5d1b7f9a-4c6e-4a8d-8f2b-1e9d8a7f6b54")
    cancelled.cancel(actor=requests.CONTRACTOR, at=requests.AT, reason="paying_by_transfer")
    return [paid, failed, expired, cancelled]


def customer_through_every_event() -> BusinessCustomer:
    c = customers.with_staff()
    c.remove_member(
        member=customers.VIEWER,
        actor_id=customers.OWNER,
        actor=customers.OWNER_RECORD,
        at=customers.AT,
    )
    return c


def reconciliation_through_every_event() -> Reconciliation:
    day = date(2026, 3, 2)
    r = Reconciliation.open(tenant="usingen", provider="simulator", day=day)
    row = settlement_row("sim_1", receivables.KZ, Decimal("100.00"), day)
    r.reconcile(
        actor=receivables.SYSTEM,
        at=receivables.AT + timedelta(days=1),
        report_rows=[row],
        recorded_rows=[],
    )
    return r


def every_aggregate() -> list[Aggregate]:
    return [
        receivable_through_every_event(),
        *requests_through_every_event(),
        customer_through_every_event(),
        reconciliation_through_every_event(),
    ]


def declared_events(cls: type[Aggregate]) -> set[type[Any]]:
    """The event classes an aggregate declares itself (not the library's bases)."""
    return {
        value
        for name, value in vars(cls).items()
        if inspect.isclass(value)
        and issubclass(value, Aggregate.Event)
        and name not in ("Event", "Created")
    }


def plain(value: Any) -> Any:
    """A state as compared: tuples as lists (a snapshot stores them as JSON arrays)."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_every_payments_event_comes_back_equal(store: PaymentsStore) -> None:
    aggregates = every_aggregate()
    pending = {a.id: list(a.pending_events) for a in aggregates}
    store.save(*aggregates)
    seen: set[type[Any]] = set()
    for aggregate in aggregates:
        stored = list(store.events.get(aggregate.id))
        assert [type(e) for e in stored] == [type(e) for e in pending[aggregate.id]]
        for original, loaded in zip(pending[aggregate.id], stored, strict=True):
            assert plain(loaded.__dict__) == plain(original.__dict__), type(original).__qualname__
            seen.add(type(original))
        assert plain(store.repository.get(aggregate.id).__dict__) == plain(aggregate.__dict__)
    for cls in (Receivable, PaymentRequest, BusinessCustomer, Reconciliation):
        assert declared_events(cls) <= seen, declared_events(cls) - seen


def test_values_keep_their_types(store: PaymentsStore) -> None:
    paid = requests_through_every_event()[0]
    receivable = receivable_through_every_event()
    customer = customer_through_every_event()
    store.save(paid, receivable, customer)
    loaded: PaymentRequest = store.repository.get(paid.id)
    assert isinstance(loaded.total, Decimal)
    assert str(loaded.total) == "150.00"
    assert loaded.items[0] == requests.ITEMS[0]
    assert isinstance(loaded.payer["company"], PersonalData)
    assert loaded.refunds["ref-1"].reason.subject == "case-text"
    received = next(
        e for e in store.events.get(paid.id) if isinstance(e, PaymentRequest.PaymentReceived)
    )
    assert [a.amount for a in received.allocations] == [Decimal("100.00"), Decimal("50.00")]
    applied = next(
        e for e in store.events.get(receivable.id) if isinstance(e, Receivable.PaymentApplied)
    )
    assert applied.received_on == date(2026, 3, 2)
    account: BusinessCustomer = store.repository.get(customer.id)
    assert account.role_of(customers.PAYER) is AccountRole.PAYER


def test_snapshots_of_payments_aggregates_load_equal(store: PaymentsStore) -> None:
    aggregates = every_aggregate()
    store.save(*aggregates)
    for aggregate in aggregates:
        store.take_snapshot(aggregate.id)
        snapshot = next(iter(store.snapshots.get(aggregate.id, desc=True, limit=1)))  # type: ignore[union-attr]
        state = json.loads(store.mapper.to_stored_event(snapshot).state)
        assert "_type_" in json.dumps(state)  # our values went through transcodings
        loaded: Aggregate = store.repository.get(aggregate.id)
        assert plain(loaded.__dict__) == plain(aggregate.__dict__), type(aggregate).__qualname__
    receivable: Receivable = store.repository.get(aggregates[0].id)
    assert (receivable.status, receivable.paid, receivable.refunded, receivable.credit) == (
        "cancelled",
        Decimal("120.00"),
        Decimal("120.00"),
        Decimal("0.00"),
    )
    customer: BusinessCustomer = store.repository.get(aggregates[-2].id)
    assert customer.may_pay(customers.PAYER)
    assert customer.owners == (customers.OWNER,)

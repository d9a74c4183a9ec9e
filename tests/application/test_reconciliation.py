"""Reconciliation against the real provider simulator (its own process) and a real store.

Payments go through the simulator's payer endpoint; its callbacks are received by a small
local endpoint and applied through ``PaymentService`` (as the API's callback route does), or
fetched by a poll. A day where every payment was applied is balanced; a payment the provider
settled but Vorgang never heard of is unexpected; a recorded payment the report lacks is
missing. Every wait is on observed state (the simulator's delivery log), never a pause.

Each test pays on a day of its own (the simulator's clock is set to it), so the simulator,
shared by the module, never mixes one test's settlements into another's report.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.clock import FixedClock
from application.payment_ports import ProviderUnavailable, SettlementRow
from application.payments import Payer, PaymentService
from application.reconciliation import Reconciler, town_of
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import kassenzeichen
from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import Receivable, receivable_id
from domain.payments.reconciliation import Reconciliation, reconciliation_id
from domain.personal_data import PersonalData, Subjects
from domain.tenants import tenant as tenant_named
from domain.working_days import BERLIN
from infrastructure.payments.signatures import new_secret
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.payments.simulator_provider import SimulatorProvider

SECRET = new_secret()
# At 10 ms each, a guard against a hang, not a measure: deliveries to a local endpoint
SETTLED_STATE_POLLS = 6000
FIRST_DAY = date(2026, 6, 1)
DAYS = itertools.count()  # each world pays on days of its own
NUMBERS = itertools.count(1)  # case numbers of the Kassenzeichen, unique in the run
CLERKS = {
    "usingen": Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen"),
    "neu-anspach": Actor("nina.berg", "Nina Berg", Role.CLERK, "neu-anspach"),
}
OWNERS = {
    "usingen": Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen"),
    "neu-anspach": Actor("portal:4712", "Erika Muster", Role.APPLICANT, "neu-anspach"),
}
CASH_OFFICE = Actor("kasse.usingen", "Kasse Usingen", Role.CASH_OFFICE, "usingen")


class Receiver:
    """A callback endpoint on a local port: keeps every callback as it came (answers 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def callbacks_of(self, reference: str) -> list[tuple[dict[str, str], bytes]]:
        """The callbacks of one checkout, in the order they came."""
        with self._lock:
            received = list(self.received)
        return [(h, b) for h, b in received if json.loads(b)["provider_reference"] == reference]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def simulator_url(receiver: Receiver) -> Iterator[str]:
    options = ("--retry-seconds", "0.01", "--attempts", "3", "--log-level", "WARNING")
    with running_simulator(SECRET, receiver.url, options=options) as url:
        yield url


@dataclass
class PaymentWorld:
    """A store with business customers, their receivables, and the simulator to pay at."""

    payments: PaymentService
    clock: FixedClock
    provider: SimulatorProvider
    control: httpx.Client
    receiver: Receiver
    day: date
    customers: dict[str, UUID] = field(default_factory=dict)

    @property
    def store(self) -> VorgangStore:
        return self.payments.store

    def customer(self, town: str) -> UUID:
        """The town's business customer (registered once)."""
        if town not in self.customers:
            account = self.payments.register_customer(
                CLERKS[town], company="Tiefbau Muster GmbH", owner=OWNERS[town].id
            )
            self.customers[town] = account.id
        return self.customers[town]

    def receivable(self, amount: str, town: str = "usingen") -> str:
        """A receivable of the town's business customer; its Kassenzeichen."""
        kz = kassenzeichen(tenant_named(town).official_key, 2026, next(NUMBERS), 1)
        case_id = uuid4()
        opened = Receivable.open(
            tenant=town,
            kassenzeichen=kz,
            case_id=case_id,
            case_reference=f"USI-2026-{next(NUMBERS):06d}",
            service="road-opening",
            debtor=PersonalData(case_id=case_id, subject=Subjects.APPLICANT, value="Muster GmbH"),
            business_customer=self.customer(town),
            amount=Decimal(amount),
            ledger="administrative_fee",
            legal_basis="Verwaltungskostensatzung § 2",
            due_on=None,
            prepaid=True,
            ordered_by=CLERKS[town].recorded_in(receivable_id(town, kz)),
            at=self.clock.now(),
        )
        self.store.save(opened)
        return kz

    def request(self, *kzs: str, town: str = "usingen") -> PaymentRequest:
        """A payment request of the town's customer for these Kassenzeichen."""
        return self.payments.request_payment(
            OWNERS[town],
            self.customer(town),
            kassenzeichen=list(kzs),
            payer=Payer(company="Tiefbau Muster GmbH", contact="Max", email="max@example.org"),
        )

    def pay(self, request: PaymentRequest, amount: str, delivery: str = "normal") -> str:
        """The payer pays at the simulator's checkout; the provider's event id."""
        answer = self.control.post(
            f"/checkout/{request.provider_reference}/pay",
            json={"amount": amount, "delivery": delivery},
        )
        assert answer.status_code == 200, answer.text
        event_id: str = answer.json()["event_id"]
        return event_id

    def delivered(self) -> dict[str, Any]:
        """The simulator's delivery log once nothing is in flight any more."""
        for _ in range(SETTLED_STATE_POLLS):
            report: dict[str, Any] = self.control.get("/_control/deliveries").json()
            if report["in_flight"] == 0:
                return report
            time.sleep(0.01)
        raise AssertionError("the simulator's callbacks are still in flight")

    def apply_callbacks(self, request: PaymentRequest) -> None:
        """Apply every callback the request's checkout sent, as the API's route does."""
        assert request.provider_reference is not None
        self.delivered()
        callbacks = self.receiver.callbacks_of(request.provider_reference)
        assert callbacks, "no callback came"
        for headers, body in callbacks:
            self.payments.receive_callback(self.provider.name, headers, body)

    def reconcile(self, *, provider: Any = None) -> Any:
        """The usingen cash office reconciles the world's day; usingen's result."""
        reconciler = Reconciler(self.store, self.clock)
        [result] = reconciler.reconcile(self.day, provider or self.provider, CASH_OFFICE)
        return result


def open_world(
    store: VorgangStore, simulator_url: str, receiver: Receiver
) -> Iterator[PaymentWorld]:
    """A world paying on its own day; Vorgang's clock stands at the real time (callbacks are
    signed with it: a five-minute window), the simulator's at noon of the world's day."""
    day = FIRST_DAY + timedelta(days=2 * next(DAYS))  # the day after stays free, too
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    provider = SimulatorProvider(simulator_url, SECRET)
    with httpx.Client(base_url=simulator_url, timeout=5) as control:
        moment = datetime.combine(day, dt_time(12), tzinfo=BERLIN)
        assert control.post("/_control/clock", json={"now": moment.isoformat()}).is_success
        payments = PaymentService(store, clock, {provider.name: provider})
        yield PaymentWorld(payments, clock, provider, control, receiver, day)
    provider.close()


@pytest.fixture
def world(store: VorgangStore, simulator_url: str, receiver: Receiver) -> Iterator[PaymentWorld]:
    yield from open_world(store, simulator_url, receiver)


def paid_and_applied(world: PaymentWorld) -> tuple[PaymentRequest, PaymentRequest]:
    """Two requests paid and applied by their callbacks: one of two Kassenzeichen paid
    exactly, one of two Kassenzeichen overpaid (the excess falls to the last)."""
    first = world.request(world.receivable("30.00"), world.receivable("20.00"))
    overpaid = world.request(world.receivable("10.00"), world.receivable("15.00"))
    world.pay(first, "50.00")
    world.pay(overpaid, "30.00")
    world.apply_callbacks(first)
    world.apply_callbacks(overpaid)
    return first, overpaid


def test_a_day_whose_payments_were_all_applied_is_balanced(world: PaymentWorld) -> None:
    first, overpaid = paid_and_applied(world)
    assert world.payments.request(CASH_OFFICE, overpaid.id).overpaid == Decimal("5.00")

    result = world.reconcile()

    assert result.balanced
    assert result.missing == []
    assert result.unexpected == []
    amounts = {(r["provider_reference"], r["kassenzeichen"]): r["amount"] for r in result.matched}
    assert amounts == {
        (first.provider_reference, first.items[0].kassenzeichen): "30.00",
        (first.provider_reference, first.items[1].kassenzeichen): "20.00",
        (overpaid.provider_reference, overpaid.items[0].kassenzeichen): "10.00",
        (overpaid.provider_reference, overpaid.items[1].kassenzeichen): "20.00",
    }
    assert result.matched_sum == Decimal("80.00")
    assert result.run == 1
    assert all(r["day"] == world.day.isoformat() for r in result.matched)


def test_a_payment_settled_but_never_recorded_is_unexpected(world: PaymentWorld) -> None:
    paid_and_applied(world)
    silent = world.request(world.receivable("12.50"))
    event_id = world.pay(silent, "12.50", delivery="never")
    assert event_id in world.delivered()["withheld"]  # the callback will never come

    result = world.reconcile()

    assert not result.balanced
    assert result.missing == []
    assert result.unexpected == [
        {
            "provider_reference": silent.provider_reference,
            "kassenzeichen": silent.items[0].kassenzeichen,
            "amount": "12.50",
            "day": world.day.isoformat(),
        }
    ]
    assert len(result.matched) == 4

    world.payments.poll(silent.id)  # what the payment watch does: now it is recorded
    again = world.reconcile()
    assert again.balanced
    assert again.run == 2


class ReportWithout:
    """The simulator, but its report lacks one payment (settled on another day, say)."""

    def __init__(self, provider: SimulatorProvider, reference: str) -> None:
        self.provider = provider
        self.reference = reference
        self.name = provider.name

    def settlement_report(self, day: date) -> tuple[SettlementRow, ...]:
        rows = self.provider.settlement_report(day)
        return tuple(r for r in rows if r.provider_reference != self.reference)


def test_a_recorded_payment_the_report_lacks_is_missing(world: PaymentWorld) -> None:
    first, overpaid = paid_and_applied(world)
    assert first.provider_reference is not None

    result = world.reconcile(provider=ReportWithout(world.provider, first.provider_reference))

    assert not result.balanced
    assert result.unexpected == []
    assert sorted(r["kassenzeichen"] for r in result.missing) == sorted(
        i.kassenzeichen for i in first.items
    )
    assert {r["provider_reference"] for r in result.matched} == {overpaid.provider_reference}


def test_every_run_is_recorded_for_the_auditors(world: PaymentWorld) -> None:
    paid_and_applied(world)
    world.reconcile()
    world.clock.advance(timedelta(minutes=1))
    second = world.reconcile()

    reconciliation: object = world.store.repository.get(
        reconciliation_id("usingen", world.provider.name, world.day)
    )
    assert isinstance(reconciliation, Reconciliation)
    assert reconciliation.runs == 2 == second.run
    runs = [
        e
        for e in world.store.events.get(reconciliation.id)
        if isinstance(e, Reconciliation.Reconciled)
    ]
    assert [r.actor.id for r in runs] == [CASH_OFFICE.id, CASH_OFFICE.id]
    assert runs[0].report_digest == runs[1].report_digest == second.report_digest
    assert runs[1].at == world.clock.now()


def test_each_town_reconciles_its_own_payments(world: PaymentWorld) -> None:
    ours = world.request(world.receivable("30.00"))
    theirs = world.request(world.receivable("44.00", "neu-anspach"), town="neu-anspach")
    world.pay(ours, "30.00")
    world.pay(theirs, "44.00", delivery="never")
    world.apply_callbacks(ours)

    reconciler = Reconciler(world.store, world.clock)
    [usingen] = reconciler.reconcile(world.day, world.provider, CASH_OFFICE)
    assert usingen.tenant == "usingen"
    assert usingen.balanced  # the other town's unrecorded payment is not ours
    assert [r["kassenzeichen"] for r in usingen.matched] == [ours.items[0].kassenzeichen]

    kasse = Actor("kasse.na", "Kasse Neu-Anspach", Role.CASH_OFFICE, "neu-anspach")
    results = reconciler.reconcile_each(
        world.day, world.provider, {"usingen": CASH_OFFICE, "neu-anspach": kasse}
    )
    by_town = {r.tenant: r for r in results}
    assert by_town["usingen"].balanced
    assert [r["kassenzeichen"] for r in by_town["neu-anspach"].unexpected] == [
        theirs.items[0].kassenzeichen
    ]
    assert town_of(theirs.items[0].kassenzeichen) == "neu-anspach"


def test_a_same_day_partial_payment_and_its_rest_are_one_row(world: PaymentWorld) -> None:
    request = world.request(world.receivable("30.00"), world.receivable("20.00"))
    world.pay(request, "10.00")
    world.pay(request, "40.00")
    world.apply_callbacks(request)

    result = world.reconcile()

    assert result.balanced
    assert sorted(r["amount"] for r in result.matched) == ["20.00", "30.00"]


def test_a_day_in_the_future_is_refused(world: PaymentWorld) -> None:
    reconciler = Reconciler(world.store, world.clock)
    tomorrow = world.clock.now().astimezone(BERLIN).date() + timedelta(days=1)
    with pytest.raises(InvalidCommand) as refused:
        reconciler.reconcile(tomorrow, world.provider, CASH_OFFICE)
    assert refused.value.field == "date"


def test_a_town_not_ones_own_and_a_clerk_are_refused(world: PaymentWorld) -> None:
    reconciler = Reconciler(world.store, world.clock)
    with pytest.raises(InvalidCommand) as other_town:
        reconciler.reconcile(world.day, world.provider, CASH_OFFICE, towns=["schmitten"])
    assert other_town.value.field == "town"
    with pytest.raises(InvalidCommand) as clerk:
        reconciler.reconcile(world.day, world.provider, CLERKS["usingen"])
    assert clerk.value.field == "actor"


def test_an_unreachable_provider_records_nothing(world: PaymentWorld) -> None:
    down = SimulatorProvider("http://127.0.0.1:9", SECRET, timeout=0.5)  # discard: refused
    reconciler = Reconciler(world.store, world.clock)
    with pytest.raises(ProviderUnavailable):
        reconciler.reconcile(world.day, down, CASH_OFFICE)
    down.close()
    assert world.store.recorder.max_notification_id() in (None, 0)


def test_a_payment_of_another_day_belongs_to_that_day(world: PaymentWorld) -> None:
    today = world.request(world.receivable("30.00"))
    world.pay(today, "30.00")
    world.apply_callbacks(today)
    next_day = world.day + timedelta(days=1)
    moment = datetime.combine(next_day, dt_time(0, 30), tzinfo=BERLIN)  # 22:30 UTC the day before
    assert world.control.post("/_control/clock", json={"now": moment.isoformat()}).is_success
    later = world.request(world.receivable("40.00"))
    world.pay(later, "40.00")
    world.apply_callbacks(later)

    first = world.reconcile()
    reconciler = Reconciler(world.store, world.clock)
    [second] = reconciler.reconcile(next_day, world.provider, CASH_OFFICE)

    assert first.balanced
    assert second.balanced
    assert [r["provider_reference"] for r in first.matched] == [today.provider_reference]
    assert [r["provider_reference"] for r in second.matched] == [later.provider_reference]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shares=st.lists(st.integers(1, 5000), min_size=1, max_size=3),
    payments=st.lists(st.integers(1, 8000), min_size=1, max_size=4),
)
def test_any_payments_applied_balance_by_the_providers_own_rule(
    world: PaymentWorld, shares: list[int], payments: list[int]
) -> None:
    """Whatever the items and however the payer pays (in parts, too much), once every
    payment is applied (here by a poll) the day balances: the recorded rows follow the
    provider's settlement rule."""
    request = world.request(*(world.receivable(f"{cents / 100:.2f}") for cents in shares))
    owed = sum(shares)
    for cents in payments:
        if owed <= 0:
            break  # the provider takes no payment on a checkout paid in full
        world.pay(request, f"{cents / 100:.2f}", delivery="never")
        owed -= cents
    world.payments.poll(request.id)

    result = world.reconcile()

    assert result.balanced, (result.missing, result.unexpected)
    assert request.provider_reference in {r["provider_reference"] for r in result.matched}

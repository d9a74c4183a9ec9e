"""The provider simulator behaves as a real payment provider towards Vorgang, and its adapter
turns that into the ``PaymentProvider`` port: signed callbacks that arrive once, twice, late,
out of order or never (then the status poll tells), partial and over payments, refunds, the
settlement report, and ``ProviderUnavailable`` when the provider is down.

The simulator runs as its own process once for the module; a small receiver thread records
the callbacks. Tests decide by observed state: the simulator's delivery log says when nothing
is in flight any more.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx
import pytest

from application.payment_ports import (
    BadSignature,
    CheckoutOrder,
    ProviderEvent,
    ProviderEventKind,
    ProviderRefused,
    ProviderUnavailable,
    SettlementRow,
    StaleCallback,
)
from infrastructure.payments.signatures import new_secret
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.payments.simulator_provider import SimulatorProvider

SECRET = new_secret()
KZ_1 = "412-26-000123-01-4"
KZ_2 = "412-26-000123-02-2"
KZ_3 = "412-26-000124-01-1"
# At 10 ms each, a guard against a hang, not a measure: the worker's deliveries to a local receiver
SETTLED_STATE_POLLS = 6000


class Receiver:
    """A callback endpoint on a local port: records every request, answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: dict[str, deque[int]] = {}  # by provider reference ("": other requests)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.record(self, dict(self.headers.items()), body)

            def do_GET(self) -> None:
                receiver.record(self, dict(self.headers.items()), b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes) -> None:
        try:
            reference = str(json.loads(body).get("provider_reference", ""))
        except ValueError:
            reference = ""
        with self._lock:
            self.received.append((headers, body))
            queued = self.answers.get(reference)
            status = queued.popleft() if queued else 200
        handler.send_response(status)
        handler.send_header("content-length", "0")
        handler.end_headers()

    def callbacks_of(self, reference: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        """The callbacks received for one checkout, in order, with their parsed bodies."""
        return [(headers, json.loads(raw)) for headers, raw in self.raw_callbacks_of(reference)]

    def raw_callbacks_of(self, reference: str) -> list[tuple[dict[str, str], bytes]]:
        """The callbacks received for one checkout, in order, as they came."""
        with self._lock:
            received = list(self.received)
        return [
            (headers, raw)
            for headers, raw in received
            if raw and json.loads(raw).get("provider_reference") == reference
        ]


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


@pytest.fixture(scope="module")
def control(simulator_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator_url, timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def provider(simulator_url: str) -> Iterator[SimulatorProvider]:
    provider = SimulatorProvider(simulator_url, SECRET)
    yield provider
    provider.close()


@pytest.fixture(autouse=True)
def real_time_afterwards(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "control" in request.fixturenames:
        settled(request.getfixturevalue("control"))
        request.getfixturevalue("control").post("/_control/clock", json={"now": None})


def settled(control: httpx.Client) -> dict[str, Any]:
    """The delivery log once nothing is in flight any more."""
    for _ in range(SETTLED_STATE_POLLS):
        report: dict[str, Any] = control.get("/_control/deliveries").json()
        if report["in_flight"] == 0:
            return report
        time.sleep(0.01)
    raise AssertionError(f"callbacks still in flight: {report}")


def attempts_of(report: dict[str, Any], reference: str) -> list[tuple[str, int | None, str]]:
    return [
        (d["type"], d["status"], d["outcome"])
        for d in report["deliveries"]
        if d["provider_reference"] == reference
    ]


def checkout(
    provider: SimulatorProvider,
    amount: str = "12.50",
    kassenzeichen: tuple[str, ...] = (KZ_1,),
    item_amounts: tuple[str, ...] = (),
    return_url: str | None = None,
) -> str:
    order = CheckoutOrder(
        request_id=uuid4(),
        amount=Decimal(amount),
        currency="EUR",
        description="Sondernutzungserlaubnis Aufgrabung",
        kassenzeichen=kassenzeichen,
        return_url=return_url,
        item_amounts=tuple(Decimal(share) for share in item_amounts),
    )
    return provider.start_checkout(order).provider_reference


def pay(control: httpx.Client, reference: str, **fields: str) -> httpx.Response:
    return control.post(f"/checkout/{reference}/pay", json=fields)


def fail(control: httpx.Client, reference: str, **fields: str) -> httpx.Response:
    return control.post(f"/checkout/{reference}/fail", json=fields)


def test_a_paid_checkout_is_called_back_signed_and_the_adapter_reads_its_event(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver, simulator_url: str
) -> None:
    order = CheckoutOrder(uuid4(), Decimal("12.50"), "EUR", "Gebühr", (KZ_1,), None)
    started = provider.start_checkout(order)
    assert started.checkout_url == f"{simulator_url}/checkout/{started.provider_reference}"
    page = control.get(started.checkout_url)
    assert page.status_code == 200
    assert "12.50 EUR" in page.text
    assert KZ_1 in page.text
    assert "<input" in page.text
    assert 'name="amount"' in page.text
    assert page.text.count("<input") == 1  # the amount: no card number, no IBAN, nothing else
    assert pay(control, started.provider_reference).json()["status"] == "paid"
    report = settled(control)
    assert attempts_of(report, started.provider_reference) == [("payment.paid", 200, "delivered")]
    ((headers, raw),) = receiver.raw_callbacks_of(started.provider_reference)
    event = provider.verify_callback(headers, raw, datetime.now(UTC))
    assert event == ProviderEvent(
        event_id=headers["webhook-id"],
        provider_reference=started.provider_reference,
        kind=ProviderEventKind.PAID,
        amount=Decimal("12.50"),
        occurred_at=event.occurred_at,
    )
    assert event.event_id.startswith("evt_")
    assert provider.start_checkout(order) == started  # the same request again: the same one


def test_a_callback_with_another_body_secret_or_a_stale_timestamp_is_refused(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver, simulator_url: str
) -> None:
    reference = checkout(provider)
    pay(control, reference)
    settled(control)
    ((headers, raw),) = receiver.raw_callbacks_of(reference)
    now = datetime.now(UTC)
    provider.verify_callback(headers, raw, now)
    with pytest.raises(BadSignature, match="no signature"):
        provider.verify_callback(headers, raw.replace(b"12.50", b"1.00"), now)
    stranger = SimulatorProvider(simulator_url, new_secret())
    with pytest.raises(BadSignature, match="no signature"):
        stranger.verify_callback(headers, raw, now)
    stranger.close()
    for later in (timedelta(minutes=6), -timedelta(minutes=6)):
        with pytest.raises(StaleCallback):
            provider.verify_callback(headers, raw, now + later)


def test_twice_delivers_the_same_event_id_twice(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider)
    pay(control, reference, delivery="twice")
    settled(control)
    first, second = receiver.callbacks_of(reference)
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == first[1]["id"]
    assert first[1] == second[1]


def test_a_held_callback_arrives_only_when_released(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference, other = checkout(provider), checkout(provider)
    event_id = pay(control, reference, delivery="held").json()["event_id"]
    pay(control, other, delivery="held")
    report = settled(control)
    assert event_id in report["held"]
    assert receiver.callbacks_of(reference) == []
    released = control.post("/_control/held/release", json={"provider_reference": reference})
    assert released.json() == {"released": [event_id]}
    report = settled(control)
    assert [body["id"] for _, body in receiver.callbacks_of(reference)] == [event_id]
    assert receiver.callbacks_of(other) == []  # held still: only one checkout was released
    assert event_id not in report["held"]
    control.post("/_control/held/release", json={})
    settled(control)
    assert len(receiver.callbacks_of(other)) == 1


def test_out_of_order_delivers_the_payment_before_the_earlier_failure(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider)
    failed = fail(control, reference, delivery="held", reason="card declined").json()["event_id"]
    paid = pay(control, reference, delivery="out_of_order").json()["event_id"]
    report = settled(control)
    assert [(body["id"], body["type"]) for _, body in receiver.callbacks_of(reference)] == [
        (paid, "payment.paid"),
        (failed, "payment.failed"),
    ]
    assert receiver.callbacks_of(reference)[1][1]["reason"] == "card declined"
    assert failed not in report["held"]


def test_out_of_order_after_a_delivered_failure_delivers_that_failure_again_afterwards(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider)
    failed = fail(control, reference).json()["event_id"]
    settled(control)
    paid = pay(control, reference, delivery="out_of_order").json()["event_id"]
    settled(control)
    assert [body["id"] for _, body in receiver.callbacks_of(reference)] == [failed, paid, failed]


def test_never_delivers_nothing_and_the_status_poll_shows_the_payment(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider, "40.00")
    event_id = pay(control, reference, delivery="never").json()["event_id"]
    report = settled(control)
    assert receiver.callbacks_of(reference) == []
    assert attempts_of(report, reference) == []
    assert event_id in report["withheld"]
    (event,) = provider.status(reference).events
    assert (event.event_id, event.kind, event.amount) == (
        event_id,
        ProviderEventKind.PAID,
        Decimal("40.00"),
    )


def test_partial_and_over_payments_are_reported_with_the_amounts_paid(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider, "12.50")
    assert pay(control, reference, amount="5.00").json()["status"] == "partially_paid"
    assert pay(control, reference, amount="10.00").json()["status"] == "paid"
    refused = pay(control, reference, amount="1.00")
    assert refused.status_code == 409
    settled(control)
    assert [body["amount"] for _, body in receiver.callbacks_of(reference)] == ["5.00", "10.00"]
    assert [e.amount for e in provider.status(reference).events] == [
        Decimal("5.00"),
        Decimal("10.00"),
    ]
    assert control.get(f"/v1/payments/{reference}").json()["paid"] == "15.00"


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", "zwölf"])
def test_a_payment_of_no_positive_amount_in_cents_is_refused(
    provider: SimulatorProvider, control: httpx.Client, amount: str
) -> None:
    reference = checkout(provider)
    assert pay(control, reference, amount=amount).status_code == 422
    assert provider.status(reference).events == ()


def test_a_refund_is_called_back_once_per_refund_id_and_never_exceeds_the_payment(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    reference = checkout(provider, "30.00")
    pay(control, reference)
    refund = provider.refund(reference, Decimal("2.50"), "refund-1")
    assert provider.refund(reference, Decimal("2.50"), "refund-1") == refund
    with pytest.raises(ProviderRefused, match="exceeds"):
        provider.refund(reference, Decimal("27.51"), "refund-2")
    settled(control)
    kinds = [(body["type"], body["amount"]) for _, body in receiver.callbacks_of(reference)]
    assert kinds == [("payment.paid", "30.00"), ("payment.refunded", "2.50")]
    assert receiver.callbacks_of(reference)[1][1]["refund_id"] == "refund-1"
    assert provider.status(reference).events[-1].kind is ProviderEventKind.REFUNDED


def test_the_settlement_report_splits_each_days_payments_over_the_kassenzeichen_in_order(
    provider: SimulatorProvider, control: httpx.Client
) -> None:
    day = date(2030, 1, 15)
    control.post("/_control/clock", json={"now": "2030-01-15T09:00:00+00:00"})
    itemised = checkout(provider, "30.00", (KZ_1, KZ_2), ("10.00", "20.00"))
    pay(control, itemised, amount="15.00")  # KZ_1 10.00, KZ_2 5.00
    pay(control, itemised, amount="20.00")  # KZ_2 15.00 and 5.00 overpaid: to the last
    equal = checkout(provider, "10.00", (KZ_1, KZ_2, KZ_3))
    pay(control, equal)  # 3.34, 3.33, 3.33: the odd cent to the first
    unpaid = checkout(provider, "5.00", (KZ_3,))
    control.post("/_control/clock", json={"now": "2030-01-15T23:30:00+00:00"})  # Berlin: 16th
    late = checkout(provider, "7.00", (KZ_3,))
    assert pay(control, late).status_code == 200
    ours = {itemised, equal, unpaid, late}
    rows = {row for row in provider.settlement_report(day) if row.provider_reference in ours}
    assert rows == {
        SettlementRow(itemised, KZ_1, Decimal("10.00"), day),
        SettlementRow(itemised, KZ_2, Decimal("25.00"), day),
        SettlementRow(equal, KZ_1, Decimal("3.34"), day),
        SettlementRow(equal, KZ_2, Decimal("3.33"), day),
        SettlementRow(equal, KZ_3, Decimal("3.33"), day),
    }
    next_day = provider.settlement_report(date(2030, 1, 16))
    assert SettlementRow(late, KZ_3, Decimal("7.00"), date(2030, 1, 16)) in next_day
    csv_text = control.get("/v1/settlements/2030-01-16.csv").text
    assert csv_text.splitlines()[0] == "provider_reference,kassenzeichen,amount,day"
    assert f"{late},{KZ_3},7.00,2030-01-16" in csv_text.splitlines()


def test_item_amounts_must_add_up_to_the_checkouts_amount(provider: SimulatorProvider) -> None:
    with pytest.raises(ProviderRefused, match="add up"):
        checkout(provider, "30.00", (KZ_1, KZ_2), ("10.00", "10.00"))


def test_an_unpaid_checkout_expires_with_a_callback_and_takes_no_payment_then(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    opened = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
    control.post("/_control/clock", json={"now": opened.isoformat()})
    reference = checkout(provider)
    control.post("/_control/clock", json={"now": (opened + timedelta(minutes=29)).isoformat()})
    settled(control)
    assert receiver.callbacks_of(reference) == []
    control.post("/_control/clock", json={"now": (opened + timedelta(minutes=30)).isoformat()})
    settled(control)
    ((_, body),) = receiver.callbacks_of(reference)
    assert (body["type"], body["amount"]) == ("payment.expired", None)
    assert pay(control, reference).status_code == 409
    assert [e.kind for e in provider.status(reference).events] == [ProviderEventKind.EXPIRED]


def test_a_callback_answered_with_5xx_is_retried_and_a_4xx_is_not(
    provider: SimulatorProvider, control: httpx.Client, receiver: Receiver
) -> None:
    retried, refused, lost = checkout(provider), checkout(provider), checkout(provider)
    receiver.answers[retried] = deque([503, 500])
    receiver.answers[refused] = deque([401])
    receiver.answers[lost] = deque([500, 500, 500, 500])
    for reference in (retried, refused, lost):
        pay(control, reference)
    report = settled(control)
    assert attempts_of(report, retried) == [
        ("payment.paid", 503, "retrying"),
        ("payment.paid", 500, "retrying"),
        ("payment.paid", 200, "delivered"),
    ]
    assert attempts_of(report, refused) == [("payment.paid", 401, "refused")]
    assert [outcome for *_, outcome in attempts_of(report, lost)] == [
        "retrying",
        "retrying",
        "gave_up",
    ]


def test_a_form_payment_sends_the_payer_back_to_the_return_url(
    provider: SimulatorProvider, control: httpx.Client
) -> None:
    reference = checkout(provider, return_url="https://vorgang.example/zahlung?request=1")
    answer = control.post(
        f"/checkout/{reference}/pay", data={"amount": "12.50", "delivery": "normal"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"https://vorgang.example/zahlung?request=1&provider_reference={reference}&status=paid"
    )


def test_an_unknown_reference_is_refused_by_the_provider(provider: SimulatorProvider) -> None:
    with pytest.raises(ProviderRefused, match="no checkout"):
        provider.status("sim_unknown")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_adapter_reports_a_provider_that_is_down_or_failing_as_unavailable(
    receiver: Receiver,
) -> None:
    down = SimulatorProvider(f"http://127.0.0.1:{free_port()}", SECRET, timeout=2)
    order = CheckoutOrder(uuid4(), Decimal("1.00"), "EUR", "Gebühr", (KZ_1,), None)
    calls: list[Callable[[SimulatorProvider], object]] = [
        lambda p: p.start_checkout(order),
        lambda p: p.status("sim_x"),
        lambda p: p.refund("sim_x", Decimal("1.00"), "r"),
        lambda p: p.settlement_report(date(2030, 1, 1)),
    ]
    for call in calls:
        with pytest.raises(ProviderUnavailable, match="cannot be reached"):
            call(down)
    down.close()
    failing = SimulatorProvider(receiver.url.removesuffix("/callbacks"), SECRET)
    receiver.answers[""] = deque([503] * 3)  # checkout, status poll, settlement report
    receiver.answers["sim_x"] = deque([503])  # the refund names its payment
    for call in calls:
        with pytest.raises(ProviderUnavailable, match="failed \\(503\\)"):
            call(failing)
    failing.close()


def test_with_an_api_key_the_provider_answers_only_requests_that_carry_it(
    receiver: Receiver,
) -> None:
    with running_simulator(SECRET, receiver.url, options=("--api-key", "k-123")) as url:
        keyed = SimulatorProvider(url, SECRET, api_key="k-123")
        anonymous = SimulatorProvider(url, SECRET)
        reference = checkout(keyed)
        assert keyed.status(reference).events == ()
        with pytest.raises(ProviderRefused, match="API key"):
            anonymous.status(reference)
        keyed.close()
        anonymous.close()

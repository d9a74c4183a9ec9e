"""The payment provider simulator: a small HTTP service that behaves as a real provider does.

Vorgang opens a checkout (``POST /v1/checkouts``) and sends the payer to its page
(``GET /checkout/{ref}``); the payer pays (any amount: the whole, a part, more) or has the
attempt fail there; no card data is asked for, let alone sent anywhere. What happened reaches
Vorgang asynchronously as callbacks signed per Standard Webhooks (``signatures.py``), posted
by a worker thread that retries on connection errors and 5xx answers (bounded, with
backoff). Each payer action chooses how its callback travels, so tests can stage what real
providers do now and then:

- ``normal``: delivered once (retried until a 2xx or 4xx answer, at most ``--attempts``);
- ``twice``: the same event (same ``webhook-id``) delivered twice;
- ``held``: kept back until ``POST /_control/held/release`` (a late callback);
- ``out_of_order``: this event is delivered first, then the checkout's latest earlier
  ``payment.failed`` event (released from ``held``, or delivered again): Vorgang sees the
  failure after the payment;
- ``never``: recorded but never delivered: only the status poll (``GET /v1/payments/{ref}``)
  tells.

Refunds (``POST /v1/refunds``) and expiry (a checkout without money ``--checkout-minutes``
after it opened, checked whenever the simulator is asked anything) send callbacks too. The
settlement report (``GET /v1/settlements/{day}.csv``) itemises each payment by Kassenzeichen:
see ``settlement_rows``. Test controls live under ``/_control``: release held callbacks, list
deliveries (with the receiver's status codes and what is still in flight, so tests decide by
observed state), and set the simulator's clock (expiry and settlement days follow it; the
``webhook-timestamp`` of a delivery is always the real time, as the receiver's replay window
is about the transport, not the business day).

Everything lives in memory: a restart forgets every checkout, as a test service may.

Run: ``python -m infrastructure.payments.simulator --host 127.0.0.1 --port 8700
--secret whsec_... --callback-url http://127.0.0.1:8000/api/v1/payments/providers/simulator/callbacks``
"""

from __future__ import annotations

import argparse
import html
import json
import queue
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import httpx
import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from infrastructure.logging import configure_logging
from infrastructure.payments.signatures import decode_secret, signed_headers

log = structlog.get_logger(__name__)

CENT: Final = Decimal("0.01")
SETTLEMENT_ZONE: Final = ZoneInfo("Europe/Berlin")  # the provider settles by German banking days
SETTLEMENT_HEADER: Final = "provider_reference,kassenzeichen,amount,day"


class SimulatorError(Exception):
    """A request the simulator refuses; answered with ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Delivery(StrEnum):
    """How the callback of a payer action travels (see the module docstring)."""

    NORMAL = "normal"
    TWICE = "twice"
    HELD = "held"
    OUT_OF_ORDER = "out_of_order"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One event of a checkout, with the exact body its callbacks carry."""

    event_id: str
    type: str
    provider_reference: str
    amount: Decimal | None
    occurred_at: datetime
    body: bytes

    def as_json(self) -> dict[str, Any]:
        """The event as the status poll lists it (the same fields as the callback body)."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(slots=True)
class SimulatedCheckout:
    """A checkout at the provider: the order, its money and everything that happened."""

    reference: str
    request_id: str
    amount: Decimal
    currency: str
    description: str
    kassenzeichen: tuple[str, ...]
    shares: tuple[Decimal, ...]  # each Kassenzeichen's part of ``amount``
    return_url: str | None
    opened_at: datetime
    expires_at: datetime
    events: list[SimulatedEvent] = field(default_factory=list)
    paid: Decimal = Decimal("0.00")
    refunded: Decimal = Decimal("0.00")
    refunds: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # id → (ref, amount)
    expired: bool = False

    @property
    def outstanding(self) -> Decimal:
        """What is still to pay (never negative)."""
        return max(self.amount - self.paid, Decimal("0.00"))

    @property
    def status(self) -> str:
        """``open``, ``partially_paid``, ``paid`` or ``expired``."""
        if self.paid >= self.amount:
            return "paid"
        if self.paid > 0:
            return "partially_paid"
        return "expired" if self.expired else "open"


def parse_amount(value: object, what: str) -> Decimal:
    """A positive amount in euros with at most two decimals (``"12.50"``)."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SimulatorError(422, f"{what} is not an amount: {value!r}") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise SimulatorError(422, f"{what} must be positive with at most two decimals")
    return amount.quantize(CENT)


def equal_shares(amount: Decimal, parts: int) -> tuple[Decimal, ...]:
    """``amount`` in ``parts`` equal shares of whole cents; the first take the odd cents."""
    cents = int(amount / CENT)
    base, odd = divmod(cents, parts)
    return tuple((base + (1 if index < odd else 0)) * CENT for index in range(parts))


def allocate(paid_before: Decimal, payment: Decimal, shares: Sequence[Decimal]) -> list[Decimal]:
    """What of ``payment`` falls to each share, in order, each up to what is left of it after
    ``paid_before``; money beyond every share (an overpayment) falls to the last one."""
    parts: list[Decimal] = []
    before, left = paid_before, payment
    for share in shares:
        already = min(before, share)
        before -= already
        part = min(share - already, left)
        parts.append(part)
        left -= part
    parts[-1] += left
    return parts


class CallbackCourier:
    """Posts signed callbacks from a worker thread, in order, retrying 5xx and lost connections."""

    def __init__(
        self,
        callback_url: str,
        keys: Sequence[bytes],
        *,
        attempts: int = 5,
        first_retry_seconds: float = 0.2,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.callback_url = callback_url
        self._keys = tuple(keys)
        self._attempts = attempts
        self._first_retry = first_retry_seconds
        self._client = httpx.Client(timeout=timeout_seconds)
        self._queue: queue.Queue[SimulatedEvent | None] = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._records: list[dict[str, Any]] = []
        self._held: list[SimulatedEvent] = []
        self._withheld: list[SimulatedEvent] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="callback-courier", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current attempt; undelivered callbacks are dropped (memory only)."""
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._client.close()

    def send(
        self, event: SimulatedEvent, delivery: Delivery, *, after: Iterable[SimulatedEvent] = ()
    ) -> None:
        """Deliver (or keep back) ``event`` as ``delivery`` says; ``after`` follows it."""
        with self._lock:
            match delivery:
                case Delivery.HELD:
                    self._held.append(event)
                case Delivery.NEVER:
                    self._withheld.append(event)
                case Delivery.TWICE:
                    self._enqueue([event, event])
                case Delivery.OUT_OF_ORDER:
                    late = list(after)
                    self._held = [held for held in self._held if held not in late]
                    self._enqueue([event, *late])
                case Delivery.NORMAL:
                    self._enqueue([event])

    def release(self, provider_reference: str | None = None) -> list[str]:
        """Deliver the held callbacks now (of one checkout, or all), oldest first; their ids."""
        with self._lock:
            released = [
                event
                for event in self._held
                if provider_reference in (None, event.provider_reference)
            ]
            self._held = [event for event in self._held if event not in released]
            self._enqueue(released)
        return [event.event_id for event in released]

    def report(self) -> dict[str, Any]:
        """Every delivery attempt so far, what is in flight, held and never to be delivered."""
        with self._lock:
            return {
                "deliveries": [dict(record) for record in self._records],
                "in_flight": self._in_flight,
                "held": [event.event_id for event in self._held],
                "withheld": [event.event_id for event in self._withheld],
            }

    def _enqueue(self, events: Sequence[SimulatedEvent]) -> None:
        self._in_flight += len(events)
        for event in events:
            self._queue.put(event)

    def _work(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._deliver(event)
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _deliver(self, event: SimulatedEvent) -> None:
        for attempt in range(1, self._attempts + 1):
            status, error = self._post(event)
            final = (status is not None and status < 500) or attempt == self._attempts
            outcome = (
                "delivered"
                if status is not None and 200 <= status < 300
                else "refused"
                if status is not None and status < 500
                else "gave_up"
                if final
                else "retrying"
            )
            log.info(
                "payment_simulator.callback",
                event_id=event.event_id,
                type=event.type,
                provider_reference=event.provider_reference,
                attempt=attempt,
                status=status,
                outcome=outcome,
            )
            with self._lock:
                self._records.append(
                    {
                        "event_id": event.event_id,
                        "type": event.type,
                        "provider_reference": event.provider_reference,
                        "attempt": attempt,
                        "status": status,
                        "error": error,
                        "outcome": outcome,
                    }
                )
            if final or self._stopping.wait(self._first_retry * 2 ** (attempt - 1)):
                return

    def _post(self, event: SimulatedEvent) -> tuple[int | None, str | None]:
        # The signature's timestamp is the real time of this attempt, whatever the
        # simulator's clock says: the receiver's replay window is about the transport.
        headers = signed_headers(self._keys, event.event_id, int(time.time()), event.body)
        headers["content-type"] = "application/json"
        try:
            answer = self._client.post(self.callback_url, content=event.body, headers=headers)
        except httpx.HTTPError as error:
            return None, type(error).__name__
        return answer.status_code, None


class PaymentSimulator:
    """The provider's books: checkouts, payer actions, refunds, settlement; one lock for all."""

    def __init__(
        self,
        courier: CallbackCourier,
        *,
        public_url: str,
        checkout_minutes: int = 30,
    ) -> None:
        self.courier = courier
        self.public_url = public_url.rstrip("/")
        self.checkout_time = timedelta(minutes=checkout_minutes)
        self._lock = threading.RLock()
        self._checkouts: dict[str, SimulatedCheckout] = {}
        self._by_request: dict[str, str] = {}
        self._refunds: dict[str, str] = {}  # refund id → provider reference
        self._fixed_now: datetime | None = None

    # -- the clock -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulator's time: the real time unless a test set it."""
        with self._lock:
            return self._fixed_now or datetime.now(UTC)

    def set_clock(self, moment: datetime | None) -> datetime:
        """Fix the simulator's time (``None``: back to the real time); expiry follows at once."""
        if moment is not None and moment.tzinfo is None:
            raise SimulatorError(422, "the clock needs a time with its offset")
        with self._lock:
            self._fixed_now = moment
            self._expire_due()
            return self.now()

    # -- checkouts -----------------------------------------------------------------------

    def open_checkout(self, order: dict[str, Any]) -> SimulatedCheckout:
        """A checkout for the order; the same ``request_id`` again gives the same checkout."""
        request_id = str(order.get("request_id") or "").strip()
        if not request_id:
            raise SimulatorError(422, "request_id is required")
        amount = parse_amount(order.get("amount"), "amount")
        if order.get("currency", "EUR") != "EUR":
            raise SimulatorError(422, "this provider collects EUR only")
        kassenzeichen = order.get("kassenzeichen")
        if (
            not isinstance(kassenzeichen, list)
            or not kassenzeichen
            or not all(isinstance(kz, str) and kz for kz in kassenzeichen)
        ):
            raise SimulatorError(422, "kassenzeichen is a non-empty list of texts")
        if len(set(kassenzeichen)) != len(kassenzeichen):
            raise SimulatorError(422, "a Kassenzeichen appears twice")
        shares = self._shares(amount, kassenzeichen, order.get("item_amounts"))
        return_url = order.get("return_url") or None
        with self._lock:
            self._expire_due()
            known = self._by_request.get(request_id)
            if known is not None:
                checkout = self._checkouts[known]
                if checkout.amount != amount or checkout.kassenzeichen != tuple(kassenzeichen):
                    raise SimulatorError(409, "request_id was used for another order")
                return checkout
            now = self.now()
            checkout = SimulatedCheckout(
                reference=f"sim_{secrets.token_hex(10)}",
                request_id=request_id,
                amount=amount,
                currency="EUR",
                description=str(order.get("description") or ""),
                kassenzeichen=tuple(kassenzeichen),
                shares=shares,
                return_url=str(return_url) if return_url else None,
                opened_at=now,
                expires_at=now + self.checkout_time,
            )
            self._checkouts[checkout.reference] = checkout
            self._by_request[request_id] = checkout.reference
        log.info("payment_simulator.checkout_opened", provider_reference=checkout.reference)
        return checkout

    def checkout_url(self, checkout: SimulatedCheckout) -> str:
        """The page the payer is sent to."""
        return f"{self.public_url}/checkout/{checkout.reference}"

    def checkout(self, reference: str) -> SimulatedCheckout:
        """The checkout with this reference, expiry applied; 404 if there is none."""
        with self._lock:
            self._expire_due()
            try:
                return self._checkouts[reference]
            except KeyError:
                raise SimulatorError(404, f"no checkout {reference!r}") from None

    # -- payer actions -------------------------------------------------------------------

    def pay(self, reference: str, amount: object, delivery: Delivery) -> SimulatedEvent:
        """The payer pays ``amount`` (empty: what is outstanding); a ``payment.paid`` event."""
        with self._lock:
            checkout = self.checkout(reference)
            if checkout.expired:
                raise SimulatorError(409, "the checkout has expired")
            if checkout.outstanding == 0:
                raise SimulatorError(409, "the checkout is paid")
            paid = (
                checkout.outstanding
                if amount is None or str(amount).strip() == ""
                else parse_amount(amount, "amount")
            )
            event = self._record(checkout, "payment.paid", paid)
            checkout.paid += paid
            failures = [e for e in checkout.events if e.type == "payment.failed"][-1:]
            self.courier.send(event, delivery, after=failures)
            return event

    def fail(self, reference: str, reason: str | None, delivery: Delivery) -> SimulatedEvent:
        """The payer's attempt is declined; a ``payment.failed`` event (they may try again)."""
        with self._lock:
            checkout = self.checkout(reference)
            if checkout.expired or checkout.outstanding == 0:
                raise SimulatorError(409, f"the checkout is {checkout.status}")
            event = self._record(checkout, "payment.failed", None, reason=reason or "declined")
            self.courier.send(event, delivery)
            return event

    # -- refunds and settlement ------------------------------------------------------------

    def refund(self, reference: str, amount: object, refund_id: str) -> str:
        """Pay back ``amount`` of what was paid; the refund reference (the same for the same
        ``refund_id``); a ``payment.refunded`` event."""
        if not refund_id:
            raise SimulatorError(422, "refund_id is required")
        refunded = parse_amount(amount, "amount")
        with self._lock:
            checkout = self.checkout(reference)
            if refund_id in self._refunds:
                if self._refunds[refund_id] != reference:
                    raise SimulatorError(409, "refund_id was used for another payment")
                known, known_amount = checkout.refunds[refund_id]
                if known_amount != refunded:
                    raise SimulatorError(409, "refund_id was used for another amount")
                return known
            if refunded > checkout.paid - checkout.refunded:
                raise SimulatorError(422, "the refund exceeds what was paid and not refunded")
            refund_reference = f"rf_{secrets.token_hex(8)}"
            event = self._record(
                checkout,
                "payment.refunded",
                refunded,
                refund_id=refund_id,
                refund_reference=refund_reference,
            )
            checkout.refunded += refunded
            checkout.refunds[refund_id] = (refund_reference, refunded)
            self._refunds[refund_id] = reference
            self.courier.send(event, Delivery.NORMAL)
            return refund_reference

    def settlement_rows(self, day: date) -> list[tuple[str, str, Decimal, date]]:
        """What was settled on ``day`` (in Europe/Berlin): for each checkout, each
        Kassenzeichen's share of the payments received that day, one row per Kassenzeichen.

        Each payment is split over the checkout's Kassenzeichen in order, each taking up to its
        share (``item_amounts`` of the order, or equal shares in whole cents with the odd cents
        to the first) less what earlier payments gave it; an overpayment falls to the last
        Kassenzeichen. Refunds are not part of the report.
        """
        rows: list[tuple[str, str, Decimal, date]] = []
        with self._lock:
            self._expire_due()
            for checkout in self._checkouts.values():
                that_day = dict.fromkeys(checkout.kassenzeichen, Decimal("0.00"))
                before = Decimal("0.00")
                for event in checkout.events:
                    if event.type != "payment.paid" or event.amount is None:
                        continue
                    parts = allocate(before, event.amount, checkout.shares)
                    before += event.amount
                    if event.occurred_at.astimezone(SETTLEMENT_ZONE).date() == day:
                        for kz, part in zip(checkout.kassenzeichen, parts, strict=True):
                            that_day[kz] += part
                rows.extend(
                    (checkout.reference, kz, amount, day)
                    for kz, amount in that_day.items()
                    if amount > 0
                )
        return rows

    # -- inside ----------------------------------------------------------------------------

    @staticmethod
    def _shares(amount: Decimal, kassenzeichen: list[str], given: object) -> tuple[Decimal, ...]:
        if given is None or given == []:
            return equal_shares(amount, len(kassenzeichen))
        if not isinstance(given, list) or len(given) != len(kassenzeichen):
            raise SimulatorError(422, "item_amounts has one amount per Kassenzeichen")
        shares = tuple(parse_amount(share, "item_amounts") for share in given)
        if sum(shares) != amount:
            raise SimulatorError(422, "item_amounts add up to another amount")
        return shares

    def _record(
        self,
        checkout: SimulatedCheckout,
        kind: str,
        amount: Decimal | None,
        *,
        reason: str | None = None,
        **extra: str,
    ) -> SimulatedEvent:
        event_id = f"evt_{secrets.token_hex(12)}"
        occurred_at = self.now()
        content: dict[str, Any] = {
            "id": event_id,
            "type": kind,
            "provider_reference": checkout.reference,
            "amount": None if amount is None else f"{amount:.2f}",
            "occurred_at": occurred_at.isoformat(),
        }
        if reason is not None:
            content["reason"] = reason
        content.update(extra)
        event = SimulatedEvent(
            event_id=event_id,
            type=kind,
            provider_reference=checkout.reference,
            amount=amount,
            occurred_at=occurred_at,
            body=json.dumps(content, separators=(",", ":")).encode(),
        )
        checkout.events.append(event)
        return event

    def _expire_due(self) -> None:
        now = self.now()
        for checkout in self._checkouts.values():
            if not checkout.expired and checkout.paid == 0 and now >= checkout.expires_at:
                checkout.expired = True
                event = self._record(checkout, "payment.expired", None, reason="not paid in time")
                self.courier.send(event, Delivery.NORMAL)


# -- HTTP --------------------------------------------------------------------------------


async def _fields(request: Request) -> tuple[dict[str, Any], bool]:
    """The request's fields and whether they came from an HTML form."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    # A form unless the body is plainly JSON (``curl -d '{...}'`` labels JSON as a form).
    if kind.startswith("application/x-www-form-urlencoded") and not raw.lstrip().startswith(b"{"):
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        return {name: values[-1] for name, values in parsed.items()}, True
    if not raw.strip():
        return {}, False
    try:
        content = json.loads(raw)
    except ValueError:
        raise SimulatorError(422, "the body is neither JSON nor a form") from None
    if not isinstance(content, dict):
        raise SimulatorError(422, "the body is a JSON object")
    return content, False


def _delivery(fields: dict[str, Any]) -> Delivery:
    try:
        return Delivery(fields.get("delivery") or Delivery.NORMAL)
    except ValueError:
        known = ", ".join(mode.value for mode in Delivery)
        raise SimulatorError(422, f"delivery is one of {known}") from None


def create_app(simulator: PaymentSimulator, *, api_key: str | None = None) -> FastAPI:
    """The simulator's HTTP interface (not part of Vorgang's API)."""
    app = FastAPI(title="Payment provider simulator", docs_url=None, redoc_url=None)

    @app.exception_handler(SimulatorError)
    async def refused(_request: Request, error: SimulatorError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.middleware("http")
    async def bearer(request: Request, call_next: Any) -> Response:
        if api_key and request.url.path.startswith("/v1/"):
            offered = request.headers.get("authorization", "")
            if not secrets.compare_digest(offered.encode(), f"Bearer {api_key}".encode()):
                return JSONResponse({"error": "a valid API key is required"}, status_code=401)
        response: Response = await call_next(request)
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The simulator answers."""
        return {"status": "ok"}

    @app.post("/v1/checkouts", status_code=201)
    async def open_checkout(request: Request) -> dict[str, str]:
        """Open a checkout for an order (idempotent by request_id)."""
        fields, _ = await _fields(request)
        checkout = simulator.open_checkout(fields)
        return {
            "provider_reference": checkout.reference,
            "checkout_url": simulator.checkout_url(checkout),
        }

    @app.get("/v1/payments/{reference}")
    def payment(reference: str) -> dict[str, Any]:
        """The status poll: the checkout's state and every event so far."""
        checkout = simulator.checkout(reference)
        return {
            "provider_reference": checkout.reference,
            "status": checkout.status,
            "amount": f"{checkout.amount:.2f}",
            "paid": f"{checkout.paid:.2f}",
            "refunded": f"{checkout.refunded:.2f}",
            "events": [event.as_json() for event in checkout.events],
        }

    @app.post("/v1/refunds", status_code=201)
    async def refund(request: Request) -> dict[str, str]:
        """Pay back (part of) a payment."""
        fields, _ = await _fields(request)
        reference = simulator.refund(
            str(fields.get("provider_reference") or ""),
            fields.get("amount"),
            str(fields.get("refund_id") or ""),
        )
        return {"refund_reference": reference}

    @app.get("/v1/settlements/{day}.csv", response_class=PlainTextResponse)
    def settlement(day: str) -> PlainTextResponse:
        """The settlement report of one day."""
        try:
            settled_on = date.fromisoformat(day)
        except ValueError:
            raise SimulatorError(422, "the day is YYYY-MM-DD") from None
        lines = [SETTLEMENT_HEADER] + [
            f"{reference},{kz},{amount:.2f},{on.isoformat()}"
            for reference, kz, amount, on in simulator.settlement_rows(settled_on)
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/csv")

    @app.get("/checkout/{reference}", response_class=HTMLResponse)
    def checkout_page(reference: str) -> HTMLResponse:
        """The payer's page: what is to pay, and buttons to pay or to have it declined."""
        return HTMLResponse(_page(simulator.checkout(reference)))

    @app.post("/checkout/{reference}/pay", response_model=None)
    async def pay(reference: str, request: Request) -> Response:
        """The payer pays (the outstanding amount unless another is given)."""
        fields, form = await _fields(request)
        event = simulator.pay(reference, fields.get("amount"), _delivery(fields))
        return _answer(simulator.checkout(reference), event, form)

    @app.post("/checkout/{reference}/fail", response_model=None)
    async def fail(reference: str, request: Request) -> Response:
        """The payer's attempt is declined."""
        fields, form = await _fields(request)
        reason = fields.get("reason")
        event = simulator.fail(reference, str(reason) if reason else None, _delivery(fields))
        return _answer(simulator.checkout(reference), event, form)

    @app.post("/_control/held/release")
    async def release(request: Request) -> dict[str, list[str]]:
        """Deliver held callbacks now (of one checkout with provider_reference, or all)."""
        fields, _ = await _fields(request)
        reference = fields.get("provider_reference")
        return {"released": simulator.courier.release(str(reference) if reference else None)}

    @app.get("/_control/deliveries")
    def deliveries() -> dict[str, Any]:
        """Every delivery attempt with the receiver's status, and what is in flight or held."""
        return simulator.courier.report()

    @app.post("/_control/clock")
    async def clock(request: Request) -> dict[str, str]:
        """Set the simulator's clock ({"now": ISO time with offset, or null for real time})."""
        fields, _ = await _fields(request)
        value = fields.get("now")
        try:
            moment = datetime.fromisoformat(str(value)) if value else None
        except ValueError:
            raise SimulatorError(422, "now is an ISO time with offset") from None
        return {"now": simulator.set_clock(moment).isoformat()}

    return app


def _answer(checkout: SimulatedCheckout, event: SimulatedEvent, form: bool) -> Response:
    if not form:
        return JSONResponse({"event_id": event.event_id, "status": checkout.status})
    if checkout.return_url:
        query = urlencode({"provider_reference": checkout.reference, "status": checkout.status})
        joiner = "&" if "?" in checkout.return_url else "?"
        return RedirectResponse(f"{checkout.return_url}{joiner}{query}", status_code=303)
    return HTMLResponse(_page(checkout))


def _page(checkout: SimulatedCheckout) -> str:
    e = html.escape
    ref = e(checkout.reference)
    items = "".join(
        f"<li>{e(kz)}: {share:.2f} EUR</li>"
        for kz, share in zip(checkout.kassenzeichen, checkout.shares, strict=True)
    )
    modes = "".join(f'<option value="{mode.value}">{mode.value}</option>' for mode in Delivery)
    actions = (
        f"""<form method="post" action="/checkout/{ref}/pay">
  <label>Betrag (EUR) <input name="amount" value="{checkout.outstanding:.2f}"></label>
  <label>Zustellung der Rückmeldung (Simulator) <select name="delivery">{modes}</select></label>
  <button type="submit">Bezahlen</button>
  <button type="submit" formaction="/checkout/{ref}/fail">Zahlung ablehnen lassen</button>
</form>"""
        if checkout.status in {"open", "partially_paid"}
        else ""
    )
    return f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Bezahlen - Simulator</title></head>
<body>
<h1>Bezahlen</h1>
<p>Zahlungsdienst-Simulator: hier werden keine Karten- oder Kontodaten erfragt.</p>
<p>{e(checkout.description)}</p>
<p>Betrag: <strong>{checkout.amount:.2f} EUR</strong> · bezahlt: {checkout.paid:.2f} EUR
· Status: <strong id="status">{e(checkout.status)}</strong></p>
<ul>{items}</ul>
{actions}
</body></html>"""


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulator until stopped (SIGTERM or Ctrl-C)."""
    parser = argparse.ArgumentParser(description="A payment provider simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--fd", type=int, help="serve on this inherited, listening socket")
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        help="whsec_… shared with the receiver; give it twice while rotating (signed with both)",
    )
    parser.add_argument("--callback-url", required=True, help="where callbacks are posted")
    parser.add_argument("--public-url", help="the simulator's URL as payers reach it")
    parser.add_argument("--api-key", help="require 'Authorization: Bearer <key>' on /v1/")
    parser.add_argument("--checkout-minutes", type=int, default=30, help="until unpaid expires")
    parser.add_argument("--attempts", type=int, default=5, help="deliveries of one callback")
    parser.add_argument("--retry-seconds", type=float, default=0.2, help="first backoff, doubling")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(level=args.log_level)
    try:
        keys = [decode_secret(secret) for secret in args.secret]
    except ValueError as error:
        parser.error(str(error))
    sockets: list[socket.socket] | None = None
    host, port = args.host, args.port
    if args.fd is not None:
        listening = socket.socket(fileno=args.fd)
        host, port = listening.getsockname()[:2]
        sockets = [listening]
    courier = CallbackCourier(
        args.callback_url, keys, attempts=args.attempts, first_retry_seconds=args.retry_seconds
    )
    simulator = PaymentSimulator(
        courier,
        public_url=args.public_url or f"http://{host}:{port}",
        checkout_minutes=args.checkout_minutes,
    )
    app = create_app(simulator, api_key=args.api_key)
    courier.start()
    log.info("payment_simulator.started", url=simulator.public_url)
    try:
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        server.run(sockets=sockets)
    finally:
        courier.stop()


if __name__ == "__main__":
    main()

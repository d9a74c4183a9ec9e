"""Any sequence of provider events and staff commands keeps a payment request's money right.

A hypothesis state machine opens the checkout, delivers payments and failures with event ids
drawn from a small pool (so the same callback arrives twice, late, after a failure, after
expiry or cancellation), lets the request expire, cancels it, and asks for, approves, rejects
and pays out refunds as the asker, another member of the cash office, a clerk or a
supervisor. After every step: an event id counts once, no amount is negative, every euro paid
is allocated to an item (never beyond its amount) or recorded as overpaid, refunds under way
or paid never exceed what was paid, nobody approved a refund they asked for, a refused
command changed nothing, and the request rebuilt from its events equals it.

Besides the machine: the same provider events delivered in any order (duplicates and
failures among them) leave the same money, allocation and status.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.actor import ActorRecord
from domain.errors import DomainError
from domain.payments.payment_request import PaymentRequest
from tests.domain.test_payment_request import (
    AT,
    CASH,
    CLERK,
    CONTRACTOR,
    EXPIRES,
    OTHER_CASH,
    SUPERVISOR,
    requested,
)

ZERO = Decimal("0.00")
cents = st.integers(min_value=-100, max_value=20_000).map(lambda c: Decimal(c) / 100)
event_ids = st.sampled_from([f"evt_{n}" for n in range(8)])
staff = st.sampled_from([CASH, OTHER_CASH, CLERK, SUPERVISOR])


class PaymentRequestMachine(RuleBasedStateMachine):
    """One request for 150 EUR over two receivables, any provider events and staff commands."""

    def __init__(self) -> None:
        super().__init__()
        self.now = AT
        self.request = requested()
        self.history: list[Any] = list(self.request.collect_events())
        self.first_amount: dict[str, Decimal] = {}  # what each event id brought, first time
        self.n = 0

    def attempt(self, command: Any) -> Any:
        before = self.request.version
        try:
            return command()
        except DomainError:
            assert self.request.version == before, "a refused command changed the request"
            assert not self.request.pending_events
            return None
        finally:
            self.history.extend(self.request.collect_events())

    def events_of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.history if isinstance(e, kind)]

    # ------------------------------------------------------------------ provider

    @rule(minutes=st.sampled_from([1, 10, 30, 61]))
    def later(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def checkout(self) -> None:
        self.attempt(
            lambda: self.request.checkout_started(
                provider="simulator",
                provider_reference="sim_1",
                checkout_url="http://127.0.0.1/checkout/sim_1",
                at=self.now,
            )
        )

    @rule(event_id=event_ids, amount=cents)
    def payment(self, event_id: str, amount: Decimal) -> None:
        known = self.request.has_event(event_id)
        allocations = self.attempt(
            lambda: self.request.record_payment(
                event_id=event_id, amount=amount, paid_at=self.now, at=self.now
            )
        )
        if known:
            assert allocations == ()
        elif allocations is not None:
            self.first_amount[event_id] = amount

    @rule(event_id=event_ids)
    def failure(self, event_id: str) -> None:
        had_money = self.request.paid_total > ZERO
        if self.attempt(
            lambda: self.request.record_failure(event_id=event_id, reason="declined", at=self.now)
        ):
            assert not had_money

    @rule()
    def expire(self) -> None:
        if self.now >= EXPIRES:
            self.attempt(lambda: self.request.expire(at=self.now))

    @rule(actor=st.sampled_from([CONTRACTOR, CLERK]))
    def cancel(self, actor: ActorRecord) -> None:
        self.attempt(lambda: self.request.cancel(actor=actor, at=self.now, reason="called_off"))

    # ------------------------------------------------------------------ refunds

    @rule(actor=staff, part=st.sampled_from([Decimal("1"), Decimal("0.3"), Decimal("1.5")]))
    def ask_refund(self, actor: ActorRecord, part: Decimal) -> None:
        self.n += 1
        amount = max((self.request.refundable * part).quantize(Decimal("0.01")), Decimal("0.01"))
        self.attempt(
            lambda: self.request.request_refund(
                refund=f"ref-{self.n}",
                amount=amount,
                reason="fee reduced",
                actor=actor,
                at=self.now,
            )
        )

    @precondition(lambda self: bool(self.request.refunds))
    @rule(index=st.integers(min_value=0, max_value=20), actor=staff)
    def approve(self, index: int, actor: ActorRecord) -> None:
        refund = list(self.request.refunds)[index % len(self.request.refunds)]
        self.attempt(lambda: self.request.approve_refund(refund=refund, actor=actor, at=self.now))

    @precondition(lambda self: bool(self.request.refunds))
    @rule(index=st.integers(min_value=0, max_value=20), actor=staff)
    def reject(self, index: int, actor: ActorRecord) -> None:
        refund = list(self.request.refunds)[index % len(self.request.refunds)]
        self.attempt(
            lambda: self.request.reject_refund(
                refund=refund, actor=actor, at=self.now, reason="fee stands"
            )
        )

    @precondition(lambda self: bool(self.request.refunds))
    @rule(index=st.integers(min_value=0, max_value=20))
    def refund_paid(self, index: int) -> None:
        refund = list(self.request.refunds)[index % len(self.request.refunds)]
        self.attempt(
            lambda: self.request.record_refund_paid(
                refund=refund, provider_refund_reference=f"re_{refund}", at=self.now
            )
        )

    # ------------------------------------------------------------------ invariants

    @invariant()
    def an_event_id_counts_once(self) -> None:
        received = self.events_of(PaymentRequest.PaymentReceived)
        failed = self.events_of(PaymentRequest.PaymentFailed)
        ids = [e.event_id for e in received + failed]
        assert len(ids) == len(set(ids))
        assert self.request.paid_total == sum(self.first_amount.values(), ZERO)

    @invariant()
    def no_money_is_lost(self) -> None:
        r = self.request
        received = self.events_of(PaymentRequest.PaymentReceived)
        allocated = sum((a.amount for e in received for a in e.allocations), ZERO)
        assert r.paid_total == allocated + r.overpaid
        for item in r.items:
            assert ZERO <= r.allocated[item.kassenzeichen] <= item.amount
        if r.status == "paid":
            assert r.paid_total >= r.total
        elif r.status != "cancelled":
            assert r.paid_total < r.total

    @invariant()
    def amounts_are_never_negative(self) -> None:
        r = self.request
        assert min(r.paid_total, r.overpaid, r.refunded, r.refunds_pending) >= ZERO
        assert min(r.refundable, r.refund_due) >= ZERO
        for e in self.events_of(PaymentRequest.PaymentReceived):
            assert e.amount > ZERO
            assert e.overpaid >= ZERO
            assert all(a.amount > ZERO for a in e.allocations)

    @invariant()
    def refunds_never_exceed_what_was_paid(self) -> None:
        r = self.request
        approved_or_paid = sum(
            (f.amount for f in r.refunds.values() if f.status in ("approved", "paid")), ZERO
        )
        assert approved_or_paid <= r.paid_total
        assert r.refunded + r.refunds_pending <= r.paid_total

    @invariant()
    def nobody_approves_their_own_refund(self) -> None:
        asked = {e.refund: e.actor.id for e in self.events_of(PaymentRequest.RefundRequested)}
        for e in self.events_of(PaymentRequest.RefundApproved):
            assert e.actor.id != asked[e.refund]
        paid = {e.refund for e in self.events_of(PaymentRequest.RefundPaid)}
        approved = {e.refund for e in self.events_of(PaymentRequest.RefundApproved)}
        assert paid <= approved

    @invariant()
    def it_replays_from_its_events(self) -> None:
        rebuilt: PaymentRequest | None = None
        for e in self.history:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None
        assert rebuilt.__dict__ == self.request.__dict__


PaymentRequestMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPaymentRequestMachine = PaymentRequestMachine.TestCase


provider_events = st.lists(
    st.tuples(
        st.sampled_from(["paid", "failed"]),
        st.sampled_from([f"evt_{n}" for n in range(5)]),
        st.integers(min_value=1, max_value=12_000).map(lambda c: Decimal(c) / 100),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda e: e[1],
)


def delivered(events: list[tuple[str, str, Decimal]]) -> PaymentRequest:
    request = requested()
    for kind, event_id, amount in events:
        if kind == "paid":
            request.record_payment(event_id=event_id, amount=amount, paid_at=AT, at=AT)
        else:
            request.record_failure(event_id=event_id, reason="declined", at=AT)
    return request


@settings(max_examples=200, deadline=None)
@given(events=provider_events, order=st.randoms(use_true_random=False), twice=st.booleans())
def test_provider_events_in_any_order_leave_the_same_money(
    events: list[tuple[str, str, Decimal]], order: Any, twice: bool
) -> None:
    shuffled = list(events)
    order.shuffle(shuffled)
    if twice:  # every callback delivered a second time, late
        shuffled += list(events)
    paid = [e for e in events if e[0] == "paid"]
    as_sent = delivered(paid)  # the payments alone, in the order sent
    late = delivered(shuffled)
    assert late.paid_total == as_sent.paid_total == sum((e[2] for e in paid), ZERO)
    assert late.allocated == as_sent.allocated
    assert late.overpaid == as_sent.overpaid
    assert late.status == (as_sent.status if paid else "failed")

"""Any sequence of payments, cancellation and refunds keeps a receivable's books right.

A hypothesis state machine pays a receivable through the provider, the counter and bank
transfer (now and then with a payment id used before, by the ordering clerk, or by someone
outside the cash office), cancels it, refunds credit (sometimes more than is due) and sets
its due date. After every step: no amount is negative, the receivable was settled at most
once, refunds never exceed payments, ``paid``, ``refunded``, ``outstanding`` and ``credit``
agree with the sum of its events, a refused command changed nothing, and the receivable
rebuilt from its events equals it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.actor import ActorRecord
from domain.errors import DomainError
from domain.payments.receivable import Receivable
from tests.domain.test_receivable import AT, CASH, CLERK, REQUEST_ID, SYSTEM, opened

ZERO = Decimal("0.00")
cents = st.integers(min_value=-100, max_value=30_000).map(lambda c: Decimal(c) / 100)
channels = st.sampled_from(["provider", "counter", "bank_transfer"])
recorders = st.sampled_from([CASH, CASH, CASH, CLERK, SYSTEM])


class ReceivableMachine(RuleBasedStateMachine):
    """One receivable of 150 EUR, any payments, cancellation and refunds."""

    def __init__(self) -> None:
        super().__init__()
        self.now = AT
        self.receivable = opened("150.00")
        self.history: list[Any] = list(self.receivable.collect_events())
        self.n = 0

    def attempt(self, command: Any) -> Any:
        before = self.receivable.version
        try:
            return command()
        except DomainError:
            assert self.receivable.version == before, "a refused command changed the receivable"
            assert not self.receivable.pending_events
            return None
        finally:
            self.history.extend(self.receivable.collect_events())

    @rule(minutes=st.sampled_from([1, 60, 1440]))
    def later(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(amount=cents, channel=channels, recorder=recorders, reuse=st.booleans())
    def pay(self, amount: Decimal, channel: str, recorder: ActorRecord, reuse: bool) -> None:
        if not reuse or not self.n:
            self.n += 1
        payment = f"pay-{self.n}"
        known = self.receivable.has_payment(payment)
        outstanding = self.receivable.outstanding
        applied = self.attempt(
            lambda: self.receivable.apply_payment(
                payment=payment,
                amount=amount,
                received_on=date(2026, 3, 2),
                channel=channel,
                recorded_by=recorder if channel != "provider" else SYSTEM,
                at=self.now,
                request_id=REQUEST_ID if channel == "provider" else None,
            )
        )
        if known or amount <= 0:
            assert applied is None
        if applied is not None:
            assert applied == min(amount, outstanding)

    @rule()
    def cancel(self) -> None:
        self.attempt(
            lambda: self.receivable.cancel(actor=SYSTEM, at=self.now, reason="case_withdrawn")
        )

    @rule(part=st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("1.01")]))
    def refund(self, part: Decimal) -> None:
        self.n += 1
        due = self.receivable.refund_due
        amount = (due * part).quantize(Decimal("0.01")) if due else Decimal("1.00")
        self.attempt(
            lambda: self.receivable.record_refund(
                refund=f"ref-{self.n}", amount=amount, at=self.now, actor=CASH
            )
        )

    @rule(days=st.integers(min_value=0, max_value=60))
    def set_due_date(self, days: int) -> None:
        self.attempt(
            lambda: self.receivable.set_due_date(
                due_on=date(2026, 3, 2) + timedelta(days=days), at=self.now, actor=CLERK
            )
        )

    # ------------------------------------------------------------------ invariants

    def events_of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.history if isinstance(e, kind)]

    @invariant()
    def amounts_are_never_negative(self) -> None:
        r = self.receivable
        assert min(r.paid, r.refunded, r.outstanding, r.credit) >= ZERO
        for e in self.events_of(Receivable.PaymentApplied):
            assert e.amount > ZERO
            assert e.applied >= ZERO
            assert e.overpaid >= ZERO
            assert e.applied + e.overpaid == e.amount
        for e in self.events_of(Receivable.RefundRecorded):
            assert e.amount > ZERO

    @invariant()
    def settled_at_most_once(self) -> None:
        settling = [
            e
            for e in self.events_of(Receivable.PaymentApplied)
            if e.status == "settled" and e.applied > ZERO
        ]
        assert len(settling) <= 1
        applied = sum((e.applied for e in self.events_of(Receivable.PaymentApplied)), ZERO)
        assert applied <= self.receivable.amount
        if self.receivable.status == "settled":
            assert applied == self.receivable.amount
            assert self.receivable.settled_at == settling[0].at

    @invariant()
    def refunds_never_exceed_payments(self) -> None:
        assert self.receivable.refunded <= self.receivable.paid

    @invariant()
    def the_books_agree_with_the_events(self) -> None:
        r = self.receivable
        paid = sum((e.amount for e in self.events_of(Receivable.PaymentApplied)), ZERO)
        refunded = sum((e.amount for e in self.events_of(Receivable.RefundRecorded)), ZERO)
        cancelled = bool(self.events_of(Receivable.Cancelled))
        assert (r.paid, r.refunded) == (paid, refunded)
        assert r.outstanding == (ZERO if cancelled else max(r.amount - paid, ZERO))
        assert r.credit == max(paid - refunded - (ZERO if cancelled else r.amount), ZERO)
        assert len({e.payment for e in self.events_of(Receivable.PaymentApplied)}) == len(
            self.events_of(Receivable.PaymentApplied)
        )

    @invariant()
    def it_replays_from_its_events(self) -> None:
        rebuilt: Receivable | None = None
        for e in self.history:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None
        assert rebuilt.__dict__ == self.receivable.__dict__


ReceivableMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestReceivableMachine = ReceivableMachine.TestCase

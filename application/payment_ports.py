"""What paying online needs from outside: the payment provider port the deployment fills.

The application owns this Protocol (docs/architecture.md, decision 18); infrastructure/payments
implements it: an adapter for the local provider simulator now, ePayBL or a commercial payment
service provider later. The payer enters card or account data only at the provider's checkout
page: nothing here carries it, and Vorgang never sees it. The provider tells Vorgang what
happened by signed callbacks (Standard Webhooks) and answers a status poll when a callback
never arrives; its daily settlement report is what reconciliation compares with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from application.errors import ApplicationError


class ProviderUnavailable(ApplicationError):
    """The provider cannot be reached or failed (5xx): nothing changed here; try again later."""


class ProviderRefused(ApplicationError):
    """The provider refused the request (an unknown reference, a refund above what was paid)."""


class BadSignature(ApplicationError):
    """A callback whose signature does not verify with any of the provider's secrets."""


class StaleCallback(BadSignature):
    """A callback signed outside the replay window (five minutes either way of now)."""


@dataclass(frozen=True, slots=True)
class CheckoutOrder:
    """What the provider is asked to collect: one payment request's total and its Kassenzeichen.

    ``item_amounts``, when given, is the share of each Kassenzeichen (same order, summing to
    ``amount``): the provider itemises its settlement report by them. Empty: not itemised.
    """

    request_id: UUID
    amount: Decimal
    currency: str
    description: str
    kassenzeichen: tuple[str, ...]
    return_url: str | None
    item_amounts: tuple[Decimal, ...] = ()


@dataclass(frozen=True, slots=True)
class Checkout:
    """The provider's reference for the payment and the page the payer is sent to."""

    provider_reference: str
    checkout_url: str


class ProviderEventKind(StrEnum):
    """What the provider reports about a payment."""

    PAID = "paid"  # money received (the whole amount, a part, or more)
    FAILED = "failed"  # an attempt failed (declined); the payer may try again
    EXPIRED = "expired"  # the checkout ran out without a payment
    CANCELLED = "cancelled"  # the payer or the provider abandoned the checkout
    REFUNDED = "refunded"  # money paid back to the payer


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One thing that happened at the provider; ``event_id`` is unique (callbacks may repeat)."""

    event_id: str
    provider_reference: str
    kind: ProviderEventKind
    amount: Decimal | None
    occurred_at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """Every event of one payment so far, oldest first: what a status poll answers."""

    provider_reference: str
    events: tuple[ProviderEvent, ...]


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """One line of the provider's settlement report: a Kassenzeichen's share of a payment."""

    provider_reference: str
    kassenzeichen: str
    amount: Decimal
    day: date


class PaymentProvider(Protocol):
    """A payment service provider: checkouts, status, refunds, settlement, signed callbacks."""

    @property
    def name(self) -> str:
        """The provider's name in URLs and records (``simulator``, ``epaybl``)."""

    def start_checkout(self, order: CheckoutOrder) -> Checkout:
        """Open a checkout for the order; the same ``request_id`` again gives the same one."""

    def status(self, provider_reference: str) -> ProviderStatus:
        """Every event of the payment so far (for when callbacks are late or never come)."""

    def refund(self, provider_reference: str, amount: Decimal, refund_id: str) -> str:
        """Pay ``amount`` back; the provider's refund reference. The same ``refund_id`` again
        returns the same reference and pays nothing more."""

    def settlement_report(self, day: date) -> tuple[SettlementRow, ...]:
        """What the provider settled on ``day``, one row per Kassenzeichen share."""

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        """The event a callback reports, once its signature verifies (``BadSignature``,
        ``StaleCallback`` otherwise)."""

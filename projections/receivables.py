"""Receivables and payment requests as the cash office, the account's members and the watch ask.

One row per receivable (a charge owed under a Kassenzeichen: what was paid, refunded and is
still outstanding, and where it stands) and one per payment request (its total, what the
provider reported, when it expires). Nothing here is personal: the debtor and the payer stay
in their events; Kassenzeichen, amounts, ids and times only. Money is kept as decimal text
with two places (``"120.00"``), on SQLite and PostgreSQL alike, and read back as ``Decimal``
(``projections/receivables_query.py``).

The receivable's status follows the domain's rules from its events: ``PaymentApplied``
records the status it leads to (``settled`` at most once), a cancellation ends what is owed
(money paid so far is credit, a refund due).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.payments.payment_request import PaymentRequest
from domain.payments.receivable import CANCELLED, OPEN, PARTLY_PAID, SETTLED, Receivable
from projections.bulk import load_rows, upsert_rows
from projections.inbox import utc_text
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

RECEIVABLE_EVENTS: Final[tuple[type[Any], ...]] = (
    Receivable.Opened,
    Receivable.PaymentApplied,
    Receivable.Cancelled,
    Receivable.RefundRecorded,
    Receivable.DueDateSet,
)
REQUEST_EVENTS: Final[tuple[type[Any], ...]] = (
    PaymentRequest.Requested,
    PaymentRequest.CheckoutStarted,
    PaymentRequest.PaymentReceived,
    PaymentRequest.PaymentFailed,
    PaymentRequest.Expired,
    PaymentRequest.Cancelled,
    PaymentRequest.RefundRequested,
    PaymentRequest.RefundApproved,
    PaymentRequest.RefundRejected,
    PaymentRequest.RefundPaid,
)
RECEIVABLE_COLUMNS: Final = (
    "receivable_id",
    "tenant",
    "kassenzeichen",
    "business_customer",
    "case_id",
    "case_reference",
    "service",
    "amount",
    "paid",
    "refunded",
    "outstanding",
    "credit",
    "status",
    "open_rank",
    "due_on",
    "due_key",
    "prepaid",
    "ledger",
    "opened_at",
    "settled_at",
    "position",
)
REQUEST_COLUMNS: Final = (
    "id",
    "tenant",
    "business_customer",
    "status",
    "total",
    "paid",
    "overpaid",
    "provider",
    "provider_reference",
    "requested_at",
    "expires_at",
    "last_event_at",
    "kassenzeichen",
    "position",
)
STILL_OWED: Final = (OPEN, PARTLY_PAID)
NO_DUE_DATE: Final = "9999-12-31"  # sorts receivables without a due date last
ZERO: Final = Decimal("0.00")


def money(value: Decimal) -> str:
    """An amount as the view stores it: decimal text with two places."""
    return str(Decimal(value).quantize(Decimal("0.01")))


class Receivables(Projection):
    """Receivables and payment requests per town, for lists that never replay aggregates."""

    name: ClassVar[str] = "receivables"
    version: ClassVar[int] = 1

    @property
    def requests_table(self) -> str:
        """One row per payment request."""
        return f"{self.key}_payment_requests"

    def tables(self) -> list[str]:
        """The receivables and the payment requests."""
        return [self.table, self.requests_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Receivables found by account or by town in due-date order; requests by account
        and, for the payment watch, by status and last event."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (receivable_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, kassenzeichen TEXT NOT NULL, business_customer TEXT, "
            "case_id TEXT NOT NULL, case_reference TEXT NOT NULL, service TEXT NOT NULL, "
            "amount TEXT NOT NULL, paid TEXT NOT NULL, refunded TEXT NOT NULL, "
            "outstanding TEXT NOT NULL, credit TEXT NOT NULL, status TEXT NOT NULL, "
            "open_rank INTEGER NOT NULL, due_on TEXT, due_key TEXT NOT NULL, "
            "prepaid INTEGER NOT NULL, ledger TEXT NOT NULL, opened_at TEXT NOT NULL, "
            "settled_at TEXT, position BIGINT NOT NULL)"
        )
        for name, columns in (
            ("account", "tenant, business_customer, open_rank, due_key, kassenzeichen"),
            ("open", "tenant, open_rank, due_key, kassenzeichen"),
            ("case", "case_id"),
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{name} ON {self.table} ({columns})"
            )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.requests_table} (id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, business_customer TEXT NOT NULL, status TEXT NOT NULL, "
            "total TEXT NOT NULL, paid TEXT NOT NULL, overpaid TEXT NOT NULL, provider TEXT, "
            "provider_reference TEXT, requested_at TEXT NOT NULL, expires_at TEXT NOT NULL, "
            "last_event_at TEXT NOT NULL, kassenzeichen TEXT NOT NULL, position BIGINT NOT NULL)"
        )
        for name, columns in (
            ("account", "tenant, business_customer, requested_at, id"),
            ("waiting", "status, last_event_at, id"),
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.requests_table}_{name} "
                f"ON {self.requests_table} ({columns})"
            )

    def topics(self) -> list[str]:
        """The receivables' and the payment requests' events, from their classes."""
        return sorted({get_topic(c) for c in (*RECEIVABLE_EVENTS, *REQUEST_EVENTS)})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows, then upsert them in bulk."""
        receivable_ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, Receivable.Event)}
        )
        request_ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, PaymentRequest.Event)}
        )
        receivables = load_rows(tx, self.table, RECEIVABLE_COLUMNS, receivable_ids)
        requests = load_rows(tx, self.requests_table, REQUEST_COLUMNS, request_ids)
        for applied in batch:
            event: Any = applied.event
            if isinstance(event, Receivable.Event):
                _fold_receivable(receivables, applied)
            elif isinstance(event, PaymentRequest.Event):
                _fold_request(requests, applied)
        upsert_rows(tx, self.table, RECEIVABLE_COLUMNS, list(receivables.values()))
        upsert_rows(tx, self.requests_table, REQUEST_COLUMNS, list(requests.values()))


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _fold_receivable(rows: dict[str, dict[str, Any]], applied: Applied) -> None:
    event: Any = applied.event
    key = str(event.originator_id)
    if isinstance(event, Receivable.Opened):
        rows[key] = {
            "receivable_id": key,
            "tenant": event.tenant,
            "kassenzeichen": event.kassenzeichen,
            "business_customer": _text(event.business_customer),
            "case_id": str(event.case_id),
            "case_reference": event.case_reference,
            "service": event.service,
            "amount": money(event.amount),
            "paid": money(ZERO),
            "refunded": money(ZERO),
            "status": OPEN,
            "due_on": _day(event.due_on),
            "prepaid": int(bool(event.prepaid)),
            "ledger": event.ledger,
            "opened_at": utc_text(event.at),
            "settled_at": None,
        }
    row = rows.get(key)
    if row is None:
        return  # a receivable this view never saw opened
    if isinstance(event, Receivable.PaymentApplied):
        row["paid"] = money(Decimal(row["paid"]) + event.amount)
        row["status"] = event.status
        if event.status == SETTLED and row["settled_at"] is None:
            row["settled_at"] = utc_text(event.at)
    elif isinstance(event, Receivable.Cancelled):
        row["status"] = CANCELLED
    elif isinstance(event, Receivable.RefundRecorded):
        row["refunded"] = money(Decimal(row["refunded"]) + event.amount)
    elif isinstance(event, Receivable.DueDateSet):
        row["due_on"] = _day(event.due_on)
    _amounts(row)
    row["position"] = applied.position


def _amounts(row: dict[str, Any]) -> None:
    """Outstanding and credit as the receivable computes them, and the sort keys."""
    amount, paid = Decimal(row["amount"]), Decimal(row["paid"])
    cancelled = row["status"] == CANCELLED
    owed = ZERO if cancelled else amount
    row["outstanding"] = money(ZERO if cancelled else max(amount - paid, ZERO))
    row["credit"] = money(max(paid - Decimal(row["refunded"]) - owed, ZERO))
    row["open_rank"] = 0 if row["status"] in STILL_OWED else 1
    row["due_key"] = row["due_on"] or NO_DUE_DATE


def _fold_request(rows: dict[str, dict[str, Any]], applied: Applied) -> None:
    event: Any = applied.event
    key = str(event.originator_id)
    if isinstance(event, PaymentRequest.Requested):
        rows[key] = {
            "id": key,
            "tenant": event.tenant,
            "business_customer": str(event.business_customer),
            "status": "requested",
            "total": money(event.total),
            "paid": money(ZERO),
            "overpaid": money(ZERO),
            "provider": None,
            "provider_reference": None,
            "requested_at": utc_text(event.at),
            "expires_at": utc_text(event.expires_at),
            "kassenzeichen": json.dumps([item.kassenzeichen for item in event.items]),
        }
    row = rows.get(key)
    if row is None:
        return  # a request this view never saw made
    if isinstance(event, PaymentRequest.CheckoutStarted):
        row["provider"] = event.provider
        row["provider_reference"] = event.provider_reference
    elif isinstance(event, PaymentRequest.PaymentReceived):
        row["paid"] = money(Decimal(row["paid"]) + event.amount)
        row["overpaid"] = money(Decimal(row["overpaid"]) + event.overpaid)
    status = getattr(event, "status", None)
    if isinstance(status, str):  # the events that move the request record where to
        row["status"] = status
    at = getattr(event, "at", None)
    if isinstance(at, datetime):
        row["last_event_at"] = utc_text(at)
    row["position"] = applied.position


def _text(value: Any) -> str | None:
    return None if value is None else str(value)

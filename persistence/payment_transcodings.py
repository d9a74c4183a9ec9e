"""How the payments domain's value types are stored in events and snapshots.

Our own dict shapes, never a library object (docs/architecture.md, decision 6), kept apart
from ``transcodings.py`` so the payments domain registers in one call
(``register_payment_transcodings``). ``AccountRole`` is a ``StrEnum``: the JSON encoder writes
it as a string and the aggregate turns it back into the enum, so it needs no transcoding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.payments.payment_request import Allocation, Refund, RequestItem
from domain.payments.receivable import AppliedPayment, ReceivableRefund


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class RequestItemAsDict(Transcoding):
    """A receivable a payment request settles and the amount asked for it."""

    type = RequestItem
    name = "payment_request_item"

    def encode(self, obj: RequestItem) -> dict[str, Any]:
        return {
            "kassenzeichen": obj.kassenzeichen,
            "receivable_id": obj.receivable_id,
            "case_id": obj.case_id,
            "case_reference": obj.case_reference,
            "amount": obj.amount,
        }

    def decode(self, data: dict[str, Any]) -> RequestItem:
        return RequestItem(
            kassenzeichen=data["kassenzeichen"],
            receivable_id=_uuid(data["receivable_id"]),
            case_id=_uuid(data["case_id"]),
            case_reference=data["case_reference"],
            amount=_money(data["amount"]),
        )


class AllocationAsDict(Transcoding):
    """The part of a payment applied to one receivable."""

    type = Allocation
    name = "payment_allocation"

    def encode(self, obj: Allocation) -> dict[str, Any]:
        return {
            "kassenzeichen": obj.kassenzeichen,
            "receivable_id": obj.receivable_id,
            "case_id": obj.case_id,
            "amount": obj.amount,
        }

    def decode(self, data: dict[str, Any]) -> Allocation:
        return Allocation(
            kassenzeichen=data["kassenzeichen"],
            receivable_id=_uuid(data["receivable_id"]),
            case_id=_uuid(data["case_id"]),
            amount=_money(data["amount"]),
        )


class RefundAsDict(Transcoding):
    """A payment request's refund as a snapshot holds it (the reason stays sealed)."""

    type = Refund
    name = "payment_refund"

    def encode(self, obj: Refund) -> dict[str, Any]:
        return {
            "refund": obj.refund,
            "amount": obj.amount,
            "reason": obj.reason,
            "requested_by": obj.requested_by,
            "requested_at": obj.requested_at,
            "status": obj.status,
            "decided_by": obj.decided_by,
            "decided_at": obj.decided_at,
            "provider_refund_reference": obj.provider_refund_reference,
            "paid_at": obj.paid_at,
        }

    def decode(self, data: dict[str, Any]) -> Refund:
        return Refund(
            refund=data["refund"],
            amount=_money(data["amount"]),
            reason=data["reason"],
            requested_by=data["requested_by"],
            requested_at=data["requested_at"],
            status=data["status"],
            decided_by=data.get("decided_by"),
            decided_at=data.get("decided_at"),
            provider_refund_reference=data.get("provider_refund_reference"),
            paid_at=data.get("paid_at"),
        )


class AppliedPaymentAsDict(Transcoding):
    """A payment applied to a receivable, as a snapshot holds it."""

    type = AppliedPayment
    name = "receivable_payment"

    def encode(self, obj: AppliedPayment) -> dict[str, Any]:
        return {
            "payment": obj.payment,
            "amount": obj.amount,
            "applied": obj.applied,
            "overpaid": obj.overpaid,
            "received_on": obj.received_on,
            "channel": obj.channel,
            "recorded_by": obj.recorded_by,
            "at": obj.at,
            "request_id": obj.request_id,
            "reference": obj.reference,
        }

    def decode(self, data: dict[str, Any]) -> AppliedPayment:
        request_id = data.get("request_id")
        return AppliedPayment(
            payment=data["payment"],
            amount=_money(data["amount"]),
            applied=_money(data["applied"]),
            overpaid=_money(data["overpaid"]),
            received_on=data["received_on"],
            channel=data["channel"],
            recorded_by=data["recorded_by"],
            at=data["at"],
            request_id=None if request_id is None else _uuid(request_id),
            reference=data.get("reference"),
        )


class ReceivableRefundAsDict(Transcoding):
    """Credit paid back from a receivable, as a snapshot holds it."""

    type = ReceivableRefund
    name = "receivable_refund"

    def encode(self, obj: ReceivableRefund) -> dict[str, Any]:
        return {
            "refund": obj.refund,
            "amount": obj.amount,
            "at": obj.at,
            "recorded_by": obj.recorded_by,
        }

    def decode(self, data: dict[str, Any]) -> ReceivableRefund:
        return ReceivableRefund(
            refund=data["refund"],
            amount=_money(data["amount"]),
            at=data["at"],
            recorded_by=data["recorded_by"],
        )


def register_payment_transcodings(transcoder: JSONTranscoder) -> None:
    """Register every value type the payments domain's events and snapshots hold."""
    for transcoding in (
        RequestItemAsDict(),
        AllocationAsDict(),
        RefundAsDict(),
        AppliedPaymentAsDict(),
        ReceivableRefundAsDict(),
    ):
        transcoder.register(transcoding)

"""The ``PaymentProvider`` adapter for the provider simulator, over its HTTP API with httpx.

An adapter for a real provider (ePayBL, a commercial one) takes the same shape: the port's
calls become the provider's requests, its answers become the port's values, and its failures
become the port's errors: no answer or a 5xx is ``ProviderUnavailable`` (nothing happened
that we know of: try again), a 4xx is ``ProviderRefused``. A callback is trusted only after
its Standard Webhooks signature verifies; its body is never logged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import httpx

from application.payment_ports import (
    BadSignature,
    Checkout,
    CheckoutOrder,
    ProviderEvent,
    ProviderEventKind,
    ProviderRefused,
    ProviderStatus,
    ProviderUnavailable,
    SettlementRow,
)
from infrastructure.payments.signatures import decode_secret, verify

KINDS: Final = {f"payment.{kind.value}": kind for kind in ProviderEventKind}


class SimulatorProvider:
    """The provider simulator behind the ``PaymentProvider`` port."""

    def __init__(
        self,
        base_url: str,
        secret: str | Sequence[str],
        name: str = "simulator",
        timeout: float = 5.0,
        *,
        api_key: str | None = None,
    ) -> None:
        self.name = name
        secrets = [secret] if isinstance(secret, str) else list(secret)
        self._keys = [decode_secret(each) for each in secrets]  # ValueError: misconfigured
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def start_checkout(self, order: CheckoutOrder) -> Checkout:
        """Open a checkout; the same ``request_id`` again gives the same one."""
        answer = self._call(
            "POST",
            "/v1/checkouts",
            {
                "request_id": str(order.request_id),
                "amount": f"{order.amount:.2f}",
                "currency": order.currency,
                "description": order.description,
                "kassenzeichen": list(order.kassenzeichen),
                "item_amounts": [f"{share:.2f}" for share in order.item_amounts],
                "return_url": order.return_url,
            },
        )
        content = self._json(answer)
        return Checkout(str(content["provider_reference"]), str(content["checkout_url"]))

    def status(self, provider_reference: str) -> ProviderStatus:
        """Every event of the payment so far."""
        answer = self._call("GET", f"/v1/payments/{provider_reference}")
        content = self._json(answer)
        try:
            events = tuple(_event(each) for each in content["events"])
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise ProviderUnavailable("the provider's status answer is unreadable") from None
        return ProviderStatus(provider_reference, events)

    def refund(self, provider_reference: str, amount: Decimal, refund_id: str) -> str:
        """Pay back ``amount``; the provider's refund reference."""
        answer = self._call(
            "POST",
            "/v1/refunds",
            {
                "provider_reference": provider_reference,
                "amount": f"{amount:.2f}",
                "refund_id": refund_id,
            },
        )
        return str(self._json(answer)["refund_reference"])

    def settlement_report(self, day: date) -> tuple[SettlementRow, ...]:
        """The rows the provider settled on ``day``."""
        answer = self._call("GET", f"/v1/settlements/{day.isoformat()}.csv")
        try:
            return tuple(
                SettlementRow(
                    provider_reference=row["provider_reference"],
                    kassenzeichen=row["kassenzeichen"],
                    amount=Decimal(row["amount"]),
                    day=date.fromisoformat(row["day"]),
                )
                for row in csv.DictReader(io.StringIO(answer.text))
            )
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise ProviderUnavailable("the provider's settlement report is unreadable") from None

    def verify_callback(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        """The callback's event once its signature verifies."""
        verify(self._keys, headers, body, now)
        try:
            content = json.loads(body)
            return _event(content)
        except (KeyError, TypeError, ValueError, InvalidOperation):
            # Signed by the provider but not an event we know: refused like a forgery, so the
            # provider's delivery log shows it (our log says why, never the body).
            raise BadSignature("the callback's body is not an event of this provider") from None

    def _call(
        self, method: str, path: str, content: dict[str, Any] | None = None
    ) -> httpx.Response:
        try:
            answer = self._client.request(method, path, json=content)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(
                f"the payment provider {self.name!r} cannot be reached ({type(error).__name__})"
            ) from None
        if answer.status_code >= 500:
            raise ProviderUnavailable(
                f"the payment provider {self.name!r} failed ({answer.status_code})"
            )
        if answer.status_code >= 400:
            raise ProviderRefused(f"the payment provider {self.name!r} refused: {_reason(answer)}")
        return answer

    def _json(self, answer: httpx.Response) -> dict[str, Any]:
        try:
            content = answer.json()
        except ValueError:
            raise ProviderUnavailable(
                f"the payment provider {self.name!r} answered no JSON"
            ) from None
        if not isinstance(content, dict):
            raise ProviderUnavailable(f"the payment provider {self.name!r} answered no object")
        return content


def _event(content: Any) -> ProviderEvent:
    """A provider event from its JSON (callback body or status poll entry)."""
    if not isinstance(content, dict):
        raise TypeError("an event is a JSON object")
    amount = content.get("amount")
    occurred_at = datetime.fromisoformat(str(content["occurred_at"]))
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at has no offset")
    reason = content.get("reason")
    return ProviderEvent(
        event_id=str(content["id"]),
        provider_reference=str(content["provider_reference"]),
        kind=KINDS[str(content["type"])],
        amount=None if amount is None else Decimal(str(amount)),
        occurred_at=occurred_at,
        reason=None if reason is None else str(reason),
    )


def _reason(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"status {answer.status_code}"

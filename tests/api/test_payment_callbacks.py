"""The payment provider's signed callbacks over HTTP: applied once, refused when not signed.

The payer pays on the simulator's checkout with delivery ``never``; the callback the
simulator would have sent (its body, as its status poll lists it) is signed here with the
shared secret and posted to the API, so each test decides exactly what arrives, when and
how often. No bearer token: the signature is the authentication.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from application.clock import FixedClock
from application.errors import ConcurrentUpdate
from infrastructure.payments.signatures import decode_secret, new_secret, signed_headers
from tests.api import test_payments_api as paying
from tests.api.conftest import Auth
from tests.api.test_payments_api import Town

# The payments API tests' fixtures: the simulator process, settings naming it, a clock at
# the real present (the signatures' replay window), Usingen with a contractor's account.
simulator = paying.simulator
settings = paying.settings
clock = paying.clock
town = paying.town
CALLBACKS = "/api/v1/payments/providers/simulator/callbacks"


def paid_at_the_provider(town: Town, simulator: tuple[str, str]) -> tuple[dict[str, Any], bytes]:
    """A request for the permit's fee, paid on the checkout: the request and the body of the
    ``payment.paid`` callback the provider would send."""
    _case, (fee, _special_use) = town.billed_permit()
    request = town.request(fee).json()
    paid = httpx.post(request["checkout_url"] + "/pay", json={"delivery": "never"}, timeout=10)
    assert paid.status_code == 200, paid.text
    base, _secret = simulator
    status = httpx.get(f"{base}/v1/payments/{request['provider_reference']}", timeout=10).json()
    (event,) = [e for e in status["events"] if e["type"] == "payment.paid"]
    return request, json.dumps(event).encode()


def signed(body: bytes, secret: str, clock: FixedClock, *, seconds_off: int = 0) -> dict[str, str]:
    event_id = json.loads(body)["id"]
    timestamp = int(clock.now().timestamp()) + seconds_off
    return {
        **signed_headers([decode_secret(secret)], event_id, timestamp, body),
        "Content-Type": "application/json",
    }


def request_state(client: TestClient, town: Town, request: dict[str, Any]) -> dict[str, Any]:
    answer = client.get(f"/api/v1/payment-requests/{request['id']}", headers=town.owner)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_signed_callback_is_applied_and_a_duplicate_acknowledged_once(
    client: TestClient, town: Town, simulator: tuple[str, str], clock: FixedClock
) -> None:
    request, body = paid_at_the_provider(town, simulator)
    headers = signed(body, simulator[1], clock)
    first = client.post(CALLBACKS, content=body, headers=headers)
    assert first.status_code == 204, first.text
    assert first.content == b""
    after_first = request_state(client, town, request)
    assert (after_first["status"], after_first["paid"]) == ("paid", "73.40")
    duplicate = client.post(CALLBACKS, content=body, headers=headers)
    assert duplicate.status_code == 204
    after_both = request_state(client, town, request)
    assert after_both["paid"] == "73.40"
    assert after_both["version"] == after_first["version"]  # nothing recorded the second time
    kz = request["items"][0]["kassenzeichen"]
    receivable = client.get(f"/api/v1/receivables/{kz}", headers=town.owner).json()
    assert len(receivable["payments"]) == 1
    assert receivable["status"] == "settled"


def test_a_callback_with_a_bad_signature_is_refused_and_logged_without_its_body(
    client: TestClient, town: Town, simulator: tuple[str, str], clock: FixedClock
) -> None:
    request, body = paid_at_the_provider(town, simulator)
    forged = signed(body, new_secret(), clock)  # another key
    marker = json.loads(body)["provider_reference"]
    with structlog.testing.capture_logs() as logs:
        refused = client.post(CALLBACKS, content=body, headers=forged)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/bad-signature")
    assert marker not in refused.text
    assert "73.40" not in refused.text
    assert any(entry["event"] == "payment callback refused" for entry in logs)
    assert marker not in repr(logs)
    assert request_state(client, town, request)["status"] == "pending"

    tampered = body.replace(b"73.40", b"0.01")
    changed = client.post(CALLBACKS, content=tampered, headers=signed(body, simulator[1], clock))
    assert changed.status_code == 401
    unsigned = client.post(CALLBACKS, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert request_state(client, town, request)["paid"] == "0.00"


@pytest.mark.parametrize("seconds_off", [-301, 301])
def test_a_callback_signed_outside_the_replay_window_is_refused(
    client: TestClient,
    town: Town,
    simulator: tuple[str, str],
    clock: FixedClock,
    seconds_off: int,
) -> None:
    request, body = paid_at_the_provider(town, simulator)
    stale = client.post(
        CALLBACKS, content=body, headers=signed(body, simulator[1], clock, seconds_off=seconds_off)
    )
    assert stale.status_code == 401
    assert stale.json()["type"].endswith("/stale-callback")
    assert request_state(client, town, request)["status"] == "pending"
    in_window = client.post(
        CALLBACKS, content=body, headers=signed(body, simulator[1], clock, seconds_off=-299)
    )
    assert in_window.status_code == 204


def test_a_callback_of_an_unknown_provider_is_not_found_and_a_bearer_token_is_no_signature(
    client: TestClient, auth: Auth, town: Town, simulator: tuple[str, str], clock: FixedClock
) -> None:
    request, body = paid_at_the_provider(town, simulator)
    headers = signed(body, simulator[1], clock)
    unknown = client.post(
        "/api/v1/payments/providers/epaybl/callbacks", content=body, headers=headers
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    with_token = client.post(
        CALLBACKS, content=body, headers={**auth("cash_office"), "Content-Type": "application/json"}
    )
    assert with_token.status_code == 401
    assert request_state(client, town, request)["status"] == "pending"


def test_a_callback_larger_than_the_body_limit_is_refused_before_it_is_read(
    client: TestClient, town: Town, simulator: tuple[str, str], clock: FixedClock
) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    body = json.dumps({"id": "evt_big", "padding": "x" * (limit + 1)}).encode()
    too_large = client.post(CALLBACKS, content=body, headers=signed(body, simulator[1], clock))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("application/problem+json")


def test_a_callback_that_lost_every_race_asks_the_provider_to_retry(
    client: TestClient,
    town: Town,
    simulator: tuple[str, str],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 4xx is final for a provider, a 5xx is retried: a payment that could not be saved
    now must come again, never be dropped."""
    request, body = paid_at_the_provider(town, simulator)
    payments = client.app.state.provider.get().payments  # type: ignore[attr-defined]

    def always_lost(*_args: Any, **_kwargs: Any) -> Any:
        raise ConcurrentUpdate(request["id"])

    monkeypatch.setattr(payments, "receive_callback", always_lost)
    answer = client.post(CALLBACKS, content=body, headers=signed(body, simulator[1], clock))
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "Retry-After" in answer.headers
    monkeypatch.undo()
    again = client.post(CALLBACKS, content=body, headers=signed(body, simulator[1], clock))
    assert again.status_code == 204
    assert request_state(client, town, request)["status"] == "paid"

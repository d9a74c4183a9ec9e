"""Review of the payment routes (#24): what an integrator, a cash office, an auditor or an
attacker would meet that the routes must not let through (a 500, a leak, a field the
problem does not name).

Each test names one defect found in review; the fixtures are the payments API tests'
(the simulator process, a clock at the real present, Usingen with a contractor's account).
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.working_days import berlin_date
from infrastructure.payments.signatures import decode_secret, signed_headers
from tests.api import test_payments_api as paying
from tests.api.conftest import Auth
from tests.api.test_payments_api import Town, problem_fields

simulator = paying.simulator
settings = paying.settings
clock = paying.clock
town = paying.town

CALLBACKS = "/api/v1/payments/providers/simulator/callbacks"


def is_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("digits", [400, 4400])
def test_a_callback_with_an_absurd_timestamp_is_refused_never_a_500(
    client: TestClient, town: Town, digits: int
) -> None:
    """Unsigned, so anyone may send it: a webhook-timestamp of hundreds of digits overflowed
    the replay-window arithmetic (and thousands, int's digit limit): 500 instead of 401."""
    answer = client.post(
        CALLBACKS,
        content=b'{"id": "evt_1"}',
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": "9" * digits,
            "webhook-signature": "v1,AAAA",
            "Content-Type": "application/json",
        },
    )
    is_problem(answer, 401)


def test_a_tampered_cursor_is_named_after_the_parameter_the_client_sent(
    client: TestClient, town: Town, auth: Auth
) -> None:
    """The payment lists page with ``after``; the problem named ``cursor``, a parameter these
    routes do not have, so a client could not tell which of its inputs was wrong."""
    for url, headers in (
        (f"/api/v1/business-customers/{town.account_id}/receivables", town.owner),
        ("/api/v1/receivables", auth("cash_office")),
    ):
        answer = client.get(url, params={"after": "not-a-cursor"}, headers=headers)
        is_problem(answer, 422)
        assert problem_fields(answer) == ["after"]


def test_members_never_read_the_ids_of_the_staff_who_recorded_or_decided(
    client: TestClient, auth: Auth, town: Town, clock: FixedClock
) -> None:
    """Applicants see no ids of staff (application/applicant_view.py); the receivable's
    payments named the cash office person who recorded a receipt, and a payment request's
    refunds who asked and who decided, to every member of the account."""
    _case, (fee, _special_use) = town.billed_permit()
    receipt = {
        "amount": "10.00",
        "channel": "counter",
        "received_on": berlin_date(clock.now()).isoformat(),
        "reference": "Q-7",
    }
    cashier = auth("cash_office", sub="kasse.eins")
    recorded = client.post(f"/api/v1/receivables/{fee}/receipts", json=receipt, headers=cashier)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["payments"][0]["recorded_by"] == "kasse.eins"  # staff read it
    seen = client.get(f"/api/v1/receivables/{fee}", headers=town.owner)
    assert seen.status_code == 200, seen.text
    assert "kasse.eins" not in seen.text
    assert seen.json()["payments"][0]["recorded_by"] == "cash_office"  # the role only

    request = paying.overpaid_request(town)
    refunds = f"/api/v1/payment-requests/{request['id']}/refunds"
    asked = client.post(refunds, json={"amount": "5.00", "reason": "Überzahlung"}, headers=cashier)
    assert asked.status_code == 201, asked.text
    decided = client.post(
        f"{refunds}/R1/rejection",
        json={"reason": "Verrechnet"},
        headers=auth("supervisor", sub="chefin.kasse"),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["refunds"][0]["decided_by"] == "chefin.kasse"  # staff read it
    seen = client.get(f"/api/v1/payment-requests/{request['id']}", headers=town.owner)
    assert seen.status_code == 200, seen.text
    assert "kasse.eins" not in seen.text
    assert "chefin.kasse" not in seen.text


def test_a_signed_callback_nesting_too_deeply_is_refused_never_a_500(
    client: TestClient, town: Town, simulator: tuple[str, str], clock: FixedClock
) -> None:
    """A body the provider signed but that nests deeper than the JSON parser recurses:
    RecursionError escaped the event parsing (which refuses other unreadable bodies as not
    an event of this provider, 401) and became a 500."""
    body = b"[" * 5000 + b"]" * 5000
    headers = {
        **signed_headers(
            [decode_secret(simulator[1])], "msg_deep", int(clock.now().timestamp()), body
        ),
        "Content-Type": "application/json",
    }
    is_problem(client.post(CALLBACKS, content=body, headers=headers), 401)

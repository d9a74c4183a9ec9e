"""Paying fees by HTTP (#24): accounts, receivables, payment requests, receipts and refunds.

The payment provider is the simulator, a real process; the payer pays on its checkout with
delivery ``never`` so that the API learns of it by the status poll (the callbacks are
tested in ``test_payment_callbacks.py``). The clock is fixed at the real present: the
simulator stamps payments with its own clock, and a receipt may not lie in the future.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from application.clock import FixedClock
from domain.working_days import berlin_date
from infrastructure.payments.signatures import new_secret
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.settings import Settings
from tests.api.conftest import SECRET, Auth
from tests.api.test_road_opening_api import DECISION, permit_request

OWNER = "portal:brenner"
PAYER = {
    "company": "Brenner Tiefbau GmbH",
    "contact": "Jörg Brenner",
    "email": "kasse@brenner.example",
}
HANG_GUARD_SECONDS = 60.0
NOWHERE = "http://127.0.0.1:9/api/v1/payments/providers/simulator/callbacks"


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[str, str]]:
    """The provider simulator's base URL and its signing secret (callbacks go nowhere)."""
    secret = new_secret()
    with running_simulator(secret, NOWHERE, options=("--attempts", "1")) as url:
        yield url, secret


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(settings: Settings, simulator: tuple[str, str]) -> Settings:
    url, secret = simulator
    return settings.model_copy(
        update={"payment_provider_url": url, "payment_provider_secrets": SecretStr(secret)}
    )


def problem_fields(answer: httpx.Response) -> list[str]:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    return [e["field"] for e in answer.json().get("errors", [])]


def person(*roles: str, sub: str, tenant: str = "usingen") -> dict[str, str]:
    """Headers for a person holding several roles (a clerk who also works in the cash office)."""
    now = datetime.now(UTC)
    claims = {
        "iss": "vorgang-dev",
        "aud": "vorgang",
        "sub": sub,
        "name": "Doppelrolle",
        "roles": list(roles),
        "tenant": tenant,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}


class Town:
    """Usingen's payments through the API: a contractor's account and its billed permits."""

    def __init__(self, client: TestClient, auth: Auth, clock: FixedClock) -> None:
        self.client = client
        self.auth = auth
        self.clock = clock
        self.owner = auth("applicant", sub=OWNER)
        registered = client.post(
            "/api/v1/business-customers",
            json={"company": "Brenner Tiefbau GmbH", "owner": OWNER},
            headers=auth("clerk"),
        )
        assert registered.status_code == 201, registered.text
        self.account = registered.json()
        self.account_id = self.account["id"]

    def billed_permit(self, decider: dict[str, str] | None = None) -> tuple[str, list[str]]:
        """A road opening billed to the account and approved: the case id and its charges."""
        client = self.client
        created = client.post("/api/v1/cases", json=permit_request(self.clock), headers=self.owner)
        assert created.status_code == 201, created.text
        case = created.json()["id"]
        billed = client.post(
            f"/api/v1/cases/{case}/billing",
            json={"business_customer": self.account_id},
            headers=self.owner,
        )
        assert billed.status_code == 200, billed.text
        clerk = decider or self.auth("clerk")
        today = berlin_date(self.clock.now()).isoformat()
        for command, body in (
            ("claim", None),
            ("confirm-complete", None),
            ("decide", {**DECISION, "hearing_held_on": today}),
        ):
            done = client.post(f"/api/v1/cases/{case}/{command}", json=body, headers=clerk)
            assert done.status_code == 200, done.text
        assert done.json()["status"] == "awaiting_payment"
        return case, [c["kassenzeichen"] for c in done.json()["payment"]["charges"]]

    def request(self, *kassenzeichen: str, headers: dict[str, str] | None = None) -> httpx.Response:
        answer: httpx.Response = self.client.post(
            "/api/v1/payment-requests",
            json={
                "business_customer": self.account_id,
                "kassenzeichen": list(kassenzeichen),
                "payer": PAYER,
            },
            headers=headers or self.owner,
        )
        return answer

    def pay(self, request: dict[str, Any], amount: str | None = None) -> dict[str, Any]:
        """The payer pays on the checkout (no callback), the member polls: the request."""
        body: dict[str, Any] = {"delivery": "never"}
        if amount is not None:
            body["amount"] = amount
        paid = httpx.post(request["checkout_url"] + "/pay", json=body, timeout=10)
        assert paid.status_code == 200, paid.text
        polled = self.client.post(
            f"/api/v1/payment-requests/{request['id']}/status-poll", headers=self.owner
        )
        assert polled.status_code == 200, polled.text
        return dict(polled.json())

    def case_status(self, case: str) -> str:
        return str(self.client.get(f"/api/v1/cases/{case}", headers=self.owner).json()["status"])


@pytest.fixture
def town(client: TestClient, auth: Auth, clock: FixedClock) -> Town:
    return Town(client, auth, clock)


# ------------------------------------------------------------------ accounts


def test_a_clerk_registers_an_account_its_owner_and_staff_see_it_nobody_else(
    client: TestClient, auth: Auth, town: Town
) -> None:
    assert town.account["customer_number"] == "GK-USI-0001"
    assert town.account["members"] == [{"member": OWNER, "role": "owner"}]
    url = f"/api/v1/business-customers/{town.account_id}"
    for headers in (town.owner, auth("clerk"), auth("cash_office"), auth("auditor")):
        seen = client.get(url, headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.headers["ETag"] == '"1"'
        assert seen.json()["company"] == "Brenner Tiefbau GmbH"
    for stranger in (
        auth("applicant", sub="portal:someone-else"),
        auth("applicant", sub=OWNER, tenant="schmitten"),
        auth("clerk", tenant="schmitten"),
        auth("cash_office", tenant="schmitten"),
    ):
        hidden = client.get(url, headers=stranger)
        assert hidden.status_code == 404, hidden.text
        assert "Brenner" not in hidden.text
    refused = client.post(
        "/api/v1/business-customers",
        json={"company": "X GmbH", "owner": "portal:x"},
        headers=auth("applicant"),
    )
    assert refused.status_code == 403
    empty = client.post(
        "/api/v1/business-customers", json={"company": "", "owner": "p"}, headers=auth("clerk")
    )
    assert empty.status_code == 422
    assert problem_fields(empty) == ["company"]


def test_owners_manage_members_never_removing_the_last_owner(
    client: TestClient, auth: Auth, town: Town
) -> None:
    members = f"/api/v1/business-customers/{town.account_id}/members"
    added = client.put(f"{members}/portal:payer", json={"role": "payer"}, headers=town.owner)
    assert added.status_code == 200, added.text
    assert {"member": "portal:payer", "role": "payer"} in added.json()["members"]
    assert added.headers["ETag"] == '"2"'
    payer = auth("applicant", sub="portal:payer")
    by_payer = client.put(f"{members}/portal:x", json={"role": "viewer"}, headers=payer)
    assert (by_payer.status_code, problem_fields(by_payer)) == (422, ["actor"])
    stale = client.put(
        f"{members}/portal:x", json={"role": "viewer"}, headers={**town.owner, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    wrong_role = client.put(f"{members}/portal:x", json={"role": "boss"}, headers=town.owner)
    assert (wrong_role.status_code, problem_fields(wrong_role)) == (422, ["role"])
    last_owner = client.delete(f"{members}/{OWNER}", headers=town.owner)
    assert (last_owner.status_code, problem_fields(last_owner)) == (422, ["member"])
    removed = client.delete(f"{members}/portal:payer", headers=town.owner)
    assert removed.status_code == 200
    assert removed.json()["members"] == [{"member": OWNER, "role": "owner"}]
    stranger = client.delete(f"{members}/{OWNER}", headers=payer)  # no longer a member
    assert stranger.status_code == 404
    clerk = client.put(f"{members}/portal:x", json={"role": "viewer"}, headers=auth("clerk"))
    assert clerk.status_code == 403  # the customer's own staff manage its members


# ------------------------------------------------------------------ receivables


def test_a_fee_charged_to_the_account_is_its_receivable_for_members_and_staff_only(
    client: TestClient, auth: Auth, town: Town
) -> None:
    case, (fee, special_use) = town.billed_permit()
    url = f"/api/v1/receivables/{fee}"
    seen = client.get(url, headers=town.owner)
    assert seen.status_code == 200, seen.text
    receivable = seen.json()
    assert (receivable["case_id"], receivable["status"]) == (case, "open")
    assert (receivable["amount"], receivable["currency"]) == ("73.40", "EUR")
    assert receivable["ledger"] == "administrative_fee"
    for staff in ("clerk", "supervisor", "cash_office", "auditor"):
        assert client.get(url, headers=auth(staff)).status_code == 200, staff
    for stranger in (
        auth("applicant", sub="portal:someone-else"),
        auth("clerk", tenant="schmitten"),
        auth("cash_office", tenant="schmitten"),
        auth("auditor", tenant="schmitten"),
    ):
        assert client.get(url, headers=stranger).status_code == 404
    typo = fee[:-1] + str((int(fee[-1]) + 1) % 10)
    wrong = client.get(f"/api/v1/receivables/{typo}", headers=town.owner)
    assert (wrong.status_code, problem_fields(wrong)) == (422, ["kassenzeichen"])

    listed = wait_for_rows(
        client, f"/api/v1/business-customers/{town.account_id}/receivables?status=open", town.owner
    )
    assert [r["kassenzeichen"] for r in listed] == [fee, special_use]
    town_list = wait_for_rows(client, "/api/v1/receivables?status=open", auth("cash_office"))
    assert {r["kassenzeichen"] for r in town_list} == {fee, special_use}
    assert client.get("/api/v1/receivables", headers=auth("clerk")).status_code == 403
    elsewhere = client.get("/api/v1/receivables", headers=auth("cash_office", tenant="schmitten"))
    assert (elsewhere.status_code, elsewhere.json()) == (200, [])
    strangers = client.get(
        f"/api/v1/business-customers/{town.account_id}/receivables",
        headers=auth("applicant", sub="portal:someone-else"),
    )
    assert strangers.status_code == 404


def wait_for_rows(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The list once the read model shows rows: it follows the log, so poll until it does
    (the limit only guards against a hang)."""
    limit = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < limit:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        if answer.json():
            return list(answer.json())
        time.sleep(0.02)
    pytest.fail(f"{url} stayed empty")


# ------------------------------------------------------------------ paying online


def test_the_member_pays_online_and_the_case_continues_once_every_charge_is_paid(
    client: TestClient, auth: Auth, town: Town
) -> None:
    case, (fee, special_use) = town.billed_permit()
    opened = town.request(fee)
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert opened.headers["Location"] == f"/api/v1/payment-requests/{request['id']}"
    assert (request["status"], request["total"], request["paid"]) == ("pending", "73.40", "0.00")
    assert request["checkout_url"].startswith("http://127.0.0.1:")
    assert [i["kassenzeichen"] for i in request["items"]] == [fee]

    paid = town.pay(request)
    assert (paid["status"], paid["paid"]) == ("paid", "73.40")
    assert town.case_status(case) == "awaiting_payment"  # the special use fee is still owed
    second = town.pay(town.request(special_use).json())
    assert second["status"] == "paid"
    assert town.case_status(case) == "decided"
    receivable = client.get(f"/api/v1/receivables/{fee}", headers=town.owner).json()
    assert receivable["status"] == "settled"
    assert [p["channel"] for p in receivable["payments"]] == ["provider"]
    again = client.post(
        f"/api/v1/payment-requests/{request['id']}/status-poll", headers=auth("clerk")
    )
    assert again.json()["paid"] == "73.40"  # polling again applies nothing twice
    assert len(client.get(f"/api/v1/receivables/{fee}", headers=town.owner).json()["payments"]) == 1

    for reader in (town.owner, auth("clerk"), auth("auditor")):
        seen = client.get(f"/api/v1/payment-requests/{request['id']}", headers=reader)
        assert seen.status_code == 200
    for stranger in (auth("applicant", sub="portal:x"), auth("cash_office", tenant="schmitten")):
        seen = client.get(f"/api/v1/payment-requests/{request['id']}", headers=stranger)
        assert seen.status_code == 404
    listed = wait_for_rows(
        client, f"/api/v1/business-customers/{town.account_id}/payment-requests", town.owner
    )
    assert {r["id"] for r in listed} <= {request["id"], second["id"]}


def test_one_request_pays_both_charges_of_a_case(town: Town) -> None:
    case, charges = town.billed_permit()
    request = town.request(*charges).json()
    assert request["total"] == "98.40"
    assert town.pay(request)["status"] == "paid"
    assert town.case_status(case) == "decided"


def test_a_payment_request_names_what_is_wrong_with_it(
    client: TestClient, auth: Auth, town: Town
) -> None:
    _case, (fee, _special_use) = town.billed_permit()
    empty = town.request()
    assert (empty.status_code, problem_fields(empty)) == (422, ["kassenzeichen"])
    twice = town.request(fee, fee)
    assert (twice.status_code, problem_fields(twice)) == (422, ["kassenzeichen"])
    unknown = town.request("011-26-000099-01-6")
    assert unknown.status_code == 422
    assert problem_fields(unknown) == ["kassenzeichen[0]"]
    no_email = client.post(
        "/api/v1/payment-requests",
        json={
            "business_customer": town.account_id,
            "kassenzeichen": [fee],
            "payer": {"company": "B", "contact": "J"},
        },
        headers=town.owner,
    )
    assert (no_email.status_code, problem_fields(no_email)) == (422, ["payer.email"])
    members = f"/api/v1/business-customers/{town.account_id}/members"
    client.put(f"{members}/portal:viewer", json={"role": "viewer"}, headers=town.owner)
    viewer = town.request(fee, headers=auth("applicant", sub="portal:viewer"))
    assert (viewer.status_code, problem_fields(viewer)) == (422, ["actor"])
    stranger = town.request(fee, headers=auth("applicant", sub="portal:x"))
    assert stranger.status_code == 404
    staff = town.request(fee, headers=auth("clerk"))
    assert staff.status_code == 403


def test_a_request_nothing_was_paid_on_is_cancelled_once(client: TestClient, town: Town) -> None:
    _case, (fee, _special_use) = town.billed_permit()
    request = town.request(fee).json()
    url = f"/api/v1/payment-requests/{request['id']}/cancellation"
    free_text = client.post(url, json={"reason": "Herr Brenner will nicht"}, headers=town.owner)
    assert (free_text.status_code, problem_fields(free_text)) == (422, ["reason"])
    cancelled = client.post(url, json={"reason": "changed_my_mind"}, headers=town.owner)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(url, json={"reason": "changed_my_mind"}, headers=town.owner)
    assert (again.status_code, problem_fields(again)) == (409, ["status"])
    # the receivable is still owed: a new request may pay it
    assert town.request(fee).status_code == 201


# ------------------------------------------------------------------ the cash office


def test_only_the_cash_office_records_a_receipt_and_the_case_continues(
    client: TestClient, auth: Auth, town: Town, clock: FixedClock
) -> None:
    case, charges = town.billed_permit()
    today = berlin_date(clock.now()).isoformat()
    receipt = {"amount": "73.40", "channel": "counter", "received_on": today, "reference": "Q-1"}
    url = f"/api/v1/receivables/{charges[0]}/receipts"
    for role in ("clerk", "supervisor", "auditor", "admin"):
        assert client.post(url, json=receipt, headers=auth(role)).status_code == 403, role
    assert client.post(url, json=receipt, headers=town.owner).status_code == 403
    elsewhere = client.post(url, json=receipt, headers=auth("cash_office", tenant="schmitten"))
    assert elsewhere.status_code == 404
    for field, value in (
        ("amount", "-1.00"),
        ("amount", "0.001"),
        ("channel", "cash"),
        ("received_on", "2026-02-30"),
    ):
        bad = client.post(url, json={**receipt, field: value}, headers=auth("cash_office"))
        assert (bad.status_code, problem_fields(bad)) == (422, [field]), (field, value)
    future = (berlin_date(clock.now()) + timedelta(days=1)).isoformat()
    later = client.post(url, json={**receipt, "received_on": future}, headers=auth("cash_office"))
    assert (later.status_code, problem_fields(later)) == (422, ["received_on"])

    recorded = client.post(url, json=receipt, headers=auth("cash_office"))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["status"] == "settled"
    assert recorded.json()["payments"][0]["recorded_by"] == "cash_office.usingen"
    twice = client.post(url, json=receipt, headers=auth("cash_office"))
    assert (twice.status_code, problem_fields(twice)) == (422, ["reference"])
    transfer = {**receipt, "amount": "25.00", "channel": "bank_transfer", "reference": "KA 7"}
    other = client.post(
        f"/api/v1/receivables/{charges[1]}/receipts", json=transfer, headers=auth("cash_office")
    )
    assert other.status_code == 201, other.text
    assert town.case_status(case) == "decided"


def test_who_decided_the_charge_never_records_its_receipt(
    client: TestClient, auth: Auth, town: Town, clock: FixedClock
) -> None:
    both = person("clerk", "cash_office", sub="kasse.und.amt")
    _case, charges = town.billed_permit(decider=both)
    receipt = {
        "amount": "73.40",
        "channel": "counter",
        "received_on": berlin_date(clock.now()).isoformat(),
        "reference": "Q-7",
    }
    url = f"/api/v1/receivables/{charges[0]}/receipts"
    refused = client.post(url, json=receipt, headers=both)
    assert refused.status_code == 422, refused.text
    assert problem_fields(refused) == ["actor"]
    assert "decided" in refused.json()["errors"][0]["message"]
    colleague = client.post(url, json=receipt, headers=auth("cash_office", sub="kasse.zwei"))
    assert colleague.status_code == 201


# ------------------------------------------------------------------ refunds


def overpaid_request(town: Town) -> dict[str, Any]:
    _case, (fee, _special_use) = town.billed_permit()
    request = town.request(fee).json()
    paid = town.pay(request, amount="100.00")
    assert (paid["paid"], paid["overpaid"]) == ("100.00", "26.60")
    return paid


def test_a_refund_is_approved_by_another_person_than_who_asked(
    client: TestClient, auth: Auth, town: Town
) -> None:
    request = overpaid_request(town)
    refunds = f"/api/v1/payment-requests/{request['id']}/refunds"
    by_member = client.post(refunds, json={"amount": "1.00", "reason": "r"}, headers=town.owner)
    assert by_member.status_code == 403
    too_much = client.post(
        refunds, json={"amount": "30.00", "reason": "Überzahlung"}, headers=auth("cash_office")
    )
    assert (too_much.status_code, problem_fields(too_much)) == (422, ["amount"])
    asker = auth("cash_office", sub="kasse.eins")
    asked = client.post(refunds, json={"amount": "26.60", "reason": "Überzahlung"}, headers=asker)
    assert asked.status_code == 201, asked.text
    assert asked.headers["Location"] == f"{refunds}/R1"
    assert asked.json()["refunds"][0]["status"] == "requested"
    assert client.post(f"{refunds}/R1/approval", headers=auth("clerk")).status_code == 403
    own = client.post(f"{refunds}/R1/approval", headers=asker)
    assert (own.status_code, problem_fields(own)) == (422, ["actor"])
    elsewhere = client.post(
        f"{refunds}/R1/approval", headers=auth("cash_office", tenant="schmitten")
    )
    assert elsewhere.status_code == 404
    approved = client.post(f"{refunds}/R1/approval", headers=auth("cash_office", sub="kasse.zwei"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["refunded"] == "26.60"
    assert approved.json()["refunds"][0]["status"] == "paid"
    unknown = client.post(f"{refunds}/R9/approval", headers=auth("supervisor"))
    assert (unknown.status_code, problem_fields(unknown)) == (422, ["refund"])


def test_a_refund_is_rejected_with_a_reason_and_nothing_moves(
    client: TestClient, auth: Auth, town: Town
) -> None:
    request = overpaid_request(town)
    refunds = f"/api/v1/payment-requests/{request['id']}/refunds"
    asked = client.post(
        refunds, json={"amount": "10.00", "reason": "Kulanz"}, headers=auth("clerk")
    )
    assert asked.status_code == 201, asked.text
    no_reason = client.post(f"{refunds}/R1/rejection", json={}, headers=auth("supervisor"))
    assert (no_reason.status_code, problem_fields(no_reason)) == (422, ["reason"])
    rejected = client.post(
        f"{refunds}/R1/rejection", json={"reason": "Keine Grundlage"}, headers=auth("supervisor")
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["refunds"][0]["status"] == "rejected"
    assert Decimal(rejected.json()["refunded"]) == 0


# ------------------------------------------------------------------ the provider away


def test_without_a_reachable_provider_nothing_is_saved_and_the_answer_is_503(
    settings: Settings, clock: FixedClock, auth: Auth
) -> None:
    unreachable = settings.model_copy(update={"payment_provider_url": "http://127.0.0.1:9"})
    with TestClient(create_app(unreachable, clock=clock)) as client:
        town = Town(client, auth, clock)
        _case, (fee, _special_use) = town.billed_permit()
        down = town.request(fee)
        assert down.status_code == 503, down.text
        assert down.headers["Retry-After"].isdigit()
        assert down.json()["type"].endswith("/payment-provider-unavailable")
        listed = client.get(
            f"/api/v1/business-customers/{town.account_id}/payment-requests", headers=town.owner
        )
        assert listed.json() == []
    unconfigured = settings.model_copy(update={"payment_provider_url": None})
    with TestClient(create_app(unconfigured, clock=clock)) as client:
        town = Town(client, auth, clock)
        _case, (fee, _special_use) = town.billed_permit()
        none = town.request(fee)
        assert none.status_code == 503
        assert "Retry-After" in none.headers

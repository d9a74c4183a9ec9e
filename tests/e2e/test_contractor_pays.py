"""A contractor pays a road opening fee through the provider simulator, by HTTP alone (#24).

Real processes only: ``vorgang serve --dev`` over a SQLite file, and the provider simulator
(``running_simulator``) whose signed callbacks reach the server's callback route. The
server's port is reserved first, so the simulator is started knowing its callback URL and
the server knowing the simulator's; a callback sent before the server listens would be
retried by the simulator, and none is sent before the payer pays.

The issue's "Done when": the permit (the Bescheid) cannot be issued while the fee is
unpaid, the contractor pays on the checkout, the confirmed payment lets the case continue
and the Bescheid is issued with the charge's Kassenzeichen, and ``vorgang payments
reconcile`` finds the provider's settlement report and the recorded payments matching.
Every wait polls for the state it needs (a hang guard bounds it), never a pause.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import DevelopmentTokens
from application.clock import FixedClock
from domain.actor import Role
from domain.working_days import berlin_date
from infrastructure.payments.signatures import new_secret
from infrastructure.payments.simulator_process import running_simulator
from tests.api.test_road_opening_api import DECISION, permit_request

SECRET = "contractor-pays-token-secret-0123456789"
HANG_GUARD_SECONDS = 60.0  # a guard against a hang, not a measure: every wait polls for state
VORGANG = Path(sys.executable).with_name("vorgang")
CALLBACKS = "/api/v1/payments/providers/simulator/callbacks"
OWNER = "portal:brenner-tiefbau"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(observed: Callable[[], Any], what: str, log: Path | None = None) -> Any:
    """Poll until ``observed`` returns something truthy; fail naming what never came."""
    limit = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < limit:
        found = observed()
        if found:
            return found
        time.sleep(0.05)
    tail = log.read_text()[-3000:] if log else ""
    pytest.fail(f"{what} never happened\n{tail}")


class Server:
    """``vorgang serve --dev`` as its own process, and the environment it runs in."""

    def __init__(self, base: str, env: dict[str, str], log: Path) -> None:
        self.base = base
        self.env = env
        self.log = log

    def vorgang(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """The ``vorgang`` command against the server's database (a process of its own)."""
        return subprocess.run(  # noqa: S603
            [str(VORGANG), *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def server(tmp_path: Path, seal_files: tuple[Path, Path]) -> Iterator[Server]:
    port = free_port()  # reserved first: the simulator must know where to call back
    base = f"http://127.0.0.1:{port}"
    secret = new_secret()
    with running_simulator(secret, base + CALLBACKS, options=("--retry-seconds", "0.2")) as sim:
        key, certificate = seal_files
        env = {
            **os.environ,
            "VORGANG_DATABASE_URL": f"sqlite:///{tmp_path / 'vorgang.db'}",
            "VORGANG_TOKEN_SECRET": SECRET,
            "VORGANG_PAYMENT_PROVIDER_URL": sim,
            "VORGANG_PAYMENT_PROVIDER_SECRETS": secret,
            "VORGANG_DOCUMENTS_DIR": str(tmp_path / "documents"),
            "VORGANG_POSTBOX_DIR": str(tmp_path / "postbox"),
            "VORGANG_PRINT_DIR": str(tmp_path / "print"),
            "VORGANG_SEAL_KEY_FILE": str(key),
            "VORGANG_SEAL_CERTIFICATE_FILE": str(certificate),
            "VORGANG_LOG_FORMAT": "json",
        }
        log = tmp_path / "serve.log"
        with log.open("w") as output:
            process = subprocess.Popen(  # noqa: S603
                [str(VORGANG), "serve", "--dev", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            until(lambda: answers(base, process, log), "the server answering /health", log)
            yield Server(base, env, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def answers(base: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"vorgang serve exited: {log.read_text()[-3000:]}")
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def bearer(role: Role, subject: str) -> dict[str, str]:
    token = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang").issue(
        subject=subject, name="Test Person", role=role, tenant="usingen"
    )
    return {"Authorization": f"Bearer {token}"}


def test_a_contractor_pays_the_road_opening_fee_online_and_the_permit_follows(
    server: Server,
) -> None:
    http = httpx.Client(base_url=server.base, timeout=30)
    clerk = bearer(Role.CLERK, "anna.schmidt")
    contractor = bearer(Role.APPLICANT, OWNER)
    today = berlin_date(datetime.now(UTC))

    # The clerk registers the contractor as a business customer; its first user owns it.
    registered = http.post(
        "/api/v1/business-customers",
        json={"company": "Brenner Tiefbau GmbH", "owner": OWNER},
        headers=clerk,
    )
    assert registered.status_code == 201, registered.text
    account = registered.json()["id"]
    assert registered.headers["Location"] == f"/api/v1/business-customers/{account}"

    # The contractor applies for a road opening and bills it to the account.
    application = permit_request(FixedClock(datetime.now(UTC)))
    submitted = http.post("/api/v1/cases", json=application, headers=contractor)
    assert submitted.status_code == 201, submitted.text
    case = f"/api/v1/cases/{submitted.json()['id']}"
    billed = http.post(f"{case}/billing", json={"business_customer": account}, headers=contractor)
    assert billed.status_code == 200, billed.text
    assert billed.json()["payment"]["business_customer"] == account

    # The clerk approves; the tariff sets the fee; the case waits for the payment.
    for command, body in (
        ("claim", None),
        ("confirm-complete", None),
        ("decide", {**DECISION, "hearing_held_on": today.isoformat()}),
    ):
        done = http.post(f"{case}/{command}", json=body, headers=clerk)
        assert done.status_code == 200, done.text
    decided = done.json()
    assert decided["status"] == "awaiting_payment"
    charges = decided["payment"]["charges"]
    kassenzeichen = [c["kassenzeichen"] for c in charges]
    total = sum(float(c["amount"]) for c in charges)
    assert float(decided["decision"]["fee"]) == float(charges[0]["amount"])

    # No permit before the money has arrived.
    early = http.post(f"{case}/documents", json={"kind": "decision"}, headers=clerk)
    assert early.status_code == 422, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in early.json()["errors"]] == ["kind"]

    # The contractor opens a payment request for the charges and pays on the checkout.
    requested = http.post(
        "/api/v1/payment-requests",
        json={
            "business_customer": account,
            "kassenzeichen": kassenzeichen,
            "payer": {
                "company": "Brenner Tiefbau GmbH",
                "contact": "Jörg Brenner",
                "email": "buchhaltung@brenner-tiefbau.example",
            },
        },
        headers=contractor,
    )
    assert requested.status_code == 201, requested.text
    request = requested.json()
    assert requested.headers["Location"] == f"/api/v1/payment-requests/{request['id']}"
    assert request["status"] == "pending"
    paid = httpx.post(request["checkout_url"] + "/pay", json={}, timeout=30)
    assert paid.status_code == 200, paid.text

    # The provider's signed callback reaches the server; the case continues by itself.
    def case_decided() -> bool:
        return bool(http.get(case, headers=contractor).json()["status"] == "decided")

    until(case_decided, "the case continuing after the payment", server.log)
    seen = http.get(f"/api/v1/payment-requests/{request['id']}", headers=contractor).json()
    assert (seen["status"], float(seen["paid"])) == ("paid", total)
    for kz in kassenzeichen:
        receivable = http.get(f"/api/v1/receivables/{kz}", headers=contractor).json()
        assert receivable["status"] == "settled", receivable
        assert [p["channel"] for p in receivable["payments"]] == ["provider"]

    # Now the Bescheid is issued, naming the fee's Kassenzeichen.
    issued = http.post(f"{case}/documents", json={"kind": "decision"}, headers=clerk)
    assert issued.status_code == 201, issued.text
    assert issued.json()["cash_reference"] == kassenzeichen[0]

    # Reconciliation: the provider's settlement report of today matches what was recorded.
    reconciled = server.vorgang("payments", "reconcile", "--date", today.isoformat())
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    usingen = [line for line in reconciled.stdout.splitlines() if line.startswith("usingen ")]
    assert len(usingen) == 1
    assert usingen[0].endswith("balanced"), reconciled.stdout
    matched = next(line for line in reconciled.stdout.splitlines() if "matched" in line)
    assert f"{len(kassenzeichen)} rows" in " ".join(matched.split()), reconciled.stdout

    # The run is an event auditors read over HTTP; the contractor may not.
    runs_url = f"/api/v1/payments/reconciliations?day={today.isoformat()}"
    runs = http.get(runs_url, headers=bearer(Role.AUDITOR, "pruefung.usingen"))
    assert runs.status_code == 200, runs.text
    [run] = runs.json()
    assert run["balanced"] is True
    assert run["by"] == "cli:reconcile"
    assert sorted(row["kassenzeichen"] for row in run["matched"]) == sorted(kassenzeichen)
    assert run["missing"] == run["unexpected"] == []
    assert http.get(runs_url, headers=contractor).status_code == 403

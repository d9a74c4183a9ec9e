"""The tamper-evident log over HTTP (decision 35): verification, checkpoints, the public key."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang
from persistence.chain import checkpoint_message
from tests.api.conftest import NEW_CASE, Auth
from tests.infrastructure.test_integrity_chain import Raw


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A checkpoint once two records were chained."""
    return settings.model_copy(update={"integrity_checkpoint_every_events": 2})


def vorgang_of(client: TestClient) -> Vorgang:
    found: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    return found


def chained(vorgang: Vorgang, position: int) -> bool:
    """The chain (kept by the app's runners) has reached ``position``."""
    return vorgang.projections.wait_for("integrity_chain", position, timeout=120)


def submit(client: TestClient, auth: Auth, count: int) -> int:
    position = 0
    for _ in range(count):
        response = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("clerk"))
        assert response.status_code == 201, response.text
        position = response.json()["position"]
    return int(position)


def test_auditors_verify_both_chains_and_see_the_head_and_last_checkpoint(
    client: TestClient, auth: Auth
) -> None:
    head = submit(client, auth, 3)
    answer = client.get("/api/v1/integrity", params={"full": "true"}, headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"chains", "head", "last_checkpoint", "last_full_run"}
    log = body["chains"][0]
    assert log == {
        "chain": "log",
        "ok": True,
        "verified_from": 0,
        "verified_to": log["verified_to"],
        "records": log["records"],
        "checkpoints_checked": log["checkpoints_checked"],
        "disagreement": None,
    }
    assert log["verified_to"] >= head
    assert log["checkpoints_checked"] >= 1
    assert body["head"] >= head
    assert set(body["last_checkpoint"]) == {
        "chain",
        "position",
        "link",
        "signed_at",
        "key_id",
        "signature",
    }
    assert [c["chain"] for c in body["chains"]][:1] == ["log"]


def test_full_true_gives_the_last_full_runs_signed_result_and_never_walks_the_whole_log(
    client: TestClient, auth: Auth
) -> None:
    head = submit(client, auth, 3)
    vorgang = vorgang_of(client)
    assert chained(vorgang, head)
    (cli, _) = vorgang.integrity.verify(full=True, by="cli")  # `vorgang audit verify --full`
    assert cli.ok
    reached = vorgang.integrity.latest_checkpoint("log")
    assert reached is not None
    body = client.get("/api/v1/integrity", params={"full": "true"}, headers=auth("auditor")).json()
    assert body["chains"][0]["verified_from"] == reached.position > 0  # from the checkpoint
    assert body["last_full_run"] == {
        "verified_at": body["last_full_run"]["verified_at"],
        "verified_to": cli.verified_to,
        "records": cli.records,
        "ok": True,
        "verified_by": "cli",
    }
    plain = client.get("/api/v1/integrity", headers=auth("auditor")).json()
    assert plain["last_full_run"] is None


def test_a_flipped_bit_is_reported_with_its_position_and_kind(
    client: TestClient, auth: Auth
) -> None:
    head = submit(client, auth, 3)
    vorgang = vorgang_of(client)
    assert chained(vorgang, head)
    Raw(vorgang).flip_a_bit(2)
    body = client.get("/api/v1/integrity", params={"full": "true"}, headers=auth("auditor")).json()
    found = body["chains"][0]["disagreement"]
    assert body["chains"][0]["ok"] is False
    assert (found["kind"], found["position"]) == ("altered", 2)


def test_checkpoints_verify_with_the_published_key_alone(client: TestClient, auth: Auth) -> None:
    head = submit(client, auth, 3)
    assert chained(vorgang_of(client), head)
    key = client.get("/api/v1/integrity/key")  # public: no token
    assert key.status_code == 200, key.text
    current = key.json()["current"]
    assert current["algorithm"] == "Ed25519"
    assert key.json()["previous"] == []
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(current["public_key"]))
    pem = load_pem_public_key(current["pem"].encode())
    assert isinstance(pem, Ed25519PublicKey)
    page = client.get(
        "/api/v1/integrity/checkpoints", params={"limit": 1}, headers=auth("integrator")
    )
    assert page.status_code == 200, page.text
    first: dict[str, Any] = page.json()
    assert first["chain"] == "log"
    assert len(first["checkpoints"]) == 1
    assert first["next_after"] == first["checkpoints"][0]["position"]
    rest = client.get(
        "/api/v1/integrity/checkpoints",
        params={"after": first["next_after"], "limit": 1000},
        headers=auth("supervisor"),
    ).json()
    assert rest["next_after"] is None
    every = first["checkpoints"] + rest["checkpoints"]
    assert len(every) >= 2
    for checkpoint in every:
        assert checkpoint["key_id"] == current["key_id"]
        message = checkpoint_message(
            checkpoint["chain"],
            checkpoint["position"],
            bytes.fromhex(checkpoint["link"]),
            checkpoint["signed_at"],
            checkpoint["key_id"],
        )
        signature = base64.b64decode(checkpoint["signature"])
        public.verify(signature, message)  # raises if it does not verify
        pem.verify(signature, message)
    access = client.get(
        "/api/v1/integrity/checkpoints", params={"chain": "access-log"}, headers=auth("auditor")
    )
    assert access.status_code == 200
    assert access.json()["chain"] == "access-log"

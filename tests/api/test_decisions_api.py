"""Decision records, replay and state as of a moment, over HTTP, for auditors only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services.road_opening import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth

DECISION = {
    "outcome": "approved",
    "justification": "Voraussetzungen erfüllt",
    "legal_basis": "§ 16 HStrG",
    "discretion": "Die Aufgrabung beeinträchtigt den Gemeingebrauch nur kurz.",
}


def decided_permit(client: TestClient, auth: Auth, clock: FixedClock) -> str:
    body = {**NEW_CASE, "service": "road-opening", "data": example(berlin_date(clock.now()))}
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=body, headers=clerk).headers["Location"]
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    assert client.post(url + "/decide", json=DECISION, headers=clerk).status_code == 200
    return url


def test_auditors_read_decisions_and_replay_them(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = decided_permit(client, auth, clock)
    auditor = auth("auditor")
    records = client.get(url + "/decisions", headers=auditor).json()
    assert len(records) == 1
    assert records[0]["fee"] == "73.40"
    assert records[0]["legal_remedy_notice"] == records[0]["remedy_notice"]["text"]
    assert records[0]["conditions"] == []
    assert records[0]["discretion"] == DECISION["discretion"]
    assert records[0]["issuing_authority"] == "Der Magistrat der Stadt Usingen"
    assert {r["rules_id"] for r in records[0]["rules"]} == {
        "road-opening-fee",
        "road-opening-lead-time",
        "road-opening-regime",
        "road-opening-security-deposit",
        "road-opening-special-use-fee",
    }
    replayed = client.get(url + "/decisions/1/replay", headers=auditor).json()
    assert replayed["verdict"] == "consistent"
    assert replayed["differences"] == []
    assert client.get(url + "/decisions/2/replay", headers=auditor).status_code == 404
    assert client.get(url + "/decisions", headers=auth("clerk")).status_code == 403
    assert (
        client.get(url + "/decisions", headers=auth("auditor", tenant="schmitten")).status_code
        == 404
    )
    assert client.get(url + "/decisions/1/replay", headers=auth("supervisor")).status_code == 200


def test_state_as_recorded_at_a_moment(client: TestClient, auth: Auth, clock: FixedClock) -> None:
    url = decided_permit(client, auth, clock)
    auditor = auth("auditor")
    now = datetime.now(UTC)
    assert (
        client.get(url, params={"as_of": now.isoformat()}, headers=auditor).json()["status"]
        == "decided"
    )
    before = client.get(
        url, params={"as_of": (now - timedelta(days=1)).isoformat()}, headers=auditor
    )
    assert before.status_code == 404
    assert (
        client.get(url, params={"as_of": now.isoformat()}, headers=auth("clerk")).status_code == 403
    )
    naive = client.get(url, params={"as_of": "2026-03-02T09:00:00"}, headers=auditor)
    assert naive.status_code == 422
    assert naive.json()["errors"][0] == {
        "in": "query",
        "field": "as_of",
        "message": naive.json()["errors"][0]["message"],
    }

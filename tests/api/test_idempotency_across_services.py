"""An Idempotency-Key is one application: reused for another service it is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services.road_opening import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth


def test_the_same_key_for_another_service_is_refused_and_a_true_retry_still_finds_the_case(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    headers = {**auth("applicant", sub="portal:4711"), "Idempotency-Key": "form-77"}
    first = client.post("/api/v1/cases", json=NEW_CASE, headers=headers)
    assert first.status_code == 201
    road_opening = {
        **NEW_CASE,
        "service": "road-opening",
        "data": example(berlin_date(clock.now())),
    }
    other = client.post("/api/v1/cases", json=road_opening, headers=headers)
    assert other.status_code == 422, other.json()
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    retry = client.post("/api/v1/cases", json=NEW_CASE, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    headers["Idempotency-Key"] = "form-78"
    then = client.post("/api/v1/cases", json=NEW_CASE, headers=headers)
    assert then.json()["reference"] == "USI-2026-000002"  # no case was made in between


def test_the_same_key_of_another_caller_is_their_own_application(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    road_opening = {
        **NEW_CASE,
        "service": "road-opening",
        "data": example(berlin_date(clock.now())),
    }
    one = client.post(
        "/api/v1/cases",
        json=NEW_CASE,
        headers={**auth("applicant", sub="portal:1"), "Idempotency-Key": "form-1"},
    )
    two = client.post(
        "/api/v1/cases",
        json=road_opening,
        headers={**auth("applicant", sub="portal:2"), "Idempotency-Key": "form-1"},
    )
    assert (one.status_code, two.status_code) == (201, 201)

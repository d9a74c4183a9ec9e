"""Impossible dates in an application are a 422 naming the field, never a stored case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services import resident_parking, road_opening
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth


def submit(client: TestClient, auth: Auth, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:1"))


def fields(response: Any) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


@pytest.mark.parametrize("born", ["9999-12-31", "1899-12-31", "0001-01-01", "tomorrow"])
def test_an_impossible_birth_date_is_refused_naming_it(
    client: TestClient, auth: Auth, clock: FixedClock, born: str
) -> None:
    if born == "tomorrow":
        born = (berlin_date(clock.now()) + timedelta(days=1)).isoformat()
    applicant = {**NEW_CASE["applicant"], "birth_date": born}
    response = submit(client, auth, {**NEW_CASE, "applicant": applicant})
    assert response.status_code == 422, response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert fields(response) == {"applicant.birth_date"}


def test_a_birth_date_that_has_been_is_accepted(client: TestClient, auth: Auth) -> None:
    applicant = {**NEW_CASE["applicant"], "birth_date": "1900-01-01"}
    assert submit(client, auth, {**NEW_CASE, "applicant": applicant}).status_code == 201


@pytest.mark.parametrize("end", ["9999-12-31", "2200-01-01"])
def test_works_planned_to_end_in_an_impossible_year_are_refused(
    client: TestClient, auth: Auth, clock: FixedClock, end: str
) -> None:
    data = road_opening.example(berlin_date(clock.now()))
    data["planned_period"]["end"] = end
    response = submit(client, auth, {**NEW_CASE, "service": "road-opening", "data": data})
    assert response.status_code == 422, response.json()
    assert fields(response) == {"data.planned_period.end"}


def test_a_vehicle_holders_consent_dated_before_1900_is_refused(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    data = resident_parking.example(berlin_date(clock.now()))
    data["vehicle"]["holder"] = "company_car"
    data["vehicle"]["holder_consent"] = {
        "holder_name": "Hochtaunus Logistik GmbH",
        "given_on": "0001-01-01",
        "document": "Überlassungserklärung",
    }
    response = submit(client, auth, {**NEW_CASE, "service": "resident-parking", "data": data})
    assert response.status_code == 422, response.json()
    assert fields(response) == {"data.vehicle.holder_consent.given_on"}

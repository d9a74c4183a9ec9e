"""The service catalogue: every example validates against its schema and the API accepts it."""

from __future__ import annotations

from datetime import timedelta

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.tenants import TENANTS
from tests.api.conftest import NEW_CASE, Auth


def test_the_catalogue_lists_every_service_with_schema_periods_fees_and_retention(
    client: TestClient,
) -> None:
    services = {s["id"]: s for s in client.get("/api/v1/services").json()}
    assert {"general", "road-opening", "resident-parking"} <= set(services)
    road = services["road-opening"]
    assert road["label_de"].startswith("Aufgrabungsgenehmigung")
    assert road["label_en"] == "Road opening permit"
    assert road["processing_period_working_days"] == 10
    assert road["lead_time_working_days"] == 10
    assert road["fee_tariff"]["version"] == "2025-01"
    assert road["deemed_approval"] is False
    assert road["retention_years"] == 10
    assert "GemHVO" in road["retention_legal_basis"]
    assert "dimensions" in road["application_schema"]["properties"]
    # Files with fee assessments are kept at least the legal minimum for vouchers (7 years,
    # domain.retention), however short the service's own retention (3 years for these two).
    for short in ("resident-parking", "traffic-sign-order"):
        assert services[short]["retention_years"] == 7
        assert services[short]["retention_legal_basis"].startswith("GemHVO (Hessen)")
    assert services["general"]["retention_years"] == 6
    assert "GemHVO" not in services["general"]["retention_legal_basis"]


def test_every_example_validates_against_its_schema_and_is_accepted(
    client: TestClient, auth: Auth
) -> None:
    for service in client.get("/api/v1/services").json():
        jsonschema.validate(service["example"], service["application_schema"])
        if service["examples_by_town"] is not None:  # what a town has open: nothing yet
            assert service["examples_by_town"] == {}, service["id"]
            assert "usingen" in service["example_note"]
            continue
        assert service["example_note"] is None
        response = client.post(
            "/api/v1/cases",
            json={**NEW_CASE, "service": service["id"], "data": service["example"]},
            headers=auth("applicant", sub="portal:1"),
        )
        assert response.status_code == 201, response.json()


def test_one_service_and_an_unknown_one(client: TestClient) -> None:
    assert client.get("/api/v1/services/road-opening").json()["id"] == "road-opening"
    missing = client.get("/api/v1/services/moon-landing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_holiday_example_names_an_offering_open_in_each_town_and_is_accepted_there(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    now = clock.now()
    for number, town in enumerate(TENANTS):
        offering = {
            "year": 2026,
            "code": f"SPIEL-{number}",
            "activity": "Spielenachmittag",
            "description": "Brettspiele im Bürgerhaus.",
            "location": "Bürgerhaus",
            "starts_on": "2026-07-20",
            "ends_on": "2026-07-20",
            "min_age": 6 + number,  # each town its own age range: each example fits its own
            "max_age": 12,
            "places": 20,
            "fee": "0.00",
            "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=30)).isoformat(),
            "staff": [],
        }
        staff = auth("clerk", sub=f"clerk.{town}", tenant=town)
        published = client.post("/api/v1/holiday-offerings", json=offering, headers=staff)
        assert published.status_code == 201, published.json()
    service = client.get("/api/v1/services/holiday-registration").json()
    assert set(service["examples_by_town"]) == set(TENANTS)
    assert service["example_note"] is None
    assert service["example"] == service["examples_by_town"][next(iter(TENANTS))]
    listed = {s["id"]: s for s in client.get("/api/v1/services").json()}
    assert listed["holiday-registration"]["examples_by_town"] == service["examples_by_town"]
    for town, example in service["examples_by_town"].items():
        jsonschema.validate(example, service["application_schema"])
        response = client.post(
            "/api/v1/cases",
            json={**NEW_CASE, "tenant": town, "service": service["id"], "data": example},
            headers=auth("applicant", sub=f"portal:{town}", tenant=town),
        )
        assert response.status_code == 201, (town, response.json())


def test_the_market_stall_example_names_a_market_open_in_each_town_and_is_accepted_there(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    now = clock.now()
    kinds = ("kerb", "christmas_market", "other", "kerb")
    categories = (["food", "drinks"], ["crafts", "christmas_goods"], ["ride"], ["games"])
    for number, town in enumerate(TENANTS):  # each town its market, its regime, its wants
        market = {
            "year": 2026,
            "code": f"MARKT-{number}",
            "name": "Markt",
            "kind": kinds[number],
            "regime": "festgesetzt" if number % 2 == 0 else "town_rules",
            "days": ["2026-12-04"],
            "site": "Marktplatz",
            "pitches": [
                {
                    "number": "1",
                    "frontage_m": "8.00",
                    "electricity": True,
                    "categories": categories[number],
                }
            ],
            "categories": categories[number],
            "criteria": {
                "version": "1",
                "criteria": [
                    {"key": "q", "label": "Q", "weight": "1", "kind": "scored", "max_points": 5}
                ],
            },
            "newcomer_share": "0",
            "applications_from": (now - timedelta(hours=1)).isoformat(),
            "deadline": (now + timedelta(days=30)).isoformat(),
            "decisions_by": "2026-10-30",
            "offer_days": 7,
            "staff": [f"clerk.{town}"],
        }
        staff = auth("clerk", sub=f"clerk.{town}", tenant=town)
        published = client.post("/api/v1/markets", json=market, headers=staff)
        assert published.status_code == 201, published.json()
    service = client.get("/api/v1/services/market-stall").json()
    assert set(service["examples_by_town"]) == set(TENANTS)
    assert service["example_note"] is None
    listed = {s["id"]: s for s in client.get("/api/v1/services").json()}
    assert listed["market-stall"]["examples_by_town"] == service["examples_by_town"]
    for number, (town, example) in enumerate(service["examples_by_town"].items()):
        assert example["category"] in categories[number], town
        jsonschema.validate(example, service["application_schema"])
        response = client.post(
            "/api/v1/cases",
            json={**NEW_CASE, "tenant": town, "service": service["id"], "data": example},
            headers=auth("applicant", sub=f"portal:{town}", tenant=town),
        )
        assert response.status_code == 201, (town, response.json())

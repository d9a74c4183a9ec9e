"""A town's reading campaign carried through every step by HTTP alone, on SQLite and
PostgreSQL: meters installed, a campaign opened, readings reported (accepted, refused,
flagged, of an unknown meter), a clerk's correction and assignment, the estimates after the
deadline that replay from their record, and the campaign's statistics from the read model.

Usingen's rules (``domain.rules.water_meters``, example configuration): a consumption per day
above twice the history's average is flagged; an estimate takes the same period of earlier
years. Each meter used 100 m³ in 2025 (about 0.27 m³ a day).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.water.meter import meter_id
from tests.api.conftest import NEW_CASE, Auth

SERVICE = "water-meter-reading"
METERS = ("WZ-USI-000001", "WZ-USI-000002", "WZ-USI-000003")


def on(clock: FixedClock, day: date) -> None:
    """Move the clock to the morning of a day (08:00 UTC, in Berlin the same day)."""
    clock.set(clock.now().replace(year=day.year, month=day.month, day=day.day, hour=8))


def reading(
    client: TestClient, auth: Auth, number: str, value: str, read_on: date, **more: Any
) -> Any:
    """A customer reports a reading; the answer as it came."""
    return client.post(
        "/api/v1/cases",
        json={
            **NEW_CASE,
            "service": SERVICE,
            "data": {
                "meter_number": number,
                "reading": value,
                "read_on": read_on.isoformat(),
                **more,
            },
        },
        headers=auth("applicant", sub=f"portal:{number}"),
    )


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def meter(client: TestClient, auth: Auth, number: str) -> dict[str, Any]:
    """A meter with every reading (its id follows from the town and its number)."""
    found = client.get(f"/api/v1/water-meters/{meter_id('usingen', number)}", headers=auth("clerk"))
    assert found.status_code == 200, found.json()
    body: dict[str, Any] = found.json()
    return body


def test_a_campaign_goes_through_every_step_by_http_alone(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    # ---- the meters, installed at the start of 2025 with 100 m³ on the counter
    on(clock, date(2025, 1, 6))
    for number in METERS:
        installed = client.post(
            "/api/v1/water-meters",
            json={
                "meter_number": number,
                "property_id": f"USI-VS-{number[-6:]}",
                "installed_on": "2025-01-02",
                "calibration_valid_until": "2030-12-31",
                "digits": 5,
                "start_value": "100.000",
            },
            headers=clerk,
        )
        assert installed.status_code == 201, installed.json()
    # ---- 2025's campaign: every meter read at 200 m³ (100 m³ in the year)
    on(clock, date(2025, 11, 20))
    opened = client.post(
        "/api/v1/water-campaigns",
        json={"year": 2025, "starts_on": "2025-12-01", "deadline": "2025-12-31"},
        headers=clerk,
    )
    assert opened.status_code == 201, opened.json()
    on(clock, date(2026, 1, 2))
    for number in METERS:
        accepted(reading(client, auth, number, "200.000", date(2025, 12, 31)))
    # ---- 2026's campaign
    on(clock, date(2026, 11, 2))
    opened = client.post(
        "/api/v1/water-campaigns",
        json={"year": 2026, "starts_on": "2026-12-01", "deadline": "2026-12-15"},
        headers=clerk,
    )
    assert opened.status_code == 201, opened.json()
    on(clock, date(2026, 12, 7))
    # in line: accepted, the file closed at once, the campaign answered
    first = accepted(reading(client, auth, METERS[0], "296.500", date(2026, 12, 6)))
    assert first["status"] == "closed"
    # a digit misread, lower than the last reading: refused naming the field, nothing stored
    refused = reading(client, auth, METERS[0], "196.500", date(2026, 12, 7))
    assert refused.status_code == 422
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["data.reading"]
    assert len(meter(client, auth, METERS[0])["readings"]) == 3  # installed, 2025, 2026
    # far above the history: flagged for a clerk, who corrects it with a reason
    flagged = accepted(reading(client, auth, METERS[1], "2960.000", date(2026, 12, 6)))
    assert flagged["status"] == "reading_flagged"
    corrected = client.post(
        f"/api/v1/cases/{flagged['id']}/reading-correction",
        json={"value": "296.000", "reason": "Komma verrutscht (Foto)"},
        headers=clerk,
    )
    assert corrected.status_code == 200, corrected.json()
    assert corrected.json()["status"] == "closed"
    second = meter(client, auth, METERS[1])
    original, correction = second["readings"][-2:]
    assert (original["kind"], Decimal(original["value"])) == ("reported", Decimal("2960"))
    assert (correction["kind"], Decimal(correction["value"]), correction["corrects"]) == (
        "corrected",
        Decimal("296"),
        original["number"],
    )
    # a number with digits swapped: left for a clerk, who names the meter it was meant for
    unknown = accepted(reading(client, auth, "WZ-USI-000010", "290.000", date(2026, 12, 6)))
    assert unknown["status"] == "meter_unknown"
    assigned = client.post(
        f"/api/v1/cases/{unknown['id']}/meter-assignment",
        json={"meter_number": "WZ-USI-000001", "reason": "Zahlendreher laut Foto"},
        headers=clerk,
    )
    # the meter was read the day before at 296.5: lower, so the assignment is refused
    assert assigned.status_code == 422
    assert [e["field"] for e in assigned.json()["errors"]] == ["meter_number"]
    rejected = client.post(
        f"/api/v1/cases/{unknown['id']}/reading-rejection",
        json={"reason": "Kein Zähler der Stadt Usingen mit dieser Nummer"},
        headers=clerk,
    )
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["status"] == "closed"
    # ---- no estimates before the deadline; after it, the meter not read is estimated
    early = client.post("/api/v1/water-campaigns/2026/estimates", headers=clerk)
    assert early.status_code == 422
    on(clock, date(2026, 12, 16))
    run = client.post("/api/v1/water-campaigns/2026/estimates", headers=clerk)
    assert run.status_code == 200, run.json()
    assert (run.json()["estimated"], run.json()["already_read"]) == (1, 2)
    again = client.post("/api/v1/water-campaigns/2026/estimates", headers=clerk)
    assert (again.json()["estimated"], again.json()["already_estimated"]) == (0, 1)
    third = meter(client, auth, METERS[2])
    estimate = third["readings"][-1]
    assert (estimate["kind"], estimate["read_on"], estimate["campaign_year"]) == (
        "estimated",
        "2026-12-15",
        2026,
    )
    replay = client.get(
        f"/api/v1/water-meters/{third['id']}/readings/{estimate['number']}/replay",
        headers=clerk,
    )
    assert replay.status_code == 200, replay.json()
    assert replay.json()["matches"] is True
    assert Decimal(replay.json()["replayed"]["value"]) == Decimal(estimate["value"])
    # ---- the campaign's statistics, from the read model
    statistics = client.get(
        "/api/v1/water-campaigns/2026",
        params={"min_position": third["position"]},
        headers=clerk,
    )
    assert statistics.status_code == 200, statistics.json()
    counted = statistics.json()["statistics"]
    assert {k: counted[k] for k in ("meters", "reported", "flagged", "estimated", "missing")} == {
        "meters": 3,
        "reported": 2,
        "flagged": 1,
        "estimated": 1,
        "missing": 0,
    }
    assert (counted["corrected"], counted["flagged_open"], counted["meter_unknown_open"]) == (
        1,
        0,
        0,
    )
    closed = client.post("/api/v1/water-campaigns/2026/close", headers=clerk)
    assert closed.status_code == 200, closed.json()
    assert closed.json()["closed_at"] is not None

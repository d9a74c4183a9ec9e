"""Water meters and reading campaigns over HTTP: every route, bad input naming its field,
another town's staff and applicants refused, 409 on a taken number, 503 when the database
fails."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from application.water_meters import WaterMeterService
from domain.actor import Actor, Role
from domain.water.meter import WaterMeter
from infrastructure.wiring import Vorgang
from tests.api.conftest import Auth

PROBLEM = "application/problem+json"
METER = {
    "meter_number": "WZ-USI-000123",
    "property_id": "USI-0815",
    "installed_on": "2023-01-01",
    "calibration_valid_until": "2028-12-31",
    "digits": 5,
    "start_value": "0.000",
}
NEW_METER = {
    "meter_number": "WZ-USI-000124",
    "calibration_valid_until": "2032-12-31",
    "digits": 5,
    "start_value": "0.000",
}
CAMPAIGN = {"year": 2025, "starts_on": "2025-11-01", "deadline": "2026-01-15"}


def vorgang_of(client: TestClient) -> Vorgang:
    found: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    return found


def names(response: Any, status: int = 422) -> list[tuple[str, str]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return [(e["in"], e["field"]) for e in response.json()["errors"]]


def install(client: TestClient, auth: Auth, **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/water-meters", json={**METER, **changes}, headers=auth("clerk"))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def read(client: TestClient, meter: str, on: date, value: str) -> None:
    """A reported reading recorded as the reading case records it (checked on its day, or
    on the first day of the towns' rules for days before them)."""
    store = vorgang_of(client).store
    found: WaterMeter = store.repository.get(UUID(meter))
    found.record_reported(
        case_id=uuid4(),
        value=Decimal(value),
        read_on=on,
        rollover_declared=False,
        today=max(on, date(2025, 1, 2)),
        actor=Actor("clerk.usingen", "Clerk", Role.CLERK, "usingen"),
        at=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
    )
    store.save(found)


# ------------------------------------------------------------------ meters


def test_a_clerk_installs_reads_and_lists_a_meter(client: TestClient, auth: Auth) -> None:
    answer = client.post("/api/v1/water-meters", json=METER, headers=auth("clerk"))
    assert answer.status_code == 201, answer.text
    meter = answer.json()
    assert answer.headers["Location"] == f"/api/v1/water-meters/{meter['id']}"
    assert answer.headers["ETag"] == '"1"'
    assert (meter["meter_number"], meter["tenant"], meter["version"]) == (
        "WZ-USI-000123",
        "usingen",
        1,
    )
    assert meter["calibration"] == {
        "valid_until": "2028-12-31",
        "expired": False,
        "days_left": 1035,
    }
    assert [(r["number"], r["kind"], r["value"]) for r in meter["readings"]] == [
        (1, "installed", "0.000")
    ]
    sub = install(client, auth, meter_number="WZ-GARDEN-1", main_meter="wz-usi-000123")
    assert sub["main_meter"] == "WZ-USI-000123"

    read_back = client.get(f"/api/v1/water-meters/{meter['id']}", headers=auth("supervisor"))
    assert read_back.status_code == 200
    assert read_back.json()["sub_meters"] == [{"id": sub["id"], "meter_number": "WZ-GARDEN-1"}]

    listed = client.get(
        "/api/v1/water-meters",
        params={"property_id": "USI-0815", "min_position": sub["position"]},
        headers=auth("clerk"),
    )
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["meter_number"], r["main_meter"]) for r in rows] == [
        ("WZ-GARDEN-1", meter["id"]),
        ("WZ-USI-000123", None),
    ]
    page = client.get(
        "/api/v1/water-meters", params={"limit": 1, "after": rows[0]["cursor"]}, headers=auth()
    )
    assert [r["meter_number"] for r in page.json()] == ["WZ-USI-000123"]
    one = client.get(
        "/api/v1/water-meters", params={"meter_number": "wz-usi-000123"}, headers=auth()
    )
    assert [r["meter_id"] for r in one.json()] == [meter["id"]]


def test_a_meter_number_the_town_has_is_409_naming_it(client: TestClient, auth: Auth) -> None:
    install(client, auth)
    again = client.post(
        "/api/v1/water-meters", json={**METER, "meter_number": " wz-usi-000123"}, headers=auth()
    )
    assert names(again, 409) == [("body", "meter_number")]
    assert "WZ-USI-000123" in again.json()["detail"]
    elsewhere = client.post("/api/v1/water-meters", json=METER, headers=auth(tenant="schmitten"))
    assert elsewhere.status_code == 201  # another town may have the number


BAD_INSTALLS = [
    ({"meter_number": "ab"}, "meter_number"),
    ({"meter_number": "WZ/0815/ÄÖ"}, "meter_number"),
    ({"property_id": ""}, "property_id"),
    ({"installed_on": "2023-02-30"}, "installed_on"),
    ({"calibration_valid_until": "2022-12-31"}, "calibration_valid_until"),
    ({"digits": 0}, "digits"),
    ({"digits": 13}, "digits"),
    ({"start_value": "-1"}, "start_value"),
    ({"start_value": "1.2345"}, "start_value"),
    ({"start_value": "NaN"}, "start_value"),
    ({"start_value": "100000"}, "start_value"),
    ({"main_meter": "WZ-NONE"}, "main_meter"),
    ({"colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INSTALLS)
def test_a_bad_installation_names_its_field(
    client: TestClient, auth: Auth, change: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/water-meters", json={**METER, **change}, headers=auth())
    assert names(answer) == [("body", field)]


def test_bad_commands_on_a_meter_name_their_fields(client: TestClient, auth: Auth) -> None:
    meter = install(client, auth)["id"]
    base = f"/api/v1/water-meters/{meter}"
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("corrections", {"read_on": "2023-01-01", "value": "1.0", "reason": ""}, "reason"),
        ("corrections", {"read_on": "2023-13-01", "value": "1.0", "reason": "r"}, "read_on"),
        ("corrections", {"read_on": "2023-01-02", "value": "1.0", "reason": "r"}, "read_on"),
        ("corrections", {"read_on": "2023-01-01", "value": "x", "reason": "r"}, "value"),
        ("corrections", {"read_on": "2023-01-01", "reason": "r"}, "value"),
        ("removal", {"removed_on": "2026-03-01", "final_value": "-2"}, "final_value"),
        ("removal", {"removed_on": "2026-03-09", "final_value": "2"}, "final_value"),
        ("removal", {"final_value": "2"}, "removed_on"),
        ("recalibration", {"calibration_valid_until": "2022-01-01"}, "calibration_valid_until"),
        ("recalibration", {"calibration_valid_until": "soon"}, "calibration_valid_until"),
        (
            "exchange",
            {"removed_on": "2026-03-01", "final_value": "2", "new": {**NEW_METER, "digits": 0}},
            "new.digits",
        ),
        (
            "exchange",
            {"removed_on": "2026-03-01", "final_value": "2", "new": {**NEW_METER, "x": 1}},
            "new.x",
        ),
        (
            "exchange",
            {
                "removed_on": "2026-03-01",
                "final_value": "2",
                "new": {**NEW_METER, "calibration_valid_until": "2026-02-01"},
            },
            "new.calibration_valid_until",
        ),
        (
            "exchange",
            {
                "removed_on": "2026-03-01",
                "final_value": "2",
                "new": {**NEW_METER, "meter_number": "W!"},
            },
            "new.meter_number",
        ),
        ("exchange", {"removed_on": "2026-03-01", "final_value": "2"}, "new"),
    ]
    for command, body, field in calls:
        answer = client.post(f"{base}/{command}", json=body, headers=auth())
        assert names(answer) == [("body", field)], (command, body, answer.json())
    assert client.get(base, headers=auth()).json()["version"] == 1  # nothing was recorded
    bad_id = client.get("/api/v1/water-meters/not-a-uuid", headers=auth())
    assert names(bad_id) == [("path", "meter_id")]
    bad_number = client.get(f"{base}/readings/0/replay", headers=auth())
    assert names(bad_number) == [("path", "number")]
    bad_after = client.get("/api/v1/water-meters", params={"after": "tampered"}, headers=auth())
    assert names(bad_after) == [("query", "after")]
    bad_limit = client.get("/api/v1/water-meters", params={"limit": 0}, headers=auth())
    assert names(bad_limit) == [("query", "limit")]


def test_a_correction_keeps_the_original_reading(client: TestClient, auth: Auth) -> None:
    meter = install(client, auth)["id"]
    read(client, meter, date(2024, 12, 1), "110.000")
    answer = client.post(
        f"/api/v1/water-meters/{meter}/corrections",
        json={"read_on": "2024-12-01", "value": 101, "reason": "Zahlendreher"},
        headers=auth("supervisor"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] == '"3"'
    readings = answer.json()["readings"]
    assert [(r["kind"], r["value"], r["corrects"], r["reason"]) for r in readings[1:]] == [
        ("reported", "110.000", None, None),
        ("corrected", "101.000", 2, "Zahlendreher"),
    ]
    assert answer.json()["last_reading"]["value"] == "101.000"


def test_an_exchange_removes_the_old_meter_and_installs_the_new_one(
    client: TestClient, auth: Auth
) -> None:
    old = install(client, auth)["id"]
    read(client, old, date(2024, 12, 1), "100.000")
    install(client, auth, meter_number="WZ-TAKEN")
    body = {"removed_on": "2026-02-27", "final_value": "212.5", "new": NEW_METER}
    taken = client.post(
        f"/api/v1/water-meters/{old}/exchange",
        json={**body, "new": {**NEW_METER, "meter_number": "wz-taken"}},
        headers=auth(),
    )
    assert names(taken, 409) == [("body", "new.meter_number")]
    assert client.get(f"/api/v1/water-meters/{old}", headers=auth()).json()["removed_on"] is None

    answer = client.post(f"/api/v1/water-meters/{old}/exchange", json=body, headers=auth())

    assert answer.status_code == 200, answer.text
    removed, installed = answer.json()["removed"], answer.json()["installed"]
    assert answer.headers["Location"] == f"/api/v1/water-meters/{installed['id']}"
    assert removed["removed_on"] == "2026-02-27"
    assert removed["readings"][-1]["kind"] == "removed"
    assert removed["readings"][-1]["consumption"] == "112.500"
    assert (installed["meter_number"], installed["property_id"], installed["installed_on"]) == (
        "WZ-USI-000124",
        "USI-0815",
        "2026-02-27",
    )
    again = client.post(f"/api/v1/water-meters/{old}/exchange", json=body, headers=auth())
    assert names(again) == [("body", "meter")]
    replay = client.get(f"/api/v1/water-meters/{old}/readings/3/replay", headers=auth())
    assert replay.status_code == 200, replay.text
    assert (replay.json()["kind"], replay.json()["matches"]) == ("removed", True)


def test_removal_and_recalibration(client: TestClient, auth: Auth) -> None:
    meter = install(client, auth)["id"]
    recalibrated = client.post(
        f"/api/v1/water-meters/{meter}/recalibration",
        json={"calibration_valid_until": "2030-12-31"},
        headers=auth(),
    )
    assert recalibrated.status_code == 200, recalibrated.text
    assert recalibrated.json()["calibration"]["valid_until"] == "2030-12-31"
    removed = client.post(
        f"/api/v1/water-meters/{meter}/removal",
        json={"removed_on": "2026-03-01", "final_value": 3},
        headers=auth(),
    )
    assert removed.status_code == 200, removed.text
    assert (removed.json()["removed_on"], removed.json()["version"]) == ("2026-03-01", 3)


# ------------------------------------------------------------------ who may


def test_another_towns_staff_do_not_find_the_meter_and_applicants_are_refused(
    client: TestClient, auth: Auth
) -> None:
    meter = install(client, auth)["id"]
    base = f"/api/v1/water-meters/{meter}"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("GET", f"{base}/readings/1/replay", None),
        ("POST", f"{base}/corrections", {"read_on": "2023-01-01", "value": 0, "reason": "r"}),
        ("POST", f"{base}/removal", {"removed_on": "2026-03-01", "final_value": 3}),
        ("POST", f"{base}/recalibration", {"calibration_valid_until": "2030-12-31"}),
        (
            "POST",
            f"{base}/exchange",
            {"removed_on": "2026-03-01", "final_value": 3, "new": NEW_METER},
        ),
    ]
    foreign = auth("clerk", tenant="schmitten")
    for method, url, body in calls:
        hidden = client.request(method, url, json=body, headers=foreign)
        assert hidden.status_code == 404, (url, hidden.text)
        assert hidden.headers["content-type"].startswith(PROBLEM)
    listed = client.get("/api/v1/water-meters", params={"tenant": "usingen"}, headers=foreign)
    assert listed.status_code == 403
    own = client.get("/api/v1/water-meters", headers=foreign)
    assert own.json() == []  # their own town has no meters
    applicant = auth("applicant", sub="portal:4711")
    for method, url, body in [
        *calls,
        ("POST", "/api/v1/water-meters", METER),
        ("GET", "/api/v1/water-meters", None),
        ("POST", "/api/v1/water-campaigns", CAMPAIGN),
        ("GET", "/api/v1/water-campaigns/2025", None),
        ("POST", "/api/v1/water-campaigns/2025/estimates", None),
        ("POST", "/api/v1/water-campaigns/2025/close", None),
    ]:
        refused = client.request(method, url, json=body, headers=applicant)
        assert refused.status_code == 403, (url, refused.text)
    assert client.get(base, headers=auth()).json()["version"] == 1
    delegated = auth("clerk", tenant="neu-anspach", on_behalf_of="usingen")
    assert client.get(base, headers=delegated).status_code == 200


def test_a_failing_database_is_503_with_retry_after(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(WaterMeterService, "install", down)
    answer = client.post("/api/v1/water-meters", json=METER, headers=auth())
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.headers["Retry-After"] == "2"


# ------------------------------------------------------------------ campaigns


def test_a_campaign_is_opened_estimated_after_its_deadline_once_and_closed(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    a = install(client, auth, meter_number="WZ-A")["id"]
    read(client, a, date(2023, 12, 1), "100.000")
    read(client, a, date(2024, 12, 1), "210.000")
    b = install(client, auth, meter_number="WZ-B")["id"]
    read(client, b, date(2025, 12, 5), "80.000")
    install(client, auth, meter_number="WZ-C", installed_on="2025-06-01")
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))

    opened = client.post("/api/v1/water-campaigns", json=CAMPAIGN, headers=auth())
    assert opened.status_code == 201, opened.text
    assert opened.headers["Location"] == "/api/v1/water-campaigns/2025"
    assert (opened.json()["deadline"], opened.json()["estimates_made_at"]) == ("2026-01-15", None)
    twice = client.post("/api/v1/water-campaigns", json=CAMPAIGN, headers=auth("supervisor"))
    assert names(twice, 409) == [("body", "year")]
    for body, field in (
        ({**CAMPAIGN, "year": 2024}, "starts_on"),
        ({**CAMPAIGN, "deadline": "2025-10-01"}, "deadline"),
        ({**CAMPAIGN, "year": "next"}, "year"),
        ({"year": 2026, "deadline": "2026-12-15"}, "starts_on"),
    ):
        assert names(client.post("/api/v1/water-campaigns", json=body, headers=auth())) == [
            ("body", field)
        ]

    clock.set(datetime(2026, 1, 15, 12, tzinfo=UTC))
    early = client.post("/api/v1/water-campaigns/2025/estimates", headers=auth())
    assert names(early) == [("body", "deadline")]
    assert names(client.post("/api/v1/water-campaigns/2025/close", headers=auth())) == [
        ("body", "deadline")
    ]

    clock.set(datetime(2026, 1, 16, 8, tzinfo=UTC))
    run = client.post("/api/v1/water-campaigns/2025/estimates", headers=auth())
    assert run.status_code == 200, run.text
    assert run.json() == {
        "tenant": "usingen",
        "year": 2025,
        "estimated": 1,
        "not_estimable": 1,
        "already_read": 1,
        "already_estimated": 0,
    }
    again = client.post("/api/v1/water-campaigns/2025/estimates", headers=auth("supervisor"))
    assert (again.json()["estimated"], again.json()["already_estimated"]) == (0, 1)
    meter = client.get(f"/api/v1/water-meters/{a}", headers=auth()).json()
    assert [r["kind"] for r in meter["readings"]] == [
        "installed",
        "reported",
        "reported",
        "estimated",
    ]
    estimate = client.get(f"/api/v1/water-meters/{a}/readings/4/replay", headers=auth()).json()
    assert (estimate["kind"], estimate["matches"]) == ("estimated", True)
    assert estimate["replayed"]["value"] == meter["readings"][3]["value"]
    check = client.get(f"/api/v1/water-meters/{a}/readings/3/replay", headers=auth()).json()
    assert (check["kind"], check["matches"], check["recorded"]["consumption"]) == (
        "reported",
        True,
        "110.000",
    )
    installation = client.get(f"/api/v1/water-meters/{a}/readings/1/replay", headers=auth())
    assert names(installation) == [("body", "number")]
    beyond = client.get(f"/api/v1/water-meters/{a}/readings/9/replay", headers=auth())
    assert beyond.status_code == 404

    campaign = client.get("/api/v1/water-campaigns/2025", headers=auth())
    assert campaign.status_code == 200, campaign.text
    assert [(r["estimated"], r["not_estimable"]) for r in campaign.json()["estimate_runs"]] == [
        (1, 1),
        (0, 1),
    ]
    statistics = campaign.json()["statistics"]
    assert (statistics["meters"], statistics["estimated"]) == (3, 1)

    closed = client.post("/api/v1/water-campaigns/2025/close", headers=auth())
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    after = client.post("/api/v1/water-campaigns/2025/estimates", headers=auth())
    assert names(after) == [("body", "campaign")]
    assert client.get("/api/v1/water-campaigns/2024", headers=auth()).status_code == 404
    foreign = client.get("/api/v1/water-campaigns/2025", headers=auth(tenant="schmitten"))
    assert foreign.status_code == 404  # their town opened none
    assert names(client.get("/api/v1/water-campaigns/1999", headers=auth())) == [("path", "year")]


def test_a_reading_submitted_as_a_case_is_not_estimated_and_replays(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    meter = install(client, auth, installed_on="2025-01-01")["id"]
    campaign = {"year": 2026, "starts_on": "2026-02-01", "deadline": "2026-03-10"}
    assert client.post("/api/v1/water-campaigns", json=campaign, headers=auth()).status_code == 201
    submission = {
        "tenant": "usingen",
        "service": "water-meter-reading",
        "applicant": {"name": "Max Mustermann", "email": "max@example.org"},
        "data": {
            "meter_number": "WZ-USI-000123",
            "reading": "50.125",
            "read_on": "2026-03-01",
            "read_by": "customer",
        },
    }
    case = client.post("/api/v1/cases", json=submission, headers=auth("applicant"))
    assert case.status_code == 201, case.text
    clock.set(datetime(2026, 3, 11, 8, tzinfo=UTC))

    run = client.post("/api/v1/water-campaigns/2026/estimates", headers=auth())

    assert (run.json()["estimated"], run.json()["already_read"]) == (0, 1)
    reading = client.get(f"/api/v1/water-meters/{meter}", headers=auth()).json()["readings"][1]
    assert (reading["kind"], reading["value"], reading["case_id"], reading["campaign_year"]) == (
        "reported",
        "50.125",
        case.json()["id"],
        2026,
    )
    replay = client.get(f"/api/v1/water-meters/{meter}/readings/2/replay", headers=auth())
    assert (replay.json()["matches"], replay.json()["recorded"]["consumption"]) == (True, "50.125")
    statistics = client.get("/api/v1/water-campaigns/2026", headers=auth()).json()["statistics"]
    assert (statistics["meters"], statistics["reported"], statistics["missing"]) == (1, 1, 0)

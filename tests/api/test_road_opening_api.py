"""A road opening permit carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services import traffic_sign_order
from domain.services.road_opening import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth

DECISION = {
    "outcome": "approved_with_conditions",
    "justification": "Die Aufgrabung ist zur Versorgung des Grundstücks erforderlich.",
    "legal_basis": "§§ 16, 18 HStrG",
    "conditions": ["Verkehrssicherung nach RSA 21", "Wiederherstellung nach ZTV A-StB"],
    "hearing_held_on": "2026-03-02",  # the conditions burden the applicant (§ 28 HVwVfG)
    # § 16 (1) HStrG gives discretion: the considerations (§ 39 (1) sentence 3 HVwVfG)
    "discretion": "Die Aufgrabung beeinträchtigt den Gemeingebrauch nur für wenige Tage.",
}


def permit_request(clock: FixedClock, **data_changes: Any) -> dict[str, Any]:
    data = example(berlin_date(clock.now()))
    data.update(data_changes)
    return {**NEW_CASE, "service": "road-opening", "data": data}


def test_a_road_opening_permit_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = permit_request(clock)
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:7"))
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]
    assert created.json()["data"]["contractor"]["contact_person"] == "Jörg Brenner"

    def post(path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (path, response.json())
        assert response.headers["ETag"] == f'"{response.json()["version"]}"', path
        return response.json()

    post("/claim")
    post("/confirm-complete")
    decided = post("/decide", DECISION)
    decision = decided["decision"]
    # 6.50 m x 0.80 m = 5.20 m²; 50.00 + 5.20 x 4.50 = 73.40 EUR under tariff 2025-01
    assert Decimal(decision["fee"]) == Decimal("73.40")
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["road-opening-fee"]["version"] == "2025-01"
    assert rules["road-opening-fee"]["inputs"]["area_m2"] == "5.20"
    assert rules["road-opening-lead-time"]["inputs"]["working_days"] == 10
    assert decision["expires_on"] == body["data"]["planned_period"]["end"]
    assert decision["discretion"] == DECISION["discretion"]
    assert decision["hearing"]["held_on"] == "2026-03-02"
    post("/notify", {"delivery": "counter"})
    clock.advance(timedelta(days=40))
    post("/mark-final")
    start = date.fromisoformat(body["data"]["planned_period"]["start"])
    clock.set(
        clock.now().replace(year=start.year, month=start.month, day=start.day) + timedelta(days=1)
    )
    post("/works-started", {"started_on": start.isoformat()})
    clock.advance(timedelta(days=5))
    post("/works-completed", {"completed_on": (start + timedelta(days=4)).isoformat()})
    clock.advance(timedelta(days=3))
    today = berlin_date(clock.now())
    defective = post(
        "/restoration-inspections",
        {
            "inspected_on": today.isoformat(),
            "defects": ["Asphaltnaht offen"],
            "remedy_by": (today + timedelta(days=14)).isoformat(),
        },
    )
    assert defective["status"] == "restoration_defective"
    assert defective["service_state"]["open_defects"] == ["Asphaltnaht offen"]
    clock.advance(timedelta(days=15))
    accepted = post(
        "/restoration-inspections", {"inspected_on": berlin_date(clock.now()).isoformat()}
    )
    assert accepted["status"] == "warranty_running"
    warranty_until = date.fromisoformat(accepted["service_state"]["warranty_until"])
    early = client.post(url + "/close", headers=clerk)
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "warranty_until"
    clock.set(clock.now().replace(year=warranty_until.year + 1))
    assert post("/close", {"reason": "Gewährleistung abgelaufen"})["status"] == "closed"

    history = client.get(url + "/history", headers=clerk).json()
    steps = [h["type"] for h in history]
    assert steps == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "FeeCharged",  # the special use fee (Sondernutzungsgebühr), under its own
        "Notified",
        "BecameFinal",
        "WorksStarted",
        "WorksCompleted",
        "RestorationInspected",
        "RestorationInspected",
        "Closed",
    ]
    for entry in history:
        assert entry["actor"]["id"]
        assert entry["at"]


def test_invalid_permit_data_names_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    headers = auth("applicant", sub="portal:8")
    body = permit_request(clock)
    body["data"]["dimensions"]["length_m"] = "0"
    body["data"]["contractor"]["email"] = "not-an-address"
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"data.dimensions.length_m", "data.contractor.email"} <= fields

    too_soon = permit_request(clock)
    today = berlin_date(clock.now())
    too_soon["data"]["planned_period"] = {
        "start": (today + timedelta(days=2)).isoformat(),
        "end": (today + timedelta(days=9)).isoformat(),
    }
    response = client.post("/api/v1/cases", json=too_soon, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.planned_period.start"

    backwards = permit_request(clock)
    backwards["data"]["planned_period"]["end"] = "2020-01-01"
    response = client.post("/api/v1/cases", json=backwards, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.planned_period"


def test_a_fee_given_by_the_clerk_is_refused_for_a_tariff_service(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=permit_request(clock), headers=clerk).headers[
        "Location"
    ]
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    response = client.post(url + "/decide", json={**DECISION, "fee": "10.00"}, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "fee"


def test_works_steps_on_a_general_case_are_409(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).headers["Location"]
    response = client.post(url + "/works-started", json={"started_on": "2026-03-02"}, headers=clerk)
    assert response.status_code == 409
    assert "start_works" not in response.json()["allowed_commands"]


def test_a_works_step_with_a_stale_if_match_is_412(client: TestClient, auth: Auth) -> None:
    url = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("clerk")).headers["Location"]
    stale = client.post(
        url + "/works-started",
        json={"started_on": "2026-03-02"},
        headers=auth("clerk", **{"If-Match": '"7"'}),
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1


def sign_order(client: TestClient, auth: Auth, clock: FixedClock, start: date) -> str:
    """A traffic sign order for the works, ordered and notified; its reference."""
    clerk = auth("clerk")
    data = traffic_sign_order.example(berlin_date(clock.now()))
    data["reason"] = "building_works"
    data["period"] = {"start": start.isoformat(), "end": (start + timedelta(days=14)).isoformat()}
    body = {**NEW_CASE, "service": "traffic-sign-order", "data": data}
    created = client.post("/api/v1/cases", json=body, headers=clerk)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]
    for path, payload in (
        ("/claim", None),
        ("/confirm-complete", None),
        (
            "/authority-hearings",
            {"authority": "police", "heard_on": "2026-03-02", "response": "consented"},
        ),
        (
            "/authority-hearings",
            {"authority": "road_authority", "heard_on": "2026-03-02", "response": "consented"},
        ),
        (
            "/decide",
            {
                "outcome": "approved_with_conditions",
                "justification": "Baustelle",
                "legal_basis": "§ 45 Abs. 1, 6 StVO",
                "discretion": "Kurze Sperrung.",
            },
        ),
        ("/notify", {"delivery": "counter"}),
    ):
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (path, response.json())
    reference: str = created.json()["reference"]
    return reference


def test_works_that_affect_traffic_start_under_a_sign_order_linked_by_its_reference(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = permit_request(clock, traffic_management_needed=True)
    body["data"]["dimensions"] = {"length_m": "20.00", "width_m": "1.00", "depth_m": "1.00"}
    url = client.post("/api/v1/cases", json=body, headers=clerk).headers["Location"]
    start = date.fromisoformat(body["data"]["planned_period"]["start"])
    reference = sign_order(client, auth, clock, start)

    def post(path: str, payload: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == status, (path, response.json())
        return response.json()

    unknown = post("/traffic-sign-order", {"reference": "USI-2026-999999"}, 422)
    assert unknown["errors"][0]["field"] == "reference"
    for path in ("/claim", "/confirm-complete"):
        post(path)
    decided = post("/decide", DECISION)
    assert decided["decision"]["particulars"]["security_deposit"] == "800.00"
    post("/notify", {"delivery": "counter"})
    clock.set(clock.now().replace(year=start.year, month=start.month, day=start.day))
    no_order = post("/works-started", {"started_on": start.isoformat()}, 422)
    assert no_order["errors"][0]["field"] == "security_deposit"
    post(
        "/security-deposit",
        {"amount": "800.00", "form": "bank_guarantee", "received_on": start.isoformat()},
    )
    no_order = post("/works-started", {"started_on": start.isoformat()}, 422)
    assert no_order["errors"][0]["field"] == "traffic_sign_order"
    linked = post("/traffic-sign-order", {"reference": reference})
    state = linked["service_state"]
    assert state["traffic_sign_order"]["reference"] == reference
    assert state["security_deposit"]["held"]["form"] == "bank_guarantee"
    started = post("/works-started", {"started_on": start.isoformat()})
    assert started["status"] == "works_started"
    end = date.fromisoformat(body["data"]["planned_period"]["end"])
    extended = post(
        "/permit-extensions",
        {"extended_to": (end + timedelta(days=5)).isoformat(), "reason": "Felsiger Untergrund"},
    )
    assert extended["service_state"]["valid_until"] == (end + timedelta(days=5)).isoformat()
    history = [h["type"] for h in client.get(url + "/history", headers=clerk).json()]
    assert {"SignOrderLinked", "SecurityDepositTaken", "PermitExtended"} <= set(history)

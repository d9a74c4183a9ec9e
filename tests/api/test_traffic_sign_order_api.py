"""A traffic sign order carried through every step by HTTP alone, on SQLite and PostgreSQL:
the hearings of police and road authority, the order, the set-up report, the removal."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.rules.traffic_sign_order import STANDARD_CONDITIONS
from domain.services.traffic_sign_order import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth

ORDER = {
    "outcome": "approved_with_conditions",
    "justification": "Für den Umzug ist eine Haltverbotszone erforderlich.",
    "legal_basis": "§ 45 Abs. 1, 6 StVO",
    # § 45 (1) StVO gives discretion: the considerations (§ 39 (1) sentence 3 HVwVfG)
    "discretion": "Die Haltverbotszone ist für zwei Tage erforderlich; Anlieger erreichbar.",
}
COUNTER = {"delivery": "counter"}
POLICE = {
    "authority": "police",
    "heard_on": "2026-03-02",
    "response": "consented_with_conditions",
    "remarks": "Zufahrt für Rettungsfahrzeuge freihalten.",
}
ROAD_AUTHORITY = {"authority": "road_authority", "heard_on": "2026-03-02", "response": "consented"}
HEARD = (("/authority-hearings", POLICE), ("/authority-hearings", ROAD_AUTHORITY))


def order_request(clock: FixedClock, **data_changes: Any) -> dict[str, Any]:
    data = example(berlin_date(clock.now()))
    data.update(data_changes)
    return {**NEW_CASE, "service": "traffic-sign-order", "data": data}


def at_day(clock: FixedClock, day: date) -> None:
    """Business time jumps to 09:00 UTC on that day."""
    clock.set(clock.now().replace(year=day.year, month=day.month, day=day.day, hour=9))


def test_a_traffic_sign_order_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    mover = auth("applicant", sub="portal:vogel")
    body = order_request(clock)
    created = client.post("/api/v1/cases", json=body, headers=mover)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]
    start = date.fromisoformat(body["data"]["period"]["start"])
    end = date.fromisoformat(body["data"]["period"]["end"])

    def post(path: str, payload: dict[str, Any] | None = None, as_: Any = clerk) -> Any:
        response = client.post(url + path, json=payload, headers=as_)
        assert response.status_code == 200, (path, response.json())
        assert response.headers["ETag"] == f'"{response.json()["version"]}"', path
        return response.json()

    def refused(path: str, payload: dict[str, Any] | None, field: str, as_: Any = clerk) -> None:
        response = client.post(url + path, json=payload, headers=as_)
        assert response.status_code == 422, (path, response.json())
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field

    post("/claim")
    post("/confirm-complete")
    refused("/authority-hearings", {**POLICE, "authority": "fire_brigade"}, "authority")
    refused("/authority-hearings", {**POLICE, "response": "maybe"}, "response")
    refused("/authority-hearings", {**POLICE, "heard_on": "2026-03-03"}, "heard_on")  # future
    refused("/authority-hearings", {**POLICE, "heard_on": "2026-03-01"}, "heard_on")
    refused("/authority-hearings", {**POLICE, "remarks": " "}, "remarks")
    forbidden = client.post(url + "/authority-hearings", json=POLICE, headers=mover)
    assert forbidden.status_code == 403, forbidden.json()
    # Before every order the road authority and the police are heard (VwV-StVO zu § 45).
    refused("/decide", ORDER, "authority_hearings")
    heard = post("/authority-hearings", POLICE)
    assert heard["service_state"]["authority_hearings"] == [
        {key: v for key, v in POLICE.items() if key != "remarks"}
    ]
    refused("/decide", ORDER, "authority_hearings")  # the road authority is not heard yet
    post("/authority-hearings", ROAD_AUTHORITY)
    refused("/decide", {**ORDER, "outcome": "approved"}, "outcome")  # an order has conditions
    refused("/decide", {**ORDER, "fee": "5.00"}, "fee")
    refused("/decide", {key: v for key, v in ORDER.items() if key != "discretion"}, "discretion")
    decision = post("/decide", ORDER)["decision"]
    # 2 days, an 18 m zone (band up to 30 m: 10.00 a day): 30.00 + 2 x 10.00 = 50.00 EUR
    assert Decimal(decision["fee"]) == Decimal("50.00")
    assert decision["conditions"] == list(STANDARD_CONDITIONS[0].texts)
    assert decision["expires_on"] == end.isoformat()
    # Three full days between the set-up and the start (BVerwG 3 C 25.16).
    signs_up_by = start - timedelta(days=4)
    assert decision["particulars"] == {
        "signs_up_by": signs_up_by.isoformat(),
        "authority_hearings": [
            {key: v for key, v in heard.items() if key != "remarks"}
            for heard in (POLICE, ROAD_AUTHORITY)
        ],
    }
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["traffic-sign-order-fee"]["inputs"]["daily_rate"] == "10.00"
    assert rules["traffic-sign-order-sign-setup"]["version"] == "2026-12"
    assert rules["traffic-sign-order-sign-setup"]["inputs"]["days_ahead"] == 4
    assert rules["traffic-sign-order-lead-time"]["inputs"]["working_days"] == 10
    assert rules["traffic-sign-order-conditions"]["version"] == "2025-01"
    notified = post("/notify", COUNTER)
    assert notified["service_state"]["signs_up_by"] == signs_up_by.isoformat()

    at_day(clock, signs_up_by)
    refused(
        "/signs-up", {"signs_up_on": (signs_up_by + timedelta(1)).isoformat()}, "signs_up_on", mover
    )
    report = {
        "signs_up_on": signs_up_by.isoformat(),
        "signs_up_at": "07:30",
        "parked_vehicles": 2,
        "parked_plates": ["hg ab123"],
    }
    refused("/signs-up", {**report, "parked_plates": ["HG-AB 123", "Opel"]}, "parked_plates[1]")
    refused("/signs-up", {**report, "parked_vehicles": -1}, "parked_vehicles")
    refused("/signs-up", {**report, "parked_vehicles": 0}, "parked_plates")
    refused("/signs-up", {**report, "signs_up_at": "25:00"}, "signs_up_at")
    up = post("/signs-up", report, as_=mover)
    assert up["status"] == "signs_up"
    assert up["service_state"]["signs_up_in_time"] is True
    assert up["service_state"]["signs_up_at"] == "07:30"
    assert up["service_state"]["parked_vehicles"] == 2
    # The keepers of the parked cars are third parties: the applicant is not shown their
    # plates once recorded (Art. 5 (1) (c) DSGVO); the clerk who may charge the towing is.
    assert up["service_state"]["parked_plates"] == ["[nicht sichtbar]"]
    assert client.get(url, headers=clerk).json()["service_state"]["parked_plates"] == ["HG-AB 123"]
    # The cars parked before the signs went up: towing at their cost from the fourth day.
    assert up["service_state"]["towing_costs_from"] == start.isoformat()
    at_day(clock, end + timedelta(days=1))
    refused(
        "/signs-removed",
        {"removed_on": (signs_up_by - timedelta(1)).isoformat()},
        "removed_on",
        mover,
    )
    done = post("/signs-removed", {"removed_on": berlin_date(clock.now()).isoformat()}, as_=mover)
    assert done["status"] == "completed"
    refused("/close", {"reason": " "}, "reason")
    deadline = date.fromisoformat(notified["objection_deadline"])
    refused("/close", {"reason": "Maßnahme abgeschlossen"}, "at")  # while the period runs
    at_day(clock, deadline + timedelta(days=1))
    assert post("/close", {"reason": "Maßnahme abgeschlossen"})["status"] == "closed"

    history = client.get(url + "/history", headers=clerk).json()
    assert [h["type"] for h in history] == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "AuthorityHeard",
        "AuthorityHeard",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
        "SignsPutUp",
        "SignsRemoved",
        "Closed",
    ]
    assert [h["actor"]["id"] for h in history if h["type"].startswith("Signs")] == [
        "portal:vogel"
    ] * 2
    seen_by_the_mover = [h["type"] for h in client.get(url + "/history", headers=mover).json()]
    assert {"SignsPutUp", "SignsRemoved"} <= set(seen_by_the_mover)
    assert "AuthorityHeard" not in seen_by_the_mover  # the authorities' answers are internal
    auditor = auth("auditor")
    replay = client.get(url + "/decisions/1/replay", headers=auditor).json()
    assert replay["verdict"] == "consistent", replay
    assert replay["today"] == []


def test_signs_put_up_late_are_recorded_as_late(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = order_request(clock)
    url = client.post("/api/v1/cases", json=body, headers=clerk).headers["Location"]
    steps = (("/claim", None), ("/confirm-complete", None), *HEARD, ("/decide", ORDER))
    for path, payload in steps:
        assert client.post(url + path, json=payload, headers=clerk).status_code == 200
    assert client.post(url + "/notify", json=COUNTER, headers=clerk).status_code == 200
    start = date.fromisoformat(body["data"]["period"]["start"])
    # Three days ahead was the legacy count: only two full days, so it is late now.
    three_days_ahead = start - timedelta(days=3)
    at_day(clock, three_days_ahead)
    late = client.post(
        url + "/signs-up", json={"signs_up_on": three_days_ahead.isoformat()}, headers=clerk
    )
    assert late.status_code == 200
    state = late.json()["service_state"]
    assert state["signs_up_in_time"] is False
    assert state["parked_vehicles"] is None  # not recorded
    assert state["towing_costs_from"] == (start + timedelta(days=1)).isoformat()


def test_a_refused_order_takes_no_signs(client: TestClient, auth: Auth, clock: FixedClock) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=order_request(clock), headers=clerk).headers["Location"]
    rejected = {**ORDER, "outcome": "rejected"}
    for path, payload in (("/claim", None), ("/confirm-complete", None), ("/decide", rejected)):
        assert client.post(url + path, json=payload, headers=clerk).status_code == 200
    decision = client.get(url, headers=clerk).json()["decision"]
    assert decision["fee"] is None
    assert decision["conditions"] == []
    assert [r["rules_id"] for r in decision["rules"]] == ["traffic-sign-order-lead-time"]
    assert client.post(url + "/notify", json=COUNTER, headers=clerk).status_code == 200
    response = client.post(url + "/signs-up", json={"signs_up_on": "2026-03-02"}, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "decision"


def test_invalid_order_data_names_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    headers = auth("applicant", sub="portal:8")
    body = order_request(clock, applicant_kind="company", sign_plan="..", signs=[])
    body["data"]["location"]["zone_length_m"] = "0"
    body["data"]["contact_person"]["phone"] = "call me"
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "data.company",
        "data.sign_plan",
        "data.signs",
        "data.location.zone_length_m",
        "data.contact_person.phone",
    } <= fields

    today = berlin_date(clock.now())
    too_soon = order_request(clock)
    too_soon["data"]["period"] = {
        "start": (today + timedelta(days=5)).isoformat(),
        "end": (today + timedelta(days=6)).isoformat(),
    }
    response = client.post("/api/v1/cases", json=too_soon, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.period.start"

    too_long = order_request(clock)
    too_long["data"]["period"]["end"] = (today + timedelta(days=200)).isoformat()
    response = client.post("/api/v1/cases", json=too_long, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.period"


def test_the_catalogue_lists_the_order_with_labels_lead_time_and_an_accepted_example(
    client: TestClient, auth: Auth
) -> None:
    entry = client.get("/api/v1/services/traffic-sign-order").json()
    assert entry["label_en"] == "Traffic sign order"
    assert entry["lead_time_working_days"] == 10
    assert entry["processing_period_working_days"] == 5
    assert entry["fee_tariff"]["signs_up_days_ahead"] == 4
    assert entry["event_labels"]["SignsPutUp"]["de"] == "Verkehrszeichen aufgestellt"
    schema = entry["application_schema"]
    assert schema["$defs"]["Location"]["properties"]["zone_length_m"]["title"] == "Zone length (m)"
    jsonschema.validate(entry["example"], schema)
    response = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "service": "traffic-sign-order", "data": entry["example"]},
        headers=auth("applicant", sub="portal:1"),
    )
    assert response.status_code == 201, response.json()

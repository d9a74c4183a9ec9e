"""A traffic sign order carried through every step by HTTP alone, on SQLite and PostgreSQL."""

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
    refused("/decide", {**ORDER, "outcome": "approved"}, "outcome")  # an order has conditions
    refused("/decide", {**ORDER, "fee": "5.00"}, "fee")
    refused("/decide", {key: v for key, v in ORDER.items() if key != "discretion"}, "discretion")
    decision = post("/decide", ORDER)["decision"]
    # 2 days, an 18 m zone (band up to 30 m: 10.00 a day): 30.00 + 2 x 10.00 = 50.00 EUR
    assert Decimal(decision["fee"]) == Decimal("50.00")
    assert decision["conditions"] == list(STANDARD_CONDITIONS[0].texts)
    assert decision["expires_on"] == end.isoformat()
    signs_up_by = start - timedelta(days=3)
    assert decision["particulars"] == {"signs_up_by": signs_up_by.isoformat()}
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["traffic-sign-order-fee"]["inputs"]["daily_rate"] == "10.00"
    assert rules["traffic-sign-order-sign-setup"]["inputs"]["days_ahead"] == 3
    assert rules["traffic-sign-order-lead-time"]["inputs"]["working_days"] == 10
    assert rules["traffic-sign-order-conditions"]["version"] == "2025-01"
    notified = post("/notify", COUNTER)
    assert notified["service_state"]["signs_up_by"] == signs_up_by.isoformat()

    at_day(clock, signs_up_by)
    refused(
        "/signs-up", {"signs_up_on": (signs_up_by + timedelta(1)).isoformat()}, "signs_up_on", mover
    )
    up = post("/signs-up", {"signs_up_on": signs_up_by.isoformat()}, as_=mover)
    assert up["status"] == "signs_up"
    assert up["service_state"]["signs_up_in_time"] is True
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
        "Decided",
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
    for path, payload in (("/claim", None), ("/confirm-complete", None), ("/decide", ORDER)):
        assert client.post(url + path, json=payload, headers=clerk).status_code == 200
    assert client.post(url + "/notify", json=COUNTER, headers=clerk).status_code == 200
    start = date.fromisoformat(body["data"]["period"]["start"])
    at_day(clock, start)
    late = client.post(url + "/signs-up", json={"signs_up_on": start.isoformat()}, headers=clerk)
    assert late.status_code == 200
    assert late.json()["service_state"]["signs_up_in_time"] is False


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
    assert entry["fee_tariff"]["signs_up_days_ahead"] == 3
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

"""A headstone permit carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.rules.headstone_permit import STANDARD_CONDITIONS
from domain.services.headstone_permit import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth
from tests.api.test_feed_api import feed_caught_up

PERMIT = {
    "outcome": "approved_with_conditions",
    "justification": "Das Grabmal entspricht der Friedhofsordnung.",
    "legal_basis": "Friedhofsordnung",
}
COUNTER = {"delivery": "counter"}  # handed over: notified that day (§ 41 HVwVfG)
TOWNS = ("usingen", "neu-anspach", "schmitten", "glashuetten")


def permit_request(clock: FixedClock, tenant: str = "usingen", **changes: Any) -> dict[str, Any]:
    data = example(berlin_date(clock.now()))
    data.update(changes)
    return {**NEW_CASE, "tenant": tenant, "service": "headstone-permit", "data": data}


def at_day(clock: FixedClock, day: date) -> None:
    clock.set(clock.now().replace(year=day.year, month=day.month, day=day.day, hour=9))


def test_a_headstone_permit_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    mason = auth("applicant", sub="portal:steinmetz")
    created = client.post("/api/v1/cases", json=permit_request(clock), headers=mason)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]

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
    refused("/decide", {**PERMIT, "outcome": "approved"}, "outcome")
    refused("/decide", {**PERMIT, "fee": "5.00"}, "fee")
    decision = post("/decide", PERMIT)["decision"]
    assert Decimal(decision["fee"]) == Decimal("60.00")  # Usingen's headstone permit fee
    assert decision["conditions"] == list(STANDARD_CONDITIONS[0].texts)
    assert decision["expires_on"] == "2027-03-02"  # a year to set the headstone
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["cemetery-fee"]["inputs"]["charge"] == "headstone_permit"
    assert rules["headstone-permit-setting-term"]["inputs"]["months"] == 12
    assert post("/notify", COUNTER)["decision"]["expires_on"] == "2027-03-02"  # a year from it

    today = berlin_date(clock.now())
    refused("/headstone-set", {"set_on": (today + timedelta(1)).isoformat()}, "set_on", mason)
    assert post("/headstone-set", {"set_on": today.isoformat()}, mason)["status"] == (
        "headstone_set"
    )
    assert client.post(url + "/close", headers=clerk).status_code == 409  # not accepted yet
    later = today + timedelta(days=7)
    at_day(clock, later)
    defects = {
        "inspected_on": later.isoformat(),
        "defects": ["Grabmal wackelt bei Rüttelprobe (TA Grabmal)"],
        "remedy_by": (later + timedelta(days=14)).isoformat(),
    }
    refused("/headstone-inspections", {**defects, "remedy_by": None}, "remedy_by")
    defective = post("/headstone-inspections", defects)
    assert defective["status"] == "headstone_defective"
    assert defective["service_state"]["remedy_by"] == defects["remedy_by"]
    again = later + timedelta(days=14)
    at_day(clock, again)
    accepted = post("/headstone-inspections", {"inspected_on": again.isoformat()})
    assert accepted["status"] == "headstone_accepted"
    assert accepted["service_state"]["accepted"] is True

    a_year_on = again + timedelta(days=365)
    at_day(clock, a_year_on)
    unstable = post(
        "/stability-checks",
        {
            "inspected_on": a_year_on.isoformat(),
            "defects": ["Fuge zum Sockel offen"],
            "remedy_by": (a_year_on + timedelta(days=30)).isoformat(),
        },
    )
    assert unstable["status"] == "headstone_unstable"
    stable = post("/stability-checks", {"inspected_on": a_year_on.isoformat()})
    assert stable["status"] == "headstone_accepted"
    assert stable["service_state"]["stability_checks"] == [a_year_on.isoformat()] * 2
    assert post("/close", {"reason": "Grabmal abgenommen"})["status"] == "closed"

    history = [h["type"] for h in client.get(url + "/history", headers=clerk).json()]
    assert history == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
        "HeadstoneSet",
        "HeadstoneInspected",
        "HeadstoneInspected",
        "StabilityChecked",
        "StabilityChecked",
        "Closed",
    ]
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay


def test_a_refused_permit_sets_no_headstone(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=permit_request(clock), headers=clerk).headers[
        "Location"
    ]
    rejected = {**PERMIT, "outcome": "rejected", "justification": "Höhe über 1,20 m."}
    for path, payload in (("/claim", None), ("/confirm-complete", None), ("/decide", rejected)):
        assert client.post(url + path, json=payload, headers=clerk).status_code == 200
    decision = client.get(url, headers=clerk).json()["decision"]
    assert decision["fee"] is None
    assert decision["conditions"] == []
    assert client.post(url + "/notify", json=COUNTER, headers=clerk).status_code == 200
    today = berlin_date(clock.now()).isoformat()
    response = client.post(url + "/headstone-set", json={"set_on": today}, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "decision"


def test_a_permit_for_a_grave_the_town_lacks_is_refused_naming_the_grave(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = permit_request(clock)
    body["data"]["grave"]["number"] = 999
    url = client.post("/api/v1/cases", json=body, headers=clerk).headers["Location"]
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    response = client.post(url + "/decide", json=PERMIT, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grave"


def test_invalid_headstone_data_names_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    body = permit_request(clock, foundation="sand", drawing="..")
    body["data"]["dimensions"]["height_cm"] = 400
    body["data"]["stonemason"]["phone"] = "ring me"
    response = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:8"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {
        "data.foundation",
        "data.drawing",
        "data.dimensions.height_cm",
        "data.stonemason.phone",
    } <= {e["field"] for e in response.json()["errors"]}


def test_a_clerk_of_another_town_cannot_see_or_inspect_the_permit(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = client.post("/api/v1/cases", json=permit_request(clock), headers=auth("clerk")).headers[
        "Location"
    ]
    stranger = auth("clerk", tenant="schmitten")
    assert client.get(url, headers=stranger).status_code == 404
    inspection = {"inspected_on": berlin_date(clock.now()).isoformat()}
    response = client.post(url + "/headstone-inspections", json=inspection, headers=stranger)
    assert response.status_code in (403, 404)


@pytest.mark.parametrize("tenant", TOWNS)
def test_the_catalogue_example_goes_through_in_every_town(
    client: TestClient, auth: Auth, tenant: str
) -> None:
    entry = client.get("/api/v1/services/headstone-permit").json()
    assert entry["label_de"] == "Grabmalgenehmigung"
    assert entry["event_labels"]["StabilityChecked"]["en"] == "Yearly stability check"
    assert entry["fee_tariff"]["towns"]["schmitten"]["headstone_permit"] == "60.00"
    jsonschema.validate(entry["example"], entry["application_schema"])
    body = {**NEW_CASE, "tenant": tenant, "service": "headstone-permit", "data": entry["example"]}
    created = client.post(
        "/api/v1/cases", json=body, headers=auth("applicant", sub="portal:1", tenant=tenant)
    )
    assert created.status_code == 201, created.json()
    clerk = auth("clerk", tenant=tenant)
    url = created.headers["Location"]
    for path, payload in (("/claim", None), ("/confirm-complete", None), ("/decide", PERMIT)):
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (tenant, path, response.json())
    assert response.json()["decision"]["outcome"] == "approved_with_conditions"


def test_a_grave_without_its_cemetery_is_found_in_the_one_cemetery_with_that_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    for field, decided in (("A", 200), ("Z", 422)):
        body = permit_request(clock, grave={"field": field, "row": "1", "number": 3})
        url = client.post("/api/v1/cases", json=body, headers=clerk).headers["Location"]
        client.post(url + "/claim", headers=clerk)
        client.post(url + "/confirm-complete", headers=clerk)
        response = client.post(url + "/decide", json=PERMIT, headers=clerk)
        assert response.status_code == decided, (field, response.json())
        if decided == 422:
            assert response.json()["errors"][0]["field"] == "grave"
            assert "field" in response.json()["detail"]


def test_the_feed_publishes_the_headstone_steps_without_personal_data(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    mason = auth("applicant", sub="portal:steinmetz-feed")
    body = permit_request(clock, inscription="Hier ruht Erna Kowalski")
    body["data"]["stonemason"]["contact_person"] = "Jana Meißel"
    url = client.post("/api/v1/cases", json=body, headers=mason).headers["Location"]
    today = berlin_date(clock.now())
    for path, payload, as_ in (
        ("/claim", None, clerk),
        ("/confirm-complete", None, clerk),
        ("/decide", PERMIT, clerk),
        ("/notify", COUNTER, clerk),
        ("/headstone-set", {"set_on": today.isoformat()}, mason),
        ("/headstone-inspections", {"inspected_on": today.isoformat()}, clerk),
        ("/stability-checks", {"inspected_on": today.isoformat()}, clerk),
    ):
        response = client.post(url + path, json=payload, headers=as_)
        assert response.status_code == 200, (path, response.json())
    feed_caught_up(client)  # the feed projection runs behind the log
    feed = client.get("/api/v1/feed", headers=auth("integrator"))
    assert feed.status_code == 200, feed.json()
    text = feed.text
    types = {e["type"] for e in feed.json()}
    for step in ("headstone_set", "headstone_inspected", "headstone_stability_checked"):
        assert f"de.vorgang.case.{step}.v1" in types, types
    for personal in ("Kowalski", "Jana Meißel", "Jana Mei\\u00dfel", "Mustermann"):
        assert personal not in text

"""A burial registration carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.cemeteries import cemeteries
from domain.services.burial import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth
from tests.api.test_feed_api import feed_caught_up

SCHEDULE: dict[str, Any] = {}  # by the rules; the remedy notice is the town's own
TOWNS = ("usingen", "neu-anspach", "schmitten", "glashuetten")


def registration(clock: FixedClock, tenant: str = "usingen", **changes: Any) -> dict[str, Any]:
    data = example(berlin_date(clock.now()))
    data.update(changes)
    return {**NEW_CASE, "tenant": tenant, "service": "burial", "data": data}


def review(client: TestClient, url: str, clerk: dict[str, str]) -> None:
    """The clerk claims the registration and confirms it complete."""
    for step in ("/claim", "/confirm-complete"):
        assert client.post(url + step, headers=clerk).status_code == 200, step


def at_day(clock: FixedClock, day: date) -> None:
    """Business time jumps to 09:00 UTC on that day."""
    clock.set(clock.now().replace(year=day.year, month=day.month, day=day.day, hour=9))


def test_a_burial_registration_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    undertaker = auth("applicant", sub="portal:bestatter")
    body = registration(clock)
    created = client.post("/api/v1/cases", json=body, headers=undertaker)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]

    def post(path: str, payload: dict[str, Any] | None = None) -> Any:
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (path, response.json())
        assert response.headers["ETag"] == f'"{response.json()["version"]}"', path
        return response.json()

    def refused(path: str, payload: dict[str, Any] | None, field: str) -> None:
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 422, (path, response.json())
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field

    post("/claim")
    post("/confirm-complete")
    refused(
        "/decide",
        {"outcome": "approved", "justification": "x", "legal_basis": "FBG"},
        "outcome",
    )
    decision = post("/burial-schedule", SCHEDULE)["decision"]
    assert decision["outcome"] == "approved"
    # Usingen: coffin 650.00, chapel 180.00, a new Reihengrab for 25 years at 30.00 = 750.00
    assert Decimal(decision["fee"]) == Decimal("1580.00")
    particulars = decision["particulars"]
    assert particulars["grave"] == "usingen-friedhof/B/1/1"
    assert particulars["place"] == 1
    assert particulars["date"] == body["data"]["requested_at"][:10]
    assert particulars["time"] == "11:00"
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["cemetery-burial-period"]["inputs"]["refusals"] == []
    assert rules["burial-grave-check"]["inputs"]["rest_years"] == 25
    charges = [r["inputs"]["charge"] for r in decision["rules"] if r["rules_id"] == "cemetery-fee"]
    assert charges == ["burial", "chapel", "grave_use"]
    notified = post("/notify", {"delivery": "counter"})
    assert notified["notified_on"] == berlin_date(clock.now()).isoformat()

    grave = client.get("/api/v1/graves/usingen/usingen-friedhof/B/1/1", headers=clerk)
    assert grave.status_code == 200, grave.json()
    reserved = grave.json()["burials"]
    assert [(b["place"], b["reserved"], b["deceased"]) for b in reserved] == [
        (1, True, "Walter Becker")
    ]

    buried_on = date.fromisoformat(particulars["date"])
    at_day(clock, buried_on)
    refused(
        "/burial-carried-out", {"buried_on": (buried_on + timedelta(1)).isoformat()}, "buried_on"
    )
    done = post("/burial-carried-out", {"buried_on": buried_on.isoformat()})
    assert done["status"] == "burial_carried_out"
    assert done["service_state"]["rest_ends_on"] == particulars["rest_ends_on"]
    refused("/close", {"reason": "Bestattung durchgeführt"}, "at")  # the objection period runs
    final_from = date.fromisoformat(notified["objection_deadline"]) + timedelta(days=1)
    at_day(clock, final_from)
    final = post("/mark-final")
    assert final["status"] == "burial_carried_out"  # finality is beside the service's steps
    assert final["final_on"] == final_from.isoformat()
    assert post("/close", {"reason": "Bestattung durchgeführt"})["status"] == "closed"

    history = client.get(url + "/history", headers=clerk).json()
    assert [h["type"] for h in history] == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
        "BurialCarriedOut",
        "BecameFinal",
        "Closed",
    ]
    seen = client.get("/api/v1/graves/usingen/usingen-friedhof/B/1/1", headers=clerk).json()
    assert seen["burials"][0]["deceased"] == "Walter Becker"
    assert seen["burials"][0]["rest_ends_on"] == particulars["rest_ends_on"]
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay


def test_a_second_registration_for_the_taken_place_is_refused_naming_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    grave = {"cemetery": "usingen-friedhof", "field": "B", "row": "2", "number": 3}
    urls = []
    for sub in ("portal:a", "portal:b"):
        created = client.post(
            "/api/v1/cases",
            json=registration(clock, grave=grave),
            headers=auth("applicant", sub=sub),
        )
        assert created.status_code == 201, created.json()
        urls.append(created.headers["Location"])
        review(client, urls[-1], clerk)
    first = client.post(urls[0] + "/burial-schedule", json=SCHEDULE, headers=clerk).json()
    second = client.post(urls[1] + "/burial-schedule", json=SCHEDULE, headers=clerk).json()
    assert first.get("decision", {}).get("outcome") == "approved", first
    assert second.get("decision", {}).get("outcome") == "rejected", second
    assert "usingen-friedhof/B/2/3" in second["decision"]["justification"]
    assert "coffin place" in second["decision"]["justification"]


def test_invalid_registrations_get_problems_naming_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    applicant = auth("applicant", sub="portal:x")
    today = berlin_date(clock.now())
    cases = {
        "data.requested_at": {
            "requested_at": f"{(today + timedelta(days=9)).isoformat()}T11:00:00+01:00"
        },
        "data.second_examination": {"kind": "urn", "cremated_on": today.isoformat()},
        "data.person_obliged": {"person_obliged": None},
        "data.grave.new_grave_type": {"grave": {"new_grave_type": "wahlgrab"}},
    }
    for field, changes in cases.items():
        data = {k: v for k, v in {**example(today), **changes}.items() if v is not None}
        body = {**NEW_CASE, "service": "burial", "data": data}
        response = client.post("/api/v1/cases", json=body, headers=applicant)
        assert response.status_code == 422, (field, response.json())
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field, response.json()


@pytest.mark.parametrize("tenant", TOWNS)
def test_the_catalogue_example_is_accepted_in_every_town(
    client: TestClient, auth: Auth, clock: FixedClock, tenant: str
) -> None:
    for days in (0, 45, 200):  # fetched on any day: the example moves with the clock
        at_day(clock, berlin_date(clock.now()) + timedelta(days=days))
        entry = client.get("/api/v1/services/burial").json()
        assert entry["label_de"] == "Bestattungsanmeldung"
        body = {**NEW_CASE, "tenant": tenant, "service": "burial", "data": entry["example"]}
        applicant = auth("applicant", sub=f"portal:{tenant}-{days}", tenant=tenant)
        created = client.post("/api/v1/cases", json=body, headers=applicant)
        assert created.status_code == 201, created.json()
        clerk = auth("clerk", tenant=tenant)
        url = created.headers["Location"]
        review(client, url, clerk)
        decision = client.post(url + "/burial-schedule", json=SCHEDULE, headers=clerk).json()
        assert decision["decision"]["outcome"] == "approved", decision
        assert decision["decision"]["particulars"]["grave"].startswith(cemeteries(tenant)[0].id)


def test_the_feed_publishes_the_burial_without_personal_data(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = client.post(
        "/api/v1/cases", json=registration(clock), headers=auth("applicant", sub="portal:f")
    ).headers["Location"]
    review(client, url, clerk)
    particulars = client.post(url + "/burial-schedule", json=SCHEDULE, headers=clerk).json()[
        "decision"
    ]["particulars"]
    at_day(clock, date.fromisoformat(particulars["date"]))
    done = client.post(
        url + "/burial-carried-out", json={"buried_on": particulars["date"]}, headers=clerk
    )
    assert done.status_code == 200, done.json()
    feed_caught_up(client)  # the feed projection runs behind the log
    feed = client.get("/api/v1/feed", headers=auth("integrator"))
    assert feed.status_code == 200, feed.json()
    text = feed.text
    assert "burial_carried_out" in text
    for personal in ("Walter Becker", "Sabine Becker", "Obergasse", "1941-03-14"):
        assert personal not in text


def test_a_grave_is_read_by_staff_of_its_town_only_and_an_unknown_one_is_not_found(
    client: TestClient, auth: Auth
) -> None:
    url = "/api/v1/graves/usingen/usingen-friedhof/A/1/1"
    free = client.get(url, headers=auth("clerk"))
    assert free.status_code == 200, free.json()
    assert free.json()["grave_type"] == "wahlgrab"
    assert all(p["free"] for p in free.json()["places"])
    assert free.json()["grave_right"] is None
    unknown = client.get("/api/v1/graves/usingen/usingen-friedhof/A/1/999", headers=auth("clerk"))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "number" in unknown.json()["detail"]
    other_town = client.get(url, headers=auth("clerk", tenant="schmitten"))
    assert other_town.status_code == 403
    assert client.get(url, headers=auth("applicant", sub="portal:g")).status_code == 403


def test_a_cancelled_burial_releases_its_place_for_another_registration(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    grave = {"cemetery": "usingen-friedhof", "field": "B", "row": "3", "number": 4}
    address = "/api/v1/graves/usingen/usingen-friedhof/B/3/4"

    def scheduled(sub: str) -> tuple[str, dict[str, str]]:
        undertaker = auth("applicant", sub=sub)
        created = client.post(
            "/api/v1/cases", json=registration(clock, grave=grave), headers=undertaker
        )
        assert created.status_code == 201, created.json()
        url = created.headers["Location"]
        review(client, url, clerk)
        decision = client.post(url + "/burial-schedule", json=SCHEDULE, headers=clerk).json()
        assert decision["decision"]["outcome"] == "approved", decision
        assert decision["decision"]["particulars"]["place"] == 1
        return url, undertaker

    # The applicant withdraws the scheduled burial: the place is free again at once.
    first, undertaker = scheduled("portal:erste")
    withdrawn = client.post(first + "/burial-cancellation", json={}, headers=undertaker)
    assert withdrawn.status_code == 200, withdrawn.json()
    assert withdrawn.json()["status"] == "burial_cancelled"
    assert withdrawn.json()["service_state"]["cancelled"] is True
    assert all(p["free"] for p in client.get(address, headers=clerk).json()["places"])

    # Another registration takes the released place; a clerk cancels it, naming the reason.
    second, _ = scheduled("portal:zweite")
    response = client.post(second + "/burial-cancellation", json={}, headers=clerk)
    assert response.status_code == 422, response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "reason"
    cancelled = client.post(
        second + "/burial-cancellation",
        json={"reason": "Überführung in eine andere Gemeinde"},
        headers=clerk,
    )
    assert cancelled.status_code == 200, cancelled.json()
    seen = client.get(address, headers=clerk).json()
    assert all(p["free"] for p in seen["places"]), seen
    assert seen["burials"] == [], seen

    scheduled("portal:dritte")  # and the place can be scheduled once more
    again = client.post(first + "/burial-cancellation", json={}, headers=undertaker)
    assert again.status_code == 409, again.json()  # a cancelled burial is not cancelled twice
    for url in (first, second):
        closed = client.post(url + "/close", json={"reason": "abgesagt"}, headers=clerk)
        assert closed.status_code == 200, closed.json()
    history = [h["type"] for h in client.get(first + "/history", headers=clerk).json()]
    assert history[-2:] == ["BurialCancelled", "Closed"]
    feed_caught_up(client)
    feed = client.get("/api/v1/feed", headers=auth("integrator"))
    assert "de.vorgang.case.burial_cancelled.v1" in {e["type"] for e in feed.json()}
    assert "Überführung" not in feed.text

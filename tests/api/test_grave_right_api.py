"""Grave right applications carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import NEW_CASE, Auth
from tests.api.test_feed_api import feed_caught_up

# The remedy notice is the town's own; the body may name who acts for the applicant.
DECISION = {"representative": "Bestattungshaus Ernst"}
GRAVE = {"cemetery": "usingen-friedhof", "field": "A", "row": "3", "number": 7}
ROW_GRAVE = {"cemetery": "usingen-friedhof", "field": "B", "row": "1", "number": 2}
TOWNS = ("usingen", "neu-anspach", "schmitten", "glashuetten")


def grave_right(data: dict[str, Any], tenant: str = "usingen") -> dict[str, Any]:
    return {**NEW_CASE, "tenant": tenant, "service": "grave-right", "data": data}


def decided(client: TestClient, auth: Auth, data: dict[str, Any], tenant: str = "usingen") -> Any:
    """A grave right application filed by an applicant and decided by the grave; its case."""
    clerk = auth("clerk", tenant=tenant)
    applicant = auth("applicant", sub=f"portal:{len(str(data))}", tenant=tenant)
    created = client.post("/api/v1/cases", json=grave_right(data, tenant), headers=applicant)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]
    for path, payload in (
        ("/claim", None),
        ("/confirm-complete", None),
        ("/grave-right-decision", DECISION),
    ):
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (path, response.json())
    return url, response.json()


def test_a_grave_right_is_acquired_extended_transferred_and_returned_by_http_alone(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url, acquired = decided(client, auth, {"request": "acquire", "grave": GRAVE})
    decision = acquired["decision"]
    assert decision["outcome"] == "approved"
    # Usingen: a Wahlgrab for 30 years at 48.00 EUR a year
    assert Decimal(decision["fee"]) == Decimal("1440.00")
    assert decision["expires_on"] == "2056-03-02"
    assert decision["representative"] == "Bestattungshaus Ernst"
    assert decision["issuing_authority"] == "Der Magistrat der Stadt Usingen"
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["cemetery-fee"]["inputs"]["years"] == 30
    assert rules["cemetery-grave-right"]["inputs"]["initial_years"] == 30
    assert rules["grave-right-check"]["inputs"]["grave"] == "usingen-friedhof/A/3/7"
    assert acquired["service_state"]["right_ends_on"] == "2056-03-02"

    _, again = decided(client, auth, {"request": "acquire", "grave": GRAVE})
    assert again["decision"]["outcome"] == "rejected"
    assert "a grave right holds until 2056-03-02" in again["service_state"]["refusal"]
    assert again["decision"]["fee"] is None

    _, extended = decided(client, auth, {"request": "extend", "grave": GRAVE, "years": 5})
    assert Decimal(extended["decision"]["fee"]) == Decimal("240.00")  # 5 x 48.00, pro rata
    assert extended["decision"]["expires_on"] == "2061-03-02"
    assert extended["service_state"]["right_ended_on"] == "2056-03-02"

    successor = {
        "name": "Paula Mustermann",
        "address": "Obergasse 3, 61250 Usingen",
        "relationship": "child",
        "declaration_on": "2026-02-20",
    }
    _, transferred = decided(
        client, auth, {"request": "transfer", "grave": GRAVE, "successor": successor}
    )
    assert transferred["decision"]["outcome"] == "approved"
    assert transferred["decision"]["fee"] is None
    assert "Paula" not in str(transferred["service_state"])

    _, returned = decided(
        client, auth, {"request": "return", "grave": GRAVE, "reason": "Umzug der Familie"}
    )
    assert returned["decision"]["outcome"] == "approved"
    assert returned["decision"]["expires_on"] is None

    notified = client.post(url + "/notify", json={"delivery": "counter"}, headers=clerk)
    assert notified.status_code == 200, notified.json()
    history = [h["type"] for h in client.get(url + "/history", headers=clerk).json()]
    assert history == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "GraveChecked",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
    ]
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay
    assert replay["today"] == []


def test_a_row_grave_has_no_right_and_the_refusal_says_so(client: TestClient, auth: Auth) -> None:
    _, refused = decided(client, auth, {"request": "acquire", "grave": ROW_GRAVE})
    assert refused["decision"]["outcome"] == "rejected"
    assert "a Reihengrab has no grave right" in refused["service_state"]["refusal"]
    assert [r["rules_id"] for r in refused["decision"]["rules"]] == ["grave-right-check"]


def test_a_grave_the_town_does_not_have_is_refused_naming_what_is_missing(
    client: TestClient, auth: Auth
) -> None:
    unknown = {**GRAVE, "cemetery": "schmitten-friedhof"}
    _, refused = decided(client, auth, {"request": "return", "grave": unknown})
    assert "unknown cemetery" in refused["service_state"]["refusal"]


def test_a_clerk_approves_only_by_the_grave_and_sets_no_fee(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    url = client.post(
        "/api/v1/cases", json=grave_right({"request": "acquire", "grave": GRAVE}), headers=clerk
    ).headers["Location"]
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    by_hand = {
        "outcome": "approved",
        "justification": "passt",
        "legal_basis": "Friedhofsordnung",
    }
    response = client.post(url + "/decide", json=by_hand, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "outcome"
    stale = client.post(
        url + "/grave-right-decision", json=DECISION, headers={**clerk, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    applicant = auth("applicant", sub="portal:x")
    assert client.post(
        url + "/grave-right-decision", json=DECISION, headers=applicant
    ).status_code in (
        403,
        404,
    )


def test_invalid_grave_right_data_names_the_field(client: TestClient, auth: Auth) -> None:
    headers = auth("applicant", sub="portal:8")
    for data, field in (
        ({"request": "extend", "grave": GRAVE}, "data"),
        ({"request": "extend", "grave": GRAVE, "years": 0}, "data.years"),
        ({"request": "acquire"}, "data"),
        ({"request": "acquire", "grave": {**GRAVE, "number": 0}}, "data.grave.number"),
        ({"request": "lease", "grave": GRAVE}, "data.request"),
        (
            {
                "request": "transfer",
                "grave": GRAVE,
                "successor": {"name": "X", "address": "Y", "relationship": "cousin"},
            },
            "data.successor.relationship",
        ),
    ):
        response = client.post("/api/v1/cases", json=grave_right(data), headers=headers)
        assert response.status_code == 422, data
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()


def test_a_clerk_of_another_town_cannot_see_or_decide_the_application(
    client: TestClient, auth: Auth
) -> None:
    url = client.post(
        "/api/v1/cases",
        json=grave_right({"request": "acquire", "grave": GRAVE}),
        headers=auth("clerk"),
    ).headers["Location"]
    stranger = auth("clerk", tenant="schmitten")
    assert client.get(url, headers=stranger).status_code == 404
    response = client.post(url + "/grave-right-decision", json=DECISION, headers=stranger)
    assert response.status_code in (403, 404)


def test_the_catalogue_example_is_accepted_in_every_town(client: TestClient, auth: Auth) -> None:
    entry = client.get("/api/v1/services/grave-right").json()
    assert entry["label_de"].startswith("Nutzungsrecht")
    assert entry["event_labels"]["GraveChecked"]["en"] == "Grave checked for the decision"
    assert entry["fee_tariff"]["towns"]["usingen"]["grave_types"]["wahlgrab"]["per_year"] == (
        "48.00"
    )
    jsonschema.validate(entry["example"], entry["application_schema"])
    for tenant in TOWNS:
        _, case = decided(client, auth, entry["example"], tenant)
        assert case["decision"]["outcome"] == "approved", case["service_state"]
        assert case["service_state"]["grave_type"] == "urnenwahlgrab"
    # The next example takes the next free grave, so the example keeps being accepted.
    _, next_one = decided(client, auth, entry["example"])
    assert next_one["decision"]["outcome"] == "approved"


def test_the_feed_publishes_the_grave_right_check_without_personal_data(
    client: TestClient, auth: Auth
) -> None:
    decided(client, auth, {"request": "acquire", "grave": GRAVE})
    successor = {
        "name": "Paula Mustermann",
        "address": "Obergasse 3, 61250 Usingen",
        "relationship": "child",
        "declaration_on": "2026-02-20",
    }
    _, transferred = decided(
        client, auth, {"request": "transfer", "grave": GRAVE, "successor": successor}
    )
    assert transferred["decision"]["outcome"] == "approved", transferred
    decided(client, auth, {"request": "return", "grave": GRAVE, "reason": "Umzug nach Kiel"})
    feed_caught_up(client)  # the feed projection runs behind the log
    feed = client.get("/api/v1/feed", headers=auth("integrator"))
    assert feed.status_code == 200, feed.json()
    text = feed.text
    types = [e["type"] for e in feed.json()]
    assert types.count("de.vorgang.case.grave_right_checked.v1") == 3, types
    for personal in ("Mustermann", "Obergasse", "Umzug nach Kiel", "max@example.org"):
        assert personal not in text

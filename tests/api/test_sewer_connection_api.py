"""A sewer house connection carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.rules.sewer_connection import STANDARD_CONDITIONS
from domain.services.sewer_connection import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth

PERMIT = {
    "outcome": "approved_with_conditions",
    "justification": "Das Grundstück unterliegt dem Anschluss- und Benutzungszwang.",
    "legal_basis": "§ 5 Entwässerungssatzung",
}
COUNTER = {"delivery": "counter"}
POINT = {
    "manhole": "S 12-034",
    "invert_depth_m": "2.40",
    "description": "Abzweig DN 150 in Fahrbahnmitte vor dem Grundstück",
}


def connection_request(**data_changes: Any) -> dict[str, Any]:
    data = example(date(2026, 3, 2))
    data.update(data_changes)
    return {**NEW_CASE, "service": "sewer-connection", "data": data}


def test_a_sewer_connection_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    owner = auth("applicant", sub="portal:roth")
    created = client.post("/api/v1/cases", json=connection_request(), headers=owner)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]
    assert created.json()["data"]["owner"]["name"] == "Sabine Roth"

    def post(path: str, payload: dict[str, Any] | None = None, as_: Any = clerk) -> Any:
        response = client.post(url + path, json=payload, headers=as_)
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
    refused("/decide", PERMIT, "connection_point")  # a permit names the connection point
    point = post("/connection-point", POINT)["service_state"]["connection_point"]
    assert point == {**POINT, "invert_depth_m": "2.40"}
    refused("/decide", {**PERMIT, "outcome": "approved"}, "outcome")  # standard conditions
    refused("/decide", {**PERMIT, "fee": "10.00"}, "fee")  # the tariff sets it
    own = {"conditions": ["Baumschutz nach DIN 18920"]}
    refused("/decide", {**PERMIT, **own}, "hearing_held_on")  # the clerk's own burden
    decision = post("/decide", {**PERMIT, **own, "hearing_held_on": "2026-03-02"})["decision"]
    assert Decimal(decision["fee"]) == Decimal("95.00")
    assert decision["conditions"] == [*STANDARD_CONDITIONS[0].texts, "Baumschutz nach DIN 18920"]
    assert decision["particulars"]["connection_point"]["manhole"] == "S 12-034"
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["sewer-connection-permit-fee"]["version"] == "2025-01"
    assert rules["sewer-connection-conditions"]["version"] == "2025-01"
    assert decision["expires_on"] == "2028-03-02"  # until notified: two years on (§ 188 (2) BGB)
    notified = post("/notify", COUNTER)

    clock.advance(timedelta(days=20))
    today = berlin_date(clock.now())
    too_early = {"completed_on": "2026-03-01", "pipe_length_m": "14.50"}
    response = client.post(url + "/construction-reported", json=too_early, headers=owner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "completed_on"
    reported = post(
        "/construction-reported",
        {"completed_on": today.isoformat(), "pipe_length_m": "14.50"},
        as_=owner,  # the owner's side reports it through the portal
    )
    assert reported["status"] == "construction_reported"
    clock.advance(timedelta(days=1))
    today = berlin_date(clock.now())
    defective = post(
        "/connection-inspections",
        {
            "inspected_on": today.isoformat(),
            "defects": ["Rückstauverschluss fehlt"],
            "remedy_by": (today + timedelta(days=10)).isoformat(),
        },
    )
    assert defective["status"] == "connection_defective"
    assert defective["service_state"]["open_defects"] == ["Rückstauverschluss fehlt"]
    refused(
        "/connection-inspections",
        {"inspected_on": (today - timedelta(1)).isoformat()},
        "inspected_on",
    )
    clock.advance(timedelta(days=8))
    today = berlin_date(clock.now())
    refused("/connection-inspections", {"inspected_on": today.isoformat()}, "leak_test")
    leak = {"tested_on": today.isoformat(), "method": "air", "result": "failed", "tester": "K. W."}
    post("/leak-tests", leak, as_=owner)  # the contractor's protocol, through the portal
    refused("/connection-inspections", {"inspected_on": today.isoformat()}, "leak_test")
    tested = post("/leak-tests", {**leak, "method": "water", "result": "passed"})
    assert [t["result"] for t in tested["service_state"]["leak_tests"]] == ["failed", "passed"]
    assert tested["service_state"]["leak_tests"][1]["tester"] == "K. W."
    accepted = post("/connection-inspections", {"inspected_on": today.isoformat()})
    assert accepted["status"] == "connection_accepted"
    assert accepted["service_state"]["open_defects"] == []
    assert accepted["service_state"]["accepted_on_leak_test_of"] == today.isoformat()
    # Built for good once the defects were remedied: the day of the accepting inspection.
    assert accepted["service_state"]["finally_built_on"] == today.isoformat()
    charged = post(
        "/connection-charge",
        {"debtor_name": "Jonas Keller", "debtor_address": "Am Hattsteiner Weg 7, 61250 Usingen"},
    )
    # combined drainage 1850.00 + (14.50 m - 10.00 m included) x 165.00 = 2592.50 EUR
    assert charged["service_state"]["connection_charge"] == "2592.50"
    assert charged["service_state"]["charge_rules"]["version"] == "2025-01"
    assessment = charged["service_state"]["charge_assessment"]
    assert assessment["debtor"] == "Jonas Keller"  # the plot was sold: the owner at Bekanntgabe
    assert assessment["tariff_day"] == today.isoformat()
    assert "§ 12 KAG" in assessment["legal_basis"]
    assert assessment["remedy_notice"].startswith("Rechtsbehelfsbelehrung")
    assert "§ 80 Abs. 2 Satz 1 Nr. 1 VwGO" in assessment["payment_note"]
    assert assessment["issuing_authority"] == "Der Magistrat der Stadt Usingen"
    assert assessment["due_on"] is None  # due a month after its Bekanntgabe
    sent = berlin_date(clock.now())
    charge_notified = post(
        "/connection-charge/notification", {"delivery": "letter", "sent_on": sent.isoformat()}
    )["service_state"]["charge_assessment"]
    notified_on = date.fromisoformat(charge_notified["notified_on"])
    assert notified_on >= sent + timedelta(days=4)  # § 41 (2) HVwVfG: the fourth day
    assert date.fromisoformat(charge_notified["due_on"]) >= notified_on + timedelta(days=28)
    assert charge_notified["objection_deadline"] == charge_notified["due_on"]  # both a month
    refused("/connection-charge/notification", {"delivery": "counter"}, "charge_notification")
    deadline = max(
        date.fromisoformat(notified["objection_deadline"]),
        date.fromisoformat(charge_notified["objection_deadline"]),
    )
    clock.set(clock.now() + timedelta(days=(deadline - berlin_date(clock.now())).days))
    refused("/close", {"reason": "Anschluss hergestellt"}, "at")  # the objection period runs
    clock.advance(timedelta(days=1))
    assert post("/close", {"reason": "Anschluss hergestellt und abgerechnet"})["status"] == "closed"

    history = client.get(url + "/history", headers=clerk).json()
    assert [h["type"] for h in history] == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "ConnectionPointDetermined",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
        "ConstructionReported",
        "ConnectionDefectsFound",
        "LeakTestRecorded",
        "LeakTestRecorded",
        "ConnectionAccepted",
        "ConnectionChargeAssessed",
        "ConnectionChargeNotified",
        "Closed",
    ]
    assert all(entry["actor"]["id"] and entry["at"] for entry in history)
    seen_by_the_owner = [h["type"] for h in client.get(url + "/history", headers=owner).json()]
    assert "ConnectionPointDetermined" not in seen_by_the_owner  # part of the internal review
    assert {
        "ConstructionReported",
        "LeakTestRecorded",
        "ConnectionAccepted",
        "ConnectionChargeAssessed",
        "ConnectionChargeNotified",
    } <= set(seen_by_the_owner)
    # The buyer who owes the charge is a third party to the seller who applied (Art. 5 (1)
    # (c) DSGVO): the applicant is not shown the buyer's name or address; staff are.
    for as_ in (owner, clerk):
        case_text = (
            client.get(url, headers=as_).text + client.get(url + "/history", headers=as_).text
        )
        assert ("Jonas Keller" in case_text) is (as_ is clerk), as_
        assert ("Am Hattsteiner Weg 7" in case_text) is (as_ is clerk), as_
    shown = client.get(url, headers=owner).json()["service_state"]["charge_assessment"]
    assert shown["debtor"] == shown["debtor_address"] == "[nicht sichtbar]"
    auditor = auth("auditor")
    [record] = client.get(url + "/decisions", headers=auditor).json()
    assert record["fee"] == "95.00"
    replay = client.get(url + "/decisions/1/replay", headers=auditor).json()
    assert replay["verdict"] == "consistent", replay


def test_a_refusal_needs_no_connection_point_and_closes_when_final(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=connection_request(), headers=clerk).headers["Location"]
    for path, body in (
        ("/claim", None),
        ("/confirm-complete", None),
        ("/decide", {**PERMIT, "outcome": "rejected"}),
        ("/notify", COUNTER),
    ):
        assert client.post(url + path, json=body, headers=clerk).status_code == 200, path
    refused = client.post(
        url + "/construction-reported",
        json={"completed_on": "2026-03-02", "pipe_length_m": "5.00"},
        headers=clerk,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "decision"
    clock.advance(timedelta(days=40))
    assert client.post(url + "/mark-final", headers=clerk).status_code == 200
    assert client.post(url + "/close", headers=clerk).json()["status"] == "closed"


def test_invalid_connection_data_names_the_field(client: TestClient, auth: Auth) -> None:
    body = connection_request(drainage="acid")
    body["data"]["plot"]["flurstueck"] = "12a"
    body["data"]["contractor"]["email"] = "no-address"
    del body["data"]["owner"]
    response = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:9"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "data.drainage",
        "data.plot.flurstueck",
        "data.contractor.email",
        "data.owner",
    } <= fields


def test_connection_steps_on_another_service_are_409(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).headers["Location"]
    response = client.post(url + "/connection-point", json=POINT, headers=clerk)
    assert response.status_code == 409
    assert "determine_connection_point" not in response.json()["allowed_commands"]


def test_the_catalogue_lists_the_connection_with_labels_schema_and_an_accepted_example(
    client: TestClient, auth: Auth
) -> None:
    entry = client.get("/api/v1/services/sewer-connection").json()
    assert entry["label_de"].startswith("Hausanschluss")
    assert entry["fee_tariff"]["connection_charge"]["combined"] == "1850.00"
    assert entry["event_labels"]["ConnectionAccepted"] == {
        "de": "Anschluss abgenommen",
        "en": "Connection accepted",
    }
    schema = entry["application_schema"]
    assert schema["$defs"]["Plot"]["properties"]["flurstueck"]["x-label-de"] == "Flurstück"
    jsonschema.validate(entry["example"], schema)
    response = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "service": "sewer-connection", "data": entry["example"]},
        headers=auth("applicant", sub="portal:1"),
    )
    assert response.status_code == 201, response.json()


def test_an_architects_application_needs_the_owners_authorisation_and_the_plans(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    data = connection_request(applicant_is_owner=False, drainage_plans=[])
    url = client.post("/api/v1/cases", json=data, headers=clerk).headers["Location"]
    for path, body in (("/claim", None), ("/confirm-complete", None), ("/connection-point", POINT)):
        assert client.post(url + path, json=body, headers=clerk).status_code == 200, path

    def field_refused(path: str, body: dict[str, Any]) -> str:
        response = client.post(url + path, json=body, headers=clerk)
        assert response.status_code == 422, response.json()
        return str(response.json()["errors"][0]["field"])

    assert field_refused("/decide", PERMIT) == "drainage_plans"
    plans = {
        "received_on": "2026-03-02",
        "plans": [
            {"kind": "site_plan", "dated_on": "2026-02-27"},
            {"kind": "longitudinal_section", "dated_on": "2026-02-27"},
        ],
    }
    bad_kind = {**plans, "plans": [{"kind": "photo", "dated_on": "2026-02-27"}]}
    assert field_refused("/drainage-plans", bad_kind) == "plans.0.kind"
    state = client.post(url + "/drainage-plans", json=plans, headers=clerk).json()["service_state"]
    assert [p["kind"] for p in state["drainage_plans"]] == ["site_plan", "longitudinal_section"]
    assert field_refused("/decide", PERMIT) == "owner_authorisation"
    authorisation = {"kind": "power_of_attorney", "signed_on": "2026-02-25"}
    recorded = client.post(url + "/owner-authorisation", json=authorisation, headers=clerk)
    assert recorded.json()["service_state"]["owner_authorisation"] == authorisation
    decided = client.post(url + "/decide", json=PERMIT, headers=clerk)
    assert decided.status_code == 200, decided.json()


def test_a_connection_the_owners_contractor_built_is_closed_without_a_charge(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=connection_request(), headers=clerk).headers["Location"]

    def post(path: str, body: dict[str, Any] | None = None) -> Any:
        return client.post(url + path, json=body, headers=clerk)

    for path, body in (
        ("/claim", None),
        ("/confirm-complete", None),
        ("/connection-point", POINT),
        ("/decide", PERMIT),
        ("/notify", COUNTER),
    ):
        assert post(path, body).status_code == 200, path
    today = berlin_date(clock.now()).isoformat()
    report = {"completed_on": today, "pipe_length_m": "6.00", "built_by": "owner_contractor"}
    assert post("/construction-reported", report).json()["service_state"]["built_by"] == (
        "owner_contractor"
    )
    leak = {"tested_on": today, "method": "water", "result": "passed", "tester": "Prüfer"}
    assert post("/leak-tests", leak).status_code == 200
    assert post("/connection-inspections", {"inspected_on": today}).status_code == 200
    refused = post("/connection-charge")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "built_by"
    clock.advance(timedelta(days=40))
    closed = post("/close", {"reason": "Anschluss durch Fachbetrieb des Eigentümers"})
    assert closed.status_code == 200, closed.json()
    assert closed.json()["service_state"]["connection_charge"] is None

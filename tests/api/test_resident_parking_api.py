"""A resident parking permit carried through every step by HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services.resident_parking import example
from domain.working_days import berlin_date
from tests.api.conftest import NEW_CASE, Auth

BY_RULES: dict[str, Any] = {}  # the permit by the rules; the remedy notice is the town's
COUNTER = {"delivery": "counter"}
REVOCATION = {
    "ground": "facts_changed",
    "reason": "Wegzug aus dem Bewohnerparkbereich laut Melderegister",
    "facts_known_since": "2026-03-02",
    "discretion": "Der Parkraum im Bereich ist knapp; ein Vertrauensschutz besteht nicht.",
    "hearing_held_on": "2026-03-02",
}


def permit_request(name: str = "Max Mustermann", **data_changes: Any) -> dict[str, Any]:
    data = example(date(2026, 3, 2))
    data.update(data_changes)
    applicant = {**NEW_CASE["applicant"], "name": name}
    return {**NEW_CASE, "service": "resident-parking", "applicant": applicant, "data": data}


def submitted_and_reviewed(client: TestClient, auth: Auth, body: dict[str, Any], sub: str) -> str:
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub=sub))
    assert created.status_code == 201, created.json()
    url: str = created.headers["Location"]
    for step in ("/claim", "/confirm-complete"):
        assert client.post(url + step, headers=auth("clerk")).status_code == 200
    return url


def test_a_resident_parking_permit_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = submitted_and_reviewed(client, auth, permit_request(), "portal:p1")

    def post(path: str, payload: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        response = client.post(url + path, json=payload, headers={**clerk, **headers})
        assert response.status_code == 200, (path, response.json())
        return response.json()

    decided = post("/parking-decision", BY_RULES)
    decision = decided["decision"]
    assert decision["outcome"] == "approved"
    assert Decimal(decision["fee"]) == Decimal("60.00")  # Usingen: 60 EUR a year
    assert decision["effective_from"] == "2026-03-02"
    assert decision["expires_on"] == "2027-03-01"
    assert decision["particulars"] == {"zone": "U1", "zone_name": "Altstadt", "months": 12}
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["resident-parking-zones"]["version"] == "usingen-2026-01"
    assert rules["resident-parking-zones"]["inputs"]["residence_rule"] == (
        "Bewohnerparkregelung der Stadt Usingen"
    )
    # The costs decision and the fee record name the town's fee ordinance (§ 6a (5a) StVG).
    ordinance = "Gebührenordnung für Bewohnerparkausweise der Stadt Usingen vom 28.11.2024"
    assert ordinance in decision["costs"]["legal_basis"]
    assert ordinance in rules["resident-parking-fee"]["inputs"]["legal_basis"]
    assert rules["resident-parking-one-permit"]["inputs"]["refusals"] == []
    assert rules["resident-parking-fee"]["inputs"]["months"] == 12
    assert decided["service_state"]["vehicle"]["number_plate"] == "HG-AB 123"
    notified = post("/notify", COUNTER)
    # a road traffic matter: the notice names the supervising authority too (§ 73 VwGO)
    notice = notified["decision"]["remedy_notice"]
    assert notice["addressed_to"].startswith("Der Bürgermeister der Stadt Usingen")
    assert "Landrat des Hochtaunuskreises" in notice["text"]
    clock.advance(timedelta(days=40))
    post("/mark-final")

    early = client.post(url + "/parking-renewals", json={}, headers=clerk)
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "at"

    changed = post(
        "/number-plate-changes",
        {
            "vehicle": {
                "number_plate": "hg xy42",
                "holder": "leasing",
                "holder_consent": {
                    "holder_name": "Taunus Leasing GmbH",
                    "given_on": "2026-04-01",
                    "document": "Leasingvertrag mit Nutzungsüberlassung",
                },
            }
        },
    )
    # A decision of its own: it takes effect on its notification.
    assert changed["service_state"]["vehicle"]["number_plate"] == "HG-AB 123"
    assert changed["service_state"]["fees"][-1]["fee"] == "15.00"
    change = changed["service_state"]["decisions"][-1]
    assert change["kind"] == "plate_change"
    assert "HG-XY 42" in change["operative_part"]
    assert ordinance in change["costs"]["legal_basis"]
    assert change["remedy_notice"]["text"].startswith("Rechtsbehelfsbelehrung")
    assert change["notified_on"] is None
    assert "renew_permit" not in changed["allowed_commands"]
    changed = post("/permit-decision-notifications", {"delivery": "letter"})
    assert changed["service_state"]["vehicle"]["number_plate"] == "HG-XY 42"
    change = changed["service_state"]["decisions"][-1]
    assert change["notified_on"] == "2026-04-15"  # posted Saturday 11 April: 4th day, Wednesday
    assert change["objection_deadline"] == "2026-05-15"

    clock.set(clock.now().replace(year=2027, month=2, day=1))
    version = client.get(url, headers=clerk).headers["ETag"]
    stale = client.post(url + "/parking-renewals", json={}, headers={**clerk, "If-Match": '"1"'})
    assert stale.status_code == 412
    renewed = post("/parking-renewals", {"months": 6}, **{"If-Match": version})
    assert renewed["service_state"]["valid_until"] == "2027-03-01"  # not yet notified
    renewed = post("/permit-decision-notifications", COUNTER)
    assert renewed["service_state"]["decisions"][-1]["takes_effect_on"] == "2027-03-02"
    assert renewed["service_state"]["valid_from"] == "2026-03-02"
    assert renewed["service_state"]["valid_until"] == "2027-09-01"
    assert [f["charge"] for f in renewed["service_state"]["fees"]] == [
        "permit",
        "plate_change",
        "renewal",
    ]
    assert renewed["service_state"]["fees"][-1]["fee"] == "30.00"

    refused_close = client.post(url + "/close", headers=clerk)
    assert refused_close.status_code == 422
    assert refused_close.json()["errors"][0]["field"] == "valid_until"
    erasure = {"reason": "Antrag", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]}
    kept = client.post(
        url.replace("/cases/", "/admin/cases/") + "/erasure", json=erasure, headers=auth("admin")
    )
    assert kept.status_code == 422
    assert kept.json()["errors"][0]["field"] == "subjects"
    as_applicant = client.get(url, headers=auth("applicant", sub="portal:p1")).json()
    assert as_applicant["allowed_commands"] == ["return_permit"]
    returned = client.post(
        url + "/parking-return",
        json={"reason": "Umzug nach Frankfurt"},
        headers=auth("applicant", sub="portal:p1"),
    )
    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "permit_returned"
    assert post("/close")["status"] == "closed"

    history = client.get(url + "/history", headers=clerk).json()
    assert [h["type"] for h in history] == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "Decided",
        "FeeCharged",  # the fee, under its Kassenzeichen
        "Notified",
        "BecameFinal",
        "NumberPlateChanged",
        "PermitDecisionNotified",
        "PermitRenewed",
        "PermitDecisionNotified",
        "PermitReturned",
        "Closed",
    ]
    assert all(entry["actor"]["id"] and entry["at"] for entry in history)
    records = client.get(url + "/decisions", headers=auth("auditor")).json()
    assert records[0]["outcome"] == "approved"
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay

    published = feed_of(client, auth, url.rsplit("/", 1)[-1])
    assert [e["type"].split(".")[-2] for e in published][-6:] == [
        "parking_permit_plate_changed",
        "parking_permit_decision_notified",
        "parking_permit_renewed",
        "parking_permit_decision_notified",
        "parking_permit_returned",
        "closed",
    ]
    assert "HG-" not in json.dumps(published)  # the feed carries no number plates

    erased = client.post(
        url.replace("/cases/", "/admin/cases/") + "/erasure", json=erasure, headers=auth("admin")
    )
    assert erased.status_code == 200, erased.json()
    after = client.get(url, headers=clerk).json()
    assert after["service_state"]["vehicle"]["number_plate"] == "[gelöscht]"


def feed_of(client: TestClient, auth: Auth, case_id: str) -> list[dict[str, Any]]:
    """The case's published events, once the feed shows it closed (waits for the projection)."""
    integrator = auth("integrator", sub="svc-portal")
    found: list[dict[str, Any]] = []
    after = "0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = client.get(
            "/api/v1/feed", params={"after": after, "wait": 1}, headers=integrator
        )
        assert response.status_code == 200, response.text
        found += [e for e in response.json() if e["subject"] == case_id]
        after = response.headers["Vorgang-Next-After"]
        if found and found[-1]["type"].endswith(".closed.v1"):
            return found
    raise AssertionError(f"the feed did not show the case closed: {found}")


def test_refused_with_every_reason_that_applies(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    first = submitted_and_reviewed(client, auth, permit_request(), "portal:p2")
    client.post(first + "/parking-decision", json=BY_RULES, headers=clerk)
    # The same resident at the same address, and the same car written differently.
    same = permit_request(vehicle={"number_plate": "HG AB123", "holder": "applicant"})
    second = submitted_and_reviewed(client, auth, same, "portal:p2")
    refused = client.post(second + "/parking-decision", json=BY_RULES, headers=clerk).json()
    decision = refused["decision"]
    assert decision["outcome"] == "rejected"
    assert decision["fee"] is None
    rules = {r["rules_id"]: r for r in decision["rules"]}
    assert rules["resident-parking-one-permit"]["inputs"]["refusals"] == [
        "resident_holds_permit",
        "vehicle_holds_permit",
    ]
    assert "bereits ein gültiger Bewohnerparkausweis" in decision["justification"]
    replay = client.get(second + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay

    outside = permit_request(
        "Erika Weber",
        residence={"street": "Am Riedborn", "house_number": "3", "main_residence": False},
        vehicle={"number_plate": "HG-EW 7"},
    )
    third = submitted_and_reviewed(client, auth, outside, "portal:p3")
    refused = client.post(third + "/parking-decision", json=BY_RULES, headers=clerk).json()
    zone_check = {r["rules_id"]: r for r in refused["decision"]["rules"]}["resident-parking-zones"]
    assert zone_check["inputs"]["refusals"] == ["outside_zones", "secondary_residence"]


def test_a_permit_is_not_issued_by_the_generic_decision(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    url = submitted_and_reviewed(client, auth, permit_request(), "portal:p4")
    approval = {
        "outcome": "approved",
        "justification": "j",
        "legal_basis": "l",
    }
    response = client.post(url + "/decide", json=approval, headers=clerk)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "outcome"
    refusal = {**approval, "outcome": "rejected", "justification": "Halterzustimmung fehlt."}
    refused = client.post(url + "/decide", json=refusal, headers=clerk)
    assert refused.status_code == 200
    assert refused.json()["decision"]["rules"][0]["rules_id"] == "resident-parking-zones"
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay


def test_invalid_permit_data_names_the_field(client: TestClient, auth: Auth) -> None:
    headers = auth("applicant", sub="portal:p5")
    body = permit_request(
        residence={"street": "Obergasse", "house_number": "zwölf", "main_residence": True},
        vehicle={"number_plate": "HGAB123", "holder": "company_car"},
        months=30,
    )
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"data.residence.house_number", "data.vehicle.number_plate", "data.months"} <= fields

    no_consent = permit_request(vehicle={"number_plate": "HG-AB 1", "holder": "company_car"})
    response = client.post("/api/v1/cases", json=no_consent, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.vehicle"

    consent_later = permit_request(
        vehicle={
            "number_plate": "HG-AB 1",
            "holder": "leasing",
            "holder_consent": {
                "holder_name": "Leasing AG",
                "given_on": "2026-12-24",
                "document": "Vertrag",
            },
        }
    )
    response = client.post("/api/v1/cases", json=consent_later, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.vehicle.holder_consent.given_on"


def test_a_plate_held_by_another_permit_cannot_be_changed_to(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    first = submitted_and_reviewed(client, auth, permit_request(), "portal:p6")
    other = permit_request(
        "Erika Weber",
        residence={"street": "Kreuzgasse", "house_number": "4", "main_residence": True},
        vehicle={"number_plate": "HG-EW 7"},
    )
    second = submitted_and_reviewed(client, auth, other, "portal:p7")
    for url in (first, second):
        assert (
            client.post(url + "/parking-decision", json=BY_RULES, headers=clerk).status_code == 200
        )
        assert client.post(url + "/notify", json=COUNTER, headers=clerk).status_code == 200
    taken = client.post(
        second + "/number-plate-changes",
        json={"vehicle": {"number_plate": "HG-AB 123"}},
        headers=clerk,
    )
    assert taken.status_code == 422
    assert taken.json()["errors"][0]["field"] == "vehicle.number_plate"
    bad = client.post(
        second + "/number-plate-changes", json={"vehicle": {"number_plate": "?"}}, headers=clerk
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "vehicle.number_plate"
    revoked = client.post(
        first + "/parking-revocation",
        json={**REVOCATION, "immediate_enforcement": "Der Parkraum wird sofort benötigt."},
        headers=clerk,
    )
    assert revoked.status_code == 200, revoked.json()
    assert revoked.json()["status"] == "notified"  # decided; in effect once notified
    notified = client.post(first + "/permit-decision-notifications", json=COUNTER, headers=clerk)
    assert notified.status_code == 200, notified.json()
    assert notified.json()["status"] == "permit_revoked"
    assert notified.json()["service_state"]["revocation"]["state"] == "in_effect"
    moved = client.post(
        second + "/number-plate-changes",
        json={"vehicle": {"number_plate": "HG-AB 123"}},
        headers=clerk,
    )
    assert moved.status_code == 200, moved.json()


def test_permit_steps_on_a_general_case_are_409(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    url = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).headers["Location"]
    response = client.post(url + "/parking-renewals", json={}, headers=clerk)
    assert response.status_code == 409
    assert "renew_permit" not in response.json()["allowed_commands"]


def test_the_catalogue_example_is_accepted(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    entry = client.get("/api/v1/services/resident-parking").json()
    assert entry["label_de"] == "Bewohnerparkausweis"
    assert entry["fee_tariff"]["towns"]["usingen"]["annual_fee"] == "60.00"
    assert "Obergasse" in entry["fee_tariff"]["towns"]["usingen"]["zones"][0]["streets"]
    plate = entry["application_schema"]["$defs"]["Vehicle"]["properties"]["number_plate"]
    assert plate["x-label-de"] == "Amtliches Kennzeichen"
    body = {**NEW_CASE, "service": "resident-parking", "data": entry["example"]}
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:p8"))
    assert created.status_code == 201, created.json()
    assert berlin_date(clock.now()) == date(2026, 3, 2)


def test_a_revocation_without_immediate_enforcement_is_suspended_by_an_objection(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = submitted_and_reviewed(client, auth, permit_request(), "portal:p9")

    def post(path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post(url + path, json=payload, headers=clerk)
        assert response.status_code == 200, (path, response.json())
        return response.json()

    post("/parking-decision", BY_RULES)
    post("/notify", COUNTER)
    unheard = {k: v for k, v in REVOCATION.items() if k != "hearing_held_on"}
    refused = client.post(url + "/parking-revocation", json=unheard, headers=clerk)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "hearing_held_on"
    decided = post("/parking-revocation", REVOCATION)
    revocation = decided["service_state"]["decisions"][-1]
    assert revocation["legal_basis"] == "§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG"
    assert revocation["hearing"]["held_on"] == "2026-03-02"
    assert revocation["remedy_notice"]["text"].startswith("Rechtsbehelfsbelehrung")
    state = post("/permit-decision-notifications", COUNTER)["service_state"]
    assert state["revocation"]["state"] == "awaiting_finality"
    assert state["revocation"]["objection_deadline"] == "2026-04-02"
    assert state["ended_on"] is None  # the permit stays until the revocation is final
    lodged = post("/revocation-objections", {"grounds": "Ich wohne weiterhin dort."})
    assert lodged["service_state"]["revocation"]["state"] == "suspended"
    assert lodged["status"] == "notified"
    clock.advance(timedelta(days=40))
    assert "mark_revocation_final" not in lodged["allowed_commands"]
    decided = post(
        "/revocation-objections/decision",
        {"outcome": "dismissed", "reasons": "Wegzug belegt.", "served_on": "2026-04-11"},
    )
    assert decided["service_state"]["ended_on"] is None
    early = client.post(url + "/revocation-final", headers=clerk)
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "at"
    clock.advance(timedelta(days=31))  # the month for an action ended on 11 May
    final = post("/revocation-final")
    assert final["status"] == "permit_revoked"
    assert final["service_state"]["revocation"]["final_on"] == "2026-05-12"
    assert final["service_state"]["ended_on"] == "2026-05-12"

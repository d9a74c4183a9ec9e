"""The resident's street is personal data: sealed, erased with them, and no replay needs it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from infrastructure.database import DatabaseTarget
from tests.api.conftest import Auth
from tests.api.test_resident_parking_api import BY_RULES, permit_request, submitted_and_reviewed
from tests.infrastructure.test_privacy import raw_bytes, readable_on_disk

STREET = "Obergasse"  # in Usingen's zone U1


def test_after_erasure_no_street_is_stored_and_the_decision_still_replays(
    client: TestClient, auth: Auth, target: DatabaseTarget, clock: FixedClock
) -> None:
    if not readable_on_disk(target):
        pytest.skip("the PostgreSQL data directory is not readable by this user")
    clerk, holder = auth("clerk"), auth("applicant", sub="portal:s1")
    body = permit_request()
    body["data"]["residence"]["street"] = STREET
    url = submitted_and_reviewed(client, auth, body, "portal:s1")
    decided = client.post(url + "/parking-decision", json=BY_RULES, headers=clerk)
    assert decided.status_code == 200, decided.json()
    decision = decided.json()["decision"]
    assert decision["particulars"]["zone"] == "U1"
    zone_check = next(r for r in decision["rules"] if r["rules_id"] == "resident-parking-zones")
    assert zone_check["inputs"]["zone"] == "U1"  # the zone it found, not the street
    assert "street" not in zone_check["inputs"]
    assert client.get(url, headers=clerk).json()["data"]["residence"]["street"] == STREET
    notified = client.post(url + "/notify", json={"delivery": "counter"}, headers=clerk)
    assert notified.status_code == 200, notified.json()
    returned = client.post(url + "/parking-return", json={}, headers=holder)
    assert returned.status_code == 200, returned.json()

    erasure = {"reason": "Antrag", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]}
    erased = client.post(
        url.replace("/cases/", "/admin/cases/") + "/erasure", json=erasure, headers=auth("admin")
    )
    assert erased.status_code == 200, erased.json()
    after = client.get(url, headers=clerk).json()
    assert after["data"]["residence"]["street"] == "[gelöscht]"
    replay = client.get(url + "/decisions/1/replay", headers=auth("auditor")).json()
    assert replay["verdict"] == "consistent", replay

    clock.advance(timedelta(days=40))  # no file is closed while the objection period runs
    closed = client.post(url + "/close", headers=clerk)
    assert closed.status_code == 200, closed.json()
    position = closed.json()["position"]
    audit = client.get(
        "/api/v1/audit",
        params={"case_id": url.rsplit("/", 1)[-1], "min_position": position},
        headers=auth("auditor"),
    )
    assert audit.status_code == 200
    history = client.get(url + "/history", headers=auth("auditor")).json()
    for shown in (audit.json(), history):
        assert STREET.casefold() not in json.dumps(shown, ensure_ascii=False).casefold()
    assert STREET.casefold().encode() not in raw_bytes(target).lower()  # events and views

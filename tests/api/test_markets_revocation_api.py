"""The town takes a pitch back over HTTP only by revoking the admission (pitch-revocation):
a Bescheid of its own, and the pitch offered to the next in rank in the same request."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import Auth
from tests.api.test_markets_review_api import CLERK, MARKETS, fields, selected


def revocation(clock: FixedClock, **changes: Any) -> dict[str, Any]:
    body = {
        "ground": "requirement_not_met",
        "reason": "Die Betriebshaftpflicht ist gekündigt; kein neuer Nachweis.",
        "facts_known_since": clock.now().date().isoformat(),
        "discretion": "Ohne Versicherung gefährdet der Stand Besucher.",
        "immediate_enforcement": "Der Platz muss vor dem Markt vergeben werden.",
        "hearing_not_needed_because": "Gefahr im Verzug (§ 28 Abs. 2 Nr. 1 HVwVfG).",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_staff_revoke_an_admission_with_ground_and_hearing_and_the_pitch_passes_on(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    market, cases = selected(client, auth, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    clerk = auth("clerk", sub=CLERK)
    anna = f"/api/v1/cases/{cases['Anna']}"
    gave_up = client.post(f"{anna}/pitch-give-up", json={"reason": "weg"}, headers=clerk)
    assert fields(gave_up) == ["actor"]  # the town does not give a trader's pitch up
    unheard = client.post(
        f"{anna}/pitch-revocation",
        json=revocation(clock, hearing_not_needed_because=None),
        headers=clerk,
    )
    assert fields(unheard) == ["hearing_held_on"]
    revoked = client.post(f"{anna}/pitch-revocation", json=revocation(clock), headers=clerk)
    assert revoked.status_code in (200, 201), revoked.text
    case = client.get(anna, headers=clerk).json()
    assert case["service_state"]["pitch"] is None
    assert case["decision"]["outcome"] == "rejected"
    assert "widerrufen" in case["decision"]["operative_part"]
    assert "§ 49 Abs. 2 Satz 1 Nr. 2 HVwVfG" in case["decision"]["legal_basis"]
    rows = client.get(f"{MARKETS}/{market}/applications", headers=clerk).json()
    offered = [row for row in rows if row.get("offered")]
    assert [row["case_id"] for row in offered] == [cases["Cem"]]

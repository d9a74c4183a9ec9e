"""A supervisor assigns a case only to staff the town knows: a mistyped id is a 422."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth


def new_case(client: TestClient, auth: Auth, tenant: str = "usingen") -> str:
    body = {**NEW_CASE, "tenant": tenant}
    response = client.post(
        "/api/v1/cases", json=body, headers=auth("applicant", sub="portal:1", tenant=tenant)
    )
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def acts(client: TestClient, auth: Auth, role: str, sub: str, tenant: str = "usingen") -> None:
    """The member of staff notes something on a case of the town: now the town knows them."""
    case_id = new_case(client, auth, tenant)
    noted = client.post(
        f"/api/v1/cases/{case_id}/notes",
        json={"text": "Rückruf vereinbart"},
        headers=auth(role, sub=sub, tenant=tenant),
    )
    assert noted.status_code == 200, noted.json()


def assign(client: TestClient, auth: Auth, case_id: str, who: str, by: str = "chefin") -> Any:
    body = {"assignee": {"id": who, "name": f"Name of {who}"}, "reason": "Urlaubsvertretung"}
    return client.post(
        f"/api/v1/cases/{case_id}/assign", json=body, headers=auth("supervisor", sub=by)
    )


def assigned_to(client: TestClient, auth: Auth, case_id: str) -> list[dict[str, Any]]:
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=auth("auditor")).json()
    return [e["data"]["assigned_to"] for e in history if e["type"] == "Assigned"]


def test_an_id_the_town_does_not_know_is_refused_naming_the_assignee(
    client: TestClient, auth: Auth
) -> None:
    acts(client, auth, "clerk", "anna.schmidt")
    case_id = new_case(client, auth)
    typo = assign(client, auth, case_id, "anna.schmitd")
    assert typo.status_code == 422, typo.json()
    assert typo.headers["content-type"] == "application/problem+json"
    assert [(e["in"], e["field"]) for e in typo.json()["errors"]] == [("body", "assignee.id")]
    assert "anna.schmitd" in typo.json()["detail"]
    assert assigned_to(client, auth, case_id) == []
    known = assign(client, auth, case_id, "anna.schmidt")
    assert known.status_code == 200, known.json()
    assert known.json()["holder"] == "anna.schmidt"


def test_staff_known_only_to_another_town_are_not_known_here(
    client: TestClient, auth: Auth
) -> None:
    acts(client, auth, "clerk", "bernd.weber", tenant="schmitten")
    refused = assign(client, auth, new_case(client, auth), "bernd.weber")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "assignee.id"


def test_a_supervisor_assigns_to_themself_and_to_another_supervisor_in_their_role(
    client: TestClient, auth: Auth
) -> None:
    acts(client, auth, "supervisor", "clara.vogt")
    case_id = new_case(client, auth)
    mine = assign(client, auth, case_id, "chefin")
    assert mine.status_code == 200, mine.json()
    assert mine.json()["holder"] == "chefin"
    other = assign(client, auth, case_id, "clara.vogt")
    assert other.status_code == 200, other.json()
    roles = [(a["id"], a["role"]) for a in assigned_to(client, auth, case_id)]
    assert roles == [("chefin", "supervisor"), ("clara.vogt", "supervisor")]

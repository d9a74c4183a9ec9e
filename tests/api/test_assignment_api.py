"""Supervisors assign and reassign cases over HTTP; the inbox and audit trail follow."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth


def assign(client: TestClient, auth: Auth, case_id: str, who: str, **headers: Any) -> Any:
    body = {"assignee": {"id": who, "name": f"Name of {who}"}, "reason": "Urlaubsvertretung"}
    return client.post(
        f"/api/v1/cases/{case_id}/assign", json=body, headers={**auth("supervisor"), **headers}
    )


def known_to_the_town(client: TestClient, auth: Auth, case_id: str, *clerks: str) -> None:
    """Cases are assigned to staff who have acted for the town: these clerks note something."""
    for clerk in clerks:
        noted = client.post(
            f"/api/v1/cases/{case_id}/notes",
            json={"text": "Vermerk"},
            headers=auth("clerk", sub=clerk),
        )
        assert noted.status_code == 200


def test_a_supervisor_assigns_and_reassigns_and_the_inbox_follows(
    client: TestClient, auth: Auth
) -> None:
    applicant = auth("applicant", sub="portal:1")
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=applicant).json()
    known_to_the_town(client, auth, case["id"], "clerk.one", "clerk.two")
    first = assign(client, auth, case["id"], "clerk.one")
    assert first.status_code == 200, first.json()
    assert first.json()["holder"] == "clerk.one"
    second = assign(client, auth, case["id"], "clerk.two", **{"If-Match": first.headers["ETag"]})
    assert second.status_code == 200
    queue = client.get(
        "/api/v1/inbox",
        params={"min_position": second.json()["position"]},
        headers=auth("clerk", sub="clerk.two"),
    ).json()
    assert [i["assignee"] for i in queue["items"] if i["case_id"] == case["id"]] == ["clerk.two"]
    mine = client.get(
        "/api/v1/inbox", params={"assignee": "me"}, headers=auth("clerk", sub="clerk.two")
    ).json()
    assert [i["case_id"] for i in mine["items"]] == [case["id"]]
    # the new holder works on it; the previous one no longer may
    released = client.post(
        f"/api/v1/cases/{case['id']}/release", headers=auth("clerk", sub="clerk.one")
    )
    assert released.status_code == 409
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth("auditor")).json()
    assigned = [e for e in history if e["type"] == "Assigned"]
    assert [e["data"]["previous_holder"] for e in assigned] == [None, "clerk.one"]
    assert assigned[1]["reason"] == "Urlaubsvertretung"
    own = client.get(f"/api/v1/cases/{case['id']}/history", headers=applicant).json()
    assert "Assigned" not in {e["type"] for e in own}  # internal: not the applicant's business
    assert "clerk.two" not in str(own)


def test_assignment_is_for_supervisors_and_names_what_is_wrong(
    client: TestClient, auth: Auth
) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("clerk")).json()
    known_to_the_town(client, auth, case["id"], "clerk.one")
    url = f"/api/v1/cases/{case['id']}/assign"
    body = {"assignee": {"id": "clerk.one", "name": "Eins"}, "reason": "r"}
    assert client.post(url, json=body, headers=auth("clerk")).status_code == 403
    missing = client.post(url, json={"reason": "r"}, headers=auth("supervisor"))
    assert missing.status_code == 422
    assert "assignee" in str(missing.json())
    foreign = client.post(url, json=body, headers=auth("supervisor", tenant="schmitten"))
    assert foreign.status_code == 404
    assert assign(client, auth, case["id"], "clerk.one").status_code == 200
    again = assign(client, auth, case["id"], "clerk.one")
    assert again.status_code == 422
    assert "already holds" in again.json()["detail"]

"""Over HTTP: a clerk of another team gets 403 naming the team; reading stays open."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import DevelopmentTokens
from domain.actor import Role
from tests.api.conftest import NEW_CASE, SECRET, Auth


def staff(role: Role, *teams: str, sub: str = "clerk.team") -> dict[str, str]:
    token = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang").issue(
        subject=sub, name="Team Person", role=role, tenant="usingen", teams=teams
    )
    return {"Authorization": f"Bearer {token}"}


def test_staff_act_on_their_teams_services_only(client: TestClient, auth: Auth) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant")).json()
    assert case["service"] == "general"
    url = f"/api/v1/cases/{case['id']}"
    nobody = staff(Role.CLERK, "nonexistent")
    refused = client.post(f"{url}/claim", headers=nobody)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "general cases are handled by" in refused.json()["detail"]
    assert client.get(url, headers=nobody).status_code == 200  # reading stays open
    assert client.post(f"{url}/claim", headers=staff(Role.CLERK, "buergerbuero")).status_code == 200
    paper = client.post("/api/v1/cases", json=NEW_CASE, headers=nobody)
    assert paper.status_code == 403  # nor enter a paper application for another team

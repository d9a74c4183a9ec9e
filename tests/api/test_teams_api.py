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


def test_an_administrator_changes_the_roster_and_staff_act_by_it_at_once(
    client: TestClient, auth: Auth
) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant")).json()
    url = f"/api/v1/cases/{case['id']}"
    registry = staff(Role.CLERK, "standesamt", sub="clerk.standesamt")
    assert client.post(f"{url}/claim", headers=registry).status_code == 403  # no such team yet
    admin = auth("admin")
    body = {
        "label_de": "Standesamt",
        "label_en": "Registry office",
        "services": ["general"],
        "reason": "Neuorganisation 2027",
    }
    formed = client.put("/api/v1/admin/teams/standesamt", json=body, headers=admin)
    assert formed.status_code == 200, formed.json()
    assert "standesamt" in {t["id"] for t in formed.json()}
    assert client.post(f"{url}/claim", headers=registry).status_code == 200
    listed = client.get("/api/v1/teams", headers=auth("clerk")).json()
    assert {
        "id": "standesamt",
        "label_de": "Standesamt",
        "label_en": "Registry office",
        "services": ["general"],
    } in listed
    # Schmitten's roster is untouched, and Usingen's admin cannot change it
    schmitten = client.get("/api/v1/teams", headers=auth("clerk", tenant="schmitten")).json()
    assert "standesamt" not in {t["id"] for t in schmitten}


def test_a_service_never_loses_its_last_team_and_every_change_is_on_record(
    client: TestClient, auth: Auth
) -> None:
    admin = auth("admin", tenant="glashuetten")
    only = client.post(
        "/api/v1/admin/teams/verwaltung/dissolve", json={"reason": "r"}, headers=admin
    )
    assert only.status_code == 422
    assert "no team would handle" in only.json()["detail"]
    narrow = {"label_de": "V", "label_en": "A", "services": ["general"], "reason": "zu eng"}
    narrowed = client.put("/api/v1/admin/teams/verwaltung", json=narrow, headers=admin)
    assert narrowed.status_code == 422
    unknown = {**narrow, "services": ["hundesteuer-x"]}
    bad = client.put("/api/v1/admin/teams/verwaltung", json=unknown, headers=admin)
    assert bad.status_code == 422
    assert "hundesteuer-x" in bad.json()["detail"]
    assert client.put("/api/v1/admin/teams/BAD_ID", json=narrow, headers=admin).status_code == 422
    wide = {**narrow, "services": ["*"], "reason": "Vertretung", "label_de": "Bauhof"}
    assert client.put("/api/v1/admin/teams/bauhof", json=wide, headers=admin).status_code == 200
    done = client.post(
        "/api/v1/admin/teams/bauhof/dissolve", json={"reason": "aufgelöst"}, headers=admin
    )
    assert done.status_code == 200
    history = client.get(
        "/api/v1/admin/teams/history", headers=auth("auditor", tenant="glashuetten")
    )
    assert history.status_code == 200
    changes = history.json()
    assert [c["type"] for c in changes] == ["Started", "TeamConfigured", "TeamDissolved"]
    assert changes[1]["actor_id"] == "admin.glashuetten"
    assert changes[1]["details"]["reason"] == "Vertretung"
    assert changes[2]["details"]["team_id"] == "bauhof"
    assert client.put("/api/v1/admin/teams/x1", json=wide, headers=auth("clerk")).status_code == 403

"""Identity that fails closed, over HTTP: teams, issuer outages, challenges, metrics, serve."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from api.app import create_app
from domain.actor import Role
from infrastructure import cli
from infrastructure.privacy.key_encryption import new_kek_text
from infrastructure.settings import Environment, Settings
from tests.api.conftest import NEW_CASE, Auth
from tests.api.fake_issuer import FakeIssuer, fake_issuer
from tests.api.live_server import serving
from tests.api.test_teams_api import staff

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ------------------------------------------------------------------------------- teams


def test_a_teams_claim_naming_only_another_towns_team_acts_on_no_case(
    client: TestClient, auth: Auth
) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant")).json()
    url = f"/api/v1/cases/{case['id']}"
    elsewhere = staff(Role.CLERK, "/neu-anspach/bauamt", sub="clerk.elsewhere")
    refused = client.post(f"{url}/claim", headers=elsewhere)
    assert refused.status_code == 403, refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=elsewhere).status_code == 200  # reading stays open
    assert client.post("/api/v1/cases", json=NEW_CASE, headers=elsewhere).status_code == 403


def test_a_nested_group_path_acts_for_its_team(client: TestClient, auth: Auth) -> None:
    civil_works = {
        "label_de": "Bauamt / Tiefbau",
        "label_en": "Civil engineering",
        "services": ["road-opening", "sewer-connection", "water-meter-reading"],
        "reason": "Allgemeine Anträge nur noch im Bürgerbüro",
    }
    changed = client.put("/api/v1/admin/teams/bauamt", json=civil_works, headers=auth("admin"))
    assert changed.status_code == 200, changed.json()
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant")).json()
    url = f"/api/v1/cases/{case['id']}"
    building_lead = staff(Role.CLERK, "/usingen/bauamt/leitung", sub="clerk.bauamt")
    refused = client.post(f"{url}/claim", headers=building_lead)
    assert refused.status_code == 403, refused.json()
    assert "your teams: bauamt" in refused.json()["detail"]
    office_lead = staff(Role.CLERK, "/usingen/buergerbuero/leitung", sub="clerk.buero")
    assert client.post(f"{url}/claim", headers=office_lead).status_code == 200


# ------------------------------------------------------------------------- OIDC over HTTP


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with fake_issuer() as running:
        running.publish("k1", KEY.public_key())
        yield running


def oidc_settings(tmp_path: Path, issuer_url: str, **changes: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/v.db",
        oidc_issuer=issuer_url,
        log_format="json",
        **changes,
    )


def access_token(issuer_url: str, kid: str = "k1", **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer_url,
        "aud": "vorgang",
        "sub": "f3a1-anna",
        "name": "Anna Schmidt",
        "realm_access": {"roles": ["clerk"]},
        "tenant": "usingen",
        "iat": now,
        "exp": now + 300,
        **changes,
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": kid})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("discovery", [True, False])
def test_the_api_starts_while_the_issuer_is_down_and_answers_503_with_retry_after(
    tmp_path: Path, discovery: bool
) -> None:
    with fake_issuer() as gone:
        url, jwks_url = gone.url, gone.jwks_url
    settings = oidc_settings(tmp_path, url, oidc_jwks_url=None if discovery else jwks_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        response = client.get("/api/v1/inbox", headers=bearer(access_token(url)))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["type"].endswith("/issuer-unavailable")
        assert "WWW-Authenticate" not in response.headers


def test_the_issuer_alone_finds_its_keys_by_discovery(tmp_path: Path, issuer: FakeIssuer) -> None:
    with TestClient(create_app(oidc_settings(tmp_path, issuer.url))) as client:
        response = client.get("/api/v1/inbox", headers=bearer(access_token(issuer.url)))
        assert response.status_code == 200, response.json()
    assert issuer.fetches("/openid-configuration") == 1


def test_a_401_challenges_with_invalid_token_only_when_a_token_was_presented(
    tmp_path: Path, issuer: FakeIssuer
) -> None:
    settings = oidc_settings(tmp_path, issuer.url, oidc_jwks_url=issuer.jwks_url)
    with TestClient(create_app(settings)) as client:
        anonymous = client.get("/api/v1/inbox")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="vorgang"'
        expired = access_token(issuer.url, exp=int(time.time()) - 120)
        refused = client.get("/api/v1/inbox", headers=bearer(expired))
        assert refused.status_code == 401
        challenge = refused.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="vorgang", error="invalid_token", ')
        assert 'error_description="the token has expired"' in challenge
        impostor = access_token("https://evil.example/realms/vorgang")
        wrong_issuer = client.get("/api/v1/inbox", headers=bearer(impostor))
        assert f"expected '{issuer.url}'" in wrong_issuer.json()["detail"]
        assert (
            '"' not in wrong_issuer.headers["WWW-Authenticate"].split("error_description=")[1][1:-1]
        )


def test_a_person_with_several_roles_acts_in_the_role_the_route_allows(
    tmp_path: Path, issuer: FakeIssuer
) -> None:
    clerk_and_admin = bearer(access_token(issuer.url, realm_access={"roles": ["clerk", "admin"]}))
    applicant = bearer(
        access_token(issuer.url, sub="portal:1", realm_access={"roles": ["applicant"]})
    )
    settings = oidc_settings(tmp_path, issuer.url, oidc_jwks_url=issuer.jwks_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/inbox", headers=clerk_and_admin).status_code == 200
        case = client.post("/api/v1/cases", json=NEW_CASE, headers=applicant).json()
        erasure = {"reason": "Antrag auf Löschung", "legal_basis": "Art. 17 DSGVO"}
        erased = client.post(
            f"/api/v1/admin/cases/{case['id']}/erasure",
            json={**erasure, "subjects": ["applicant"]},
            headers=clerk_and_admin,
        )
        assert erased.status_code < 300, erased.json()
        history = client.get(f"/api/v1/cases/{case['id']}/history", headers=clerk_and_admin)
        assert history.json()[-1]["actor"]["role"] == "admin"  # the role acted in


def test_a_hung_issuer_holds_one_fetch_and_health_keeps_answering(
    tmp_path: Path, issuer: FakeIssuer
) -> None:
    settings = oidc_settings(
        tmp_path, issuer.url, oidc_jwks_url=issuer.jwks_url, oidc_fetch_timeout_seconds=120
    )
    issuer.mode = "hang"
    answers: list[int] = []
    done = threading.Condition()

    with serving(create_app(settings)) as base:

        def call(kid: str) -> None:
            with httpx.Client(base_url=base, timeout=120) as http:
                status = http.get(
                    "/api/v1/inbox", headers=bearer(access_token(issuer.url, kid))
                ).status_code
            with done:
                answers.append(status)
                done.notify_all()

        callers = [threading.Thread(target=call, args=(f"new-{n}",)) for n in range(40)]
        for caller in callers:
            caller.start()
        with done:  # every request but the one fetching answers while the fetch hangs
            assert done.wait_for(lambda: len(answers) == 39, timeout=60), answers
        assert answers == [503] * 39
        with httpx.Client(base_url=base, timeout=120) as http:
            assert http.get("/health").status_code == 200
            assert http.get("/api/v1/services").status_code == 200
        assert issuer.fetches() == 1
        assert issuer.hanging == 1
        issuer.released.set()
        for caller in callers:
            caller.join()
    assert sorted(answers) == [401] + [503] * 39


# ---------------------------------------------------------------------------- metrics


def test_metrics_need_the_metrics_token_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/v.db", metrics_token="scrape-0123456789"
    )
    with TestClient(create_app(settings)) as client:
        anonymous = client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        wrong = client.get("/metrics", headers=bearer("guess"))
        assert wrong.status_code == 401
        assert client.get("/metrics", headers=bearer("scrape-0123456789")).status_code == 200
    with TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path}/o.db"))) as client:
        assert client.get("/metrics").status_code == 200  # unset: open, as before


# ------------------------------------------------------------------------------ serve


def test_serve_refuses_the_development_issuer_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[object] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda api, **_: served.append(api))
    monkeypatch.delenv("VORGANG_OIDC_ISSUER", raising=False)
    monkeypatch.setenv("VORGANG_DATABASE_URL", "sqlite:///:memory:")
    runner = CliRunner()
    refused = runner.invoke(cli.app, ["serve", "--no-projections"])
    assert refused.exit_code == 2
    assert "development token issuer" in refused.output
    assert "--dev" in refused.output
    assert served == []
    demo_alone = runner.invoke(cli.app, ["serve", "--demo", "--no-projections"])
    assert demo_alone.exit_code == 2
    assert served == []
    assert runner.invoke(cli.app, ["serve", "--dev", "--no-projections"]).exit_code == 0
    assert len(served) == 1


def test_production_needs_the_issuer_alone_since_its_keys_are_discovered() -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        id_secret="x" * 32,
        key_encryption_key=new_kek_text(),
        oidc_issuer="https://id.example.de/realms/hessen",
        seal_key_file="/etc/vorgang/seal/seal-key.pem",
        seal_certificate_file="/etc/vorgang/seal/seal-certificate.pem",
        integrity_signing_key="eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=",
    )
    assert settings.oidc_jwks_url is None
    with pytest.raises(ValidationError, match="VORGANG_OIDC_ISSUER must be set"):
        Settings(environment=Environment.PRODUCTION, id_secret="x" * 32)


# ------------------------------------------------------------------- claims that are stored


@pytest.mark.parametrize(
    ("sub", "name", "claim"),
    [
        ("clerk.nul\x00", "Clerk Person", "sub"),
        ("clerk.usingen", "Max \ud800", "name"),
        ("clerk.usingen", "Max \x00", "name"),
    ],
)
def test_a_token_whose_person_cannot_be_stored_is_refused_not_a_server_error(
    client: TestClient, tokens: Any, sub: str, name: str, claim: str
) -> None:
    token = tokens.issue(subject=sub, name=name, role=Role.CLERK, tenant="usingen")
    answer = client.post(
        "/api/v1/cases", json=NEW_CASE, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert repr(claim) in answer.json()["detail"]


def test_production_needs_the_seal_and_both_of_its_files() -> None:
    """Documents are sealed with the deployment's key: production refuses to start without it."""
    ready = {
        "environment": Environment.PRODUCTION,
        "id_secret": "x" * 32,
        "key_encryption_key": new_kek_text(),
        "oidc_issuer": "https://id.example.de/realms/hessen",
    }
    with pytest.raises(ValidationError, match="VORGANG_SEAL_KEY_FILE must be set"):
        Settings(**ready)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="set together"):
        Settings(**ready, seal_key_file="/etc/vorgang/seal/seal-key.pem")  # type: ignore[arg-type]

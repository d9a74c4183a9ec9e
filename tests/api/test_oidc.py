"""Production tokens: verified against the issuer's JWKS, served here on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.auth import Unauthenticated
from api.oidc import OidcTokens
from domain.actor import Role, Scope

ISSUER = "https://id.example/realms/vorgang"


class Jwks:
    """A JWKS endpoint on 127.0.0.1 whose keys a test can change."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, kid: str, public_key: Any) -> None:
        algorithm = RSAAlgorithm if isinstance(public_key, rsa.RSAPublicKey) else ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(public_key))
        self.keys.append({**jwk, "kid": kid, "use": "sig"})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    endpoint = Jwks()
    yield endpoint
    endpoint.server.shutdown()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": "vorgang",
        "sub": "f3a1-anna",
        "preferred_username": "anna.schmidt",
        "name": "Anna Schmidt",
        "realm_access": {"roles": ["offline_access", "clerk"]},
        "tenant": "usingen",
        "iat": now,
        "exp": now + 300,
    }
    return {**base, **changes}


def token(key: Any = RSA_KEY, kid: str = "k1", alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid})


def verifier(jwks: Jwks) -> OidcTokens:
    return OidcTokens(issuer=ISSUER, audience="vorgang", jwks_url=jwks.url, key_refresh_cooldown=0)


def test_a_valid_rs256_or_es256_token_names_the_actor(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    jwks.publish("e1", EC_KEY.public_key())
    actor = verifier(jwks).verify(token())
    assert (actor.id, actor.role, actor.tenant, actor.display_name) == (
        "f3a1-anna",
        Role.CLERK,
        "usingen",
        "Anna Schmidt",
    )
    assert verifier(jwks).verify(token(EC_KEY, kid="e1", alg="ES256")).role is Role.CLERK


def test_a_client_credentials_token_is_a_service_account_with_its_scopes(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    keycloak_service_account = token(
        sub="9c7e-service-account",
        preferred_username="service-account-archiv",
        name=None,
        azp="archiv",
        scope="profile email feed:read personal-data:read",
        realm_access={"roles": ["default-roles-hessen", "integrator"]},
    )
    actor = verifier(jwks).verify(keycloak_service_account)
    assert (actor.id, actor.role, actor.display_name) == (
        "9c7e-service-account",
        Role.INTEGRATOR,
        "archiv",
    )
    assert actor.scopes == {Scope.FEED_READ, Scope.PERSONAL_DATA}  # issuer scopes ignored
    portal = verifier(jwks).verify(
        token(azp="portal", scope="feed:read", realm_access={"roles": ["integrator"]})
    )
    assert portal.holds(Scope.FEED_READ)
    assert not portal.holds(Scope.PERSONAL_DATA)
    # people act by their role: a clerk's token gains nothing from a scope claim
    clerk = verifier(jwks).verify(token(scope="feed:read personal-data:read"))
    assert clerk.scopes == frozenset()


def test_teams_come_from_a_configurable_claim_of_group_paths(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    keycloak_groups = OidcTokens(
        issuer=ISSUER,
        audience="vorgang",
        jwks_url=jwks.url,
        teams_claim="groups",
        key_refresh_cooldown=0,
    )
    actor = keycloak_groups.verify(
        token(groups=["/usingen/bauamt", "/schmitten/verwaltung", "/usingen/ordnungsamt"])
    )
    assert actor.teams == {"bauamt", "ordnungsamt"}  # not a team of a town she does not serve


def test_a_rotated_key_is_fetched_when_a_token_names_it(jwks: Jwks) -> None:
    check = verifier(jwks)
    jwks.publish("k1", RSA_KEY.public_key())
    check.verify(token())
    jwks.publish("k2", OTHER_KEY.public_key())
    assert check.verify(token(OTHER_KEY, kid="k2")).id == "f3a1-anna"


PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: token(exp=int(time.time()) - 120), "expired"),
        (lambda: token(nbf=int(time.time()) + 600), "not valid yet"),
        (lambda: token(iss="https://evil.example"), "not valid"),
        (lambda: token(aud="account"), "not valid"),
        (lambda: token(OTHER_KEY), "not valid"),  # signed by another key under kid k1
        (lambda: token(kid="unknown"), "not one of the issuer's"),
        (lambda: jwt.encode(claims(), None, algorithm="none"), "'none' are not accepted"),
        (
            lambda: jwt.encode(
                claims(),
                "guessed-secret-0123456789abcdef",
                algorithm="HS256",
                headers={"kid": "k1"},
            ),
            "'HS256' are not accepted",
        ),
        (lambda: "not.a.jwt", "not a JWT"),
        (lambda: token(realm_access={"roles": ["offline_access"]}), "no known role"),
        (lambda: token(tenant="mars"), "no known tenant"),
    ],
)
def test_bad_tokens_are_refused(jwks: Jwks, make, message: str) -> None:  # type: ignore[no-untyped-def]
    jwks.publish("k1", RSA_KEY.public_key())
    with pytest.raises(Unauthenticated, match=message):
        verifier(jwks).verify(make())


def test_the_public_key_used_as_an_hmac_secret_is_refused(jwks: Jwks) -> None:
    """The classic algorithm confusion: HS256 "signed" with the issuer's public key."""
    jwks.publish("k1", RSA_KEY.public_key())

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = hmac.new(PUBLIC_PEM, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64(signature)}"
    with pytest.raises(Unauthenticated, match="'HS256' are not accepted"):
        verifier(jwks).verify(forged)


def test_over_http_a_refused_token_is_401_problem_json_and_never_logged(
    jwks: Jwks,
    tmp_path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from infrastructure.settings import Settings

    jwks.publish("k1", RSA_KEY.public_key())
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/v.db",
        oidc_issuer=ISSUER,
        oidc_jwks_url=jwks.url,
        log_format="json",
    )
    with TestClient(create_app(settings)) as client:
        good = token()
        assert (
            client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {good}"}).status_code
            == 200
        )
        expired = token(exp=int(time.time()) - 120)
        response = client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "expired" in response.json()["detail"]
    logged = capsys.readouterr()
    assert expired not in logged.out + logged.err
    assert good not in logged.out + logged.err

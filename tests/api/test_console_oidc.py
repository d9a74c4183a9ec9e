"""Console sign-in through the OIDC issuer: authorization code with PKCE against a fake issuer.

The fake issuer on 127.0.0.1 serves discovery, its JWKS and a token endpoint that, like a real
one, gives an access token only for a code it issued, to the redirect URI it was issued for,
with the code verifier whose S256 hash is the challenge the code was issued with. The test plays
the browser: it follows the console to the issuer, "signs in" there (the issuer grants a code
for the challenge it was sent) and returns to the callback.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.app import create_app
from api.console.session import FLOW_COOKIE, SESSION_COOKIE
from application.clock import FixedClock
from infrastructure.settings import Settings
from tests.conftest import document_places


class AuthorizationServer:
    """Discovery, JWKS, and a token endpoint that checks code, redirect URI and PKCE."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges: list[dict[str, str]] = []
        self.refused: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self.answer(
                        200,
                        {
                            "issuer": server.url,
                            "authorization_endpoint": f"{server.url}/auth",
                            "token_endpoint": f"{server.url}/token",
                            "jwks_uri": f"{server.url}/certs",
                        },
                    )
                elif self.path.endswith("/certs"):
                    jwk = json.loads(RSAAlgorithm.to_jwk(server.key.public_key()))
                    self.answer(200, {"keys": [{**jwk, "kid": "k1", "use": "sig"}]})
                else:
                    self.answer(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = server.token(form)
                self.answer(status, body)

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/realms/vorgang"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def grant(self, authorization_url: str, tenant: str = "usingen") -> str:
        """The person signs in at the issuer: a code for the challenge and redirect URI sent."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
            "client_id": query["client_id"],
            "tenant": tenant,
        }
        return code

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.exchanges.append(form)
        issued = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if issued is None:
            self.refused.append("unknown code")
            return 400, {"error": "invalid_grant"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if challenge != issued["challenge"]:
            self.refused.append("code_verifier does not match the challenge")
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != issued["redirect_uri"]:
            self.refused.append("redirect_uri differs")
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": "vorgang",
            "sub": "oidc-clerk",
            "name": "Olga Idc",
            "realm_access": {"roles": ["clerk"]},
            "tenant": issued["tenant"],
            "iat": now,
            "exp": now + 300,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}


@pytest.fixture
def issuer() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer()
    try:
        yield server
    finally:
        server.http.shutdown()
        server.http.server_close()


@pytest.fixture
def console(
    issuer: AuthorizationServer, tmp_path: Path, seal_files: tuple[Path, Path], clock: FixedClock
) -> Iterator[TestClient]:
    settings = Settings(
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'vorgang.db'}",
        oidc_issuer=issuer.url,
        oidc_client_id="vorgang-console",
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def to_the_issuer(console: TestClient, next_path: str = "/console/statistics") -> str:
    page = console.get("/console/sign-in")
    assert "Mit Dienstkonto anmelden" in page.text
    answer = console.get(
        "/console/sign-in/oidc", params={"next": next_path}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert FLOW_COOKIE in answer.headers["set-cookie"]
    location = str(answer.headers["location"])
    assert location.startswith(console.app.state.settings.oidc_issuer + "/auth?")  # type: ignore[attr-defined]
    return location


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_a_clerk_signs_in_through_the_issuer_with_pkce(
    console: TestClient, issuer: AuthorizationServer
) -> None:
    location = to_the_issuer(console)
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["vorgang-console"]
    assert query["redirect_uri"] == ["http://testserver/console/callback"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256 digest
    code = issuer.grant(location)
    back = console.get(
        "/console/callback",
        params={"code": code, "state": state_of(location)},
        follow_redirects=False,
    )
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/console/statistics"
    assert not issuer.refused
    (exchange,) = issuer.exchanges
    assert exchange["grant_type"] == "authorization_code"
    assert 43 <= len(exchange["code_verifier"]) <= 128  # RFC 7636
    cookie = next(
        c for c in back.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    assert {"httponly", "samesite=lax", "path=/console"} <= {
        p.strip().lower() for p in cookie.split(";")[1:]
    }
    page = console.get("/console/statistics")
    assert page.status_code == 200
    assert "Angemeldet: Olga Idc" in page.text


def test_a_callback_with_another_state_is_refused_before_the_code_is_exchanged(
    console: TestClient, issuer: AuthorizationServer
) -> None:
    location = to_the_issuer(console)
    code = issuer.grant(location)
    forged = console.get(
        "/console/callback", params={"code": code, "state": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 400
    assert not issuer.exchanges  # the code never went to the issuer
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_a_code_issued_for_another_sign_in_fails_its_pkce_check(
    console: TestClient, issuer: AuthorizationServer
) -> None:
    # An attacker's code (issued for the attacker's challenge) injected into this browser's
    # sign-in: the state matches this browser, the verifier does not match the code.
    attacker = to_the_issuer(console)
    stolen_code = issuer.grant(attacker)
    victim = to_the_issuer(console)  # this browser's flow cookie now holds the new verifier
    back = console.get(
        "/console/callback",
        params={"code": stolen_code, "state": state_of(victim)},
        follow_redirects=False,
    )
    assert back.status_code == 502
    assert issuer.refused == ["code_verifier does not match the challenge"]
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_without_the_flow_cookie_the_callback_is_refused(
    console: TestClient, issuer: AuthorizationServer
) -> None:
    location = to_the_issuer(console)
    code = issuer.grant(location)
    console.cookies.clear()
    back = console.get(
        "/console/callback",
        params={"code": code, "state": state_of(location)},
        follow_redirects=False,
    )
    assert back.status_code == 400
    assert not issuer.exchanges

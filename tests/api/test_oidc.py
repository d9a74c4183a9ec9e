"""Production tokens: verified against the issuer's JWKS, served here on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
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

from api.auth import IssuerUnavailable, Unauthenticated
from api.oidc import ClaimPathError, OidcTokens, claim, claim_path
from domain.actor import Role, Scope
from tests.api.fake_issuer import FakeIssuer, fake_issuer

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
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

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
    return OidcTokens(issuer=ISSUER, audience="vorgang", jwks_url=jwks.url)


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
        (lambda: token(kid="k" * 300), "key id is longer than 256"),
        (lambda: jwt.encode(claims(), RSA_KEY, algorithm="RS256"), "names no key id"),
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


# --------------------------------------------------------------- keys: refresh, rotation, outage


class FakeClock:
    """Monotonic seconds a test moves on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with fake_issuer() as running:
        yield running


def oidc(issuer: FakeIssuer, clock: FakeClock | None = None, **options: Any) -> OidcTokens:
    return OidcTokens(
        issuer=issuer.url,
        audience="vorgang",
        jwks_url=options.pop("jwks_url", issuer.jwks_url),
        clock=clock or FakeClock(),
        **options,
    )


def issued(issuer: FakeIssuer, key: Any = RSA_KEY, kid: str = "k1", **changes: Any) -> str:
    return token(key, kid=kid, **{"iss": issuer.url, **changes})


def test_a_key_removed_from_the_jwks_is_refused_after_the_next_refresh(
    issuer: FakeIssuer,
) -> None:
    clock = FakeClock()
    check = oidc(issuer, clock, refresh_seconds=300)
    issuer.publish("k1", RSA_KEY.public_key())
    issuer.publish("k2", OTHER_KEY.public_key())
    assert check.verify(issued(issuer)).id == "f3a1-anna"
    issuer.withdraw("k1")
    clock.now += 299  # until the refresh the keys are those fetched
    assert check.verify(issued(issuer)).id == "f3a1-anna"
    clock.now += 1
    with pytest.raises(Unauthenticated, match="'k1' is not one of the issuer's keys"):
        check.verify(issued(issuer))
    assert check.verify(issued(issuer, OTHER_KEY, kid="k2")).id == "f3a1-anna"
    assert issuer.fetches() == 2


def test_a_rotated_key_is_accepted_at_once_under_the_default_cooldown(
    issuer: FakeIssuer,
) -> None:
    check = oidc(issuer)
    issuer.publish("k1", RSA_KEY.public_key())
    check.verify(issued(issuer))
    issuer.publish("k2", OTHER_KEY.public_key())
    assert check.verify(issued(issuer, OTHER_KEY, kid="k2")).id == "f3a1-anna"


def test_an_unknown_kid_fetches_again_only_after_its_own_cooldown(issuer: FakeIssuer) -> None:
    clock = FakeClock()
    check = oidc(issuer, clock, unknown_kid_cooldown=10)
    issuer.publish("k1", RSA_KEY.public_key())
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="not one of the issuer's keys"):
            check.verify(issued(issuer, kid="x"))
    assert issuer.fetches() == 1  # the same unknown kid: once per cooldown
    with pytest.raises(Unauthenticated):
        check.verify(issued(issuer, kid="y"))
    assert issuer.fetches() == 2  # another kid is not held back by x's cooldown
    clock.now += 10
    issuer.publish("x", OTHER_KEY.public_key())
    assert check.verify(issued(issuer, OTHER_KEY, kid="x")).id == "f3a1-anna"
    assert issuer.fetches() == 3


def test_while_the_issuer_is_down_a_cached_key_works_and_an_uncached_one_is_unavailable(
    issuer: FakeIssuer,
) -> None:
    clock = FakeClock()
    check = oidc(issuer, clock, refresh_seconds=60)
    issuer.publish("k1", RSA_KEY.public_key())
    check.verify(issued(issuer))
    issuer.mode = "down"
    clock.now += 61  # a refresh is due, and fails
    assert check.verify(issued(issuer)).id == "f3a1-anna"
    with pytest.raises(IssuerUnavailable) as down:
        check.verify(issued(issuer, OTHER_KEY, kid="k2"))
    assert down.value.retry_after >= 1
    assert issuer.url in str(down.value)
    failed = issuer.fetches()
    with pytest.raises(IssuerUnavailable):  # backing off: no new fetch
        check.verify(issued(issuer, OTHER_KEY, kid="k3"))
    assert issuer.fetches() == failed
    issuer.mode = "up"
    issuer.publish("k2", OTHER_KEY.public_key())
    clock.now += 60  # the back-off is over
    assert check.verify(issued(issuer, OTHER_KEY, kid="k2")).id == "f3a1-anna"


def test_an_issuer_that_was_never_reached_is_unavailable_not_a_bad_token() -> None:
    with fake_issuer() as gone:
        url = gone.url
    check = OidcTokens(issuer=url, audience="vorgang", fetch_timeout=5)
    with pytest.raises(IssuerUnavailable):
        check.verify(token(kid="k1", iss=url))


def test_the_keys_are_found_by_discovery_checked_against_the_issuer(issuer: FakeIssuer) -> None:
    issuer.publish("k1", RSA_KEY.public_key())
    check = oidc(issuer, jwks_url=None)
    assert issuer.fetches("/openid-configuration") == 0  # lazily: the issuer may be down
    assert check.verify(issued(issuer)).role is Role.CLERK
    assert (issuer.fetches("/openid-configuration"), issuer.fetches()) == (1, 1)

    impostor = oidc(issuer, jwks_url=None)
    issuer.discovered_issuer = "https://evil.example/realms/vorgang"
    with pytest.raises(IssuerUnavailable, match=re.escape(f"expected '{issuer.url}'")):
        impostor.verify(issued(issuer))


def test_one_fetch_at_most_is_in_flight_and_others_do_not_wait_for_a_hung_issuer(
    issuer: FakeIssuer,
) -> None:
    check = oidc(issuer, fetch_timeout=120)
    issuer.mode = "hang"
    outcomes: list[BaseException] = []

    def attempt(kid: str) -> None:
        try:
            check.verify(issued(issuer, kid=kid))
        except (Unauthenticated, IssuerUnavailable) as error:
            outcomes.append(error)

    first = threading.Thread(target=attempt, args=("kid-0",))
    first.start()
    issuer.wait_until(lambda i: i.hanging == 1)
    others = [threading.Thread(target=attempt, args=(f"kid-{n}",)) for n in range(1, 20)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    assert len(outcomes) == 19
    assert all(isinstance(o, IssuerUnavailable) for o in outcomes)
    assert issuer.fetches() == 1
    assert issuer.hanging == 1
    assert check.keys.fetching
    issuer.released.set()
    first.join()
    assert isinstance(outcomes[-1], Unauthenticated)  # the issuer answered: no such key


# ------------------------------------------------------------------------------------ claims


def test_namespaced_claims_are_read_by_json_pointer_or_bracketed_path(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    namespaced = {
        "https://vorgang.example/roles": ["supervisor"],
        "https://vorgang.example/tenant": "schmitten",
    }
    for roles_claim, tenant_claim in (
        ("/https:~1~1vorgang.example~1roles", "/https:~1~1vorgang.example~1tenant"),
        ('["https://vorgang.example/roles"]', '["https://vorgang.example/tenant"]'),
    ):
        check = OidcTokens(
            issuer=ISSUER,
            audience="vorgang",
            jwks_url=jwks.url,
            roles_claim=roles_claim,
            tenant_claim=tenant_claim,
        )
        actor = check.verify(token(**namespaced))
        assert (actor.role, actor.tenant) == (Role.SUPERVISOR, "schmitten")
    assert claim(
        {"resource_access": {"vorgang-api": {"roles": ["x"]}}},
        'resource_access["vorgang-api"].roles',
    ) == ["x"]
    assert verifier(jwks).verify(token()).role is Role.CLERK  # dotted paths as before
    with pytest.raises(ClaimPathError):
        claim_path('["unterminated]')


def test_a_tenant_claim_of_one_element_works_and_of_several_is_refused(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    assert verifier(jwks).verify(token(tenant=["neu-anspach"])).tenant == "neu-anspach"
    with pytest.raises(Unauthenticated, match="'tenant' names several values"):
        verifier(jwks).verify(token(tenant=["usingen", "schmitten"]))


def test_a_person_with_several_roles_keeps_all_of_them(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    actor = verifier(jwks).verify(
        token(realm_access={"roles": ["admin", "offline_access", "clerk"]})
    )
    assert actor.roles == {Role.CLERK, Role.ADMIN}
    assert actor.role is Role.CLERK  # the primary one, recorded unless a route narrows it
    assert actor.acts_as(Role.ADMIN)


def test_a_person_is_named_by_name_and_a_service_account_by_its_client(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    person = verifier(jwks).verify(token(azp="vorgang-ui", client_id="vorgang-ui"))
    assert person.display_name == "Anna Schmidt"
    unnamed = verifier(jwks).verify(token(azp="vorgang-ui", name=None))
    assert unnamed.display_name == "anna.schmidt"  # preferred_username, not the client


def test_an_id_token_is_refused_and_access_tokens_of_keycloak_and_rfc_9068_are_accepted(
    jwks: Jwks,
) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    check = verifier(jwks)
    keycloak_access = token(typ="Bearer")
    assert check.verify(keycloak_access).role is Role.CLERK
    rfc9068 = jwt.encode(
        claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1", "typ": "at+jwt"}
    )
    assert check.verify(rfc9068).role is Role.CLERK
    with pytest.raises(Unauthenticated, match=r"'ID'.*not an access token"):
        check.verify(token(typ="ID"))
    logout = jwt.encode(
        claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1", "typ": "logout+jwt"}
    )
    with pytest.raises(Unauthenticated, match="'logout\\+jwt' is not an access token"):
        check.verify(logout)


def test_errors_name_the_claim_path_and_the_expected_issuer(jwks: Jwks) -> None:
    jwks.publish("k1", RSA_KEY.public_key())
    check = verifier(jwks)
    with pytest.raises(Unauthenticated, match=re.escape(f"expected '{ISSUER}'")):
        check.verify(token(iss="https://evil.example"))
    with pytest.raises(Unauthenticated, match=r"claim 'realm_access\.roles'"):
        check.verify(token(realm_access={"roles": ["offline_access"]}))
    with pytest.raises(Unauthenticated, match="claim 'tenant'"):
        check.verify(token(tenant="mars"))
    with pytest.raises(Unauthenticated, match="expected 'vorgang'"):
        check.verify(token(aud="account"))

"""Production identity: bearer JWTs of the municipal OIDC issuer, checked against its JWKS.

Only asymmetric algorithms are accepted (RS256, ES256): ``alg: none`` and every HMAC
algorithm are refused before a key is even looked up, so a token signed with a guessed
secret (or with the public key as an HMAC secret) never verifies. Keys are cached and
fetched again when a token names an unknown ``kid`` (key rotation). Claim paths are
configurable; the defaults fit a Keycloak realm (roles under ``realm_access.roles``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt
from jwt import PyJWKClient

from api.auth import Unauthenticated, actor_from_claims
from domain.actor import Actor, Role

ASYMMETRIC = ("RS256", "ES256")
ROLE_PRECEDENCE = (
    Role.SUPERVISOR,
    Role.CLERK,
    Role.AUDITOR,
    Role.ADMIN,
    Role.APPLICANT,
    Role.INTEGRATOR,  # a service account (client credentials): acts by its scopes
)


def claim(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcTokens:
    """Verifies tokens of one issuer and audience against the issuer's JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        roles_claim: str = "realm_access.roles",
        tenant_claim: str = "tenant",
        on_behalf_of_claim: str = "on_behalf_of",
        scope_claim: str = "scope",
        teams_claim: str = "teams",
        leeway_seconds: int = 30,
        algorithms: Sequence[str] = ASYMMETRIC,
        key_refresh_cooldown: float = 30.0,
    ) -> None:
        unsafe = [a for a in algorithms if a not in ASYMMETRIC]
        if unsafe:
            raise ValueError(f"only asymmetric algorithms are accepted, not {unsafe}")
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self.tenant_claim = tenant_claim
        self.on_behalf_of_claim = on_behalf_of_claim
        self.scope_claim = scope_claim
        self.teams_claim = teams_claim
        self.leeway = leeway_seconds
        self.algorithms = list(algorithms)
        self._keys = PyJWKClient(
            jwks_url,
            cache_keys=True,
            lifespan=300,
            timeout=5,
            cooldown_duration=key_refresh_cooldown,
        )

    def verify(self, token: str) -> Actor:
        """The actor named by a valid token of this issuer, or ``Unauthenticated``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the token is not a JWT") from None
        if header.get("alg") not in self.algorithms:
            raise Unauthenticated(f"tokens signed with {header.get('alg')!r} are not accepted")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated("the issuer's keys cannot be fetched right now") from None
        except jwt.PyJWKClientError:
            raise Unauthenticated("the token's key is not one of the issuer's") from None
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        return actor_from_claims(self._normalised(claims))

    def _normalised(self, claims: dict[str, Any]) -> dict[str, Any]:
        roles = claim(claims, self.roles_claim) or []
        if isinstance(roles, str):
            roles = [roles]
        role = next((r.value for r in ROLE_PRECEDENCE if r.value in roles), "")
        return {
            "sub": claims["sub"],
            # a client-credentials token names its client in azp (Keycloak) or client_id
            "name": claims.get("name")
            or claims.get("client_id")
            or claims.get("azp")
            or claims.get("preferred_username")
            or claims["sub"],
            "role": role,
            "tenant": claim(claims, self.tenant_claim),
            "on_behalf_of": claim(claims, self.on_behalf_of_claim),
            "scope": claim(claims, self.scope_claim),
            "teams": claim(claims, self.teams_claim),
        }

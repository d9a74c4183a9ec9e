"""Production identity: bearer JWTs of the municipal OIDC issuer, checked against its JWKS.

Only asymmetric algorithms are accepted (RS256, ES256): ``alg: none`` and every HMAC
algorithm are refused before a key is even looked up, so a token signed with a guessed
secret (or with the public key as an HMAC secret) never verifies. Only access tokens are
accepted: an ID token (Keycloak's payload ``typ: ID``, or a header ``typ`` other than
``JWT`` or RFC 9068's ``at+jwt``) is refused. Keys come from ``api.jwks`` (refreshed,
fetched at once for an unknown ``kid``, 503 while the issuer is down). Claim paths are
configurable; the defaults fit a Keycloak realm (roles under ``realm_access.roles``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt

from api.auth import Unauthenticated, actor_from_claims
from api.jwks import SigningKeys
from domain.actor import Actor

ASYMMETRIC = ("RS256", "ES256")
MAX_KID_LENGTH = 256
ACCESS_TOKEN_TYPES = ("jwt", "at+jwt", "application/at+jwt")  # header typ (RFC 9068)
_BRACKETED = re.compile(r'\[\s*("(?:[^"\\]|\\.)*")\s*\]|(?:^|\.)([^.\[\]"]+)')


class ClaimPathError(ValueError):
    """A claim path setting that cannot be read."""


def claim_path(path: str) -> tuple[str, ...]:
    """The keys of a claim path, in one of three spellings.

    - dotted: ``realm_access.roles``
    - JSON pointer (RFC 6901): ``/https:~1~1vorgang.example~1roles`` (``~1`` is ``/``,
      ``~0`` is ``~``)
    - bracketed, for keys with dots: ``["https://vorgang.example/roles"]``, also mixed:
      ``resource_access["vorgang-api"].roles``
    """
    if not path:
        raise ClaimPathError("a claim path must not be empty")
    if path.startswith("/"):
        return tuple(p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/"))
    if "[" not in path:
        return tuple(path.split("."))
    keys: list[str] = []
    position = 0
    while position < len(path):
        match = _BRACKETED.match(path, position)
        if match is None or match.end() == position:
            raise ClaimPathError(f"cannot read the claim path {path!r} at character {position}")
        quoted, name = match.groups()
        keys.append(json.loads(quoted) if quoted is not None else name)
        position = match.end()
    return tuple(keys)


def claim(claims: dict[str, Any], path: str | tuple[str, ...]) -> Any:
    """The value at a claim path (see ``claim_path``), or None."""
    value: Any = claims
    for part in claim_path(path) if isinstance(path, str) else path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcTokens:
    """Verifies access tokens of one issuer and audience against the issuer's keys."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        roles_claim: str = "realm_access.roles",
        tenant_claim: str = "tenant",
        on_behalf_of_claim: str = "on_behalf_of",
        scope_claim: str = "scope",
        teams_claim: str = "teams",
        leeway_seconds: int = 30,
        algorithms: Sequence[str] = ASYMMETRIC,
        refresh_seconds: float = 300.0,
        unknown_kid_cooldown: float = 10.0,
        fetch_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        keys: SigningKeys | None = None,
    ) -> None:
        unsafe = [a for a in algorithms if a not in ASYMMETRIC]
        if unsafe:
            raise ValueError(f"only asymmetric algorithms are accepted, not {unsafe}")
        self.issuer = issuer
        self.audience = audience
        self.paths = {
            "roles": roles_claim,
            "tenant": tenant_claim,
            "on_behalf_of": on_behalf_of_claim,
            "scope": scope_claim,
            "teams": teams_claim,
        }
        self._parsed = {field: claim_path(path) for field, path in self.paths.items()}
        self.leeway = leeway_seconds
        self.algorithms = list(algorithms)
        self.keys = keys or SigningKeys(
            issuer=issuer,
            jwks_url=jwks_url,
            refresh_seconds=refresh_seconds,
            unknown_kid_cooldown=unknown_kid_cooldown,
            fetch_timeout=fetch_timeout,
            clock=clock,
        )

    def verify(self, token: str) -> Actor:
        """The actor named by a valid access token of this issuer, or ``Unauthenticated``.

        ``IssuerUnavailable`` while the issuer's keys cannot be fetched and the token's is
        not cached.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the token is not a JWT") from None
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in ACCESS_TOKEN_TYPES:
            raise Unauthenticated(f"a token of type {typ!r} is not an access token")
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthenticated(f"tokens signed with {alg!r} are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("the token names no key id (kid)")
        if len(kid) > MAX_KID_LENGTH:  # each unknown kid is remembered for its cooldown
            raise Unauthenticated(f"the token's key id is longer than {MAX_KID_LENGTH} characters")
        key = self.keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the token is not valid: it has no {error.claim!r}") from None
        except jwt.InvalidIssuerError:
            found = _unverified(token).get("iss")
            raise Unauthenticated(
                f"the token is not valid: its issuer is {found!r}, expected {self.issuer!r}"
            ) from None
        except jwt.InvalidAudienceError:
            found = _unverified(token).get("aud")
            raise Unauthenticated(
                f"the token is not valid: its audience is {found!r}, expected {self.audience!r}"
            ) from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        kind = claims.get("typ")
        if kind is not None and str(kind).lower() != "bearer":
            raise Unauthenticated(
                f"a token of type {kind!r} (claim 'typ') is not an access token; "
                "send the access token, not the ID token"
            )
        return actor_from_claims(self._normalised(claims), self.paths)

    def _normalised(self, claims: dict[str, Any]) -> dict[str, Any]:
        return {
            "sub": claims["sub"],
            "name": claims.get("name"),
            "preferred_username": claims.get("preferred_username"),
            # a client-credentials token names its client in azp (Keycloak) or client_id
            "client_id": claims.get("client_id"),
            "azp": claims.get("azp"),
            "roles": claim(claims, self._parsed["roles"]) or [],
            "tenant": claim(claims, self._parsed["tenant"]),
            "on_behalf_of": claim(claims, self._parsed["on_behalf_of"]),
            "scope": claim(claims, self._parsed["scope"]),
            "teams": claim(claims, self._parsed["teams"]),
        }


def _unverified(token: str) -> dict[str, Any]:
    # Only to name a wrong value in the error, after the signature verified.
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims

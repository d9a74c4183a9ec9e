"""Bearer tokens: a verifier interface, and the development issuer behind `vorgang token`.

The development issuer signs HS256 tokens with a secret from the settings; production
refuses its public default. OIDC with JWKS comes with the access-control issue and plugs
in as another ``TokenVerifier``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from domain.actor import Actor, Role, Scope
from domain.tenants import TENANTS


class Unauthenticated(Exception):
    """No token, or one that does not verify: 401."""


class TokenVerifier(Protocol):
    """Turns a bearer token into the acting person."""

    def verify(self, token: str) -> Actor:
        """The actor the token names, or ``Unauthenticated``."""
        ...


class DevelopmentTokens:
    """Issues and verifies HS256 tokens under one secret, issuer and audience."""

    algorithm = "HS256"

    def __init__(self, secret: str, *, issuer: str, audience: str) -> None:
        self._secret = secret
        self.issuer = issuer
        self.audience = audience

    def issue(
        self,
        *,
        subject: str,
        name: str,
        role: Role,
        tenant: str,
        on_behalf_of: str | None = None,
        scopes: Iterable[Scope] = (),
        teams: Iterable[str] = (),
        lifetime: timedelta = timedelta(hours=8),
        now: datetime | None = None,
    ) -> str:
        """A signed token for this person."""
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "name": name,
            "role": role.value,
            "tenant": tenant,
            "iat": int(issued.timestamp()),
            "exp": int((issued + lifetime).timestamp()),
        }
        if on_behalf_of:
            claims["on_behalf_of"] = on_behalf_of
        if scopes:
            claims["scope"] = " ".join(sorted(s.value for s in scopes))
        if teams:
            claims["teams"] = sorted(teams)
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def verify(self, token: str) -> Actor:
        """The actor named by a valid, unexpired token of this issuer."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        return actor_from_claims(claims)


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    """The acting person from verified claims; malformed claims are ``Unauthenticated``."""
    try:
        role = Role(claims.get("role", ""))
    except ValueError:
        raise Unauthenticated(f"the token names no known role: {claims.get('role')!r}") from None
    tenant = str(claims.get("tenant"))
    if tenant not in TENANTS:
        raise Unauthenticated(f"the token names no known tenant: {tenant!r}")
    on_behalf_of = claims.get("on_behalf_of")
    if on_behalf_of is not None and on_behalf_of not in TENANTS:
        raise Unauthenticated(f"the token's on_behalf_of is no known tenant: {on_behalf_of!r}")
    if role is Role.SYSTEM:
        raise Unauthenticated("system tokens are not accepted over HTTP")
    return Actor(
        id=str(claims["sub"]),
        display_name=str(claims.get("name") or claims["sub"]),
        role=role,
        tenant=tenant,
        on_behalf_of=on_behalf_of,
        scopes=granted_scopes(claims.get("scope")) if role is Role.INTEGRATOR else frozenset(),
        teams=team_names(claims.get("teams"), tenant, on_behalf_of),
    )


def team_names(claim: Any, *tenants: str | None) -> frozenset[str]:
    """The teams in a ``teams`` claim: names, or group paths like ``/usingen/ordnungsamt``.

    A group path names its town; a team of a town the person does not act for is ignored.
    """
    values = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    names = set()
    for value in values:
        parts = [p for p in str(value).split("/") if p]
        if not parts:
            continue
        if len(parts) > 1 and parts[-2] not in tenants:
            continue
        names.add(parts[-1])
    return frozenset(names)


def granted_scopes(claim: Any) -> frozenset[Scope]:
    """Vorgang's scopes in an OAuth ``scope`` claim (space-separated or a list).

    Scopes an issuer adds for its own purposes (``openid``, ``profile``) are ignored; only a
    service account (the integrator role) acts by scopes, people act by their role.
    """
    names = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else []
    known = {s.value: s for s in Scope}
    return frozenset(known[n] for n in names if n in known)

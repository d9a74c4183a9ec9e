"""Bearer tokens: a verifier interface, and the development issuer behind `vorgang token`.

The development issuer signs HS256 tokens with a secret from the settings; outside
development it is off, and ``vorgang serve`` uses it only with ``--dev``. Production tokens
come from the OIDC issuer (``api.oidc``), another ``TokenVerifier``; both turn claims into
an ``Actor`` here, and both refuse with ``Unauthenticated`` (401 with an RFC 6750
challenge) or, while the issuer's keys cannot be fetched, ``IssuerUnavailable`` (503).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from domain.actor import Actor, Role, Scope, primary_role
from domain.tenants import TENANTS


class Unauthenticated(Exception):
    """No token, or one that does not verify: 401 with a ``WWW-Authenticate`` challenge.

    ``error`` is the RFC 6750 error code: ``invalid_token`` for a token that was presented
    and refused, ``invalid_request`` for a malformed header, None when no token came at all
    (the challenge then names only the realm).
    """

    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        super().__init__(detail)
        self.error = error

    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` header value of the 401 (RFC 6750, section 3)."""
        if self.error is None:
            return f'Bearer realm="{REALM}"'
        return (
            f'Bearer realm="{REALM}", error="{self.error}", '
            f'error_description="{_quotable(str(self))}"'
        )


class IssuerUnavailable(Exception):
    """The issuer's keys cannot be fetched and the token's key is not cached: 503.

    Not the client's fault, so never a 401: the client retries after ``retry_after``
    seconds with the same token.
    """

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


REALM = "vorgang"


def _quotable(text: str) -> str:
    # error_description allows printable ASCII without '"' and '\' (RFC 6750, 3): header
    # values must stay latin-1 and unambiguous whatever a claim contained.
    cleaned = text.replace('"', "'").replace("\\", "/")
    return "".join(c if " " <= c <= "~" else "?" for c in cleaned)[:300]


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
        except jwt.InvalidIssuerError:
            raise Unauthenticated(
                f"the token is not valid: expected the issuer {self.issuer!r}"
            ) from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        return actor_from_claims(claims)


# The claim each field was read from, named in errors; OIDC passes its configured paths.
DEVELOPMENT_CLAIMS = {
    "roles": "role",
    "tenant": "tenant",
    "on_behalf_of": "on_behalf_of",
    "teams": "teams",
    "scope": "scope",
}


def actor_from_claims(claims: dict[str, Any], paths: dict[str, str] | None = None) -> Actor:
    """The acting person from verified claims; malformed claims are ``Unauthenticated``.

    ``roles`` (a list) or ``role`` (one) name the roles: every known one is kept, the
    primary one (``ROLE_PRECEDENCE``) is recorded in events. Errors name the claim path.
    """
    where = {**DEVELOPMENT_CLAIMS, **(paths or {})}
    found = claims["roles"] if "roles" in claims else claims.get("role")
    values = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    known = {r.value: r for r in Role}
    roles = frozenset(known[str(v)] for v in values if str(v) in known)
    if Role.SYSTEM in roles:
        raise Unauthenticated("system tokens are not accepted over HTTP")
    role = primary_role(roles)
    if role is None:
        raise Unauthenticated(
            f"the token names no known role at claim {where['roles']!r}: {_shown(found)}"
        )
    tenant = single_value(claims.get("tenant"), where["tenant"])
    if tenant not in TENANTS:
        raise Unauthenticated(
            f"the token names no known tenant at claim {where['tenant']!r}: {_shown(tenant)}"
        )
    on_behalf_of = single_value(claims.get("on_behalf_of"), where["on_behalf_of"])
    if on_behalf_of is not None and on_behalf_of not in TENANTS:
        raise Unauthenticated(
            f"the token's {where['on_behalf_of']!r} is no known tenant: {_shown(on_behalf_of)}"
        )
    teams_claim = claims.get("teams")
    raw_teams = [teams_claim] if isinstance(teams_claim, str) else teams_claim
    return Actor(
        id=storable(str(claims["sub"]), "sub"),
        display_name=storable(
            display_name(claims, service_account=role is Role.INTEGRATOR), "name"
        ),
        role=role,
        roles=roles,
        tenant=tenant,
        on_behalf_of=on_behalf_of,
        scopes=granted_scopes(claims.get("scope")) if Role.INTEGRATOR in roles else frozenset(),
        teams=team_names(teams_claim, tenant, on_behalf_of),
        team_claim=frozenset(
            str(v) for v in (raw_teams if isinstance(raw_teams, list) else []) if str(v).strip()
        ),
    )


def storable(text: str, claim: str) -> str:
    """A claim that goes into events: UTF-8 text without NUL.

    (A lone surrogate or a NUL cannot be stored in PostgreSQL text; it made every command of
    such a token fail with a server error instead of refusing the token. Other characters
    reach the events as sent, and exports quote them.)
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unauthenticated(f"the token's {claim!r} is not valid UTF-8 text") from None
    if "\x00" in text:
        raise Unauthenticated(f"the token's {claim!r} holds a NUL character")
    return text


def single_value(value: Any, path: str) -> Any:
    """A claim that may come as a one-element list (Keycloak's multivalued attributes)."""
    if isinstance(value, list):
        if len(value) > 1:
            raise Unauthenticated(f"the claim {path!r} names several values: {_shown(value)}")
        return str(value[0]) if value else None
    return None if value is None else str(value)


def display_name(claims: dict[str, Any], *, service_account: bool) -> str:
    """A person's name (``name``, ``preferred_username``); a service account's client id.

    A person's token names the client they signed in through in ``azp`` too: that is not
    who acted. A client-credentials token names its client in ``client_id`` or ``azp``.
    """
    people = ("name", "preferred_username")
    clients = ("client_id", "azp")
    order = (*clients, *people) if service_account else people
    return str(next((claims[k] for k in order if claims.get(k)), claims["sub"]))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


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

"""Who may call a route, declared once on the route itself and published in OpenAPI.

``**allow(Role.CLERK, Role.SUPERVISOR)`` on a route decorator adds a dependency that
answers 403 to any other role before the route runs, and records the rule under
``x-vorgang-access`` in the OpenAPI document; ``**public()`` marks a route that needs no
token. A test walks every route and fails for one without a declared rule. Tenant
isolation is the next check, inside the use cases: a case of another tenant is 404.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from api.auth import Unauthenticated
from api.dependencies import ActorDep
from api.problems import Forbidden
from domain.actor import Actor, Role, Scope

ACCESS_KEY = "x-vorgang-access"
SCOPE_KEY = "x-vorgang-integrator-scope"
PUBLIC = "public"
METRICS_ACCESS_KEY = "x-vorgang-metrics-access"


def allow(*roles: Role, integrator_scope: Scope | None = None) -> dict[str, Any]:
    """Route decorator arguments: only these roles may call the route.

    An integrator (a service account) needs ``integrator_scope`` besides its role: a client
    is granted what it needs, the archive not what the form portal reads.
    """
    allowed = frozenset(roles)
    if (Role.INTEGRATOR in allowed) != (integrator_scope is not None):
        raise ValueError("a route open to integrators names the scope they need, and only then")

    def check(actor: ActorDep) -> Actor:
        held = actor.roles & allowed  # several roles: permissions are their union
        if not held:
            names = ", ".join(sorted(r.value for r in allowed))
            mine = ", ".join(sorted(r.value for r in actor.roles))
            raise Forbidden(f"role {mine} may not do this (allowed: {names})")
        if held == {Role.INTEGRATOR} and integrator_scope and not actor.holds(integrator_scope):
            raise Forbidden(f"this service account lacks the scope {integrator_scope.value}")
        return actor

    extra: dict[str, Any] = {ACCESS_KEY: sorted(r.value for r in allowed)}
    if integrator_scope is not None:
        extra[SCOPE_KEY] = integrator_scope.value
    return {"dependencies": [Depends(check)], "openapi_extra": extra}


def public() -> dict[str, Any]:
    """Route decorator arguments: no token needed (health, catalogue, metrics)."""
    return {"openapi_extra": {ACCESS_KEY: [PUBLIC]}}


def metrics_access() -> dict[str, Any]:
    """Route decorator arguments for ``/metrics``: open unless a metrics token is set.

    With ``VORGANG_METRICS_TOKEN`` the scraper sends ``Authorization: Bearer <token>``;
    anything else is 401. People's tokens do not open it: metrics are for operations.
    """

    def check(
        request: Request,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> None:
        expected = request.app.state.settings.metrics_token
        if expected is None:
            return
        if not authorization:
            raise Unauthenticated("the metrics need the metrics token as a bearer", error=None)
        scheme, _, token = authorization.partition(" ")
        wanted = expected.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), wanted):
            raise Unauthenticated("this is not the metrics token")

    extra = {ACCESS_KEY: [PUBLIC], METRICS_ACCESS_KEY: "bearer VORGANG_METRICS_TOKEN when set"}
    return {"dependencies": [Depends(check)], "openapi_extra": extra}


STAFF = (Role.CLERK, Role.SUPERVISOR)
EVERYONE = (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)

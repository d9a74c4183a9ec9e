"""Who may call a route, declared once on the route itself and published in OpenAPI.

``**allow(Role.CLERK, Role.SUPERVISOR)`` on a route decorator adds a dependency that
answers 403 to any other role before the route runs, and records the rule under
``x-vorgang-access`` in the OpenAPI document; ``**public()`` marks a route that needs no
token. A test walks every route and fails for one without a declared rule. Tenant
isolation is the next check, inside the use cases: a case of another tenant is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from api.dependencies import ActorDep
from api.problems import Forbidden
from domain.actor import Actor, Role

ACCESS_KEY = "x-vorgang-access"
PUBLIC = "public"


def allow(*roles: Role) -> dict[str, Any]:
    """Route decorator arguments: only these roles may call the route."""
    allowed = frozenset(roles)

    def check(actor: ActorDep) -> Actor:
        if actor.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {actor.role.value} may not do this (allowed: {names})")
        return actor

    return {
        "dependencies": [Depends(check)],
        "openapi_extra": {ACCESS_KEY: sorted(r.value for r in allowed)},
    }


def public() -> dict[str, Any]:
    """Route decorator arguments: no token needed (health, catalogue, metrics)."""
    return {"openapi_extra": {ACCESS_KEY: [PUBLIC]}}


STAFF = (Role.CLERK, Role.SUPERVISOR)
EVERYONE = (Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)

"""FastAPI dependencies as ``Annotated`` aliases, built from what the lifespan set up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, Header, Request

from api.auth import TokenVerifier, Unauthenticated
from api.ports import ApiSettings, Process, ReadSide
from api.problems import BadHeader, ServiceUnavailable
from api.provider import VorgangProvider
from application.access_log import AccessLog, AccessLogUnavailable
from application.cases import CaseService
from application.facade import Facade
from application.privacy import PrivacyService
from domain.actor import Actor, Role

# Only a strong ETag of ours: If-Match compares strongly (RFC 9110 13.1.1), so a weak or
# unquoted tag, or one with leading zeros, could never match and is a client's mistake.
_IF_MATCH = re.compile(r'^"(0|[1-9][0-9]{0,8})"$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def provider(request: Request) -> VorgangProvider:
    """The process's application provider."""
    found: VorgangProvider = request.app.state.provider
    return found


def process(p: Annotated[VorgangProvider, Depends(provider)]) -> Process:
    """The application, or 503 while the database is down."""
    return p.get()


def settings(request: Request) -> ApiSettings:
    """The settings the routes read."""
    found: ApiSettings = request.app.state.settings
    return found


def actor(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Actor:
    """The person behind the bearer token (401 without one), with their teams' services.

    A person with several roles acts in the primary one the route allows (recorded in its
    events); permissions stay the union of all of them (``Actor.acts_as``).
    """
    if not authorization:
        raise Unauthenticated(
            "a bearer token is required (Authorization: Bearer <token>)", error=None
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'", error=None)
    if not token.strip():
        raise Unauthenticated("the bearer token is empty", error="invalid_request")
    verifier: TokenVerifier = request.app.state.verifier
    person = verifier.verify(token.strip())
    structlog.contextvars.bind_contextvars(actor_id=person.id, tenant=person.tenant)
    person = person.acting_in(_roles_allowed(request))
    if person.team_claim or person.teams:  # staff in teams: what they handle, by the roster
        provider: VorgangProvider = request.app.state.provider
        person = provider.get().teams.resolve(person)
    return person


def _roles_allowed(request: Request) -> frozenset[Role]:
    from api.access import ACCESS_KEY  # api.access depends on this module

    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    names = set(extra.get(ACCESS_KEY, ()))
    return frozenset(role for role in Role if role.value in names)


def facade(p: Annotated[Process, Depends(process)]) -> Facade:
    """The application as routes use it: use cases, the command pipeline, audits, teams."""
    return p


def read_side(p: Annotated[Process, Depends(process)]) -> ReadSide:
    """The views and the projections that keep them."""
    return p.projections


def cases(f: Annotated[Facade, Depends(facade)]) -> CaseService:
    """The lifecycle use cases."""
    return f.cases


def privacy(f: Annotated[Facade, Depends(facade)]) -> PrivacyService:
    """The erasure use case."""
    return f.privacy


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description=(
                "The version you expect the case to be at, as its strong ETag with the quotes: "
                '"3" (or * for any). Weak (W/"3"), unquoted or listed tags are refused (422).'
            ),
        ),
    ] = None,
) -> int | None:
    """The expected version from If-Match (``*`` or absent: any version)."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _IF_MATCH.match(if_match.strip())
    if not match:
        raise BadHeader(
            "If-Match", 'If-Match must be one strong ETag of this API with its quotes, like "3"'
        )
    return int(match.group(1))


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes a retried submission return the case created the first time.",
        ),
    ] = None,
) -> str | None:
    """The caller's idempotency key, checked for form."""
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadHeader("Idempotency-Key", "1 to 255 visible ASCII characters")
    return key


FacadeDep = Annotated[Facade, Depends(facade)]
ReadSideDep = Annotated[ReadSide, Depends(read_side)]
SettingsDep = Annotated[ApiSettings, Depends(settings)]
ActorDep = Annotated[Actor, Depends(actor)]
CaseServiceDep = Annotated[CaseService, Depends(cases)]
PrivacyServiceDep = Annotated[PrivacyService, Depends(privacy)]
ProviderDep = Annotated[VorgangProvider, Depends(provider)]
ExpectedVersionDep = Annotated[int | None, Depends(expected_version)]
IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]


class ReadRecorder:
    """Records the read a route answers in the access log (decision 36), before the answer
    leaves; a line that cannot be written is a 503 and the data stay unsent.

    Bound to the person and the route's template; ``record("history", case_id=...)``.
    Applicants' reads are not recorded (``application.access_log.is_recorded``).
    """

    def __init__(self, log: AccessLog, actor: Actor, route: str, retry_after: int) -> None:
        self.log = log
        self.actor = actor
        self.route = route
        self._retry_after = retry_after

    def __call__(
        self,
        what: str,
        *,
        case_id: UUID | None = None,
        query: dict[str, Any] | None = None,
        hits: Sequence[UUID] = (),
    ) -> None:
        try:
            self.log.record_read(
                self.actor, route=self.route, what=what, case_id=case_id, query=query, hits=hits
            )
        except AccessLogUnavailable as error:
            raise ServiceUnavailable(
                "The access log cannot be written now, so nothing is read out; try again shortly.",
                self._retry_after,
            ) from error


def route_template(request: Request) -> str:
    """The template of the route being answered (``/api/v1/cases/{case_id}``)."""
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def read_recorder(
    request: Request, person: ActorDep, vorgang: FacadeDep, config: SettingsDep
) -> ReadRecorder:
    """The access log bound to this request's person and route."""
    return ReadRecorder(
        vorgang.access_log, person, route_template(request), config.retry_after_seconds
    )


RecordReadDep = Annotated[ReadRecorder, Depends(read_recorder)]

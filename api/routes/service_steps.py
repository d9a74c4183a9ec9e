"""The route factory: one POST route per declared step, typed and documented from its ``Step``.

Every step of a case or a service is declared once (``domain/case_steps.py``, a service's
own module): name, path, summary, body, the roles that may give it and an integrator's
scope. Each becomes a route here that parses the body, authorises the caller, runs the
command through the application's one pipeline with the version ``If-Match`` expects, and
answers with the case as the caller may see it and its new ETag. The route's name is the
step's name, so operation ids can be derived from the declarations.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Body, Path, Response

from api.access import allow
from api.dependencies import ActorDep, ExpectedVersionDep, FacadeDep
from api.problems import PROBLEM_JSON, ServiceUnavailable
from api.schemas import CaseOut
from application.applicant_view import sees_applicant_view
from application.cases import CaseService
from application.commands import StaffNotKnownYet
from application.views import CommandResult
from domain.actor import Actor
from domain.commands import Step, Steps

log = structlog.get_logger(__name__)

PROBLEMS = {
    code: {"content": {PROBLEM_JSON: {}}, "description": text}
    for code, text in {
        401: "No valid bearer token.",
        403: "The role may not do this.",
        404: "No such case, or not one you may see.",
        409: "Not allowed in the current state, held by someone else, or a lost race.",
        412: "If-Match names another version than the current one.",
        422: "Invalid body or header; `errors` names each field.",
        503: "The database is not reachable; see Retry-After.",
    }.items()
}
CaseId = Annotated[UUID, Path(description="The case's id, as the submission answered it.")]


def answer(cases: CaseService, result: CommandResult, actor: Actor, response: Response) -> CaseOut:
    """The case after a command, with its new ETag (shaped for an applicant)."""
    state = result.state or cases.view(result.case_id, actor=actor)
    response.headers["ETag"] = f'"{state.version}"'
    log.info("command done", case_id=str(result.case_id), version=state.version)
    return CaseOut.of(state, log_position(actor, result.position))


def log_position(actor: Actor, position: int | None) -> int | None:
    """The log position for staff; an applicant's view is not numbered by the log."""
    return None if sees_applicant_view(actor) else position


def endpoint_for(step: Step) -> Any:
    """The route function of one step, its signature typed from the declaration."""

    def take_step(
        case_id: UUID,
        actor: Actor,
        vorgang: Any,
        expected: int | None,
        response: Response,
        body: Any = None,
    ) -> CaseOut:
        try:
            result = vorgang.commands.handle(case_id, step(body), actor, expected)
        except StaffNotKnownYet as error:
            raise ServiceUnavailable(str(error), retry_after=1) from None
        return answer(vorgang.cases, result, actor, response)

    parameters = [
        inspect.Parameter("case_id", inspect.Parameter.KEYWORD_ONLY, annotation=CaseId),
    ]
    if step.body is not None:
        if step.body_optional:
            annotation: Any = Annotated[step.body | None, Body()]
            default: Any = None
        else:
            annotation, default = step.body, inspect.Parameter.empty
        parameters.append(
            inspect.Parameter(
                "body", inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    parameters[1:1] = [
        inspect.Parameter("actor", inspect.Parameter.KEYWORD_ONLY, annotation=ActorDep),
        inspect.Parameter("vorgang", inspect.Parameter.KEYWORD_ONLY, annotation=FacadeDep),
        inspect.Parameter(
            "expected", inspect.Parameter.KEYWORD_ONLY, annotation=ExpectedVersionDep
        ),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response),
    ]
    take_step.__signature__ = inspect.Signature(parameters, return_annotation=CaseOut)  # type: ignore[attr-defined]
    take_step.__name__ = step.name
    take_step.__qualname__ = step.name
    take_step.__doc__ = step.description or step.summary
    return take_step


# Routers built once per process: each app includes them (an app per test, per worker).
_BUILT: dict[tuple[int, str], tuple[Steps, APIRouter]] = {}


def step_routes(steps: Steps, prefix: str = "/api/v1/cases") -> APIRouter:
    """A router with the POST route of every step, listed under the steps' tag (built once
    per declaration: the routes depend on nothing but it)."""
    built = _BUILT.get((id(steps), prefix))
    if built is not None and built[0] is steps:
        return built[1]
    router = _router(steps, prefix)
    _BUILT[(id(steps), prefix)] = (steps, router)
    return router


def _router(steps: Steps, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=[steps.tag], responses=PROBLEMS)  # type: ignore[arg-type]
    for step in steps:
        router.add_api_route(
            step.path,
            endpoint_for(step),
            methods=["POST"],
            name=step.name,
            summary=step.summary,
            description=step.description,
            response_model=CaseOut,
            **allow(*step.roles, integrator_scope=step.integrator_scope),
            **step.extra,
        )
    return router

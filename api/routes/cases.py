"""Cases: submit, read, history; the lifecycle commands are routes built from their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Response, status

from api.access import EVERYONE, STAFF, allow
from api.dependencies import (
    ActorDep,
    CaseServiceDep,
    FacadeDep,
    IdempotencyKeyDep,
    RecordReadDep,
)
from api.problems import BadHeader, Forbidden
from api.routes.service_steps import PROBLEMS, CaseId, step_routes
from api.schemas import CaseOut, HistoryEntryOut, SubmitCase
from application.access_log import CASE, HISTORY
from application.applicant_view import history_as_seen_by, sees_applicant_view
from domain.actor import Role
from domain.case_steps import CASE_STEPS

__all__ = ["PROBLEMS", "router", "steps"]  # other routers list the same problems

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=PROBLEMS)  # type: ignore[arg-type]


def case_link(method: str, suffix: str = "", *, with_version: bool = False) -> dict[str, Any]:
    """An OpenAPI link from a submitted case to one of its routes (its id, and its ETag)."""
    path = "/api/v1/cases/{case_id}" + suffix
    parameters = {"path.case_id": "$response.body#/id"}
    if with_version:  # a command expects the version the submission answered with
        parameters["header.If-Match"] = "$response.header.ETag"
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


# Links tell clients, and schemathesis's stateful tests, where a new case's id leads.
SUBMITTED_CASE_LINKS = {
    "GetCase": case_link("get"),
    "GetHistory": case_link("get", "/history"),
    "GetDecisions": case_link("get", "/decisions"),
    **{
        "".join(word.title() for word in command.split("-")): case_link(
            "post", f"/{command}", with_version=True
        )
        for command in (
            "claim",
            "release",
            "assign",
            "confirm-complete",
            "request-information",
            "provide-information",
            "notes",
            "extend-period",
            "decide",
            "withdraw",
        )
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Submit an application",
    responses={201: {"description": "The new case.", "links": SUBMITTED_CASE_LINKS}},
    **allow(Role.APPLICANT, *STAFF),
)
def submit(
    body: SubmitCase,
    actor: ActorDep,
    vorgang: FacadeDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> CaseOut:
    """Submit a new application; with an Idempotency-Key a retry returns the same case (200)."""
    cases = vorgang.cases
    result = cases.submit(
        actor=actor,
        tenant=body.tenant,
        service=body.service,
        applicant=body.applicant.as_fields(),
        data=body.data,
        idempotency_key=key,
        channel=body.channel,
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    state = result.state
    response.headers["Location"] = f"/api/v1/cases/{result.case_id}"
    response.headers["ETag"] = f'"{state.version}"'
    log.info("case submitted", case_id=str(result.case_id), created=result.created)
    if sees_applicant_view(actor):
        return CaseOut.of(state)
    position = result.position or vorgang.positions.of(result.case_id, state.version)
    return CaseOut.of(state, position)


@router.get("/{case_id}", summary="Read a case, now or as of a version", **allow(*EVERYONE))
def get_case(
    case_id: CaseId,
    actor: ActorDep,
    vorgang: FacadeDep,
    record: RecordReadDep,
    response: Response,
    version: Annotated[
        int | None,  # bounded: beyond a BIGINT no database compares, and no case gets there
        Query(ge=1, le=2**31 - 1, description="State as of this version."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="State as recorded at this moment (auditors and supervisors)."),
    ] = None,
) -> CaseOut:
    """The case with its ETag; `?version=N` or `?as_of=<timestamp>` give earlier states."""
    if as_of is not None:
        if not actor.acts_as(Role.AUDITOR, Role.SUPERVISOR):  # the history as of a moment
            raise Forbidden("only auditors and supervisors read a case as of a moment")
        if as_of.tzinfo is None:
            raise BadHeader(
                "as_of", "needs a time zone, e.g. 2026-03-02T09:00:00+01:00", where="query"
            )
        state = vorgang.decision_audit.as_of(case_id, as_of, actor=actor)
    else:
        state = vorgang.cases.view(case_id, actor=actor, version=version)
    record(CASE, case_id=case_id)  # staff: who read it, before the answer leaves
    response.headers["ETag"] = f'"{state.version}"'
    if sees_applicant_view(actor):
        return CaseOut.of(state)
    return CaseOut.of(state, vorgang.positions.of(case_id, state.version))


@router.get(
    "/{case_id}/history",
    summary="Every event of a case",
    **allow(*EVERYONE),
)
def history(
    case_id: CaseId, actor: ActorDep, cases: CaseServiceDep, record: RecordReadDep
) -> list[HistoryEntryOut]:
    """Every stored event with who, when, why; an applicant sees only what is meant for them."""
    entries = history_as_seen_by(actor, cases.history(case_id, actor=actor))
    record(HISTORY, case_id=case_id)
    return [HistoryEntryOut.of(e) for e in entries]


steps = step_routes(CASE_STEPS)  # every lifecycle command, one POST route each

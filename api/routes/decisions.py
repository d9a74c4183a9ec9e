"""For auditors: a case's decision records, their replay, and the case as of a moment."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.access import allow
from api.dependencies import ActorDep, FacadeDep, RecordReadDep
from api.routes.cases import PROBLEMS
from application.access_log import DECISIONS, REPLAY
from domain.actor import Role

router = APIRouter(prefix="/api/v1/cases", tags=["audit"], responses=PROBLEMS)  # type: ignore[arg-type]


class ReplayOut(BaseModel):
    """Whether a decision follows from the rules it recorded (and what today's would say)."""

    number: int
    version: int
    verdict: str
    reason: str | None
    differences: list[dict[str, Any]]
    today: list[dict[str, Any]]


AUDITORS = allow(Role.AUDITOR, Role.SUPERVISOR)  # supervisors: their tenant's cases only


@router.get("/{case_id}/decisions", summary="The decision records of a case", **AUDITORS)
def decisions(
    case_id: UUID, actor: ActorDep, vorgang: FacadeDep, record: RecordReadDep
) -> list[dict[str, Any]]:
    """Outcome, conditions, justification, legal basis, remedy notice, who, rules and inputs."""
    found = vorgang.decision_audit.decisions(case_id, actor=actor)
    record(DECISIONS, case_id=case_id)
    return found


@router.get(
    "/{case_id}/decisions/{number}/replay",
    summary="Replay a decision against its rules",
    **AUDITORS,
)
def replay(
    case_id: UUID,
    number: Annotated[int, Path(ge=1, description="1 for the first decision of the case.")],
    actor: ActorDep,
    vorgang: FacadeDep,
    record: RecordReadDep,
) -> ReplayOut:
    """Rebuild the case before the decision, run the recorded rule versions, compare."""
    report = vorgang.decision_audit.replay(case_id, number, actor=actor)
    record(REPLAY, case_id=case_id)
    return ReplayOut(**vars_of(report))


def vars_of(report: Any) -> dict[str, Any]:
    """A report dataclass as a dict."""
    return {name: getattr(report, name) for name in report.__dataclass_fields__}

"""Traffic sign order: the applicant reports the signs up, then the measure over and removed."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import ConfigDict

from api.access import STAFF, allow
from api.dependencies import VorgangDep
from api.routes.cases import PROBLEMS
from api.routes.service_steps import StepDep
from api.schemas import Body, CaseOut
from application.traffic_sign_order import TrafficSignOrderCommands
from domain.actor import Role

router = APIRouter(prefix="/api/v1/cases", tags=["traffic sign order"], responses=PROBLEMS)  # type: ignore[arg-type]


def traffic_sign_order(v: VorgangDep) -> TrafficSignOrderCommands:
    """The order's use cases, built once in wiring."""
    return v.traffic_sign_order


TrafficSignOrderDep = Annotated[TrafficSignOrderCommands, Depends(traffic_sign_order)]


class SignsUp(Body):
    """The signs stand since this day."""

    signs_up_on: date

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"signs_up_on": "2026-03-20"}]}
    )


class SignsRemoved(Body):
    """The measure is over; the signs were taken down on this day."""

    removed_on: date

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"removed_on": "2026-03-25"}]}
    )


@router.post(
    "/{case_id}/signs-up",
    summary="Traffic sign order: the signs are up",
    **allow(Role.APPLICANT, *STAFF),
)
def report_signs_up(
    case_id: UUID, body: SignsUp, step: StepDep, commands: TrafficSignOrderDep
) -> CaseOut:
    """Under an order in force; recorded as in time when by the day the order names."""
    return step.answer(
        commands.report_signs_up(
            case_id,
            actor=step.actor,
            signs_up_on=body.signs_up_on,
            expected_version=step.expected_version,
        )
    )


@router.post(
    "/{case_id}/signs-removed",
    summary="Traffic sign order: completed, signs removed",
    **allow(Role.APPLICANT, *STAFF),
)
def report_signs_removed(
    case_id: UUID, body: SignsRemoved, step: StepDep, commands: TrafficSignOrderDep
) -> CaseOut:
    """Not before the signs went up, not in the future; the file can then be closed."""
    return step.answer(
        commands.report_signs_removed(
            case_id,
            actor=step.actor,
            removed_on=body.removed_on,
            expected_version=step.expected_version,
        )
    )

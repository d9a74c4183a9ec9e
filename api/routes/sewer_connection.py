"""Sewer house connection: connection point, construction, acceptance inspection, charge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field

from api.access import STAFF, allow
from api.dependencies import VorgangDep
from api.routes.cases import PROBLEMS
from api.routes.service_steps import StepDep
from api.schemas import Body, CaseOut, InspectionReport, Text
from application.sewer_connection import SewerConnectionCommands
from domain.actor import Role

router = APIRouter(prefix="/api/v1/cases", tags=["sewer connection"], responses=PROBLEMS)  # type: ignore[arg-type]


def sewer_connection(v: VorgangDep) -> SewerConnectionCommands:
    """The connection's use cases, built once in wiring."""
    return v.sewer_connection


SewerConnectionDep = Annotated[SewerConnectionCommands, Depends(sewer_connection)]


class ConnectionPoint(Body):
    """Where the house connection joins the public sewer (Anschlusspunkt)."""

    manhole: str = Field(
        min_length=1, max_length=40, description="Manhole or section in the sewer register."
    )
    invert_depth_m: Decimal = Field(
        ge=Decimal("0.5"), le=12, decimal_places=2, description="Invert depth (Sohltiefe), m."
    )
    description: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "manhole": "S 12-034",
                    "invert_depth_m": "2.40",
                    "description": "Anschluss DN 150 an den Mischwasserkanal, Abzweig in "
                    "Fahrbahnmitte vor dem Grundstück.",
                }
            ]
        },
    )


class ConstructionReport(Body):
    """The connection was built."""

    completed_on: date
    pipe_length_m: Decimal = Field(
        gt=0, le=200, decimal_places=2, description="Connection pipe laid in public ground, m."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"completed_on": "2026-06-12", "pipe_length_m": "8.50"}]},
    )


@router.post(
    "/{case_id}/connection-point",
    summary="Sewer connection: determine the connection point",
    **allow(*STAFF),
)
def determine_connection_point(
    case_id: UUID,
    body: ConnectionPoint,
    step: StepDep,
    commands: SewerConnectionDep,
) -> CaseOut:
    """During review; a permit names it, so it must be determined before an approval."""
    return step.answer(
        commands.determine_connection_point(
            case_id,
            actor=step.actor,
            manhole=body.manhole,
            invert_depth_m=body.invert_depth_m,
            description=body.description,
            expected_version=step.expected_version,
        )
    )


@router.post(
    "/{case_id}/construction-reported",
    summary="Sewer connection: the construction is finished",
    **allow(Role.APPLICANT, *STAFF),
)
def report_construction(
    case_id: UUID,
    body: ConstructionReport,
    step: StepDep,
    commands: SewerConnectionDep,
) -> CaseOut:
    """Under a permit in force, not before it took effect nor after it lapsed."""
    return step.answer(
        commands.report_construction(
            case_id,
            actor=step.actor,
            completed_on=body.completed_on,
            pipe_length_m=body.pipe_length_m,
            expected_version=step.expected_version,
        )
    )


@router.post(
    "/{case_id}/connection-inspections",
    summary="Sewer connection: acceptance inspection",
    **allow(*STAFF),
)
def inspect_connection(
    case_id: UUID,
    body: InspectionReport,
    step: StepDep,
    commands: SewerConnectionDep,
) -> CaseOut:
    """Accepted (no defects), or defects with a deadline and a re-inspection later."""
    return step.answer(
        commands.inspect_connection(
            case_id,
            actor=step.actor,
            inspected_on=body.inspected_on,
            defects=body.defects,
            remedy_by=body.remedy_by,
            expected_version=step.expected_version,
        )
    )


@router.post(
    "/{case_id}/connection-charge",
    summary="Sewer connection: assess the connection charge",
    **allow(*STAFF),
)
def assess_connection_charge(case_id: UUID, step: StepDep, commands: SewerConnectionDep) -> CaseOut:
    """By the tariff in force: flat for the kind of drainage plus metres beyond those included."""
    return step.answer(
        commands.assess_connection_charge(
            case_id, actor=step.actor, expected_version=step.expected_version
        )
    )

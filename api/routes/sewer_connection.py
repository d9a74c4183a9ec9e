"""Sewer house connection: connection point, construction, acceptance inspection, charge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field

from api.access import STAFF
from api.routes.service_steps import step_routes
from api.schemas import CommandBody, InspectionReport, Text
from domain.actor import Role
from domain.commands import Step, Steps
from domain.services.sewer_connection import SewerConnection


class ConnectionPoint(CommandBody):
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


class ConstructionReport(CommandBody):
    """The connection was built."""

    completed_on: date
    pipe_length_m: Decimal = Field(
        gt=0, le=200, decimal_places=2, description="Connection pipe laid in public ground, m."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"completed_on": "2026-06-12", "pipe_length_m": "8.50"}]},
    )


def _sewer_step(name: str, path: str, summary: str, description: str, **more: Any) -> Step:
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        description=description,
        aggregate=SewerConnection,
        **{"roles": STAFF, **more},
    )


STEPS = Steps(
    "sewer connection",
    (
        _sewer_step(
            "determine_connection_point",
            "connection-point",
            "Sewer connection: determine the connection point",
            "During review; a permit names it, so it must be determined before an approval.",
            body=ConnectionPoint,
        ),
        _sewer_step(
            "report_construction",
            "construction-reported",
            "Sewer connection: the construction is finished",
            "Under a permit in force, not before it took effect nor after it lapsed.",
            roles=(Role.APPLICANT, *STAFF),
            body=ConstructionReport,
        ),
        _sewer_step(
            "inspect_connection",
            "connection-inspections",
            "Sewer connection: acceptance inspection",
            "Accepted (no defects), or defects with a deadline and a re-inspection later.",
            body=InspectionReport,
        ),
        _sewer_step(
            "assess_connection_charge",
            "connection-charge",
            "Sewer connection: assess the connection charge",
            "By the tariff in force: flat for the kind of drainage plus metres beyond those "
            "included.",
        ),
    ),
)
router = step_routes(STEPS)

"""Use cases of the sewer house connection: connection point, construction, acceptance, charge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from application.service_commands import ServiceCommands
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.services.sewer_connection import SewerConnection


class SewerConnectionCommands(ServiceCommands[SewerConnection]):
    """The connection's own steps, over the shared case use cases."""

    case_type: ClassVar[type[Case]] = SewerConnection

    def determine_connection_point(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        manhole: str,
        invert_depth_m: Decimal,
        description: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Fix where the connection joins the public sewer."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="determine_connection_point",
            step=lambda c, at: c.determine_connection_point(
                actor=actor,
                at=at,
                manhole=manhole,
                invert_depth_m=invert_depth_m,
                description=description,
            ),
        )

    def report_construction(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        completed_on: date,
        pipe_length_m: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record that the connection was built."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="report_construction",
            step=lambda c, at: c.report_construction(
                actor=actor, at=at, completed_on=completed_on, pipe_length_m=pipe_length_m
            ),
        )

    def inspect_connection(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the acceptance inspection (or a re-inspection)."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="inspect_connection",
            step=lambda c, at: c.inspect_connection(
                actor=actor, at=at, inspected_on=inspected_on, defects=defects, remedy_by=remedy_by
            ),
        )

    def assess_connection_charge(
        self, case_id: UUID, *, actor: Actor, expected_version: int | None = None
    ) -> CommandResult:
        """Assess the connection charge by the tariff in force."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="assess_connection_charge",
            step=lambda c, at: c.assess_connection_charge(actor=actor, at=at),
        )

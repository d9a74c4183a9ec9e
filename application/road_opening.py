"""Use cases of the road opening permit after approval: works, inspection of the restoration."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from application.service_commands import ServiceCommands
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.services.road_opening import RoadOpeningPermit


class RoadOpeningCommands(ServiceCommands[RoadOpeningPermit]):
    """The permit's own steps, over the shared case use cases."""

    case_type: ClassVar[type[Case]] = RoadOpeningPermit

    def start_works(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        started_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the start of works."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="start_works",
            step=lambda c, at: c.start_works(actor=actor, at=at, started_on=started_on),
        )

    def complete_works(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        completed_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the completion of works and restoration."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="complete_works",
            step=lambda c, at: c.complete_works(actor=actor, at=at, completed_on=completed_on),
        )

    def inspect_restoration(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record an inspection of the restored surface."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="inspect_restoration",
            step=lambda c, at: c.inspect_restoration(
                actor=actor, at=at, inspected_on=inspected_on, defects=defects, remedy_by=remedy_by
            ),
        )

"""Use cases of the road opening permit after approval: works, inspection of the restoration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from application.cases import CaseService
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.errors import InvalidTransition
from domain.services.road_opening import RoadOpeningPermit


class RoadOpeningCommands:
    """The permit's own steps, over the shared case use cases."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def _run(
        self,
        case_id: UUID,
        actor: Actor,
        expected_version: int | None,
        name: str,
        step: Callable[[RoadOpeningPermit], None],
    ) -> CommandResult:
        def command(case: Case) -> None:
            if not isinstance(case, RoadOpeningPermit):
                raise InvalidTransition(name, case.status, case.allowed_commands())
            step(case)

        return self.cases.handle(
            case_id, actor=actor, expected_version=expected_version, command=command
        )

    def start_works(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        started_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record the start of works."""
        at = self.cases.clock.now()
        return self._run(
            case_id,
            actor,
            expected_version,
            "start_works",
            lambda c: c.start_works(actor=actor, at=at, started_on=started_on),
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
        at = self.cases.clock.now()
        return self._run(
            case_id,
            actor,
            expected_version,
            "complete_works",
            lambda c: c.complete_works(actor=actor, at=at, completed_on=completed_on),
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
        at = self.cases.clock.now()
        return self._run(
            case_id,
            actor,
            expected_version,
            "inspect_restoration",
            lambda c: c.inspect_restoration(
                actor=actor, at=at, inspected_on=inspected_on, defects=defects, remedy_by=remedy_by
            ),
        )

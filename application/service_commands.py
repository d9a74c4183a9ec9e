"""The use cases of a service's own steps, over the shared case use cases.

Each service (road opening, sewer connection, traffic sign order, ...) adds commands that
only its case type knows. They run like every lifecycle command: load the case the actor
may see, check the expected version, run one domain command at the clock's time, save
once. A step sent to a case of another service is refused as an invalid transition naming
what that case allows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Generic, TypeVar, cast
from uuid import UUID

from application.cases import CaseService
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.errors import InvalidTransition

C = TypeVar("C", bound=Case)


class ServiceCommands(Generic[C]):
    """A service's own steps, for cases of one case type."""

    case_type: ClassVar[type[Case]]

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def run(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        expected_version: int | None,
        name: str,
        step: Callable[[C, datetime], None],
    ) -> CommandResult:
        """Run one step (``name`` as the lifecycle calls it) at the clock's time."""
        at = self.cases.clock.now()

        def command(case: Case) -> None:
            if not isinstance(case, self.case_type):
                raise InvalidTransition(name, case.status, case.allowed_commands())
            step(cast(C, case), at)  # the check above makes it one

        return self.cases.handle(
            case_id, actor=actor, expected_version=expected_version, command=command
        )

"""What the routes of a service's own steps share: who acts, the expected version, the answer.

Every such route runs one command of the service's use cases for the authenticated actor,
with the version the ``If-Match`` header expects, and answers with the case as that actor
may see it and its new ETag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response

from api.dependencies import ActorDep, ExpectedVersionDep, VorgangDep
from api.routes.cases import answer
from api.schemas import CaseOut
from application.views import CommandResult
from domain.actor import Actor
from infrastructure.wiring import Vorgang


@dataclass(frozen=True, slots=True)
class StepRequest:
    """One request for a service's step: the actor, the process and the expected version."""

    actor: Actor
    vorgang: Vorgang
    expected_version: int | None
    response: Response

    def answer(self, result: CommandResult) -> CaseOut:
        """The case after the step, shaped for the actor, with its new ETag."""
        return answer(self.vorgang.cases, result, self.actor, self.response)


def step_request(
    actor: ActorDep, vorgang: VorgangDep, expected: ExpectedVersionDep, response: Response
) -> StepRequest:
    """The parts of a step request every service's route needs."""
    return StepRequest(actor, vorgang, expected, response)


StepDep = Annotated[StepRequest, Depends(step_request)]

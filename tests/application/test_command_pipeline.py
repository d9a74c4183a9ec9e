"""The one command pipeline runs the steps of any aggregate type, not only cases."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from application.cases import CaseService
from application.commands import CommandHandler
from application.errors import CaseNotFound, VersionMismatch
from domain.actor import Actor, Role
from domain.commands import CommandBody, Step


class Counter(Aggregate):
    """A shared aggregate of another kind than a case (like a grave or a meter)."""

    @event("Started")
    def __init__(self, counter_id: UUID) -> None:
        self.counter_id = counter_id
        self.total = 0

    def add(self, *, actor: Actor, at: datetime, amount: int) -> None:
        self._added(by=actor.id, amount=amount)

    @event("Added")
    def _added(self, by: str, amount: int) -> None:
        self.total += amount


class Add(CommandBody):
    amount: int


ADD = Step(
    name="add",
    path="/{counter_id}/add",
    summary="Add",
    roles=(Role.CLERK,),
    body=Add,
    aggregate=Counter,
)
CLERK = Actor(id="anna", display_name="Anna", role=Role.CLERK, tenant="usingen")


def test_a_step_of_another_aggregate_type_is_loaded_checked_run_and_saved(
    cases: CaseService,
) -> None:
    counter = Counter(uuid4())
    cases.store.save(counter)
    handler = CommandHandler(cases)

    result = handler.handle(counter.id, ADD(Add(amount=3)), CLERK, expected_version=1)

    stored: Counter = cases.store.repository.get(counter.id)
    assert (stored.total, stored.version, result.version) == (3, 2, 2)
    assert result.position is not None
    with pytest.raises(VersionMismatch):
        handler.handle(counter.id, ADD(Add(amount=1)), CLERK, expected_version=1)


def test_a_step_for_an_aggregate_that_does_not_exist_is_not_found(cases: CaseService) -> None:
    with pytest.raises(CaseNotFound):
        CommandHandler(cases).handle(uuid4(), ADD(Add(amount=1)), CLERK, expected_version=None)

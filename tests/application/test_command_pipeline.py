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
from domain.case import Case
from domain.case_steps import CASE_STEPS
from domain.commands import CommandBody, Step
from domain.services.catalogue import SERVICES


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


class Place(Aggregate):
    """A shared aggregate found by its town and a key (like a market stall or a grave)."""

    @event("Started")
    def __init__(self, id: UUID) -> None:  # the library takes a given id by this name
        pass


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


def test_a_step_finds_a_shared_aggregate_by_town_and_key_and_starts_one_when_none_is_stored(
    cases: CaseService,
) -> None:
    context = CommandHandler(cases).context
    fresh = context.keyed(Place, "usingen", "stall:7", Place)
    assert fresh.version == 1
    assert fresh.id not in cases.store.repository
    cases.store.save(fresh)

    found = context.keyed(Place, "usingen", "stall:7", Place)
    elsewhere = context.keyed(Place, "schmitten", "stall:7", Place)
    assert found.id == fresh.id
    assert found.id in cases.store.repository
    assert elsewhere.id != fresh.id  # the same key in another town is another aggregate


def test_no_step_has_a_wrapper_on_the_case_service() -> None:
    every_step = [*CASE_STEPS, *(s for d in SERVICES.values() if d.steps for s in d.steps)]
    wrapped = [s.name for s in every_step if hasattr(CaseService, s.command_name)]
    assert not wrapped, f"taken through CommandHandler.handle, not CaseService: {wrapped}"


def test_every_step_a_service_adds_to_the_lifecycle_is_declared_in_its_catalogue_entry() -> None:
    shared = set().union(*Case.LIFECYCLE.values())
    for definition in SERVICES.values():
        own = set().union(*definition.case_class.LIFECYCLE.values()) - shared
        declared = {s.command_name for s in definition.steps or ()}
        assert own <= declared, (definition.id, sorted(own - declared))

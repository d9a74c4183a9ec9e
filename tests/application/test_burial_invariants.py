"""One grave place to one burial, under concurrency, on SQLite and on PostgreSQL.

Concurrent schedulings are forced to collide: a barrier holds every writer until all of them
have loaded their case and the grave and reserved the place, so all see it free; the saves
then race, and exactly one registration may keep the place. The others lose the race on the
grave's version, are decided again from a fresh load and are refused, naming the grave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.cemeteries import GraveAddress
from domain.services.burial import example
from domain.services.grave import Grave, grave_id
from domain.working_days import berlin_date
from tests.application.test_parking_invariants import in_threads
from tests.conftest import CLERK
from tests.steps import in_review, take

PLACE = GraveAddress("usingen-friedhof", "B", "1", 7)  # a Reihengrab: one coffin place


def register(cases: CaseService, number: int) -> UUID:
    """A registration of burial ``number`` for the same grave, taken into review."""
    data = example(berlin_date(cases.clock.now()))
    data["grave"] = {"cemetery": PLACE.cemetery, "field": "B", "row": "1", "number": 7}
    undertaker = Actor(f"portal:{number}", f"Bestatter {number}", Role.APPLICANT, "usingen")
    case_id = cases.submit(
        actor=undertaker,
        tenant="usingen",
        service="burial",
        applicant={"name": f"Bestatter {number}"},
        data=data,
    ).case_id
    in_review(cases, case_id)
    return case_id


def outcome(cases: CaseService, case_id: UUID) -> str:
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    return str(decision["outcome"])


def schedule_all(handler: CommandHandler, registrations: list[UUID]) -> list[Any]:
    return in_threads(
        *((lambda c=c: take(handler, c, "schedule", actor=CLERK)) for c in registrations)
    )


def test_two_registrations_for_one_free_place_under_a_barrier_give_it_to_exactly_one(
    cases: CaseService, collide: Callable[[int], Any]
) -> None:
    handler = CommandHandler(cases)
    first, second = register(cases, 1), register(cases, 2)
    state = collide(2)
    results = schedule_all(handler, [first, second])
    assert not any(isinstance(r, Exception) for r in results), results
    assert state["saves"] == 3  # both saved once; the loser lost the race and saved again
    assert sorted(outcome(cases, c) for c in (first, second)) == ["approved", "rejected"]
    loser = first if outcome(cases, first) == "rejected" else second
    justification = cases.get(loser, actor=CLERK).decision["justification"]  # type: ignore[index]
    assert str(PLACE) in justification
    grave: Grave = cases.store.repository.get(grave_id("usingen", PLACE))
    assert [o.case_id for o in grave.occupations] == [second if loser == first else first]


def test_five_concurrent_registrations_for_one_free_place_leave_one_reservation(
    cases: CaseService, collide: Callable[[int], Any]
) -> None:
    handler = CommandHandler(cases)
    registrations = [register(cases, n) for n in range(5)]
    collide(5)
    results = schedule_all(handler, registrations)
    assert not any(isinstance(r, Exception) for r in results), results
    outcomes = [outcome(cases, c) for c in registrations]
    assert outcomes.count("approved") == 1
    assert outcomes.count("rejected") == 4
    grave: Grave = cases.store.repository.get(grave_id("usingen", PLACE))
    assert len(grave.occupations) == 1

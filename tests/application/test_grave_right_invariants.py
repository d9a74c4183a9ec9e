"""One grave right per free Wahlgrab, under concurrency, on SQLite and on PostgreSQL.

Concurrent grave right decisions are forced to collide: a barrier holds every writer until all
of them have loaded their case and the grave and granted the right on it, so all see the grave
free; the saves then race, and exactly one application may keep the right. The others lose the
race on the grave's version, are decided again from a fresh load and are refused, naming the
grave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.cemeteries import GraveAddress
from domain.services.grave import Grave, grave_id
from tests.application.test_parking_invariants import in_threads
from tests.conftest import CLERK
from tests.steps import in_review, take

GRAVE = GraveAddress("usingen-friedhof", "A", "2", 5)  # a free Wahlgrab


def apply_for_the_grave(cases: CaseService, number: int) -> UUID:
    """Applicant ``number``'s application to acquire the right on the same grave, in review."""
    applicant = Actor(f"portal:{number}", f"Antragsteller {number}", Role.APPLICANT, "usingen")
    grave = {"cemetery": GRAVE.cemetery, "field": GRAVE.field, "row": GRAVE.row, "number": 5}
    case_id = cases.submit(
        actor=applicant,
        tenant="usingen",
        service="grave-right",
        applicant={"name": f"Antragstellerin {number}"},
        data={"request": "acquire", "grave": grave},
    ).case_id
    in_review(cases, case_id)
    return case_id


def decision(cases: CaseService, case_id: UUID) -> dict[str, Any]:
    decided = cases.get(case_id, actor=CLERK).decision
    assert decided is not None
    return dict(decided)


def decide_all(handler: CommandHandler, applications: list[UUID]) -> list[Any]:
    return in_threads(
        *((lambda c=c: take(handler, c, "decide_grave_right", actor=CLERK)) for c in applications)
    )


def held_by_one(cases: CaseService, applications: list[UUID]) -> UUID:
    """Exactly one application got the right, the others were refused naming the grave."""
    decisions = {c: decision(cases, c) for c in applications}
    winners = [c for c, d in decisions.items() if d["outcome"] == "approved"]
    assert len(winners) == 1, decisions
    for case_id, refused in decisions.items():
        if case_id != winners[0]:
            assert refused["outcome"] == "rejected", refused
            assert str(GRAVE) in refused["justification"], refused["justification"]
            assert "a grave right holds until" in refused["justification"]
    grave: Grave = cases.store.repository.get(grave_id("usingen", GRAVE))
    assert grave.right is not None
    assert grave.right.case_id == winners[0]
    return winners[0]


def test_two_applications_for_one_free_wahlgrab_under_a_barrier_give_the_right_to_one(
    cases: CaseService, collide: Callable[[int], Any]
) -> None:
    handler = CommandHandler(cases)
    applications = [apply_for_the_grave(cases, 1), apply_for_the_grave(cases, 2)]
    state = collide(2)
    results = decide_all(handler, applications)
    assert not any(isinstance(r, Exception) for r in results), results
    assert state["saves"] == 3  # both saved once; the loser lost the race and saved again
    winner = held_by_one(cases, applications)
    grave: Grave = cases.store.repository.get(grave_id("usingen", GRAVE))
    assert [(h.change, h.case_id) for h in grave.right_history] == [("granted", winner)]


def test_five_concurrent_applications_for_one_free_wahlgrab_leave_one_grave_right(
    cases: CaseService, collide: Callable[[int], Any]
) -> None:
    handler = CommandHandler(cases)
    applications = [apply_for_the_grave(cases, n) for n in range(5)]
    collide(5)
    results = decide_all(handler, applications)
    assert not any(isinstance(r, Exception) for r in results), results
    winner = held_by_one(cases, applications)
    grave: Grave = cases.store.repository.get(grave_id("usingen", GRAVE))
    assert [(h.change, h.case_id) for h in grave.right_history] == [("granted", winner)]

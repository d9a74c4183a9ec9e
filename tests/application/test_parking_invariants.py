"""One valid resident parking permit per number plate and per resident, under concurrency.

Each test runs on SQLite and on PostgreSQL. Concurrent decisions are forced to collide: a
barrier holds every writer until all of them have loaded the case and the holdings and
decided, so all see the plate free; the saves then race and the rules must still leave
exactly one valid permit.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.services.parking_holding import HoldingKind, PermitHolding
from domain.services.resident_parking import example, holding, resident_key
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, take

STREETS = ("Obergasse", "Untergasse", "Kreuzgasse", "Marktplatz", "Pfarrgasse", "Schlossplatz")


@pytest.fixture
def parking(cases: CaseService) -> CommandHandler:
    return CommandHandler(cases)


def apply(
    cases: CaseService, number: int, *, plate: str, name: str | None = None, street: str = ""
) -> UUID:
    """Submit an application of resident ``number`` and take it into review."""
    data = example(berlin_date(cases.clock.now()))
    data["residence"]["street"] = street or STREETS[number % len(STREETS)]
    data["vehicle"]["number_plate"] = plate
    applicant = Actor(f"portal:{number}", name or f"Person {number}", Role.APPLICANT, "usingen")
    case_id = cases.submit(
        actor=applicant,
        tenant="usingen",
        service="resident-parking",
        applicant={"name": name or f"Person {number}"},
        data=data,
    ).case_id
    in_review(cases, case_id)
    return case_id


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in a thread of its own; their results (or exceptions) in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.exception() or f.result() for f in futures]


def outcome(cases: CaseService, case_id: UUID) -> str:
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    return str(decision["outcome"])


def refusals(cases: CaseService, case_id: UUID) -> list[str]:
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    return [r for rules in decision["rules"] for r in rules["inputs"].get("refusals", [])]


def test_two_applications_for_one_plate_under_a_barrier_give_exactly_one_permit(
    cases: CaseService, parking: CommandHandler, collide: Callable[[int], Any]
) -> None:
    first = apply(cases, 1, plate="HG-AB 123")
    second = apply(cases, 2, plate="hg ab123")  # the same plate, written differently
    state = collide(2)
    results = in_threads(
        lambda: take(parking, first, "decide_by_rules", actor=CLERK),
        lambda: take(parking, second, "decide_by_rules", actor=CLERK),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert state["saves"] == 3  # both saved once; the loser lost the race and saved again
    outcomes = sorted(outcome(cases, c) for c in (first, second))
    assert outcomes == ["approved", "rejected"]
    loser = first if outcome(cases, first) == "rejected" else second
    assert refusals(cases, loser) == ["vehicle_holds_permit"]
    plate = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-AB 123")
    assert list(plate.periods) == [second if loser == first else first]


def test_two_applications_of_one_resident_under_a_barrier_give_exactly_one_permit(
    cases: CaseService, parking: CommandHandler, collide: Callable[[int], Any]
) -> None:
    first = apply(cases, 1, plate="HG-AB 1", name="Erika Weber", street="Obergasse")
    second = apply(cases, 2, plate="HG-AB 2", name="erika  weber", street="Obergasse")
    collide(2)
    results = in_threads(
        lambda: take(parking, first, "decide_by_rules", actor=CLERK),
        lambda: take(parking, second, "decide_by_rules", actor=CLERK),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(outcome(cases, c) for c in (first, second)) == ["approved", "rejected"]
    loser = first if outcome(cases, first) == "rejected" else second
    assert refusals(cases, loser) == ["resident_holds_permit"]


def test_many_concurrent_applications_for_one_plate_leave_one_valid_permit(
    cases: CaseService, parking: CommandHandler, collide: Callable[[int], Any]
) -> None:
    applications = [apply(cases, n, plate="HG-ZZ 9") for n in range(5)]
    collide(5)
    results = in_threads(
        *((lambda c=c: take(parking, c, "decide_by_rules", actor=CLERK)) for c in applications)
    )
    assert not any(isinstance(r, Exception) for r in results), results
    outcomes = [outcome(cases, c) for c in applications]
    assert outcomes.count("approved") == 1
    assert outcomes.count("rejected") == 4


def test_a_plate_change_racing_a_new_application_leaves_the_plate_with_one_permit(
    cases: CaseService, parking: CommandHandler, collide: Callable[[int], Any]
) -> None:
    holder = apply(cases, 1, plate="HG-AB 1")
    take(parking, holder, "decide_by_rules", actor=CLERK)
    take(cases, holder, "notify", actor=CLERK, delivery="counter")
    newcomer = apply(cases, 2, plate="HG-NW 5")
    collide(2)
    results = in_threads(
        lambda: take(
            parking, holder, "change_number_plate", actor=CLERK, vehicle={"number_plate": "HG-NW 5"}
        ),
        lambda: take(parking, newcomer, "decide_by_rules", actor=CLERK),
    )
    plate = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-NW 5")
    assert len(plate.periods) == 1
    if plate.held_by(holder) is not None:  # the change won: the newcomer was refused
        assert results[0].version > 0
        assert refusals(cases, newcomer) == ["vehicle_holds_permit"]
    else:  # the application won: the change was refused, the old plate still held
        assert isinstance(results[0], Exception)
        assert outcome(cases, newcomer) == "approved"
        old = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-AB 1")
        assert old.held_by(holder) is not None


def test_an_expired_permit_no_longer_blocks_and_a_returned_one_frees_its_plate(
    cases: CaseService, parking: CommandHandler, clock: FixedClock
) -> None:
    first = apply(cases, 1, plate="HG-AB 1")
    take(parking, first, "decide_by_rules", actor=CLERK)
    take(cases, first, "notify", actor=CLERK, delivery="counter")
    clock.advance(timedelta(days=30))
    blocked = apply(cases, 2, plate="HG-AB 1")
    take(parking, blocked, "decide_by_rules", actor=CLERK)
    assert refusals(cases, blocked) == ["vehicle_holds_permit"]

    until = cases.get(first, actor=CLERK).service_state["valid_until"]
    clock.set(clock.now() + (until - berlin_date(clock.now())) + timedelta(days=1))
    later = apply(cases, 3, plate="HG-AB 1")
    take(parking, later, "decide_by_rules", actor=CLERK)
    assert outcome(cases, later) == "approved"  # business time: the first permit has ended

    take(cases, later, "notify", actor=CLERK, delivery="counter")
    take(parking, later, "return_permit", actor=CLERK, reason="Fahrzeug verkauft")
    again = apply(cases, 4, plate="HG-AB 1")
    take(parking, again, "decide_by_rules", actor=CLERK)
    assert outcome(cases, again) == "approved"


def test_holdings_are_keyed_by_hmac_per_town_and_never_store_the_plate(
    cases: CaseService, parking: CommandHandler, store: VorgangStore
) -> None:
    case_id = apply(cases, 1, plate="HG-AB 123", name="Erika Weber")
    take(parking, case_id, "decide_by_rules", actor=CLERK)
    plate = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-AB 123")
    assert plate.version == 2
    same_plate_elsewhere = holding(
        parking.context, "schmitten", HoldingKind.NUMBER_PLATE, "HG-AB 123"
    )
    assert same_plate_elsewhere.id != plate.id
    assert same_plate_elsewhere.version == 1  # not stored: nobody holds it in Schmitten
    resident = holding(
        parking.context,
        "usingen",
        HoldingKind.RESIDENT,
        resident_key("Erika Weber", STREETS[1], "12"),
    )
    assert isinstance(resident, PermitHolding)
    assert resident.held_by(case_id) is not None
    for holding_id in (plate.id, resident.id):
        for stored in store.recorder.select_events(holding_id):
            raw = stored.state.decode("utf-8", errors="replace").casefold()
            for clear in ("hg-ab 123", "hgab123", "erika", "weber", "untergasse"):
                assert clear not in raw

"""No offering is ever over-allocated, and no registration is lost, under concurrency.

On PostgreSQL (under ``CI=true`` these fail rather than skip when it is not reachable), with
the fully wired application. A barrier holds every thread's first save until all of them have
loaded the offering and decided: registrations against the window's closure (and the draw
right after it), cancellations against each other's move-ups. The saves then race on the
offering's version and every loser is decided again from a fresh load. Nothing waits for a
time window: the threads are joined and the offering and the cases judged as they stand,
and every stored version of the offering is folded again to check it never held more
children than places.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

import application.cases
from application.clock import FixedClock
from application.views import SubmissionResult
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.holiday.offering import AllocationRules, EntryStatus, HolidayOffering
from domain.services.holiday_registration import SERVICE_ID, HolidayRegistration
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK, SUPERVISOR
from tests.steps import take

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("target", ["postgresql"], indirect=True),
]

FAMILIES = 12  # registering threads at once: modest, as PostgreSQL connections are limited
PLACES = 4


def publish(vorgang: Vorgang, clock: FixedClock, places: int = PLACES) -> HolidayOffering:
    """A summer offering of Usingen, its window open since yesterday."""
    now = clock.now()
    return vorgang.holiday.publish(
        CLERK,
        year=2026,
        code="KANU-1",
        activity="Kanutour",
        description="Drei Tage auf dem Wasser.",
        location="Bootshaus",
        starts_on=now.date().replace(month=7, day=13),
        ends_on=now.date().replace(month=7, day=15),
        min_age=6,
        max_age=10,
        places=places,
        fee=Decimal("0.00"),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=now + timedelta(days=21),
        rules=AllocationRules(),
        staff=[CLERK.id],
    )


def family(number: int) -> Actor:
    return Actor(f"portal:family-{number}", f"Familie {number}", Role.APPLICANT, "usingen")


def register(vorgang: Vorgang, offering: UUID, number: int) -> Callable[[], Any]:
    """A family's registration of one child (to run in a thread)."""
    data = {
        "offering": str(offering),
        "children": [
            {"given_name": f"Kind{number}", "family_name": "Muster", "born_on": "2017-05-01"}
        ],
        "guardians": [{"name": "Eva Muster", "phone": "06081 1234", "email": "e@example.org"}],
        "pickup_persons": [],
        "address": f"Hauptstraße {number}, 61250 Usingen",
        "municipality": "usingen",
    }
    return lambda: vorgang.cases.submit(
        actor=family(number),
        tenant="usingen",
        service=SERVICE_ID,
        applicant={"name": f"Familie {number}"},
        data=data,
    )


@pytest.fixture
def held_saves(vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[int]]:
    """Arm: the first save of each of ``n`` threads waits until all of them got there (0:
    disarm); the list returned counts the saves that lost their race from then on."""
    original = vorgang.store.save
    armed: dict[str, threading.Barrier | None] = {"barrier": None}
    lost: list[int] = []
    local = threading.local()
    lock = threading.Lock()

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        barrier = armed["barrier"]
        if barrier is not None and not getattr(local, "waited", False):
            local.waited = True
            barrier.wait(timeout=120)  # everyone loaded and decided before anyone saves
        try:
            return original(*aggregates, **kwargs)
        except IntegrityError:
            with lock:
                lost.append(1)
            raise

    monkeypatch.setattr(vorgang.store, "save", save)

    def arm(parties: int) -> list[int]:
        armed["barrier"] = threading.Barrier(parties) if parties else None
        return lost

    return arm


@pytest.fixture(autouse=True)
def as_separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The threads race as separate processes would: a process may decide submissions that
    meet at one offering in turn, but no such lock holds across the processes of a
    deployment, so what is proved here must hold without it."""
    if hasattr(application.cases, "_in_turn"):
        monkeypatch.setattr(application.cases, "_in_turn", lambda *_args: nullcontext())


def in_threads(calls: Iterable[Callable[[], Any]]) -> list[Any]:
    """Run each call in a thread of its own; their results (or exceptions) in order."""
    calls = list(calls)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.exception() or f.result() for f in futures]


def offering_now(vorgang: Vorgang, offering: UUID) -> HolidayOffering:
    found: HolidayOffering = vorgang.store.repository.get(offering)
    return found


def every_version(vorgang: Vorgang, offering: UUID) -> Iterator[HolidayOffering]:
    """The offering at each of its stored versions."""
    head = offering_now(vorgang, offering).version
    for version in range(1, head + 1):
        yield vorgang.store.repository.get(offering, version=version)


def registration_case(vorgang: Vorgang, case_id: UUID) -> HolidayRegistration:
    found: HolidayRegistration = vorgang.store.repository.get(case_id)
    return found


def test_registrations_racing_the_windows_closure_and_the_draw_are_drawn_or_refused(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    offering = publish(vorgang, clock).id

    def close_then_draw() -> HolidayOffering:
        vorgang.holiday.close_window(CLERK, offering, "Kurzfristig abgesagte Halle")
        return vorgang.holiday.draw(SUPERVISOR, offering)

    first = register(vorgang, offering, FAMILIES)().case_id  # the town's numbers are in use
    lost = held_saves(FAMILIES + 1)
    results = in_threads(
        [*(register(vorgang, offering, n) for n in range(FAMILIES)), close_then_draw]
    )
    *registrations, drawn = results
    assert isinstance(drawn, HolidayOffering), drawn
    assert len(lost) >= FAMILIES  # the held saves collided: one won, each other one lost

    accepted = [first, *(r.case_id for r in registrations if isinstance(r, SubmissionResult))]
    refused = [r for r in registrations if isinstance(r, InvalidCommand)]
    assert len(accepted) - 1 + len(refused) == FAMILIES, registrations  # nothing else
    assert all(r.field == "data.offering" and "closed" in r.message for r in refused)

    final = offering_now(vorgang, offering)
    record = final.draw_record
    assert record is not None
    assert {UUID(lot["case_id"]) for lot in record["lots"]} == set(accepted)  # all, and only
    assert final.allocated_count == min(PLACES, len(accepted)) <= PLACES
    assert len(record["waiting"]) == len(accepted) - final.allocated_count
    for case_id in accepted:  # each registration learned its outcome in the draw's save
        case = registration_case(vorgang, case_id)
        assert str(case.status) in ("place_allocated", "waiting_list"), case.status
    assert all(o.allocated_count <= o.places for o in every_version(vorgang, offering))


def test_cancellations_racing_each_others_move_ups_never_over_allocate(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    offering = publish(vorgang, clock, places=3).id
    cases = [register(vorgang, offering, n)().case_id for n in range(9)]
    vorgang.holiday.close_window(CLERK, offering, "Anmeldeschluss vorgezogen")
    drawn = vorgang.holiday.draw(CLERK, offering)
    allocated = [c for c in cases if drawn.status_of(c, 0) == EntryStatus.ALLOCATED]
    waiting = [c for c in cases if drawn.status_of(c, 0) == EntryStatus.WAITING]
    assert (len(allocated), len(waiting)) == (3, 6)

    # Every place holder and the first two waiting cancel at once: each cancellation moves
    # the next waiting child up, and they all decide on the same offering.
    first_waiting = sorted(waiting, key=lambda c: drawn.waiting_list.index((c, 0)))[:2]
    leaving = [*allocated, *first_waiting]

    def cancel(case_id: UUID, number: int) -> Callable[[], Any]:
        applicant = family(number)
        return lambda: take(
            vorgang.commands, case_id, "cancel_registration", applicant, reason="krank"
        )

    lost = held_saves(len(leaving))
    results = in_threads(cancel(c, cases.index(c)) for c in leaving)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(lost) >= len(leaving) - 1  # they collided on the offering, and were retried

    final = offering_now(vorgang, offering)
    staying = [c for c in cases if c not in leaving]
    assert final.allocated_count == 3  # the places are full again, never more
    assert {c for c in staying if final.status_of(c, 0) == EntryStatus.ALLOCATED} == set(
        sorted(staying, key=lambda c: drawn.waiting_list.index((c, 0)))[:3]
    )  # moved up in waiting order
    assert all(final.status_of(c, 0) == EntryStatus.CANCELLED for c in leaving)
    assert all(o.allocated_count <= o.places for o in every_version(vorgang, offering))
    for case_id in staying:  # the offering and the cases agree
        case = registration_case(vorgang, case_id)
        expected = (
            "place_allocated"
            if final.status_of(case_id, 0) == EntryStatus.ALLOCATED
            else "waiting_list"
        )
        assert str(case.status) == expected, (case_id, case.status)

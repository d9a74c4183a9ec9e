"""A chip registered once per town, tax tag numbers issued once each, under concurrency.

Each test runs on SQLite and on PostgreSQL. Concurrent steps of dog files are forced to
collide: a barrier holds every thread's first save until all of them have loaded their file,
the town's register, roll and household, and decided; the saves then race on the shared
aggregates' versions, and the pipeline decides each loser again from a fresh load
(``retry_lost_race``). Nothing waits for a time window: the threads are joined, and the
register, the roll and the files are judged as they stand afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from application.cases import CaseService
from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.services.dog_application import example
from domain.services.dog_register import (
    ChipAlreadyRegistered,
    DogHousehold,
    DogRegister,
    TaxTagRoll,
    keeper_key,
    normalised_chip,
    tag_roll_id,
)
from domain.services.dog_registration import SERVICE_ID, DogRegistration
from domain.working_days import berlin_date
from tests.conftest import CLERK, FOREIGN_CLERK
from tests.steps import in_review, take

N = 6  # threads at once: modest, as PostgreSQL connections are limited
CLERKS = {"usingen": CLERK, "schmitten": FOREIGN_CLERK}


@pytest.fixture
def dogs(cases: CaseService) -> CommandHandler:
    """The one command pipeline, as the API runs it."""
    return CommandHandler(cases)


def in_threads(calls: Iterable[Callable[[], Any]]) -> list[Any]:
    """Run each call in a thread of its own; their results (or exceptions) in order."""
    calls = list(calls)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.exception() or f.result() for f in futures]


def chip(number: int) -> str:
    """A microchip number of 15 digits, written as keepers write it."""
    return f"276 098 106 {number:06d}"


def filed(
    cases: CaseService,
    number: int,
    *,
    chip_number: str,
    town: str = "usingen",
    keeper: str | None = None,
) -> UUID:
    """A keeper's dog file submitted in the town, claimed and confirmed by the town's clerk."""
    data = example(berlin_date(cases.clock.now()))
    data["dog"]["chip"] = chip_number
    data["dog"]["name"] = f"Hund {number}"
    name = keeper or f"Person {number}"
    applicant = Actor(f"portal:{town}:{number}", name, Role.APPLICANT, town)
    case_id = cases.submit(
        actor=applicant,
        tenant=town,
        service=SERVICE_ID,
        applicant={"name": name},
        data=data,
    ).case_id
    in_review(cases, case_id, CLERKS[town])
    return case_id


def register_dog(dogs: CommandHandler, case_id: UUID, town: str = "usingen") -> Callable[[], Any]:
    """The town's clerk enters the file's dog in the register (to run in a thread)."""
    return lambda: take(dogs, case_id, "register_dog", actor=CLERKS[town])


def file_of(cases: CaseService, case_id: UUID) -> DogRegistration:
    """The dog file as stored."""
    case: Aggregate = cases.store.repository.get(case_id)
    assert isinstance(case, DogRegistration)
    return case


def roll(dogs: CommandHandler, town: str) -> TaxTagRoll:
    """The town's roll of tax tags as stored."""
    found: Aggregate = dogs.cases.store.repository.get(tag_roll_id(town))
    assert isinstance(found, TaxTagRoll)
    return found


def register(dogs: CommandHandler, town: str, chip_number: str) -> DogRegister:
    """The town's register of the chip as stored (a fresh one where nobody registered it)."""
    return dogs.context.keyed(
        DogRegister,
        town,
        normalised_chip(chip_number),
        lambda register_id: DogRegister.start(id=register_id, tenant=town),
    )


def household(dogs: CommandHandler, town: str, keeper: str) -> DogHousehold:
    """The keeper's household of dogs in the town, as ``example`` gives the address."""
    address = example(berlin_date(dogs.cases.clock.now()))["keeper"]
    key = keeper_key(keeper, address["street"], address["house_number"], address["postcode"])
    return dogs.context.keyed(
        DogHousehold, town, key, lambda h: DogHousehold.start(id=h, tenant=town)
    )


def failures(results: list[Any]) -> list[Exception]:
    """The results that are exceptions."""
    return [r for r in results if isinstance(r, Exception)]


def assert_tags_run_from_one(
    dogs: CommandHandler, cases: CaseService, town: str, files: list[UUID]
) -> None:
    """The town's tags are 1..k, one for each file, no gap and none twice."""
    tags = roll(dogs, town)
    issued = sorted(file_of(cases, c).tag or 0 for c in files)
    assert issued == list(range(1, len(files) + 1))
    assert tags.last_issued == len(files)
    assert tags.withdrawn == {}
    assert tags.holders == {file_of(cases, c).tag: c for c in files}


def test_one_chip_filed_n_times_at_once_is_registered_once(
    cases: CaseService, dogs: CommandHandler, collide: Callable[[int], Any]
) -> None:
    writings = (
        "276098106123456",
        "276 098 106 123 456",
        "276-098-106-123-456",
        "276.098.106.123456",
    )
    files = [
        filed(cases, n, chip_number=writings[n % len(writings)]) for n in range(N)
    ]  # the same chip, written differently, by N keepers
    state = collide(N)
    results = in_threads(register_dog(dogs, c) for c in files)

    refused = failures(results)
    assert len(refused) == N - 1, results
    for error in refused:
        assert isinstance(error, ChipAlreadyRegistered), repr(error)
        assert isinstance(error, InvalidCommand)
        assert error.field == "data.dog.chip"
        assert "276" not in str(error)  # the chip number is never repeated
    winner = files[next(i for i, r in enumerate(results) if not isinstance(r, Exception))]
    assert state["saves"] == N  # each saved once; every loser, decided again, was refused

    entry = register(dogs, "usingen", writings[0])
    assert entry.current_case == winner
    assert [e.case_id for e in entry.entries] == [winner]
    assert roll(dogs, "usingen").holders == {1: winner}
    assert roll(dogs, "usingen").last_issued == 1
    for n, case_id in enumerate(files):
        stored = file_of(cases, case_id)
        kept = set(household(dogs, "usingen", f"Person {n}").dogs)
        if case_id == winner:
            assert (stored.tag, stored.registered, kept) == (1, True, {winner})
        else:  # nothing of a refused registration was saved
            assert (stored.tag, stored.registered, stored.decision, kept) == (
                None,
                False,
                None,
                set(),
            )


def test_n_chips_registered_at_once_get_the_tags_one_to_n(
    cases: CaseService, dogs: CommandHandler, collide: Callable[[int], Any]
) -> None:
    keeper = "Erika Weber"  # one household keeps all the dogs: its count races as well
    files = [filed(cases, n, chip_number=chip(n), keeper=keeper) for n in range(N)]
    state = collide(N)
    results = in_threads(register_dog(dogs, c) for c in files)

    assert failures(results) == [], (results, state["saves"])
    assert state["saves"] >= 2 * N - 1  # every loser of a round saved again
    assert_tags_run_from_one(dogs, cases, "usingen", files)
    for n, case_id in enumerate(files):
        assert register(dogs, "usingen", chip(n)).current_case == case_id
    kept = household(dogs, "usingen", keeper)
    assert set(kept.dogs) == set(files)
    # each file's tax counted the dogs registered before it: 0, 1, ..., N-1 others
    assert sorted(len(file_of(cases, c).household) for c in files) == list(range(N))


def test_two_towns_registering_at_once_number_their_tags_each_from_one(
    cases: CaseService, dogs: CommandHandler, collide: Callable[[int], Any]
) -> None:
    towns = ("usingen", "schmitten")
    each = N // len(towns)
    files: dict[str, list[UUID]] = {town: [] for town in towns}
    for n in range(each):
        for town in towns:  # interleaved; the same chips in both towns
            files[town].append(filed(cases, n, chip_number=chip(n), town=town))
    state = collide(N)
    order = [(town, files[town][n]) for n in range(each) for town in towns]
    results = in_threads(register_dog(dogs, case_id, town) for town, case_id in order)

    assert failures(results) == [], (results, state["saves"])
    for town in towns:
        assert_tags_run_from_one(dogs, cases, town, files[town])
        for n, case_id in enumerate(files[town]):
            assert register(dogs, town, chip(n)).current_case == case_id
    assert register(dogs, "usingen", chip(0)).id != register(dogs, "schmitten", chip(0)).id


def test_deregistrations_and_lost_tags_at_once_never_lose_or_reissue_a_number(
    cases: CaseService, dogs: CommandHandler, collide: Callable[[int], Any]
) -> None:
    files = [filed(cases, n, chip_number=chip(n)) for n in range(N)]
    for case_id in files:
        take(dogs, case_id, "register_dog", actor=CLERK)
        take(dogs, case_id, "notify", actor=CLERK, delivery="counter")  # the Bescheid known
    leaving, losing = files[: N // 2], files[N // 2 :]
    today = berlin_date(cases.clock.now())
    state = collide(N)
    results = in_threads(
        [
            *(
                (lambda c=c: take(dogs, c, "deregister_dog", actor=CLERK, reason="death", on=today))
                for c in leaving
            ),
            *((lambda c=c: take(dogs, c, "replace_lost_tag", actor=CLERK)) for c in losing),
        ]
    )

    assert failures(results) == [], (results, state["saves"])
    assert state["saves"] >= 2 * N - 1  # all drew on the roll: every loser saved again
    tags = roll(dogs, "usingen")
    issued = set(range(1, tags.last_issued + 1))
    assert tags.last_issued == N + len(losing)
    assert set(tags.holders) | set(tags.withdrawn) == issued
    assert not set(tags.holders) & set(tags.withdrawn)
    first = {c: files.index(c) + 1 for c in files}  # registered one by one: tags 1..N
    assert tags.withdrawn == {
        **{first[c]: "returned" for c in leaving},
        **{first[c]: "lost" for c in losing},
    }
    assert sorted(tags.holders.values()) == sorted(losing)
    for case_id in losing:
        stored = file_of(cases, case_id)
        assert stored.tags == [first[case_id], tags.held_by(case_id)]
        assert stored.tag == tags.held_by(case_id)
    for n, case_id in enumerate(files):
        stored = file_of(cases, case_id)
        chip_holder = register(dogs, "usingen", chip(n)).current_case
        left_on = household(dogs, "usingen", f"Person {n}").dogs[case_id].left_on
        if case_id in leaving:
            assert (stored.tag, stored.registered, chip_holder, left_on) == (
                None,
                False,
                None,
                today,
            )
            assert stored.changes_to_notify == [today.year]  # the tax ends: awaits its notice
        else:
            assert (chip_holder, left_on) == (case_id, None)
            assert stored.changes_to_notify == []  # a new tag leaves the tax as it stands

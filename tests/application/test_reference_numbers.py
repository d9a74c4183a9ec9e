"""Reference numbers from the store: unique per town and year, increasing, no hot aggregate.

Each test runs on SQLite and on PostgreSQL (the ``target`` fixture).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.identities import CaseIdentities
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.reference import ReferenceCounter
from infrastructure.database import DatabaseTarget
from persistence.transcodings import PersonalDataInClear
from tests.conftest import APPLICANT
from tests.steps import submitted

SCHMITTEN_APPLICANT = Actor("portal:1", "Max Mustermann", Role.APPLICANT, "schmitten")


def numbers(references: list[str]) -> list[int]:
    """The running numbers of ``USI-2026-000042``-style references."""
    return [int(r.rsplit("-", 1)[1]) for r in references]


def test_a_submission_saves_only_its_case_once_the_counter_handed_over(
    cases: CaseService, store: VorgangStore
) -> None:
    first = cases.view(submitted(cases), actor=APPLICANT)
    assert first.reference == "USI-2026-000001"
    # The year's first number: the counter of earlier releases records its handover.
    counter: ReferenceCounter = store.repository.get(ReferenceCounter.id_for("usingen", 2026))
    assert counter.handed_over
    assert counter.last_number == 0
    head = store.recorder.max_notification_id() or 0
    submitted(cases)
    topics = [n.topic for n in store.notification_log.select(start=head + 1, limit=10)]
    assert len(topics) == 1
    assert ":ReferenceCounter" not in topics[0]


def test_a_counter_that_handed_over_issues_no_more_numbers() -> None:
    """An earlier release's counter, once handed over, refuses (and its old code cannot load
    the handover at all, so such a process fails its submissions instead of issuing twice)."""
    counter = ReferenceCounter.start("usingen", 2026)
    counter.issue(uuid4())
    assert counter.hand_over() == 1
    assert counter.hand_over() == 1  # once only
    assert [type(e).__name__ for e in counter.collect_events()] == [
        "Started",
        "Issued",
        "HandedOver",
    ]
    with pytest.raises(InvalidCommand):
        counter.issue(uuid4())


def test_numbers_increase_in_the_order_they_are_taken(cases: CaseService) -> None:
    references = [cases.view(submitted(cases), actor=APPLICANT).reference for _ in range(5)]
    assert numbers(references) == [1, 2, 3, 4, 5]


def test_two_stores_on_one_database_never_issue_a_number_twice(
    target: DatabaseTarget, clock: FixedClock
) -> None:
    """Two processes (here: two stores with their own connections) submitting at once."""
    identities = CaseIdentities(b"test-secret-0123456789")
    stores = [VorgangStore(env=target.env, personal_data=PersonalDataInClear()) for _ in "ab"]
    try:
        services = [CaseService(s, clock, identities) for s in stores]

        def submit(i: int) -> str:
            service = services[i % 2]
            return service.submit(
                actor=APPLICANT,
                tenant="usingen",
                service="general",
                applicant={"name": f"Person {i}"},
                data={"subject": f"Anliegen {i}"},
            ).reference

        with ThreadPoolExecutor(max_workers=6) as pool:
            references = list(pool.map(submit, range(40)))
    finally:
        for s in stores:
            s.close()
    assert len(set(references)) == 40
    # Nothing was lost in between: the numbers are exactly 1..40 (no failed submission here).
    assert sorted(numbers(references)) == list(range(1, 41))


def test_numbering_continues_after_a_counter_of_an_earlier_release(
    cases: CaseService, store: VorgangStore
) -> None:
    counter = ReferenceCounter.start("usingen", 2026)
    for _ in range(41):
        counter.issue(uuid4())
    store.save(counter)
    case_id = submitted(cases)
    assert cases.view(case_id, actor=APPLICANT).reference == "USI-2026-000042"
    # Another town starts at one.
    other = submitted(cases, tenant="schmitten", actor=SCHMITTEN_APPLICANT)
    assert cases.get(other, actor=SCHMITTEN_APPLICANT).reference == "SMI-2026-000001"


def test_the_store_tells_which_aggregates_exist_in_one_lookup(
    cases: CaseService, store: VorgangStore
) -> None:
    stored = submitted(cases)
    absent = uuid4()
    assert store.index.stored_ids([stored, absent]) == {stored}
    assert store.index.stored_ids([]) == set()


def test_processes_taking_a_years_first_numbers_at_once_all_get_one(
    target: DatabaseTarget,
) -> None:
    """The year's sequence (or row) is created by whichever comes first; no one fails."""
    stores = [VorgangStore(env=target.env, personal_data=PersonalDataInClear()) for _ in "abcd"]
    together = threading.Barrier(len(stores))

    def first_number(store: VorgangStore) -> int:
        together.wait(timeout=30)
        return store.index.next_reference_number("usingen", 2031, seed=lambda: 0)

    try:
        with ThreadPoolExecutor(max_workers=len(stores)) as pool:
            taken = sorted(pool.map(first_number, stores))
    finally:
        for store in stores:
            store.close()
    assert taken == [1, 2, 3, 4]

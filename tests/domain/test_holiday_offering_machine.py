"""Any sequence of commands on a holiday offering keeps its places and its waiting list.

A hypothesis state machine registers families (one to three children, residents or not,
friends or not; some of them too young, some a second time), cancels some or all children of
a registration, closes the window early, draws (before and after the window closed, twice)
and moves time on, on offerings of one to six places under any allocation rules. After every
step: no more children hold a place than the offering has places; a refused command changed
nothing and left no pending event; every child is in exactly one status; the waiting list
holds exactly the waiting children; the draw replays; and the offering rebuilt from the
events it recorded equals it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.holiday.offering import (
    AllocationRules,
    ChildEntry,
    EntryStatus,
    HolidayOffering,
)
from domain.rules.holiday_draw import replay

TOWN = "usingen"
CLERK = Actor("jana.jugend", "Jana Jugendpflege", Role.CLERK, TOWN)
PARENT = Actor("eltern-1", "Eva Eltern", Role.APPLICANT, TOWN)
OPENS = datetime(2026, 5, 4, 8, tzinfo=UTC)
CLOSES = datetime(2026, 5, 31, 22, tzinfo=UTC)
SEEDS = st.text("0123456789abcdef", min_size=32, max_size=64)


def rebuilt(events: list[Any]) -> Any:
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


class HolidayOfferingMachine(RuleBasedStateMachine):
    """One offering of Usingen's programme of 2026 and any commands on it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.cases: list[UUID] = []
        self.keys: list[str] = []
        self.now = OPENS
        self.number = 0

    @initialize(
        places=st.integers(1, 6),
        rules=st.builds(
            AllocationRules,
            st.booleans(),
            st.sampled_from([None, 1, 2]),
            st.booleans(),
            st.booleans(),
        ),
        families=st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=12),
    )
    def publish(
        self, places: int, rules: AllocationRules, families: list[tuple[int, bool]]
    ) -> None:
        self.offering = HolidayOffering.publish(
            tenant=TOWN,
            year=2026,
            code="KANU-1",
            activity="Kanutour",
            description="Drei Tage auf der Usa",
            location="Bootshaus",
            starts_on=date(2026, 7, 20),
            ends_on=date(2026, 7, 24),
            min_age=8,
            max_age=12,
            places=places,
            fee=Decimal("25.00"),
            registration_opens_at=OPENS,
            registration_closes_at=CLOSES,
            rules=rules,
            staff=["jana.jugend"],
            actor=CLERK,
            at=OPENS - timedelta(days=10),
        )
        self._collect()
        for children, resident in families:
            self.register(children, resident, None, too_young=False, again=False)

    def _collect(self) -> None:
        self.events.extend(self.offering.collect_events())

    def _refused_changes_nothing(self, command: Any) -> Any:
        before = (self.offering.version, self.offering.entries(), self.offering.waiting_list)
        try:
            result = command()
        except DomainError:
            assert not self.offering.pending_events
            assert (
                self.offering.version,
                self.offering.entries(),
                self.offering.waiting_list,
            ) == before
            return None
        self._collect()
        return result

    @rule(
        children=st.integers(1, 3),
        resident=st.booleans(),
        group=st.sampled_from([None, "g1", "g2"]),
        too_young=st.booleans(),
        again=st.booleans(),
    )
    def register(
        self, children: int, resident: bool, group: str | None, too_young: bool, again: bool
    ) -> None:
        self.number += 1
        case_id = UUID(int=self.number)  # ids as a run replays them: the draw depends on them
        keys = [f"{self.number:04d}{child}" for child in range(children)]
        if again and self.keys:
            keys[0] = self.keys[0]
        born = date(2021, 1, 1) if too_young else date(2016, 1, 1)
        entries = [ChildEntry(key, born) for key in keys]
        done = self._refused_changes_nothing(
            lambda: self.offering.register(
                case_id=case_id,
                children=entries,
                resident=resident,
                friends_group=group,
                actor=PARENT,
                at=self.now,
            )
        )
        if self.offering.registered(case_id):
            assert done is None
            self.cases.append(case_id)
            self.keys.extend(keys)

    @rule(pick=st.integers(0, 50), which=st.sampled_from([None, [0], [1], [0, 1], [2]]))
    def cancel(self, pick: int, which: list[int] | None) -> None:
        if not self.cases:
            return
        case_id = self.cases[pick % len(self.cases)]
        free_before = self.offering.free_places
        moved = self._refused_changes_nothing(
            lambda: self.offering.cancel(
                case_id=case_id, children=which, actor=PARENT, at=self.now, reason="krank"
            )
        )
        for entry in moved or ():
            assert self.offering.status_of(*entry) == EntryStatus.ALLOCATED
        if moved:
            assert len(moved) <= free_before + len(which or [0, 1, 2])

    @rule(seed=SEEDS)
    def draw(self, seed: str) -> None:
        self._refused_changes_nothing(
            lambda: self.offering.draw(seed=seed, places_held={}, actor=CLERK, at=self.now)
        )

    @rule(seed=SEEDS)
    def close_and_draw(self, seed: str) -> None:
        self.close_window()
        self.draw(seed)

    @rule()
    def close_window(self) -> None:
        self._refused_changes_nothing(
            lambda: self.offering.close_window(actor=CLERK, at=self.now, reason="voll")
        )

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    # -------------------------------------------------------------- invariants

    @invariant()
    def never_over_allocated(self) -> None:
        allocated = [e for e in self.offering.entries() if e.status == EntryStatus.ALLOCATED]
        assert self.offering.allocated_count == len(allocated)
        assert self.offering.allocated_count <= self.offering.places
        assert self.offering.free_places >= 0

    @invariant()
    def the_waiting_list_holds_the_waiting_children(self) -> None:
        waiting = {
            (e.case_id, e.child) for e in self.offering.entries() if e.status == EntryStatus.WAITING
        }
        assert set(self.offering.waiting_list) == waiting
        assert len(self.offering.waiting_list) == len(waiting)
        for case_id in self.cases:
            assert self.offering.entries_of(case_id) == [
                e for e in self.offering.entries() if e.case_id == case_id
            ]
        active_keys = [e.key for e in self.offering.entries() if e.status != "cancelled"]
        assert len(active_keys) == len(set(active_keys))

    @invariant()
    def the_draw_replays(self) -> None:
        if self.offering.draw_record is not None:
            assert replay(self.offering.draw_record).verdict == "consistent"
            assert len(self.offering.draw_record["allocated"]) <= self.offering.places

    @invariant()
    def rebuilt_from_its_events_it_is_the_same(self) -> None:
        again = rebuilt(self.events)
        assert again.version == self.offering.version
        assert again.entries() == self.offering.entries()
        assert again.waiting_list == self.offering.waiting_list
        assert again.draw_record == self.offering.draw_record


HolidayOfferingMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_holiday_offering_machine = HolidayOfferingMachine.TestCase

"""Any sequence of commands keeps an office day's invariants, and its events replay to it.

A hypothesis state machine books, cancels (with the right or a wrong token), lets holds
lapse, checks in, draws walk-in tickets, calls to three counters, calls again, serves and
misses on Usingen's citizens' office, while business time moves from two days before the
day through its hours. After every step: no slot is booked twice, every booked slot names
an active booking, ticket numbers are unique and run 1, 2, 3 … per queue in the order drawn,
no ticket is served or missed twice, a refused command changed nothing, and the day rebuilt
from its events equals the day.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.actor import Actor, Role
from domain.appointments.office_day import QUEUES, OfficeDay
from domain.appointments.offices import office
from domain.errors import DomainError

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
CITIZEN = Actor("online-booking", "Online-Terminvergabe", Role.APPLICANT, "usingen")
DAY = date(2026, 3, 4)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OPENS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
USINGEN = office("usingen", "buergerbuero")
SERVICES = ("reisepass", "meldebescheinigung")
COUNTERS = USINGEN.counters

picks = st.integers(min_value=0, max_value=40)
people = st.sampled_from(["p1", "p2", "p3", "p4"])


class OfficeDayMachine(RuleBasedStateMachine):
    """One office day, any commands, business time moving on."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.day = OfficeDay.open(USINGEN, DAY)
        self.history: list[Any] = list(self.day.collect_events())
        self.holds: list[str] = []
        self.codes: list[str] = []
        self.n = 0

    def attempt(self, command: Any) -> Any:
        before = self.day.version
        try:
            return command()
        except DomainError:
            assert self.day.version == before, "a refused command changed the day"
            assert not self.day.pending_events
            return None
        finally:
            self.history.extend(self.day.collect_events())

    @staticmethod
    def pick(items: list[Any] | tuple[Any, ...], index: int) -> Any:
        return items[index % len(items)] if items else None

    def called_or_any(self, index: int) -> Any:
        """Mostly a ticket at a counter; now and then any ticket (to be refused)."""
        called = [t for t, found in self.day.tickets.items() if found.status == "called"]
        return self.pick(called if called and index % 5 else list(self.day.tickets), index)

    def booked_or_any(self, index: int) -> Any:
        """Mostly a booking still booked; now and then any code (to be refused)."""
        booked = [c for c in self.codes if self.day.bookings[c].status == "booked"]
        return self.pick(booked if booked and index % 5 else self.codes, index)

    # ------------------------------------------------------------------ time

    @rule(minutes=st.sampled_from([1, 5, 11, 20, 60, 600]))
    def later(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def the_day_begins(self) -> None:
        self.now = max(self.now, OPENS)

    # ------------------------------------------------------------------ booking

    @rule(index=picks, service=st.sampled_from(SERVICES), online=st.booleans())
    def hold(self, index: int, service: str, online: bool) -> None:
        slots = sorted(self.day.slots.values(), key=lambda s: s.starts)
        slot = self.pick([s for s in slots if s.service == service], index)
        self.n += 1
        hold = f"h{self.n}"
        if self.attempt(
            lambda: self.day.hold(
                slot=slot.id, hold=hold, online=online, actor=CITIZEN, at=self.now
            )
        ):
            self.holds.append(hold)

    @rule(index=picks, person=people)
    def confirm(self, index: int, person: str) -> None:
        hold = self.pick(self.holds, index)
        if hold is None:
            return
        self.n += 1
        code = f"C{self.n}"
        done = self.attempt(
            lambda: self.day.confirm(
                hold=hold,
                contact={"name": "N", "email": f"{person}@example.org"},
                person=person,
                code=code,
                token_digest=f"t-{code}",
                actor=CITIZEN,
                at=self.now,
            )
        )
        if done:
            self.codes.append(code)

    @rule(index=picks, right=st.booleans())
    def cancel(self, index: int, right: bool) -> None:
        code = self.booked_or_any(index)
        if code is not None:
            digest = f"t-{code}" if right else "wrong"
            self.attempt(
                lambda: self.day.cancel(code=code, token_digest=digest, actor=CITIZEN, at=self.now)
            )

    # ------------------------------------------------------------------ arrival and calls

    @rule(index=picks)
    def check_in(self, index: int) -> None:
        code = self.booked_or_any(index)
        if code is not None:
            self.attempt(lambda: self.day.check_in(code=code, actor=CITIZEN, at=self.now))

    @rule(service=st.sampled_from(SERVICES))
    def walk_in(self, service: str) -> None:
        self.attempt(lambda: self.day.draw_walk_in(service=service, actor=CLERK, at=self.now))

    @rule(counter=st.sampled_from(COUNTERS))
    def call_next(self, counter: str) -> None:
        self.attempt(lambda: self.day.call_next(counter=counter, actor=CLERK, at=self.now))

    @rule(index=picks)
    def call_again(self, index: int) -> None:
        ticket = self.called_or_any(index)
        if ticket is not None:
            self.attempt(lambda: self.day.call_again(ticket=ticket, actor=CLERK, at=self.now))

    @rule(index=picks)
    def serve(self, index: int) -> None:
        ticket = self.called_or_any(index)
        if ticket is not None:
            self.attempt(lambda: self.day.serve(ticket=ticket, actor=CLERK, at=self.now))

    @rule(index=picks)
    def miss(self, index: int) -> None:
        ticket = self.called_or_any(index)
        if ticket is not None:
            self.attempt(lambda: self.day.miss(ticket=ticket, actor=CLERK, at=self.now))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def no_slot_is_given_twice(self) -> None:
        active = [
            b.slot
            for b in self.day.bookings.values()
            if b.status in ("booked", "checked_in", "served")
        ]
        assert len(active) == len(set(active))
        for slot, code in self.day.booked.items():
            assert self.day.bookings[code].slot == slot
            assert self.day.bookings[code].active

    @invariant()
    def ticket_numbers_are_unique_and_increasing(self) -> None:
        drawn = [e for e in self.history if isinstance(e, OfficeDay.TicketDrawn)]
        assert len({e.ticket for e in drawn}) == len(drawn)
        for queue in QUEUES:
            numbers = [e.number for e in drawn if e.queue == queue]
            assert numbers == list(range(1, len(numbers) + 1))

    @invariant()
    def a_ticket_ends_at_most_once(self) -> None:
        ended = Counter(
            e.ticket
            for e in self.history
            if isinstance(e, OfficeDay.TicketServed | OfficeDay.TicketMissed)
        )
        assert all(n == 1 for n in ended.values())

    @invariant()
    def a_counter_calls_one_ticket_at_a_time(self) -> None:
        called = [t.counter for t in self.day.tickets.values() if t.status == "called"]
        assert len(called) == len(set(called))

    @invariant()
    def replay_gives_the_same_day(self) -> None:
        rebuilt = None
        for e in self.history:
            rebuilt = e.mutate(rebuilt)
        assert isinstance(rebuilt, OfficeDay)
        assert rebuilt.version == self.day.version
        assert (rebuilt.bookings, rebuilt.booked, rebuilt.tickets, rebuilt.holds) == (
            self.day.bookings,
            self.day.booked,
            self.day.tickets,
            self.day.holds,
        )


OfficeDayMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOfficeDayMachine = OfficeDayMachine.TestCase

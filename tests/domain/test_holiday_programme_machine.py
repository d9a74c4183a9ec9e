"""Any sequence of listings keeps a town's holiday programme one offering per code.

A hypothesis state machine starts the programme of a town's year and lists offerings under
codes written as staff type them (lower case, blanks around, a code taken already, a code
that is no code, an offering listed a second time under another code). After every step: each
code names one offering and each offering one code, in the order listed; a refused listing
(the code taken: ``OfferingCodeTaken``, naming ``code``) changed nothing and left no pending
event; every event names who and when; and the programme rebuilt from its events equals it.

The last test pins a defect the review found, fixed since: an offering of another town, year
or code was listed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.actor import Actor, Role
from domain.errors import DomainError, InvalidCommand
from domain.holiday.offering import offering_id
from domain.holiday.programme import HolidayProgramme, OfferingCodeTaken, programme_id

TOWN = "usingen"
JANA = Actor("jana.jugend", "Jana Jugendpflege", Role.CLERK, TOWN)
START = datetime(2026, 3, 2, 8, tzinfo=UTC)
CODES = ("KANU-1", "kanu-1", " Kanu-1 ", "ZIRKUS", "zirkus ", "WALD-2", "K", "KANU 1")


def rebuilt(events: list[Any]) -> Any:
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


def normal(code: str) -> str | None:
    """The code as the model normalises it (None: no code)."""
    text = code.strip().upper()
    ok = 2 <= len(text) <= 20 and all(c.isascii() and (c.isalnum() or c == "-") for c in text)
    return text if ok else None


class HolidayProgrammeMachine(RuleBasedStateMachine):
    """Usingen's Ferienspiele of 2026 and the offerings listed in it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.listed: list[tuple[str, UUID]] = []  # (code, offering) in order listed
        self.drawn: list[UUID] = []  # offerings whose draw was noted, in order
        self.now = START

    @initialize()
    def start(self) -> None:
        with pytest.raises(InvalidCommand) as unknown:
            HolidayProgramme.start(tenant="atlantis", year=2026, actor=JANA, at=self.now)
        assert unknown.value.field == "tenant"
        with pytest.raises(InvalidCommand) as foreign:
            HolidayProgramme.start(tenant=TOWN, year=2026, actor=JANA, at=self.now, id=uuid4())
        assert foreign.value.field == "id"
        self.programme = HolidayProgramme.start(tenant=TOWN, year=2026, actor=JANA, at=self.now)
        assert self.programme.id == programme_id(TOWN, 2026)
        self._collect()

    def _collect(self) -> None:
        for collected in self.programme.collect_events():
            recorded: Any = collected
            assert recorded.at == self.now
            assert recorded.actor_id == JANA.id
            assert recorded.actor_role == JANA.role.value
            self.events.append(recorded)

    @rule(code=st.sampled_from(CODES), again=st.booleans())
    def list_offering(self, code: str, again: bool) -> None:
        normalised = normal(code)
        if again and self.listed:
            offering = self.listed[0][1]  # listed already, now under another code
        elif normalised is not None:
            offering = offering_id(TOWN, 2026, code)
        else:
            offering = uuid4()
        taken = {listed_code for listed_code, _ in self.listed}
        expected: str | None = None
        if normalised is None or normalised in taken:
            expected = "code"
        elif offering in {listed for _, listed in self.listed}:
            expected = "offering_id"
        before = (self.programme.version, self.programme.offerings, dict(self.programme.codes))
        refused: DomainError | None = None
        try:
            self.programme.list_offering(offering_id=offering, code=code, actor=JANA, at=self.now)
        except DomainError as error:
            refused = error
        if refused is not None:
            assert isinstance(refused, InvalidCommand), refused
            assert refused.field == expected, (refused, expected)
            if normalised in taken:
                assert isinstance(refused, OfferingCodeTaken)
                assert "taken" in refused.message
            after = (self.programme.version, self.programme.offerings, self.programme.codes)
            assert after == before
            assert not self.programme.pending_events
            return
        assert expected is None, f"listed, though refused naming {expected} was expected"
        assert normalised is not None
        self.listed.append((normalised, offering))
        self._collect()

    @rule(pick=st.integers(0, 10), stranger=st.booleans())
    def note_draw(self, pick: int, stranger: bool) -> None:
        """A draw of a listed offering is noted once; an offering not listed, or one drawn
        already, is refused naming ``offering_id`` and changes nothing."""
        listed = [offering for _, offering in self.listed]
        offering = uuid4() if stranger or not listed else listed[pick % len(listed)]
        expected_refusal = offering not in listed or offering in self.drawn
        before = (self.programme.version, self.programme.drawn)
        if expected_refusal:
            with pytest.raises(InvalidCommand) as refused:
                self.programme.note_draw(offering_id=offering, actor=JANA, at=self.now)
            assert refused.value.field == "offering_id"
            assert (self.programme.version, self.programme.drawn) == before
            assert not self.programme.pending_events
            return
        self.programme.note_draw(offering_id=offering, actor=JANA, at=self.now)
        assert not expected_refusal, "a draw noted twice, or of an offering not listed"
        self.drawn.append(offering)
        self._collect()

    @rule(hours=st.integers(1, 500))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @invariant()
    def one_offering_per_code_in_the_order_listed(self) -> None:
        assert self.programme.offerings == tuple(offering for _, offering in self.listed)
        assert self.programme.codes == dict(self.listed)
        assert len(set(self.programme.offerings)) == len(self.programme.offerings)
        assert self.programme.drawn == tuple(self.drawn)

    @invariant()
    def rebuilt_from_its_events_it_is_the_same(self) -> None:
        again = rebuilt(self.events)
        assert again.version == self.programme.version
        assert (again.tenant, again.year) == (TOWN, 2026)
        assert again.offerings == self.programme.offerings
        assert again.codes == self.programme.codes
        assert again.drawn == self.programme.drawn


HolidayProgrammeMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_holiday_programme_machine = HolidayProgrammeMachine.TestCase


def test_only_the_towns_offering_of_the_year_and_code_is_listed() -> None:
    """Found by the review (fixed since): the programme listed any offering id under a code."""
    programme = HolidayProgramme.start(tenant=TOWN, year=2026, actor=JANA, at=START)
    for foreign in (
        offering_id("schmitten", 2026, "KANU-1"),
        offering_id(TOWN, 2025, "KANU-1"),
        offering_id(TOWN, 2026, "ZIRKUS"),
    ):
        with pytest.raises(InvalidCommand) as refused:
            programme.list_offering(offering_id=foreign, code="KANU-1", actor=JANA, at=START)
        assert refused.value.field == "offering_id"
    assert programme.codes == {}

"""Any sequence of commands on a water meter and its town's reading campaign keeps the rules.

A hypothesis state machine reports readings (in line, lower, rolled over, late, in the
future), estimates, corrects and removes a meter, records runs of estimates in Usingen's
campaign of 2025 and closes it, while time passes; a reading answers the campaign while it
takes readings. After every step: the history never shrank and kept what it held; every
recorded check and estimate replays exactly from its record; nothing was recorded after the
removal but corrections; a refused command changed nothing and left no pending event; the
campaign holds the runs recorded; and each aggregate rebuilt from the events it recorded
equals it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.rules.water_meters import (
    ESTIMATE_RULES_ID,
    READING_CHECK_RULES_ID,
    ReadingKind,
    check_reading,
    replay_check,
    replay_estimate,
)
from domain.water.campaign import ReadingCampaign
from domain.water.meter import MeterReading, WaterMeter

TOWN = "usingen"
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
CASES = [uuid4() for _ in range(3)]
INSTALLED_ON = date(2023, 1, 1)
FIRST_DAY = date(2025, 1, 1)  # Usingen's example rules are in force from then
CAPACITY = Decimal(10_000)  # four digits

litres = st.integers(min_value=0, max_value=400_000).map(lambda n: Decimal(n) / 1000)


def rebuilt(events: list[Any]) -> Any:
    """The aggregate the events make, from nothing."""
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


class WaterMeterMachine(RuleBasedStateMachine):
    """One meter of Usingen from 2025 and the town's campaign of 2025, any commands."""

    def __init__(self) -> None:
        super().__init__()
        self.today = FIRST_DAY
        self.meter = WaterMeter.install(
            tenant=TOWN,
            meter_number="WZ-4711",
            property_id="USI-VS-000123",
            installed_on=INSTALLED_ON,
            calibration_valid_until=date(2026, 6, 30),  # expires while the machine runs
            digits=4,
            start_value=Decimal("9000.000"),  # near the counter's end: rollovers come soon
            main_meter=None,
            actor=CLERK,
            at=self.at,
        )
        self.campaign = ReadingCampaign.open(
            tenant=TOWN,
            year=2025,
            starts_on=date(2025, 12, 1),
            deadline=date(2026, 1, 15),
            actor=CLERK,
            at=self.at,
        )
        # two years of history to compare and estimate with, read on the rules' first day
        self.meter.record_reported(
            case_id=CASES[0],
            value=Decimal("9300.000"),
            read_on=date(2024, 12, 31),
            rollover_declared=False,
            today=self.today,
            actor=CLERK,
            at=self.at,
        )
        self.history: dict[UUID, list[Any]] = {
            aggregate.id: list(aggregate.collect_events())
            for aggregate in (self.meter, self.campaign)
        }
        self.seen: tuple[MeterReading, ...] = self.meter.readings
        # the model of the campaign: the runs of estimates recorded, closed or not
        self.runs: list[tuple[datetime, int, int]] = []
        self.closed = False

    @property
    def at(self) -> datetime:
        """Business time: nine o'clock (UTC) today."""
        return datetime(self.today.year, self.today.month, self.today.day, 9, tzinfo=UTC)

    def _attempt(self, aggregate: Aggregate, state: Callable[[], object], command: Any) -> bool:
        """Run a command: an accepted one records one event, a refused one changes nothing."""
        before = (aggregate.version, state())
        try:
            command()
        except DomainError as error:
            event(f"refused: {type(aggregate).__name__} {getattr(error, 'field', '?')}")
            assert (aggregate.version, state()) == before
            assert not aggregate.pending_events
            return False
        recorded: list[Any] = list(aggregate.collect_events())
        assert len(recorded) == 1
        assert aggregate.version == before[0] + 1
        assert (recorded[0].actor_id, recorded[0].at) == (CLERK.id, self.at)
        self.history[aggregate.id].extend(recorded)
        event(f"accepted: {type(recorded[0]).__name__}")
        return True

    def _meter_state(self) -> object:
        return (self.meter.facts, self.meter.readings, self.meter.removed_on)

    def _campaign_state(self) -> object:
        c = self.campaign
        return (c.estimates, c.closed_at)

    @rule(days=st.sampled_from([0, 1, 20, 90, 200]))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)

    # ------------------------------------------------------------------ the meter

    @rule(
        used=litres,
        back=st.sampled_from([0, 0, 3, 60]),
        ahead=st.booleans(),
        lower=st.booleans(),
        rollover=st.booleans(),
        case=st.sampled_from(CASES),
    )
    def report(
        self, used: Decimal, back: int, ahead: bool, lower: bool, rollover: bool, case: UUID
    ) -> None:
        last = self.meter.last_reading
        value = (last.value - used if lower else last.value + used) % CAPACITY
        value = value + CAPACITY if value < 0 else value  # Decimal's % keeps the sign
        read_on = self.today + timedelta(days=1) if ahead else self.today - timedelta(days=back)
        history = self.meter.history()
        in_campaign = not self.closed and read_on >= self.campaign.starts_on
        assert self.campaign.takes_reading(read_on) == in_campaign
        campaign_year = self.campaign.year if in_campaign else None
        oracle = check_reading(
            TOWN, self.meter.facts, history, value, read_on, self.today, rollover
        )
        checks: list[Any] = []
        accepted = self._attempt(
            self.meter,
            self._meter_state,
            lambda: checks.append(
                self.meter.record_reported(
                    case_id=case,
                    value=value,
                    read_on=read_on,
                    rollover_declared=rollover,
                    today=self.today,
                    actor=CLERK,
                    at=self.at,
                    campaign_year=campaign_year,
                )
            ),
        )
        refused_by_model = (
            self.meter.removed_on is not None
            or ahead
            or read_on < INSTALLED_ON
            or read_on < last.read_on
            or (value < last.value) != rollover
        )
        assert accepted == (not refused_by_model)
        assert accepted == (not oracle.rejected and self.meter.removed_on is None)
        if accepted:
            (check,) = checks
            assert check == oracle
            recorded = self.meter.readings[-1]
            assert (recorded.kind, recorded.value, recorded.case_id, recorded.campaign_year) == (
                ReadingKind.REPORTED,
                value,
                case,
                campaign_year,
            )
            assert (recorded.flags, recorded.consumption) == (check.flags, check.consumption)

    @rule(back=st.sampled_from([0, 10, 100]), earlier=st.sampled_from([0, 1]))
    def estimate(self, back: int, earlier: int) -> None:
        on = self.today - timedelta(days=back)
        year = on.year - earlier  # a campaign's deadline may lie in the next year
        before = self.meter.readings
        estimates: list[Any] = []
        accepted = self._attempt(
            self.meter,
            self._meter_state,
            lambda: estimates.append(
                self.meter.record_estimate(on=on, campaign_year=year, actor=CLERK, at=self.at)
            ),
        )
        read_for_year = any(
            r.kind == ReadingKind.REPORTED and year in (r.read_on.year, r.campaign_year)
            for r in before
        )
        estimated_for_year = any(
            r.kind == ReadingKind.ESTIMATED and r.campaign_year == year for r in before
        )
        if self.meter.removed_on is not None or read_for_year or estimated_for_year:
            assert not accepted
        if self.meter.removed_on is None and on <= max(r.read_on for r in before):
            assert not accepted
        if accepted:
            (estimate,) = estimates
            recorded = self.meter.readings[-1]
            assert (recorded.kind, recorded.read_on, recorded.value, recorded.campaign_year) == (
                ReadingKind.ESTIMATED,
                on,
                estimate.value,
                year,
            )

    @rule(
        pick=st.one_of(st.just(-1), st.integers(min_value=0, max_value=20)),
        shift=st.integers(-2000, 2000),
    )
    def correct(self, pick: int, shift: int) -> None:
        """Correct the latest day (-1), an earlier one, or now and then a day not read."""
        days = sorted({r.read_on for r in self.meter.readings})
        read_on = days[pick] if pick < len(days) else self.today + timedelta(days=pick)
        standing = self.meter.standing_on(read_on)
        base = standing.value if standing is not None else Decimal(0)
        value = min(max(base + Decimal(shift) / 10, Decimal(0)), CAPACITY - 1)
        accepted = self._attempt(
            self.meter,
            self._meter_state,
            lambda: self.meter.correct(
                read_on=read_on, value=value, reason="Foto der Ablesung", actor=CLERK, at=self.at
            ),
        )
        if standing is None:
            assert not accepted
        if accepted:
            assert standing is not None
            correction = self.meter.readings[-1]
            assert (correction.kind, correction.corrects) == (
                ReadingKind.CORRECTED,
                standing.number,
            )
            assert self.meter.readings[standing.number - 1] == standing  # the original stays

    @precondition(lambda self: self.today >= date(2026, 3, 1))  # now and then, later on
    @rule(used=litres, back=st.sampled_from([0, 5]))
    def remove(self, used: Decimal, back: int) -> None:
        was_removed = self.meter.removed_on is not None
        removed_on = self.today - timedelta(days=back)
        value = (self.meter.last_reading.value + used) % CAPACITY
        rollover = value < self.meter.last_reading.value
        accepted = self._attempt(
            self.meter,
            self._meter_state,
            lambda: self.meter.remove(
                removed_on=removed_on,
                final_value=value,
                rollover_declared=rollover,
                actor=CLERK,
                at=self.at,
            ),
        )
        if was_removed or removed_on < self.meter.last_reading.read_on:
            assert not accepted
        if accepted:
            assert self.meter.removed_on == removed_on

    # ------------------------------------------------------------------ the campaign

    @rule(estimated=st.integers(-1, 3), not_estimable=st.integers(0, 2))
    def record_estimates(self, estimated: int, not_estimable: int) -> None:
        accepted = self._attempt(
            self.campaign,
            self._campaign_state,
            lambda: self.campaign.record_estimates(
                estimated=estimated, not_estimable=not_estimable, actor=CLERK, at=self.at
            ),
        )
        assert accepted == (
            not self.closed and self.today > self.campaign.deadline and estimated >= 0
        )
        if accepted:
            self.runs.append((self.at, estimated, not_estimable))

    @rule()
    def close(self) -> None:
        accepted = self._attempt(
            self.campaign,
            self._campaign_state,
            lambda: self.campaign.close(actor=CLERK, at=self.at),
        )
        assert accepted == (not self.closed and self.today > self.campaign.deadline)
        self.closed = self.closed or accepted

    # ------------------------------------------------------------------ invariants

    @invariant()
    def the_history_never_shrinks(self) -> None:
        readings = self.meter.readings
        assert readings[: len(self.seen)] == self.seen
        assert [r.number for r in readings] == list(range(1, len(readings) + 1))
        self.seen = readings

    @invariant()
    def every_check_and_estimate_replays_from_its_record(self) -> None:
        for reading in self.meter.readings:
            if reading.rules is None:
                assert reading.kind in (ReadingKind.INSTALLED, ReadingKind.CORRECTED)
            elif reading.rules.rules_id == READING_CHECK_RULES_ID:
                assert reading.kind in (ReadingKind.REPORTED, ReadingKind.REMOVED)
                check = replay_check(reading.rules)
                assert not check.rejected
                assert (check.consumption, check.flags) == (reading.consumption, reading.flags)
            else:
                assert reading.rules.rules_id == ESTIMATE_RULES_ID
                assert reading.kind == ReadingKind.ESTIMATED
                estimate = replay_estimate(reading.rules)
                assert (estimate.value, estimate.consumption) == (
                    reading.value,
                    reading.consumption,
                )

    @invariant()
    def nothing_is_recorded_after_the_removal_but_corrections(self) -> None:
        removals = [r for r in self.meter.readings if r.kind == ReadingKind.REMOVED]
        assert len(removals) == (0 if self.meter.removed_on is None else 1)
        if removals:
            (removal,) = removals
            assert removal.read_on == self.meter.removed_on
            after = self.meter.readings[removal.number :]
            assert all(r.kind == ReadingKind.CORRECTED for r in after)
            assert all(r.read_on <= removal.read_on for r in self.meter.readings)

    @invariant()
    def the_campaign_holds_the_runs_recorded(self) -> None:
        runs = [(r.at, r.estimated, r.not_estimable) for r in self.campaign.estimates]
        assert runs == self.runs
        assert self.campaign.estimates_made_at == (self.runs[-1][0] if self.runs else None)
        assert self.campaign.closed == self.closed

    @invariant()
    def every_state_rebuilds_from_the_recorded_events(self) -> None:
        meter = rebuilt(self.history[self.meter.id])
        assert isinstance(meter, WaterMeter)
        assert meter.version == self.meter.version
        assert (meter.facts, meter.readings, meter.removed_on) == self._meter_state()
        campaign = rebuilt(self.history[self.campaign.id])
        assert isinstance(campaign, ReadingCampaign)
        assert campaign.version == self.campaign.version
        assert (campaign.estimates, campaign.closed_at) == (
            self.campaign.estimates,
            self.campaign.closed_at,
        )


WaterMeterMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWaterMeterMachine = WaterMeterMachine.TestCase

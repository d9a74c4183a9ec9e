"""Any sequence of readings and clerks' steps keeps a water meter reading case's rules.

A hypothesis state machine holds one meter of Usingen with history (a second, new one and
a meter of Schmitten beside it, and Usingen's campaign of 2026) in a small in-memory store of
shared aggregates, and submits readings at random: in line, far above, lower with or without
a rollover declared, on other days, of a number Usingen does not have, of Schmitten's
number. Each is checked at submission as the pipeline does (``check_at_submission``). Then
clerks, a supervisor, the applicant and a clerk of Schmitten confirm, correct (sometimes on
the wrong meter), assign a meter (known, unknown, another town's) and reject, while time
passes. After every step: a refused command changed neither the case nor any meter and left
no pending event; an accepted one recorded exactly one case event (assigning a meter two:
``MeterAssigned`` then ``ReadingChecked``) naming who and when; a case is closed exactly when
accepted at its check or confirmed, corrected or rejected; its reading is in the meter's
history exactly when its outcome is accepted or flagged; a correction names a reading of the
day and the original stays; a reading rejected at its check left nothing; only Usingen's staff
act; and every case and meter rebuilt from its recorded events equals it.

The last tests pin three defects this machine found, fixed since: a clerk's correction
corrects the case's own reading even when its day has a later one; a meter assignment the
rules reject leaves the case as it was; the correction step on a reading of an unknown meter
is refused as a step its status does not allow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.actor import Actor
from domain.commands import Acting
from domain.errors import DomainError, InvalidCommand, InvalidTransition, WrongTenant
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.water_meters import ReadingKind, check_reading
from domain.services.water_reading import (
    SERVICE_ID,
    STEPS,
    MeterAssignment,
    MeterReadingApplication,
    Outcome,
    ReadingCorrection,
    ReadingStatus,
    WaterMeterReading,
    check_at_submission,
)
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter
from tests.domain.case_fixtures import APPLICANT, CLERK, FOREIGN_CLERK, SUPERVISOR

TOWN = "usingen"
MAIN = "WZ-USI-000123"  # read for years: the readings are checked against its history
SECOND = "WZ-USI-000200"  # installed in 2026: the wrong meter for the main one's readings
UNKNOWN = "WZ-USI-999999"  # no meter of Usingen
FOREIGN = "WZ-SCH-000001"  # Schmitten's meter: unknown in Usingen
CAPACITY = Decimal(100_000)  # five digits
FIRST_DAY = date(2026, 3, 2)
STAFF = (CLERK, SUPERVISOR)
ACTORS = (CLERK, CLERK, SUPERVISOR, APPLICANT, FOREIGN_CLERK)
CLOSING = {"ReadingConfirmed", "ReadingCorrectedByClerk", "ReadingRejected"}

A = TypeVar("A", bound=Aggregate)
litres = st.integers(min_value=0, max_value=300_000).map(lambda n: Decimal(n) / 1000)


def rebuilt(events: list[Any]) -> Any:
    """The aggregate the events make, from nothing."""
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """What an aggregate holds, copied (its pending events left out)."""
    return {
        k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
        for k, v in vars(aggregate).items()
        if k != "_pending_events"
    }


def refused_naming(refused: DomainError | None, field: str) -> None:
    """The command was refused as invalid, naming the field."""
    assert isinstance(refused, InvalidCommand), refused
    assert refused.field == field, refused


def at_nine(day: date) -> datetime:
    """Business time: nine o'clock (UTC) on the day."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


class Shared:
    """The shared aggregates the application would load: an in-memory store by id."""

    def __init__(self, *aggregates: Aggregate) -> None:
        self.stored: dict[UUID, Aggregate] = {a.id: a for a in aggregates}

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        raise NotImplementedError  # the reading case finds its meter by id

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        found = self.stored.get(aggregate_id)
        if found is None:
            return start(aggregate_id)
        assert isinstance(found, aggregate_type)
        return found

    def referenced(self, aggregate_type: type[A], reference: str) -> A:
        raise NotImplementedError


def install(tenant: str, number: str, installed_on: date, start: str, valid_until: date) -> Any:
    return WaterMeter.install(
        tenant=tenant,
        meter_number=number,
        property_id="VS-000123",
        installed_on=installed_on,
        calibration_valid_until=valid_until,
        digits=5,
        start_value=Decimal(start),
        main_meter=None,
        actor=CLERK if tenant == TOWN else FOREIGN_CLERK,
        at=at_nine(FIRST_DAY),
    )


def reading_case(number: str, value: Decimal, read_on: date, at: datetime, **more: Any) -> Any:
    """A reading submitted as the application does: its personal data marked."""
    form = MeterReadingApplication.model_validate(
        {"meter_number": number, "reading": str(value), "read_on": read_on.isoformat(), **more}
    )
    form.check(at.date())
    case_id = uuid4()
    case = WaterMeterReading.submit(
        case_id=case_id,
        actor=APPLICANT,
        at=at,
        tenant=TOWN,
        service=SERVICE_ID,
        reference="USI-2026-000042",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
        data=personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(case, WaterMeterReading)
    return case


class WaterReadingMachine(RuleBasedStateMachine):
    """Usingen's meter with history, readings of it and of others, any clerk's steps."""

    def __init__(self) -> None:
        super().__init__()
        self.today = FIRST_DAY
        self.main = install(TOWN, MAIN, date(2023, 1, 1), "1000.000", date(2026, 12, 31))
        # three years of history to compare with: about 0.365 m³ a day
        self.main.record_reported(
            case_id=uuid4(),
            value=Decimal("1400.000"),
            read_on=date(2025, 12, 31),
            rollover_declared=False,
            today=FIRST_DAY,
            actor=CLERK,
            at=self.at,
        )
        self.second = install(TOWN, SECOND, date(2026, 1, 15), "5.000", date(2031, 12, 31))
        self.foreign = install("schmitten", FOREIGN, date(2024, 1, 1), "300.000", date(2029, 1, 1))
        self.meters: tuple[WaterMeter, ...] = (self.main, self.second, self.foreign)
        campaign = ReadingCampaign.open(
            tenant=TOWN,
            year=2026,
            starts_on=date(2026, 11, 15),
            deadline=date(2027, 1, 15),
            actor=CLERK,
            at=self.at,
        )
        self.shared = Shared(*self.meters, campaign)
        self.history: dict[UUID, list[Any]] = {
            a.id: list(a.collect_events()) for a in (*self.meters, campaign)
        }
        self.seen = {meter.id: meter.readings for meter in self.meters}
        self.cases: list[WaterMeterReading] = []

    @property
    def at(self) -> datetime:
        return at_nine(self.today)

    @property
    def campaign_year(self) -> Callable[[date], int | None]:
        # a reading answers a campaign of its year or the year before, open from its start
        return lambda read_on: (
            2026 if read_on >= date(2026, 11, 15) and read_on.year in (2026, 2027) else None
        )

    def _acting(self, actor: Actor) -> Acting:
        return Acting(actor=actor, at=self.at, context=self.shared)

    def _meter(self, meter_id: UUID | None) -> WaterMeter | None:
        return next((m for m in self.meters if m.id == meter_id), None)

    def _meters_state(self) -> list[tuple[int, dict[str, Any]]]:
        return [(meter.version, state_of(meter)) for meter in self.meters]

    def _case(self, pick: int, command: str) -> WaterMeterReading | None:
        """A case: on an odd pick any, on an even one one that allows the command (if any)."""
        waiting = [c for c in self.cases if command in c.allowed_commands()]
        among = waiting if waiting and pick % 2 == 0 else self.cases
        return among[pick // 2 % len(among)] if among else None

    def _attempt(
        self, case: WaterMeterReading, actor: Actor, act: Callable[[], object]
    ) -> tuple[DomainError | None, list[str], dict[UUID, list[Any]]]:
        """Run a command: refused, it changed nothing; accepted, its events name who and when.

        Returns the refusal, the names of the case's new events and each meter's new events.
        """
        before = (case.version, state_of(case), self._meters_state())
        try:
            act()
        except DomainError as refused:
            event(f"refused: {type(refused).__name__} {getattr(refused, 'field', '')}")
            assert (case.version, state_of(case), self._meters_state()) == before
            assert not case.pending_events
            assert not any(meter.pending_events for meter in self.meters)
            return refused, [], {}
        recorded: list[Any] = list(case.collect_events())
        assert recorded
        for new in recorded:
            assert (new.actor.id, new.at) == (actor.id, self.at)
        assert case.last_activity_at == self.at
        self.history[case.id].extend(recorded)
        changed: dict[UUID, list[Any]] = {}
        for meter in self.meters:
            if meter.pending_events:
                changed[meter.id] = list(meter.collect_events())
                self.history[meter.id].extend(changed[meter.id])
        names = [type(new).__name__ for new in recorded]
        event(f"accepted: {' '.join(names)}")
        return None, names, changed

    @staticmethod
    def _gate(case: WaterMeterReading, command: str, actor: Actor) -> type[DomainError] | None:
        """What refuses the command before it looks at its arguments: the lifecycle, then
        the actor (staff of Usingen only)."""
        if command not in case.allowed_commands():
            return InvalidTransition
        if actor is FOREIGN_CLERK:
            return WrongTenant
        if actor is APPLICANT:
            return InvalidCommand
        assert actor in STAFF
        return None

    def _expect_checked(
        self, case: WaterMeterReading, meter: WaterMeter, check: Any, new_events: list[Any]
    ) -> None:
        """The case holds what the check found; the meter recorded the reading, once."""
        (recorded,) = new_events
        assert isinstance(recorded, WaterMeter.ReadingRecorded)
        year = self.campaign_year(case.read_on)
        reading = meter.readings[-1]
        assert (reading.kind, reading.case_id, reading.value, reading.read_on) == (
            ReadingKind.REPORTED,
            case.id,
            case.value,
            case.read_on,
        )
        assert (reading.campaign_year, reading.flags) == (year, check.flags)
        flags = tuple(flag.value for flag in check.flags)
        assert (case.meter_id, case.meter_number, case.flags) == (
            meter.id,
            meter.meter_number,
            flags,
        )
        assert (case.consumption, case.campaign_year) == (check.consumption, year)
        if flags:
            assert (case.outcome, case.status) == (Outcome.FLAGGED, ReadingStatus.FLAGGED)
        else:
            assert (case.outcome, case.status) == (Outcome.ACCEPTED, CaseStatus.CLOSED)

    # ------------------------------------------------------------------ time

    @rule(days=st.sampled_from([0, 1, 3, 30, 120]))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)

    # ------------------------------------------------------------------ submission

    @rule(
        number=st.sampled_from([MAIN, MAIN, MAIN, MAIN.lower(), UNKNOWN, FOREIGN]),
        size=st.sampled_from(["in line", "in line", "far above", "lower"]),
        used=litres,
        rollover=st.booleans(),
        back=st.sampled_from([0, 0, 1, 40, 1200]),
        reader=st.booleans(),
    )
    def submit(
        self, number: str, size: str, used: Decimal, rollover: bool, back: int, reader: bool
    ) -> None:
        read_on = self.today - timedelta(days=back)
        last = self.main.last_reading
        days = max((read_on - last.read_on).days, 0)
        if size == "in line":
            value = last.value + Decimal("0.350") * days
        elif size == "far above":
            value = last.value + 3 * days + used + 10
        else:
            value = last.value - used - Decimal("0.001")
        value = value % CAPACITY
        value = value + CAPACITY if value < 0 else value  # Decimal's % keeps the sign
        more = {"read_by": "meter_reader", "reader_name": "Paul Ableser"} if reader else {}
        case = reading_case(number, value, read_on, self.at, rollover_declared=rollover, **more)
        (submitted,) = case.collect_events()
        meter = self.main if number.upper() == MAIN else None
        check = (
            None
            if meter is None
            else check_reading(
                TOWN, meter.facts, meter.history(), value, read_on, self.today, rollover
            )
        )
        before = self._meters_state()
        refused: DomainError | None = None
        try:
            changed = check_at_submission(case, self._acting(APPLICANT))
        except DomainError as error:
            refused = error
        if refused is not None:
            event("submission refused")
            assert check is not None
            assert check.rejected
            assert isinstance(refused, InvalidCommand)
            assert refused.field == "data.reading"
            # nothing stored: no meter changed, the case has nothing to save but its submission
            assert self._meters_state() == before
            assert not any(m.pending_events for m in self.meters)
            assert not case.pending_events
            assert case.status == CaseStatus.SUBMITTED
            return
        (checked,) = case.collect_events()
        assert isinstance(checked, WaterMeterReading.ReadingChecked)
        assert (checked.actor.id, checked.at) == (APPLICANT.id, self.at)
        self.history[case.id] = [submitted, checked]
        self.cases.append(case)
        if meter is None:
            event("submitted: meter unknown")
            assert list(changed) == []
            assert self._meters_state() == before
            assert (case.outcome, case.status) == (
                Outcome.METER_UNKNOWN,
                ReadingStatus.METER_UNKNOWN,
            )
            assert (case.meter_id, case.meter_number) == (None, number.upper())
            return
        assert check is not None
        assert not check.rejected
        assert list(changed) == [meter]
        new_events = list(meter.collect_events())
        self.history[meter.id].extend(new_events)
        self._expect_checked(case, meter, check, new_events)
        event(f"submitted: {case.outcome}")

    # ------------------------------------------------------------------ a clerk's steps

    @rule(
        actor=st.sampled_from(ACTORS), pick=st.integers(0, 20), reason=st.sampled_from([None, "ok"])
    )
    def confirm_reading(self, actor: Actor, pick: int, reason: str | None) -> None:
        case = self._case(pick, "confirm_reading")
        if case is None:
            return
        gate = self._gate(case, "confirm_reading", actor)
        refused, names, changed = self._attempt(
            case, actor, lambda: case.confirm_reading(actor=actor, at=self.at, reason=reason)
        )
        if gate is not None:
            assert isinstance(refused, gate), refused
            return
        assert refused is None, refused
        assert (names, changed) == (["ReadingConfirmed"], {})
        assert case.status == CaseStatus.CLOSED

    @rule(
        actor=st.sampled_from(ACTORS),
        pick=st.integers(0, 20),
        wrong=st.sampled_from([None, None, None, "second", "foreign"]),
        via_step=st.booleans(),
        shift=st.integers(-3000, 3000),
    )
    def correct_reading(
        self, actor: Actor, pick: int, wrong: str | None, via_step: bool, shift: int
    ) -> None:
        case = self._case(pick, "correct_reading")
        if case is None:
            return
        recorded_on = self._meter(case.meter_id)
        if wrong is None:
            meter = recorded_on or self.main
        else:
            others = [m for m in (self.main, self.second) if m is not recorded_on]
            meter = self.foreign if wrong == "foreign" else others[0]
        value = max(case.value + Decimal(shift) / 1000, Decimal(0))
        reason = "Ziffer auf dem Foto verlesen"

        def act() -> object:
            if via_step and wrong is None:
                body = ReadingCorrection(value=value, reason=reason)
                return STEPS.named("correct_reading").run(case, body, self._acting(actor))  # type: ignore[misc]
            case.correct_reading(actor=actor, at=self.at, meter=meter, value=value, reason=reason)
            return None

        gate = self._gate(case, "correct_reading", actor)
        refused, names, changed = self._attempt(case, actor, act)
        if gate is not None:
            assert isinstance(refused, gate), refused
            return
        if wrong is not None:
            refused_naming(refused, "meter")
            return
        if refused is not None:  # the meter refused the value (backwards against a neighbour)
            refused_naming(refused, "value")
            return
        assert recorded_on is not None
        assert recorded_on is meter
        assert names == ["ReadingCorrectedByClerk"]
        ((changed_id, (corrected,)),) = changed.items()
        assert changed_id == meter.id
        assert isinstance(corrected, WaterMeter.ReadingCorrected)
        correction = meter.readings[-1]
        assert (correction.kind, correction.read_on, correction.value) == (
            ReadingKind.CORRECTED,
            case.read_on,
            value,
        )
        (own,) = [
            r for r in meter.readings if r.case_id == case.id and r.kind == ReadingKind.REPORTED
        ]
        assert (correction.corrects, correction.case_id) == (own.number, case.id)
        assert meter.readings[own.number - 1] == own  # the original stays
        assert (case.status, case.corrected_value) == (CaseStatus.CLOSED, value)

    @rule(
        actor=st.sampled_from(ACTORS),
        pick=st.integers(0, 20),
        named=st.sampled_from([MAIN, MAIN, SECOND, SECOND, UNKNOWN, FOREIGN, "Schmitten's meter"]),
    )
    def assign_meter(self, actor: Actor, pick: int, named: str) -> None:
        case = self._case(pick, "assign_meter")
        if case is None:
            return
        reason = "Zahlendreher; Zähler laut Foto"
        gate = self._gate(case, "assign_meter", actor)
        meter = {MAIN: self.main, SECOND: self.second}.get(named)
        check = None
        if meter is not None:
            rollover = bool(case.application.rollover_declared)
            history = meter.history()
            check = check_reading(
                TOWN, meter.facts, history, case.value, case.read_on, self.today, rollover
            )

        def act() -> object:
            if named == "Schmitten's meter":
                case.assign_meter(
                    actor=actor, at=self.at, meter=self.foreign, campaign_year=None, reason=reason
                )
                return None
            body = MeterAssignment(meter_number=named, reason=reason)
            return STEPS.named("assign_meter").run(case, body, self._acting(actor))  # type: ignore[misc]

        refused, names, changed = self._attempt(case, actor, act)
        if gate is InvalidTransition:
            assert isinstance(refused, InvalidTransition), refused
            return
        if meter is None and named != "Schmitten's meter":
            # the step looks the number up in the case's town before anything else
            assert isinstance(refused, InvalidCommand)
            assert refused.field == "meter_number"
            return
        if gate is not None:
            assert isinstance(refused, gate), refused
            return
        if meter is None:
            refused_naming(refused, "meter_number")
            return
        assert check is not None
        if check.rejected:  # refused naming the number assigned; nothing changed (_attempt)
            refused_naming(refused, "meter_number")
            return
        assert refused is None, refused
        assert names == ["MeterAssigned", "ReadingChecked"]
        assert list(changed) == [meter.id]
        self._expect_checked(case, meter, check, changed[meter.id])

    @rule(actor=st.sampled_from(ACTORS), pick=st.integers(0, 20))
    def reject_reading(self, actor: Actor, pick: int) -> None:
        case = self._case(pick, "reject_reading")
        if case is None:
            return
        gate = self._gate(case, "reject_reading", actor)
        refused, names, changed = self._attempt(
            case,
            actor,
            lambda: case.reject_reading(actor=actor, at=self.at, reason="Zähler nicht auffindbar"),
        )
        if gate is not None:
            assert isinstance(refused, gate), refused
            return
        assert refused is None, refused
        assert (names, changed) == (["ReadingRejected"], {})
        assert case.status == CaseStatus.CLOSED

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_is_left_pending(self) -> None:
        assert not any(a.pending_events for a in (*self.meters, *self.cases))

    @invariant()
    def a_case_is_closed_when_accepted_or_a_clerk_closed_it(self) -> None:
        for case in self.cases:
            recorded = {type(e).__name__ for e in self.history[case.id]}
            closed = case.outcome == Outcome.ACCEPTED or bool(recorded & CLOSING)
            assert (case.status == CaseStatus.CLOSED) == closed
            assert case.status in WaterMeterReading.LIFECYCLE
            if case.outcome == Outcome.METER_UNKNOWN:
                assert case.meter_id is None

    @invariant()
    def a_reading_is_on_its_meter_when_accepted_or_flagged(self) -> None:
        for case in self.cases:
            found = [
                (meter, reading)
                for meter in self.meters
                for reading in meter.readings
                if reading.kind == ReadingKind.REPORTED and reading.case_id == case.id
            ]
            if case.outcome in (Outcome.ACCEPTED, Outcome.FLAGGED):
                ((meter, reading),) = found
                assert meter.id == case.meter_id
                assert meter.tenant == case.tenant
                assert (reading.value, reading.read_on) == (case.value, case.read_on)
            else:
                assert found == []

    @invariant()
    def corrections_name_a_reading_of_their_day_and_the_history_only_grows(self) -> None:
        for meter in self.meters:
            readings = meter.readings
            assert readings[: len(self.seen[meter.id])] == self.seen[meter.id]
            self.seen[meter.id] = readings
            for reading in readings:
                if reading.kind == ReadingKind.CORRECTED:
                    assert reading.corrects is not None
                    assert reading.corrects < reading.number
                    assert readings[reading.corrects - 1].read_on == reading.read_on
        assert self.foreign.version == 1  # Usingen's readings never reach Schmitten's meter

    @invariant()
    def every_case_and_meter_rebuilds_from_its_recorded_events(self) -> None:
        for aggregate in (*self.meters, *self.cases):
            again = rebuilt(self.history[aggregate.id])
            assert type(again) is type(aggregate)
            assert again.version == aggregate.version
            assert state_of(again) == state_of(aggregate)


WaterReadingMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWaterReadingMachine = WaterReadingMachine.TestCase


# ------------------------------------------------------------------ defects found, fixed


def _flagged_twice_on_one_day() -> tuple[Any, Any, Any]:
    """Two flagged readings of Usingen's meter on one day: far above, then the day's second."""
    machine = WaterReadingMachine()
    meter, at, day = machine.main, machine.at, FIRST_DAY - timedelta(days=1)
    cases = []
    for value in ("1900.000", "1901.000"):
        case = reading_case(MAIN, Decimal(value), day, at)
        check_at_submission(case, machine._acting(APPLICANT))
        assert case.status == ReadingStatus.FLAGGED
        cases.append(case)
    return meter, cases[0], cases[1]


def test_a_clerks_correction_corrects_the_cases_own_reading() -> None:
    meter, first, _second = _flagged_twice_on_one_day()
    own = next(r for r in meter.readings if r.case_id == first.id)
    first.correct_reading(
        actor=CLERK, at=at_nine(FIRST_DAY), meter=meter, value=Decimal("1500.000"), reason="Foto"
    )
    correction = meter.readings[-1]
    assert (correction.corrects, correction.case_id) == (own.number, first.id)


def test_an_assignment_the_rules_reject_leaves_the_case_as_it_was() -> None:
    machine = WaterReadingMachine()
    case = reading_case(UNKNOWN, Decimal("1000.000"), FIRST_DAY, machine.at)  # below 1400
    check_at_submission(case, machine._acting(APPLICANT))
    case.collect_events()
    with pytest.raises(InvalidCommand) as refused:
        case.assign_meter(
            actor=CLERK, at=machine.at, meter=machine.main, campaign_year=None, reason="Foto"
        )
    assert refused.value.field == "meter_number"
    assert not machine.main.pending_events
    assert (case.meter_number, case.pending_events) == (UNKNOWN, [])


def test_correcting_a_reading_of_an_unknown_meter_is_a_step_the_status_does_not_allow() -> None:
    machine = WaterReadingMachine()
    case = reading_case(UNKNOWN, Decimal("1500.000"), FIRST_DAY, machine.at)
    check_at_submission(case, machine._acting(APPLICANT))
    body = ReadingCorrection(value=Decimal("1501.000"), reason="Foto")
    with pytest.raises(InvalidTransition):
        STEPS.named("correct_reading").run(case, body, machine._acting(CLERK))  # type: ignore[misc]

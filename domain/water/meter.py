"""One water meter of a town: its facts and the history of its readings.

A ``WaterMeter`` per town and meter number is shared by the reading cases of its property
(the Verbrauchsstelle) and saved in the same atomic save as the case that reads it, so of
two concurrent readings of one meter one save fails on the meter's version and its retry is
checked against the other. Its id is a UUIDv5 of the town and the normalised meter number
(``meter_id``): a meter number is not personal data, no more than the property's number.

The history keeps every reading as it was recorded, in order: the counter at installation,
reported readings with the check that accepted them (domain.rules.water_meters.check_reading),
estimates with their record (estimate_reading), a clerk's corrections (each naming the
reading it corrects, which stays in the history) and the final reading at removal. The
rules read that history as it stands (``history``), so every check and estimate replays
from its record alone. Rejected readings record nothing: the command raises the check's
reason.

Invariants, held by the commands (an ``@event`` method only assigns):

- the history never shrinks, and nothing is recorded after the meter was removed but
  corrections of the days up to its removal;
- no reading is dated before the installation or after the removal;
- an estimate is recorded only for a campaign year not estimated yet and without a reading
  reported for it (a reading of the campaign, or read in that year).

Events store plain values (dates, decimals, flag codes, the ``RulesApplied`` record); the
apply methods rebuild ``MeterFacts`` and ``MeterReading`` from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.water_meters import (
    LITRE,
    Calibration,
    Estimate,
    Flag,
    MeterFacts,
    Reading,
    ReadingCheck,
    ReadingKind,
    calibration_due,
    check_meter,
    check_reading,
    estimate_reading,
)
from domain.working_days import berlin_date

__all__ = [
    "METER_NUMBER_FIELD",
    "MeterReading",
    "WaterMeter",
    "meter_id",
    "normalised_meter_number",
]

METER_NUMBER_FIELD: Final = "meter_number"
_METER_NUMBER = re.compile(r"[A-Z0-9-]{4,20}")
_REASON_LENGTH: Final = 500


# ------------------------------------------------------------------ keys and ids


def normalised_meter_number(text: str) -> str:
    """A meter number as the town compares it: upper case, blanks removed.

    Refused unless 4 to 20 of A-Z, 0-9 and '-' remain.
    """
    number = "".join(text.split()).upper()
    if not _METER_NUMBER.fullmatch(number):
        raise InvalidCommand(METER_NUMBER_FIELD, "4 to 20 letters, digits or '-'")
    return number


def meter_id(tenant: str, meter_number: str) -> UUID:
    """The id of a town's meter of a number (public: a meter number is no personal data)."""
    normalised = normalised_meter_number(meter_number)
    return uuid5(NAMESPACE_URL, f"vorgang:water-meter:{tenant}:{normalised}")


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One reading in a meter's history, as recorded: how it came about and what it rests on."""

    number: int  # its place in the history, from 1 (the installation)
    read_on: date
    value: Decimal
    kind: ReadingKind
    case_id: UUID | None = None  # the reading case; None for installation and estimates
    flags: tuple[Flag, ...] = ()
    consumption: Decimal | None = None  # since the reading before; None: not computed
    rules: RulesApplied | None = None  # the check or estimate it replays from
    corrects: int | None = None  # a correction: the number of the reading it corrects
    reason: str | None = None  # a correction's reason (a short text, no personal data)
    campaign_year: int | None = None  # the campaign it was read or estimated for, if any

    def for_rules(self) -> Reading:
        """The reading as the rules read it."""
        return Reading(self.read_on, self.value, self.kind)


def _check_value(field: str, value: Decimal, meter: MeterFacts) -> None:
    """Refuse a counter value the meter cannot show (as the rules would)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidCommand(field, "a number of cubic metres")
    if not Decimal(0) <= value < meter.capacity:
        raise InvalidCommand(field, "a value the meter's counter can show")
    if value != value.quantize(LITRE):
        raise InvalidCommand(field, "cubic metres to the litre: at most three decimals")


def _rejected(check: ReadingCheck, field: str) -> InvalidCommand:
    return InvalidCommand(field, check.reason or "rejected")


# ------------------------------------------------------------------ the meter


class WaterMeter(Aggregate):
    """One meter of a property in a town: its facts and every reading of it."""

    @classmethod
    def install(
        cls,
        *,
        tenant: str,
        meter_number: str,
        property_id: str,
        installed_on: date,
        calibration_valid_until: date,
        digits: int,
        start_value: Decimal,
        main_meter: UUID | None,
        actor: Actor,
        at: datetime,
    ) -> WaterMeter:
        """A meter installed at a property (under a main meter, for a garden water sub-meter)."""
        number = normalised_meter_number(meter_number)
        if not property_id.strip():
            raise InvalidCommand("property_id", "names the property (Verbrauchsstelle)")
        facts = MeterFacts(number, installed_on, calibration_valid_until, digits, start_value)
        check_meter(facts)
        new_id = meter_id(tenant, number)
        if main_meter == new_id:
            raise InvalidCommand("main_meter", "a meter is not its own main meter")
        return cls(
            id=new_id,
            tenant=tenant,
            meter_number=number,
            property_id=property_id.strip(),
            installed_on=installed_on,
            calibration_valid_until=calibration_valid_until,
            digits=digits,
            start_value=start_value,
            main_meter=main_meter,
            actor_id=actor.id,
            at=at,
        )

    class Installed(Aggregate.Created):
        """A meter was installed at a property with its counter's start value."""

        tenant: str
        meter_number: str
        property_id: str
        installed_on: date
        calibration_valid_until: date
        digits: int
        start_value: Decimal
        main_meter: UUID | None
        actor_id: str
        at: datetime

    @event(Installed)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        meter_number: str,
        property_id: str,
        installed_on: date,
        calibration_valid_until: date,
        digits: int,
        start_value: Decimal,
        main_meter: UUID | None,
        actor_id: str,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.property_id = property_id
        self.main_meter = main_meter
        self.facts = MeterFacts(
            meter_number, installed_on, calibration_valid_until, digits, start_value
        )
        self.readings: tuple[MeterReading, ...] = (
            MeterReading(1, installed_on, start_value, ReadingKind.INSTALLED),
        )
        self.removed_on: date | None = None

    # -------------------------------------------------------------- queries

    @property
    def meter_number(self) -> str:
        """The meter's normalised number."""
        return self.facts.meter_number

    def history(self) -> tuple[Reading, ...]:
        """Every reading recorded, in order, as the rules read them."""
        return tuple(reading.for_rules() for reading in self.readings)

    def _by_day(self) -> list[MeterReading]:
        """One reading a day, in order of date: the last correction, else the last recorded."""
        by_day: dict[date, MeterReading] = {}
        for reading in self.readings:
            kept = by_day.get(reading.read_on)
            if (
                kept is None
                or reading.kind == ReadingKind.CORRECTED
                or kept.kind != ReadingKind.CORRECTED
            ):
                by_day[reading.read_on] = reading
        return [by_day[day] for day in sorted(by_day)]

    def standing_on(self, day: date) -> MeterReading | None:
        """The reading that stands on a day (a correction before the original), if any."""
        return next((r for r in self._by_day() if r.read_on == day), None)

    @property
    def last_reading(self) -> MeterReading:
        """The reading that stands on the latest day read (a correction before the original)."""
        return self._by_day()[-1]

    def readings_in(self, year: int) -> tuple[MeterReading, ...]:
        """Every reading recorded for a day of the year, originals and corrections alike."""
        return tuple(reading for reading in self.readings if reading.read_on.year == year)

    def calibration(self, today: date) -> Calibration:
        """When the meter's calibration runs out, and whether it has by ``today``."""
        return calibration_due(self.facts, today)

    def _rolled_over(self, day: date) -> bool:
        """Whether a reading of the day was recorded as a counter rollover."""
        return any(r.read_on == day and Flag.ROLLOVER in r.flags for r in self.readings)

    def _check_not_removed(self) -> None:
        if self.removed_on is not None:
            raise InvalidCommand("meter", f"the meter was removed on {self.removed_on}")

    # -------------------------------------------------------------- reported readings

    def record_reported(
        self,
        *,
        case_id: UUID,
        value: Decimal,
        read_on: date,
        rollover_declared: bool,
        today: date,
        actor: Actor,
        at: datetime,
        campaign_year: int | None = None,
    ) -> ReadingCheck:
        """Check a reported reading against the history and record it, with what was found.

        A rejected reading is refused (field ``reading``, the check's reason) and nothing
        is recorded; an accepted one is recorded with its flags, consumption and check, and
        the campaign it answers (if any: a reading of a year's campaign may be read early in
        the next year).
        """
        self._check_not_removed()
        check = check_reading(
            self.tenant, self.facts, self.history(), value, read_on, today, rollover_declared
        )
        if check.rejected:
            raise _rejected(check, "reading")
        self._reading_recorded(
            case_id=case_id,
            read_on=read_on,
            value=value,
            consumption=check.consumption,
            flags=tuple(flag.value for flag in check.flags),
            rules=check.rules,
            campaign_year=campaign_year,
            actor_id=actor.id,
            at=at,
        )
        return check

    class ReadingRecorded(Aggregate.Event):
        """A reported reading was accepted, with its consumption, flags and check."""

        case_id: UUID
        read_on: date
        value: Decimal
        consumption: Decimal | None
        flags: tuple[str, ...]
        rules: RulesApplied
        campaign_year: int | None
        actor_id: str
        at: datetime

    @event(ReadingRecorded)
    def _reading_recorded(
        self,
        *,
        case_id: UUID,
        read_on: date,
        value: Decimal,
        consumption: Decimal | None,
        flags: tuple[str, ...],
        rules: RulesApplied,
        campaign_year: int | None,
        actor_id: str,
        at: datetime,
    ) -> None:
        reading = MeterReading(
            number=len(self.readings) + 1,
            read_on=read_on,
            value=value,
            kind=ReadingKind.REPORTED,
            case_id=case_id,
            flags=tuple(Flag(flag) for flag in flags),
            consumption=consumption,
            rules=rules,
            campaign_year=campaign_year,
        )
        self.readings = (*self.readings, reading)

    # -------------------------------------------------------------- estimates

    def record_estimate(
        self, *, on: date, campaign_year: int, actor: Actor, at: datetime
    ) -> Estimate:
        """Estimate the reading of a day from the history (§ 20 (2) AVBWasserV) and record it.

        Refused for a removed meter, a day still to come, a campaign year estimated already
        or with a reading reported for it (for its campaign, or read in that year), and where
        the rules find nothing to estimate from.
        """
        self._check_not_removed()
        if on > berlin_date(at):
            raise InvalidCommand("on", "an estimate is for a day passed")
        for reading in self.readings:
            if reading.kind == ReadingKind.ESTIMATED and reading.campaign_year == campaign_year:
                raise InvalidCommand("campaign_year", f"the meter is estimated for {campaign_year}")
            if reading.kind == ReadingKind.REPORTED and campaign_year in (
                reading.campaign_year,
                reading.read_on.year,
            ):
                raise InvalidCommand("campaign_year", f"the meter was read for {campaign_year}")
        estimate = estimate_reading(self.tenant, self.facts, self.history(), on)
        self._reading_estimated(
            read_on=on,
            value=estimate.value,
            consumption=estimate.consumption,
            campaign_year=campaign_year,
            rules=estimate.rules,
            actor_id=actor.id,
            at=at,
        )
        return estimate

    class ReadingEstimated(Aggregate.Event):
        """A reading was estimated for a campaign, with the record it replays from."""

        read_on: date
        value: Decimal
        consumption: Decimal
        campaign_year: int
        rules: RulesApplied
        actor_id: str
        at: datetime

    @event(ReadingEstimated)
    def _reading_estimated(
        self,
        *,
        read_on: date,
        value: Decimal,
        consumption: Decimal,
        campaign_year: int,
        rules: RulesApplied,
        actor_id: str,
        at: datetime,
    ) -> None:
        reading = MeterReading(
            number=len(self.readings) + 1,
            read_on=read_on,
            value=value,
            kind=ReadingKind.ESTIMATED,
            consumption=consumption,
            rules=rules,
            campaign_year=campaign_year,
        )
        self.readings = (*self.readings, reading)

    # -------------------------------------------------------------- corrections

    def correct(
        self,
        *,
        read_on: date,
        value: Decimal,
        reason: str,
        actor: Actor,
        at: datetime,
        corrects: int | None = None,
    ) -> MeterReading:
        """A clerk's correction of the reading of a day; the original stays in the history.

        It corrects the reading that stands on the day, or the reading numbered ``corrects``
        (one recorded for that day: a reading case corrects its own, though a later reading
        of the day stands); the correction then stands for the day. Refused without a
        reason, for a day without a reading, for a number that is not a reading of the day,
        and for a value that would run the counter backwards against the readings of the
        days before and after (unless the counter rolled over between them); returns the
        reading it corrects.
        """
        if not reason.strip():
            raise InvalidCommand("reason", "a correction says why")
        if len(reason.strip()) > _REASON_LENGTH:
            raise InvalidCommand("reason", f"at most {_REASON_LENGTH} characters")
        _check_value("value", value, self.facts)
        days = self._by_day()
        index = next((i for i, r in enumerate(days) if r.read_on == read_on), None)
        if index is None:
            raise InvalidCommand("read_on", f"the meter has no reading of {read_on}")
        corrected = days[index] if corrects is None else self._of_day(corrects, read_on)
        if index > 0 and value < days[index - 1].value and not self._rolled_over(read_on):
            raise InvalidCommand("value", "lower than the reading before, without a rollover")
        after = days[index + 1] if index + 1 < len(days) else None
        if after is not None and value > after.value and not self._rolled_over(after.read_on):
            raise InvalidCommand("value", "higher than the reading after, without a rollover")
        self._reading_corrected(
            read_on=read_on,
            value=value,
            corrects=corrected.number,
            reason=reason.strip(),
            actor_id=actor.id,
            at=at,
        )
        return corrected

    def _of_day(self, number: int, read_on: date) -> MeterReading:
        """The reading of this number, recorded for the day (else refused naming it)."""
        if not 1 <= number <= len(self.readings) or self.readings[number - 1].read_on != read_on:
            raise InvalidCommand("corrects", f"no reading {number} of {read_on} in the history")
        return self.readings[number - 1]

    class ReadingCorrected(Aggregate.Event):
        """A clerk corrected the reading of a day, naming the reading corrected and why."""

        read_on: date
        value: Decimal
        corrects: int
        reason: str
        actor_id: str
        at: datetime

    @event(ReadingCorrected)
    def _reading_corrected(
        self,
        *,
        read_on: date,
        value: Decimal,
        corrects: int,
        reason: str,
        actor_id: str,
        at: datetime,
    ) -> None:
        corrected = self.readings[corrects - 1]
        reading = MeterReading(
            number=len(self.readings) + 1,
            read_on=read_on,
            value=value,
            kind=ReadingKind.CORRECTED,
            case_id=corrected.case_id,
            corrects=corrects,
            reason=reason,
            campaign_year=corrected.campaign_year,
        )
        self.readings = (*self.readings, reading)

    # -------------------------------------------------------------- removal

    def remove(
        self,
        *,
        removed_on: date,
        final_value: Decimal,
        actor: Actor,
        at: datetime,
        rollover_declared: bool = False,
    ) -> ReadingCheck:
        """Remove the meter (an exchange, or the supply ended) with its final reading.

        The final reading is checked as a reported one (field ``final_value``, dated no
        later than today); after it nothing is recorded but corrections.
        """
        self._check_not_removed()
        check = check_reading(
            self.tenant,
            self.facts,
            self.history(),
            final_value,
            removed_on,
            berlin_date(at),
            rollover_declared,
        )
        if check.rejected:
            raise _rejected(check, "final_value")
        self._removed(
            removed_on=removed_on,
            value=final_value,
            consumption=check.consumption,
            flags=tuple(flag.value for flag in check.flags),
            rules=check.rules,
            actor_id=actor.id,
            at=at,
        )
        return check

    class Removed(Aggregate.Event):
        """The meter was removed with its final reading and that reading's check."""

        removed_on: date
        value: Decimal
        consumption: Decimal | None
        flags: tuple[str, ...]
        rules: RulesApplied
        actor_id: str
        at: datetime

    @event(Removed)
    def _removed(
        self,
        *,
        removed_on: date,
        value: Decimal,
        consumption: Decimal | None,
        flags: tuple[str, ...],
        rules: RulesApplied,
        actor_id: str,
        at: datetime,
    ) -> None:
        reading = MeterReading(
            number=len(self.readings) + 1,
            read_on=removed_on,
            value=value,
            kind=ReadingKind.REMOVED,
            flags=tuple(Flag(flag) for flag in flags),
            consumption=consumption,
            rules=rules,
        )
        self.readings = (*self.readings, reading)
        self.removed_on = removed_on

    # -------------------------------------------------------------- calibration

    def recalibrate(self, *, calibration_valid_until: date, actor: Actor, at: datetime) -> None:
        """Record a new end of the calibration (an extension by sampling, a re-calibration).

        Refused for a removed meter and for a day before the installation.
        """
        self._check_not_removed()
        check_meter(replace(self.facts, calibration_valid_until=calibration_valid_until))
        self._recalibrated(
            calibration_valid_until=calibration_valid_until, actor_id=actor.id, at=at
        )

    class Recalibrated(Aggregate.Event):
        """The meter's calibration runs to a new day."""

        calibration_valid_until: date
        actor_id: str
        at: datetime

    @event(Recalibrated)
    def _recalibrated(self, *, calibration_valid_until: date, actor_id: str, at: datetime) -> None:
        self.facts = replace(self.facts, calibration_valid_until=calibration_valid_until)

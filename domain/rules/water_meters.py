"""Rules of water meter readings: each town's versioned plausibility rules and estimates.

A meter (Wasserzähler) counts cubic metres on a counter of ``digits`` whole digits; it rolls
over to zero at ``10**digits``. Cold-water meters are calibrated (geeicht) for six years to
the end of a year (§ 34 (1) MessEV with its Anlage 7) and must be exchanged before the
calibration expires: § 37 MessEG forbids using one after, so a reading from such a meter is
flagged for a clerk.

**Checking a reading** (§ 20 (1) AVBWasserV, each town's Wasserversorgungssatzung): a reading
dated before the meter's installation or in the future is rejected; so is one lower than the
previous reading, unless a counter rollover is declared (then the consumption runs to the
counter's end and on from zero), one dated before the last reading (a clerk enters it as a
correction) and one of a meter removed. Consumption far outside the meter's history is flagged for a
clerk, never rejected: above ``high_factor`` times the history's average per day, below
``low_factor`` times it, or nothing at all over a period of ``minimum_history_days`` or more.
The history's average is taken over its last ``estimation_history_years`` (estimates left
out); a history shorter than ``minimum_history_days`` gives no average to compare with.

**Estimating a reading** (§ 20 (2) AVBWasserV: on the basis of the last reading, taking the
actual circumstances into account; § 21 (1) names the previous year's consumption as a
basis). The consumption per day is taken, in this order:

1. *same period*: the consumption of the same calendar period (from the day of the last
   reading to the day estimated) in each of the previous ``estimation_history_years`` years
   that the history covers; the average of their rates per day. Seasonal use (a garden in
   summer) is what makes this the better basis where the history has it.
2. *average*: else the average per day over the last ``estimation_history_years`` of history.

The rate times the days since the last reading is the consumption, rounded to the litre
(0.001 m³, half up) once; the estimate is the last reading plus that consumption (rolling
over at the counter's end). No history at all means no estimate: a clerk estimates by hand.

The history's consumption between two days is read off the meter's counter line: its
readings in order of date (estimates left out of the basis), rollovers added back, straight
lines between readings. On one day the last recorded reading counts, a correction before any
other kind, so a corrected reading replaces the original while the original stays recorded.

The history is one meter's: after an exchange the new meter's history starts anew. A check
applies the rules in force on the day it is made, an estimate those of the day estimated.
Every check and estimate records the town, the rules' version, the meter, the whole history
and its own inputs, so ``replay_check`` and ``replay_estimate`` compute it again exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.versions import UnknownRulesVersion, by_version, in_force
from domain.working_days import add_months

__all__ = [
    "ESTIMATE_RULES_ID",
    "LITRE",
    "READING_CHECK_RULES_ID",
    "READING_RULES",
    "Calibration",
    "Estimate",
    "EstimateMethod",
    "Flag",
    "MeterFacts",
    "Reading",
    "ReadingCheck",
    "ReadingKind",
    "ReadingRules",
    "calibration_due",
    "calibration_valid_until",
    "check_meter",
    "check_reading",
    "estimate_reading",
    "meter_from_record",
    "meter_record",
    "reading_from_record",
    "reading_record",
    "replay_check",
    "replay_estimate",
    "rules_in_force",
]

READING_CHECK_RULES_ID: Final = "water-meter-reading-check"
ESTIMATE_RULES_ID: Final = "water-meter-estimate"
LITRE: Final = Decimal("0.001")  # readings and consumption are in m³ to the litre
MAX_DIGITS: Final = 12


@dataclass(frozen=True, slots=True)
class ReadingRules:
    """One version of a town's rules for meter readings: plausibility, calibration, estimates."""

    version: str
    valid_from: date
    high_factor: Decimal  # consumption per day above this times the history's average: flagged
    low_factor: Decimal  # below this times the history's average per day: flagged
    minimum_history_days: int  # less history: no comparison; nothing used this long: flagged
    calibration_years: int  # cold-water meters: six years (§ 34 MessEV with Anlage 7)
    estimation_history_years: int  # how far back an estimate looks
    legal_basis: str


def _legal_basis(town: str) -> str:
    return (
        f"Wasserversorgungssatzung {town} mit §§ 18, 20 AVBWasserV "
        "(Ablesung § 20 Abs. 1, Schätzung § 20 Abs. 2); § 37 MessEG, § 34 MessEV mit Anlage 7"
    )


# EXAMPLE CONFIGURATION, each town's to confirm: the thresholds are ones water suppliers of
# the size of these towns use; the real ones are set by each town (its Wasserversorgungs-
# satzung or the clerk's working instruction), with the day each change took effect.
READING_RULES: Final[Mapping[str, tuple[ReadingRules, ...]]] = MappingProxyType(
    {
        "usingen": (
            ReadingRules(
                version="usingen-2025-01",
                valid_from=date(2025, 1, 1),
                high_factor=Decimal("2.0"),
                low_factor=Decimal("0.25"),
                minimum_history_days=180,
                calibration_years=6,
                estimation_history_years=3,
                legal_basis=_legal_basis("der Stadt Usingen"),
            ),
        ),
        "neu-anspach": (
            ReadingRules(
                version="neu-anspach-2025-01",
                valid_from=date(2025, 1, 1),
                high_factor=Decimal("2.5"),
                low_factor=Decimal("0.25"),
                minimum_history_days=180,
                calibration_years=6,
                estimation_history_years=3,
                legal_basis=_legal_basis("der Stadt Neu-Anspach"),
            ),
        ),
        "schmitten": (
            ReadingRules(
                version="schmitten-2025-01",
                valid_from=date(2025, 1, 1),
                high_factor=Decimal("2.0"),
                low_factor=Decimal("0.3"),
                minimum_history_days=300,
                calibration_years=6,
                estimation_history_years=3,
                legal_basis=_legal_basis("der Gemeinde Schmitten"),
            ),
        ),
        "glashuetten": (
            ReadingRules(
                version="glashuetten-2025-01",
                valid_from=date(2025, 1, 1),
                high_factor=Decimal("2.0"),
                low_factor=Decimal("0.25"),
                minimum_history_days=365,
                calibration_years=6,
                estimation_history_years=2,
                legal_basis=_legal_basis("der Gemeinde Glashütten"),
            ),
        ),
    }
)


def _versions(town: str) -> tuple[ReadingRules, ...]:
    try:
        return READING_RULES[town]
    except KeyError:
        raise InvalidCommand("town", f"no meter reading rules for town {town!r}") from None


def rules_in_force(town: str, day: date, field: str = "town") -> ReadingRules:
    """The town's meter reading rules in force on a day (``field``: the day's, if refused)."""
    try:
        return in_force(_versions(town), day)
    except UnknownRulesVersion:
        raise InvalidCommand(field, f"no meter reading rules of {town} in force on {day}") from None


def _recorded_rules(town: str, version: str) -> ReadingRules:
    try:
        return by_version(_versions(town), version)
    except UnknownRulesVersion:
        raise InvalidCommand("version", f"unknown meter reading rules {version!r}") from None


# ------------------------------------------------------------------ value types


class ReadingKind(StrEnum):
    """How a reading came about."""

    REPORTED = "reported"  # read by the customer or the supplier's reader
    ESTIMATED = "estimated"  # § 20 (2) AVBWasserV
    CORRECTED = "corrected"  # a clerk's correction of the day's reading, with a reason
    INSTALLED = "installed"  # the counter when the meter was installed
    REMOVED = "removed"  # the counter when the meter was removed (exchange)


class Flag(StrEnum):
    """What a check found about a reading; lower, before installation, in the future reject it."""

    LOWER_THAN_PREVIOUS = "lower_than_previous"  # rejected unless a rollover is declared
    ROLLOVER = "rollover"  # the counter passed its end and went on from zero
    FAR_ABOVE_HISTORY = "far_above_history"
    FAR_BELOW_HISTORY = "far_below_history"
    CALIBRATION_EXPIRED = "calibration_expired"
    READ_BEFORE_INSTALLATION = "read_before_installation"  # rejected
    IN_THE_FUTURE = "in_the_future"  # rejected
    SAME_DAY_TWICE = "same_day_twice"  # the day has a reading already


class EstimateMethod(StrEnum):
    """Which basis an estimate's consumption per day was taken from (module docstring)."""

    SAME_PERIOD = "same_period"
    AVERAGE = "average"


@dataclass(frozen=True, slots=True)
class MeterFacts:
    """What the rules read of a meter: its number, installation, calibration and counter."""

    meter_number: str
    installed_on: date
    calibration_valid_until: date  # the last day its calibration (Eichung) is valid
    digits: int  # whole-number digits of the counter: it rolls over at 10**digits m³
    start_value: Decimal  # the counter when installed

    @property
    def capacity(self) -> Decimal:
        """The counter value at which it rolls over to zero."""
        return Decimal(10) ** self.digits


@dataclass(frozen=True, slots=True)
class Reading:
    """A counter value of a meter on a day, in m³ to the litre, and how it came about."""

    read_on: date
    value: Decimal
    kind: ReadingKind = ReadingKind.REPORTED


@dataclass(frozen=True, slots=True)
class ReadingCheck:
    """The check of a reading: its consumption, what was found, whether it stands, the record."""

    consumption: Decimal | None  # since the previous reading; None when rejected
    flags: tuple[Flag, ...]
    rejected: bool
    reason: str | None  # why it was rejected (no personal data)
    rules: RulesApplied


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated reading, its consumption since the last reading and what it rests on."""

    value: Decimal
    consumption: Decimal
    per_day: Decimal  # the basis's consumption per day, shown to the litre
    basis_from: date
    basis_until: date
    method: EstimateMethod
    rules: RulesApplied


@dataclass(frozen=True, slots=True)
class Calibration:
    """When a meter's calibration runs out, and whether it has on a day."""

    valid_until: date  # the meter is exchanged before the end of this day
    expired: bool
    days_left: int  # negative once expired


# ---------------------------------------------------------------- calibration


def calibration_valid_until(town: str, marked_in_year: int, on: date) -> date:
    """The end of a new meter's calibration: the end of the year ``calibration_years`` after
    the year of its calibration mark (§ 34 (1) MessEV: the period ends with a year's end)."""
    return date(marked_in_year + rules_in_force(town, on).calibration_years, 12, 31)


def calibration_due(meter: MeterFacts, today: date) -> Calibration:
    """The meter's calibration: the day it ends and whether it has expired by ``today``."""
    left = (meter.calibration_valid_until - today).days
    return Calibration(meter.calibration_valid_until, expired=left < 0, days_left=left)


# ------------------------------------------------------------------ validation


def _check_value(field: str, value: Decimal, capacity: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidCommand(field, "a number of cubic metres")
    if value < 0:
        raise InvalidCommand(field, "a counter value is not negative")
    if value >= capacity:
        raise InvalidCommand(field, "more than the meter's counter can show")
    if value != value.quantize(LITRE):
        raise InvalidCommand(field, "cubic metres to the litre: at most three decimals")


def check_meter(meter: MeterFacts) -> None:
    """Refuse meter facts no meter can have (counter size, start value, calibration dates)."""
    if not 1 <= meter.digits <= MAX_DIGITS:
        raise InvalidCommand("meter.digits", f"a counter has 1 to {MAX_DIGITS} digits")
    _check_value("meter.start_value", meter.start_value, meter.capacity)
    if meter.calibration_valid_until < meter.installed_on:
        raise InvalidCommand(
            "meter.calibration_valid_until", "a meter is installed with a valid calibration"
        )


def _check_history(meter: MeterFacts, history: Sequence[Reading]) -> None:
    for index, reading in enumerate(history):
        _check_value(f"history[{index}].value", reading.value, meter.capacity)
        if reading.read_on < meter.installed_on:
            raise InvalidCommand(f"history[{index}].read_on", "before the meter's installation")


# --------------------------------------------------------- the counter line


def _effective(meter: MeterFacts, history: Sequence[Reading]) -> list[Reading]:
    """One reading a day, in order of date: the installation first, then the history's.

    On one day the last recorded correction counts, else the last recorded reading.
    """
    by_day: dict[date, Reading] = {
        meter.installed_on: Reading(meter.installed_on, meter.start_value, ReadingKind.INSTALLED)
    }
    for reading in history:
        kept = by_day.get(reading.read_on)
        if (
            kept is None
            or reading.kind == ReadingKind.CORRECTED
            or kept.kind != ReadingKind.CORRECTED
        ):
            by_day[reading.read_on] = reading
    return [by_day[day] for day in sorted(by_day)]


@dataclass(frozen=True, slots=True)
class _Line:
    """The counter line: days and the consumption up to each (rollovers added back)."""

    days: tuple[date, ...]
    totals: tuple[Decimal, ...]

    @classmethod
    def of(cls, readings: Sequence[Reading], capacity: Decimal) -> _Line:
        totals: list[Decimal] = []
        for index, reading in enumerate(readings):
            if index == 0:
                totals.append(Decimal(0))
                continue
            totals.append(totals[-1] + _advance(readings[index - 1].value, reading.value, capacity))
        return cls(tuple(r.read_on for r in readings), tuple(totals))

    def covers(self, start: date, end: date) -> bool:
        return bool(self.days) and self.days[0] <= start < end <= self.days[-1]

    def total_on(self, day: date) -> Decimal:
        """The consumption up to a day within the line, straight between readings."""
        for index, known in enumerate(self.days):
            if known == day:
                return self.totals[index]
            if known > day:
                before, after = self.days[index - 1], known
                low, high = self.totals[index - 1], self.totals[index]
                return low + (high - low) * (day - before).days / (after - before).days
        raise ValueError(f"{day} lies outside the counter line")

    def per_day(self, start: date, end: date) -> Decimal:
        return (self.total_on(end) - self.total_on(start)) / (end - start).days


def _advance(before: Decimal, after: Decimal, capacity: Decimal) -> Decimal:
    """How far the counter ran from one value to the next; a lower value: it rolled over."""
    return after - before if after >= before else capacity - before + after


def _basis(meter: MeterFacts, readings: Sequence[Reading], until: date) -> _Line:
    """The counter line of the readings up to a day that are not estimates."""
    kept = [r for r in readings if r.kind != ReadingKind.ESTIMATED and r.read_on <= until]
    return _Line.of(kept, meter.capacity)


def _average_window(line: _Line, years: int) -> tuple[date, date] | None:
    """The last ``years`` of the line (or all of it, if shorter); None without any span."""
    if len(line.days) < 2:
        return None
    until = line.days[-1]
    start = max(line.days[0], add_months(until, -12 * years))
    return (start, until)


# ------------------------------------------------------------------- checking


def check_reading(
    town: str,
    meter: MeterFacts,
    history: Sequence[Reading],
    value: Decimal,
    read_on: date,
    today: date,
    rollover_declared: bool = False,
) -> ReadingCheck:
    """Check a reported reading against the meter, its history and the rules in force today."""
    rules = rules_in_force(town, today, field="today")
    return _check(town, rules, meter, tuple(history), value, read_on, today, rollover_declared)


def replay_check(rules: RulesApplied) -> ReadingCheck:
    """The check again, from its record alone, under the version it recorded."""
    if rules.rules_id != READING_CHECK_RULES_ID:
        raise InvalidCommand("rules_id", f"not a meter reading check: {rules.rules_id!r}")
    inputs = rules.inputs
    town = str(inputs["town"])
    return _check(
        town,
        _recorded_rules(town, rules.version),
        meter_from_record(inputs["meter"]),
        tuple(reading_from_record(record) for record in inputs["history"]),
        _decimal("value", inputs["value"]),
        date.fromisoformat(str(inputs["read_on"])),
        date.fromisoformat(str(inputs["today"])),
        bool(inputs["rollover_declared"]),
    )


def _check(
    town: str,
    rules: ReadingRules,
    meter: MeterFacts,
    history: tuple[Reading, ...],
    value: Decimal,
    read_on: date,
    today: date,
    rollover_declared: bool,
) -> ReadingCheck:
    check_meter(meter)
    _check_history(meter, history)
    _check_value("value", value, meter.capacity)
    readings = _effective(meter, history)
    last = readings[-1]
    found = _rejection(meter, readings, value, read_on, today, rollover_declared)
    consumption: Decimal | None = None
    reason: str | None = None
    flags: set[Flag] = set()
    if found is not None:
        flags, reason = found
    else:
        if value < last.value:  # declared: a rollover
            flags.add(Flag.ROLLOVER)
        consumption = _advance(last.value, value, meter.capacity).quantize(LITRE)
        if read_on == last.read_on:
            flags.add(Flag.SAME_DAY_TWICE)
        if read_on > meter.calibration_valid_until:
            flags.add(Flag.CALIBRATION_EXPIRED)
        flags |= _consumption_flags(rules, meter, readings, consumption, read_on)
    ordered = tuple(flag for flag in Flag if flag in flags)
    record = RulesApplied(
        rules_id=READING_CHECK_RULES_ID,
        version=rules.version,
        inputs={
            "town": town,
            "meter": meter_record(meter),
            "history": [reading_record(reading) for reading in history],
            "value": str(value),
            "read_on": read_on.isoformat(),
            "today": today.isoformat(),
            "rollover_declared": rollover_declared,
            "high_factor": str(rules.high_factor),
            "low_factor": str(rules.low_factor),
            "minimum_history_days": rules.minimum_history_days,
            "legal_basis": rules.legal_basis,
            "consumption": None if consumption is None else str(consumption),
            "flags": [flag.value for flag in ordered],
            "rejected": reason is not None,
            "reason": reason,
        },
    )
    return ReadingCheck(consumption, ordered, reason is not None, reason, record)


def _rejection(
    meter: MeterFacts,
    readings: Sequence[Reading],
    value: Decimal,
    read_on: date,
    today: date,
    rollover_declared: bool,
) -> tuple[set[Flag], str] | None:
    """What rejects a reading, or None: its flag (if it has one) and the reason."""
    last = readings[-1]
    if read_on < meter.installed_on:
        return {Flag.READ_BEFORE_INSTALLATION}, "read before the meter was installed"
    if read_on > today:
        return {Flag.IN_THE_FUTURE}, "a reading is not dated in the future"
    if last.kind == ReadingKind.REMOVED:
        return set(), f"the meter was removed on {last.read_on}"
    if read_on < last.read_on:
        return set(), (
            f"dated before the last reading of {last.read_on}: a clerk enters it as a correction"
        )
    if value < last.value and not rollover_declared:
        return {Flag.LOWER_THAN_PREVIOUS}, (
            "lower than the previous reading and no counter rollover declared"
        )
    if value >= last.value and rollover_declared:
        return set(), "a rollover is declared but the reading is not lower than the previous one"
    return None


def _consumption_flags(
    rules: ReadingRules,
    meter: MeterFacts,
    readings: Sequence[Reading],
    consumption: Decimal,
    read_on: date,
) -> set[Flag]:
    """Consumption far outside the history's average per day, or none over a long period."""
    last = readings[-1]
    days = (read_on - last.read_on).days
    if days <= 0:
        return set()
    flags: set[Flag] = set()
    if consumption == 0 and days >= rules.minimum_history_days:
        flags.add(Flag.FAR_BELOW_HISTORY)
    line = _basis(meter, readings, last.read_on)
    window = _average_window(line, rules.estimation_history_years)
    if window is None or (window[1] - window[0]).days < rules.minimum_history_days:
        return flags
    average = line.per_day(*window)
    per_day = consumption / days
    if per_day > rules.high_factor * average:
        flags.add(Flag.FAR_ABOVE_HISTORY)
    if per_day < rules.low_factor * average:
        flags.add(Flag.FAR_BELOW_HISTORY)
    return flags


# ----------------------------------------------------------------- estimating


def estimate_reading(
    town: str, meter: MeterFacts, history: Sequence[Reading], on: date
) -> Estimate:
    """The estimated reading of a day from the meter's history (§ 20 (2) AVBWasserV)."""
    return _estimate(town, rules_in_force(town, on, field="on"), meter, tuple(history), on)


def replay_estimate(rules: RulesApplied) -> Estimate:
    """The estimate again, from its record alone, under the version it recorded."""
    if rules.rules_id != ESTIMATE_RULES_ID:
        raise InvalidCommand("rules_id", f"not a meter reading estimate: {rules.rules_id!r}")
    inputs = rules.inputs
    town = str(inputs["town"])
    return _estimate(
        town,
        _recorded_rules(town, rules.version),
        meter_from_record(inputs["meter"]),
        tuple(reading_from_record(record) for record in inputs["history"]),
        date.fromisoformat(str(inputs["on"])),
    )


def _estimate(
    town: str, rules: ReadingRules, meter: MeterFacts, history: tuple[Reading, ...], on: date
) -> Estimate:
    check_meter(meter)
    _check_history(meter, history)
    readings = _effective(meter, history)
    last = readings[-1]
    if last.kind == ReadingKind.REMOVED:
        raise InvalidCommand("meter", f"the meter was removed on {last.read_on}")
    if on <= last.read_on:
        raise InvalidCommand(
            "on", f"an estimate is for a day after the last reading, {last.read_on}"
        )
    line = _basis(meter, readings, last.read_on)
    windows = [
        (add_months(last.read_on, -12 * years), add_months(on, -12 * years))
        for years in range(1, rules.estimation_history_years + 1)
    ]
    covered = [(start, end) for start, end in windows if line.covers(start, end)]
    if covered:
        method = EstimateMethod.SAME_PERIOD
        rate = sum((line.per_day(start, end) for start, end in covered), Decimal(0)) / len(covered)
    else:
        window = _average_window(line, rules.estimation_history_years)
        if window is None or window[0] == window[1]:
            raise InvalidCommand("history", "no consumption on record to estimate from")
        method = EstimateMethod.AVERAGE
        covered = [window]
        rate = line.per_day(*window)
    days = (on - last.read_on).days
    consumption = (rate * days).quantize(LITRE, ROUND_HALF_UP)
    value = (last.value + consumption) % meter.capacity  # it may roll over in the period
    basis_from = min(start for start, _ in covered)
    basis_until = max(end for _, end in covered)
    per_day = rate.quantize(LITRE, ROUND_HALF_UP)
    record = RulesApplied(
        rules_id=ESTIMATE_RULES_ID,
        version=rules.version,
        inputs={
            "town": town,
            "meter": meter_record(meter),
            "history": [reading_record(reading) for reading in history],
            "on": on.isoformat(),
            "estimation_history_years": rules.estimation_history_years,
            "legal_basis": rules.legal_basis,
            "method": method.value,
            "periods": [[start.isoformat(), end.isoformat()] for start, end in covered],
            "last_reading": reading_record(last),
            "days": days,
            "per_day": str(per_day),
            "consumption": str(consumption),
            "value": str(value),
        },
    )
    return Estimate(value, consumption, per_day, basis_from, basis_until, method, record)


# ------------------------------------------------------------------ the record


def _decimal(field: str, value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidCommand(field, "not a number") from None


def meter_record(meter: MeterFacts) -> dict[str, Any]:
    """A meter as a check or an estimate records it (read back by ``meter_from_record``)."""
    return {
        "meter_number": meter.meter_number,
        "installed_on": meter.installed_on.isoformat(),
        "calibration_valid_until": meter.calibration_valid_until.isoformat(),
        "digits": meter.digits,
        "start_value": str(meter.start_value),
    }


def meter_from_record(record: Mapping[str, Any]) -> MeterFacts:
    """A meter as ``meter_record`` recorded it."""
    return MeterFacts(
        meter_number=str(record["meter_number"]),
        installed_on=date.fromisoformat(str(record["installed_on"])),
        calibration_valid_until=date.fromisoformat(str(record["calibration_valid_until"])),
        digits=int(record["digits"]),
        start_value=_decimal("meter.start_value", record["start_value"]),
    )


def reading_record(reading: Reading) -> dict[str, Any]:
    """A reading as a record holds it (read back by ``reading_from_record``)."""
    return {
        "read_on": reading.read_on.isoformat(),
        "value": str(reading.value),
        "kind": reading.kind.value,
    }


def reading_from_record(record: Mapping[str, Any]) -> Reading:
    """A reading as ``reading_record`` recorded it."""
    return Reading(
        read_on=date.fromisoformat(str(record["read_on"])),
        value=_decimal("history.value", record["value"]),
        kind=ReadingKind(record["kind"]),
    )

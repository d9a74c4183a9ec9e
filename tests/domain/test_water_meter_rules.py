"""Water meter readings: plausibility checks, estimates per § 20 AVBWasserV, and their replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.versions import STATUTES
from domain.rules.water_meters import (
    ESTIMATE_RULES_ID,
    READING_CHECK_RULES_ID,
    READING_RULES,
    EstimateMethod,
    Flag,
    MeterFacts,
    Reading,
    ReadingCheck,
    ReadingKind,
    calibration_due,
    calibration_valid_until,
    check_meter,
    check_reading,
    estimate_reading,
    replay_check,
    replay_estimate,
    rules_in_force,
)

# Usingen's example rules: flagged above 2.0 and below 0.25 times the history's average per
# day, with at least 180 days of history; estimates look back three years.
TOWN = "usingen"
D = Decimal


def meter(
    installed_on: date = date(2024, 1, 1),
    start_value: str = "0",
    digits: int = 5,
    calibration_valid_until: date = date(2029, 12, 31),
) -> MeterFacts:
    return MeterFacts("WZ-4711", installed_on, calibration_valid_until, digits, D(start_value))


def reading(day: date, value: str, kind: ReadingKind = ReadingKind.REPORTED) -> Reading:
    return Reading(day, D(value), kind)


# A year of history at one cubic metre a day: 365 m³ from 1 January to 31 December 2024.
YEAR_AT_ONE_A_DAY = (reading(date(2024, 12, 31), "365"),)
TODAY = date(2025, 1, 9)


def check(
    value: str,
    read_on: date = TODAY,
    history: tuple[Reading, ...] = YEAR_AT_ONE_A_DAY,
    the_meter: MeterFacts | None = None,
    today: date = TODAY,
    rollover_declared: bool = False,
    town: str = TOWN,
) -> ReadingCheck:
    return check_reading(
        town, the_meter or meter(), history, D(value), read_on, today, rollover_declared
    )


# ------------------------------------------------------------------- the rules


def test_every_town_has_reading_rules_in_force_from_2025() -> None:
    assert set(READING_RULES) == {"usingen", "neu-anspach", "schmitten", "glashuetten"}
    for town in READING_RULES:
        rules = rules_in_force(town, date(2025, 1, 1))
        assert rules.calibration_years == 6
        assert "§ 20" in rules.legal_basis
        assert rules.low_factor < 1 < rules.high_factor


def test_an_unknown_town_and_a_day_before_any_version_are_refused() -> None:
    with pytest.raises(InvalidCommand) as unknown:
        rules_in_force("bad-homburg", date(2025, 1, 1))
    assert unknown.value.field == "town"
    with pytest.raises(InvalidCommand):
        rules_in_force(TOWN, date(2024, 12, 31))
    with pytest.raises(InvalidCommand) as too_early:
        estimate_reading(TOWN, meter(), YEAR_AT_ONE_A_DAY, date(2024, 12, 31))
    assert too_early.value.field == "on"


# ------------------------------------------------------------------ checking


def test_a_plausible_reading_has_its_consumption_and_no_flag() -> None:
    result = check("374")  # 9 days at one a day
    assert result.consumption == D("9.000")
    assert result.flags == ()
    assert not result.rejected
    assert result.reason is None
    assert result.rules.rules_id == READING_CHECK_RULES_ID
    assert result.rules.version == "usingen-2025-01"


def test_a_reading_lower_than_the_previous_is_rejected() -> None:
    result = check("364.999")
    assert result.rejected
    assert result.flags == (Flag.LOWER_THAN_PREVIOUS,)
    assert result.consumption is None
    assert result.reason is not None
    assert "rollover" in result.reason


def test_a_reading_equal_to_the_previous_is_zero_consumption_not_lower() -> None:
    result = check("365")
    assert not result.rejected
    assert result.consumption == D(0)
    assert Flag.LOWER_THAN_PREVIOUS not in result.flags


def test_a_declared_rollover_counts_to_the_counters_end_and_on_from_zero() -> None:
    small = meter(digits=3, start_value="900")
    history = (reading(date(2024, 12, 31), "990"),)
    result = check("15", history=history, the_meter=small, rollover_declared=True)
    assert not result.rejected
    assert result.consumption == D("25.000")  # 1000 - 990 + 15
    assert Flag.ROLLOVER in result.flags


def test_a_rollover_declared_for_a_reading_not_lower_is_rejected() -> None:
    result = check("370", rollover_declared=True)
    assert result.rejected
    assert result.consumption is None
    assert result.reason is not None
    assert "rollover" in result.reason


def test_a_reading_in_the_future_is_rejected() -> None:
    result = check("375", read_on=TODAY + timedelta(days=1))
    assert result.rejected
    assert result.flags == (Flag.IN_THE_FUTURE,)


def test_a_reading_before_the_installation_is_rejected() -> None:
    result = check("0", read_on=date(2023, 12, 31), history=())
    assert result.rejected
    assert result.flags == (Flag.READ_BEFORE_INSTALLATION,)


def test_a_reading_dated_before_the_last_one_is_rejected_for_a_correction() -> None:
    result = check("300", read_on=date(2024, 12, 1))
    assert result.rejected
    assert result.flags == ()
    assert result.reason is not None
    assert "correction" in result.reason


def test_a_reading_of_a_removed_meter_is_rejected() -> None:
    history = (*YEAR_AT_ONE_A_DAY, reading(date(2025, 1, 5), "370", ReadingKind.REMOVED))
    result = check("375", history=history)
    assert result.rejected
    assert result.reason is not None
    assert "removed" in result.reason


def test_a_second_reading_of_a_day_is_flagged_and_compared_with_the_first() -> None:
    result = check("365.5", read_on=date(2024, 12, 31))
    assert not result.rejected
    assert result.consumption == D("0.500")
    assert result.flags == (Flag.SAME_DAY_TWICE,)


def test_twice_the_average_per_day_is_not_flagged_and_a_litre_more_is() -> None:
    assert check("383").flags == ()  # 18 m³ in 9 days: 2.0 a day, exactly the factor
    above = check("383.001")
    assert above.flags == (Flag.FAR_ABOVE_HISTORY,)
    assert not above.rejected


def test_a_quarter_of_the_average_per_day_is_not_flagged_and_a_litre_less_is() -> None:
    assert check("367.25").flags == ()  # 2.25 m³ in 9 days: 0.25 a day
    below = check("367.249")
    assert below.flags == (Flag.FAR_BELOW_HISTORY,)
    assert not below.rejected


def test_too_little_history_gives_no_consumption_flag() -> None:
    short = meter(installed_on=date(2024, 6, 1))
    history = (reading(date(2024, 9, 1), "50"),)  # 92 days of history, fewer than 180
    assert check("5000", history=history, the_meter=short).flags == ()


def test_nothing_used_over_a_long_period_is_flagged_even_without_history() -> None:
    fresh = meter(start_value="5")
    assert check("5", history=(), the_meter=fresh).flags == (Flag.FAR_BELOW_HISTORY,)
    # 60 days without consumption is not yet long
    short = check("5", read_on=date(2024, 3, 1), history=(), the_meter=fresh)
    assert short.flags == ()


def test_the_history_average_leaves_estimates_out() -> None:
    history = (
        reading(date(2024, 12, 31), "365"),
        reading(date(2025, 1, 5), "1000", ReadingKind.ESTIMATED),  # far too high
    )
    # From the estimate: 5 m³ in 4 days; the average (of reported readings) is 1 a day.
    assert check("1005", history=history).flags == ()


def test_a_corrected_reading_replaces_the_days_original() -> None:
    history = (
        reading(date(2024, 12, 31), "365"),
        reading(date(2024, 12, 31), "360", ReadingKind.CORRECTED),
    )
    result = check("369", history=history)
    assert result.consumption == D("9.000")
    assert result.flags == ()


def test_a_correction_counts_over_a_reading_of_its_day_recorded_after_it() -> None:
    history = (
        reading(date(2024, 12, 31), "360", ReadingKind.CORRECTED),
        reading(date(2024, 12, 31), "365"),
    )
    assert check("369", history=history).consumption == D("9.000")


def test_a_reading_after_the_calibration_expired_is_flagged_not_rejected() -> None:
    expiring = meter(calibration_valid_until=date(2024, 12, 31))
    assert check("365", read_on=date(2024, 12, 31), history=(), the_meter=expiring).flags == ()
    result = check("374", the_meter=expiring)
    assert result.flags == (Flag.CALIBRATION_EXPIRED,)
    assert not result.rejected


@pytest.mark.parametrize(
    ("value", "field"),
    [("-1", "value"), ("1.0001", "value"), ("100000", "value"), ("NaN", "value")],
)
def test_values_no_counter_can_show_are_refused(value: str, field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        check(value)
    assert refused.value.field == field


def test_a_value_with_trailing_zeros_is_to_the_litre() -> None:
    assert check("374.0000").consumption == D("9.000")


def test_meter_facts_no_meter_can_have_are_refused() -> None:
    with pytest.raises(InvalidCommand) as digits:
        check_meter(meter(digits=0))
    assert digits.value.field == "meter.digits"
    with pytest.raises(InvalidCommand) as start:
        check_meter(meter(digits=3, start_value="1000"))
    assert start.value.field == "meter.start_value"
    with pytest.raises(InvalidCommand) as calibration:
        check_meter(meter(calibration_valid_until=date(2023, 12, 31)))
    assert calibration.value.field == "meter.calibration_valid_until"


def test_a_check_replays_from_its_record() -> None:
    for result in (check("374"), check("364"), check("383.001")):
        assert replay_check(result.rules) == result


def test_a_check_record_holds_every_input() -> None:
    inputs = check("374").rules.inputs
    assert inputs["town"] == TOWN
    assert inputs["value"] == "374"
    assert inputs["read_on"] == "2025-01-09"
    assert inputs["today"] == "2025-01-09"
    assert inputs["rollover_declared"] is False
    assert inputs["history"] == [{"read_on": "2024-12-31", "value": "365", "kind": "reported"}]
    assert inputs["meter"]["digits"] == 5
    assert inputs["consumption"] == "9.000"


def test_a_check_replays_under_the_version_it_recorded_not_the_one_in_force() -> None:
    first = READING_RULES[TOWN][0]
    stricter = replace(
        first, version="usingen-2025-06", valid_from=date(2025, 1, 5), high_factor=D("1.5")
    )
    original = check("380")  # 15 m³ in 9 days: 1.67 a day, below 2.0
    assert original.flags == ()
    with STATUTES.amended(READING_RULES[TOWN], (first, stricter)).applied():
        under_stricter = check("380")
        assert under_stricter.flags == (Flag.FAR_ABOVE_HISTORY,)
        assert under_stricter.rules.version == "usingen-2025-06"
        assert replay_check(original.rules) == original
    with pytest.raises(InvalidCommand) as unknown:  # outside the book the version is unknown
        replay_check(under_stricter.rules)
    assert unknown.value.field == "version"


def test_a_replay_refuses_another_rules_record_and_an_unknown_version() -> None:
    result = check("374")
    with pytest.raises(InvalidCommand):
        replay_check(RulesApplied(ESTIMATE_RULES_ID, result.rules.version, result.rules.inputs))
    with pytest.raises(InvalidCommand) as unknown:
        replay_check(replace(result.rules, version="usingen-1999-01"))
    assert unknown.value.field == "version"


# ----------------------------------------------------------------- estimating

# Two years of half-yearly readings: the first half of a year uses more than the second.
SEASONS = (
    reading(date(2022, 7, 1), "100"),
    reading(date(2023, 1, 1), "150"),  # July to January: 50 m³ in 184 days
    reading(date(2023, 7, 1), "260"),
    reading(date(2024, 1, 1), "320"),  # July to January: 60 m³ in 184 days
    reading(date(2024, 7, 1), "440"),
)


def test_an_estimate_takes_the_same_period_of_previous_years() -> None:
    seasons_meter = meter(installed_on=date(2022, 1, 1))
    estimate = estimate_reading(TOWN, seasons_meter, SEASONS, date(2025, 1, 1))
    assert estimate.method is EstimateMethod.SAME_PERIOD
    # the two second halves average (50 + 60) / 2 = 55 m³ over the same 184 days
    assert estimate.consumption == D("55.000")
    assert estimate.value == D("495.000")
    assert estimate.per_day == D("0.299")  # 55 / 184 = 0.29891
    # the third year back (July 2021 to January 2022) lies before the installation
    assert (estimate.basis_from, estimate.basis_until) == (date(2022, 7, 1), date(2024, 1, 1))
    assert estimate.rules.rules_id == ESTIMATE_RULES_ID
    assert estimate.rules.inputs["periods"] == [
        ["2023-07-01", "2024-01-01"],
        ["2022-07-01", "2023-01-01"],
    ]


def test_a_same_period_between_readings_is_read_off_the_counter_line() -> None:
    # The seasons a year later. 1 July to 1 October 2025 (92 days); a year back, 1 July to
    # 1 October 2024 lies between the readings of July 2024 and January 2025 (60 m³ in 184
    # days), two years back between the installation in July 2023 and January 2024 (50 m³).
    later = tuple(replace(r, read_on=r.read_on.replace(year=r.read_on.year + 1)) for r in SEASONS)
    seasons_meter = meter(installed_on=date(2023, 7, 1), start_value="100")
    estimate = estimate_reading(TOWN, seasons_meter, later[1:], date(2025, 10, 1))
    assert estimate.method is EstimateMethod.SAME_PERIOD
    assert (estimate.basis_from, estimate.basis_until) == (date(2023, 7, 1), date(2024, 10, 1))
    # (60 + 50) / 2 / 184 * 92 = 27.5 m³
    assert estimate.consumption == D("27.500")
    assert estimate.value == D("467.500")


def test_without_the_same_period_an_estimate_takes_the_average_per_day() -> None:
    history = (reading(date(2024, 11, 1), "100"),)  # 100 m³ in 305 days
    estimate = estimate_reading(TOWN, meter(), history, date(2025, 1, 1))
    assert estimate.method is EstimateMethod.AVERAGE
    assert estimate.consumption == D("20.000")  # 100 / 305 * 61 days
    assert estimate.value == D("120.000")
    assert estimate.per_day == D("0.328")
    assert (estimate.basis_from, estimate.basis_until) == (date(2024, 1, 1), date(2024, 11, 1))


def test_the_average_looks_back_only_the_rules_years() -> None:
    # Last read three years ago: no same period of the three years before lies in the
    # history, and the average leaves out the leaking first year.
    long_meter = meter(installed_on=date(2021, 1, 1))
    history = (
        reading(date(2022, 1, 1), "1000"),  # a leaking first year, out of the window
        reading(date(2025, 1, 1), "2096"),  # 1096 m³ in 1096 days
    )
    estimate = estimate_reading(TOWN, long_meter, history, date(2028, 1, 11))
    assert estimate.method is EstimateMethod.AVERAGE
    assert (estimate.basis_from, estimate.basis_until) == (date(2022, 1, 1), date(2025, 1, 1))
    assert estimate.consumption == D("1105.000")  # 1095 + 10 days at 1 m³
    assert estimate.value == D("3201.000")


def test_an_estimate_is_rounded_to_the_litre_once_half_up() -> None:
    history = (reading(date(2025, 3, 3), "0.667"),)  # 0.3335 m³ a day
    the_meter = meter(installed_on=date(2025, 3, 1))
    estimate = estimate_reading(TOWN, the_meter, history, date(2025, 3, 6))
    assert estimate.consumption == D("1.001")  # 1.0005, not 3 * 0.334
    assert estimate.value == D("1.668")
    history = (reading(date(2025, 3, 3), "1.001"),)  # 0.5005 a day, half up: 0.501
    estimate = estimate_reading(TOWN, the_meter, history, date(2025, 3, 4))
    assert estimate.consumption == D("0.501")
    assert estimate.per_day == D("0.501")


def test_an_estimate_leaves_earlier_estimates_out_of_its_basis() -> None:
    the_meter = meter(installed_on=date(2025, 3, 1))
    history = (
        reading(date(2025, 3, 11), "10"),  # 1 m³ a day
        reading(date(2025, 3, 21), "50", ReadingKind.ESTIMATED),
    )
    estimate = estimate_reading(TOWN, the_meter, history, date(2025, 3, 31))
    assert estimate.consumption == D("10.000")
    assert estimate.value == D("60.000")  # on from the last reading, the estimate


def test_an_estimate_rolls_over_with_the_counter() -> None:
    small = meter(installed_on=date(2025, 3, 1), digits=3, start_value="990")
    history = (reading(date(2025, 3, 11), "5"),)  # rolled over: 15 m³ in 10 days
    estimate = estimate_reading(TOWN, small, history, date(2025, 3, 21))
    assert estimate.consumption == D("15.000")
    assert estimate.value == D("20.000")
    history = (reading(date(2025, 3, 11), "995"),)  # 5 m³ in 10 days
    estimate = estimate_reading(TOWN, small, history, date(2025, 5, 10))  # 60 days
    assert estimate.consumption == D("30.000")
    assert estimate.value == D("25.000")  # 995 + 30, past the counter's end


def test_without_history_no_estimate_is_made() -> None:
    with pytest.raises(InvalidCommand) as refused:
        estimate_reading(TOWN, meter(), (), date(2025, 1, 1))
    assert refused.value.field == "history"
    only_estimates = (reading(date(2024, 6, 1), "80", ReadingKind.ESTIMATED),)
    with pytest.raises(InvalidCommand) as refused:
        estimate_reading(TOWN, meter(), only_estimates, date(2025, 1, 1))
    assert refused.value.field == "history"


def test_an_estimate_is_for_a_day_after_the_last_reading() -> None:
    history = (*YEAR_AT_ONE_A_DAY, reading(date(2025, 1, 5), "370"))
    for on in (date(2025, 1, 4), date(2025, 1, 5)):
        with pytest.raises(InvalidCommand) as refused:
            estimate_reading(TOWN, meter(), history, on)
        assert refused.value.field == "on"


def test_a_removed_meter_is_not_estimated() -> None:
    history = (*YEAR_AT_ONE_A_DAY, reading(date(2025, 1, 5), "370", ReadingKind.REMOVED))
    with pytest.raises(InvalidCommand) as refused:
        estimate_reading(TOWN, meter(), history, date(2025, 2, 1))
    assert refused.value.field == "meter"


def test_an_estimate_replays_from_its_record() -> None:
    estimate = estimate_reading(
        TOWN, meter(installed_on=date(2022, 1, 1)), SEASONS, date(2025, 1, 1)
    )
    assert replay_estimate(estimate.rules) == estimate
    with pytest.raises(InvalidCommand):
        replay_estimate(replace(estimate.rules, rules_id=READING_CHECK_RULES_ID))


# ---------------------------------------------------------------- calibration


def test_the_calibration_is_due_at_the_end_of_its_last_day() -> None:
    the_meter = meter(calibration_valid_until=date(2026, 12, 31))
    on_the_day = calibration_due(the_meter, date(2026, 12, 31))
    assert (on_the_day.valid_until, on_the_day.expired, on_the_day.days_left) == (
        date(2026, 12, 31),
        False,
        0,
    )
    after = calibration_due(the_meter, date(2027, 1, 1))
    assert after.expired
    assert after.days_left == -1


def test_a_new_meters_calibration_runs_six_years_after_its_marks_year() -> None:
    assert calibration_valid_until(TOWN, 2024, date(2025, 3, 1)) == date(2030, 12, 31)


# ------------------------------------------------------------ property tests

INSTALLED = date(2020, 1, 1)


def checked(read_on: date) -> date:
    """Checked on the day read, or on the first day the rules are in force."""
    return max(read_on, date(2025, 1, 1))


COUNTER_DIGITS = st.integers(3, 6)


def has_basis(history: tuple[Reading, ...]) -> bool:
    """A history with a reading other than an estimate: something to estimate from."""
    return any(r.kind is not ReadingKind.ESTIMATED for r in history)


@st.composite
def meters_with_history(
    draw: st.DrawFn, digits: st.SearchStrategy[int] = COUNTER_DIGITS, rolls_over: bool = True
) -> tuple[MeterFacts, tuple[Reading, ...]]:
    """A meter and its history: days in order, consumption rolling the counter over at will
    (or, with ``rolls_over`` false, so little that no estimate reaches the counter's end)."""
    size = draw(digits)
    capacity = 10**size * 1000  # in litres
    most = capacity // 4 if rolls_over else capacity // 10**5
    start = draw(st.integers(0, capacity - 1 if rolls_over else most))
    the_meter = MeterFacts(
        "WZ-1",
        INSTALLED,
        draw(st.dates(INSTALLED, date(2028, 1, 1))),
        size,
        D(start) / 1000,
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(1, 400),
                st.integers(0, most),
                st.sampled_from([ReadingKind.REPORTED, ReadingKind.ESTIMATED]),
            ),
            max_size=8,
        )
    )
    history = []
    day, litres = INSTALLED, start
    for gap, used, kind in steps:
        day, litres = day + timedelta(days=gap), (litres + used) % capacity
        history.append(Reading(day, D(litres) / 1000, kind))
    return the_meter, tuple(history)


def last_of(the_meter: MeterFacts, history: tuple[Reading, ...]) -> Reading:
    return history[-1] if history else Reading(INSTALLED, the_meter.start_value)


values = st.integers(0, 10**6 * 1000 - 1).map(lambda litres: D(litres) / 1000)


@given(
    meters_with_history(),
    values,
    st.integers(-30, 500),
    st.booleans(),
    st.dates(date(2025, 1, 1), date(2030, 12, 31)),
)
def test_a_check_replays_exactly(
    meter_and_history: tuple[MeterFacts, tuple[Reading, ...]],
    value: Decimal,
    offset: int,
    rollover: bool,
    today: date,
) -> None:
    the_meter, history = meter_and_history
    value = value % the_meter.capacity
    read_on = last_of(the_meter, history).read_on + timedelta(days=offset)
    result = check_reading(TOWN, the_meter, history, value, read_on, today, rollover)
    assert replay_check(result.rules) == result
    assert result.rejected == (result.reason is not None) == (result.consumption is None)


@given(meters_with_history(), st.integers(1, 800))
def test_an_estimate_replays_exactly_and_runs_on_from_the_last_reading(
    meter_and_history: tuple[MeterFacts, tuple[Reading, ...]], days: int
) -> None:
    the_meter, history = meter_and_history
    last = last_of(the_meter, history)
    on = max(last.read_on, date(2025, 1, 1)) + timedelta(days=days)
    if not has_basis(history):
        with pytest.raises(InvalidCommand) as refused:
            estimate_reading(TOWN, the_meter, history, on)
        assert refused.value.field == "history"
        return
    estimate = estimate_reading(TOWN, the_meter, history, on)
    assert replay_estimate(estimate.rules) == estimate
    assert estimate.consumption >= 0
    assert estimate.value == (last.value + estimate.consumption) % the_meter.capacity
    assert estimate.value == estimate.value.quantize(D("0.001"))


@given(meters_with_history(rolls_over=False), st.integers(1, 800))
def test_an_estimate_is_never_below_the_last_reading(
    meter_and_history: tuple[MeterFacts, tuple[Reading, ...]], days: int
) -> None:
    # at most 809 / 10**5 of the counter: start, 8 readings and 800 days at the highest rate
    the_meter, history = meter_and_history
    last = last_of(the_meter, history)
    on = max(last.read_on, date(2025, 1, 1)) + timedelta(days=days)
    if not has_basis(history):
        return
    estimate = estimate_reading(TOWN, the_meter, history, on)
    assert estimate.value >= last.value


@given(meters_with_history(), values, st.integers(0, 400))
def test_a_declared_rollover_consumes_less_than_a_full_turn(
    meter_and_history: tuple[MeterFacts, tuple[Reading, ...]], value: Decimal, days: int
) -> None:
    the_meter, history = meter_and_history
    value = value % the_meter.capacity
    last = last_of(the_meter, history)
    read_on = last.read_on + timedelta(days=days)
    result = check_reading(TOWN, the_meter, history, value, read_on, checked(read_on), True)
    assert result.rejected == (value >= last.value)
    if not result.rejected:
        assert result.consumption is not None
        assert 0 <= result.consumption < the_meter.capacity
        assert result.consumption == the_meter.capacity - last.value + value
        assert Flag.ROLLOVER in result.flags


@given(meters_with_history(), st.integers(0, 400))
def test_a_reading_equal_to_the_previous_is_never_flagged_lower(
    meter_and_history: tuple[MeterFacts, tuple[Reading, ...]], days: int
) -> None:
    the_meter, history = meter_and_history
    last = last_of(the_meter, history)
    read_on = last.read_on + timedelta(days=days)
    result = check_reading(TOWN, the_meter, history, last.value, read_on, checked(read_on), False)
    assert Flag.LOWER_THAN_PREVIOUS not in result.flags
    assert not result.rejected
    assert result.consumption == 0

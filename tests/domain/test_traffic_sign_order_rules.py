"""The set-up rule of a traffic sign order: three full days before the start (BVerwG 3 C 25.16).

A car parked lawfully before a temporary no-parking sign went up may be towed at its keeper's
cost only from the fourth day after the set-up; the order therefore names a set-up day that
leaves three full calendar days before the start — counted by days, never by hours, and the
same on a weekend or a holiday.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.rules.traffic_sign_order import (
    LEGACY_SIGN_SETUPS,
    SIGN_SETUPS,
    TOWING_COSTS_DAY_AFTER_SETUP,
)
from domain.rules.versions import by_version, in_force

starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 12, 31))


def full_days_between(first: date, last: date) -> list[date]:
    """The calendar days strictly between two days."""
    return [first + timedelta(days=n) for n in range(1, (last - first).days)]


@given(start=starts)
def test_the_set_up_day_leaves_exactly_three_full_days_before_the_start(start: date) -> None:
    rule = in_force(SIGN_SETUPS, start)
    set_up_by = rule.signs_up_by(start)
    assert len(full_days_between(set_up_by, start)) == 3 == rule.full_days_between
    # towing costs for cars parked before the set-up: from the fourth day after it, the start
    assert rule.towing_costs_from(set_up_by) == set_up_by + timedelta(days=4) == start


@given(start=starts, set_up_on=starts)
def test_signs_stand_in_time_exactly_when_towing_costs_run_from_the_start(
    start: date, set_up_on: date
) -> None:
    rule = in_force(SIGN_SETUPS, start)
    in_time = set_up_on <= rule.signs_up_by(start)
    assert in_time is (rule.towing_costs_from(set_up_on) <= start)
    assert in_time is (len(full_days_between(set_up_on, start)) >= 3)


@given(set_up_on=starts)
def test_the_towing_day_is_the_fourth_after_the_set_up_whatever_the_weekday(
    set_up_on: date,
) -> None:
    towing = in_force(SIGN_SETUPS, set_up_on).towing_costs_from(set_up_on)
    assert (towing - set_up_on).days == TOWING_COSTS_DAY_AFTER_SETUP == 4


def test_the_legacy_count_is_kept_only_for_replaying_orders_that_recorded_it() -> None:
    legacy = by_version(LEGACY_SIGN_SETUPS, "2025-01")
    start = date(2026, 3, 23)
    assert legacy.signs_up_by(start) == date(2026, 3, 20)  # only two full days in between
    assert legacy.full_days_between == 2
    assert all(v.version != legacy.version for v in SIGN_SETUPS)
    assert in_force(SIGN_SETUPS, date(2025, 1, 1)).signs_up_by(start) == date(2026, 3, 19)

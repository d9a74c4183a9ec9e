"""The road opening permit's versioned rules: warranty end, emergency reporting, deposit, fees."""

from __future__ import annotations

import calendar
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.rules.road_opening import LEGACY_WARRANTY, WARRANTIES, WARRANTY_RULES_ID, in_force

acceptance_days = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.sampled_from([date(2024, 2, 29), date(2028, 2, 29), date(2026, 1, 31), date(2026, 12, 31)]),
)


def same_day_five_years_later(day: date) -> date:
    """§ 188 (2) BGB: the day with the same number; (3): the month's last day if it has none."""
    year = day.year + 5
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def test_the_warranty_ends_on_the_day_with_the_same_number_five_years_on() -> None:
    rule = in_force(WARRANTIES, date(2026, 11, 4))
    assert rule.last_day(date(2026, 11, 4)) == date(2031, 11, 4)
    assert rule.last_day(date(2024, 2, 29)) == date(2029, 2, 28)  # § 188 (3) BGB


@given(accepted_on=acceptance_days)
def test_the_warranty_ends_by_sections_187_and_188_bgb(accepted_on: date) -> None:
    rule = in_force(WARRANTIES, accepted_on)
    assert rule.last_day(accepted_on) == same_day_five_years_later(accepted_on)
    recorded = rule.record(accepted_on)
    assert recorded.rules_id == WARRANTY_RULES_ID
    assert recorded.inputs["last_day"] == same_day_five_years_later(accepted_on).isoformat()
    assert "recorded_as" not in recorded.inputs


@given(accepted_on=acceptance_days)
def test_the_legacy_count_ended_a_day_early_and_the_record_names_it(accepted_on: date) -> None:
    legacy = LEGACY_WARRANTY.last_day(accepted_on)
    rule = in_force(WARRANTIES, accepted_on)
    assert (rule.last_day(accepted_on) - legacy).days == 1
    assert rule.record(accepted_on, recorded_as=legacy).inputs["recorded_as"] == legacy.isoformat()

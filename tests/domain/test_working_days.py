from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.working_days import (
    add_months,
    add_working_days,
    berlin_date,
    is_working_day,
    period_end,
    working_days_between,
)


def test_weekends_and_hessian_holidays_are_not_working_days() -> None:
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 6, 4))  # Fronleichnam, a holiday in Hessen
    assert not is_working_day(date(2026, 10, 3))  # Tag der Deutschen Einheit
    assert is_working_day(date(2025, 10, 31))  # Reformationstag: no holiday in Hessen
    assert is_working_day(date(2026, 11, 18))  # Buß- und Bettag: only in Saxony


def test_adding_working_days_skips_easter() -> None:
    # Thursday before Easter 2026 (2 April) + 1 working day: Good Friday and Easter Monday skipped
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)


def test_working_days_between_counts_days_after_the_start() -> None:
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == 0


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_a_period_ending_on_a_weekend_ends_on_the_next_working_day() -> None:
    assert period_end(date(2026, 3, 11), 1) == date(2026, 4, 13)  # 11 April is a Saturday


def test_business_dates_are_german_dates() -> None:
    assert berlin_date(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == date(2026, 3, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        berlin_date(datetime(2026, 3, 1, 23, 30))


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)),
    st.integers(min_value=-20, max_value=900),
)
def test_working_days_between_equals_counting_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    counted = sum(1 for i in range(1, span + 1) if is_working_day(start + timedelta(days=i)))
    assert working_days_between(start, end) == counted
    if span > 0:
        assert add_working_days(start, counted) <= end

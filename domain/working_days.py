"""Business calendar: Europe/Berlin dates, working days without weekends and Hessian holidays."""

from __future__ import annotations

import calendar
from bisect import bisect_right
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_date(moment: datetime) -> date:
    """The calendar date in Germany of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("business time must be timezone-aware")
    return moment.astimezone(BERLIN).date()


@lru_cache(maxsize=64)
def _hessian_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv="HE", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday in Hessen."""
    return day.weekday() < 5 and day not in _hessian_holidays(day.year)


def next_working_day(day: date) -> date:
    """The day itself if it is a working day, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (the start day itself not counted)."""
    if days < 0:
        raise ValueError("cannot add a negative number of working days")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


@lru_cache(maxsize=64)
def _weekday_holidays(year: int) -> tuple[date, ...]:
    """The year's Hessian holidays that fall on Monday to Friday, in order."""
    return tuple(sorted(d for d in _hessian_holidays(year) if d.weekday() < 5))


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start).

    Counted by whole weeks and a sorted holiday list rather than day by day: the inbox
    computes it for every row it shows.
    """
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    weekday = start.weekday()
    weekdays = weeks * 5 + sum(1 for i in range(1, rest + 1) if (weekday + i) % 7 < 5)
    holidays_in_range = 0
    for year in range(start.year, end.year + 1):
        days = _weekday_holidays(year)
        holidays_in_range += bisect_right(days, end) - bisect_right(days, start)
    return weekdays - holidays_in_range


def add_months(day: date, months: int) -> date:
    """Same day number ``months`` later, or that month's last day (§ 188 (2), (3) BGB)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, months: int) -> date:
    """End of a period of months from an event on ``start``; moved off weekends and holidays.

    § 31 VwVfG with §§ 187 (1), 188 (2) BGB: a one-month period from notification on 15 March
    ends on 15 April; a period ending on a Saturday, Sunday or holiday ends on the next
    working day (§ 31 (3) VwVfG, § 193 BGB).
    """
    return next_working_day(add_months(start, months))

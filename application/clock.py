"""The one injectable clock for business time; domain code never reads the time itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Gives the business time of a command."""

    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current moment in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and demos that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock gives timezone-aware times")
        self._now = start

    def now(self) -> datetime:
        """The set moment."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward and return the new moment."""
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a moment."""
        if moment.tzinfo is None:
            raise ValueError("a clock gives timezone-aware times")
        self._now = moment

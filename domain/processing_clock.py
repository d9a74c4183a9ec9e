"""The processing clock of a case: when the period started, pauses, extension, due date.

§ 42a (2) VwVfG / HVwVfG: the period starts "mit Eingang der vollständigen Unterlagen". An
information request for missing documents stops it and completeness restarts it; any other
question pauses it, and the target date shifts by the working days spent waiting for the
applicant. The period may be extended once, with reasons.

The clock is a value: each change returns a new clock, and the command that changes it
records the resulting clock in its event, so replay never recomputes a date (a later
holiday calendar cannot move a recorded due date).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from domain.errors import DomainError
from domain.working_days import add_working_days, working_days_between


class ClockError(DomainError):
    """A change the processing clock does not allow."""


@dataclass(frozen=True, slots=True)
class ProcessingClock:
    """Statutory or target processing period of one case, in working days."""

    period_working_days: int
    started_on: date | None = None
    stopped_since: date | None = None
    restarts_on_completeness: bool = False
    waited_working_days: int = 0
    extension_working_days: int = 0

    def __post_init__(self) -> None:
        if self.period_working_days < 0:
            raise ValueError("period_working_days must not be negative")

    @property
    def is_running(self) -> bool:
        """Started and not waiting for the applicant."""
        return self.started_on is not None and self.stopped_since is None

    @property
    def is_extended(self) -> bool:
        """The one extension has been used."""
        return self.extension_working_days > 0

    @property
    def awaits_completeness(self) -> bool:
        """Not started, or stopped for missing documents: completeness (re)starts it."""
        return self.started_on is None or self.restarts_on_completeness

    @property
    def due_on(self) -> date | None:
        """The last day of the period, or None while it has not started."""
        if self.started_on is None or self.restarts_on_completeness:
            return None
        days = self.period_working_days + self.waited_working_days
        return add_working_days(self.started_on, days + self.extension_working_days)

    def start(self, on: date) -> ProcessingClock:
        """Completeness confirmed: the period (re)starts on this day."""
        if not self.awaits_completeness:
            raise ClockError("the period is already running; completeness was confirmed")
        return replace(
            self,
            started_on=on,
            stopped_since=None,
            restarts_on_completeness=False,
            waited_working_days=0,
        )

    def stop(self, on: date, *, missing_documents: bool) -> ProcessingClock:
        """Waiting for the applicant from this day on."""
        if self.stopped_since is not None:
            raise ClockError("the clock is already stopped")
        return replace(
            self,
            stopped_since=on,
            restarts_on_completeness=self.restarts_on_completeness or missing_documents,
        )

    def resume(self, on: date) -> ProcessingClock:
        """The applicant answered: a paused period goes on, shifted by the days waited.

        After a request for missing documents the period stays stopped until completeness is
        confirmed (``start``).
        """
        if self.stopped_since is None:
            raise ClockError("the clock is not stopped")
        if on < self.stopped_since:
            raise ClockError("the answer cannot come before the request")
        if self.restarts_on_completeness or self.started_on is None:
            return replace(self, stopped_since=None)
        waited = working_days_between(self.stopped_since, on)
        return replace(
            self, stopped_since=None, waited_working_days=self.waited_working_days + waited
        )

    def extend(self, working_days: int) -> ProcessingClock:
        """Extend the period once (§ 42a (2) sentence 3 VwVfG: "einmal angemessen")."""
        if working_days <= 0:
            raise ClockError("an extension must be at least one working day")
        if self.is_extended:
            raise ClockError("the period has already been extended once")
        if self.started_on is None:
            raise ClockError("the period has not started yet")
        return replace(self, extension_working_days=working_days)

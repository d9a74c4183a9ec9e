"""The processing clock of a case: when the period started, pauses, extension, due date.

Two kinds of period, and each service says which it runs (``Case.DEEMED_APPROVAL``):

* **§ 42a HVwVfG (deemed approval)**, only where a legal rule orders it: the period (three
  months unless the rule says otherwise, § 42a (2) sentence 1) starts "mit Eingang der
  vollständigen Unterlagen" — on the day the last required document was received, not the day
  a clerk confirms completeness — and does not pause for ordinary questions. It may be
  extended once, only before it ends, with reasons communicated to the applicant in time
  (§ 42a (2) sentences 3 and 4). Once it ended without a decision the approval is deemed
  granted, and nothing restarts the clock.
* **A service's own target period (Bearbeitungsziel)**, in working days: it starts the same
  way, and shifts by the working days spent waiting for the applicant's answer.

A request for missing documents stops either kind: the period (re)starts when they arrive.
The clock is a value: each change returns a new clock with its due date computed then, and
the command that changes it records the clock in its event, so replay never recomputes a
date (a later holiday calendar cannot move a recorded due date). The decision stops it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from domain.errors import DomainError
from domain.working_days import add_months, add_working_days, next_working_day, working_days_between

DEEMED_APPROVAL_MONTHS = 3  # § 42a (2) sentence 1 HVwVfG


class ClockError(DomainError):
    """A change the processing clock does not allow."""


@dataclass(frozen=True, slots=True)
class ProcessingClock:
    """Statutory (§ 42a) or target processing period of one case."""

    period_working_days: int
    started_on: date | None = None
    stopped_since: date | None = None
    restarts_on_completeness: bool = False
    waited_working_days: int = 0
    extension_working_days: int = 0
    deemed_approval: bool = False  # a § 42a period, counted in months
    period_months: int = 0  # the § 42a period
    extension_communicated_on: date | None = None
    due: date | None = None  # computed when the clock changed, and recorded with it
    decided_on: date | None = None  # the decision stops the clock
    reopened_after_decision: bool = False  # a new decision is due: no fiction any more

    def __post_init__(self) -> None:
        if self.period_working_days < 0 or self.period_months < 0:
            raise ValueError("a period must not be negative")

    @classmethod
    def target(cls, working_days: int) -> ProcessingClock:
        """A service's own target period in working days."""
        return cls(period_working_days=working_days)

    @classmethod
    def statutory(cls, months: int = DEEMED_APPROVAL_MONTHS) -> ProcessingClock:
        """A § 42a period of months, after which the approval is deemed granted."""
        return cls(period_working_days=0, deemed_approval=True, period_months=months)

    @property
    def is_running(self) -> bool:
        """Started, not waiting for documents and not decided."""
        return (
            self.started_on is not None
            and self.stopped_since is None
            and not self.restarts_on_completeness
            and self.decided_on is None
        )

    @property
    def is_extended(self) -> bool:
        """The one extension has been used."""
        return self.extension_working_days > 0

    @property
    def awaits_completeness(self) -> bool:
        """Not started, or stopped for missing documents: complete documents (re)start it."""
        return self.started_on is None or self.restarts_on_completeness

    @property
    def due_on(self) -> date | None:
        """The last day of the period as recorded, or None while it has not started."""
        if self.started_on is None or self.restarts_on_completeness:
            return None
        return self.due

    def overdue_on(self, day: date) -> bool:
        """Past its due date on this day without a decision, and not waiting for the applicant
        (a paused target period's due date moves on by the days waited)."""
        due = self.due_on
        return (
            due is not None
            and self.decided_on is None
            and self.stopped_since is None
            and (day > due)
        )

    def approval_deemed_on(self, day: date) -> bool:
        """A § 42a period that ended without a decision: the approval is deemed granted.

        A decision made in time and later replaced (after a remedy) leaves no room for it.
        """
        return self.deemed_approval and not self.reopened_after_decision and self.overdue_on(day)

    def _computed_due(self) -> date | None:
        if self.started_on is None or self.restarts_on_completeness:
            return None
        if self.deemed_approval:
            end = next_working_day(add_months(self.started_on, self.period_months))
            return add_working_days(end, self.extension_working_days)
        days = self.period_working_days + self.waited_working_days + self.extension_working_days
        return add_working_days(self.started_on, days)

    def _with(self, **changes: object) -> ProcessingClock:
        changed = replace(self, **changes)  # type: ignore[arg-type]
        return replace(changed, due=changed._computed_due())

    def start(self, on: date) -> ProcessingClock:
        """The last required document arrived on this day: the period (re)starts."""
        if not self.awaits_completeness:
            raise ClockError("the period is already running; the documents were complete")
        return self._with(
            started_on=on, stopped_since=None, restarts_on_completeness=False, waited_working_days=0
        )

    def stop(self, on: date, *, missing_documents: bool) -> ProcessingClock:
        """Waiting for the applicant from this day on.

        A § 42a period does not pause for ordinary questions (only missing documents stop it).
        """
        if self.stopped_since is not None:
            raise ClockError("the clock is already stopped")
        if self.deemed_approval and not missing_documents:
            return self
        return self._with(
            stopped_since=on,
            restarts_on_completeness=self.restarts_on_completeness or missing_documents,
        )

    def resume(self, on: date) -> ProcessingClock:
        """The applicant answered: a paused target period goes on, shifted by the days waited.

        After a request for missing documents the period stays stopped until they are complete
        (``start``).
        """
        if self.stopped_since is None:
            raise ClockError("the clock is not stopped")
        if on < self.stopped_since:
            raise ClockError("the answer cannot come before the request")
        if self.restarts_on_completeness or self.started_on is None:
            return self._with(stopped_since=None)
        waited = working_days_between(self.stopped_since, on)
        return self._with(stopped_since=None, waited_working_days=self.waited_working_days + waited)

    def extend(self, working_days: int, *, today: date, communicated_on: date) -> ProcessingClock:
        """Extend the period once, before it ends, with reasons sent to the applicant in time.

        § 42a (2) sentences 3 and 4 HVwVfG ("einmal angemessen verlängert ... rechtzeitig
        mitzuteilen"); target periods follow the same discipline.
        """
        if working_days <= 0:
            raise ClockError("an extension must be at least one working day")
        if self.is_extended:
            raise ClockError("the period has already been extended once")
        due = self.due_on
        if self.started_on is None or due is None:
            raise ClockError("the period has not started yet")
        paused = self.stopped_since is not None  # the due date moves on by the days waited
        if today > due and not paused:
            raise ClockError(f"the period ended on {due}: it can no longer be extended")
        if communicated_on > due and not paused:
            raise ClockError(
                f"the extension must reach the applicant by the end of the period, {due}"
            )
        if communicated_on > today:
            raise ClockError("the communication to the applicant cannot lie in the future")
        if communicated_on < self.started_on:
            raise ClockError("the communication cannot precede the start of the period")
        return self._with(
            extension_working_days=working_days, extension_communicated_on=communicated_on
        )

    def with_legacy_due(self) -> ProcessingClock:
        """A clock recorded before clocks carried their due date, with it computed now."""
        return replace(self, due=self._computed_due())

    def decided(self, on: date) -> ProcessingClock:
        """The decision stops the clock (its due date stays as recorded)."""
        return replace(self, decided_on=on)

    def reopened(self) -> ProcessingClock:
        """A new decision is due (after a remedy): the clock runs again to its recorded date."""
        return replace(self, decided_on=None, reopened_after_decision=self.decided_on is not None)

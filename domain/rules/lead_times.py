"""Lead times: how many working days before the planned start an application must arrive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.working_days import add_working_days


@dataclass(frozen=True, slots=True)
class LeadTime:
    """One version of a service's lead time, counted in working days (Hessian holidays)."""

    rules_id: str
    version: str
    valid_from: date
    working_days: int

    def earliest_start(self, submitted_on: date) -> date:
        """The first day a measure may start for an application submitted on this day."""
        return add_working_days(submitted_on, self.working_days)

    def check(self, submitted_on: date, planned_start: date, field: str) -> None:
        """Refuse a planned start inside the lead time, naming the field that holds it."""
        earliest = self.earliest_start(submitted_on)
        if planned_start < earliest:
            raise InvalidCommand(
                field,
                f"may be {earliest} at the earliest "
                f"({self.working_days} working days after submission)",
            )

    def record(self, submitted_on: date, planned_start: date) -> RulesApplied:
        """The check as a decision records it."""
        return RulesApplied(
            rules_id=self.rules_id,
            version=self.version,
            inputs={
                "submitted_on": submitted_on.isoformat(),
                "planned_start": planned_start.isoformat(),
                "working_days": self.working_days,
                "earliest_start": self.earliest_start(submitted_on).isoformat(),
            },
        )

"""Inspections on site (Abnahme): accepted, or defects with a deadline and a re-inspection.

Shared by every service whose works the municipality inspects: the restored road surface
after a road opening, the acceptance of a new sewer house connection. A service records
each inspection in an event of its own and keeps an ``Inspections`` record folded from
those events; the rules here are the ones every such inspection follows. A re-inspection
never predates the last inspection, defects need a deadline after the inspection, and an
acceptance takes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import ConfigDict, Field

from domain.commands import CommandBody, Text
from domain.errors import InvalidCommand
from domain.personal_data import PersonalValue


@dataclass(frozen=True, slots=True)
class Inspection:
    """One inspection: its day, the defects found (free text, so personal) and the deadline."""

    inspected_on: date
    defects: tuple[PersonalValue, ...] = ()
    remedy_by: date | None = None

    @property
    def passed(self) -> bool:
        """No defects: the works are accepted."""
        return not self.defects

    def check_deadline(self) -> None:
        """Defects need a deadline after the inspection; an acceptance takes none."""
        if self.defects and (self.remedy_by is None or self.remedy_by <= self.inspected_on):
            raise InvalidCommand("remedy_by", "defects need a deadline after the inspection")
        if not self.defects and self.remedy_by is not None:
            raise InvalidCommand("remedy_by", "an accepted inspection takes no deadline")


@dataclass(frozen=True, slots=True)
class Inspections:
    """Every inspection of one piece of work so far, oldest first."""

    done: tuple[Inspection, ...] = ()

    @property
    def last(self) -> Inspection | None:
        """The latest inspection, if any."""
        return self.done[-1] if self.done else None

    @property
    def dates(self) -> list[date]:
        """The days of every inspection, oldest first."""
        return [i.inspected_on for i in self.done]

    @property
    def open_defects(self) -> tuple[PersonalValue, ...]:
        """The defects the latest inspection found (a passed re-inspection clears them)."""
        return self.last.defects if self.last else ()

    @property
    def remedy_by(self) -> date | None:
        """The deadline for the open defects."""
        return self.last.remedy_by if self.last else None

    @property
    def passed(self) -> bool:
        """The latest inspection accepted the works."""
        return self.last is not None and self.last.passed

    def check_day(self, inspected_on: date, *, ready_on: date, today: date) -> None:
        """An inspection lies between the day the work was ready (or the last inspection)
        and today: a re-inspection follows the inspection that found the defects."""
        earliest = max([ready_on, *self.dates])
        if not earliest <= inspected_on <= today:
            raise InvalidCommand(
                "inspected_on", "must lie between completion (or the last inspection) and today"
            )

    def recorded(
        self, inspected_on: date, defects: Sequence[PersonalValue], remedy_by: date | None
    ) -> Inspections:
        """The record with one more inspection (as an event method folds it)."""
        return Inspections((*self.done, Inspection(inspected_on, tuple(defects), remedy_by)))


class InspectionReport(CommandBody):
    """An inspection on site: no defects = accepted; defects need a deadline to remedy them."""

    inspected_on: date
    defects: list[Text] = Field(default_factory=list, max_length=50)
    remedy_by: date | None = Field(default=None, description="Deadline to remedy the defects.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "inspected_on": "2026-12-01",
                    "defects": ["Asphaltnaht nicht vergossen"],
                    "remedy_by": "2026-12-15",
                }
            ]
        },
    )

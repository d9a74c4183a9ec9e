"""The decision record (Bescheid): what was decided, by whom, on what basis, under which rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from domain.actor import ActorRecord
from domain.errors import InvalidCommand
from domain.personal_data import PersonalValue


class DecisionOutcome(Enum):
    """Approved, approved with conditions (Nebenbestimmungen), or rejected."""

    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"

    @property
    def is_approval(self) -> bool:
        """Approved, with or without conditions."""
        return self is not DecisionOutcome.REJECTED


@dataclass(frozen=True, slots=True)
class RulesApplied:
    """Which versioned rules a decision applied and the inputs they read, for replay."""

    rules_id: str
    version: str
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision as recorded inside its case; later gates add the countersignature."""

    outcome: DecisionOutcome
    justification: PersonalValue
    legal_basis: str
    legal_remedy_notice: str
    decided_by: ActorRecord
    decided_at: datetime
    effective_from: date
    conditions: tuple[PersonalValue, ...] = ()  # may name places and people
    expires_on: date | None = None
    fee: Decimal | None = None
    rules: tuple[RulesApplied, ...] = ()  # every versioned rule the decision applied
    particulars: dict[str, Any] = field(default_factory=dict)  # a service's own terms
    countersigned_by: ActorRecord | None = None
    countersigned_at: datetime | None = None

    def countersigned(self, by: ActorRecord, at: datetime) -> Decision:
        """The same decision with the second signature of the four-eyes principle."""
        return replace(self, countersigned_by=by, countersigned_at=at)

    def in_force_on(self, day: date) -> bool:
        """An approval that has not expired by this day."""
        return self.outcome.is_approval and (self.expires_on is None or day <= self.expires_on)

    def check_step_under(
        self, day: date, *, today: date, field: str, refused: str, too_early: str, ended: str
    ) -> None:
        """A step taken under this decision: an approval, in force that day, not in the future.

        ``refused``, ``too_early`` and ``ended`` word the refusals in the service's terms;
        ``ended`` is followed by the last day of validity.
        """
        if not self.outcome.is_approval:
            raise InvalidCommand("decision", refused)
        if day < self.effective_from:
            raise InvalidCommand(field, too_early)
        if self.expires_on is not None and day > self.expires_on:
            raise InvalidCommand(field, f"{ended} {self.expires_on}")
        if day > today:
            raise InvalidCommand(field, "must not lie in the future")

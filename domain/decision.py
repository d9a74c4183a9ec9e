"""The decision record (Bescheid): what was decided, by whom, on what basis, under which rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from domain.actor import ActorRecord
from domain.authorities import RemedyNotice
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


class ProvisionKind(Enum):
    """The kinds of ancillary provision (Nebenbestimmung) of § 36 (2) HVwVfG."""

    CONDITION = "condition"  # Bedingung, no. 2
    REQUIREMENT = "requirement"  # Auflage, no. 4
    TIME_LIMIT = "time_limit"  # Befristung, no. 1
    REVOCATION_RESERVED = "revocation_reserved"  # Widerrufsvorbehalt, no. 3
    FURTHER_REQUIREMENTS_RESERVED = "further_requirements_reserved"  # Auflagenvorbehalt, no. 5


@dataclass(frozen=True, slots=True)
class Provision:
    """One ancillary provision: its kind and its text (which may name places and people)."""

    kind: ProvisionKind
    text: PersonalValue


@dataclass(frozen=True, slots=True)
class Hearing:
    """§ 28 HVwVfG: when the applicant was heard, or why no hearing was needed."""

    held_on: date | None = None
    # The clerk's reason may name people (personal data); the standard reason is law.
    not_needed_because: PersonalValue | str | None = None


@dataclass(frozen=True, slots=True)
class CostsDecision:
    """The costs decision (Kostenentscheidung): basis, debtor, amount, due date, cash reference.

    The due date follows from the Bekanntgabe and is set when the decision is notified; the
    cash reference (Kassenzeichen) comes with the payment service.
    """

    legal_basis: str
    debtor: PersonalValue
    amount: Decimal
    due_on: date | None = None
    cash_reference: str | None = None


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
    remedy_notice: RemedyNotice
    decided_by: ActorRecord
    decided_at: datetime
    effective_from: date
    provisions: tuple[Provision, ...] = ()  # § 36 HVwVfG
    expires_on: date | None = None
    fee: Decimal | None = None
    rules: tuple[RulesApplied, ...] = ()  # every versioned rule the decision applied
    particulars: dict[str, Any] = field(default_factory=dict)  # a service's own terms
    countersigned_by: ActorRecord | None = None
    countersigned_at: datetime | None = None
    # What a Bescheid must hold besides (decisions recorded before these existed lack them).
    operative_part: PersonalValue | None = None  # Tenor
    issuing_authority: str | None = None
    addressee: PersonalValue | None = None
    representative: PersonalValue | None = None
    hearing: Hearing | None = None  # § 28 HVwVfG
    discretion: PersonalValue | None = None  # § 39 (1) sentence 3 HVwVfG
    costs: CostsDecision | None = None
    # Validity that runs from the Bekanntgabe (§ 43 HVwVfG): months after notification.
    valid_for_months: int | None = None
    notified_on: date | None = None

    @property
    def conditions(self) -> tuple[PersonalValue, ...]:
        """The texts of the ancillary provisions, in order."""
        return tuple(provision.text for provision in self.provisions)

    @property
    def legal_remedy_notice(self) -> str:
        """The notice's text as the letter carried it."""
        return self.remedy_notice.text

    def countersigned(self, by: ActorRecord, at: datetime) -> Decision:
        """The same decision with the second signature of the four-eyes principle."""
        return replace(self, countersigned_by=by, countersigned_at=at)

    def as_notified(
        self,
        notified_on: date,
        effective_from: date,
        expires_on: date | None,
        fee_due_on: date | None,
    ) -> Decision:
        """The decision as it took effect on its Bekanntgabe (§ 43 (1) HVwVfG)."""
        costs = self.costs
        if costs is not None and fee_due_on is not None:
            costs = replace(costs, due_on=fee_due_on)
        return replace(
            self,
            notified_on=notified_on,
            effective_from=effective_from,
            expires_on=expires_on,
            costs=costs,
        )

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
        if self.notified_on is not None and day < self.notified_on:
            raise InvalidCommand(
                field, f"the permit took effect on its notification, {self.notified_on}"
            )
        if day < self.effective_from:
            raise InvalidCommand(field, too_early)
        if self.expires_on is not None and day > self.expires_on:
            raise InvalidCommand(field, f"{ended} {self.expires_on}")
        if day > today:
            raise InvalidCommand(field, "must not lie in the future")

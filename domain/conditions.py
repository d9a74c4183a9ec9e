"""Conditions (Nebenbestimmungen, § 36 VwVfG) attached to a decision.

A decision carries the conditions the clerk sets for the case and, for services that have
them, the standard conditions (Regelauflagen) every approval of the service carries. Those
are versioned like a tariff: the decision records the version it attached, so an auditor's
replay shows whether the conditions issued are the ones in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand


@dataclass(frozen=True, slots=True)
class StandardConditions:
    """One version of the conditions every approval of a service carries."""

    rules_id: str
    version: str
    valid_from: date
    texts: tuple[str, ...]

    def record(self) -> RulesApplied:
        """The conditions as a decision records them."""
        return RulesApplied(self.rules_id, self.version, {"conditions": list(self.texts)})


def check_conditions(
    outcome: DecisionOutcome, given: Sequence[str], standard: Sequence[str] = ()
) -> list[str]:
    """The clerk's conditions without blanks, if they fit the outcome.

    An approval with conditions needs at least one (the service's standard conditions
    count); other outcomes take none from the clerk; and where a service attaches standard
    conditions, every approval is one with conditions.
    """
    cleaned = [c.strip() for c in given if c.strip()]
    with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
    if with_conditions and not cleaned and not standard:
        raise InvalidCommand("conditions", "an approval with conditions needs conditions")
    if not with_conditions and cleaned:
        raise InvalidCommand("conditions", f"a decision {outcome.value} takes no conditions")
    if outcome is DecisionOutcome.APPROVED and standard:
        raise InvalidCommand(
            "outcome", "this service attaches standard conditions: approve with conditions"
        )
    return cleaned

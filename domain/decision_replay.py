"""Replaying a decision: do the recorded outcome and amounts follow from the recorded rules?

The case is rebuilt as it stood just before the decision, the rule versions the decision
recorded are run on it again, and every recorded term is compared field by field with
what they give. What today's rules would give is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.case import Case, DecisionTerms
from domain.decision import Decision, RulesApplied
from domain.personal_data import Erased


@dataclass(frozen=True, slots=True)
class Difference:
    """One term where the record and the replay disagree."""

    field: str
    recorded: Any
    replayed: Any


@dataclass(frozen=True, slots=True)
class Replay:
    """The verdict on one decision."""

    verdict: str  # consistent, inconsistent, not_replayable
    differences: tuple[Difference, ...]
    reason: str | None = None
    today: tuple[Difference, ...] = ()  # where today's rules would decide otherwise


def _flatten(terms: DecisionTerms | Decision) -> dict[str, Any]:
    flat: dict[str, Any] = {
        "fee": str(terms.fee) if terms.fee is not None else None,
        "expires_on": terms.expires_on.isoformat() if terms.expires_on else None,
    }
    for name, value in terms.particulars.items():
        flat[f"particulars.{name}"] = value
    rules: tuple[RulesApplied, ...] = terms.rules
    for applied in rules:
        prefix = f"rules[{applied.rules_id}]"
        flat[f"{prefix}.version"] = applied.version
        for name, value in applied.inputs.items():
            flat[f"{prefix}.inputs.{name}"] = value
    return flat


def compare(recorded: Decision | DecisionTerms, replayed: DecisionTerms) -> tuple[Difference, ...]:
    """Every field where the two disagree, in a stable order."""
    left, right = _flatten(recorded), _flatten(replayed)
    return tuple(
        Difference(name, left.get(name), right.get(name))
        for name in sorted(set(left) | set(right))
        if left.get(name) != right.get(name)
    )


def uses_erased_data(case: Case) -> bool:
    """True if the service data a rule could read was erased."""

    def walk(value: Any) -> bool:
        if isinstance(value, Erased):
            return True
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(walk(v) for v in value)
        return False

    return walk(case.data_read_by_rules())


def replay(before: Case, decision: Decision, *, today: date) -> Replay:
    """Run the recorded rule versions on the case as it stood before the decision."""
    if uses_erased_data(before):
        return Replay("not_replayable", (), reason="erased: inputs of the rules were erased")
    try:
        again = before.replay_terms(decision)
    except LookupError as error:
        return Replay("not_replayable", (), reason=f"rules unavailable: {error}")
    differences = compare(decision, again)
    now = before.terms_today(decision, today)
    return Replay(
        "consistent" if not differences else "inconsistent",
        differences,
        today=compare(decision, now),
    )

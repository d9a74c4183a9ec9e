"""Rules of the road opening permit: the fee tariff and the lead time, each versioned.

Amounts are configuration, not law: a council resolution (Gebührensatzung) changes them.
A change is a new version with the day it takes effect; old versions stay here, so a
decision can always be replayed against the version it recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, TypeVar

from domain.decision import RulesApplied
from domain.working_days import add_working_days

FEE_RULES_ID: Final = "road-opening-fee"
LEAD_TIME_RULES_ID: Final = "road-opening-lead-time"
CENT = Decimal("0.01")


class UnknownRulesVersion(LookupError):
    """A rules version that was never defined."""


@dataclass(frozen=True, slots=True)
class FeeTariff:
    """A base fee plus an amount per square metre opened, within a minimum and maximum."""

    version: str
    valid_from: date
    base_fee: Decimal
    per_square_metre: Decimal
    minimum: Decimal
    maximum: Decimal

    def assess(self, length_m: Decimal, width_m: Decimal) -> tuple[Decimal, RulesApplied]:
        """The fee for an opening of this size, and the record of how it was reached."""
        area = (length_m * width_m).quantize(CENT, ROUND_HALF_UP)
        raw = self.base_fee + area * self.per_square_metre
        fee = min(max(raw, self.minimum), self.maximum).quantize(CENT, ROUND_HALF_UP)
        applied = RulesApplied(
            rules_id=FEE_RULES_ID,
            version=self.version,
            inputs={
                "length_m": str(length_m),
                "width_m": str(width_m),
                "area_m2": str(area),
                "base_fee": str(self.base_fee),
                "per_square_metre": str(self.per_square_metre),
                "minimum": str(self.minimum),
                "maximum": str(self.maximum),
                "fee": str(fee),
            },
        )
        return fee, applied


@dataclass(frozen=True, slots=True)
class LeadTime:
    """How many working days before the planned start an application must arrive."""

    version: str
    valid_from: date
    working_days: int

    def earliest_start(self, submitted_on: date) -> date:
        """The first day works may start for an application submitted on this day."""
        return add_working_days(submitted_on, self.working_days)

    def record(self, submitted_on: date, planned_start: date) -> RulesApplied:
        """The check as a decision records it."""
        return RulesApplied(
            rules_id=LEAD_TIME_RULES_ID,
            version=self.version,
            inputs={
                "submitted_on": submitted_on.isoformat(),
                "planned_start": planned_start.isoformat(),
                "working_days": self.working_days,
                "earliest_start": self.earliest_start(submitted_on).isoformat(),
            },
        )


Rules = TypeVar("Rules", "FeeTariff", "LeadTime")

FEE_TARIFFS: Final = (
    FeeTariff(
        version="2025-01",
        valid_from=date(2025, 1, 1),
        base_fee=Decimal("50.00"),
        per_square_metre=Decimal("4.50"),
        minimum=Decimal("60.00"),
        maximum=Decimal("2500.00"),
    ),
)

LEAD_TIMES: Final = (LeadTime(version="2025-01", valid_from=date(2025, 1, 1), working_days=10),)


def in_force(versions: tuple[Rules, ...], on: date) -> Rules:
    """The version in force on a day: the latest that took effect on or before it."""
    candidates = [v for v in versions if v.valid_from <= on]
    if not candidates:
        raise UnknownRulesVersion(f"no version in force on {on}")
    return max(candidates, key=lambda v: v.valid_from)


def by_version(versions: tuple[Rules, ...], version: str) -> Rules:
    """A version by its id, however old."""
    for candidate in versions:
        if candidate.version == version:
            return candidate
    raise UnknownRulesVersion(f"unknown rules version {version!r}")

"""Rules of the road opening permit: the fee tariff and the lead time, each versioned.

Amounts are configuration, not law: a council resolution (Gebührensatzung) changes them.
A change is a new version with the day it takes effect; old versions stay here, so a
decision can always be replayed against the version it recorded (``domain.rules.versions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from domain.decision import RulesApplied
from domain.rules.lead_times import LeadTime
from domain.rules.tariffs import bounded, cents
from domain.rules.versions import UnknownRulesVersion, by_version, in_force

__all__ = [
    "FEE_RULES_ID",
    "FEE_TARIFFS",
    "LEAD_TIMES",
    "LEAD_TIME_RULES_ID",
    "FeeTariff",
    "LeadTime",
    "UnknownRulesVersion",
    "by_version",
    "in_force",
]

FEE_RULES_ID: Final = "road-opening-fee"
LEAD_TIME_RULES_ID: Final = "road-opening-lead-time"


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
        area = cents(length_m * width_m)
        fee = bounded(self.base_fee + area * self.per_square_metre, self.minimum, self.maximum)
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

LEAD_TIMES: Final = (
    LeadTime(
        rules_id=LEAD_TIME_RULES_ID,
        version="2025-01",
        valid_from=date(2025, 1, 1),
        working_days=10,
    ),
)

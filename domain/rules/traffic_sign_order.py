"""Rules of the traffic sign order: lead time, sign set-up, fee tariff, standard conditions.

Each is versioned (``domain.rules.versions``): the application must arrive a number of
working days before the measure starts; the signs must stand a number of days before it
(the "72-hour rule" for no-parking zones: only then may parked cars be towed); the fee is
a base fee plus a daily rate that depends on the length of the zone, within a minimum and
maximum (GebOSt Nr. 261 bounds such orders); every order carries the standard conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from domain.conditions import StandardConditions
from domain.decision import RulesApplied
from domain.rules.lead_times import LeadTime
from domain.rules.tariffs import Band, band_for, bounded

FEE_RULES_ID: Final = "traffic-sign-order-fee"
LEAD_TIME_RULES_ID: Final = "traffic-sign-order-lead-time"
SIGN_SETUP_RULES_ID: Final = "traffic-sign-order-sign-setup"
CONDITIONS_RULES_ID: Final = "traffic-sign-order-conditions"


@dataclass(frozen=True, slots=True)
class SignSetup:
    """How many days before the start the signs must stand."""

    version: str
    valid_from: date
    days_ahead: int

    def signs_up_by(self, start: date) -> date:
        """The last day the signs may be put up for a measure starting on ``start``."""
        return start - timedelta(days=self.days_ahead)

    def record(self, start: date) -> RulesApplied:
        """The set-up day as an order records it."""
        return RulesApplied(
            SIGN_SETUP_RULES_ID,
            self.version,
            {
                "start": start.isoformat(),
                "days_ahead": self.days_ahead,
                "signs_up_by": self.signs_up_by(start).isoformat(),
            },
        )


@dataclass(frozen=True, slots=True)
class OrderTariff:
    """A base fee plus a daily rate by the length of the zone, within a minimum and maximum."""

    version: str
    valid_from: date
    base_fee: Decimal
    daily_rates: tuple[Band, ...]  # by zone length in metres, the last band open
    minimum: Decimal
    maximum: Decimal

    def assess(self, days: int, zone_length_m: Decimal) -> tuple[Decimal, RulesApplied]:
        """The fee for an order of this duration and size, and how it was reached."""
        band = band_for(self.daily_rates, zone_length_m)
        fee = bounded(self.base_fee + days * band.rate, self.minimum, self.maximum)
        return fee, RulesApplied(
            FEE_RULES_ID,
            self.version,
            {
                "days": days,
                "zone_length_m": str(zone_length_m),
                "band_up_to_m": None if band.up_to is None else str(band.up_to),
                "daily_rate": str(band.rate),
                "base_fee": str(self.base_fee),
                "minimum": str(self.minimum),
                "maximum": str(self.maximum),
                "fee": str(fee),
            },
        )


LEAD_TIMES: Final = (
    LeadTime(
        rules_id=LEAD_TIME_RULES_ID, version="2025-01", valid_from=date(2025, 1, 1), working_days=10
    ),
)
SIGN_SETUPS: Final = (SignSetup(version="2025-01", valid_from=date(2025, 1, 1), days_ahead=3),)
TARIFFS: Final = (
    OrderTariff(
        version="2025-01",
        valid_from=date(2025, 1, 1),
        base_fee=Decimal("30.00"),
        daily_rates=(
            Band(Decimal(15), Decimal("6.00")),
            Band(Decimal(30), Decimal("10.00")),
            Band(Decimal(60), Decimal("16.00")),
            Band(None, Decimal("25.00")),
        ),
        minimum=Decimal("30.00"),
        maximum=Decimal("767.00"),
    ),
)
STANDARD_CONDITIONS: Final = (
    StandardConditions(
        rules_id=CONDITIONS_RULES_ID,
        version="2025-01",
        valid_from=date(2025, 1, 1),
        texts=(
            "Die Verkehrszeichen sind nach dem beigefügten Verkehrszeichenplan und den RSA 21 "
            "aufzustellen.",
            "Die Verkehrszeichen sind spätestens an dem in dieser Anordnung genannten Tag "
            "aufzustellen; die Aufstellung ist der Straßenverkehrsbehörde unverzüglich zu melden.",
            "Nach dem Ende der Maßnahme sind die Verkehrszeichen unverzüglich zu entfernen; die "
            "Entfernung ist zu melden.",
        ),
    ),
)

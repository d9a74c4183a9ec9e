"""Rules of the traffic sign order: lead time, sign set-up, fee tariff, standard conditions.

Each is versioned (``domain.rules.versions``): the application must arrive a number of
working days before the measure starts; the signs must stand three full days before it
(BVerwG, judgment of 24 May 2018, 3 C 25.16: a car parked lawfully before the signs went up
may be towed at its keeper's cost only from the fourth day after they went up); the fee is
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
TOWING_COSTS_DAY_AFTER_SETUP: Final = 4
"""BVerwG 3 C 25.16: towing costs for a car parked before the signs went up are charged from
the fourth day after they went up (three full days in between). Set-up reports stored before
they recorded that day read it by this count."""


@dataclass(frozen=True, slots=True)
class SignSetup:
    """How many days before the start the signs must be put up.

    ``days_ahead`` counts from the set-up day to the first day the signs bind cars parked
    before they went up: set up on day D, the days D+1 … D+days_ahead-1 are the full days in
    between, and towing costs may be charged for those cars from D+days_ahead on. Counted
    by calendar days, not hours, and without regard to weekends or holidays (BVerwG 3 C 25.16).
    """

    version: str
    valid_from: date
    days_ahead: int
    legal_basis: str

    @property
    def full_days_between(self) -> int:
        """The full calendar days between the set-up day and the start at the latest."""
        return self.days_ahead - 1

    def signs_up_by(self, start: date) -> date:
        """The last day the signs may be put up for a measure starting on ``start``."""
        return start - timedelta(days=self.days_ahead)

    def towing_costs_from(self, set_up_on: date) -> date:
        """The first day a car parked before the signs went up may be towed at its cost."""
        return set_up_on + timedelta(days=self.days_ahead)

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
SIGN_SETUPS: Final[tuple[SignSetup, ...]] = (
    SignSetup(
        version="2026-12",
        valid_from=date(2025, 1, 1),
        days_ahead=TOWING_COSTS_DAY_AFTER_SETUP,
        legal_basis="BVerwG, Urteil vom 24.05.2018, 3 C 25.16: drei volle Tage Vorlauf",
    ),
)
LEGACY_SIGN_SETUPS: Final[tuple[SignSetup, ...]] = (
    SignSetup(
        version="2025-01",
        valid_from=date(2025, 1, 1),
        days_ahead=3,
        legal_basis="vor Dezember 2026 aufgezeichnete Anordnungen: nur zwei volle Tage Vorlauf",
    ),
)
"""Orders recorded before the set-up rule was corrected named the day three days before the
start, which leaves only two full days: kept so that their decisions replay as recorded."""
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

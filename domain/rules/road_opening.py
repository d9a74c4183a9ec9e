"""Rules of the road opening permit, each versioned.

The administrative fee (Verwaltungskostensatzung) and its line for an extension, the lead
time, the reporting period of emergency works, the security deposit, the special-use fee
(Sondernutzungsgebühr, § 18 HStrG with the town's Sondernutzungssatzung) and the warranty.

Amounts and periods are configuration, not law: a council resolution changes them. A change
is a new version with the day it takes effect; old versions stay here, so a decision can
always be replayed against the version it recorded (``domain.rules.versions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.lead_times import LeadTime
from domain.rules.tariffs import bounded, cents
from domain.rules.versions import UnknownRulesVersion, by_version, in_force
from domain.working_days import add_months, add_working_days

__all__ = [
    "DEPOSITS",
    "DEPOSIT_RULES_ID",
    "EMERGENCY_REPORTING",
    "EMERGENCY_RULES_ID",
    "EXTENSION_FEES",
    "EXTENSION_FEE_RULES_ID",
    "FEE_RULES_ID",
    "FEE_TARIFFS",
    "LEAD_TIMES",
    "LEAD_TIME_RULES_ID",
    "LEGACY_WARRANTY",
    "REGIMES",
    "REGIME_RULES_ID",
    "SPECIAL_USE_FEES",
    "SPECIAL_USE_FEE_RULES_ID",
    "WARRANTIES",
    "WARRANTY_RULES_ID",
    "FeeTariff",
    "LeadTime",
    "Regime",
    "UnknownRulesVersion",
    "by_version",
    "in_force",
    "lead_time_not_applied",
]

FEE_RULES_ID: Final = "road-opening-fee"
LEAD_TIME_RULES_ID: Final = "road-opening-lead-time"
WARRANTY_RULES_ID: Final = "road-opening-warranty"
EMERGENCY_RULES_ID: Final = "road-opening-emergency-report"
EXTENSION_FEE_RULES_ID: Final = "road-opening-extension-fee"
DEPOSIT_RULES_ID: Final = "road-opening-security-deposit"
SPECIAL_USE_FEE_RULES_ID: Final = "road-opening-special-use-fee"
REGIME_RULES_ID: Final = "road-opening-regime"


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


# ------------------------------------------------------------------ warranty


@dataclass(frozen=True, slots=True)
class WarrantyPeriod:
    """How long the contractor answers for the restored surface after its acceptance."""

    version: str
    valid_from: date
    years: int
    day_before_same_date: bool  # the legacy count; § 188 (2) BGB ends on the same date
    legal_basis: str

    def last_day(self, accepted_on: date) -> date:
        """The last day of the warranty for a restoration accepted on ``accepted_on``.

        § 187 (1) BGB: the day of acceptance is not counted; § 188 (2) BGB: the period ends
        with the day of the last year that has the same number; § 188 (3) BGB: where that
        month has no such day (29 February), with the month's last day.
        """
        end = add_months(accepted_on, 12 * self.years)
        return end - timedelta(days=1) if self.day_before_same_date else end

    def record(self, accepted_on: date, recorded_as: date | None = None) -> RulesApplied:
        """The rule as the acceptance records it; ``recorded_as``: the day stored before."""
        inputs: dict[str, object] = {
            "accepted_on": accepted_on.isoformat(),
            "years": self.years,
            "last_day": self.last_day(accepted_on).isoformat(),
            "legal_basis": self.legal_basis,
        }
        if recorded_as is not None and recorded_as != self.last_day(accepted_on):
            inputs["recorded_as"] = recorded_as.isoformat()
        return RulesApplied(WARRANTY_RULES_ID, self.version, inputs)


WARRANTIES: Final[tuple[WarrantyPeriod, ...]] = (
    WarrantyPeriod(
        version="2026-12",
        valid_from=date(1977, 1, 1),
        years=5,
        day_before_same_date=False,
        legal_basis=(
            "Gewährleistung fünf Jahre ab Abnahme (§ 634a Abs. 1 Nr. 2 BGB, ZTV A-StB); "
            "Fristende §§ 187 Abs. 1, 188 Abs. 2 und 3 BGB"
        ),
    ),
)
LEGACY_WARRANTY: Final = WarrantyPeriod(
    version="legacy",
    valid_from=date(1977, 1, 1),
    years=5,
    day_before_same_date=True,
    legal_basis="vor Dezember 2026 aufgezeichnete Abnahmen: Tag vor dem gleichen Datum",
)
"""The count acceptances recorded before December 2026 stored (a day early); kept to name it."""


# ----------------------------------------------------------- emergency works


@dataclass(frozen=True, slots=True)
class EmergencyReporting:
    """Emergency works (Gefahr im Verzug) start at once and are reported afterwards.

    No lead time applies; the report must reach the town within ``working_days`` working
    days after the works started (the towns' configuration, as their Aufgrabungsrichtlinie
    sets it).
    """

    version: str
    valid_from: date
    working_days: int

    def last_report_day(self, started_on: date) -> date:
        """The last day a report of works started on ``started_on`` is in time."""
        return add_working_days(started_on, self.working_days)

    def check(self, submitted_on: date, started_on: date, field: str) -> None:
        """Refuse a report after the reporting period, or of works not yet started."""
        if started_on > submitted_on:
            raise InvalidCommand(field, "emergency works are reported once they started")
        last = self.last_report_day(started_on)
        if submitted_on > last:
            raise InvalidCommand(
                field,
                f"emergency works started on {started_on} had to be reported by {last} "
                f"({self.working_days} working days); apply for a permit instead",
            )

    def record(self, submitted_on: date, started_on: date) -> RulesApplied:
        """The check as the decision records it."""
        return RulesApplied(
            EMERGENCY_RULES_ID,
            self.version,
            {
                "submitted_on": submitted_on.isoformat(),
                "started_on": started_on.isoformat(),
                "working_days": self.working_days,
                "last_report_day": self.last_report_day(started_on).isoformat(),
            },
        )


EMERGENCY_REPORTING: Final = (
    EmergencyReporting(version="2026-12", valid_from=date(2025, 1, 1), working_days=3),
)


def lead_time_not_applied(
    lead_time: LeadTime, submitted_on: date, planned_start: date
) -> RulesApplied:
    """The lead time as a decision on emergency works records it: in force, not applied."""
    return RulesApplied(
        LEAD_TIME_RULES_ID,
        lead_time.version,
        {
            "submitted_on": submitted_on.isoformat(),
            "planned_start": planned_start.isoformat(),
            "working_days": lead_time.working_days,
            "applied": False,
            "reason": "emergency works (Gefahr im Verzug), reported after they started",
        },
    )


# ------------------------------------------------------------------ extension


@dataclass(frozen=True, slots=True)
class ExtensionFee:
    """The administrative fee for extending a permit (Verwaltungskostensatzung)."""

    version: str
    valid_from: date
    fee: Decimal

    def assess(self, expires_on: date, extended_to: date) -> tuple[Decimal, RulesApplied]:
        """The fee for an extension, and how it was reached."""
        fee = cents(self.fee)
        return fee, RulesApplied(
            EXTENSION_FEE_RULES_ID,
            self.version,
            {
                "expires_on": expires_on.isoformat(),
                "extended_to": extended_to.isoformat(),
                "fee": str(fee),
            },
        )


EXTENSION_FEES: Final = (
    ExtensionFee(version="2025-01", valid_from=date(2025, 1, 1), fee=Decimal("30.00")),
)


# ----------------------------------------------------------- security deposit


@dataclass(frozen=True, slots=True)
class SecurityDeposit:
    """The security (Sicherheitsleistung) for the proper restoration of the surface.

    Required for openings from ``from_area_m2`` square metres: an amount per square metre,
    at least ``minimum`` (the towns' Aufgrabungsrichtlinie; the permit attaches it as a
    condition, § 36 (2) no. 4 HVwVfG, or the permission contract agrees it).
    """

    version: str
    valid_from: date
    from_area_m2: Decimal
    per_square_metre: Decimal
    minimum: Decimal

    def assess(self, length_m: Decimal, width_m: Decimal) -> tuple[Decimal, RulesApplied]:
        """The amount required for an opening of this size (0: none), and how."""
        area = cents(length_m * width_m)
        required = area >= self.from_area_m2
        amount = cents(max(area * self.per_square_metre, self.minimum) if required else Decimal(0))
        return amount, RulesApplied(
            DEPOSIT_RULES_ID,
            self.version,
            {
                "area_m2": str(area),
                "from_area_m2": str(self.from_area_m2),
                "per_square_metre": str(self.per_square_metre),
                "minimum": str(self.minimum),
                "amount": str(amount),
            },
        )


DEPOSITS: Final = (
    SecurityDeposit(
        version="2026-12",
        valid_from=date(2025, 1, 1),
        from_area_m2=Decimal("10.00"),
        per_square_metre=Decimal("40.00"),
        minimum=Decimal("500.00"),
    ),
)


# ------------------------------------------------------------ special-use fee


@dataclass(frozen=True, slots=True)
class SpecialUseFee:
    """The Sondernutzungsgebühr (§ 18 HStrG with the town's Sondernutzungssatzung).

    Per square metre and week started of the permitted period, at least ``minimum``; it is
    a charge for the use of the road, separate from the administrative fee.
    """

    version: str
    valid_from: date
    per_square_metre_week: Decimal
    minimum: Decimal

    def assess(
        self, length_m: Decimal, width_m: Decimal, first_day: date, last_day: date
    ) -> tuple[Decimal, RulesApplied]:
        """The fee for this area over these days (weeks started count whole), and how."""
        area = cents(length_m * width_m)
        days = max((last_day - first_day).days + 1, 1)
        weeks = -(-days // 7)
        fee = cents(max(area * self.per_square_metre_week * weeks, self.minimum))
        return fee, RulesApplied(
            SPECIAL_USE_FEE_RULES_ID,
            self.version,
            {
                "area_m2": str(area),
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "weeks": weeks,
                "per_square_metre_week": str(self.per_square_metre_week),
                "minimum": str(self.minimum),
                "fee": str(fee),
            },
        )


SPECIAL_USE_FEES: Final = (
    SpecialUseFee(
        version="2026-12",
        valid_from=date(2025, 1, 1),
        per_square_metre_week=Decimal("1.50"),
        minimum=Decimal("25.00"),
    ),
)


# ------------------------------------------------------------------- regimes


class Regime(StrEnum):
    """Under which law the town lets the road be opened: it follows the purpose."""

    # § 127 (1) TKG: the consent of the road authority (Wegebaulastträger) to lay a
    # telecommunications line; bound, no discretion; the use is free of charge (§ 125 (1) TKG).
    TELECOM_CONSENT = "telecom_consent"
    # § 20 (1) HStrG: lines of public supply and disposal; a permission under civil law by the
    # town as owner of the road, not an administrative act (charges by the concession
    # contract, disputes before the civil courts).
    CIVIL_LAW_PERMISSION = "civil_law_permission"
    # § 16 (1) HStrG: special use at the town's discretion, with the Sondernutzungsgebühr of
    # § 18 HStrG and the town's Sondernutzungssatzung.
    SPECIAL_USE = "special_use"


LEGAL_BASES: Final = {
    Regime.TELECOM_CONSENT: "§ 127 Abs. 1 TKG (Zustimmung des Wegebaulastträgers)",
    Regime.CIVIL_LAW_PERMISSION: "§ 20 Abs. 1 HStrG (bürgerlich-rechtliche Gestattung)",
    Regime.SPECIAL_USE: "§ 16 Abs. 1 HStrG (Sondernutzungserlaubnis)",
}


@dataclass(frozen=True, slots=True)
class RegimeTable:
    """Which purposes go under which regime (the purposes are the form's values)."""

    version: str
    valid_from: date
    telecom: frozenset[str]
    supply_and_disposal: frozenset[str]

    def regime_for(self, purpose: str) -> Regime:
        """The regime of a road opening for this purpose."""
        if purpose in self.telecom:
            return Regime.TELECOM_CONSENT
        if purpose in self.supply_and_disposal:
            return Regime.CIVIL_LAW_PERMISSION
        return Regime.SPECIAL_USE

    def record(self, purpose: str) -> RulesApplied:
        """The regime as the decision records it."""
        regime = self.regime_for(purpose)
        return RulesApplied(
            REGIME_RULES_ID,
            self.version,
            {"purpose": purpose, "regime": regime.value, "legal_basis": LEGAL_BASES[regime]},
        )


REGIMES: Final = (
    RegimeTable(
        version="2026-12",
        valid_from=date(2025, 1, 1),
        telecom=frozenset({"telecom"}),
        supply_and_disposal=frozenset({"gas", "water", "sewer", "power", "district_heating"}),
    ),
)
"""Decisions recorded before the regime was recorded were all special use (§ 16 HStrG)."""

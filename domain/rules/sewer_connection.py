"""Rules of the sewer house connection: the tariff and the standard conditions, versioned.

The permit fee (Verwaltungsgebühr) is charged with the decision; the connection charge
(Kostenersatz für den Hausanschluss) once the connection passed its acceptance inspection:
a flat amount for the kind of drainage plus every metre of connection pipe in public ground
beyond the length the flat amount includes. Both come from the same tariff version, which
the decision and the assessment each record with the inputs they read.

The connection charge is Kostenersatz under § 12 KAG (Hessen) with the town's drainage
statute: the claim arises with the final completion of the connection (endgültige
Herstellung, § 12 Abs. 2 KAG), so the tariff in force on that day applies, whatever day the
assessment is issued. The assessment (Kostenersatzbescheid) falls due a period after its
Bekanntgabe (``CHARGE_DUE``, the statute's), and an approval needs the drainage plans the
statute asks for (``PLANS_REQUIRED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from domain.conditions import StandardConditions
from domain.decision import RulesApplied
from domain.rules.tariffs import cents
from domain.working_days import add_months, period_end

PERMIT_FEE_RULES_ID: Final = "sewer-connection-permit-fee"
CHARGE_RULES_ID: Final = "sewer-connection-charge"
CONDITIONS_RULES_ID: Final = "sewer-connection-conditions"
LAPSE_RULES_ID: Final = "sewer-connection-lapse"
CHARGE_DUE_RULES_ID: Final = "sewer-connection-charge-due"
PLANS_RULES_ID: Final = "sewer-connection-plans"

CHARGE_LEGAL_BASIS: Final = (
    "§ 12 KAG (Hessen) i. V. m. den Bestimmungen der Entwässerungssatzung über den Kostenersatz "
    "für Grundstücksanschlüsse"
)
# § 12 Abs. 3 KAG with § 11 Abs. 7 KAG: liable is who owns the plot when the notice is
# announced (Bekanntgabe), not who applied or owned it when the connection was built.
DEBTOR_LEGAL_BASIS: Final = "§ 12 Abs. 3 i. V. m. § 11 Abs. 7 KAG (Hessen)"
# § 80 Abs. 2 Satz 1 Nr. 1 VwGO: an objection against public charges (Abgaben und Kosten)
# does not suspend the duty to pay; suspension is applied for (§ 80 Abs. 4, 6 VwGO).
NO_SUSPENSION_NOTE: Final = (
    "Hinweis: Widerspruch und Anfechtungsklage gegen die Anforderung öffentlicher Abgaben und "
    "Kosten haben keine aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO); der Betrag ist "
    "auch bei Einlegung eines Rechtsbehelfs zum Fälligkeitstag zu zahlen. Die Aussetzung der "
    "Vollziehung kann bei der erlassenden Behörde beantragt werden (§ 80 Abs. 4, 6 VwGO)."
)


@dataclass(frozen=True, slots=True)
class ChargeDue:
    """When an assessed connection charge falls due: months after its Bekanntgabe."""

    version: str
    valid_from: date
    months: int
    moves_off_non_working_days: bool  # § 193 BGB: a payment due on a Sunday is due Monday
    legal_basis: str

    def due_on(self, notified_on: date) -> date:
        """The due date of a charge whose assessment was notified on ``notified_on``."""
        if self.moves_off_non_working_days:
            return period_end(notified_on, self.months)
        return add_months(notified_on, self.months)

    def record(self, notified_on: date) -> RulesApplied:
        """The rule as the notification of the assessment records it."""
        return RulesApplied(
            CHARGE_DUE_RULES_ID,
            self.version,
            {
                "notified_on": notified_on.isoformat(),
                "months": self.months,
                "moves_off_non_working_days": self.moves_off_non_working_days,
                "due_on": self.due_on(notified_on).isoformat(),
            },
        )


CHARGE_DUE: Final[tuple[ChargeDue, ...]] = (
    ChargeDue(
        version="2026-12",
        valid_from=date(1977, 1, 1),
        months=1,
        moves_off_non_working_days=True,
        legal_basis="Entwässerungssatzung der Gemeinde (Fälligkeit des Kostenersatzes einen "
        "Monat nach Bekanntgabe des Bescheides); §§ 187 Abs. 1, 188 Abs. 2, 193 BGB",
    ),
)
"""The towns' drainage statutes make the Kostenersatz due a month after the Bekanntgabe."""


class PlanKind(StrEnum):
    """The drawings of an Entwässerungsantrag (Entwässerungspläne)."""

    SITE_PLAN = "site_plan"  # Lageplan (1:500) with the pipes to the connection point
    FLOOR_PLAN = "floor_plan"  # Grundrisse with the drainage objects (1:100)
    LONGITUDINAL_SECTION = "longitudinal_section"  # Längsschnitt of the Grundleitung
    DRAINAGE_CALCULATION = "drainage_calculation"  # Bemessung, Überflutungsnachweis


@dataclass(frozen=True, slots=True)
class PlansRequired:
    """Which drawings an approval needs (the statute's list of documents to submit)."""

    version: str
    valid_from: date
    kinds: tuple[PlanKind, ...]
    legal_basis: str

    def missing(self, given: set[str]) -> list[str]:
        """The required kinds not among those given, in the statute's order."""
        return [kind.value for kind in self.kinds if kind.value not in given]


PLANS_REQUIRED: Final[tuple[PlansRequired, ...]] = (
    PlansRequired(
        version="2026-12",
        valid_from=date(1977, 1, 1),
        kinds=(PlanKind.SITE_PLAN, PlanKind.LONGITUDINAL_SECTION),
        legal_basis="Entwässerungssatzung der Gemeinde (Antragsunterlagen: Lageplan und "
        "Längsschnitt der Grundleitung bis zum Anschlusskanal); DIN 1986-100",
    ),
)


@dataclass(frozen=True, slots=True)
class PermitLapse:
    """How long an unused permit lasts: the last day for a start on a day (Bekanntgabe)."""

    version: str
    valid_from: date
    months: int
    day_before_same_date: bool  # the legacy count; § 188 (2) BGB ends on the same date
    legal_basis: str

    def last_day(self, start: date) -> date:
        """The last day of validity of a permit that took effect on ``start``."""
        end = add_months(start, self.months)
        return end - timedelta(days=1) if self.day_before_same_date else end

    def record(self, start: date) -> RulesApplied:
        """The rule as a decision records it."""
        return RulesApplied(
            LAPSE_RULES_ID,
            self.version,
            {
                "start": start.isoformat(),
                "months": self.months,
                "last_day": str(self.last_day(start)),
            },
        )


LAPSES: Final[tuple[PermitLapse, ...]] = (
    PermitLapse(
        version="2026-12",
        valid_from=date(1977, 1, 1),
        months=24,
        day_before_same_date=False,
        legal_basis="§ 43 HVwVfG; § 31 HVwVfG mit §§ 187 Abs. 1, 188 Abs. 2 BGB",
    ),
)
LEGACY_LAPSE: Final = PermitLapse(
    version="legacy",
    valid_from=date(1977, 1, 1),
    months=24,
    day_before_same_date=True,
    legal_basis="vor Dezember 2026 aufgezeichnete Entscheidungen: Tag vor dem gleichen Datum",
)
"""Decisions recorded before the lapse rule was recorded counted to the day before."""


class Drainage(StrEnum):
    """What the connection drains (Schmutzwasser, Niederschlagswasser, Mischwasser)."""

    FOUL_WATER = "foul_water"
    RAINWATER = "rainwater"
    COMBINED = "combined"


@dataclass(frozen=True, slots=True)
class ConnectionTariff:
    """The permit fee, and the connection charge: flat per drainage plus metres beyond."""

    version: str
    valid_from: date
    permit_fee: Decimal
    foul_water: Decimal
    rainwater: Decimal
    combined: Decimal
    included_length_m: Decimal
    per_metre_beyond: Decimal

    def permit(self) -> tuple[Decimal, RulesApplied]:
        """The fee for the permit, and how it was reached."""
        fee = cents(self.permit_fee)
        return fee, RulesApplied(
            PERMIT_FEE_RULES_ID, self.version, {"permit_fee": str(self.permit_fee), "fee": str(fee)}
        )

    def flat_charge(self, drainage: Drainage) -> Decimal:
        """The flat amount for one connection of this kind."""
        return {
            Drainage.FOUL_WATER: self.foul_water,
            Drainage.RAINWATER: self.rainwater,
            Drainage.COMBINED: self.combined,
        }[drainage]

    def connection_charge(
        self, drainage: Drainage, pipe_length_m: Decimal
    ) -> tuple[Decimal, RulesApplied]:
        """The charge for a connection of this kind and length, and how it was reached."""
        flat = self.flat_charge(drainage)
        beyond = max(Decimal(0), pipe_length_m - self.included_length_m)
        charge = cents(flat + beyond * self.per_metre_beyond)
        return charge, RulesApplied(
            CHARGE_RULES_ID,
            self.version,
            {
                "drainage": drainage.value,
                "pipe_length_m": str(pipe_length_m),
                "included_length_m": str(self.included_length_m),
                "length_beyond_m": str(beyond),
                "flat_charge": str(flat),
                "per_metre_beyond": str(self.per_metre_beyond),
                "charge": str(charge),
            },
        )


TARIFFS: Final = (
    ConnectionTariff(
        version="2025-01",
        valid_from=date(2025, 1, 1),
        permit_fee=Decimal("95.00"),
        foul_water=Decimal("1450.00"),
        rainwater=Decimal("1150.00"),
        combined=Decimal("1850.00"),
        included_length_m=Decimal("10.00"),
        per_metre_beyond=Decimal("165.00"),
    ),
)

STANDARD_CONDITIONS: Final = (
    StandardConditions(
        rules_id=CONDITIONS_RULES_ID,
        version="2025-01",
        valid_from=date(2025, 1, 1),
        texts=(
            "Die Anschlussleitung ist von einem Fachbetrieb nach DIN 1986-100 und DIN EN 1610 "
            "herzustellen.",
            "Die Entwässerungsanlage ist gegen Rückstau aus dem öffentlichen Kanal zu sichern "
            "(DIN EN 13564); Rückstauebene ist die Straßenoberkante an der Anschlussstelle.",
            "Die Leitung ist vor dem Verfüllen der Baugrube zur Abnahme anzumelden und bis zur "
            "Abnahme offen zu halten.",
        ),
    ),
)

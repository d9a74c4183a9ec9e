"""Rules of the resident parking permit: each town's zones and its tariff, each versioned.

EXAMPLE CONFIGURATION. The street lists below are plausible, invented example data for the
four towns, not the zones their councils resolved: a town's real zone plan (the streets its
traffic authority ordered under § 45 (1b) StVO) replaces them as a new version. Zones and
amounts are configuration, not law; a change is a new version with the day it takes effect,
and old versions stay here, so a decision can always be replayed against the version it
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from domain.decision import RulesApplied
from domain.rules.tariffs import cents
from domain.rules.versions import UnknownRulesVersion, V, by_version, in_force

ZONE_RULES_ID: Final = "resident-parking-zones"
FEE_RULES_ID: Final = "resident-parking-fee"


def street_key(street: str) -> str:
    """A street name as zone lists compare it: case, blanks, hyphens and 'Str.' do not matter.

    ``Wilhelmj-Straße``, ``wilhelmjstrasse`` and ``Wilhelmjstr.`` are the same street.
    """
    folded = " ".join(street.casefold().split())  # casefold also turns ß into ss
    folded = re.sub(r"str\.?$", "strasse", folded)
    return re.sub(r"[\s.\-]", "", folded)


@dataclass(frozen=True, slots=True)
class ParkingZone:
    """A resident parking zone (Bewohnerparkbereich): its id, sign name and streets."""

    id: str
    name: str
    streets: tuple[str, ...]

    def covers(self, street: str) -> bool:
        """True if the street lies in this zone."""
        key = street_key(street)
        return any(street_key(s) == key for s in self.streets)


class Refusal:
    """Why a permit is refused; each is a reason code the decision records."""

    OUTSIDE_ZONES: Final = "outside_zones"
    SECONDARY_RESIDENCE: Final = "secondary_residence"
    RESIDENT_HOLDS_PERMIT: Final = "resident_holds_permit"
    VEHICLE_HOLDS_PERMIT: Final = "vehicle_holds_permit"

    TEXT: Final = MappingProxyType(
        {
            OUTSIDE_ZONES: "Die Wohnung liegt in keinem Bewohnerparkbereich der Gemeinde.",
            SECONDARY_RESIDENCE: (
                "Für eine Nebenwohnung wird in dieser Gemeinde kein Bewohnerparkausweis erteilt."
            ),
            RESIDENT_HOLDS_PERMIT: (
                "Für die antragstellende Person besteht bereits ein gültiger Bewohnerparkausweis."
            ),
            VEHICLE_HOLDS_PERMIT: (
                "Für das Fahrzeug (amtliches Kennzeichen) besteht bereits ein gültiger "
                "Bewohnerparkausweis."
            ),
        }
    )


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """A town's zones as resolved from one day, and how long a permit may run there."""

    version: str
    valid_from: date
    zones: tuple[ParkingZone, ...]
    secondary_residence_allowed: bool = False  # VwV-StVO: main residence; a town may widen it
    max_validity_months: int = 12  # VwV-StVO to § 45: "höchstens für ein Jahr" by default

    def zone_for(self, street: str) -> ParkingZone | None:
        """The zone the street lies in, if any."""
        return next((z for z in self.zones if z.covers(street)), None)

    def check(self, street: str, main_residence: bool) -> tuple[ParkingZone | None, RulesApplied]:
        """The zone of a residence and the record of the check (reasons to refuse, if any).

        The record names the zone found, never the street: the street is personal data,
        sealed in the application and erased with it, so a replay reads the zone instead.
        """
        return self._checked(self.zone_for(street), main_residence)

    def check_as_recorded(
        self, recorded: RulesApplied, main_residence: bool
    ) -> tuple[ParkingZone | None, RulesApplied]:
        """The check again from a decision's record of it, without the street (a replay).

        The zone the decision found is looked up in this plan. A record stored before the
        street was sealed carries the street's key in clear: the zone is found from that key
        again, and the record keeps it as it was stored.
        """
        street = recorded.inputs.get("street")
        if isinstance(street, str):
            zone, record = self._checked(self.zone_for(street), main_residence)
            return zone, RulesApplied(
                rules_id=record.rules_id,
                version=record.version,
                inputs={"street": street, **record.inputs},
            )
        found = recorded.inputs.get("zone")
        return self._checked(next((z for z in self.zones if z.id == found), None), main_residence)

    def _checked(
        self, zone: ParkingZone | None, main_residence: bool
    ) -> tuple[ParkingZone | None, RulesApplied]:
        reasons = []
        if zone is None:
            reasons.append(Refusal.OUTSIDE_ZONES)
        if not main_residence and not self.secondary_residence_allowed:
            reasons.append(Refusal.SECONDARY_RESIDENCE)
        return zone, RulesApplied(
            rules_id=ZONE_RULES_ID,
            version=self.version,
            inputs={
                "main_residence": main_residence,
                "secondary_residence_allowed": self.secondary_residence_allowed,
                "zone": zone.id if zone else None,
                "max_validity_months": self.max_validity_months,
                "refusals": reasons,
            },
        )


@dataclass(frozen=True, slots=True)
class ParkingTariff:
    """The annual amount of a permit (charged per started month) and the plate change fee."""

    version: str
    valid_from: date
    annual_fee: Decimal
    plate_change_fee: Decimal

    def assess(self, months: int) -> tuple[Decimal, RulesApplied]:
        """The fee for a permit of so many months, and the record of how it was reached."""
        fee = cents(self.annual_fee * months / 12)
        return fee, self._record("permit", fee, months=months)

    def assess_plate_change(self) -> tuple[Decimal, RulesApplied]:
        """The (smaller) fee for entering another number plate on a valid permit."""
        return self.plate_change_fee, self._record("plate_change", self.plate_change_fee)

    def _record(self, charge: str, fee: Decimal, **inputs: int) -> RulesApplied:
        return RulesApplied(
            rules_id=FEE_RULES_ID,
            version=self.version,
            inputs={
                "charge": charge,
                **inputs,
                "annual_fee": str(self.annual_fee),
                "plate_change_fee": str(self.plate_change_fee),
                "fee": str(fee),
            },
        )


def _zone(zone_id: str, name: str, *streets: str) -> ParkingZone:
    return ParkingZone(zone_id, name, streets)


# EXAMPLE CONFIGURATION (see the module docstring): invented street lists per town.
ZONE_PLANS: Final[Mapping[str, tuple[ZonePlan, ...]]] = MappingProxyType(
    {
        "usingen": (
            ZonePlan(
                version="usingen-2025-01",
                valid_from=date(2025, 1, 1),
                zones=(
                    _zone(
                        "U1",
                        "Altstadt",
                        "Obergasse",
                        "Untergasse",
                        "Kreuzgasse",
                        "Marktplatz",
                        "Wilhelmjstraße",
                        "Hattsteiner Straße",
                        "Pfarrgasse",
                        "Schlossplatz",
                    ),
                    _zone(
                        "U2",
                        "Bahnhofsviertel",
                        "Bahnhofstraße",
                        "Weilburger Straße",
                        "Neuer Weg",
                        "Zitzergasse",
                    ),
                ),
            ),
        ),
        "neu-anspach": (
            ZonePlan(
                version="neu-anspach-2025-01",
                valid_from=date(2025, 1, 1),
                zones=(
                    _zone(
                        "NA1",
                        "Ortskern Anspach",
                        "Schulstraße",
                        "Bahnhofstraße",
                        "Am Brunnen",
                        "Kirchstraße",
                        "Rathausplatz",
                    ),
                ),
                secondary_residence_allowed=True,
            ),
        ),
        "schmitten": (
            ZonePlan(
                version="schmitten-2025-01",
                valid_from=date(2025, 1, 1),
                zones=(
                    _zone(
                        "S1",
                        "Ortsmitte Schmitten",
                        "Parkstraße",
                        "Dorfweilerstraße",
                        "Lindenweg",
                        "Am Kurhaus",
                    ),
                    _zone("S2", "Arnoldshain", "Arnoldshainer Weg", "Kirchgasse", "Feldbergblick"),
                ),
                max_validity_months=24,
            ),
        ),
        "glashuetten": (
            ZonePlan(
                version="glashuetten-2025-01",
                valid_from=date(2025, 1, 1),
                zones=(
                    _zone(
                        "G1",
                        "Glashütten Mitte",
                        "Schloßborner Weg",
                        "Limesstraße",
                        "Talstraße",
                        "Am Hang",
                    ),
                ),
            ),
        ),
    }
)

# EXAMPLE CONFIGURATION: amounts within the range Hessian towns charge since 2021.
TARIFFS: Final[Mapping[str, tuple[ParkingTariff, ...]]] = MappingProxyType(
    {
        "usingen": (
            ParkingTariff("usingen-2025-01", date(2025, 1, 1), Decimal("60.00"), Decimal("15.00")),
        ),
        "neu-anspach": (
            ParkingTariff(
                "neu-anspach-2025-01", date(2025, 1, 1), Decimal("50.00"), Decimal("12.50")
            ),
        ),
        "schmitten": (
            ParkingTariff(
                "schmitten-2025-01", date(2025, 1, 1), Decimal("30.00"), Decimal("10.00")
            ),
        ),
        "glashuetten": (
            ParkingTariff(
                "glashuetten-2025-01", date(2025, 1, 1), Decimal("40.00"), Decimal("10.00")
            ),
        ),
    }
)


def zone_plan(tenant: str, on: date) -> ZonePlan:
    """The tenant's zone plan in force on a day."""
    return in_force(_versions(ZONE_PLANS, tenant), on)


def zone_plan_version(tenant: str, version: str) -> ZonePlan:
    """A zone plan of the tenant by version."""
    return by_version(_versions(ZONE_PLANS, tenant), version)


def tariff(tenant: str, on: date) -> ParkingTariff:
    """The tenant's tariff in force on a day."""
    return in_force(_versions(TARIFFS, tenant), on)


def tariff_version(tenant: str, version: str) -> ParkingTariff:
    """A tariff of the tenant by version."""
    return by_version(_versions(TARIFFS, tenant), version)


def _versions(table: Mapping[str, tuple[V, ...]], tenant: str) -> tuple[V, ...]:
    try:
        return table[tenant]
    except KeyError:
        raise UnknownRulesVersion(f"no resident parking rules for tenant {tenant!r}") from None

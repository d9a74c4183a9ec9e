"""Rules of the resident parking permit: each town's zones and its tariff, each versioned.

EXAMPLE CONFIGURATION. The street lists below are plausible, invented example data for the
four towns, not the zones their councils resolved: a town's real zone plan (the streets its
traffic authority ordered under § 45 (1b) StVO) replaces them as a new version. Zones and
amounts are configuration, not law; a change is a new version with the day it takes effect,
and old versions stay here, so a decision can always be replayed against the version it
recorded.

From 2026 the zone plans cite who counts as a resident (registered with the registration
authority, § 45 (1b) no. 2a StVO with the VwV-StVO, and the town's own rules) and every
tariff carries its legal basis: the federal fee schedule (GebOSt no. 265, at most 30.70 EUR
a year) or the town's fee ordinance under § 6a (5a) StVG, named by title and date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from domain.decision import RulesApplied
from domain.rules.tariffs import cents
from domain.rules.versions import UnknownRulesVersion, V, by_version, in_force

ZONE_RULES_ID: Final = "resident-parking-zones"
FEE_RULES_ID: Final = "resident-parking-fee"

# Who is a resident (Bewohner): a person registered with the registration authority
# (Meldebehörde) at an address in the zone: with the main residence (Hauptwohnung), with a
# secondary residence (Nebenwohnung) only where the town's rules allow it (VwV-StVO zu § 45
# Abs. 1b; the margin number 35 is to be checked against the VwV-StVO in force). Case law:
# BVerwG, Urteil vom 28.05.1998 - 3 C 11/97 (a close spatial link of residence and zone).
RESIDENCE_BASIS: Final = "§ 45 Abs. 1b Satz 1 Nr. 2a StVO i. V. m. VwV-StVO zu § 45 Abs. 1b, Rn. 35"
REGISTRATION_PROOF: Final = "Meldeanschrift im Melderegister der Meldebehörde, §§ 17, 21 BMG"

# GebOSt (Anlage zu § 1), Gebührennummer 265: the federal frame for a resident parking
# permit, 10.20 to 30.70 EUR a year. Above it only by a fee ordinance under § 6a (5a) StVG;
# in Hessen the Land delegated that power to the towns as road traffic authorities, and the
# ordinance must be a Rechtsverordnung, not a Satzung (BVerwG, Urteil vom 13.06.2023 -
# 9 CN 2.22).
GEBOST_265_FLOOR: Final = Decimal("10.20")
GEBOST_265_CAP: Final = Decimal("30.70")
GEBOST_BASIS: Final = "Gebührennummer 265 der Anlage zu § 1 GebOSt (10,20 bis 30,70 EUR je Jahr)"
ORDINANCE_BASIS: Final = (
    "§ 6a Abs. 5a StVG i. V. m. der Delegationsverordnung des Landes Hessen (Übertragung auf "
    "die Gemeinden als Straßenverkehrsbehörden)"
)


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


@dataclass(frozen=True, slots=True)
class ResidenceRule:
    """Who counts as a resident of a zone: the law, the town's own rules and the proof."""

    town_rules: str  # e.g. "Bewohnerparkregelung der Stadt Usingen"
    legal_basis: str = RESIDENCE_BASIS
    proof: str = REGISTRATION_PROOF

    def recorded(self) -> dict[str, str]:
        """What a zone check records of the rule (its inputs), so the refusal can cite it."""
        return {
            "residence_basis": self.legal_basis,
            "residence_rule": self.town_rules,
            "residence_proof": self.proof,
        }


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
    # The residence refusals with the rule cited (zone plans that record the residence rule).
    CITED: Final = MappingProxyType(
        {
            OUTSIDE_ZONES: (
                "Die Wohnung, unter der die antragstellende Person bei der Meldebehörde gemeldet "
                "ist, liegt in keinem Bewohnerparkbereich der Gemeinde."
            ),
            SECONDARY_RESIDENCE: (
                "Die Wohnung ist im Melderegister als Nebenwohnung eingetragen; nach den Regeln "
                "der Gemeinde ist nur Bewohnerin oder Bewohner, wer dort mit der Hauptwohnung "
                "gemeldet ist."
            ),
        }
    )


def refusal_text(reason: str, record: RulesApplied | None = None) -> str:
    """A reason to refuse as the decision words it; residence reasons cite the rule recorded.

    A zone check recorded under a plan that names its residence rule cites the law (§ 45
    (1b) no. 2a StVO with the VwV-StVO), the town's own rules and the registration register;
    checks recorded before keep the plain wording.
    """
    inputs = record.inputs if record is not None else {}
    if reason in Refusal.CITED and "residence_rule" in inputs:
        return (
            f"{Refusal.CITED[reason]} Bewohnerin oder Bewohner ist, wer mit der Wohnung im "
            f"Bereich gemeldet ist ({inputs['residence_proof']}; {inputs['residence_basis']}; "
            f"{inputs['residence_rule']})."
        )
    return str(Refusal.TEXT[reason])


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """A town's zones as resolved from one day, and how long a permit may run there."""

    version: str
    valid_from: date
    zones: tuple[ParkingZone, ...]
    secondary_residence_allowed: bool = False  # VwV-StVO: main residence; a town may widen it
    max_validity_months: int = 12  # VwV-StVO to § 45: "höchstens für ein Jahr" by default
    # Who counts as a resident, as the town's rules say; None in versions recorded before the
    # check cited it (their records stay as stored, so their decisions replay unchanged).
    residence_rule: ResidenceRule | None = None

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
                **(self.residence_rule.recorded() if self.residence_rule else {}),
            },
        )


class TariffWithoutBasis(ValueError):
    """A tariff above the federal fee schedule that names no town fee ordinance."""


@dataclass(frozen=True, slots=True)
class FeeOrdinance:
    """A town's fee ordinance for resident parking permits (§ 6a (5a) StVG): title and date."""

    title: str
    made_on: date

    @property
    def legal_basis(self) -> str:
        """The ordinance as a decision cites it."""
        return f"{ORDINANCE_BASIS}; {self.title} vom {self.made_on:%d.%m.%Y}"


@dataclass(frozen=True, slots=True)
class ParkingTariff:
    """The annual amount of a permit (charged per started month) and the plate change fee.

    Its legal basis is the federal fee schedule (GebOSt no. 265: 10.20 to 30.70 EUR a year)
    unless it names the town's fee ordinance; a tariff outside that frame without an
    ordinance is refused when it is defined, so it can never be loaded or applied.
    """

    version: str
    valid_from: date
    annual_fee: Decimal
    plate_change_fee: Decimal
    ordinance: FeeOrdinance | None = None
    # False for versions recorded before the fee record named its basis: their records stay
    # as stored, so their decisions replay unchanged.
    basis_recorded: bool = True

    def __post_init__(self) -> None:
        if self.ordinance is not None:
            return
        if not GEBOST_265_FLOOR <= self.annual_fee <= GEBOST_265_CAP:
            raise TariffWithoutBasis(
                f"tariff {self.version}: an annual fee of {self.annual_fee} EUR lies outside "
                f"GebOSt no. 265 ({GEBOST_265_FLOOR} to {GEBOST_265_CAP} EUR): name the town's "
                "fee ordinance under § 6a (5a) StVG"
            )
        if self.plate_change_fee > GEBOST_265_CAP:
            raise TariffWithoutBasis(
                f"tariff {self.version}: a plate change fee of {self.plate_change_fee} EUR "
                f"exceeds GebOSt no. 265 ({GEBOST_265_CAP} EUR): name the town's fee ordinance"
            )

    @property
    def legal_basis(self) -> str:
        """The fee's legal basis: the town's ordinance, or the federal fee schedule."""
        return self.ordinance.legal_basis if self.ordinance else GEBOST_BASIS

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
                **({"legal_basis": self.legal_basis} if self.basis_recorded else {}),
            },
        )


def _zone(zone_id: str, name: str, *streets: str) -> ParkingZone:
    return ParkingZone(zone_id, name, streets)


RESIDENCE_RULES_FROM: Final = date(2026, 1, 1)


def _with_residence_rule(versions: tuple[ZonePlan, ...], town_rules: str) -> tuple[ZonePlan, ...]:
    """The versions, and from 2026 the same zones under a version that cites the residence rule."""
    last = versions[-1]
    cited = replace(
        last,
        version=f"{last.version.rsplit('-', 2)[0]}-2026-01",
        valid_from=RESIDENCE_RULES_FROM,
        residence_rule=ResidenceRule(town_rules),
    )
    return (*versions, cited)


# EXAMPLE CONFIGURATION (see the module docstring): invented street lists per town.
_PLANS_2025: Final[Mapping[str, tuple[ZonePlan, ...]]] = MappingProxyType(
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

# EXAMPLE CONFIGURATION: the title of each town's own rules on who counts as a resident
# (its Bewohnerparkregelung as resolved with the zones); the zones stay those of 2025.
TOWN_RESIDENCE_RULES: Final = MappingProxyType(
    {
        "usingen": "Bewohnerparkregelung der Stadt Usingen",
        "neu-anspach": "Bewohnerparkregelung der Stadt Neu-Anspach (auch mit Nebenwohnung)",
        "schmitten": "Bewohnerparkregelung der Gemeinde Schmitten im Taunus",
        "glashuetten": "Bewohnerparkregelung der Gemeinde Glashütten",
    }
)
ZONE_PLANS: Final[Mapping[str, tuple[ZonePlan, ...]]] = MappingProxyType(
    {
        town: _with_residence_rule(plans, TOWN_RESIDENCE_RULES[town])
        for town, plans in _PLANS_2025.items()
    }
)

# EXAMPLE CONFIGURATION: amounts within the range Hessian towns charge since 2021; the
# ordinances' titles and dates are invented examples. The 2025 versions were recorded before
# the fee record named its basis (``basis_recorded=False``); from 2026 it does. Schmitten
# stays within the federal frame and charges under the GebOSt without an ordinance.
_USINGEN_ORDINANCE: Final = FeeOrdinance(
    "Gebührenordnung für Bewohnerparkausweise der Stadt Usingen", date(2024, 11, 28)
)
_NEU_ANSPACH_ORDINANCE: Final = FeeOrdinance(
    "Gebührenordnung für Bewohnerparkausweise der Stadt Neu-Anspach", date(2024, 12, 5)
)
_GLASHUETTEN_ORDINANCE: Final = FeeOrdinance(
    "Gebührenordnung für Bewohnerparkausweise der Gemeinde Glashütten", date(2024, 12, 12)
)
FEES_FROM: Final = date(2026, 1, 1)
TARIFFS: Final[Mapping[str, tuple[ParkingTariff, ...]]] = MappingProxyType(
    {
        "usingen": (
            ParkingTariff(
                "usingen-2025-01",
                date(2025, 1, 1),
                Decimal("60.00"),
                Decimal("15.00"),
                _USINGEN_ORDINANCE,
                basis_recorded=False,
            ),
            ParkingTariff(
                "usingen-2026-01", FEES_FROM, Decimal("60.00"), Decimal("15.00"), _USINGEN_ORDINANCE
            ),
        ),
        "neu-anspach": (
            ParkingTariff(
                "neu-anspach-2025-01",
                date(2025, 1, 1),
                Decimal("50.00"),
                Decimal("12.50"),
                _NEU_ANSPACH_ORDINANCE,
                basis_recorded=False,
            ),
            ParkingTariff(
                "neu-anspach-2026-01",
                FEES_FROM,
                Decimal("50.00"),
                Decimal("12.50"),
                _NEU_ANSPACH_ORDINANCE,
            ),
        ),
        "schmitten": (
            ParkingTariff(
                "schmitten-2025-01",
                date(2025, 1, 1),
                Decimal("30.00"),
                Decimal("10.00"),
                basis_recorded=False,
            ),
            ParkingTariff("schmitten-2026-01", FEES_FROM, Decimal("30.00"), Decimal("10.00")),
        ),
        "glashuetten": (
            ParkingTariff(
                "glashuetten-2025-01",
                date(2025, 1, 1),
                Decimal("40.00"),
                Decimal("10.00"),
                _GLASHUETTEN_ORDINANCE,
                basis_recorded=False,
            ),
            ParkingTariff(
                "glashuetten-2026-01",
                FEES_FROM,
                Decimal("40.00"),
                Decimal("10.00"),
                _GLASHUETTEN_ORDINANCE,
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

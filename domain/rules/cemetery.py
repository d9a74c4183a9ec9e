"""Rules of the cemeteries: rest periods, grave right terms, burial periods and fees, versioned.

Sources, and what here is example data:

- **Rest periods (Ruhefristen)** come from each town's cemetery statute (Friedhofsordnung):
  per cemetery (the soil decides how long a body takes to decompose), grave type and burial
  kind, shorter for children. EXAMPLE VALUES: coffins 25 years, urns 20, children under 5
  years 15 (Neu-Anspach's Waldfriedhof 30 for coffins, as on heavy soil); each town's
  statute replaces them as a new version.
- **Grave right terms (Nutzungsrecht)** come from the same statute: the initial term of a
  right on a Wahlgrab or Urnenwahlgrab, and its extension by whole years (pro rata).
  EXAMPLE VALUES: 30 years for a Wahlgrab, 25 for an Urnenwahlgrab.
- **Burial periods after death** are state law: the Hessian Friedhofs- und
  Bestattungsgesetz (FBG). The values are CONFIGURABLE DEFAULTS TO BE CONFIRMED BY THE
  TOWNS' LEGAL OFFICE: the paragraph could not be verified from the text of the law, so none
  is cited. Secondary sources agree on: no burial earlier than 48 hours after death; a body
  buried (or cremated) not later than 96 hours after death, where Saturdays, Sundays and
  public holidays may not count (the count here is plain hours); an urn interred within nine
  weeks after the cremation. A pending amendment of the FBG is reported to lengthen the
  period for a body to ten days: that would be a new version with the day it takes effect.
- **Fees** come from each town's cemetery fee statute (Friedhofsgebührensatzung): grave use
  per year and grave type (the grant of a right, its extension, or the rest period of a
  grave given out in turn), the burial by kind, the chapel, the headstone permit. EXAMPLE
  AMOUNTS of the order Taunus towns charge; each town's statute replaces them.

Every table is versioned (``domain.rules.versions``: a version id and the day it takes
effect; a ``RuleBook`` amends a town's table), and every computation returns the
``RulesApplied`` it used, so a decision or a grave event records it and replay reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from domain.cemeteries import BurialKind, GraveType
from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.tariffs import cents
from domain.rules.versions import UnknownRulesVersion, V, by_version, in_force
from domain.working_days import add_months

REST_PERIOD_RULES_ID: Final = "cemetery-rest-period"
GRAVE_RIGHT_RULES_ID: Final = "cemetery-grave-right"
BURIAL_PERIOD_RULES_ID: Final = "cemetery-burial-period"
FEE_RULES_ID: Final = "cemetery-fee"


def years_after(day: date, years: int) -> date:
    """The day so many years after ``day`` (29 February becomes 28 February, § 188 BGB)."""
    return add_months(day, 12 * years)


def age_in_years(born_on: date, died_on: date) -> int:
    """Completed years of life on the day of death."""
    if died_on < born_on:
        raise InvalidCommand("died_on", "must not lie before the date of birth")
    had_birthday = (died_on.month, died_on.day) >= (born_on.month, born_on.day)
    return died_on.year - born_on.year - (0 if had_birthday else 1)


class NoGraveRight(InvalidCommand):
    """A grave type on which no grave right is granted (only Wahlgräber have one)."""

    def __init__(self, grave_type: GraveType) -> None:
        self.grave_type = grave_type
        super().__init__(
            "grave_type",
            f"a {grave_type.label_de} has no grave right; it is used for one rest period",
        )


# ------------------------------------------------------------------ rest periods


@dataclass(frozen=True, slots=True)
class RestPeriodException:
    """Another rest period for adults in one cemetery, of one grave type, or both."""

    years: int
    kind: BurialKind
    cemetery: str | None = None
    grave_type: GraveType | None = None

    def matches(self, cemetery: str, grave_type: GraveType, kind: BurialKind) -> bool:
        """Whether it applies to this burial."""
        return (
            self.kind is kind
            and self.cemetery in (None, cemetery)
            and self.grave_type in (None, grave_type)
        )

    @property
    def specificity(self) -> int:
        """Cemetery and grave type beat cemetery alone, which beats grave type alone."""
        return (2 if self.cemetery else 0) + (1 if self.grave_type else 0)


@dataclass(frozen=True, slots=True)
class RestPeriods:
    """A town's rest periods (Ruhefristen) from one day: by kind, children, exceptions."""

    version: str
    valid_from: date
    coffin_years: int
    urn_years: int
    child_years: int
    child_under_age: int
    exceptions: tuple[RestPeriodException, ...] = ()

    def rest_period(
        self, *, cemetery: str, grave_type: GraveType, kind: BurialKind, age_at_death: int
    ) -> tuple[int, RulesApplied]:
        """The rest period in years of a burial, and the record of how it was reached.

        A child under the statute's age gets the children's period (never longer than an
        adult's); otherwise the most specific exception for the cemetery and grave type,
        else the period of the burial kind.
        """
        if age_at_death < 0:
            raise InvalidCommand("age_at_death", "must not be negative")
        base = self.coffin_years if kind is BurialKind.COFFIN else self.urn_years
        matching = [e for e in self.exceptions if e.matches(cemetery, grave_type, kind)]
        child = age_at_death < self.child_under_age
        if child:
            years, reason = min(self.child_years, base), "child"
        elif matching:
            years, reason = max(matching, key=lambda e: e.specificity).years, "exception"
        else:
            years, reason = base, "kind"
        return years, RulesApplied(
            rules_id=REST_PERIOD_RULES_ID,
            version=self.version,
            inputs={
                "cemetery": cemetery,
                "grave_type": grave_type.value,
                "kind": kind.value,
                "age_at_death": age_at_death,
                "child_under_age": self.child_under_age,
                "applied": reason,
                "years": years,
            },
        )


# ------------------------------------------------------------------ grave right terms


@dataclass(frozen=True, slots=True)
class GraveRightTerms:
    """A town's terms of grave rights from one day: the initial term per grave type."""

    version: str
    valid_from: date
    initial_years: tuple[tuple[GraveType, int], ...]

    def term(self, grave_type: GraveType) -> tuple[int, RulesApplied]:
        """The initial term in years of a right on this grave type, and its record."""
        years = dict(self.initial_years).get(grave_type)
        if years is None or not grave_type.has_grave_right:
            raise NoGraveRight(grave_type)
        return years, RulesApplied(
            rules_id=GRAVE_RIGHT_RULES_ID,
            version=self.version,
            inputs={"grave_type": grave_type.value, "initial_years": years},
        )


def extension_years(right_ends_on: date, needed_until: date) -> int:
    """Whole years a right ending on ``right_ends_on`` must be extended to last until a day.

    An extension is granted pro rata by whole years: 0 if the right already lasts, else the
    fewest years after which it ends on or after ``needed_until``.
    """
    if right_ends_on >= needed_until:
        return 0
    years = max(needed_until.year - right_ends_on.year - 1, 0)
    while years_after(right_ends_on, years) < needed_until:
        years += 1
    return max(years, 1)


# ------------------------------------------------------------------ burial periods


class BurialPeriodRefusal:
    """Why a burial date lies outside the periods the law sets; reason codes recorded."""

    TOO_EARLY: Final = "too_early"  # before the earliest hour after death
    TOO_LATE: Final = "too_late"  # a body: after the latest hour after death
    URN_TOO_LATE: Final = "urn_too_late"  # an urn: after the weeks allowed after cremation
    CREMATION_MISSING: Final = "cremation_missing"  # an urn without its cremation date
    CREMATED_BEFORE_DEATH: Final = "cremated_before_death"


@dataclass(frozen=True, slots=True)
class BurialPeriods:
    """The periods after death within which the dead must be buried (state law, see above)."""

    version: str
    valid_from: date
    earliest_hours: int
    latest_coffin_hours: int
    latest_urn_weeks_after_cremation: int

    def check(
        self,
        *,
        kind: BurialKind,
        died_at: datetime,
        burial_at: datetime,
        cremated_on: date | None = None,
    ) -> tuple[tuple[str, ...], RulesApplied]:
        """The reasons a burial at that time is out of period (none: it is within)."""
        for name, moment in (("died_at", died_at), ("burial_at", burial_at)):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidCommand(name, "must be timezone-aware")
        reasons: list[str] = []
        if burial_at < died_at + timedelta(hours=self.earliest_hours):
            reasons.append(BurialPeriodRefusal.TOO_EARLY)
        latest: date | datetime | None
        if kind is BurialKind.COFFIN:
            latest = died_at + timedelta(hours=self.latest_coffin_hours)
            if burial_at > latest:
                reasons.append(BurialPeriodRefusal.TOO_LATE)
        elif cremated_on is None:
            latest = None
            reasons.append(BurialPeriodRefusal.CREMATION_MISSING)
        else:
            latest = cremated_on + timedelta(weeks=self.latest_urn_weeks_after_cremation)
            if cremated_on < died_at.date():
                reasons.append(BurialPeriodRefusal.CREMATED_BEFORE_DEATH)
            if burial_at.date() > latest:
                reasons.append(BurialPeriodRefusal.URN_TOO_LATE)
        return tuple(reasons), RulesApplied(
            rules_id=BURIAL_PERIOD_RULES_ID,
            version=self.version,
            inputs={
                "kind": kind.value,
                "died_at": died_at.isoformat(),
                "burial_at": burial_at.isoformat(),
                "cremated_on": cremated_on.isoformat() if cremated_on else None,
                "earliest_hours": self.earliest_hours,
                "latest_coffin_hours": self.latest_coffin_hours,
                "latest_urn_weeks_after_cremation": self.latest_urn_weeks_after_cremation,
                "latest": latest.isoformat() if latest else None,
                "refusals": list(reasons),
            },
        )


# ------------------------------------------------------------------ fees


@dataclass(frozen=True, slots=True)
class CemeteryTariff:
    """A town's cemetery fees from one day (Friedhofsgebührensatzung)."""

    version: str
    valid_from: date
    grave_use_per_year: tuple[tuple[GraveType, Decimal], ...]
    burial: tuple[tuple[BurialKind, Decimal], ...]
    chapel: Decimal
    headstone_permit: Decimal

    def assess_grave_use(self, grave_type: GraveType, years: int) -> tuple[Decimal, RulesApplied]:
        """The fee for using a grave so many years (a grant, or a rest period given out)."""
        return self._per_year("grave_use", grave_type, years)

    def assess_extension(self, grave_type: GraveType, years: int) -> tuple[Decimal, RulesApplied]:
        """The fee for extending a grave right by whole years, pro rata of the yearly fee."""
        return self._per_year("extension", grave_type, years)

    def assess_burial(self, kind: BurialKind) -> tuple[Decimal, RulesApplied]:
        """The fee for a burial of that kind (opening and closing the grave)."""
        fee = dict(self.burial)[kind]
        return fee, self._record("burial", fee, kind=kind.value)

    def assess_chapel(self) -> tuple[Decimal, RulesApplied]:
        """The fee for using the chapel (Trauerhalle) for a funeral service."""
        return self.chapel, self._record("chapel", self.chapel)

    def assess_headstone_permit(self) -> tuple[Decimal, RulesApplied]:
        """The fee for a headstone permit (Grabmalgenehmigung)."""
        return self.headstone_permit, self._record("headstone_permit", self.headstone_permit)

    def _per_year(
        self, charge: str, grave_type: GraveType, years: int
    ) -> tuple[Decimal, RulesApplied]:
        if years < 1:
            raise InvalidCommand("years", "must be at least one whole year")
        per_year = dict(self.grave_use_per_year).get(grave_type)
        if per_year is None:
            raise InvalidCommand("grave_type", f"no fee for a {grave_type.label_de}")
        fee = cents(per_year * years)
        return fee, self._record(
            charge, fee, grave_type=grave_type.value, years=years, per_year=str(per_year)
        )

    def _record(self, charge: str, fee: Decimal, **inputs: str | int) -> RulesApplied:
        return RulesApplied(
            rules_id=FEE_RULES_ID,
            version=self.version,
            inputs={"charge": charge, **inputs, "fee": str(fee)},
        )


# ------------------------------------------------------------------ the tables


def _rest(version: str, *exceptions: RestPeriodException) -> RestPeriods:
    # EXAMPLE VALUES (see the module docstring): the same base periods in every town.
    return RestPeriods(
        version=version,
        valid_from=date(2025, 1, 1),
        coffin_years=25,
        urn_years=20,
        child_years=15,
        child_under_age=5,
        exceptions=exceptions,
    )


REST_PERIODS: Final[Mapping[str, tuple[RestPeriods, ...]]] = MappingProxyType(
    {
        "usingen": (_rest("usingen-2025-01"),),
        "neu-anspach": (
            _rest(
                "neu-anspach-2025-01",
                RestPeriodException(30, BurialKind.COFFIN, cemetery="waldfriedhof-neu-anspach"),
            ),
        ),
        "schmitten": (_rest("schmitten-2025-01"),),
        "glashuetten": (_rest("glashuetten-2025-01"),),
    }
)

_TERMS: Final = ((GraveType.WAHLGRAB, 30), (GraveType.URNENWAHLGRAB, 25))
GRAVE_RIGHT_TERMS: Final[Mapping[str, tuple[GraveRightTerms, ...]]] = MappingProxyType(
    {
        tenant: (GraveRightTerms(f"{tenant}-2025-01", date(2025, 1, 1), _TERMS),)
        for tenant in ("usingen", "neu-anspach", "schmitten", "glashuetten")
    }
)

# CONFIGURABLE DEFAULTS TO BE CONFIRMED BY THE TOWNS' LEGAL OFFICE (see the module docstring).
BURIAL_PERIODS: Final = (
    BurialPeriods(
        version="fbg-hessen-2025-01",
        valid_from=date(2025, 1, 1),
        earliest_hours=48,
        latest_coffin_hours=96,
        latest_urn_weeks_after_cremation=9,
    ),
)


def _tariff(
    version: str, wahl: str, urnenwahl: str, reihe: str, urnenreihe: str, coffin: str, urn: str
) -> CemeteryTariff:
    # EXAMPLE AMOUNTS (see the module docstring).
    return CemeteryTariff(
        version=version,
        valid_from=date(2025, 1, 1),
        grave_use_per_year=(
            (GraveType.WAHLGRAB, Decimal(wahl)),
            (GraveType.URNENWAHLGRAB, Decimal(urnenwahl)),
            (GraveType.REIHENGRAB, Decimal(reihe)),
            (GraveType.URNENREIHENGRAB, Decimal(urnenreihe)),
            (GraveType.RASENGRAB, Decimal(reihe) + Decimal("20.00")),  # the town tends it
            (GraveType.ANONYMES_URNENFELD, Decimal(urnenreihe)),
        ),
        burial=((BurialKind.COFFIN, Decimal(coffin)), (BurialKind.URN, Decimal(urn))),
        chapel=Decimal("180.00"),
        headstone_permit=Decimal("60.00"),
    )


TARIFFS: Final[Mapping[str, tuple[CemeteryTariff, ...]]] = MappingProxyType(
    {
        "usingen": (
            _tariff("usingen-2025-01", "48.00", "36.00", "30.00", "22.00", "650.00", "240.00"),
        ),
        "neu-anspach": (
            _tariff("neu-anspach-2025-01", "52.00", "38.00", "32.00", "24.00", "690.00", "260.00"),
        ),
        "schmitten": (
            _tariff("schmitten-2025-01", "45.00", "34.00", "28.00", "20.00", "620.00", "230.00"),
        ),
        "glashuetten": (
            _tariff("glashuetten-2025-01", "50.00", "36.00", "30.00", "22.00", "640.00", "250.00"),
        ),
    }
)


def rest_periods(tenant: str, on: date) -> RestPeriods:
    """The town's rest periods in force on a day (the day of the burial)."""
    return in_force(_versions(REST_PERIODS, tenant), on)


def rest_periods_version(tenant: str, version: str) -> RestPeriods:
    """The town's rest periods by version, however old."""
    return by_version(_versions(REST_PERIODS, tenant), version)


def grave_right_terms(tenant: str, on: date) -> GraveRightTerms:
    """The town's grave right terms in force on a day (the day of the grant)."""
    return in_force(_versions(GRAVE_RIGHT_TERMS, tenant), on)


def grave_right_terms_version(tenant: str, version: str) -> GraveRightTerms:
    """The town's grave right terms by version."""
    return by_version(_versions(GRAVE_RIGHT_TERMS, tenant), version)


def burial_periods(on: date) -> BurialPeriods:
    """The burial periods of state law in force on a day (the day of death)."""
    return in_force(BURIAL_PERIODS, on)


def burial_periods_version(version: str) -> BurialPeriods:
    """The burial periods by version."""
    return by_version(BURIAL_PERIODS, version)


def tariff(tenant: str, on: date) -> CemeteryTariff:
    """The town's cemetery fees in force on a day."""
    return in_force(_versions(TARIFFS, tenant), on)


def tariff_version(tenant: str, version: str) -> CemeteryTariff:
    """The town's cemetery fees by version."""
    return by_version(_versions(TARIFFS, tenant), version)


def _versions(table: Mapping[str, tuple[V, ...]], tenant: str) -> tuple[V, ...]:
    try:
        return table[tenant]
    except KeyError:
        raise UnknownRulesVersion(f"no cemetery rules for tenant {tenant!r}") from None

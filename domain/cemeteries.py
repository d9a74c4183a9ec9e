"""The towns' cemeteries as configuration: fields, rows and numbered graves of each type.

EXAMPLE CONFIGURATION. The cemeteries below carry the names of the towns' real cemeteries,
but their fields, rows, numbers and capacities are plausible, invented example data, not the
towns' grave registers (Grabstättenverzeichnis): each town's register replaces them.

A grave is found by its address (cemetery, field, row, number). All graves of a field share
one grave type and one capacity in coffin and urn places; a field lists its rows and the
numbers in each row. The configuration is immutable; the grave aggregate records the type
and capacity it was opened with, so a later change of this table never rewrites a grave's
history.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from domain.errors import InvalidCommand


class GraveType(StrEnum):
    """The kinds of grave the towns' cemetery statutes (Friedhofsordnungen) offer."""

    REIHENGRAB = "reihengrab"  # a coffin grave given out in turn, for one rest period
    WAHLGRAB = "wahlgrab"  # a chosen coffin grave under a grave right (Nutzungsrecht)
    URNENREIHENGRAB = "urnenreihengrab"  # an urn grave given out in turn
    URNENWAHLGRAB = "urnenwahlgrab"  # a chosen urn grave under a grave right
    RASENGRAB = "rasengrab"  # a lawn grave the cemetery tends; given out in turn
    ANONYMES_URNENFELD = "anonymes_urnenfeld"  # an urn place in the anonymous field

    @property
    def has_grave_right(self) -> bool:
        """Whether a grave right (Nutzungsrecht) is granted on it: Wahlgräber only."""
        return self in (GraveType.WAHLGRAB, GraveType.URNENWAHLGRAB)

    @property
    def label_de(self) -> str:
        """The German name."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """The English name."""
        return _LABELS[self][1]


_LABELS: Final = MappingProxyType(
    {
        GraveType.REIHENGRAB: ("Reihengrab", "row grave"),
        GraveType.WAHLGRAB: ("Wahlgrab", "chosen grave"),
        GraveType.URNENREIHENGRAB: ("Urnenreihengrab", "urn row grave"),
        GraveType.URNENWAHLGRAB: ("Urnenwahlgrab", "chosen urn grave"),
        GraveType.RASENGRAB: ("Rasengrab", "lawn grave"),
        GraveType.ANONYMES_URNENFELD: ("Anonymes Urnenfeld", "anonymous urn field"),
    }
)


class BurialKind(StrEnum):
    """How the dead are buried: a body in a coffin (Erdbestattung) or ashes in an urn."""

    COFFIN = "coffin"
    URN = "urn"


@dataclass(frozen=True, slots=True, order=True)
class GraveAddress:
    """Where a grave lies: cemetery id, field, row and number (not personal data)."""

    cemetery: str
    field: str
    row: str
    number: int

    def __str__(self) -> str:
        return f"{self.cemetery}/{self.field}/{self.row}/{self.number}"


@dataclass(frozen=True, slots=True)
class GraveRow:
    """A row of a field and the numbers of its graves (first to last, both included)."""

    row: str
    first: int
    last: int

    def __post_init__(self) -> None:
        if not 1 <= self.first <= self.last:
            raise ValueError(f"row {self.row}: numbers must run from 1 upwards")

    def holds(self, number: int) -> bool:
        """Whether this row has a grave with that number."""
        return self.first <= number <= self.last


@dataclass(frozen=True, slots=True)
class GraveField:
    """A field (Grabfeld) of one grave type; every grave in it has the same places."""

    field: str
    name: str
    grave_type: GraveType
    coffin_places: int
    urn_places: int
    rows: tuple[GraveRow, ...]

    def __post_init__(self) -> None:
        if self.coffin_places < 0 or self.urn_places < 0:
            raise ValueError(f"field {self.field}: places cannot be negative")
        if self.coffin_places + self.urn_places == 0:
            raise ValueError(f"field {self.field}: a grave needs at least one place")
        coffins_allowed = self.grave_type in (
            GraveType.REIHENGRAB,
            GraveType.WAHLGRAB,
            GraveType.RASENGRAB,
        )
        if self.coffin_places and not coffins_allowed:
            raise ValueError(f"field {self.field}: a {self.grave_type.label_de} takes no coffin")

    def row(self, row: str) -> GraveRow | None:
        """The row with that name, if the field has it."""
        return next((r for r in self.rows if r.row == row), None)


@dataclass(frozen=True, slots=True)
class Cemetery:
    """A cemetery of a town and its fields."""

    id: str
    name: str
    tenant: str
    fields: tuple[GraveField, ...]

    def field(self, field: str) -> GraveField | None:
        """The field with that name, if the cemetery has it."""
        return next((f for f in self.fields if f.field == field), None)


@dataclass(frozen=True, slots=True)
class GraveSpec:
    """One grave as configured: its town, address, type and places."""

    tenant: str
    address: GraveAddress
    grave_type: GraveType
    coffin_places: int
    urn_places: int

    def places(self, kind: BurialKind) -> int:
        """How many places of that kind the grave has."""
        return self.coffin_places if kind is BurialKind.COFFIN else self.urn_places


class UnknownGrave(InvalidCommand):
    """A grave address that the town's cemetery configuration does not have."""

    def __init__(self, tenant: str, address: GraveAddress, missing: str) -> None:
        self.tenant = tenant
        self.address = address
        self.missing = missing
        super().__init__("grave", f"{tenant} has no grave {address}: unknown {missing}")


def _rows(count: int, graves_per_row: int) -> tuple[GraveRow, ...]:
    return tuple(GraveRow(str(r), 1, graves_per_row) for r in range(1, count + 1))


def _field(
    field: str, name: str, grave_type: GraveType, coffins: int, urns: int, rows: int, per_row: int
) -> GraveField:
    return GraveField(field, name, grave_type, coffins, urns, _rows(rows, per_row))


# EXAMPLE CONFIGURATION (see the module docstring): fields, rows and capacities invented.
CEMETERIES: Final[Mapping[str, tuple[Cemetery, ...]]] = MappingProxyType(
    {
        "usingen": (
            Cemetery(
                "usingen-friedhof",
                "Friedhof Usingen",
                "usingen",
                (
                    _field("A", "Wahlgräber Alter Teil", GraveType.WAHLGRAB, 2, 4, 3, 20),
                    _field("B", "Reihengräber", GraveType.REIHENGRAB, 1, 0, 4, 25),
                    _field("C", "Urnenreihengräber", GraveType.URNENREIHENGRAB, 0, 1, 2, 30),
                    _field("D", "Urnenwahlgräber", GraveType.URNENWAHLGRAB, 0, 4, 2, 20),
                    _field("R", "Rasengräber", GraveType.RASENGRAB, 1, 0, 2, 20),
                    _field("U", "Anonymes Urnenfeld", GraveType.ANONYMES_URNENFELD, 0, 1, 1, 80),
                ),
            ),
            Cemetery(
                "eschbach-friedhof",
                "Friedhof Eschbach",
                "usingen",
                (
                    _field("1", "Wahlgräber", GraveType.WAHLGRAB, 2, 2, 2, 15),
                    _field("2", "Urnengräber", GraveType.URNENREIHENGRAB, 0, 1, 1, 20),
                ),
            ),
        ),
        "neu-anspach": (
            Cemetery(
                "waldfriedhof-neu-anspach",
                "Waldfriedhof Neu-Anspach",
                "neu-anspach",
                (
                    _field("A", "Wahlgräber", GraveType.WAHLGRAB, 2, 4, 4, 20),
                    _field("B", "Reihengräber", GraveType.REIHENGRAB, 1, 0, 3, 20),
                    _field("C", "Urnenwahlgräber", GraveType.URNENWAHLGRAB, 0, 4, 3, 20),
                    _field("D", "Urnenreihengräber", GraveType.URNENREIHENGRAB, 0, 1, 2, 25),
                    _field("U", "Anonymes Urnenfeld", GraveType.ANONYMES_URNENFELD, 0, 1, 1, 60),
                ),
            ),
            Cemetery(
                "westerfeld-friedhof",
                "Friedhof Westerfeld",
                "neu-anspach",
                (_field("1", "Wahlgräber", GraveType.WAHLGRAB, 2, 2, 2, 12),),
            ),
        ),
        "schmitten": (
            Cemetery(
                "schmitten-friedhof",
                "Friedhof Schmitten",
                "schmitten",
                (
                    _field("A", "Wahlgräber", GraveType.WAHLGRAB, 2, 4, 3, 15),
                    _field("B", "Reihengräber", GraveType.REIHENGRAB, 1, 0, 2, 20),
                    _field("C", "Urnenwahlgräber", GraveType.URNENWAHLGRAB, 0, 4, 2, 15),
                    _field("R", "Rasengräber", GraveType.RASENGRAB, 1, 0, 1, 20),
                ),
            ),
            Cemetery(
                "arnoldshain-friedhof",
                "Friedhof Arnoldshain",
                "schmitten",
                (
                    _field("1", "Wahlgräber", GraveType.WAHLGRAB, 2, 2, 2, 12),
                    _field("2", "Urnenreihengräber", GraveType.URNENREIHENGRAB, 0, 1, 1, 20),
                ),
            ),
        ),
        "glashuetten": (
            Cemetery(
                "glashuetten-friedhof",
                "Friedhof Glashütten",
                "glashuetten",
                (
                    _field("A", "Wahlgräber", GraveType.WAHLGRAB, 2, 4, 2, 15),
                    _field("B", "Reihengräber", GraveType.REIHENGRAB, 1, 0, 2, 15),
                    _field("C", "Urnenwahlgräber", GraveType.URNENWAHLGRAB, 0, 4, 2, 10),
                    _field("U", "Anonymes Urnenfeld", GraveType.ANONYMES_URNENFELD, 0, 1, 1, 40),
                ),
            ),
            Cemetery(
                "schlossborn-friedhof",
                "Friedhof Schloßborn",
                "glashuetten",
                (
                    _field("1", "Wahlgräber", GraveType.WAHLGRAB, 2, 2, 2, 12),
                    _field("2", "Rasengräber", GraveType.RASENGRAB, 1, 0, 1, 15),
                ),
            ),
        ),
    }
)


def cemeteries(tenant: str) -> tuple[Cemetery, ...]:
    """The cemeteries of a town (none for a town without configuration)."""
    return CEMETERIES.get(tenant, ())


def cemetery(tenant: str, cemetery_id: str) -> Cemetery | None:
    """A town's cemetery by id, if it has one with that id."""
    return next((c for c in cemeteries(tenant) if c.id == cemetery_id), None)


def grave(tenant: str, address: GraveAddress) -> GraveSpec:
    """The configured grave at this address, or ``UnknownGrave`` naming what is missing."""
    found = cemetery(tenant, address.cemetery)
    if found is None:
        raise UnknownGrave(tenant, address, "cemetery")
    field = found.field(address.field)
    if field is None:
        raise UnknownGrave(tenant, address, "field")
    row = field.row(address.row)
    if row is None:
        raise UnknownGrave(tenant, address, "row")
    if not row.holds(address.number):
        raise UnknownGrave(tenant, address, "number")
    return GraveSpec(tenant, address, field.grave_type, field.coffin_places, field.urn_places)


def graves(tenant: str) -> Iterator[GraveSpec]:
    """Every configured grave of a town, in address order of its configuration."""
    for found in cemeteries(tenant):
        for field in found.fields:
            for row in field.rows:
                for number in range(row.first, row.last + 1):
                    address = GraveAddress(found.id, field.field, row.row, number)
                    yield GraveSpec(
                        tenant, address, field.grave_type, field.coffin_places, field.urn_places
                    )

"""The towns' citizens' offices (Bürgerbüros) as configuration: hours, counters, services.

EXAMPLE CONFIGURATION. Names and addresses follow the towns' town halls; hours, counters,
services and their numbers are plausible example data that each town replaces with its own.

An office day is opened from this table (``OfficeDay.open``) and records the slots it was
opened with, so a later change here never rewrites a day that already has bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final

import holidays

from domain.errors import InvalidCommand


@dataclass(frozen=True, slots=True)
class OfficeService:
    """A service an office offers: its slot length, online release and documents to bring."""

    id: str
    name: str
    slot_minutes: int
    online_slots: int  # how many of the day's slots of this service are bookable online
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BookingRules:
    """How citizens may book: window, limits, reminder and erasure of their contact data."""

    min_days_ahead: int = 1
    max_days_ahead: int = 60
    hold_minutes: int = 10  # a held slot waits this long for the contact
    per_person_per_day: int = 2  # bookings of one person at one office on one day
    reminder_hours: int = 24  # the reminder falls due this long before the appointment
    erase_after_days: int = 14  # contact data erased this many days after the day (14-30)
    max_calls: int = 2  # a ticket is called at most this often before it may be missed

    def __post_init__(self) -> None:
        if not 14 <= self.erase_after_days <= 30:
            raise ValueError("contact data is erased 14 to 30 days after the day")
        if not 0 <= self.min_days_ahead <= self.max_days_ahead:
            raise ValueError("the booking window needs 0 <= min <= max days ahead")
        if self.max_calls < 1 or self.hold_minutes < 1 or self.per_person_per_day < 1:
            raise ValueError("calls, hold minutes and the per-person limit are at least 1")


@dataclass(frozen=True, slots=True)
class Office:
    """A citizens' office: where it is, its counters, opening hours and services."""

    tenant: str
    id: str
    name: str
    address: str
    counters: tuple[str, ...]
    # opening hours per weekday (0 = Monday): (opens, closes) intervals
    hours: MappingProxyType[int, tuple[tuple[time, time], ...]]
    services: tuple[OfficeService, ...]
    closed_days: frozenset[date] = frozenset()  # besides weekends without hours and holidays
    rules: BookingRules = BookingRules()

    def service(self, service_id: str) -> OfficeService:
        """The service with this id, or ``InvalidCommand`` naming the field."""
        for offered in self.services:
            if offered.id == service_id:
                return offered
        known = ", ".join(s.id for s in self.services)
        raise InvalidCommand(
            "service", f"{self.name} does not offer {service_id!r}; it offers {known}"
        )

    def is_open_on(self, day: date) -> bool:
        """Whether the office opens that day: hours on the weekday, no holiday, not closed."""
        if not self.hours.get(day.weekday()) or day in self.closed_days:
            return False
        # Saturday hours are allowed; Sundays and Hessian holidays (on a Saturday too) never
        return day.weekday() != 6 and day not in _hessian_holidays(day.year)

    def slot_starts(self, service_id: str, day: date) -> tuple[time, ...]:
        """The start times of a service's slots that day, in order (none on a closed day)."""
        if not self.is_open_on(day):
            return ()
        minutes = self.service(service_id).slot_minutes
        starts: list[time] = []
        for opens, closes in self.hours[day.weekday()]:
            moment = _minutes(opens)
            while moment + minutes <= _minutes(closes):
                starts.append(time(moment // 60, moment % 60))
                moment += minutes
        return tuple(starts)

    def bookable_from(self, today: date) -> date:
        """The first day one may book for, seen from ``today``."""
        return today + timedelta(days=self.rules.min_days_ahead)

    def bookable_until(self, today: date) -> date:
        """The last day one may book for, seen from ``today``."""
        return today + timedelta(days=self.rules.max_days_ahead)


@lru_cache(maxsize=16)
def _hessian_holidays(year: int) -> frozenset[date]:
    # working_days.is_working_day answers for Monday to Friday only; Saturdays open here
    return frozenset(holidays.country_holidays("DE", subdiv="HE", years=year))


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def slot_id(service: str, starts: time) -> str:
    """A slot's id within its office day: service and start, e.g. ``reisepass@09:30``."""
    return f"{service}@{starts:%H:%M}"


class UnknownOffice(InvalidCommand):
    """An office id the town does not have."""

    def __init__(self, tenant: str, office: str) -> None:
        self.tenant = tenant
        self.office = office
        super().__init__("office", f"{tenant} has no citizens' office {office!r}")


PERSONALAUSWEIS: Final = OfficeService(
    "personalausweis",
    "Personalausweis beantragen",
    20,
    6,
    ("bisheriger Ausweis", "ein biometrisches Passfoto", "Geburtsurkunde bei Erstausstellung"),
)
REISEPASS: Final = OfficeService(
    "reisepass",
    "Reisepass beantragen",
    20,
    6,
    ("bisheriger Pass oder Personalausweis", "ein biometrisches Passfoto"),
)
MELDEBESCHEINIGUNG: Final = OfficeService(
    "meldebescheinigung", "Meldebescheinigung", 10, 8, ("Personalausweis oder Reisepass",)
)
ANMELDUNG: Final = OfficeService(
    "anmeldung",
    "Anmeldung / Ummeldung der Wohnung",
    15,
    8,
    ("Personalausweis oder Reisepass", "Wohnungsgeberbestätigung"),
)
FUEHRUNGSZEUGNIS: Final = OfficeService(
    "fuehrungszeugnis", "Führungszeugnis beantragen", 10, 4, ("Personalausweis oder Reisepass",)
)

_WEEKDAYS: Final = ((time(8, 0), time(12, 0)),)
_LONG_THURSDAY: Final = ((time(8, 0), time(12, 0)), (time(14, 0), time(18, 0)))


def _hours(
    *, thursday: tuple[tuple[time, time], ...] = _LONG_THURSDAY, saturday: bool = False
) -> MappingProxyType[int, tuple[tuple[time, time], ...]]:
    week: dict[int, tuple[tuple[time, time], ...]] = dict.fromkeys(range(5), _WEEKDAYS)
    week[3] = thursday
    if saturday:
        week[5] = ((time(9, 0), time(12, 0)),)
    return MappingProxyType(week)


ALL_SERVICES: Final = (PERSONALAUSWEIS, REISEPASS, MELDEBESCHEINIGUNG, ANMELDUNG, FUEHRUNGSZEUGNIS)

OFFICES: Final = MappingProxyType(
    {
        (o.tenant, o.id): o
        for o in (
            Office(
                "usingen",
                "buergerbuero",
                "Bürgerbüro Usingen",
                "Wilhelmjstraße 1, 61250 Usingen",
                ("Schalter 1", "Schalter 2", "Schalter 3"),
                _hours(saturday=True),
                ALL_SERVICES,
            ),
            Office(
                "neu-anspach",
                "buergerbuero",
                "Bürgerbüro Neu-Anspach",
                "Bahnhofstraße 26, 61267 Neu-Anspach",
                ("Schalter 1", "Schalter 2"),
                _hours(),
                ALL_SERVICES,
                rules=BookingRules(max_days_ahead=45, erase_after_days=21),
            ),
            Office(
                "schmitten",
                "buergerbuero",
                "Bürgerbüro Schmitten",
                "Parkstraße 2, 61389 Schmitten im Taunus",
                ("Schalter 1", "Schalter 2"),
                _hours(),
                (PERSONALAUSWEIS, REISEPASS, MELDEBESCHEINIGUNG, ANMELDUNG),
            ),
            Office(
                "glashuetten",
                "buergerbuero",
                "Bürgerbüro Glashütten",
                "Schloßborner Weg 2, 61479 Glashütten",
                ("Schalter 1",),
                _hours(),
                (PERSONALAUSWEIS, REISEPASS, MELDEBESCHEINIGUNG, ANMELDUNG),
                rules=BookingRules(max_days_ahead=30, erase_after_days=30, max_calls=3),
            ),
        )
    }
)


def office(tenant: str, office_id: str) -> Office:
    """The town's office with this id, or ``UnknownOffice``."""
    try:
        return OFFICES[(tenant, office_id)]
    except KeyError:
        raise UnknownOffice(tenant, office_id) from None


def offices_of(tenant: str) -> tuple[Office, ...]:
    """The town's offices, in configuration order."""
    return tuple(o for (t, _), o in OFFICES.items() if t == tenant)

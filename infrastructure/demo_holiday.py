"""Demo: the holiday programme (Ferienspiele, § 11 SGB VIII, #27) in every town.

Each town's staff published three offerings, and guardians registered their children as the
portal registers them (``holiday-registration`` cases, each recorded on its offering in the
same save):

- **Waldtage** ended five weeks ago: its window closed, the holiday watch drew the places (five
  children for three), and the day after its last day the watch erased the children's health
  notes and allergies;
- **Zirkuswoche** starts in three weeks: its window closed last week and the town's clerk drew
  the places (eight children of seven families for four places; two families live elsewhere,
  two are friends); then a family with a place cancelled, and the next one waiting moved up;
- **Forscherwerkstatt** starts in six weeks: its window opened three days ago and is open now
  (by the app clock), two families registered so far.

Every step goes through the application's services (``HolidayService``, ``HolidayWatch``, the
case pipeline), never by writing events. The days follow today: the offerings' years are the
years they start in. Running the demo again, on any day, leaves a town whose first
registration exists as it is: its cases are found by their idempotency keys, nothing new is
made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.holiday import HolidayService, HolidayWatch
from domain.actor import Actor, Role
from domain.holiday.offering import AllocationRules, HolidayOffering, offering_id
from domain.services.holiday_registration import (
    SERVICE_ID,
    STEPS,
    HolidayRegistration,
    RegistrationCancellation,
)
from domain.working_days import BERLIN, add_months, berlin_date
from infrastructure.wiring import Vorgang

HEALTH_WORDING: Final = "2026-1"
CANCELLED_BECAUSE: Final = "Wir sind in den Ferien doch verreist."


@dataclass(frozen=True)
class Family:
    """A family registering its children: the children's given names and ages on the first
    day, where it lives, what the carers should know about the first child."""

    family_name: str
    guardian: str
    children: tuple[tuple[str, int], ...]
    resident: bool = True
    health_notes: str | None = None
    allergies: str | None = None
    friends_code: str | None = None


@dataclass(frozen=True)
class DemoOffering:
    """One offering, its days counted from today (its window opens and closes at eight in
    Berlin), and the families registering for it."""

    code: str
    activity: str
    description: str
    location: str
    starts_in: int
    runs_days: int
    opens_in: int
    closes_in: int
    places: int
    fee: Decimal
    min_age: int
    max_age: int
    families: tuple[Family, ...]

    def starts_on(self, today: date) -> date:
        """Its first day."""
        return today + timedelta(days=self.starts_in)

    def ends_on(self, today: date) -> date:
        """Its last day."""
        return self.starts_on(today) + timedelta(days=self.runs_days - 1)

    def opens_at(self, today: date) -> datetime:
        """When its registration window opens."""
        return at(today + timedelta(days=self.opens_in), 8)

    def closes_at(self, today: date) -> datetime:
        """When its registration window closes."""
        return at(today + timedelta(days=self.closes_in), 8)


ENDED: Final = DemoOffering(
    code="WALDTAGE",
    activity="Waldtage mit dem Förster",
    description="Drei Tage im Wald: Spuren lesen, eine Hütte bauen, Stockbrot am Feuer.",
    location="Waldparkplatz am Forsthaus",
    starts_in=-40,
    runs_days=3,
    opens_in=-95,
    closes_in=-60,
    places=3,
    fee=Decimal("15.00"),
    min_age=6,
    max_age=10,
    families=(
        Family("Sommer", "Eva Sommer", (("Lina", 8),), health_notes="Asthma, Spray im Rucksack"),
        Family("Yıldız", "Ayşe Yıldız", (("Emir", 9),)),  # noqa: RUF001 - a Turkish name
        Family("Brandt", "Jens Brandt", (("Mia", 7), ("Ole", 9)), allergies="Wespenstiche"),
        Family("Keller", "Nina Keller", (("Paul", 10),)),
    ),
)
DRAWN: Final = DemoOffering(
    code="ZIRKUS",
    activity="Zirkuswoche",
    description="Eine Woche Zirkus: Jonglieren, Akrobatik, Clownerie; am Freitag die Vorstellung.",
    location="Bürgerhaus, großer Saal",
    starts_in=20,
    runs_days=5,
    opens_in=-30,
    closes_in=-6,
    places=4,
    fee=Decimal("40.00"),
    min_age=6,
    max_age=12,
    families=(
        Family("Hoffmann", "Sandra Hoffmann", (("Jonas", 7), ("Lea", 10))),
        Family("Nowak", "Piotr Nowak", (("Zofia", 8),), allergies="Erdnüsse"),
        Family("Berger", "Tanja Berger", (("Finn", 11),), friends_code="zirkus-freunde"),
        Family("Schulz", "Mehmet Schulz", (("Ella", 11),), friends_code="zirkus-freunde"),
        Family("Wolf", "Kerstin Wolf", (("Noah", 9),), resident=False),
        Family("Lorenz", "Stefan Lorenz", (("Emma", 6),), health_notes="Diabetes Typ 1"),
        Family("Roth", "Julia Roth", (("Ben", 12),), resident=False),
    ),
)
OPEN: Final = DemoOffering(
    code="FORSCHER",
    activity="Forscherwerkstatt",
    description="Vier Vormittage experimentieren: Wasser, Luft, Strom und Magnete.",
    location="Grundschule, Werkraum",
    starts_in=45,
    runs_days=4,
    opens_in=-3,
    closes_in=14,
    places=12,
    fee=Decimal("20.00"),
    min_age=7,
    max_age=11,
    families=(
        Family("Krause", "Anja Krause", (("Tim", 9),), allergies="Laktose"),
        Family("Vogel", "Markus Vogel", (("Lotta", 7), ("Karl", 10))),
    ),
)
OFFERINGS: Final = (ENDED, DRAWN, OPEN)


class HolidayTown(Protocol):
    """A town as the holiday demo needs it: its id, its staff and its addresses."""

    @property
    def tenant(self) -> str:
        """The town's tenant id."""
        ...

    @property
    def clerk(self) -> Actor:
        """The clerk who runs the programme (and reads its health notes)."""
        ...

    @property
    def postal_code(self) -> str:
        """The town's postal code."""
        ...

    @property
    def city(self) -> str:
        """The town's name in addresses."""
        ...

    @property
    def streets(self) -> tuple[str, ...]:
        """Streets of the town."""
        ...


def at(day: date, hour: int) -> datetime:
    """An hour of a day in Berlin."""
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


@dataclass(frozen=True)
class Seeding:
    """One town's seeding: where, today, and whether the town was seeded before (then
    nothing is made, the cases made before are found)."""

    vorgang: Vorgang
    town: HolidayTown
    today: date
    again: bool


def seed_holiday(vorgang: Vorgang, town: HolidayTown, now: datetime) -> list[UUID]:
    """The town's offerings and registrations, made once (the first registration says it
    was); the registration cases' ids, made now or before."""
    today = berlin_date(now)
    again = _exists(vorgang, _case_id(vorgang, town, ENDED, 0))
    seeding = Seeding(vorgang, town, today, again)
    ids = []
    for offering in OFFERINGS:
        ids += _offering(seeding, offering)
    return ids


def _exists(vorgang: Vorgang, aggregate_id: UUID) -> bool:
    return vorgang.store.recorder.select_events(aggregate_id, limit=1) != []


def _service(vorgang: Vorgang, clock: FixedClock) -> HolidayService:
    return HolidayService(vorgang.store, clock, vorgang.holiday.keys)


def _offering(seeding: Seeding, offering: DemoOffering) -> list[UUID]:
    """An offering published a week before its window opens, its families registered an
    hour apart from the opening, then carried to where the demo wants it."""
    town, today = seeding.town, seeding.today
    if not seeding.again:
        clock = FixedClock(offering.opens_at(today) - timedelta(days=7))
        _service(seeding.vorgang, clock).publish(
            town.clerk,
            year=offering.starts_on(today).year,
            code=offering.code,
            activity=offering.activity,
            description=offering.description,
            location=offering.location,
            starts_on=offering.starts_on(today),
            ends_on=offering.ends_on(today),
            min_age=offering.min_age,
            max_age=offering.max_age,
            places=offering.places,
            fee=offering.fee,
            registration_opens_at=offering.opens_at(today),
            registration_closes_at=offering.closes_at(today),
            rules=AllocationRules(),
            staff=[town.clerk.id],
        )
    ids = []
    for number, _family in enumerate(offering.families):
        case_id = _register(seeding, offering, number)
        if case_id is not None:
            ids.append(case_id)
    if seeding.again:
        return ids
    if offering is ENDED:
        _drawn_and_erased_by_the_watch(seeding, offering)
    elif offering is DRAWN:
        _drawn_then_cancelled(seeding, offering)
    return ids


def _drawn_and_erased_by_the_watch(seeding: Seeding, offering: DemoOffering) -> None:
    """The watch draws the places an hour after the window closed, and erases the health
    notes early on the day after the offering's last day."""
    today = seeding.today
    clock = FixedClock(offering.closes_at(today) + timedelta(hours=1))
    watch = HolidayWatch(_service(seeding.vorgang, clock), towns=(seeding.town.tenant,))
    watch.tick(berlin_date(clock.now()))
    clock.set(at(offering.ends_on(today) + timedelta(days=1), 6))
    watch.tick(berlin_date(clock.now()))


def _drawn_then_cancelled(seeding: Seeding, offering: DemoOffering) -> None:
    """The clerk draws the places the morning after the window closed; four days later the
    family with a place and the most children cancels: the next waiting that fits moves up."""
    vorgang, town, today = seeding.vorgang, seeding.town, seeding.today
    clock = FixedClock(offering.closes_at(today) + timedelta(days=1, hours=1))
    the_id = offering_id(town.tenant, offering.starts_on(today).year, offering.code)
    drawn = _service(vorgang, clock).draw(town.clerk, the_id)
    allocated = {e.case_id for e in drawn.entries() if e.status == "allocated"}
    cancelling = max(allocated, key=lambda case: (len(drawn.entries_of(case)), str(case)))
    number = next(
        n
        for n in range(len(offering.families))
        if _case_id(vorgang, town, offering, n) == cancelling
    )
    clock.advance(timedelta(days=4))
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    step = STEPS.named("cancel_registration")
    body = RegistrationCancellation(children=None, reason=CANCELLED_BECAUSE)
    CommandHandler(cases).handle(cancelling, step(body), _guardian(town, offering, number), None)


def _guardian(town: HolidayTown, offering: DemoOffering, number: int) -> Actor:
    """The family's guardian signed in to the portal."""
    family = offering.families[number]
    account = f"portal:demo-holiday-{town.tenant}-{offering.code.lower()}-{number}"
    return Actor(account, family.guardian, Role.APPLICANT, town.tenant)


def _key(town: HolidayTown, offering: DemoOffering, number: int) -> str:
    return f"demo-holiday-{town.tenant}-{offering.code.lower()}-{number}"


def _case_id(vorgang: Vorgang, town: HolidayTown, offering: DemoOffering, number: int) -> UUID:
    return vorgang.cases.identities.case_id(
        aggregate_type=HolidayRegistration.__name__,
        tenant=town.tenant,
        subject=_guardian(town, offering, number).id,
        idempotency_key=_key(town, offering, number),
    )


def _register(seeding: Seeding, offering: DemoOffering, number: int) -> UUID | None:
    """One family's registration, submitted in the portal an hour (or a few) after the window
    opened; found if it exists (None: not made when the town was seeded before)."""
    vorgang, town, today = seeding.vorgang, seeding.town, seeding.today
    case_id = _case_id(vorgang, town, offering, number)
    if _exists(vorgang, case_id):
        return case_id
    if seeding.again:
        return None
    family = offering.families[number]
    clock = FixedClock(offering.opens_at(today) + timedelta(hours=1 + 3 * number))
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    street = town.streets[number % len(town.streets)]
    email = f"{family.guardian.lower().replace(' ', '.')}@example.org"
    city, postal_code = (town.city, town.postal_code) if family.resident else ("Wehrheim", "61273")
    person = {
        "name": family.guardian,
        "email": email,
        "street": street if family.resident else "Hauptstraße",
        "house_number": str(4 + 5 * number),
        "postal_code": postal_code,
        "city": city,
    }
    data = _form(town, offering, family, today, person)
    result = cases.submit(
        actor=_guardian(town, offering, number),
        tenant=town.tenant,
        service=SERVICE_ID,
        applicant=person,
        data=data,
        idempotency_key=_key(town, offering, number),
    )
    return result.case_id


def _born_on(starts_on: date, age: int, index: int) -> date:
    """A day of birth that makes the child ``age`` on the offering's first day."""
    return add_months(starts_on, -12 * age) - timedelta(days=40 + 61 * index)


def _form(
    town: HolidayTown,
    offering: DemoOffering,
    family: Family,
    today: date,
    person: dict[str, str],
) -> dict[str, Any]:
    """The registration as the portal sends it."""
    starts_on = offering.starts_on(today)
    children = []
    for index, (given_name, age) in enumerate(family.children):
        child: dict[str, Any] = {
            "given_name": given_name,
            "family_name": family.family_name,
            "born_on": _born_on(starts_on, age, index).isoformat(),
            "photo_consent": index % 2 == 0,
        }
        if index == 0:
            child["health_notes"] = family.health_notes
            child["allergies"] = family.allergies
        children.append(child)
    health = family.health_notes is not None or family.allergies is not None
    return {
        "offering": str(offering_id(town.tenant, starts_on.year, offering.code)),
        "children": children,
        "guardians": [{"name": family.guardian, "phone": "06081 123456", "email": person["email"]}],
        "pickup_persons": [{"name": f"Oma {family.family_name}", "relation": "Großmutter"}],
        "address": f"{person['street']} {person['house_number']}, "
        f"{person['postal_code']} {person['city']}",
        "municipality": town.tenant if family.resident else "other",
        "health_consent": ({"given": True, "wording_version": HEALTH_WORDING} if health else None),
        "friends_code": family.friends_code,
    }


def offering_ids(town: HolidayTown, now: datetime) -> dict[str, UUID]:
    """The demo's offerings of a town as seeded on ``now``'s day: code → id."""
    today = berlin_date(now)
    return {o.code: offering_id(town.tenant, o.starts_on(today).year, o.code) for o in OFFERINGS}


def offering_of(vorgang: Vorgang, town: HolidayTown, code: str, now: datetime) -> HolidayOffering:
    """A demo offering as stored."""
    found: Any = vorgang.store.repository.get(offering_ids(town, now)[code])
    if not isinstance(found, HolidayOffering):
        raise TypeError(f"{code} is no holiday offering")
    return found

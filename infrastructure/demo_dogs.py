"""Demo dog files: dogs registered, taxed and notified in every town (all names invented).

In each town: a keeper's one dog, registered with its Hundesteuerbescheid sent by letter; a
shelter dog whose half rate was granted for the shelter's contract; a Rottweiler (a listed
breed: the dangerous dog's rate) whose keeper holds the permit; a dog whose lost tag was
replaced for the fee; and a registration waiting in the clerk's inbox. In Usingen and
Schmitten a keeper registered a second dog (the second dog's rate, the same household). In
Schmitten the shelter's contract came after the Bescheid: the relief assessed the tax anew,
the earlier charge withdrawn, and the amending notice (Änderungsbescheid) went out by letter,
dating the new charge a month after its Bekanntgabe. In Neu-Anspach a keeper handed her dog
over and deregistered it (the tax ends with the month: an amending notice by letter too);
the new keeper registered the same chip in his own file.

The dogs were taken in five to seven weeks before they were registered (the new keeper's
three days), so each Bescheid charges months of the year of registration (a dog is taxed
from the month after it was taken in). Every step runs through the pipeline as the town's
clerk; each file starts on a day of the demo at a set hour (Berlin time), so the handover's
day is the day the new keeper took the dog in. The idempotency numbers are 1000 and up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Final, Protocol
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.services.dog_registration import Deregistration, TagReturn
from domain.services.dog_steps import (
    STEPS,
    DangerousDogPermitDecision,
    DogDeregistration,
    DogEntry,
    ReliefDecision,
    TaxChangeNotice,
)
from domain.working_days import add_months, berlin_date
from infrastructure.demo_steps import (
    LETTER,
    Office,
    Step,
    case_of,
    notify,
    review,
    today,
    waiting,
)

SERVICE: Final = "dog-registration"
FIRST_INDEX: Final = 1000  # the idempotency numbers of the dog files: 1000 and up
HANDED_OVER_AFTER: Final = 18  # days after its submission the first keeper hands the dog over
HANDOVER_REPORTED: Final = 2  # and reports it two days later
NEW_KEEPER_AFTER: Final = 21  # days after the first file the new keeper's file is submitted


class Place(Protocol):
    """A town as the dog files' addresses need it."""

    @property
    def postal_code(self) -> str:
        """The town's postal code."""
        ...

    @property
    def city(self) -> str:
        """The town's name in addresses."""
        ...


@dataclass(frozen=True)
class Keeper:
    """A dog's keeper: the portal account they apply from, name, address, date of birth."""

    account: int  # the portal account: portal:demo-<town>-<account>
    name: str
    email: str
    street: str
    house_number: str
    born_on: date


@dataclass(frozen=True)
class Pet:
    """The dog as the keeper describes it."""

    name: str
    breed: str
    colour: str
    age_months: int  # on the day the file is submitted


@dataclass(frozen=True)
class DogFile:
    """One demo dog file: its number, keeper, dog, dates, and what the clerk did."""

    index: int  # the number in the case's idempotency key (unique in the town)
    keeper: Keeper
    pet: Pet
    chip: str
    taken_in_days_before: int  # the dog was taken in so many days before the submission
    step: Step
    days_later: int = 0  # submitted so many days after the town's first dog file
    hour: int = 9  # submitted at this hour (Berlin time)
    dogs_in_household: int = 1
    shelter: bool = False  # a reduction applied for: from an animal shelter
    shows: str = ""  # what the file is there to show (German, as the office would say it)


def chip(town: int, number: int) -> str:
    """An invented microchip number (ISO 11784: 276 for Germany), distinct per file."""
    return f"276 098 10{town} 5{number:02d} {town}{number:02d}"


def application(dog: DogFile, place: Place, on: date) -> dict[str, Any]:
    """The registration as the keeper submits it on ``on``."""
    taken_in = on - timedelta(days=dog.taken_in_days_before)
    data: dict[str, Any] = {
        "keeper": {
            "born_on": dog.keeper.born_on.isoformat(),
            "street": dog.keeper.street,
            "house_number": dog.keeper.house_number,
            "postcode": place.postal_code,
            "place": place.city,
        },
        "dog": {
            "name": dog.pet.name,
            "breed": dog.pet.breed,
            "colour": dog.pet.colour,
            "born_on": add_months(on, -dog.pet.age_months).isoformat(),
            "chip": dog.chip,
        },
        "taken_in_on": taken_in.isoformat(),
        "dogs_in_household": dog.dogs_in_household,
    }
    if dog.shelter:
        data["relief"] = {
            "reason": "shelter_dog",
            "proof": f"Abgabevertrag des Tierheims Hochtaunus vom {taken_in:%d.%m.%Y}",
            "from_day": taken_in.isoformat(),
        }
    return data


def applicant(dog: DogFile, place: Place) -> dict[str, str]:
    """The applicant as the portal sends it: the keeper."""
    return {
        "name": dog.keeper.name,
        "email": dog.keeper.email,
        "street": dog.keeper.street,
        "house_number": dog.keeper.house_number,
        "postal_code": place.postal_code,
        "city": place.city,
    }


# ------------------------------------------------------------------------------ the steps


def _register_and_notify(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Entered in the register (the Bescheid decided with it), then sent by letter."""
    clock.advance(timedelta(hours=1))
    h.handle(case_id, STEPS.named("register_dog")(DogEntry()), town.clerk, None)
    notify(h, case_id, town, clock, LETTER)


def registered(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed the next day, registered with its tag, the Bescheid sent by letter."""
    review(h, case_id, town, clock)
    _register_and_notify(h, case_id, town, clock)


SHELTER_REASONS: Final = "Der Abgabevertrag des Tierheims liegt vor."


def relief_then_registered(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """The shelter's contract checked in review: the Bescheid charges the reduced rate."""
    review(h, case_id, town, clock)
    relief = ReliefDecision(granted=True, reasons=SHELTER_REASONS)
    h.handle(case_id, STEPS.named("decide_relief")(relief), town.clerk, None)
    _register_and_notify(h, case_id, town, clock)


def registered_then_relief(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """The contract came after the Bescheid: the relief assesses the tax anew, and the
    amending notice makes the new amount known."""
    registered(h, case_id, town, clock)
    clock.advance(timedelta(days=6))
    relief = ReliefDecision(
        granted=True, reasons="Der Abgabevertrag des Tierheims wurde nachgereicht."
    )
    h.handle(case_id, STEPS.named("decide_relief")(relief), town.clerk, None)
    clock.advance(timedelta(hours=1))
    tax_change_notified(h, case_id, town)


def tax_change_notified(h: CommandHandler, case_id: UUID, town: Office) -> None:
    """The amending notice of the years assessed anew, sent by letter the same day."""
    notice = TaxChangeNotice(delivery=LETTER)
    h.handle(case_id, STEPS.named("notify_tax_change")(notice), town.clerk, None)


def listed_with_permit(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """A listed breed: the dangerous dog's rate; the permit granted once all is proven."""
    registered(h, case_id, town, clock)
    clock.advance(timedelta(days=9))
    day = today(clock)
    permit = DangerousDogPermitDecision(
        granted=True,
        reasons="Alle Voraussetzungen nach der HundeVO sind nachgewiesen.",
        reliability_proof=f"Führungszeugnis vom {day - timedelta(days=30):%d.%m.%Y}",
        expertise_proof=f"Sachkundenachweis Nr. {day:%Y}-{case_id.int % 900 + 100}",
        temperament_test_passed_on=day - timedelta(days=5),
        liability_insurance=f"Taunus Versicherung AG, Police HH-{case_id.int % 90000 + 10000}",
    )
    h.handle(case_id, STEPS.named("decide_dangerous_dog_permit")(permit), town.clerk, None)


def tag_replaced(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Registered; weeks later the keeper reports the tag lost: a new number, for the fee."""
    registered(h, case_id, town, clock)
    clock.advance(timedelta(days=16))
    h.handle(case_id, STEPS.named("replace_lost_tag")(), town.clerk, None)


def handed_over(new_keeper: str) -> Step:
    """Registered; the keeper hands the dog over and deregisters it, returning the tag; the
    amending notice makes the tax ending with the month known."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        registered(h, case_id, town, clock)
        handover = berlin_date(case_of(h, case_id).submitted_at) + timedelta(days=HANDED_OVER_AFTER)
        clock.advance(timedelta(days=HANDED_OVER_AFTER + HANDOVER_REPORTED - 1))
        body = DogDeregistration(
            reason=Deregistration.HANDOVER,
            on=handover,
            tag=TagReturn.RETURNED,
            new_keeper=new_keeper,
        )
        h.handle(case_id, STEPS.named("deregister_dog")(body), town.clerk, None)
        clock.advance(timedelta(hours=1))
        tax_change_notified(h, case_id, town)

    return step


# ------------------------------------------------------------------------------ the towns

SINGLE, PAIR_FIRST, PAIR_SECOND, SHELTER, LISTED, LOST_TAG, INBOX, GIVEN, TAKEN = range(9)


def _keeper(slot: int, name: str, street: str, house: str, born: date, account: int = 0) -> Keeper:
    email = name.lower().replace(" ", ".").replace("ä", "ae").replace("ö", "oe")
    email = email.replace("ü", "ue").replace("ß", "ss")
    return Keeper(
        account=account or FIRST_INDEX + slot,
        name=name,
        email=f"{email}@example.org",
        street=street,
        house_number=house,
        born_on=born,
    )


def _files(town: int, keepers: dict[int, Keeper], pets: dict[int, Pet]) -> tuple[DogFile, ...]:
    """The town's dog files, in the order they are seeded (a chip number per dog)."""
    handover_chip = chip(town, GIVEN)
    files = []
    for slot, keeper in sorted(keepers.items()):
        pet = pets[GIVEN if slot == TAKEN else slot]
        files.append(
            DogFile(
                index=FIRST_INDEX + slot,
                keeper=keeper,
                pet=pet,
                chip=handover_chip if slot == TAKEN else chip(town, slot),
                taken_in_days_before=_TAKEN_IN[slot],
                step=_STEPS[slot],
                days_later=NEW_KEEPER_AFTER if slot == TAKEN else 0,
                hour=9 + (slot if slot != TAKEN else GIVEN),
                dogs_in_household=2 if slot == PAIR_SECOND else 1,
                shelter=slot == SHELTER,
                shows=_SHOWS[slot],
            )
        )
    return tuple(files)


_TAKEN_IN: Final = {
    SINGLE: 40,
    PAIR_FIRST: 48,
    PAIR_SECOND: 36,
    SHELTER: 38,
    LISTED: 42,
    LOST_TAG: 45,
    INBOX: 10,
    GIVEN: 44,
    TAKEN: NEW_KEEPER_AFTER - HANDED_OVER_AFTER,
}
_STEPS: Final[dict[int, Step]] = {
    SINGLE: registered,
    PAIR_FIRST: registered,
    PAIR_SECOND: registered,
    SHELTER: relief_then_registered,
    LISTED: listed_with_permit,
    LOST_TAG: tag_replaced,
    INBOX: waiting,
    GIVEN: handed_over("Jan Weber, Am Brunnen 7, 61267 Neu-Anspach"),
    TAKEN: registered,
}
_SHOWS: Final = {
    SINGLE: "ein Hund, Bescheid per Brief",
    PAIR_FIRST: "erster Hund des Haushalts",
    PAIR_SECOND: "zweiter Hund des Haushalts: Steuersatz für den zweiten Hund",
    SHELTER: "Tierheimhund: Ermäßigung gewährt",
    LISTED: "gelistete Rasse: Steuersatz für gefährliche Hunde, Erlaubnis erteilt",
    LOST_TAG: "Steuermarke verloren, Ersatzmarke gegen Gebühr",
    INBOX: "Anmeldung im Posteingang",
    GIVEN: "abgegeben und abgemeldet, Marke zurück",
    TAKEN: "vom neuen Halter mit demselben Chip angemeldet",
}

_USINGEN = _files(
    0,
    {
        SINGLE: _keeper(SINGLE, "Sabine Hartmann", "Obergasse", "14", date(1978, 5, 3)),
        PAIR_FIRST: _keeper(PAIR_FIRST, "Michael Braun", "Neuer Weg", "9", date(1983, 9, 21)),
        PAIR_SECOND: _keeper(
            PAIR_SECOND,
            "Michael Braun",
            "Neuer Weg",
            "9",
            date(1983, 9, 21),
            account=FIRST_INDEX + PAIR_FIRST,
        ),
        SHELTER: _keeper(SHELTER, "Julia Neumann", "Kreuzgasse", "5", date(1991, 2, 14)),
        LISTED: _keeper(LISTED, "Dennis Krause", "Weilburger Straße", "31", date(1979, 11, 8)),
        LOST_TAG: _keeper(LOST_TAG, "Monika Fischer", "Schlossplatz", "2", date(1965, 7, 30)),
        INBOX: _keeper(INBOX, "Katrin Vogel", "Hattsteiner Allee", "18", date(1994, 4, 6)),
    },
    {
        SINGLE: Pet("Bello", "Labrador Retriever", "schwarz", 30),
        PAIR_FIRST: Pet("Emma", "Beagle", "dreifarbig", 50),
        PAIR_SECOND: Pet("Paul", "Dackel (Rauhaar)", "saufarben", 14),
        SHELTER: Pet("Socke", "Mischling (Schäferhund)", "schwarz-braun", 60),
        LISTED: Pet("Ares", "Rottweiler", "schwarz-loh", 26),
        LOST_TAG: Pet("Lotta", "Golden Retriever", "gold", 40),
        INBOX: Pet("Frieda", "Border Collie", "schwarz-weiß", 18),
    },
)

_NEU_ANSPACH = _files(
    1,
    {
        SINGLE: _keeper(SINGLE, "Andreas Wolf", "Schulstraße", "8", date(1972, 3, 17)),
        SHELTER: _keeper(SHELTER, "Laura Zimmermann", "Feldbergstraße", "22", date(1988, 12, 1)),
        LISTED: _keeper(LISTED, "Sven Schröder", "Bahnhofstraße", "41", date(1985, 6, 25)),
        LOST_TAG: _keeper(LOST_TAG, "Ingrid Lehmann", "Am Brunnen", "3", date(1958, 10, 12)),
        INBOX: _keeper(INBOX, "Tim Schwarz", "Saalburgstraße", "16", date(1999, 1, 28)),
        GIVEN: _keeper(GIVEN, "Stefanie Roth", "Usinger Straße", "27", date(1981, 8, 9)),
        TAKEN: _keeper(TAKEN, "Jan Weber", "Am Brunnen", "7", date(1976, 2, 19)),
    },
    {
        SINGLE: Pet("Balou", "Berner Sennenhund", "dreifarbig", 36),
        SHELTER: Pet("Nala", "Mischling", "beige", 48),
        LISTED: Pet("Tyson", "Rottweiler-Mischling", "schwarz-braun", 30),
        LOST_TAG: Pet("Lucky", "Jack Russell Terrier", "weiß-braun", 72),
        INBOX: Pet("Milo", "Französische Bulldogge", "gestromt", 13),
        GIVEN: Pet("Luna", "Australian Shepherd", "blue merle", 28),
    },
)

_SCHMITTEN = _files(
    2,
    {
        SINGLE: _keeper(SINGLE, "Markus Schulz", "Lindenweg", "12", date(1969, 12, 4)),
        PAIR_FIRST: _keeper(PAIR_FIRST, "Claudia Becker", "Parkstraße", "6", date(1975, 4, 22)),
        PAIR_SECOND: _keeper(
            PAIR_SECOND,
            "Claudia Becker",
            "Parkstraße",
            "6",
            date(1975, 4, 22),
            account=FIRST_INDEX + PAIR_FIRST,
        ),
        SHELTER: _keeper(SHELTER, "Nicole Köhler", "Dorfweilerstraße", "19", date(1990, 9, 3)),
        LISTED: _keeper(LISTED, "Patrick Meier", "Arnoldshainer Weg", "4", date(1987, 1, 15)),
        LOST_TAG: _keeper(LOST_TAG, "Gerhard Walter", "Feldbergstraße", "10", date(1955, 6, 11)),
        INBOX: _keeper(INBOX, "Lena König", "Am Kirchberg", "3", date(1997, 3, 9)),
    },
    {
        SINGLE: Pet("Rocky", "Deutscher Schäferhund", "schwarz-rot", 44),
        PAIR_FIRST: Pet("Kira", "Labrador Retriever", "blond", 64),
        PAIR_SECOND: Pet("Sammy", "Cocker Spaniel", "rot", 20),
        SHELTER: Pet("Flocke", "Mischling (Spitz)", "weiß", 84),
        LISTED: Pet("Brutus", "Rottweiler", "schwarz-loh", 38),
        LOST_TAG: Pet("Benny", "Pudel", "apricot", 96),
        INBOX: Pet("Maja", "Magyar Vizsla", "semmelgelb", 16),
    },
)

_GLASHUETTEN = _files(
    3,
    {
        SINGLE: _keeper(SINGLE, "Christina Lange", "Limesstraße", "21", date(1980, 7, 7)),
        SHELTER: _keeper(SHELTER, "Tobias Frank", "Am Hang", "11", date(1986, 5, 19)),
        LISTED: _keeper(LISTED, "Kevin Berger", "Talstraße", "2", date(1992, 10, 30)),
        LOST_TAG: _keeper(LOST_TAG, "Ursula Keller", "Schloßborner Weg", "15", date(1961, 1, 5)),
        INBOX: _keeper(INBOX, "Anja Huber", "Waldstraße", "24", date(1984, 11, 23)),
    },
    {
        SINGLE: Pet("Oskar", "Weimaraner", "silbergrau", 34),
        SHELTER: Pet("Motte", "Mischling (Terrier)", "grau", 54),
        LISTED: Pet("Rex", "Rottweiler", "schwarz-loh", 28),
        LOST_TAG: Pet("Gina", "Havaneser", "weiß", 66),
        INBOX: Pet("Teddy", "Golden Retriever", "hellgold", 12),
    },
)

# In Schmitten the shelter's contract came after the Bescheid (the tax assessed anew).
_SCHMITTEN = tuple(
    replace(
        f,
        step=registered_then_relief,
        shows="Tierheimhund: Ermäßigung nach dem Bescheid, Steuer neu festgesetzt",
    )
    if f.index == FIRST_INDEX + SHELTER
    else f
    for f in _SCHMITTEN
)

DOG_FILES: Final[dict[str, tuple[DogFile, ...]]] = {
    "usingen": _USINGEN,
    "neu-anspach": _NEU_ANSPACH,
    "schmitten": _SCHMITTEN,
    "glashuetten": _GLASHUETTEN,
}


def dog_files(tenant: str) -> tuple[DogFile, ...]:
    """The town's demo dog files, in the order they are seeded."""
    return DOG_FILES.get(tenant, ())

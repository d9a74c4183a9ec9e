"""The town's dog register, its roll of tax tags and each keeper's household of dogs.

Three aggregates shared by the dog registration cases (domain/services/dog_registration.py),
each saved in the same atomic save as the case that changes it, so of two concurrent steps
on the same register, roll or household one save fails on the aggregate's version and its
retry sees the other's outcome:

- ``DogRegister``, one per town and microchip: a chip is registered once per town at a
  time. While one case holds it, another registration of the chip is refused
  (``ChipAlreadyRegistered``); once that case deregistered the dog, another case (a new
  keeper) may register it again.
- ``TaxTagRoll``, one per town: tax tag numbers (Hundesteuermarken) run 1, 2, 3, ... and a
  number is never issued twice in a town, not even after its tag was returned or lost.
- ``DogHousehold``, one per town and keeper: the household is what the dog tax counts (the
  first, second and further dog of a household pay different rates), so the household
  holds each dog's dates, danger flag and relief, and gives them to domain.rules.dog_tax.

No personal data sits in these aggregates: the register's and the household's ids are
HMACs of the normalised chip (``normalised_chip``) or keeper (``keeper_key``) under a
per-tenant secret (docs/architecture.md, decision 8), computed by the application; the roll's
id derives from the town alone (``tag_roll_id``). Events record case ids, dates, numbers and
codes, and who changed what when; they store plain values, and the apply methods rebuild
the value objects (``RegisterEntry``, ``HouseholdDog``, ``ReliefClaim``) from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidCommand
from domain.rules.dog_tax import DogInHousehold, Relief, ReliefClaim, liability_months
from domain.rules.resident_parking import street_key

__all__ = [
    "TAG_ISSUE_REASONS",
    "TAG_WITHDRAWALS",
    "ChipAlreadyRegistered",
    "DogHousehold",
    "DogRegister",
    "HouseholdDog",
    "RegisterEntry",
    "TagNotHeld",
    "TaxTagRoll",
    "keeper_key",
    "normalised_chip",
    "tag_roll_id",
]

CHIP_FIELD: Final = "data.dog.chip"
TAG_ISSUE_REASONS: Final = frozenset({"registration", "replacement"})
TAG_WITHDRAWALS: Final = frozenset({"returned", "lost", "not_returned"})
_CHIP = re.compile(r"[0-9]{15}")  # ISO 11784/11785 transponder code: 15 decimal digits


# ------------------------------------------------------------------ keys and ids


def normalised_chip(text: str) -> str:
    """A microchip number as the register compares it: its 15 digits, blanks, '-' and '.' aside.

    Anything else is refused naming the field only (the input may be a chip number).
    """
    digits = re.sub(r"[\s.\-]", "", text)
    if not _CHIP.fullmatch(digits):
        raise InvalidCommand(CHIP_FIELD, "a microchip number has 15 digits")
    return digits


def keeper_key(name: str, street: str, house_number: str, postcode: str) -> str:
    """Who keeps dogs, for the household rule: name and address, case and blanks aside.

    Like ``resident_key`` of resident parking, with the postcode (a keeper's household is
    one address in the town).
    """
    return "|".join(
        (
            " ".join(name.casefold().split()),
            street_key(street),
            "".join(house_number.casefold().split()),
            "".join(postcode.casefold().split()),
        )
    )


def tag_roll_id(tenant: str) -> UUID:
    """The id of a town's roll of tax tags (public: it derives from the town alone)."""
    return uuid5(NAMESPACE_URL, f"vorgang:tax-tag-roll:{tenant}")


# ------------------------------------------------------------------ the register of chips


class ChipAlreadyRegistered(InvalidCommand):
    """The microchip is registered in this town already (by another case, or this one)."""

    def __init__(self, since: date) -> None:
        self.since = since
        super().__init__(CHIP_FIELD, f"the microchip is registered in this town since {since}")


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One case's registration of the chip: from when, and until when and how it ended."""

    case_id: UUID
    registered_on: date
    ended_on: date | None = None
    ended_how: str | None = None

    @property
    def current(self) -> bool:
        """Whether the registration still runs."""
        return self.ended_on is None


class DogRegister(Aggregate):
    """One microchip in one town: which case's dog holds it now, and which held it before."""

    @classmethod
    def start(cls, *, id: UUID, tenant: str) -> DogRegister:
        """A register nobody registered the chip in yet (the application derives its id)."""
        return cls(id=id, tenant=tenant)

    class Started(Aggregate.Created):
        """A register nobody registered the chip in yet."""

        tenant: str

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str) -> None:
        self.tenant = tenant
        self.current_case: UUID | None = None
        self.entries: list[RegisterEntry] = []

    @property
    def current_entry(self) -> RegisterEntry | None:
        """The registration that runs now, if any."""
        last = self.entries[-1] if self.entries else None
        return last if last is not None and last.current else None

    def register(self, *, case_id: UUID, registered_on: date, actor: Actor, at: datetime) -> None:
        """Register the chip for this case's dog; refused while any case holds it."""
        running = self.current_entry
        if running is not None:
            raise ChipAlreadyRegistered(running.registered_on)
        self._registered(case_id=case_id, registered_on=registered_on, actor_id=actor.id, at=at)

    class Registered(Aggregate.Event):
        """A case's dog was registered under the chip."""

        case_id: UUID
        registered_on: date
        actor_id: str
        at: datetime

    @event(Registered)
    def _registered(
        self, *, case_id: UUID, registered_on: date, actor_id: str, at: datetime
    ) -> None:
        self.entries = [*self.entries, RegisterEntry(case_id, registered_on)]
        self.current_case = case_id

    def deregister(
        self, *, case_id: UUID, ended_on: date, how: str, actor: Actor, at: datetime
    ) -> None:
        """End this case's registration of the chip on a day, saying how (a code, no names).

        Refused unless this case holds the chip now, or if ``how`` is blank. The day may lie
        before the registration was entered (a dog that died before its late registration):
        the case checks it against the day the dog was taken in.
        """
        running = self.current_entry
        if running is None or running.case_id != case_id:
            raise InvalidCommand("case", "this case does not hold the microchip's registration")
        if not how.strip():
            raise InvalidCommand("how", "says how the registration ended")
        self._deregistered(
            case_id=case_id, ended_on=ended_on, how=how.strip(), actor_id=actor.id, at=at
        )

    class Deregistered(Aggregate.Event):
        """A case's registration of the chip ended."""

        case_id: UUID
        ended_on: date
        how: str
        actor_id: str
        at: datetime

    @event(Deregistered)
    def _deregistered(
        self, *, case_id: UUID, ended_on: date, how: str, actor_id: str, at: datetime
    ) -> None:
        ended = replace(self.entries[-1], ended_on=ended_on, ended_how=how)
        self.entries = [*self.entries[:-1], ended]
        self.current_case = None


# ------------------------------------------------------------------ the roll of tax tags


class TagNotHeld(InvalidCommand):
    """The case does not hold the tax tag of this number."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__("tag", f"the case does not hold tax tag {number}")


class TaxTagRoll(Aggregate):
    """A town's tax tags: the last number issued, who holds each tag, and those withdrawn."""

    @classmethod
    def start(cls, *, id: UUID, tenant: str) -> TaxTagRoll:
        """A roll that issued no tag yet (its id: ``tag_roll_id(tenant)``)."""
        return cls(id=id, tenant=tenant)

    class Started(Aggregate.Created):
        """A roll that issued no tag yet."""

        tenant: str

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str) -> None:
        self.tenant = tenant
        self.last_issued = 0
        self.holders: dict[int, UUID] = {}
        self.withdrawn: dict[int, str] = {}

    def held_by(self, case_id: UUID) -> int | None:
        """The number of the tag the case holds now (the latest, should it hold two)."""
        return max((n for n, holder in self.holders.items() if holder == case_id), default=None)

    def issue(self, *, case_id: UUID, actor: Actor, at: datetime, reason: str) -> int:
        """Issue the next number's tag to the case, for a registration or a replacement."""
        if reason not in TAG_ISSUE_REASONS:
            raise InvalidCommand("reason", "a tag is issued for a registration or a replacement")
        number = self.last_issued + 1
        self._tag_issued(
            number=number, case_id=case_id, reason=str(reason), actor_id=actor.id, at=at
        )
        return number

    class TagIssued(Aggregate.Event):
        """A tag was issued to a case under the next number."""

        number: int
        case_id: UUID
        reason: str
        actor_id: str
        at: datetime

    @event(TagIssued)
    def _tag_issued(
        self, *, number: int, case_id: UUID, reason: str, actor_id: str, at: datetime
    ) -> None:
        self.last_issued = number
        self.holders = {**self.holders, number: case_id}

    def withdraw(self, *, number: int, case_id: UUID, how: str, actor: Actor, at: datetime) -> None:
        """Record that the case's tag came back, was lost, or was not returned.

        Refused unless the case holds that tag now; its number is never issued again.
        """
        if self.holders.get(number) != case_id:
            raise TagNotHeld(number)
        if how not in TAG_WITHDRAWALS:
            raise InvalidCommand("how", "a tag is returned, lost or not returned")
        self._tag_withdrawn(number=number, case_id=case_id, how=str(how), actor_id=actor.id, at=at)

    class TagWithdrawn(Aggregate.Event):
        """A case's tag left circulation: returned, lost or not returned."""

        number: int
        case_id: UUID
        how: str
        actor_id: str
        at: datetime

    @event(TagWithdrawn)
    def _tag_withdrawn(
        self, *, number: int, case_id: UUID, how: str, actor_id: str, at: datetime
    ) -> None:
        self.holders = {n: holder for n, holder in self.holders.items() if n != number}
        self.withdrawn = {**self.withdrawn, number: how}


# ------------------------------------------------------------------ the household


@dataclass(frozen=True, slots=True)
class HouseholdDog:
    """A dog of a keeper's household, as its case put it there (ids and dates only)."""

    case_id: UUID
    taken_in: date
    born_on: date | None
    left_on: date | None
    dangerous: bool
    relief: ReliefClaim | None
    dangerous_from: date | None = None  # found dangerous that day (None: from the start)
    entered: int = 0  # the order it entered the household (ranks dogs taken in on one day)

    def for_tax(self) -> DogInHousehold:
        """The dog as the year's dog tax reads it (its id: the case id)."""
        return DogInHousehold(
            dog_id=str(self.case_id),
            taken_in=self.taken_in,
            born_on=self.born_on,
            deregistered_on=self.left_on,
            dangerous=self.dangerous,
            relief=self.relief,
            dangerous_from=self.dangerous_from,
            entered=self.entered,
        )

    def kept_on(self, day: date) -> bool:
        """Whether the dog is in the household on the day (taken in, and not left yet)."""
        return self.taken_in <= day and (self.left_on is None or day < self.left_on)


def _relief(
    reason: str | None, from_day: date | None, until: date | None, proof: str | None
) -> ReliefClaim | None:
    """The relief an event's plain fields describe (no reason: none)."""
    if reason is None or from_day is None:
        return None
    return ReliefClaim(Relief(reason), from_day, until, proof or "")


def _relief_fields(relief: ReliefClaim | None) -> dict[str, Any]:
    """A relief as an event's plain fields (all None: none)."""
    return {
        "relief_reason": None if relief is None else relief.reason.value,
        "relief_from": None if relief is None else relief.from_day,
        "relief_until": None if relief is None else relief.until,
        "relief_proof": None if relief is None else relief.proof,
    }


def _check_relief(relief: ReliefClaim | None) -> None:
    """Refuse a relief that ends before it begins (the year's tax would refuse it later)."""
    if relief is not None and relief.until is not None and relief.until < relief.from_day:
        raise InvalidCommand("relief.until", "a relief ends after it begins")


class DogHousehold(Aggregate):
    """The dogs of one keeper in one town: the household the dog tax counts."""

    @classmethod
    def start(cls, *, id: UUID, tenant: str) -> DogHousehold:
        """A household without dogs yet (the application derives its id from ``keeper_key``)."""
        return cls(id=id, tenant=tenant)

    class Started(Aggregate.Created):
        """A household without dogs yet."""

        tenant: str

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str) -> None:
        self.tenant = tenant
        self.dogs: dict[UUID, HouseholdDog] = {}
        self.entries = 0  # dogs entered so far: each entry's number ranks ties

    def enter(
        self,
        *,
        case_id: UUID,
        taken_in: date,
        born_on: date | None,
        dangerous: bool,
        relief: ReliefClaim | None,
        actor: Actor,
        at: datetime,
        dangerous_from: date | None = None,
    ) -> None:
        """Take the case's dog into the household; refused while it is in it already.

        A dog that left may enter again: its new stay replaces the one before.
        """
        present = self.dogs.get(case_id)
        if present is not None and present.left_on is None:
            raise InvalidCommand("case", "the dog is in the household already")
        if born_on is not None and born_on > taken_in:
            raise InvalidCommand("born_on", "a dog is born before it is taken in")
        _check_relief(relief)
        self._dog_entered(
            case_id=case_id,
            taken_in=taken_in,
            born_on=born_on,
            dangerous=dangerous,
            dangerous_from=dangerous_from,
            **_relief_fields(relief),
            actor_id=actor.id,
            at=at,
        )

    class DogEntered(Aggregate.Event):
        """A case's dog was taken into the household."""

        case_id: UUID
        taken_in: date
        born_on: date | None
        dangerous: bool
        dangerous_from: date | None
        relief_reason: str | None
        relief_from: date | None
        relief_until: date | None
        relief_proof: str | None
        actor_id: str
        at: datetime

    @event(DogEntered)
    def _dog_entered(
        self,
        *,
        case_id: UUID,
        taken_in: date,
        born_on: date | None,
        dangerous: bool,
        dangerous_from: date | None,
        relief_reason: str | None,
        relief_from: date | None,
        relief_until: date | None,
        relief_proof: str | None,
        actor_id: str,
        at: datetime,
    ) -> None:
        dog = HouseholdDog(
            case_id=case_id,
            taken_in=taken_in,
            born_on=born_on,
            left_on=None,
            dangerous=dangerous,
            relief=_relief(relief_reason, relief_from, relief_until, relief_proof),
            dangerous_from=dangerous_from,
            entered=self.entries + 1,
        )
        self.entries += 1
        self.dogs = {**self.dogs, case_id: dog}

    def change(
        self,
        *,
        case_id: UUID,
        dangerous: bool,
        relief: ReliefClaim | None,
        actor: Actor,
        at: datetime,
        dangerous_from: date | None = None,
    ) -> None:
        """Record the dog's changed danger flag and relief (None: the relief ended or none).

        Refused for a dog that never entered the household; a dog that left may still be
        corrected, as its months in the household are still taxed.
        """
        if case_id not in self.dogs:
            raise InvalidCommand("case", "the dog is not in the household")
        _check_relief(relief)
        self._dog_details_changed(
            case_id=case_id,
            dangerous=dangerous,
            dangerous_from=dangerous_from,
            **_relief_fields(relief),
            actor_id=actor.id,
            at=at,
        )

    class DogDetailsChanged(Aggregate.Event):
        """A dog's danger flag or relief changed."""

        case_id: UUID
        dangerous: bool
        dangerous_from: date | None
        relief_reason: str | None
        relief_from: date | None
        relief_until: date | None
        relief_proof: str | None
        actor_id: str
        at: datetime

    @event(DogDetailsChanged)
    def _dog_details_changed(
        self,
        *,
        case_id: UUID,
        dangerous: bool,
        dangerous_from: date | None,
        relief_reason: str | None,
        relief_from: date | None,
        relief_until: date | None,
        relief_proof: str | None,
        actor_id: str,
        at: datetime,
    ) -> None:
        changed = replace(
            self.dogs[case_id],
            dangerous=dangerous,
            relief=_relief(relief_reason, relief_from, relief_until, relief_proof),
            dangerous_from=dangerous_from,
        )
        self.dogs = {**self.dogs, case_id: changed}

    def leave(self, *, case_id: UUID, left_on: date, actor: Actor, at: datetime) -> None:
        """The case's dog left the household on a day (deregistered: died, given away, moved).

        Refused for a dog not in the household, one that left already, or a day before it
        was taken in.
        """
        present = self.dogs.get(case_id)
        if present is None or present.left_on is not None:
            raise InvalidCommand("case", "the dog is not in the household")
        if left_on < present.taken_in:
            raise InvalidCommand("left_on", "a dog leaves after it was taken in")
        self._dog_left(case_id=case_id, left_on=left_on, actor_id=actor.id, at=at)

    class DogLeft(Aggregate.Event):
        """A dog left the household."""

        case_id: UUID
        left_on: date
        actor_id: str
        at: datetime

    @event(DogLeft)
    def _dog_left(self, *, case_id: UUID, left_on: date, actor_id: str, at: datetime) -> None:
        self.dogs = {**self.dogs, case_id: replace(self.dogs[case_id], left_on=left_on)}

    def dogs_for_tax(self, year: int) -> tuple[DogInHousehold, ...]:
        """The dogs taxed in any month of the year, by the day taken in, then in the order
        they entered."""
        liable = (
            dog
            for dog in self.dogs.values()
            if liability_months(dog.taken_in, dog.born_on, dog.left_on, year)
        )
        ordered = sorted(liable, key=lambda dog: (dog.taken_in, dog.entered, str(dog.case_id)))
        return tuple(dog.for_tax() for dog in ordered)

    def dogs_kept(self, on: date) -> int:
        """How many dogs are in the household on the day (a dog is gone on the day it left)."""
        return sum(1 for dog in self.dogs.values() if dog.kept_on(on))

"""One offering of a town's holiday programme (Ferienspiele): its places, registrations, draw.

An offering (an activity on set days for children of an age range, with a number of places,
a fee and a registration window) is published by the town's staff with its allocation rules.
While its window is open, guardians register children (``register``: one registration case
per family, recorded here in the same atomic save as the case's submission, so of two
registrations at once one save fails on the offering's version and is decided again from a
fresh load). When the window has closed, the places are drawn once (``draw``, by
domain/rules/holiday_draw.py, with the seed and every input recorded so the draw replays);
those not drawn wait in draw order, and a cancellation moves the next waiting lot that fits
up (``cancel``).

The offering keeps no names: a child is its keyed id (hex of an HMAC of the town's key, never
the name) and its age on the first day; who acted is named by id and role (the name is in the
registration case). A cancellation's reason is the registration case's personal data. Its id
is a UUIDv5 of the town, the year and the normalised code (``offering_id``): public.

Invariants, held by the commands (an ``@event`` method only assigns):

- no more children are ever allocated than the offering has places (``allocated_count <=
  places``): only the draw and a move-up allocate, and both take free places only;
- a child is registered (not cancelled) at most once per offering;
- registrations are recorded only while the window is open, and the places drawn once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import DomainError, InvalidCommand, InvalidTransition
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.rules.holiday_draw import (
    AllocationRules,
    Lot,
    Registration,
    check_seed,
    draw_record,
    lots_of,
    waiting_lots,
)
from domain.rules.holiday_draw import draw as draw_places
from domain.tenants import TENANTS
from domain.working_days import BERLIN, berlin_date

__all__ = [
    "AllocationRules",
    "AlreadyDrawn",
    "ChildEntry",
    "EntryStatus",
    "HolidayOffering",
    "OfferingEntry",
    "WindowState",
    "normalised_code",
    "offering_id",
]

MAX_PLACES: Final = 500
YOUNGEST: Final = 3
OLDEST: Final = 17
_CODE = re.compile(r"[A-Z0-9-]{2,20}")
_TEXT_LIMITS: Final = {"activity": 200, "description": 5000, "location": 300}
_REASON_LENGTH: Final = 500
_GROUP_LENGTH: Final = 128

WindowState = Literal["not_yet_open", "open", "closed"]
Entry = tuple[UUID, int]


class EntryStatus:
    """Where a registered child stands in the offering."""

    REGISTERED: Final = "registered"  # before the draw
    ALLOCATED: Final = "allocated"
    WAITING: Final = "waiting"
    CANCELLED: Final = "cancelled"


ACTIVE: Final = frozenset({EntryStatus.REGISTERED, EntryStatus.ALLOCATED, EntryStatus.WAITING})


class AlreadyDrawn(InvalidTransition):
    """The places of an offering are drawn once: a second draw is refused."""

    def __init__(self, drawn_at: datetime) -> None:
        super().__init__("draw", "drawn", ("cancel",))
        self.drawn_at = drawn_at


# ------------------------------------------------------------------ keys and ids


def normalised_code(code: str) -> str:
    """An offering's code as the town compares it: blanks stripped, upper case.

    Refused unless 2 to 20 of A-Z, 0-9 and '-' remain.
    """
    normalised = code.strip().upper()
    if not _CODE.fullmatch(normalised):
        raise InvalidCommand("code", "2 to 20 letters, digits or '-'")
    return normalised


def offering_id(tenant: str, year: int, code: str) -> UUID:
    """The id of a town's offering of a year by its code (public: no personal data)."""
    return uuid5(NAMESPACE_URL, f"vorgang:holiday-offering:{tenant}:{year}:{normalised_code(code)}")


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class ChildEntry:
    """A child as a registration names it to the offering: keyed id and date of birth."""

    key: str  # hex of the child's keyed id (never the name)
    born_on: date


@dataclass(frozen=True, slots=True)
class OfferingEntry:
    """A registered child's place in the offering (the waiting position from 1)."""

    case_id: UUID
    child: int
    key: str
    age: int
    status: str
    waiting_position: int | None = None


@dataclass(frozen=True, slots=True)
class _Registered:
    """One family's registration as the offering recorded it."""

    case_id: UUID
    keys: tuple[str, ...]
    ages: tuple[int, ...]
    resident: bool
    friends_group: str | None


def _text(field: str, value: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidCommand(field, "must not be empty")
    if len(text) > _TEXT_LIMITS[field]:
        raise InvalidCommand(field, f"at most {_TEXT_LIMITS[field]} characters")
    return text


def _check_aware(field: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidCommand(field, "a timezone-aware time")


def _staff(staff: Sequence[str]) -> list[str]:
    ids = sorted({str(member).strip() for member in staff})
    if any(not member or len(member) > 200 for member in ids):
        raise InvalidCommand("staff", "user ids of the offering's organisers and carers")
    return ids


def _reason(reason: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidCommand("reason", "must not be empty")
    if len(text) > _REASON_LENGTH:
        raise InvalidCommand("reason", f"at most {_REASON_LENGTH} characters")
    return text


def _berlin(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------ the offering


class HolidayOffering(Aggregate):
    """One activity of a town's holiday programme, its registrations and its places."""

    @classmethod
    def publish(
        cls,
        *,
        tenant: str,
        year: int,
        code: str,
        activity: str,
        description: str,
        location: str,
        starts_on: date,
        ends_on: date,
        min_age: int,
        max_age: int,
        places: int,
        fee: Decimal,
        registration_opens_at: datetime,
        registration_closes_at: datetime,
        rules: AllocationRules,
        staff: Sequence[str],
        actor: Actor,
        at: datetime,
        id: UUID | None = None,
    ) -> HolidayOffering:
        """Publish an offering with its dates, ages, places, fee, window and rules.

        Each refusal names its field: places 1 to 500; ages 3 to 17, the youngest not above
        the oldest; the first day not after the last, in the programme's year; the window
        opens before it closes, closes by the start of the first day (Berlin) and after now;
        a fee in euros and cents, not negative.
        """
        _check_aware("at", at)
        if tenant not in TENANTS:
            raise InvalidCommand("tenant", f"unknown town {tenant!r}")
        number = normalised_code(code)
        if not isinstance(places, int) or not 1 <= places <= MAX_PLACES:
            raise InvalidCommand("places", f"1 to {MAX_PLACES}")
        if not YOUNGEST <= min_age <= OLDEST:
            raise InvalidCommand("min_age", f"{YOUNGEST} to {OLDEST}")
        if not YOUNGEST <= max_age <= OLDEST:
            raise InvalidCommand("max_age", f"{YOUNGEST} to {OLDEST}")
        if min_age > max_age:
            raise InvalidCommand("min_age", "not above max_age")
        if starts_on > ends_on:
            raise InvalidCommand("ends_on", "not before starts_on")
        if starts_on.year != year:
            raise InvalidCommand("starts_on", f"an offering of {year} starts in {year}")
        _check_aware("registration_opens_at", registration_opens_at)
        _check_aware("registration_closes_at", registration_closes_at)
        if registration_opens_at >= registration_closes_at:
            raise InvalidCommand("registration_closes_at", "after registration_opens_at")
        first_day = datetime.combine(starts_on, time(0), tzinfo=BERLIN)
        if registration_closes_at > first_day:
            raise InvalidCommand(
                "registration_closes_at", f"by the start of the first day, {_berlin(first_day)}"
            )
        if registration_closes_at <= at:
            raise InvalidCommand("registration_closes_at", "a window that has not closed yet")
        try:
            cents = fee.quantize(Decimal("0.01"))
        except (AttributeError, InvalidOperation):
            raise InvalidCommand("fee", "an amount in euros") from None
        if not fee.is_finite() or fee < 0 or cents != fee or fee > Decimal(10_000):
            raise InvalidCommand("fee", "euros and cents, 0 to 10000")
        new_id = offering_id(tenant, year, number)
        if id is not None and id != new_id:
            raise InvalidCommand("id", "the id of the town, year and code")
        return cls(
            id=new_id,
            tenant=tenant,
            year=year,
            code=number,
            activity=_text("activity", activity),
            description=_text("description", description),
            location=_text("location", location),
            starts_on=starts_on,
            ends_on=ends_on,
            min_age=min_age,
            max_age=max_age,
            places=places,
            fee=cents,
            registration_opens_at=registration_opens_at,
            registration_closes_at=registration_closes_at,
            rules=rules.as_dict(),
            staff=_staff(staff),
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class Published(Aggregate.Created):
        """An offering was published with its dates, ages, places, fee, window and rules."""

        tenant: str
        year: int
        code: str
        activity: str
        description: str
        location: str
        starts_on: date
        ends_on: date
        min_age: int
        max_age: int
        places: int
        fee: Decimal
        registration_opens_at: datetime
        registration_closes_at: datetime
        rules: dict[str, Any]
        staff: list[str]
        actor_id: str
        actor_role: str
        at: datetime

    @event(Published)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        year: int,
        code: str,
        activity: str,
        description: str,
        location: str,
        starts_on: date,
        ends_on: date,
        min_age: int,
        max_age: int,
        places: int,
        fee: Decimal,
        registration_opens_at: datetime,
        registration_closes_at: datetime,
        rules: dict[str, Any],
        staff: list[str],
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.year = year
        self.code = code
        self.activity = activity
        self.description = description
        self.location = location
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.min_age = min_age
        self.max_age = max_age
        self.places = places
        self.fee = fee
        self.registration_opens_at = registration_opens_at
        self.registration_closes_at = registration_closes_at
        self.rules = AllocationRules.of(rules)
        self.staff: frozenset[str] = frozenset(staff)
        self.published_at = at
        self.window_closed_at: datetime | None = None  # closed early by staff
        self.drawn_at: datetime | None = None
        self.draw_record: dict[str, Any] | None = None
        self.health_erased_at: datetime | None = None
        self._registrations: dict[UUID, _Registered] = {}
        self._status: dict[Entry, str] = {}
        self._active_keys: dict[str, Entry] = {}
        self._waiting: list[tuple[Lot, bool]] = []  # lots waiting, in order; at the limit
        self._allocated = 0  # children holding a place (counted as the events assign them)

    # -------------------------------------------------------------- queries

    def window_state(self, at: datetime) -> WindowState:
        """Whether registration is not yet open, open, or closed at ``at``."""
        if self.drawn_at is not None or self.window_closed_at is not None:
            return "closed"
        if at >= self.registration_closes_at:
            return "closed"
        if at < self.registration_opens_at:
            return "not_yet_open"
        return "open"

    @property
    def closed_at(self) -> datetime:
        """When registration closed (or closes): early by staff, else at the window's end."""
        return self.window_closed_at or self.registration_closes_at

    def age_on_start(self, born_on: date) -> int:
        """A child's age in whole years on the offering's first day."""
        day = self.starts_on
        return day.year - born_on.year - ((day.month, day.day) < (born_on.month, born_on.day))

    def entries(self) -> list[OfferingEntry]:
        """Every registered child, in order of registration, with status and waiting place."""
        positions = self._waiting_positions()
        return [
            entry
            for registration in self._registrations.values()
            for entry in self._entries_of(registration, positions)
        ]

    def entries_of(self, case_id: UUID) -> list[OfferingEntry]:
        """The children of one registration (none: not registered here)."""
        registration = self._registrations.get(case_id)
        if registration is None:
            return []
        positions: dict[Entry, int] = {}
        if any(
            self._status[(case_id, child)] == EntryStatus.WAITING
            for child in range(len(registration.keys))
        ):
            positions = self._waiting_positions()
        return self._entries_of(registration, positions)

    def _entries_of(
        self, registration: _Registered, positions: Mapping[Entry, int]
    ) -> list[OfferingEntry]:
        case_id = registration.case_id
        return [
            OfferingEntry(
                case_id=case_id,
                child=child,
                key=key,
                age=age,
                status=self._status[(case_id, child)],
                waiting_position=positions.get((case_id, child)),
            )
            for child, (key, age) in enumerate(
                zip(registration.keys, registration.ages, strict=True)
            )
        ]

    def status_of(self, case_id: UUID, child: int) -> str | None:
        """Where a child of a registration stands (None: not registered here)."""
        return self._status.get((case_id, child))

    def registered(self, case_id: UUID) -> bool:
        """Whether the case registered for this offering."""
        return case_id in self._registrations

    @property
    def allocated_count(self) -> int:
        """Children holding a place."""
        return self._allocated

    @property
    def registered_count(self) -> int:
        """Children registered and not cancelled (before the draw: the draw's inputs)."""
        return sum(1 for status in self._status.values() if status in ACTIVE)

    @property
    def free_places(self) -> int:
        """Places not allocated."""
        return self.places - self.allocated_count

    @property
    def waiting_list(self) -> list[Entry]:
        """The children waiting, in waiting order."""
        return [entry for lot, _limited in self._waiting for entry in lot.entries()]

    def _waiting_positions(self) -> dict[Entry, int]:
        """Each waiting child's position: its lot's, from 1 (siblings share it); worked out
        once per change of the waiting list (the draw reads it for every registration)."""
        # The events replace the list, never change it in place: the same list, the same
        # positions (the cache holds the list itself, so its identity is not reused).
        cached: tuple[list[Any], dict[Entry, int]] | None = self.__dict__.get("_positions")
        if cached is not None and cached[0] is self._waiting:
            return cached[1]
        positions = {
            entry: position
            for position, (lot, _limited) in enumerate(self._waiting, start=1)
            for entry in lot.entries()
        }
        self.__dict__["_positions"] = (self._waiting, positions)
        return positions

    def places_of(self, key: str) -> int:
        """Places a child (by keyed id) holds in this offering: 1 or 0."""
        entry = self._active_keys.get(key)
        return int(entry is not None and self._status.get(entry) == EntryStatus.ALLOCATED)

    def allocated_keys(self) -> list[str]:
        """The keyed ids of the children holding a place (the programme counts them)."""
        return [
            self._registrations[case_id].keys[child]
            for (case_id, child), status in self._status.items()
            if status == EntryStatus.ALLOCATED
        ]

    def _check_places(self, allocating: int) -> None:
        """Refuse to allocate more than the places free (never reached: the draw and the
        move-up take free places only; kept so no command can over-allocate)."""
        if allocating > self.free_places:
            raise DomainError(
                f"{allocating} children cannot be allocated: {self.free_places} places free"
            )

    # -------------------------------------------------------------- registration

    def register(
        self,
        *,
        case_id: UUID,
        children: Sequence[ChildEntry],
        resident: bool,
        friends_group: str | None,
        actor: Actor,
        at: datetime,
    ) -> None:
        """Record a family's registration of children while the window is open.

        Refused naming the form's fields: the window not open (``data.offering``), a child
        outside the age range on the first day (``data.children[i].born_on``), a child
        registered for this offering already (``data.children[i]``).
        """
        _check_aware("at", at)
        state = self.window_state(at)
        if state == "not_yet_open":
            raise InvalidCommand(
                "data.offering",
                f"registration for {self.code} opens at {_berlin(self.registration_opens_at)}",
            )
        if state == "closed":
            raise InvalidCommand(
                "data.offering", f"registration for {self.code} closed at {_berlin(self.closed_at)}"
            )
        if case_id in self._registrations:
            raise InvalidCommand("case_id", "the registration is recorded already")
        if not children:
            raise InvalidCommand("data.children", "at least one child")
        if friends_group is not None and not 1 <= len(friends_group) <= _GROUP_LENGTH:
            raise InvalidCommand("data.friends_code", "a friends group's hash")
        seen: set[str] = set()
        recorded = []
        for index, child in enumerate(children):
            age = self.age_on_start(child.born_on)
            if not self.min_age <= age <= self.max_age:
                raise InvalidCommand(
                    f"data.children[{index}].born_on",
                    f"aged {age} on {self.starts_on}; this offering takes children aged "
                    f"{self.min_age} to {self.max_age}",
                )
            if not child.key or child.key in seen or child.key in self._active_keys:
                raise InvalidCommand(
                    f"data.children[{index}]", f"the child is registered for {self.code} already"
                )
            seen.add(child.key)
            recorded.append({"key": child.key, "age": age})
        self._registration_recorded(
            case_id=case_id,
            children=recorded,
            resident=bool(resident),
            friends_group=friends_group,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class RegistrationRecorded(Aggregate.Event):
        """A family's registration of children (keyed ids and ages) was recorded."""

        case_id: UUID
        children: list[dict[str, Any]]
        resident: bool
        friends_group: str | None
        actor_id: str  # the person's name is in the registration case, not here
        actor_role: str
        at: datetime

    @event(RegistrationRecorded)
    def _registration_recorded(
        self,
        *,
        case_id: UUID,
        children: list[dict[str, Any]],
        resident: bool,
        friends_group: str | None,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        keys = tuple(str(child["key"]) for child in children)
        self._registrations[case_id] = _Registered(
            case_id=case_id,
            keys=keys,
            ages=tuple(int(child["age"]) for child in children),
            resident=resident,
            friends_group=friends_group,
        )
        for index, key in enumerate(keys):
            self._status[(case_id, index)] = EntryStatus.REGISTERED
            self._active_keys[key] = (case_id, index)

    # -------------------------------------------------------------- the window

    def close_window(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """Close registration early (staff, with a reason); refused once closed or drawn."""
        _check_aware("at", at)
        if self.window_state(at) == "closed":
            raise InvalidCommand("window", f"registration closed at {_berlin(self.closed_at)}")
        self._window_closed(
            actor_id=actor.id, actor_role=actor.role.value, at=at, reason=_reason(reason)
        )

    class WindowClosed(Aggregate.Event):
        """Staff closed registration before the window's end."""

        actor_id: str
        actor_role: str
        at: datetime
        reason: str

    @event(WindowClosed)
    def _window_closed(self, *, actor_id: str, actor_role: str, at: datetime, reason: str) -> None:
        self.window_closed_at = at

    # -------------------------------------------------------------- the draw

    def draw(
        self, *, seed: str, places_held: Mapping[str, int], actor: Actor, at: datetime
    ) -> dict[str, Any]:
        """Draw the places once the window has closed; returns the draw's record.

        ``places_held``: places each child (by keyed id) holds in the programme's earlier
        draws. A second draw is refused (``AlreadyDrawn``), so is a draw while the window is
        open or not yet open (``window``) and after the offering's last day (``at``).
        Cancelled registrations are no inputs.
        """
        _check_aware("at", at)
        if self.drawn_at is not None:
            raise AlreadyDrawn(self.drawn_at)
        state = self.window_state(at)
        if state != "closed":
            raise InvalidCommand(
                "window", f"the places are drawn once registration has closed (it is {state})"
            )
        if berlin_date(at) > self.ends_on:
            raise InvalidCommand("at", f"the offering ended on {self.ends_on}: nothing to draw")
        check_seed(seed)
        if any(int(held) < 0 for held in places_held.values()):
            raise InvalidCommand("places_held", "places a child holds are not negative")
        registrations = []
        for registration in self._registrations.values():
            children = tuple(
                index
                for index in range(len(registration.keys))
                if self._status[(registration.case_id, index)] == EntryStatus.REGISTERED
            )
            registrations.append(
                Registration(
                    case_id=registration.case_id,
                    children=children,
                    keys=tuple(registration.keys[index] for index in children),
                    resident=registration.resident,
                    friends_group=registration.friends_group,
                )
            )
        lots = lots_of(registrations, self.rules, places_held)
        result = draw_places(seed, lots, self.places, self.rules)
        self._check_places(len(result.allocated))
        record = draw_record(seed, self.places, self.rules, lots, result)
        self._places_drawn(record=record, actor_id=actor.id, actor_role=actor.role.value, at=at)
        return record

    class PlacesDrawn(Aggregate.Event):
        """The places were drawn: algorithm, seed, inputs and outcome, to replay it."""

        record: dict[str, Any]
        actor_id: str
        actor_role: str
        at: datetime

    @event(PlacesDrawn)
    def _places_drawn(
        self, *, record: dict[str, Any], actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.drawn_at = at
        self.draw_record = record
        for case_id, child in record["allocated"]:
            self._status[(UUID(str(case_id)), int(child))] = EntryStatus.ALLOCATED
            self._allocated += 1
        for case_id, child in record["waiting"]:
            self._status[(UUID(str(case_id)), int(child))] = EntryStatus.WAITING
        self._waiting = waiting_lots(record)

    # -------------------------------------------------------------- cancellation

    def cancel(
        self,
        *,
        case_id: UUID,
        children: Sequence[int] | None,
        actor: Actor,
        at: datetime,
        reason: str,
    ) -> list[Entry]:
        """Cancel children of a registration (None: all still registered); returns the
        children moved up into the places freed.

        After the draw, the waiting lots are walked in order: each that fits in the free
        places (a family lot with places for all its waiting children) and whose children
        did not reach the places per child moves up. Refused after the offering's last day,
        for a registration not recorded here, and for children not registered or cancelled.
        """
        _check_aware("at", at)
        if berlin_date(at) > self.ends_on:
            raise InvalidCommand("at", f"the offering ended on {self.ends_on}")
        registration = self._registrations.get(case_id)
        if registration is None:
            raise InvalidCommand("case_id", f"no registration for {self.code}")
        active = [
            index
            for index in range(len(registration.keys))
            if self._status[(case_id, index)] in ACTIVE
        ]
        chosen = active if children is None else sorted(set(children))
        if not chosen:
            raise InvalidCommand("children", "no child of the registration is registered")
        for index in chosen:
            if index not in active:
                raise InvalidCommand(
                    "children", f"child {index} is not registered (or cancelled already)"
                )
        text = PersonalData(case_id=case_id, subject=Subjects.CASE_TEXT, value=_reason(reason))
        self._registration_cancelled(
            case_id=case_id,
            children=chosen,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
            reason=text,
        )
        return self._move_up(because_of=case_id, actor=actor, at=at)

    def _move_up(self, *, because_of: UUID, actor: Actor, at: datetime) -> list[Entry]:
        """Move the waiting lots that fit into the free places, in waiting order."""
        if self.drawn_at is None:
            return []
        moved: list[Entry] = []
        position = 1
        for lot, limited in list(self._waiting):
            if limited or len(lot.children) > self.free_places:
                position += 1
                continue
            self._check_places(len(lot.children))
            for case_id, child in lot.entries():
                self._place_moved_up(
                    case_id=case_id,
                    child=child,
                    from_position=position,
                    because_of=because_of,
                    actor_id=actor.id,
                    actor_role=actor.role.value,
                    at=at,
                )
                moved.append((case_id, child))
        return moved

    class RegistrationCancelled(Aggregate.Event):
        """Children of a registration were cancelled (their places freed), with the reason."""

        case_id: UUID
        children: list[int]
        actor_id: str
        actor_role: str
        at: datetime
        reason: PersonalValue  # the registration case's text (erased with it)

    @event(RegistrationCancelled)
    def _registration_cancelled(
        self,
        *,
        case_id: UUID,
        children: list[int],
        actor_id: str,
        actor_role: str,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        registration = self._registrations[case_id]
        for child in children:
            if self._status[(case_id, child)] == EntryStatus.ALLOCATED:
                self._allocated -= 1
            self._status[(case_id, child)] = EntryStatus.CANCELLED
            if self._active_keys.get(registration.keys[child]) == (case_id, child):
                del self._active_keys[registration.keys[child]]
        waiting: list[tuple[Lot, bool]] = []
        for lot, limited in self._waiting:
            left = tuple(c for c in lot.children if not (lot.case_id == case_id and c in children))
            if left:
                waiting.append((_with_children(lot, left), limited))
        self._waiting = waiting

    class PlaceMovedUp(Aggregate.Event):
        """A waiting child moved up into a place freed by a cancellation."""

        case_id: UUID
        child: int
        from_position: int
        because_of: UUID
        actor_id: str  # the person who cancelled the registration ``because_of``
        actor_role: str
        at: datetime

    @event(PlaceMovedUp)
    def _place_moved_up(
        self,
        *,
        case_id: UUID,
        child: int,
        from_position: int,
        because_of: UUID,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self._status[(case_id, child)] = EntryStatus.ALLOCATED
        self._allocated += 1
        waiting: list[tuple[Lot, bool]] = []
        for lot, limited in self._waiting:
            left = tuple(c for c in lot.children if not (lot.case_id == case_id and c == child))
            if left:
                waiting.append((_with_children(lot, left), limited))
        self._waiting = waiting

    # -------------------------------------------------------------- staff and health notes

    def change_staff(
        self, *, staff: Sequence[str], actor: Actor, at: datetime, reason: str
    ) -> None:
        """Name the staff who read the children's health notes (organisers and carers)."""
        _check_aware("at", at)
        members = _staff(staff)
        if frozenset(members) == self.staff:
            raise InvalidCommand("staff", "the offering's staff are these already")
        self._staff_changed(
            staff=members,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
            reason=_reason(reason),
        )

    class StaffChanged(Aggregate.Event):
        """The offering's staff (who read its health notes) changed."""

        staff: list[str]
        actor_id: str
        actor_role: str
        at: datetime
        reason: str

    @event(StaffChanged)
    def _staff_changed(
        self, *, staff: list[str], actor_id: str, actor_role: str, at: datetime, reason: str
    ) -> None:
        self.staff = frozenset(staff)

    def note_health_erased(self, *, cases: Sequence[UUID], actor: Actor, at: datetime) -> None:
        """Record that the health notes of these registrations were erased (their keys
        destroyed) after the offering ended; refused before its last day has passed and a
        second time."""
        _check_aware("at", at)
        if berlin_date(at) <= self.ends_on:
            raise InvalidCommand(
                "at", f"health notes are erased after the offering, {self.ends_on}"
            )
        if self.health_erased_at is not None:
            raise InvalidCommand("health", "the health notes are erased already")
        unknown = [case for case in cases if case not in self._registrations]
        if unknown:
            raise InvalidCommand("cases", f"{len(unknown)} cases are no registration here")
        self._health_notes_erased(
            cases=sorted(set(cases), key=str),
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class HealthNotesErased(Aggregate.Event):
        """The health notes of the offering's registrations were erased after it ended."""

        cases: list[UUID]
        actor_id: str
        actor_role: str
        at: datetime

    @event(HealthNotesErased)
    def _health_notes_erased(
        self, *, cases: list[UUID], actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.health_erased_at = at


def _with_children(lot: Lot, children: tuple[int, ...]) -> Lot:
    return Lot(lot.case_id, children, lot.resident, lot.friends_group, lot.places_held)

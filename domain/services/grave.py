"""One grave: its places, the burials in them with their rest periods, and its grave right.

The rules span cases: a burial registration, a grave right application and a headstone
permit are cases of their own, but a place in a grave can be given only once, and a grave
right must outlast every rest period in the grave. A ``Grave`` aggregate per grave holds
what those rules read, and the case that changes it is saved with it in one atomic save (as
resident parking's ``PermitHolding``): of two registrations for the same free place, one
save fails on the grave's version and its retry finds the place taken.

The grave's id is a UUIDv5 of the town and the grave address (``grave_id``): an address
(cemetery, field, row, number) is not personal data, so unlike a permit holding's id it
needs no keyed hash. The grave records the type and places it was opened with, case ids,
days, rest periods with the rule version that set them, and who changed it when and why;
the only personal data are the right holder's name and the reasons given, sealed as
``PersonalData`` of the case that recorded them.

Invariants, held by the commands (an ``@event`` method only assigns):

- a place holds at most one burial or reservation at any time, and none while the rest
  period (Ruhefrist) of another runs: so a grave never holds more than its places;
- a grave right never ends before the rest period of the last burial in it: a burial it
  would not cover is refused (the right is extended first), and a right is returned only
  after every rest period ended;
- a grave given out in turn (Reihengrab, Urnenreihengrab, Rasengrab, the anonymous field)
  has no grave right at all: its use ends with the rest period.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord
from domain.case import check_acts_for, check_aware, clean_text
from domain.cemeteries import BurialKind, GraveAddress, GraveSpec, GraveType
from domain.cemeteries import grave as configured_grave
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.rules.cemetery import (
    NoGraveRight,
    extension_years,
    grave_right_terms,
    rest_periods,
    years_after,
)
from domain.rules.versions import UnknownRulesVersion
from domain.working_days import berlin_date

GRAVE_NAMESPACE: Final = UUID("6f1c9a52-3d4e-5b7a-9c2d-0e8f4a1b2c3d")


def grave_id(tenant: str, address: GraveAddress) -> UUID:
    """The id of a town's grave at an address: the same on every call, in every process."""
    return uuid5(GRAVE_NAMESPACE, f"{tenant}/{address}")


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class Occupation:
    """A place taken by a case: a burial, or a reservation for one, and its rest period."""

    case_id: UUID
    kind: BurialKind
    place: int
    starts_on: date  # the day of the burial (planned, for a reservation)
    rest_ends_on: date  # the last day of the rest period
    rest_years: int
    rules_version: str  # the rest period rules that set it
    reserved: bool  # True until the burial is recorded

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        """Whether it takes the place on any day from ``starts_on`` to ``ends_on``."""
        return self.starts_on <= ends_on and starts_on <= self.rest_ends_on

    def runs_on(self, day: date) -> bool:
        """Whether the place is taken on that day."""
        return self.starts_on <= day <= self.rest_ends_on


@dataclass(frozen=True, slots=True)
class GraveRight:
    """The grave right (Nutzungsrecht) on a Wahlgrab: holder and term."""

    case_id: UUID  # the case that granted it
    holder: PersonalValue
    granted_on: date
    ends_on: date  # the last day; the day of return for a returned right
    returned: bool = False

    def in_force_on(self, day: date) -> bool:
        """Whether the right holds on that day."""
        return self.granted_on <= day <= self.ends_on and not (
            self.returned and day >= self.ends_on
        )


@dataclass(frozen=True, slots=True)
class RightChange:
    """One entry of a grave right's history, as clerks see it."""

    change: str  # granted, extended, transferred, returned
    case_id: UUID
    on: date
    ends_on: date
    holder: PersonalValue


@dataclass(frozen=True, slots=True)
class PlaceOccupancy:
    """One place on a day: free, or taken by a case until a day."""

    kind: BurialKind
    place: int
    free: bool
    case_id: UUID | None = None
    until: date | None = None
    reserved: bool = False


# ------------------------------------------------------------------ errors


class NoSuchPlace(InvalidCommand):
    """A place number the grave does not have for that burial kind."""

    def __init__(self, kind: BurialKind, place: int, places: int) -> None:
        self.kind = kind
        self.place = place
        super().__init__("place", f"the grave has {places} {kind.value} place(s); no {place}")


class PlaceOccupied(InvalidCommand):
    """A place whose rest period (or another reservation) still runs then."""

    def __init__(self, kind: BurialKind, place: int, until: date) -> None:
        self.kind = kind
        self.place = place
        self.until = until
        super().__init__(
            "place", f"{kind.value} place {place} is taken: its rest period runs until {until}"
        )


class GraveFull(InvalidCommand):
    """No place of that kind is free for the whole rest period of a new burial."""

    def __init__(self, kind: BurialKind, places: int) -> None:
        self.kind = kind
        field = "kind" if places == 0 else "place"
        what = "has no" if places == 0 else f"has no free one of its {places}"
        super().__init__(field, f"the grave {what} {kind.value} place(s) for this rest period")


class NoRightInForce(InvalidCommand):
    """A Wahlgrab whose grave right is not in force on the day in question."""

    def __init__(self, day: date) -> None:
        self.day = day
        super().__init__("grave_right", f"no grave right is in force on {day}")


class RightInForce(InvalidCommand):
    """A grant on a grave whose right still holds."""

    def __init__(self, ends_on: date) -> None:
        self.ends_on = ends_on
        super().__init__("grave_right", f"a grave right holds until {ends_on}")


class RightDoesNotCover(InvalidCommand):
    """A grave right that would end before a rest period: it must be extended first."""

    def __init__(self, ends_on: date, needed_until: date, years: int) -> None:
        self.ends_on = ends_on
        self.needed_until = needed_until
        self.extension_years = years
        super().__init__(
            "grave_right",
            f"the grave right ends on {ends_on}, before the rest period ends on {needed_until}:"
            f" extend it by {years} year(s) first",
        )


class RestPeriodRuns(InvalidCommand):
    """A grave right returned while a rest period in the grave still runs."""

    def __init__(self, until: date) -> None:
        self.until = until
        super().__init__("grave_right", f"a rest period in the grave runs until {until}")


class NotReserved(InvalidCommand):
    """A case that holds no reservation in this grave."""

    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        super().__init__("case_id", "the case holds no reservation in this grave")


# ------------------------------------------------------------------ the aggregate


class Grave(Aggregate):
    """One grave of a town: places, burials with their rest periods, and its grave right."""

    @classmethod
    def open(cls, *, tenant: str, address: GraveAddress) -> Grave:
        """The grave at a configured address, as nothing happened to it yet."""
        spec = configured_grave(tenant, address)
        return cls(
            id=grave_id(tenant, address),
            tenant=tenant,
            cemetery=address.cemetery,
            field=address.field,
            row=address.row,
            number=address.number,
            grave_type=spec.grave_type.value,
            coffin_places=spec.coffin_places,
            urn_places=spec.urn_places,
        )

    class Opened(Aggregate.Created):
        """A grave taken into the register with its type and places."""

        tenant: str
        cemetery: str
        field: str
        row: str
        number: int
        grave_type: str
        coffin_places: int
        urn_places: int

    @event(Opened)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        cemetery: str,
        field: str,
        row: str,
        number: int,
        grave_type: str,
        coffin_places: int,
        urn_places: int,
    ) -> None:
        self.tenant = tenant
        self.address = GraveAddress(cemetery, field, row, number)
        self.grave_type = GraveType(grave_type)  # stored as plain text
        self.coffin_places = coffin_places
        self.urn_places = urn_places
        self.occupations: tuple[Occupation, ...] = ()
        self.right: GraveRight | None = None
        self.right_history: tuple[RightChange, ...] = ()

    # ------------------------------------------------------------------ queries

    @property
    def spec(self) -> GraveSpec:
        """The grave as it was opened: town, address, type and places."""
        return GraveSpec(
            self.tenant, self.address, self.grave_type, self.coffin_places, self.urn_places
        )

    @property
    def burials(self) -> tuple[Occupation, ...]:
        """The burials recorded, in the order they were recorded."""
        return tuple(o for o in self.occupations if not o.reserved)

    @property
    def reservations(self) -> tuple[Occupation, ...]:
        """The places reserved for burials not recorded yet."""
        return tuple(o for o in self.occupations if o.reserved)

    @property
    def last_rest_ends_on(self) -> date | None:
        """The last day of the longest-running rest period (reservations included)."""
        return max((o.rest_ends_on for o in self.occupations), default=None)

    def occupancy(self, on: date) -> tuple[PlaceOccupancy, ...]:
        """Every place of the grave on a day: free, or taken by which case until when."""
        places = []
        for kind in BurialKind:
            for place in range(1, self.spec.places(kind) + 1):
                taken = next(
                    (
                        o
                        for o in self.occupations
                        if o.kind is kind and o.place == place and o.runs_on(on)
                    ),
                    None,
                )
                if taken is None:
                    places.append(PlaceOccupancy(kind, place, free=True))
                else:
                    places.append(
                        PlaceOccupancy(
                            kind, place, False, taken.case_id, taken.rest_ends_on, taken.reserved
                        )
                    )
        return tuple(places)

    def free_places(self, kind: BurialKind, on: date) -> tuple[int, ...]:
        """The places of a kind that are free on a day."""
        return tuple(p.place for p in self.occupancy(on) if p.kind is kind and p.free)

    def right_covers(self, until: date) -> bool:
        """Whether the grave right lasts until that day (False without a right)."""
        return self.right is not None and not self.right.returned and self.right.ends_on >= until

    def rest_period_of(
        self, *, kind: BurialKind, buried_on: date, age_at_death: int
    ) -> tuple[int, date, str]:
        """Years, last day and rules version of a burial's rest period, by the rules then."""
        try:
            rules = rest_periods(self.tenant, buried_on)
        except UnknownRulesVersion:
            raise InvalidCommand(
                "buried_on", f"no rest period rules in force on {buried_on}"
            ) from None
        years, applied = rules.rest_period(
            cemetery=self.address.cemetery,
            grave_type=self.grave_type,
            kind=kind,
            age_at_death=age_at_death,
        )
        return years, years_after(buried_on, years), applied.version

    def extension_needed(self, *, kind: BurialKind, buried_on: date, age_at_death: int) -> int:
        """Whole years the grave right must be extended by to cover a new burial's rest period."""
        if not self.grave_type.has_grave_right:
            raise NoGraveRight(self.grave_type)
        if self.right is None or not self.right.in_force_on(buried_on):
            raise NoRightInForce(buried_on)
        _, rest_ends_on, _ = self.rest_period_of(
            kind=kind, buried_on=buried_on, age_at_death=age_at_death
        )
        return extension_years(self.right.ends_on, rest_ends_on)

    # ------------------------------------------------------------------ places and burials

    def reserve_place(
        self,
        *,
        case_id: UUID,
        kind: BurialKind,
        planned_on: date,
        age_at_death: int,
        actor: Actor,
        at: datetime,
        place: int | None = None,
    ) -> int:
        """Reserve a place for a registered burial (the first free one unless named)."""
        self._check_actor(actor, at)
        if planned_on < berlin_date(at):
            raise InvalidCommand("planned_on", "must not lie in the past")
        if any(o.case_id == case_id for o in self.occupations):
            raise InvalidCommand("case_id", "the case already holds a place in this grave")
        taken = self._placed(case_id, kind, planned_on, age_at_death, place)
        self._place_reserved(
            case_id=case_id,
            kind=kind.value,
            place=taken.place,
            planned_on=planned_on,
            rest_years=taken.rest_years,
            rest_ends_on=taken.rest_ends_on,
            rules_version=taken.rules_version,
            actor=actor.recorded_in(case_id),
            at=at,
        )
        return taken.place

    class PlaceReserved(Aggregate.Event):
        """A place was reserved for a registered burial, with its expected rest period."""

        case_id: UUID
        kind: str
        place: int
        planned_on: date
        rest_years: int
        rest_ends_on: date
        rules_version: str
        actor: ActorRecord
        at: datetime

    @event(PlaceReserved)
    def _place_reserved(
        self,
        *,
        case_id: UUID,
        kind: str,
        place: int,
        planned_on: date,
        rest_years: int,
        rest_ends_on: date,
        rules_version: str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        occupation = Occupation(
            case_id,
            BurialKind(kind),
            place,
            planned_on,
            rest_ends_on,
            rest_years,
            rules_version,
            reserved=True,
        )
        self.occupations = (*self.occupations, occupation)

    def release_place(self, *, case_id: UUID, actor: Actor, at: datetime, reason: str) -> None:
        """Give up a case's reservation (its registration was refused or withdrawn)."""
        self._check_actor(actor, at)
        if not any(o.case_id == case_id and o.reserved for o in self.occupations):
            raise NotReserved(case_id)
        self._place_released(
            case_id=case_id,
            actor=actor.recorded_in(case_id),
            at=at,
            reason=_case_text(case_id, reason, "reason"),
        )

    class PlaceReleased(Aggregate.Event):
        """A reservation was given up, with reasons."""

        case_id: UUID
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(PlaceReleased)
    def _place_released(
        self, *, case_id: UUID, actor: ActorRecord, at: datetime, reason: PersonalValue
    ) -> None:
        self.occupations = tuple(
            o for o in self.occupations if not (o.case_id == case_id and o.reserved)
        )

    def record_burial(
        self,
        *,
        case_id: UUID,
        kind: BurialKind,
        buried_on: date,
        age_at_death: int,
        actor: Actor,
        at: datetime,
        place: int | None = None,
    ) -> int:
        """Record a burial carried out: in the case's reserved place, or a free one.

        The rest period is computed by the rules in force on the day of the burial and
        recorded with their version, so replay never computes it again.
        """
        self._check_actor(actor, at)
        if buried_on > berlin_date(at):
            raise InvalidCommand("buried_on", "a burial is recorded once it took place")
        reserved = next((o for o in self.reservations if o.case_id == case_id), None)
        if reserved is None and any(o.case_id == case_id for o in self.occupations):
            raise InvalidCommand("case_id", "the case's burial is already recorded")
        if reserved is not None:
            if reserved.kind is not kind:
                raise InvalidCommand("kind", f"the case reserved a {reserved.kind.value} place")
            if place is not None and place != reserved.place:
                raise InvalidCommand("place", f"the case reserved place {reserved.place}")
            place = reserved.place
        taken = self._placed(case_id, kind, buried_on, age_at_death, place)
        self._burial_recorded(
            case_id=case_id,
            kind=kind.value,
            place=taken.place,
            buried_on=buried_on,
            rest_years=taken.rest_years,
            rest_ends_on=taken.rest_ends_on,
            rules_version=taken.rules_version,
            actor=actor.recorded_in(case_id),
            at=at,
        )
        return taken.place

    class BurialRecorded(Aggregate.Event):
        """A burial took place, with the rest period the rules then in force set."""

        case_id: UUID
        kind: str
        place: int
        buried_on: date
        rest_years: int
        rest_ends_on: date
        rules_version: str
        actor: ActorRecord
        at: datetime

    @event(BurialRecorded)
    def _burial_recorded(
        self,
        *,
        case_id: UUID,
        kind: str,
        place: int,
        buried_on: date,
        rest_years: int,
        rest_ends_on: date,
        rules_version: str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        burial = Occupation(
            case_id,
            BurialKind(kind),
            place,
            buried_on,
            rest_ends_on,
            rest_years,
            rules_version,
            reserved=False,
        )
        kept = tuple(o for o in self.occupations if not (o.case_id == case_id and o.reserved))
        self.occupations = (*kept, burial)

    # ------------------------------------------------------------------ the grave right

    def grant_right(
        self, *, case_id: UUID, holder: PersonalData, actor: Actor, at: datetime
    ) -> date:
        """Grant the grave right on a Wahlgrab for the initial term; returns its last day."""
        self._check_actor(actor, at)
        if not self.grave_type.has_grave_right:
            raise NoGraveRight(self.grave_type)
        _check_personal("holder", holder, case_id)
        today = berlin_date(at)
        if self.right is not None and self.right.in_force_on(today):
            raise RightInForce(self.right.ends_on)
        try:
            terms = grave_right_terms(self.tenant, today)
        except UnknownRulesVersion:
            raise InvalidCommand("at", f"no grave right terms in force on {today}") from None
        years, applied = terms.term(self.grave_type)
        ends_on = years_after(today, years)
        last_rest = self.last_rest_ends_on
        if last_rest is not None and ends_on < last_rest:
            raise RightDoesNotCover(ends_on, last_rest, extension_years(ends_on, last_rest))
        self._right_granted(
            case_id=case_id,
            holder=holder,
            granted_on=today,
            term_years=years,
            ends_on=ends_on,
            rules_version=applied.version,
            actor=actor.recorded_in(case_id),
            at=at,
        )
        return ends_on

    class RightGranted(Aggregate.Event):
        """The grave right was granted to a holder for the term the rules then set."""

        case_id: UUID
        holder: PersonalValue
        granted_on: date
        term_years: int
        ends_on: date
        rules_version: str
        actor: ActorRecord
        at: datetime

    @event(RightGranted)
    def _right_granted(
        self,
        *,
        case_id: UUID,
        holder: PersonalValue,
        granted_on: date,
        term_years: int,
        ends_on: date,
        rules_version: str,
        actor: ActorRecord,
        at: datetime,
    ) -> None:
        self.right = GraveRight(case_id, holder, granted_on, ends_on)
        self._history("granted", case_id, granted_on)

    def extend_right(self, *, case_id: UUID, years: int, actor: Actor, at: datetime) -> date:
        """Extend the grave right by whole years (the fee is the case's); returns its last day."""
        self._check_actor(actor, at)
        right = self._right_in_force(berlin_date(at))
        if years < 1:
            raise InvalidCommand("years", "a grave right is extended by one whole year or more")
        ends_on = years_after(right.ends_on, years)
        self._right_extended(
            case_id=case_id,
            years=years,
            ends_on=ends_on,
            actor=actor.recorded_in(case_id),
            at=at,
        )
        return ends_on

    class RightExtended(Aggregate.Event):
        """The grave right was extended by whole years."""

        case_id: UUID
        years: int
        ends_on: date
        actor: ActorRecord
        at: datetime

    @event(RightExtended)
    def _right_extended(
        self, *, case_id: UUID, years: int, ends_on: date, actor: ActorRecord, at: datetime
    ) -> None:
        if self.right is not None:  # the command checked; replay never decides again
            self.right = replace(self.right, ends_on=ends_on)
        self._history("extended", case_id, berlin_date(at))

    def transfer_right(
        self, *, case_id: UUID, successor: PersonalData, actor: Actor, at: datetime, reason: str
    ) -> None:
        """Transfer the grave right to a successor (the statute's order), with reasons."""
        self._check_actor(actor, at)
        self._right_in_force(berlin_date(at))
        _check_personal("successor", successor, case_id)
        self._right_transferred(
            case_id=case_id,
            successor=successor,
            actor=actor.recorded_in(case_id),
            at=at,
            reason=_case_text(case_id, reason, "reason"),
        )

    class RightTransferred(Aggregate.Event):
        """The grave right passed to a successor, with reasons."""

        case_id: UUID
        successor: PersonalValue
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(RightTransferred)
    def _right_transferred(
        self,
        *,
        case_id: UUID,
        successor: PersonalValue,
        actor: ActorRecord,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        if self.right is not None:
            self.right = replace(self.right, holder=successor)
        self._history("transferred", case_id, berlin_date(at))

    def return_right(self, *, case_id: UUID, actor: Actor, at: datetime, reason: str) -> None:
        """Return the grave right early; only once every rest period in the grave has ended."""
        self._check_actor(actor, at)
        today = berlin_date(at)
        self._right_in_force(today)
        last_rest = self.last_rest_ends_on
        if last_rest is not None and last_rest >= today:
            raise RestPeriodRuns(last_rest)
        self._right_returned(
            case_id=case_id,
            returned_on=today,
            actor=actor.recorded_in(case_id),
            at=at,
            reason=_case_text(case_id, reason, "reason"),
        )

    class RightReturned(Aggregate.Event):
        """The grave right was given back before its end, with reasons."""

        case_id: UUID
        returned_on: date
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(RightReturned)
    def _right_returned(
        self,
        *,
        case_id: UUID,
        returned_on: date,
        actor: ActorRecord,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        if self.right is not None:
            self.right = replace(self.right, ends_on=returned_on, returned=True)
        self._history("returned", case_id, returned_on)

    # ------------------------------------------------------------------ helpers

    def _history(self, change: str, case_id: UUID, on: date) -> None:
        if self.right is not None:
            entry = RightChange(change, case_id, on, self.right.ends_on, self.right.holder)
            self.right_history = (*self.right_history, entry)

    def _check_actor(self, actor: Actor, at: datetime) -> None:
        check_aware(at)
        check_acts_for(actor, self.tenant)

    def _right_in_force(self, day: date) -> GraveRight:
        if not self.grave_type.has_grave_right:
            raise NoGraveRight(self.grave_type)
        if self.right is None or not self.right.in_force_on(day):
            raise NoRightInForce(day)
        return self.right

    def _placed(
        self,
        case_id: UUID,
        kind: BurialKind,
        starts_on: date,
        age_at_death: int,
        place: int | None,
    ) -> Occupation:
        """Where a burial of a case goes, with its rest period; refused if nowhere."""
        years, rest_ends_on, version = self.rest_period_of(
            kind=kind, buried_on=starts_on, age_at_death=age_at_death
        )
        places = self.spec.places(kind)
        others = [o for o in self.occupations if o.case_id != case_id and o.kind is kind]
        if place is None:
            free = [
                p
                for p in range(1, places + 1)
                if not any(o.place == p and o.overlaps(starts_on, rest_ends_on) for o in others)
            ]
            if not free:
                raise GraveFull(kind, places)
            place = free[0]
        elif not 1 <= place <= places:
            raise NoSuchPlace(kind, place, places)
        else:
            blocking = [
                o for o in others if o.place == place and o.overlaps(starts_on, rest_ends_on)
            ]
            if blocking:
                raise PlaceOccupied(kind, place, max(o.rest_ends_on for o in blocking))
        if self.grave_type.has_grave_right:
            right = self.right
            if right is None or not right.in_force_on(starts_on):
                raise NoRightInForce(starts_on)
            if right.ends_on < rest_ends_on:
                raise RightDoesNotCover(
                    right.ends_on, rest_ends_on, extension_years(right.ends_on, rest_ends_on)
                )
        return Occupation(
            case_id, kind, place, starts_on, rest_ends_on, years, version, reserved=True
        )


def _case_text(case_id: UUID, text: str, field_name: str) -> PersonalData:
    """Free text of a case (a reason), sealed under the case's text subject."""
    return PersonalData(case_id, Subjects.CASE_TEXT, clean_text(text, field_name))


def _check_personal(field_name: str, value: PersonalData, case_id: UUID) -> None:
    if not isinstance(value, PersonalData):
        raise InvalidCommand(field_name, "must be personal data")
    if value.case_id != case_id:
        raise InvalidCommand(field_name, "must be personal data of the case that records it")

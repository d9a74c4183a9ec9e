"""The towns' holiday programmes (Ferienspiele, § 11 SGB VIII) as their staff run them (#27).

Staff of a town publish offerings into the town's programme of a year (offering and programme
in one save; a code the programme has already is 409), close a registration window early,
draw the places once the window closed (the seed is drawn here, once, from a cryptographically
secure source, and recorded with the inputs and the algorithm version, so an auditor replays
the draw), read the registrations and change an offering's staff. Registrations themselves are
cases (``holiday-registration``): a guardian files one through ``POST /api/v1/cases`` and the
case records itself on the offering in the same save.

Health notes and allergies of the children (Art. 9 DSGVO) are read only by the offering's
staff (its organisers and carers); other staff of the town get 403 on them and read them as
withheld in the case. After the offering ended, ``HolidayWatch`` destroys the key of every
registration's health data (crypto-shredding) and records that on the offering and the cases.
The watch also draws an offering whose window closed and that nobody drew.

Another town's offering does not exist for staff (404, as a case); the published facts of an
offering (no personal data) are public, so that portals can list what is on offer. The public
lists (a town's offerings of a year; those open now, for the catalogue's example) come from an
``OfferingDirectory``: the read model in a deployment (``infrastructure/
holiday_offering_directory.py``), the offerings themselves where none is wired
(``OfferingsInTheLog``: every offering replayed, for tests and the demo).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

import structlog

from application.clock import Clock
from application.errors import ApplicationError, CaseNotFound
from application.retries import decided_and_saved
from application.staff_records import (
    STAFF_ROLES,
    check_keeps_records,
    sees_town,
    stored,
    stored_or,
    town_of,
)
from application.store import VorgangStore
from application.views import plain
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.holiday.offering import (
    AllocationRules,
    EntryStatus,
    HolidayOffering,
    OfferingEntry,
    normalised_code,
    offering_id,
)
from domain.holiday.programme import HolidayProgramme, OfferingCodeTaken, programme_id
from domain.rules.holiday_draw import replay as replay_draw
from domain.services.holiday_registration import (
    HEALTH,
    SERVICE_ID,
    HolidayRegistration,
    OfferingSummary,
)
from domain.teams import check_serves
from domain.tenants import TENANTS
from domain.working_days import berlin_date

__all__ = [
    "HolidayRecordNotFound",
    "HolidayService",
    "HolidayWatch",
    "NotOfferingStaff",
    "OfferingDirectory",
    "OfferingsInTheLog",
    "holiday_actor",
    "offering_view",
]

WATCH_ID: Final = "system:holiday-programme"
WATCH_NAME: Final = "Ferienspiele"

log = structlog.get_logger(__name__)


def holiday_actor(tenant: str) -> Actor:
    """The system as it draws a closed window's places and erases health notes."""
    return Actor(WATCH_ID, WATCH_NAME, Role.SYSTEM, tenant)


# ------------------------------------------------------------------ errors


class HolidayRecordNotFound(CaseNotFound):
    """An offering that does not exist for the actor (404)."""

    def __init__(self, aggregate_id: UUID, what: str) -> None:
        self.case_id = aggregate_id
        self.version = None
        Exception.__init__(self, f"no {what}")


class NotOfferingStaff(ApplicationError):
    """Staff of the town who are not the offering's staff ask for its health notes (403)."""

    def __init__(self, actor: Actor, offering: UUID) -> None:
        self.actor_id = actor.id
        self.offering = offering
        super().__init__(
            "only the offering's staff (its organisers and carers) read the children's "
            "health notes and allergies"
        )


# ------------------------------------------------------------------ views


def _isoformat(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def offering_view(offering: HolidayOffering, now: datetime) -> dict[str, Any]:
    """An offering as everybody may read it: its published facts, its window now, its places.

    No personal data: neither the children nor the staff are named.
    """
    return {
        "id": offering.id,
        "tenant": offering.tenant,
        "year": offering.year,
        "code": offering.code,
        "activity": offering.activity,
        "description": offering.description,
        "location": offering.location,
        "starts_on": offering.starts_on,
        "ends_on": offering.ends_on,
        "min_age": offering.min_age,
        "max_age": offering.max_age,
        "places": offering.places,
        "fee": offering.fee,
        "registration_opens_at": offering.registration_opens_at,
        "registration_closes_at": offering.registration_closes_at,
        "window": offering.window_state(now),
        "rules": offering.rules.as_dict(),
        "allocated": offering.allocated_count,
        "free_places": offering.free_places,
        "waiting": len(offering.waiting_list),
        "drawn_at": offering.drawn_at,
        "health_erased_at": offering.health_erased_at,
        "version": offering.version,
    }


def _child_of(case: HolidayRegistration, child: int) -> Mapping[str, Any]:
    """The child's entry of the registration's form (the case's stored data)."""
    children: Sequence[Mapping[str, Any]] = case.data.get("children") or ()
    return children[child] if 0 <= child < len(children) else {}


def _years(at: datetime) -> tuple[int, int]:
    """The programmes an offering open at ``at`` is in: this year's and the next's."""
    year = berlin_date(at).year
    return year, year + 1


# ------------------------------------------------------------------ the public lists


class OfferingDirectory(Protocol):
    """A town's offerings as the public reads them, without the staff's aggregates."""

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's offerings of a year in the order published, each as ``offering_view``
        shows it at ``now``."""
        ...

    def open_in(self, tenant: str, at: datetime) -> Sequence[OfferingSummary]:
        """The town's offerings whose registration window is open at ``at`` (this year's and
        the next's programme), each at its version now."""
        ...


class OfferingsInTheLog:
    """The town's offerings from the offerings themselves, where no read model is wired.

    It replays the programme and every offering of it (each holds an event per
    registration): fine for tests and the demo, so a deployment wires the read model
    (``infrastructure/holiday_offering_directory.py``) instead.
    """

    def __init__(self, store: VorgangStore) -> None:
        self.store = store

    def offerings(self, tenant: str, year: int) -> list[HolidayOffering]:
        """The town's offerings of a year, in the order they were listed."""
        programme = stored(self.store, programme_id(tenant, year), HolidayProgramme)
        listed = programme.offerings if programme is not None else ()
        return [o for o in (stored(self.store, i, HolidayOffering) for i in listed) if o]

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's offerings of a year as everybody reads them at ``now``."""
        return [offering_view(o, now) for o in self.offerings(tenant, year)]

    def open_in(self, tenant: str, at: datetime) -> list[HolidayOffering]:
        """The town's offerings open for registration at ``at``."""
        return [
            o
            for year in _years(at)
            for o in self.offerings(tenant, year)
            if o.window_state(at) == "open"
        ]


# ------------------------------------------------------------------ the service


class KeysOfCases(Protocol):
    """What erasing the health notes needs of the key store (``application.privacy``)."""

    def destroy(self, case_id: UUID, subjects: Collection[str] | None = None) -> list[str]:
        """Destroy the keys of these subjects of the case; return the destroyed key ids."""
        ...


class HolidayService:
    """The towns' holiday programmes: publish, close, draw, registrations, health notes."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        keys: KeysOfCases,
        directory: OfferingDirectory | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys
        self.directory: OfferingDirectory = directory or OfferingsInTheLog(store)

    def today(self) -> date:
        """The business day in Germany."""
        return berlin_date(self.clock.now())

    # -------------------------------------------------------------- who may

    @staticmethod
    def check_runs_programme(actor: Actor, tenant: str) -> None:
        """The town's clerks and supervisors serving holiday registrations (and the system)
        run its programme (403 otherwise)."""
        check_keeps_records(
            actor, tenant, SERVICE_ID, "the town's clerks and supervisors run its programme"
        )

    # -------------------------------------------------------------- loading

    def _get(self, aggregate_id: UUID, kind: type[Any], what: str) -> Any:
        return stored_or(
            self.store, aggregate_id, kind, lambda: HolidayRecordNotFound(aggregate_id, what)
        )

    def _find(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        return stored(self.store, aggregate_id, kind)

    def published(self, offering: UUID) -> HolidayOffering:
        """An offering as anybody may read it (its published facts)."""
        found: HolidayOffering = self._get(offering, HolidayOffering, f"offering {offering}")
        return found

    def offering(self, actor: Actor, offering: UUID) -> HolidayOffering:
        """An offering of a town the actor runs the programme of; another town's: not found."""
        found = self.published(offering)
        if not sees_town(actor, found.tenant):
            raise HolidayRecordNotFound(offering, f"offering {offering}")
        return found

    def staff_offering(self, actor: Actor, offering: UUID) -> HolidayOffering:
        """An offering of the actor's town, for its staff (another town's: not found)."""
        found = self.offering(actor, offering)
        self.check_runs_programme(actor, found.tenant)
        return found

    def programme(self, tenant: str, year: int) -> HolidayProgramme | None:
        """The town's programme of a year, if it published anything that year."""
        found: HolidayProgramme | None = self._find(programme_id(tenant, year), HolidayProgramme)
        return found

    def offerings(self, tenant: str, year: int) -> list[HolidayOffering]:
        """The town's offerings of a year, in the order they were listed."""
        programme = self.programme(tenant, year)
        if programme is None:
            return []
        return [self.published(o) for o in programme.offerings]

    def listed(self, tenant: str, year: int) -> list[dict[str, Any]]:
        """The town's offerings of a year as everybody reads them now, in the order they were
        published (from the directory: no offering replayed where the read model is wired)."""
        return self.directory.listed(tenant, year, self.clock.now())

    def open_in(self, tenant: str, at: datetime) -> Sequence[OfferingSummary]:
        """The town's offerings whose registration window is open at that moment (the
        catalogue's example names one); looks at the programmes of this year and the next."""
        return self.directory.open_in(tenant, at)

    def view(self, offering: HolidayOffering) -> dict[str, Any]:
        """An offering as everybody reads it, with its window as of now."""
        return offering_view(offering, self.clock.now())

    # -------------------------------------------------------------- publish

    def publish(
        self,
        actor: Actor,
        *,
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
    ) -> HolidayOffering:
        """Publish an offering in the town's programme of the year (409 if the code is taken).

        The programme is started with its first offering; both are saved together, so an
        offering is never outside its programme.
        """
        tenant = town_of(actor)
        self.check_runs_programme(actor, tenant)
        new_id = offering_id(tenant, year, code)

        def decide() -> tuple[HolidayOffering, tuple[HolidayProgramme, HolidayOffering]]:
            at = self.clock.now()
            if self._find(new_id, HolidayOffering) is not None:
                raise OfferingCodeTaken(normalised_code(code), year)
            programme = self.programme(tenant, year)
            if programme is None:
                programme = HolidayProgramme.start(
                    id=programme_id(tenant, year), tenant=tenant, year=year, actor=actor, at=at
                )
            offering = HolidayOffering.publish(
                id=new_id,
                tenant=tenant,
                year=year,
                code=code,
                activity=activity,
                description=description,
                location=location,
                starts_on=starts_on,
                ends_on=ends_on,
                min_age=min_age,
                max_age=max_age,
                places=places,
                fee=fee,
                registration_opens_at=registration_opens_at,
                registration_closes_at=registration_closes_at,
                rules=rules,
                staff=staff,
                actor=actor,
                at=at,
            )
            programme.list_offering(offering_id=offering.id, code=offering.code, actor=actor, at=at)
            return offering, (programme, offering)  # a lost race: another offering listed

        return decided_and_saved(self.store, new_id, decide)

    # -------------------------------------------------------------- changes

    def _change(
        self, actor: Actor, offering: UUID, change: Callable[[HolidayOffering], object]
    ) -> HolidayOffering:
        """Apply a change to the offering and save it; a lost race reloads and tries again."""

        def decide() -> tuple[HolidayOffering, tuple[HolidayOffering]]:
            found = self.staff_offering(actor, offering)
            change(found)
            return found, (found,)

        return decided_and_saved(self.store, offering, decide)

    def close_window(self, actor: Actor, offering: UUID, reason: str) -> HolidayOffering:
        """Close the registration window now, before its set end."""
        return self._change(
            actor,
            offering,
            lambda o: o.close_window(actor=actor, at=self.clock.now(), reason=reason),
        )

    def change_staff(
        self, actor: Actor, offering: UUID, staff: Sequence[str], reason: str
    ) -> HolidayOffering:
        """Name the offering's staff anew: who reads the children's health notes."""
        return self._change(
            actor,
            offering,
            lambda o: o.change_staff(staff=staff, actor=actor, at=self.clock.now(), reason=reason),
        )

    # -------------------------------------------------------------- the draw

    def places_held(
        self, offering: HolidayOffering, programme: HolidayProgramme | None = None
    ) -> dict[str, int]:
        """Places each child holds in the programme's other offerings drawn already (by the
        child's keyed id): the input of the rule ``places_per_child``."""
        held: dict[str, int] = {}
        if programme is None:
            programme = self.programme(offering.tenant, offering.year)
        for other_id in programme.offerings if programme is not None else ():
            if other_id == offering.id:
                continue
            other = self.published(other_id)
            if other.drawn_at is None:
                continue
            for key in other.allocated_keys():
                held[key] = held.get(key, 0) + 1
        return held

    def _registrations(self, offering: HolidayOffering) -> list[HolidayRegistration]:
        """Every registration case of the offering, each once, in the order of the entries."""
        seen: dict[UUID, HolidayRegistration] = {}
        for entry in offering.entries():
            if entry.case_id not in seen:
                seen[entry.case_id] = self._get(
                    entry.case_id, HolidayRegistration, f"registration {entry.case_id}"
                )
        return list(seen.values())

    def draw(self, actor: Actor, offering: UUID) -> HolidayOffering:
        """Draw the places of an offering whose window closed; once (a second draw: 409).

        The seed is drawn here, from the operating system's secure source, and recorded with
        the inputs and the algorithm version. Every registration case records the outcome
        (a place, or its waiting position) in the same save as the draw.
        """

        def decide() -> tuple[HolidayOffering, list[Any]]:
            found = self.staff_offering(actor, offering)
            at = self.clock.now()
            programme = self.programme(found.tenant, found.year)
            found.draw(
                seed=secrets.token_hex(32),
                places_held=self.places_held(found, programme),
                actor=actor,
                at=at,
            )
            noted = [] if programme is None else [programme]
            for listed in noted:  # another draw of the programme at once: one save fails
                listed.note_draw(offering_id=found.id, actor=actor, at=at)
            registrations = self._registrations(found)
            for case in registrations:
                case.note_draw(found, actor=actor, at=at)
            # a cancellation or a note meanwhile: drawn again from a fresh load
            return found, [found, *noted, *registrations]

        return decided_and_saved(self.store, offering, decide)

    def draw_record(self, actor: Actor, offering: UUID) -> dict[str, Any]:
        """The recorded draw: algorithm, seed, places, rules, inputs, allocated and waiting."""
        found = self.reader_offering(actor, offering)
        if found.draw_record is None:
            raise InvalidCommand("offering", "the places of this offering were not drawn yet")
        return {"drawn_at": found.drawn_at, **dict(found.draw_record)}

    def replay(self, actor: Actor, offering: UUID) -> dict[str, Any]:
        """The recorded draw run again from its recorded inputs, beside the record."""
        record = self.draw_record(actor, offering)
        result = replay_draw({k: v for k, v in record.items() if k != "drawn_at"})
        return {
            "offering": offering,
            "algorithm": record.get("algorithm"),
            "verdict": result.verdict,
            "differences": list(result.differences),
        }

    def reader_offering(self, actor: Actor, offering: UUID) -> HolidayOffering:
        """An offering whose draw the actor may read: the town's staff and its auditors."""
        if actor.role is Role.AUDITOR:
            return self.offering(actor, offering)
        return self.staff_offering(actor, offering)

    # -------------------------------------------------------------- registrations

    def registrations(self, actor: Actor, offering: UUID) -> list[dict[str, Any]]:
        """Every registered child of the offering with its case, outcome and waiting place."""
        found = self.staff_offering(actor, offering)
        cases = {case.id: case for case in self._registrations(found)}
        rows = []
        for entry in found.entries():
            case = cases[entry.case_id]
            child = _child_of(case, entry.child)
            rows.append(
                {
                    "case_id": entry.case_id,
                    "reference": case.reference,
                    "child": entry.child,
                    "given_name": plain(child.get("given_name")),
                    "family_name": plain(child.get("family_name")),
                    "age": entry.age,
                    "status": entry.status,
                    "waiting_position": entry.waiting_position,
                    "moved_up": _moved_up(found, entry),
                }
            )
        return rows

    def health_notes(self, actor: Actor, offering: UUID) -> list[dict[str, Any]]:
        """The health notes and allergies of the children registered (not cancelled), for
        the offering's staff only (others of the town: ``NotOfferingStaff``)."""
        found = self.offering(actor, offering)
        if actor.role not in STAFF_ROLES or actor.id not in found.staff:
            raise NotOfferingStaff(actor, offering)
        check_serves(actor, found.tenant, SERVICE_ID)
        cases = {case.id: case for case in self._registrations(found)}
        rows = []
        for entry in found.entries():
            if entry.status == EntryStatus.CANCELLED:
                continue
            case = cases[entry.case_id]
            child = _child_of(case, entry.child)
            rows.append(
                {
                    "case_id": entry.case_id,
                    "reference": case.reference,
                    "child": entry.child,
                    "given_name": plain(child.get("given_name")),
                    "family_name": plain(child.get("family_name")),
                    "status": entry.status,
                    "health_notes": plain(child.get("health_notes")),
                    "allergies": plain(child.get("allergies")),
                    "guardians": [
                        {"name": plain(g.get("name")), "phone": plain(g.get("phone"))}
                        for g in case.data.get("guardians") or ()
                    ],
                }
            )
        return rows

    # -------------------------------------------------------------- after the offering

    def erase_health_notes(self, actor: Actor, offering: UUID) -> HolidayOffering:
        """Erase the health notes of every registration once the offering ended.

        Keys first (crypto-shredding: the notes are unreadable in every event and view),
        then the erasure is recorded on the offering and each case, in one save. If that save
        fails the notes are gone all the same and a repeated run records it.
        """

        def decide() -> tuple[HolidayOffering, list[Any]]:
            found = self.offering(actor, offering)
            at = self.clock.now()
            registrations = self._registrations(found)
            for case in registrations:
                self.keys.destroy(case.id, [HEALTH])
            found.note_health_erased(cases=[c.id for c in registrations], actor=actor, at=at)
            for case in registrations:
                case.note_health_erased(actor=actor, at=at)
            return found, [found, *registrations]

        return decided_and_saved(self.store, offering, decide)


def _moved_up(offering: HolidayOffering, entry: OfferingEntry) -> bool:
    """Whether the child holds a place it moved up into (it waited after the draw)."""
    if entry.status != EntryStatus.ALLOCATED or offering.draw_record is None:
        return False
    waited = {(str(case_id), int(child)) for case_id, child in offering.draw_record["waiting"]}
    return (str(entry.case_id), entry.child) in waited


# ------------------------------------------------------------------ the scheduler's round


class HolidayWatch:
    """Beside the timers: draws a closed window's places, and erases health notes after.

    Each tick looks at the programmes of this year and the last of every town. An offering
    whose registration window closed and that nobody drew is drawn by the system (until its
    last day: a draw for days gone by helps nobody); one that ended (the day after
    ``ends_on``) has its children's health notes erased. An offering erased is done for good:
    the watch remembers it and reads it no more. A failure is logged and never stops the
    other offerings; the next tick tries again.
    """

    def __init__(self, holiday: HolidayService, towns: Iterable[str] = TENANTS) -> None:
        self.holiday = holiday
        self.towns = tuple(towns)
        self.finished: set[UUID] = set()  # erased after the end: nothing more, ever; not loaded

    def due(self, today: date) -> list[tuple[str, HolidayOffering]]:
        """The offerings with work to do: (``"draw"`` or ``"erase"``, the offering)."""
        now = self.holiday.clock.now()
        found = []
        for tenant in self.towns:
            for year in (today.year - 1, today.year):
                programme = self.holiday.programme(tenant, year)
                for listed in programme.offerings if programme is not None else ():
                    if listed in self.finished:
                        continue
                    offering = self.holiday.published(listed)
                    if offering.health_erased_at is not None:
                        self.finished.add(listed)
                        continue
                    if (
                        offering.drawn_at is None
                        and offering.window_state(now) == "closed"
                        and today <= offering.ends_on
                    ):
                        found.append(("draw", offering))
                    if today > offering.ends_on:
                        found.append(("erase", offering))
        return found

    def tick(self, today: date) -> list[tuple[str, UUID]]:
        """One round: what was done, as (``"draw"``/``"erase"``, offering id)."""
        done = []
        for work, offering in self.due(today):
            actor = holiday_actor(offering.tenant)
            try:
                if work == "draw":
                    self.holiday.draw(actor, offering.id)
                else:
                    self.holiday.erase_health_notes(actor, offering.id)
            except Exception as error:  # one offering's failure never stops the others
                log.warning(
                    "holiday programme round failed",
                    work=work,
                    offering=str(offering.id),
                    error=type(error).__name__,
                )
                continue
            done.append((work, offering.id))
        return done

"""Use cases of the citizens' offices: book, cancel, rebook, check in, draw, call, serve.

Every use case loads the office's day (``OfficeDay``, one aggregate per office and day),
decides, and saves it in one save. Two bookings of the same slot meet at the day's version:
the loser's save fails (``IntegrityError``), and it is decided again from a fresh load, so
it finds the slot taken (``SlotTaken``, 422) instead of overwriting. No slot is ever given
twice, on SQLite and on PostgreSQL alike.

Citizens book without an account: the confirmation code is the capability to check in, the
cancellation token (given once, stored only as its digest) the capability to cancel or
rebook. The per-person limit counts a keyed fingerprint of the contact, never the contact.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.errors import ConcurrentUpdate, VersionMismatch
from application.identities import CaseIdentities
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.appointments.office_day import (
    APPOINTMENT,
    QUEUES,
    WALK_IN,
    OfficeDay,
    booking_subject,
    office_day_id,
)
from domain.appointments.offices import office
from domain.errors import InvalidCommand
from domain.working_days import berlin_date

ATTEMPTS: Final = 60
LOCK_STRIPES: Final = 64
RETRY_PAUSE_SECONDS: Final = 0.002
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a desk
CODE_LENGTH: Final = 8
# Why staff cancel without the token: keywords only, since the event's reason is not sealed
# personal data (free text could name people, decision 14).
DESK_CANCEL_REASONS: Final = (
    "citizen_request",  # the citizen asked by phone, letter or at the desk
    "office_closure",  # the office closes that day or hour
    "staff_absence",  # too few staff at the counters
    "duplicate",  # the citizen holds another booking for the same concern
    "entered_in_error",  # booked at the desk by mistake
)
T = TypeVar("T")
_STRIPES: Final = tuple(threading.Lock() for _ in range(LOCK_STRIPES))


def online_booking(tenant: str) -> Actor:
    """Who acts for a citizen booking online without an account (recorded in the events)."""
    return Actor("online-booking", "Online-Terminvergabe", Role.APPLICANT, tenant)


def kiosk(tenant: str) -> Actor:
    """Who acts at the office's kiosk (check-in and walk-in tickets)."""
    return Actor("kiosk", "Kiosk im Bürgerbüro", Role.APPLICANT, tenant)


def check_desk_staff(actor: Actor) -> None:
    """Only clerks and supervisors work at the desk (book any slot, cancel without token)."""
    if not actor.acts_as(Role.CLERK, Role.SUPERVISOR):
        raise InvalidCommand("role", "only clerks and supervisors work at the desk")


def token_digest(token: str) -> str:
    """The stored form of a cancellation token (a random token: a plain hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


class KeyDestroyer(Protocol):
    """What erasure of a booking's contact needs of the key store."""

    def destroy(self, case_id: UUID, subjects: Collection[str] | None = None) -> list[str]:
        """Destroy the keys of these subjects; return the destroyed key ids."""
        ...


@dataclass(frozen=True, slots=True)
class Changed:
    """What a use case changed: the office day, its new version, the log position."""

    office_day: UUID
    version: int
    position: int | None


class StaleOfficeDay(VersionMismatch):
    """The caller expected another version of the office day (a stale If-Match)."""

    def __init__(self, office_day: UUID, expected: int, actual: int) -> None:
        super().__init__(office_day, expected, actual)
        self.args = (f"office day {office_day} is at version {actual}, not {expected}",)


@dataclass(frozen=True, slots=True)
class Held:
    """A slot held: the hold id that confirms it, and until when."""

    hold: str
    slot: str
    until: datetime
    changed: Changed


@dataclass(frozen=True, slots=True)
class Booked:
    """A confirmed booking: the code, and the cancellation token (shown once)."""

    code: str
    token: str
    day: date
    slot: str
    starts: datetime
    documents: tuple[str, ...]
    changed: Changed


@dataclass(frozen=True, slots=True)
class DeskBooking:
    """A booking as the desk sees it: where it stands and the citizen's contact."""

    code: str
    slot: str
    service: str
    starts: datetime
    online: bool  # the slot was released online (False: a desk-only slot)
    status: str
    ticket: str | None
    contact: dict[str, str]  # revealed for staff of the town; "[gelöscht]" once erased
    erased: bool


@dataclass(frozen=True, slots=True)
class DeskDay:
    """An office day at the desk: its version, bookings and the slots the desk may book."""

    office_day: UUID
    day: date
    version: int
    bookings: tuple[DeskBooking, ...]
    free: tuple[tuple[str, str, datetime], ...]  # (slot, service, starts), desk-only ones too


@dataclass(frozen=True, slots=True)
class Drawn:
    """A ticket drawn or called: its number (and the counter, the call)."""

    ticket: str
    changed: Changed
    counter: str | None = None
    call: int | None = None


class AppointmentService:
    """The citizens' offices' use cases over the one store."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        identities: CaseIdentities,
        *,
        keys: KeyDestroyer | None = None,
        queue_in_process: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.identities = identities
        self.keys = keys
        # False only where a test plays several processes in one (the version still guards)
        self.queue_in_process = queue_in_process

    def _queue_for(self, day_id: UUID) -> AbstractContextManager[object]:
        """The lock that queues this process's commands on one office day.

        Under a burst (slots released at a set hour) racing threads of one process would
        mostly lose and reload; queued, each decides once on the day as the one before left
        it. Other processes are still kept apart by the day's version (a lost race retries).
        """
        if not self.queue_in_process:
            return nullcontext()
        return _STRIPES[day_id.int % LOCK_STRIPES]

    # ------------------------------------------------------------------ reading

    def day(self, tenant: str, office_id: str, day: date) -> OfficeDay:
        """The office's day as stored, or as configured when nothing happened yet."""
        configured = office(tenant, office_id)
        try:
            found: object = self.store.repository.get(office_day_id(tenant, office_id, day))
        except AggregateNotFoundError:
            return OfficeDay.open(configured, day)
        if not isinstance(found, OfficeDay):
            raise InvalidCommand("office", "not an office day")
        return found

    def today(self) -> date:
        """Today in Germany, by the clock."""
        return berlin_date(self.clock.now())

    # ------------------------------------------------------------------ deciding

    def _decide(
        self,
        tenant: str,
        office_id: str,
        day: date,
        decide: Callable[[OfficeDay, datetime], T],
        expected_version: int | None = None,
    ) -> tuple[T, Changed]:
        """Load, check the expected version, decide, save; a lost race is decided again.

        A day nobody touched yet is at version 1 (opened as configured, not yet stored).
        """
        day_id = office_day_id(tenant, office_id, day)
        for attempt in range(ATTEMPTS):
            if attempt:
                # Another process saved first: back off with jitter, then reload the day.
                pause = RETRY_PAUSE_SECONDS * 2 ** min(attempt, 6)
                time.sleep(random.uniform(0, pause))  # noqa: S311
            with self._queue_for(day_id):
                aggregate = self.day(tenant, office_id, day)
                if expected_version is not None and expected_version != aggregate.version:
                    raise StaleOfficeDay(day_id, expected_version, aggregate.version)
                result = decide(aggregate, self.clock.now())
                try:
                    recordings = self.store.save(aggregate)
                except IntegrityError:
                    continue
            position = max((r.notification.id for r in recordings), default=None)
            return result, Changed(day_id, aggregate.version, position)
        raise ConcurrentUpdate(day_id)

    # ------------------------------------------------------------------ booking

    def hold(
        self, tenant: str, office_id: str, day: date, slot: str, *, actor: Actor, online: bool
    ) -> Held:
        """Hold a free slot for the office's hold minutes."""
        hold = str(uuid4())
        until, changed = self._decide(
            tenant,
            office_id,
            day,
            lambda d, at: d.hold(slot=slot, hold=hold, online=online, actor=actor, at=at),
        )
        return Held(hold, slot, until, changed)

    def person(self, tenant: str, contact: dict[str, str]) -> str:
        """The keyed fingerprint of a contact the per-person limit counts."""
        key = (contact.get("email") or contact.get("phone") or "").strip().lower()
        key = "".join(key.split())
        return str(
            self.identities.keyed_id(aggregate_type="AppointmentPerson", tenant=tenant, key=key)
        )

    def confirm(
        self,
        tenant: str,
        office_id: str,
        day: date,
        hold: str,
        contact: dict[str, str],
        *,
        actor: Actor,
    ) -> Booked:
        """Book a held slot for a contact: a confirmation code and a cancellation token."""
        code = new_code()
        token = secrets.token_urlsafe(24)
        person = self.person(tenant, contact)

        def decide(d: OfficeDay, at: datetime) -> str:
            return d.confirm(
                hold=hold,
                contact=contact,
                person=person,
                code=code,
                token_digest=token_digest(token),
                actor=actor,
                at=at,
            )

        _, changed = self._decide(tenant, office_id, day, decide)
        return self._booked(tenant, office_id, day, code, token, changed)

    def book_at_desk(
        self,
        tenant: str,
        office_id: str,
        day: date,
        slot: str,
        contact: dict[str, str],
        *,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Booked:
        """Staff book any free slot (desk-only ones too) for a contact: held and confirmed in
        one save, so the desk never leaves a hold behind."""
        check_desk_staff(actor)
        hold = str(uuid4())
        code = new_code()
        token = secrets.token_urlsafe(24)
        person = self.person(tenant, contact)

        def decide(d: OfficeDay, at: datetime) -> str:
            d.hold(slot=slot, hold=hold, online=False, actor=actor, at=at)
            return d.confirm(
                hold=hold,
                contact=contact,
                person=person,
                code=code,
                token_digest=token_digest(token),
                actor=actor,
                at=at,
            )

        _, changed = self._decide(tenant, office_id, day, decide, expected_version)
        return self._booked(tenant, office_id, day, code, token, changed)

    def desk_day(self, tenant: str, office_id: str, day: date) -> DeskDay:
        """The day's bookings with their contacts, and the slots the desk may still book."""
        found = self.day(tenant, office_id, day)
        at = self.clock.now()
        bookings = sorted(
            found.bookings.values(), key=lambda b: (found.slots[b.slot].starts, b.code)
        )
        free = [
            s for service in found.services for s in found.free_slots(service, at, online=False)
        ]
        return DeskDay(
            office_day=found.id,
            day=found.day,
            version=found.version,
            bookings=tuple(
                DeskBooking(
                    code=b.code,
                    slot=b.slot,
                    service=b.service,
                    starts=found.slots[b.slot].starts,
                    online=found.slots[b.slot].online,
                    status=b.status,
                    ticket=b.ticket,
                    contact={k: v.reveal() for k, v in sorted(b.contact.items())},
                    erased=b.erased or any(v.is_erased for v in b.contact.values()),
                )
                for b in bookings
            ),
            free=tuple(
                (s.id, s.service, s.starts) for s in sorted(free, key=lambda s: (s.starts, s.id))
            ),
        )

    def _booked(
        self, tenant: str, office_id: str, day: date, code: str, token: str, changed: Changed
    ) -> Booked:
        stored = self.day(tenant, office_id, day)
        booking = stored.booking(code)
        slot = stored.slots[booking.slot]
        documents = office(tenant, office_id).service(slot.service).documents
        return Booked(code, token, day, slot.id, slot.starts, documents, changed)

    def cancel(
        self,
        tenant: str,
        office_id: str,
        day: date,
        code: str,
        *,
        token: str | None,
        actor: Actor,
        reason: str = "",
        expected_version: int | None = None,
    ) -> Changed:
        """Cancel a booking (citizens with their token; staff without): the slot is free again."""
        digest = None if token is None else token_digest(token)
        _, changed = self._decide(
            tenant,
            office_id,
            day,
            lambda d, at: d.cancel(
                code=code, token_digest=digest, actor=actor, at=at, reason=reason
            ),
            expected_version,
        )
        return changed

    def cancel_at_desk(
        self,
        tenant: str,
        office_id: str,
        day: date,
        code: str,
        *,
        reason: str,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Changed:
        """Staff cancel a booking without its token, for a recorded reason (a keyword)."""
        if reason not in DESK_CANCEL_REASONS:
            raise InvalidCommand("reason", f"one of {', '.join(DESK_CANCEL_REASONS)}")
        check_desk_staff(actor)
        return self.cancel(
            tenant,
            office_id,
            day,
            code,
            token=None,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
        )

    def rebook(
        self,
        tenant: str,
        office_id: str,
        day: date,
        code: str,
        *,
        token: str,
        to_day: date,
        hold: str,
        actor: Actor,
    ) -> Booked:
        """Move a booking to a slot held meanwhile: old cancelled, new confirmed, one save."""
        new = new_code()
        new_token = secrets.token_urlsafe(24)
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS * 2 ** min(attempt, 6)))  # noqa: S311
            at = self.clock.now()
            source = self.day(tenant, office_id, day)
            target = source if to_day == day else self.day(tenant, office_id, to_day)
            old = source.booking(code)
            contact = {k: v.reveal() for k, v in old.contact.items() if not v.is_erased}
            source.cancel(
                code=code, token_digest=token_digest(token), actor=actor, at=at, reason="rebooked"
            )
            target.confirm(
                hold=hold,
                contact=contact,
                person=old.person,
                code=new,
                token_digest=token_digest(new_token),
                actor=actor,
                at=at,
            )
            try:
                recordings = self.store.save(*{id(a): a for a in (source, target)}.values())
            except IntegrityError:
                continue
            position = max((r.notification.id for r in recordings), default=None)
            changed = Changed(target.id, target.version, position)
            return self._booked(tenant, office_id, to_day, new, new_token, changed)
        raise ConcurrentUpdate(office_day_id(tenant, office_id, to_day))

    def remind(self, tenant: str, office_id: str, day: date, code: str, *, actor: Actor) -> Changed:
        """Record that a booking's reminder fell due (the worker's job)."""
        _, changed = self._decide(
            tenant, office_id, day, lambda d, at: d.remind(code=code, actor=actor, at=at)
        )
        return changed

    def erase_contact(
        self, tenant: str, office_id: str, day: date, code: str, *, actor: Actor
    ) -> Changed:
        """Erase a booking's contact data once its retention ended: destroy the key, record it."""
        if self.keys is None:
            raise InvalidCommand("code", "no key store is wired to erase with")
        keys = self.keys

        def decide(d: OfficeDay, at: datetime) -> None:
            d.erase_contact(code=code, actor=actor, at=at)  # checks the day first
            keys.destroy(d.id, [booking_subject(code)])

        _, changed = self._decide(tenant, office_id, day, decide)
        return changed

    # ------------------------------------------------------------------ arrival and calls

    def check_in(self, tenant: str, office_id: str, code: str, *, actor: Actor) -> Drawn:
        """A booked citizen arrives today: an appointment ticket."""
        ticket, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.check_in(code=code.strip().upper(), actor=actor, at=at),
        )
        return Drawn(ticket, changed)

    def draw_walk_in(self, tenant: str, office_id: str, service: str, *, actor: Actor) -> Drawn:
        """A citizen without appointment draws a ticket for a concern today."""
        ticket, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.draw_walk_in(service=service, actor=actor, at=at),
        )
        return Drawn(ticket, changed)

    def call_next(
        self,
        tenant: str,
        office_id: str,
        counter: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Drawn:
        """Call the next ticket to a counter."""
        ticket, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.call_next(counter=counter, actor=actor, at=at),
            expected_version,
        )
        return Drawn(ticket, changed, counter=counter, call=1)

    def call_again(
        self,
        tenant: str,
        office_id: str,
        ticket: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Drawn:
        """Call a ticket again to its counter."""
        call, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.call_again(ticket=ticket, actor=actor, at=at),
            expected_version,
        )
        counter = self.day(tenant, office_id, self.today()).ticket(ticket).counter
        return Drawn(ticket, changed, counter=counter, call=call)

    def serve(
        self,
        tenant: str,
        office_id: str,
        ticket: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        counter: str | None = None,
    ) -> Changed:
        """The called citizen was served."""
        _, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.serve(ticket=ticket, actor=actor, at=at, counter=counter),
            expected_version,
        )
        return changed

    def miss(
        self,
        tenant: str,
        office_id: str,
        ticket: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        counter: str | None = None,
    ) -> Changed:
        """Nobody came after the last call: a no-show."""
        _, changed = self._decide(
            tenant,
            office_id,
            self.today(),
            lambda d, at: d.miss(ticket=ticket, actor=actor, at=at, counter=counter),
            expected_version,
        )
        return changed

    # ------------------------------------------------------------------ the queue

    def queue(self, tenant: str, office_id: str) -> dict[str, object]:
        """Today's queues: waiting counts, estimated waits, tickets called (no personal data)."""
        day = self.day(tenant, office_id, self.today())
        called = sorted(
            (t for t in day.tickets.values() if t.status == "called"),
            key=lambda t: t.first_called_at or self.clock.now(),
        )
        return {
            "tenant": tenant,
            "office": office_id,
            "day": day.day,
            "queues": [
                {
                    "queue": q,
                    "waiting": len(day.waiting(q)),
                    "estimated_wait_minutes": day.estimated_wait_minutes(q, self.clock.now()),
                }
                for q in QUEUES
            ],
            "called": [{"ticket": t.ticket, "counter": t.counter, "call": t.calls} for t in called],
            "next": (lambda n: None if n is None else n.ticket)(day.next_ticket(self.clock.now())),
        }


def new_code() -> str:
    """A confirmation code: 8 characters, about 40 bits, readable aloud."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


__all__ = [
    "APPOINTMENT",
    "DESK_CANCEL_REASONS",
    "WALK_IN",
    "AppointmentService",
    "Booked",
    "Changed",
    "DeskBooking",
    "DeskDay",
    "Drawn",
    "Held",
    "StaleOfficeDay",
]

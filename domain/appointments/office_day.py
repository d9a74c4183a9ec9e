"""One citizens' office's day: its slots, holds, bookings, tickets and calls.

A slot is given at most once, ticket numbers are unique and never reused that day, and a
ticket is served at most once: all of it is one ``OfficeDay`` aggregate per office and day,
so two bookings of the same slot meet at its version and the loser's retry finds the slot
taken (``application/appointments.py``). The id follows from town, office and day, public
facts (``office_day_id``).

The day records the slots and rules it was opened with (``offices.py`` may change later).
Citizens' contact data is ``PersonalData`` under the subject ``booking:<code>`` of the day,
so each booking's data can be erased on its own; the person limit counts a keyed
fingerprint of the contact the application computes, never the contact itself.

Guards live in the command methods; an ``@event`` method only assigns (it runs again on
every replay, with erased contacts too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord
from domain.appointments.offices import Office, slot_id
from domain.case import check_acts_for, check_aware
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData, PersonalValue
from domain.working_days import BERLIN, berlin_date

OFFICE_DAY_NAMESPACE: Final = UUID("0b5e7a2c-41d9-5c3e-8f6a-7d2b9c1e4a30")
APPOINTMENT: Final = "appointment"
WALK_IN: Final = "walk_in"
QUEUES: Final = (APPOINTMENT, WALK_IN)
PREFIX: Final = {APPOINTMENT: "T", WALK_IN: "W"}
CONTACT_FIELDS: Final = ("name", "email", "phone")
REASON: Final = re.compile(r"[a-z_]{0,40}")  # a cancellation's reason: a keyword or none


def office_day_id(tenant: str, office: str, day: date) -> UUID:
    """The id of an office's day: the same on every call, in every process."""
    return uuid5(OFFICE_DAY_NAMESPACE, f"{tenant}/{office}/{day.isoformat()}")


def booking_subject(code: str) -> str:
    """The data subject of one booking's contact data (erased on its own)."""
    return f"booking:{code}"


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time of one service on the day."""

    id: str
    service: str
    starts: datetime
    minutes: int
    online: bool  # released for online booking (others only at the desk)


@dataclass(frozen=True, slots=True)
class Hold:
    """A slot held for a few minutes while the citizen enters their contact."""

    hold: str
    slot: str
    until: datetime
    online: bool


@dataclass(frozen=True, slots=True)
class Booking:
    """A confirmed appointment: its slot, contact and where it stands."""

    code: str
    slot: str
    service: str
    contact: dict[str, PersonalValue]
    person: str  # keyed fingerprint of the contact (the per-person limit)
    token_digest: str  # the cancellation token's digest; the token itself is never stored
    status: str  # booked, cancelled, checked_in, served, missed
    reminder_due: datetime
    erase_on: date
    ticket: str | None = None
    reminded: bool = False
    erased: bool = False

    @property
    def active(self) -> bool:
        """Whether the booking still takes its slot."""
        return self.status in ("booked", "checked_in", "served")


@dataclass(frozen=True, slots=True)
class Ticket:
    """A number drawn at the kiosk or desk, and its calls."""

    ticket: str
    queue: str
    service: str
    number: int
    drawn_at: datetime
    code: str | None = None  # the booking it was drawn for
    due: datetime | None = None  # the appointment's start
    status: str = "waiting"  # waiting, called, served, missed
    counter: str | None = None
    calls: int = 0
    first_called_at: datetime | None = None
    finished_at: datetime | None = None


# ------------------------------------------------------------------ errors


class SlotTaken(InvalidCommand):
    """A slot booked or held by someone else."""

    def __init__(self, slot: str) -> None:
        self.slot = slot
        super().__init__("slot", f"the slot {slot} is taken")


class NoSuchBooking(InvalidCommand):
    """A confirmation code the day does not know."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__("code", "no booking has this confirmation code on this day")


class NoSuchTicket(InvalidCommand):
    """A ticket number not drawn that day."""

    def __init__(self, ticket: str) -> None:
        self.ticket = ticket
        super().__init__("ticket", f"no ticket {ticket} was drawn that day")


class QueueEmpty(InvalidCommand):
    """Nobody waits."""

    def __init__(self) -> None:
        super().__init__("counter", "no ticket is waiting")


# ------------------------------------------------------------------ the aggregate


class OfficeDay(Aggregate):
    """One office's day: slots, holds, bookings, tickets and calls."""

    @classmethod
    def open(cls, office: Office, day: date) -> OfficeDay:
        """The office's day as configured, nothing booked yet (no slots on a closed day)."""
        slots = []
        for service in office.services:
            for index, starts in enumerate(office.slot_starts(service.id, day)):
                slots.append(
                    {
                        "slot": slot_id(service.id, starts),
                        "service": service.id,
                        "starts": starts.strftime("%H:%M"),
                        "minutes": service.slot_minutes,
                        "online": index < service.online_slots,
                    }
                )
        rules = office.rules
        return cls(
            id=office_day_id(office.tenant, office.id, day),
            tenant=office.tenant,
            office=office.id,
            day=day,
            counters=list(office.counters),
            slots=slots,
            rules={
                "min_days_ahead": rules.min_days_ahead,
                "max_days_ahead": rules.max_days_ahead,
                "hold_minutes": rules.hold_minutes,
                "per_person_per_day": rules.per_person_per_day,
                "reminder_hours": rules.reminder_hours,
                "erase_after_days": rules.erase_after_days,
                "max_calls": rules.max_calls,
            },
        )

    class Opened(Aggregate.Created):
        """An office's day opened with its counters, slots and booking rules."""

        tenant: str
        office: str
        day: date
        counters: list[str]
        slots: list[dict[str, Any]]
        rules: dict[str, int]

    @event(Opened)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        office: str,
        day: date,
        counters: list[str],
        slots: list[dict[str, Any]],
        rules: dict[str, int],
    ) -> None:
        self.tenant = tenant
        self.office = office
        self.day = day
        self.counters = tuple(counters)
        self.rules = dict(rules)
        self.slots: dict[str, Slot] = {}
        for s in slots:
            hour, minute = (int(p) for p in s["starts"].split(":"))
            starts = datetime.combine(day, time(hour, minute), tzinfo=BERLIN)
            self.slots[s["slot"]] = Slot(s["slot"], s["service"], starts, s["minutes"], s["online"])
        self.holds: dict[str, Hold] = {}  # slot -> its latest hold
        self.bookings: dict[str, Booking] = {}  # code -> booking
        self.booked: dict[str, str] = {}  # slot -> code of the booking that takes it
        self.tickets: dict[str, Ticket] = {}
        self.drawn: dict[str, int] = dict.fromkeys(QUEUES, 0)  # numbers given per queue

    # ------------------------------------------------------------------ queries

    @property
    def services(self) -> tuple[str, ...]:
        """The services with slots that day, in configuration order."""
        return tuple(dict.fromkeys(s.service for s in self.slots.values()))

    def is_free(self, slot: str, at: datetime, *, online: bool = True) -> bool:
        """Whether the slot can be held now: not booked, not held, not begun, released."""
        found = self.slots.get(slot)
        if found is None or found.starts <= at or (online and not found.online):
            return False
        if slot in self.booked:
            return False
        hold = self.holds.get(slot)
        return hold is None or hold.until < at

    def online_window(self, at: datetime) -> tuple[date, date]:
        """The first and last day one may book online, seen from ``at``."""
        today = berlin_date(at)
        return (
            today + timedelta(days=self.rules["min_days_ahead"]),
            today + timedelta(days=self.rules["max_days_ahead"]),
        )

    def free_slots(self, service: str, at: datetime, *, online: bool = True) -> tuple[Slot, ...]:
        """The slots of a service one may hold now, in order (online: within the window)."""
        first, last = self.online_window(at)
        if online and not first <= self.day <= last:
            return ()
        return tuple(
            s
            for s in sorted(self.slots.values(), key=lambda s: (s.starts, s.id))
            if s.service == service and self.is_free(s.id, at, online=online)
        )

    def waiting(self, queue: str) -> tuple[Ticket, ...]:
        """The tickets of a queue still waiting, in the order they were drawn."""
        return tuple(t for t in self.tickets.values() if t.queue == queue and t.status == "waiting")

    def called_at(self, counter: str) -> Ticket | None:
        """The ticket called to a counter and not yet served or missed."""
        return next(
            (t for t in self.tickets.values() if t.counter == counter and t.status == "called"),
            None,
        )

    def next_ticket(self, at: datetime) -> Ticket | None:
        """Who is called next: appointments due first, then walk-ins in order, then early ones."""
        appointments = sorted(self.waiting(APPOINTMENT), key=lambda t: (t.due or at, t.number))
        due = [t for t in appointments if t.due is not None and t.due <= at]
        early = [t for t in appointments if t not in due]
        return next(iter(due + list(self.waiting(WALK_IN)) + early), None)

    def estimated_wait_minutes(self, queue: str, at: datetime | None = None) -> int:
        """Minutes a new ticket of the queue waits: the slot minutes ahead over the counters.

        For walk-ins the appointments due by ``at`` count too (they go first); appointments
        checked in early go after the walk-ins and do not. Without ``at`` all of them count.
        """
        minutes = {s.service: s.minutes for s in self.slots.values()}
        ahead = sum(minutes.get(t.service, 15) for t in self.waiting(queue))
        if queue == WALK_IN:
            ahead += sum(
                minutes.get(t.service, 15)
                for t in self.waiting(APPOINTMENT)
                if at is None or t.due is None or t.due <= at
            )
        return -(-ahead // max(len(self.counters), 1))

    def booking(self, code: str) -> Booking:
        """The booking with this confirmation code, or ``NoSuchBooking``."""
        found = self.bookings.get(code)
        if found is None:
            raise NoSuchBooking(code)
        return found

    def ticket(self, ticket: str) -> Ticket:
        """The ticket with this number, or ``NoSuchTicket``."""
        found = self.tickets.get(ticket)
        if found is None:
            raise NoSuchTicket(ticket)
        return found

    # ------------------------------------------------------------------ guards

    def _check(self, actor: Actor, at: datetime) -> None:
        check_aware(at)
        check_acts_for(actor, self.tenant)

    def _check_today(self, at: datetime) -> None:
        if berlin_date(at) != self.day:
            raise InvalidCommand("day", f"tickets are drawn and called on {self.day} only")

    def _record(self, actor: Actor) -> ActorRecord:
        return actor.recorded_in(self.id)

    # ------------------------------------------------------------------ booking

    def hold(self, *, slot: str, hold: str, online: bool, actor: Actor, at: datetime) -> datetime:
        """Hold a free slot for the day's hold minutes; returns until when."""
        self._check(actor, at)
        found = self.slots.get(slot)
        if found is None:
            raise InvalidCommand("slot", f"the office has no slot {slot} on {self.day}")
        if online:
            first, last = self.online_window(at)
            if not first <= self.day <= last:
                raise InvalidCommand("day", f"online booking is open from {first} to {last}")
            if not found.online:
                raise InvalidCommand("slot", f"the slot {slot} is not released for online booking")
        if found.starts <= at:
            raise InvalidCommand("slot", f"the slot {slot} has begun")
        if any(h.hold == hold for h in self.holds.values()):
            raise InvalidCommand("hold", "this hold id is used already")
        if not self.is_free(slot, at, online=online):
            raise SlotTaken(slot)
        until = _later(at, timedelta(minutes=self.rules["hold_minutes"]))
        self._slot_held(
            actor=self._record(actor), at=at, slot=slot, hold=hold, until=until, online=online
        )
        return until

    class SlotHeld(Aggregate.Event):
        """A slot held for a citizen while they enter their contact."""

        actor: ActorRecord
        at: datetime
        slot: str
        hold: str
        until: datetime
        online: bool

    @event(SlotHeld)
    def _slot_held(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        slot: str,
        hold: str,
        until: datetime,
        online: bool,
    ) -> None:
        self.holds[slot] = Hold(hold, slot, until, online)

    def held_slot(self, hold: str) -> str | None:
        """The slot a hold (still) names, or None."""
        return next((s for s, h in self.holds.items() if h.hold == hold), None)

    def confirm(
        self,
        *,
        hold: str,
        contact: dict[str, str],
        person: str,
        code: str,
        token_digest: str,
        actor: Actor,
        at: datetime,
    ) -> str:
        """Book the held slot for a contact; returns the confirmation code."""
        self._check(actor, at)
        slot = self.held_slot(hold)
        if slot is None:
            raise InvalidCommand("hold", "the hold is unknown or was taken over after it lapsed")
        if slot in self.booked:
            raise SlotTaken(slot)
        if self.holds[slot].online:
            # held just before midnight, confirmed after: the window has moved meanwhile
            first, last = self.online_window(at)
            if not first <= self.day <= last:
                raise InvalidCommand("day", f"online booking is open from {first} to {last}")
        if self.slots[slot].starts <= at:
            raise InvalidCommand("slot", f"the slot {slot} has begun")
        if code in self.bookings:
            raise InvalidCommand("code", "this confirmation code is used already")
        unknown = set(contact) - set(CONTACT_FIELDS)
        if unknown:
            raise InvalidCommand(f"contact.{sorted(unknown)[0]}", "is not a contact field")
        if not contact.get("name", "").strip():
            raise InvalidCommand("contact.name", "a name is needed")
        if not (contact.get("email", "").strip() or contact.get("phone", "").strip()):
            raise InvalidCommand("contact.email", "an e-mail address or a phone number is needed")
        mine = sum(1 for b in self.bookings.values() if b.person == person and b.active)
        if mine >= self.rules["per_person_per_day"]:
            raise InvalidCommand(
                "contact", f"at most {self.rules['per_person_per_day']} bookings per person and day"
            )
        starts = self.slots[slot].starts
        subject = booking_subject(code)
        self._booking_confirmed(
            actor=self._record(actor),
            at=at,
            slot=slot,
            service=self.slots[slot].service,
            code=code,
            contact={
                k: PersonalData(self.id, subject, v.strip())
                for k, v in sorted(contact.items())
                if v.strip()
            },
            person=PersonalData(self.id, subject, person),
            token_digest=token_digest,
            reminder_due=_later(starts, -timedelta(hours=self.rules["reminder_hours"])),
            erase_on=self.day + timedelta(days=self.rules["erase_after_days"]),
        )
        return code

    class BookingConfirmed(Aggregate.Event):
        """A held slot booked for a citizen: code, sealed contact, reminder and erasure dates."""

        actor: ActorRecord
        at: datetime
        slot: str
        service: str
        code: str
        contact: dict[str, PersonalValue]
        # a keyed hash of the e-mail still singles the citizen out (pseudonymous): sealed
        # with the contact and erased with it; bookings stored before hold the plain hash
        person: PersonalValue | str
        token_digest: str
        reminder_due: datetime
        erase_on: date

    @event(BookingConfirmed)
    def _booking_confirmed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        slot: str,
        service: str,
        code: str,
        contact: dict[str, PersonalValue],
        person: PersonalValue | str,
        token_digest: str,
        reminder_due: datetime,
        erase_on: date,
    ) -> None:
        self.bookings[code] = Booking(
            code,
            slot,
            service,
            dict(contact),
            _fingerprint(person),
            token_digest,
            "booked",
            reminder_due,
            erase_on,
        )
        self.booked[slot] = code
        self.holds.pop(slot, None)

    def cancel(
        self, *, code: str, token_digest: str | None, actor: Actor, at: datetime, reason: str = ""
    ) -> None:
        """Cancel a booking (citizens with their token, staff without); the slot is free again."""
        self._check(actor, at)
        booking = self.booking(code)
        if token_digest is not None and token_digest != booking.token_digest:
            raise InvalidCommand("token", "the cancellation token does not match this booking")
        if booking.status != "booked":
            raise InvalidCommand("code", f"a booking that is {booking.status} cannot be cancelled")
        if not REASON.fullmatch(reason):
            # the reason is not sealed: free text that may name someone never enters the log
            raise InvalidCommand("reason", "a keyword such as citizen_request, never free text")
        self._booking_cancelled(
            actor=self._record(actor), at=at, code=code, slot=booking.slot, reason=reason
        )

    class BookingCancelled(Aggregate.Event):
        """A booking cancelled; its slot is bookable again."""

        actor: ActorRecord
        at: datetime
        code: str
        slot: str
        reason: str  # "rebooked", "cancelled" — a keyword, never free text

    @event(BookingCancelled)
    def _booking_cancelled(
        self, *, actor: ActorRecord, at: datetime, code: str, slot: str, reason: str
    ) -> None:
        self.bookings[code] = replace(self.bookings[code], status="cancelled")
        if self.booked.get(slot) == code:
            del self.booked[slot]

    def remind(self, *, code: str, actor: Actor, at: datetime) -> None:
        """Record that the reminder of a booking fell due (sending it is the feed's job)."""
        self._check(actor, at)
        booking = self.booking(code)
        if booking.status != "booked" or booking.reminded:
            raise InvalidCommand("code", "the booking is not waiting for a reminder")
        self._reminder_due(
            actor=self._record(actor),
            at=at,
            code=code,
            slot=booking.slot,
            starts=self.slots[booking.slot].starts,
        )

    class ReminderDue(Aggregate.Event):
        """A booking's reminder fell due (integrators send it from the feed)."""

        actor: ActorRecord
        at: datetime
        code: str
        slot: str
        starts: datetime

    @event(ReminderDue)
    def _reminder_due(
        self, *, actor: ActorRecord, at: datetime, code: str, slot: str, starts: datetime
    ) -> None:
        self.bookings[code] = replace(self.bookings[code], reminded=True)

    # ------------------------------------------------------------------ arrival

    def check_in(self, *, code: str, actor: Actor, at: datetime) -> str:
        """A booked citizen arrives: an appointment ticket (``T017``); returns its number."""
        self._check(actor, at)
        self._check_today(at)
        booking = self.booking(code)
        if booking.status != "booked":
            raise InvalidCommand("code", f"a booking that is {booking.status} cannot check in")
        return self._draw(APPOINTMENT, booking.service, actor, at, code)

    def draw_walk_in(self, *, service: str, actor: Actor, at: datetime) -> str:
        """A citizen without appointment draws a ticket for a concern (``W042``)."""
        self._check(actor, at)
        self._check_today(at)
        if service not in self.services:
            raise InvalidCommand("service", f"the office offers no {service!r} that day")
        return self._draw(WALK_IN, service, actor, at, None)

    def _draw(self, queue: str, service: str, actor: Actor, at: datetime, code: str | None) -> str:
        number = self.drawn[queue] + 1
        ticket = f"{PREFIX[queue]}{number:03d}"
        due = self.slots[self.bookings[code].slot].starts if code is not None else None
        self._ticket_drawn(
            actor=self._record(actor),
            at=at,
            ticket=ticket,
            queue=queue,
            service=service,
            number=number,
            code=code,
            due=due,
        )
        return ticket

    class TicketDrawn(Aggregate.Event):
        """A ticket drawn: by a booked citizen at check-in, or by a walk-in for a concern."""

        actor: ActorRecord
        at: datetime
        ticket: str  # "T017", "W042"
        queue: str  # "appointment" | "walk_in"
        service: str
        number: int
        code: str | None  # the booking checked in (appointments only)
        due: datetime | None  # the appointment's start (appointments only)

    @event(TicketDrawn)
    def _ticket_drawn(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        ticket: str,
        queue: str,
        service: str,
        number: int,
        code: str | None,
        due: datetime | None,
    ) -> None:
        self.drawn[queue] = max(self.drawn.get(queue, 0), number)
        self.tickets[ticket] = Ticket(ticket, queue, service, number, at, code, due)
        if code is not None and code in self.bookings:
            self.bookings[code] = replace(self.bookings[code], status="checked_in", ticket=ticket)

    # ------------------------------------------------------------------ calling

    def call_next(self, *, counter: str, actor: Actor, at: datetime) -> str:
        """Call the next ticket to a counter; returns its number."""
        self._check(actor, at)
        self._check_today(at)
        self._check_counter(counter)
        open_call = self.called_at(counter)
        if open_call is not None:
            raise InvalidCommand(
                "counter", f"{counter} still has {open_call.ticket}: mark it served or missed first"
            )
        chosen = self.next_ticket(at)
        if chosen is None:
            raise QueueEmpty()
        self._ticket_called(
            actor=self._record(actor), at=at, ticket=chosen.ticket, counter=counter, call=1
        )
        return chosen.ticket

    def call_again(self, *, ticket: str, actor: Actor, at: datetime) -> int:
        """Call a ticket again to its counter (at most the day's calls); returns which call."""
        self._check(actor, at)
        self._check_today(at)
        found = self.ticket(ticket)
        if found.status != "called" or found.counter is None:
            raise InvalidCommand("ticket", f"{ticket} is {found.status}, not called")
        if found.calls >= self.rules["max_calls"]:
            raise InvalidCommand(
                "ticket", f"{ticket} was called {found.calls} times, the most allowed"
            )
        call = found.calls + 1
        self._ticket_called(
            actor=self._record(actor), at=at, ticket=ticket, counter=found.counter, call=call
        )
        return call

    def _check_counter(self, counter: str) -> None:
        if counter not in self.counters:
            raise InvalidCommand("counter", f"the office has no counter {counter!r}")

    @staticmethod
    def _check_called_to(found: Ticket, counter: str | None) -> None:
        # another counter's clerk must not close a ticket a citizen is walking up to
        if counter is not None and counter != found.counter:
            raise InvalidCommand("counter", f"{found.ticket} was called to {found.counter}")

    class TicketCalled(Aggregate.Event):
        """A ticket called to a counter (the 1st, 2nd ... call)."""

        actor: ActorRecord
        at: datetime
        ticket: str
        counter: str
        call: int

    @event(TicketCalled)
    def _ticket_called(
        self, *, actor: ActorRecord, at: datetime, ticket: str, counter: str, call: int
    ) -> None:
        found = self.tickets[ticket]
        self.tickets[ticket] = replace(
            found,
            status="called",
            counter=counter,
            calls=call,
            first_called_at=found.first_called_at or at,
        )

    def serve(self, *, ticket: str, actor: Actor, at: datetime, counter: str | None = None) -> None:
        """The called citizen came to the counter and was served (by that counter, if named)."""
        self._check(actor, at)
        found = self.ticket(ticket)
        if found.status != "called":
            raise InvalidCommand("ticket", f"{ticket} is {found.status}, not called")
        self._check_called_to(found, counter)
        self._ticket_served(actor=self._record(actor), at=at, ticket=ticket)

    class TicketServed(Aggregate.Event):
        """A called ticket served at its counter."""

        actor: ActorRecord
        at: datetime
        ticket: str

    @event(TicketServed)
    def _ticket_served(self, *, actor: ActorRecord, at: datetime, ticket: str) -> None:
        found = self.tickets[ticket]
        self.tickets[ticket] = replace(found, status="served", finished_at=at)
        if found.code is not None and found.code in self.bookings:
            self.bookings[found.code] = replace(self.bookings[found.code], status="served")

    def miss(self, *, ticket: str, actor: Actor, at: datetime, counter: str | None = None) -> None:
        """Nobody came after the last call: a no-show; an appointment's slot is released."""
        self._check(actor, at)
        found = self.ticket(ticket)
        if found.status != "called":
            raise InvalidCommand("ticket", f"{ticket} is {found.status}, not called")
        self._check_called_to(found, counter)
        if found.calls < self.rules["max_calls"]:
            raise InvalidCommand(
                "ticket",
                f"{ticket} was called {found.calls} of {self.rules['max_calls']} times:"
                " call again first",
            )
        self._ticket_missed(actor=self._record(actor), at=at, ticket=ticket)

    class TicketMissed(Aggregate.Event):
        """A no-show: nobody came after the last call."""

        actor: ActorRecord
        at: datetime
        ticket: str

    @event(TicketMissed)
    def _ticket_missed(self, *, actor: ActorRecord, at: datetime, ticket: str) -> None:
        found = self.tickets[ticket]
        self.tickets[ticket] = replace(found, status="missed", finished_at=at)
        code = found.code
        if code is not None and code in self.bookings:
            booking = self.bookings[code]
            self.bookings[code] = replace(booking, status="missed")
            if self.booked.get(booking.slot) == code:
                del self.booked[booking.slot]

    # ------------------------------------------------------------------ erasure

    def erase_contact(self, *, code: str, actor: Actor, at: datetime) -> None:
        """Record that a booking's contact data was erased once its retention ended."""
        self._check(actor, at)
        booking = self.booking(code)
        if berlin_date(at) < booking.erase_on:
            raise InvalidCommand("code", f"the contact data is kept until {booking.erase_on}")
        if booking.erased:
            raise InvalidCommand("code", "the contact data was erased already")
        self._contact_erased(actor=self._record(actor), at=at, code=code)

    class ContactErased(Aggregate.Event):
        """A booking's contact data erased (its key destroyed); the booking itself stays."""

        actor: ActorRecord
        at: datetime
        code: str

    @event(ContactErased)
    def _contact_erased(self, *, actor: ActorRecord, at: datetime, code: str) -> None:
        self.bookings[code] = replace(self.bookings[code], erased=True)


def _fingerprint(person: PersonalValue | str) -> str:
    """The fingerprint the person limit counts ("" once erased: it counts for nobody)."""
    if isinstance(person, str):
        return person
    return "" if person.is_erased else person.reveal()


def _later(moment: datetime, delta: timedelta) -> datetime:
    """``moment`` plus real time (aware datetimes of one zone add by the wall clock)."""
    return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)

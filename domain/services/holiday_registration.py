"""A registration for the holiday programme (Ferienanmeldung): one case per family and offering.

A guardian registers one to five children (siblings of one family) for one offering of the
town's Ferienspiele (§ 11 SGB VIII): each child's name and date of birth, photo consent
(separate, default no), health notes and allergies; one or two guardians, the persons who
may pick the children up, the address and the municipality the family lives in (for the rule
"residents first"), and a friends code the guardians of friends agree on. It is submitted
like every application (``POST /api/v1/cases``, service ``holiday-registration``) and, in
the same save as the submission, recorded on the offering (``on_submission``): a closed or
not yet open window, a child outside the age range and a child registered already are
refused naming the field, and nothing is stored.

Health notes and allergies are special-category data (Art. 9 DSGVO): they are recorded only
with the guardian's explicit consent (its wording's version kept), under a data subject of
their own (``health``), read only by the offering's staff, and erased (the key destroyed)
after the offering ended. The offering never sees a name: each child is a keyed id (an HMAC
of the town's key over the normalised name and date of birth), the friends code a keyed hash.

After the draw the case records its outcome (``note_draw``: a place, or the waiting list);
a place freed by a cancellation moves the next waiting family up (``note_moved_up``). A
guardian or the town's staff cancel children (``cancel_registration``); the places freed move
others up in the same save. Each child allocated is charged the offering's fee under a
Kassenzeichen of its own; a child cancelled before the offering starts has its charge
withdrawn.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar, Final, Literal, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Actor, ActorRecord, Role
from domain.case import Case
from domain.case_charges import ChargeLine
from domain.case_steps import APPLICANT_AND_STAFF
from domain.commands import Acting, CommandBody, SharedAggregates, Step, Steps, Text
from domain.errors import InvalidCommand, InvalidTransition
from domain.holiday.offering import ChildEntry, EntryStatus, HolidayOffering
from domain.lifecycle import CaseStatus, ChangesStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue
from domain.personal_fields import Health, Personal
from domain.services.forms import (
    Email,
    Form,
    Name,
    Phone,
    PlausibleDate,
    birth_date_problem,
    labelled,
)
from domain.tenants import TENANTS
from domain.working_days import BERLIN, add_months, berlin_date

SERVICE_ID: Final = "holiday-registration"
LEGAL_BASIS: Final = (
    "§ 11 SGB VIII (Jugendarbeit) i. V. m. der Satzung bzw. Benutzungsordnung der "
    "Stadt/Gemeinde über die Ferienspiele"
)
FEE_LEGAL_BASIS: Final = "Satzung bzw. Benutzungsordnung der Stadt/Gemeinde über die Ferienspiele"
FEE_LEDGER: Final = "holiday_programme_fee"  # Teilnahmebeitrag der Ferienspiele
CHILD_KIND: Final = "HolidayChild"  # the keyed ids of children (domain.commands.SharedAggregates)
FRIENDS_KIND: Final = "HolidayFriends"  # the keyed hash of a friends code, per offering
HEALTH: Final = "health"  # the data subject of the children's health notes and allergies
OTHER_MUNICIPALITY: Final = "other"
FEE_DUE_DAYS: Final = 14
PLACE_CHARGE: Final = "holiday-place"  # a charge's ``refers_to``: "holiday-place:<child>"
PLACE_CANCELLED: Final = "place_cancelled"  # why a place's charge is withdrawn (a keyword)
MOVE_UP_ID: Final = "system:holiday-move-up"
MOVE_UP_NAME: Final = "Ferienspiele (Nachrücken)"

EVENT_LABELS: Final = {
    "RegisteredForOffering": ("Zu den Ferienspielen angemeldet", "Registered for the offering"),
    "DrawOutcomeRecorded": ("Ergebnis der Platzvergabe", "Outcome of the draw"),
    "MovedUp": ("Von der Warteliste nachgerückt", "Moved up from the waiting list"),
    "RegistrationCancelled": ("Anmeldung storniert", "Registration cancelled"),
    "HealthNotesErased": ("Gesundheitsangaben gelöscht", "Health notes erased"),
}


class RegistrationStatus:
    """Statuses of a registration."""

    REGISTERED: Final = "registered"  # recorded on the offering, before the draw
    PLACE_ALLOCATED: Final = "place_allocated"  # at least one child holds a place
    WAITING_LIST: Final = "waiting_list"  # the children still registered all wait


class Outcome:
    """A child's outcome as the case records it."""

    REGISTERED: Final = "registered"
    ALLOCATED: Final = "allocated"
    WAITING: Final = "waiting"
    CANCELLED: Final = "cancelled"


HealthText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Relation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=300)]
FriendsCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
Wording = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


# ------------------------------------------------------------------- the form


class ChildIn(Form):
    """One child registered: name, date of birth, photo consent, health notes."""

    given_name: Personal[Name] = labelled("Vorname des Kindes", "Child's given name")
    family_name: Personal[Name] = labelled("Nachname des Kindes", "Child's family name")
    born_on: Personal[PlausibleDate] = labelled("Geburtsdatum", "Date of birth")
    photo_consent: bool = labelled(
        "Einwilligung in Fotos",
        "Photo consent",
        default=False,
        description="Separate consent: photos of the child at the offering may be published.",
    )
    health_notes: Health[HealthText] | None = labelled(
        "Gesundheitliche Hinweise",
        "Health notes",
        default=None,
        description="Special-category data (Art. 9 DSGVO): needs health_consent; read only "
        "by the offering's staff; erased after the offering.",
    )
    allergies: Health[HealthText] | None = labelled(
        "Allergien", "Allergies", default=None, description="As health_notes."
    )


class GuardianIn(Form):
    """A guardian (Erziehungsberechtigte Person) reachable during the offering."""

    name: Personal[Name] = labelled("Name", "Name")
    phone: Personal[Phone] = labelled("Telefon", "Phone")
    email: Personal[Email] | None = labelled("E-Mail", "E-mail", default=None)


class PickupIn(Form):
    """A person allowed to pick the children up."""

    name: Personal[Name] = labelled("Name", "Name")
    relation: Personal[Relation] = labelled("Beziehung zum Kind", "Relation to the child")


class HealthConsent(Form):
    """The guardian's explicit consent to the processing of the health notes (Art. 9 (2) a)."""

    given: Literal[True] = labelled("Einwilligung erteilt", "Consent given")
    wording_version: Wording = labelled(
        "Fassung des Einwilligungstextes", "Version of the consent wording"
    )


class HolidayRegistrationApplication(Form):
    """What the portal sends for one family's registration for one offering."""

    offering: UUID = labelled(
        "Angebot",
        "Offering",
        description="The id of an offering of the town open for registration.",
    )
    children: list[ChildIn] = labelled(
        "Kinder", "Children", min_length=1, max_length=5, description="Siblings of one family."
    )
    guardians: list[GuardianIn] = labelled(
        "Erziehungsberechtigte", "Guardians", min_length=1, max_length=2
    )
    pickup_persons: list[PickupIn] = labelled(
        "Abholberechtigte Personen", "Persons allowed to pick up", default=[], max_length=6
    )
    address: Personal[Address] = labelled("Anschrift", "Address")
    municipality: str = labelled(
        "Wohngemeinde",
        "Municipality of residence",
        description="The id of a town served (e.g. 'usingen'), or 'other'.",
    )
    health_consent: HealthConsent | None = labelled(
        "Einwilligung Gesundheitsdaten",
        "Consent to health data",
        default=None,
        description="Required when any child has health notes or allergies.",
    )
    friends_code: Personal[FriendsCode] | None = labelled(
        "Freundescode",
        "Friends code",
        default=None,
        description="A code the guardians of friends agree on: friends are placed together "
        "where possible (the family's personal data; the draw records only a keyed hash).",
    )

    def check(self, submitted_on: date) -> None:
        """A known municipality, consent where health notes are given, plausible births,
        each child once."""
        if self.municipality not in TENANTS and self.municipality != OTHER_MUNICIPALITY:
            raise InvalidCommand(
                "data.municipality", f"a town id ({', '.join(TENANTS)}) or '{OTHER_MUNICIPALITY}'"
            )
        health = any(c.health_notes or c.allergies for c in self.children)
        if health and self.health_consent is None:
            raise InvalidCommand(
                "data.health_consent",
                "health notes and allergies are recorded only with the guardian's explicit "
                "consent (Art. 9 (2) a DSGVO)",
            )
        seen: set[str] = set()
        for index, child in enumerate(self.children):
            problem = birth_date_problem(child.born_on, submitted_on)
            if problem:
                raise InvalidCommand(f"data.children[{index}].born_on", problem)
            key = child_key(child.given_name, child.family_name, child.born_on)
            if key in seen:
                raise InvalidCommand(f"data.children[{index}]", "the child is named twice")
            seen.add(key)


def child_key(given_name: str, family_name: str, born_on: date | str) -> str:
    """What identifies a child in a town's programme: the normalised names and the birth day
    (never stored; the offering holds the keyed id made of it)."""

    def normal(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    day = born_on.isoformat() if isinstance(born_on, date) else str(born_on)
    return f"{normal(given_name)}|{normal(family_name)}|{day}"


# ------------------------------------------------------------------- the example


class OfferingSummary(Protocol):
    """What the example needs of an open offering (the offering itself has it, and so has a
    read model's row): its id, town, code, first day, ages and version (its events so far)."""

    @property
    def id(self) -> UUID: ...

    @property
    def tenant(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def starts_on(self) -> date: ...

    @property
    def min_age(self) -> int: ...

    @property
    def max_age(self) -> int: ...

    @property
    def version(self) -> int: ...


class OpenOfferings(Protocol):
    """What the catalogue's example needs: the town's offerings open for registration."""

    def open_in(self, tenant: str, at: datetime) -> Sequence[OfferingSummary]:
        """The town's offerings whose window is open at ``at``, each at its version now (a
        registration recorded changes it: the example names a child not registered yet)."""
        ...


def example(on: date) -> dict[str, Any]:
    """The form's shape (a registration is accepted only while an offering of the town is
    open: ``town_examples`` names one)."""
    return _example_for(None, on)


def _letters(number: int) -> str:
    """A number as letters (0: A, 25: Z, 26: BA): a name part that differs per version."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(ord("A") + digit) + text
        if number == 0:
            return text


def _example_for(offering: OfferingSummary | None, on: date) -> dict[str, Any]:
    if offering is None:
        starts_on, age, offering_ref, tenant, suffix = on, 8, UUID(int=0), "usingen", "A"
    else:
        starts_on = offering.starts_on
        age = (offering.min_age + offering.max_age) // 2
        offering_ref, tenant = offering.id, offering.tenant
        suffix = _letters(offering.version)  # each registration changes it: a child not yet in
    born_on = add_months(starts_on, -12 * age) - timedelta(days=30)
    return {
        "offering": str(offering_ref),
        "children": [
            {
                "given_name": "Mia",
                "family_name": f"Beispiel-{suffix}",
                "born_on": born_on.isoformat(),
                "photo_consent": False,
                "allergies": "Erdnüsse",
            }
        ],
        "guardians": [
            {"name": "Eva Beispiel", "phone": "06081 123456", "email": "eva@example.org"}
        ],
        "pickup_persons": [{"name": "Karl Beispiel", "relation": "Großvater"}],
        "address": "Obergasse 12, 61250 Usingen",
        "municipality": tenant,
        "health_consent": {"given": True, "wording_version": "2026-1"},
        "friends_code": None,
    }


def town_examples(on: date | datetime, offerings: OpenOfferings) -> dict[str, dict[str, Any]]:
    """Per town, a registration it accepts now: for its first offering open for registration
    (a child of the offering's age range, named anew after every registration of it); towns
    with none open have no example. ``on``: the moment (a day alone: its noon in Berlin)."""
    at = on if isinstance(on, datetime) else datetime.combine(on, time(12), tzinfo=BERLIN)
    found: dict[str, dict[str, Any]] = {}
    for tenant in TENANTS:
        open_now = sorted(offerings.open_in(tenant, at), key=lambda o: (o.starts_on, o.code))
        if open_now:
            found[tenant] = _example_for(open_now[0], berlin_date(at))
    return found


# ------------------------------------------------------------------- the case


def _revealed(value: Any, field: str) -> str:
    """A personal value's text (refused once erased)."""
    if isinstance(value, PersonalData):
        return value.value
    if isinstance(value, str | date):
        return value.isoformat() if isinstance(value, date) else value
    raise InvalidCommand(field, "erased")


def _day(value: Any, field: str) -> date:
    text = _revealed(value, field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidCommand(field, "a date") from None


_STATUS_FOR = {
    EntryStatus.REGISTERED: Outcome.REGISTERED,
    EntryStatus.ALLOCATED: Outcome.ALLOCATED,
    EntryStatus.WAITING: Outcome.WAITING,
    EntryStatus.CANCELLED: Outcome.CANCELLED,
}
_ACTIVE = frozenset({Outcome.REGISTERED, Outcome.ALLOCATED, Outcome.WAITING})


class HolidayRegistration(Case):
    """One family's registration for one offering: recorded, drawn, moved up, cancelled."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    FEE_LEGAL_BASIS: ClassVar[str] = FEE_LEGAL_BASIS
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {"cancel_registration"}
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = (
        "a place is allocated only by the offering's draw or a move-up"
    )
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "RegisteredForOffering": (
            "holiday_registration_registered",
            "Holiday programme: children were registered for an offering.",
        ),
        "DrawOutcomeRecorded": (
            "holiday_registration_drawn",
            "Holiday programme: the draw's outcome (places, waiting positions).",
        ),
        "MovedUp": (
            "holiday_registration_moved_up",
            "Holiday programme: a waiting child moved up into a place freed.",
        ),
        "RegistrationCancelled": (
            "holiday_registration_cancelled",
            "Holiday programme: children of a registration were cancelled.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            RegistrationStatus.REGISTERED: {"cancel_registration"},
            RegistrationStatus.PLACE_ALLOCATED: {"cancel_registration"},
            RegistrationStatus.WAITING_LIST: {"cancel_registration"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.offering_id: UUID | None = None
        self.offering_code: str | None = None
        self.starts_on: date | None = None
        self.ends_on: date | None = None
        self.outcomes: dict[int, str] = {}  # child index → Outcome
        self.positions: dict[int, int] = {}  # child index → waiting position when last told
        self.health_erased_at: datetime | None = None

    @property
    def application(self) -> HolidayRegistrationApplication:
        """The registration as submitted, typed, read as stored (never validated again)."""
        return HolidayRegistrationApplication.stored(self.data)

    def can_be_withdrawn(self) -> bool:
        """A registration is cancelled (``cancel_registration``), never withdrawn."""
        return False

    def _check_status(self, command: str, *statuses: str) -> None:
        if self.status not in statuses:
            raise InvalidTransition(command, self.status, self.allowed_commands())

    def _check_offering(self, offering: HolidayOffering) -> None:
        if offering.id != self.offering_id:
            raise InvalidCommand("offering", "not the offering the children are registered for")

    # ------------------------------------------------------------- at submission

    def register_for(
        self,
        offering: HolidayOffering,
        children: Sequence[ChildEntry],
        *,
        friends_group: str | None,
        actor: Actor,
        at: datetime,
    ) -> None:
        """Record the children on the offering and note it (refusals name the form's field)."""
        self._check_status("register_for", CaseStatus.SUBMITTED)
        self.check_actor(actor, at)
        if offering.tenant != self.tenant:
            raise InvalidCommand("data.offering", "no offering of the town has this id")
        resident = self.application.municipality == self.tenant
        offering.register(
            case_id=self.id,
            children=children,
            resident=resident,
            friends_group=friends_group,
            actor=actor,
            at=at,
        )
        self._registered_for_offering(
            status=RegistrationStatus.REGISTERED,
            actor=actor.recorded_in(self.id),
            at=at,
            offering_id=offering.id,
            code=offering.code,
            starts_on=offering.starts_on,
            ends_on=offering.ends_on,
            children=[{"key": c.key, "age": offering.age_on_start(c.born_on)} for c in children],
            resident=resident,
            friends_group=friends_group,
        )

    class RegisteredForOffering(ChangesStatus):
        """The children were recorded on the offering (keyed ids and ages)."""

        actor: ActorRecord
        at: datetime
        offering_id: UUID
        code: str
        starts_on: date
        ends_on: date
        children: list[dict[str, Any]]
        resident: bool
        friends_group: str | None

    @event(RegisteredForOffering)
    def _registered_for_offering(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        offering_id: UUID,
        code: str,
        starts_on: date,
        ends_on: date,
        children: list[dict[str, Any]],
        resident: bool,
        friends_group: str | None,
        status: str,
    ) -> None:
        self.offering_id = offering_id
        self.offering_code = code
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.outcomes = dict.fromkeys(range(len(children)), Outcome.REGISTERED)
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- the draw

    def note_draw(self, offering: HolidayOffering, *, actor: Actor, at: datetime) -> None:
        """Record the draw's outcome for the children still registered; each child allocated
        is charged the offering's fee. A registration cancelled whole before the draw (closed)
        has nothing to note: nothing is recorded."""
        if self.status == CaseStatus.CLOSED and Outcome.REGISTERED not in self.outcomes.values():
            return
        self._check_status("note_draw", RegistrationStatus.REGISTERED)
        self.check_actor(actor, at)
        self._check_offering(offering)
        if offering.drawn_at is None:
            raise InvalidCommand("offering", "the places are not drawn yet")
        children: list[dict[str, Any]] = []
        for entry in offering.entries_of(self.id):
            if self.outcomes.get(entry.child) == Outcome.REGISTERED:
                children.append(
                    {
                        "child": entry.child,
                        "outcome": _STATUS_FOR[entry.status],
                        "waiting_position": entry.waiting_position,
                    }
                )
        allocated = [int(c["child"]) for c in children if c["outcome"] == Outcome.ALLOCATED]
        status = (
            RegistrationStatus.PLACE_ALLOCATED if allocated else RegistrationStatus.WAITING_LIST
        )
        record = actor.recorded_in(self.id)
        self._draw_outcome_recorded(
            status=status, actor=record, at=at, drawn_at=offering.drawn_at, children=children
        )
        for child in allocated:
            self._charge_child(record, at, offering, child)

    class DrawOutcomeRecorded(ChangesStatus):
        """The draw's outcome: each child's place or waiting position."""

        actor: ActorRecord
        at: datetime
        drawn_at: datetime
        children: list[dict[str, Any]]

    @event(DrawOutcomeRecorded)
    def _draw_outcome_recorded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        drawn_at: datetime,
        children: list[dict[str, Any]],
        status: str,
    ) -> None:
        for child in children:
            index = int(child["child"])
            self.outcomes[index] = str(child["outcome"])
            if child.get("waiting_position") is not None:
                self.positions[index] = int(child["waiting_position"])
        self.status = status
        self.last_activity_at = at

    def note_moved_up(
        self,
        offering: HolidayOffering,
        child: int,
        *,
        actor: Actor,
        at: datetime,
        because_of: UUID | None = None,
    ) -> None:
        """Record that a waiting child moved up into a place freed (and charge its fee)."""
        self._check_status(
            "note_moved_up", RegistrationStatus.WAITING_LIST, RegistrationStatus.PLACE_ALLOCATED
        )
        self.check_actor(actor, at)
        self._check_offering(offering)
        if self.outcomes.get(child) != Outcome.WAITING:
            raise InvalidCommand("child", f"child {child} is not on the waiting list")
        if offering.status_of(self.id, child) != EntryStatus.ALLOCATED:
            raise InvalidCommand("child", f"child {child} holds no place on the offering")
        record = actor.recorded_in(self.id)
        self._moved_up(
            status=RegistrationStatus.PLACE_ALLOCATED,
            actor=record,
            at=at,
            child=child,
            from_position=self.positions.get(child),
            because_of=because_of,
        )
        self._charge_child(record, at, offering, child)

    class MovedUp(ChangesStatus):
        """A waiting child moved up into a place freed by a cancellation."""

        actor: ActorRecord
        at: datetime
        child: int
        from_position: int | None  # the position at the draw (others moved up since)
        because_of: UUID | None  # the registration whose cancellation freed the place

    @event(MovedUp)
    def _moved_up(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        child: int,
        from_position: int | None,
        because_of: UUID | None,
        status: str,
    ) -> None:
        self.outcomes[child] = Outcome.ALLOCATED
        self.positions.pop(child, None)
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- fees

    def _charge_child(
        self, record: ActorRecord, at: datetime, offering: HolidayOffering, child: int
    ) -> None:
        """Charge a child's place: the offering's fee, due in two weeks or on its first day."""
        due_on = min(berlin_date(at) + timedelta(days=FEE_DUE_DAYS), offering.starts_on)
        self.charge_line(
            record,
            at,
            ChargeLine(FEE_LEDGER, offering.fee, FEE_LEGAL_BASIS),
            refers_to=f"{PLACE_CHARGE}:{child}",
            due_on=max(due_on, berlin_date(at)),
        )

    @property
    def child_charges(self) -> dict[int, str]:
        """Each child's fee for its place: child index → Kassenzeichen (the latest charged)."""
        found: dict[int, str] = {}
        for charge in self.charges:
            kind, _, child = charge.refers_to.partition(":")
            if kind == PLACE_CHARGE and child.isdigit():
                found[int(child)] = charge.kassenzeichen
        return found

    # ------------------------------------------------------------- cancellation

    def cancel_registration(
        self,
        *,
        actor: Actor,
        at: datetime,
        offering: HolidayOffering,
        children: Sequence[int] | None,
        reason: str,
    ) -> list[tuple[UUID, int]]:
        """Cancel children (None: all still registered) on the offering and here; the charge
        of a child cancelled before the offering starts is withdrawn. Returns the children
        the offering moved up into the places freed (of this and other registrations)."""
        record = self._begin("cancel_registration", actor, at)
        self._check_offering(offering)
        active = [i for i, outcome in sorted(self.outcomes.items()) if outcome in _ACTIVE]
        chosen = active if children is None else sorted(set(children))
        text = self._case_text(reason, "reason")
        moved = offering.cancel(case_id=self.id, children=chosen, actor=actor, at=at, reason=reason)
        left = [i for i in active if i not in chosen]
        outcomes = {i: self.outcomes[i] for i in left}
        if not left:
            status = CaseStatus.CLOSED
        elif Outcome.ALLOCATED in outcomes.values():
            status = RegistrationStatus.PLACE_ALLOCATED
        elif Outcome.WAITING in outcomes.values():
            status = RegistrationStatus.WAITING_LIST
        else:
            status = RegistrationStatus.REGISTERED
        self._registration_cancelled(
            status=status, actor=record, at=at, children=chosen, reason=text
        )
        if berlin_date(at) < offering.starts_on:
            for child in chosen:
                kassenzeichen = self.child_charges.get(child)
                if kassenzeichen is not None and kassenzeichen not in self.withdrawn_charges:
                    self.withdraw_charge(record, at, kassenzeichen, PLACE_CANCELLED)
        return moved

    class RegistrationCancelled(ChangesStatus):
        """Children of the registration were cancelled, with the reason."""

        actor: ActorRecord
        at: datetime
        children: list[int]
        reason: PersonalValue

    @event(RegistrationCancelled)
    def _registration_cancelled(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        children: list[int],
        reason: PersonalValue,
        status: str,
    ) -> None:
        for child in children:
            self.outcomes[child] = Outcome.CANCELLED
            self.positions.pop(child, None)
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- after the offering

    def note_health_erased(self, *, actor: Actor, at: datetime) -> None:
        """Record that the children's health notes were erased after the offering (their key
        destroyed); the file closes unless a fee is still open."""
        self.check_actor(actor, at)
        if self.health_erased_at is not None:
            raise InvalidCommand("health", "the health notes are erased already")
        if self.ends_on is not None and berlin_date(at) <= self.ends_on:
            raise InvalidCommand(
                "at", f"health notes are erased after the offering, {self.ends_on}"
            )
        status = self.status
        if not self.charge_commands() and status != CaseStatus.SUBMITTED:
            status = CaseStatus.CLOSED
        self._health_notes_erased(status=status, actor=actor.recorded_in(self.id), at=at)

    class HealthNotesErased(ChangesStatus):
        """The children's health notes and allergies were erased (key destroyed)."""

        actor: ActorRecord
        at: datetime

    @event(HealthNotesErased)
    def _health_notes_erased(self, *, actor: ActorRecord, at: datetime, status: str) -> None:
        self.health_erased_at = at
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """The offering, each child's outcome, the health notes' erasure. A waiting child's
        position is the one the draw gave (``waiting_position_at_draw``): move-ups after it
        advance the waiting list on the offering (its ``/registrations``), not on every case."""
        return {
            "offering_id": self.offering_id,
            "offering_code": self.offering_code,
            "children": [
                {
                    "child": index,
                    "outcome": outcome,
                    "waiting_position_at_draw": self.positions.get(index),
                    "kassenzeichen": self.child_charges.get(index),
                }
                for index, outcome in sorted(self.outcomes.items())
            ],
            "health_erased_at": self.health_erased_at,
        }


# ------------------------------------------------------------------- shared aggregates


class _NotStored(Exception):
    """No aggregate of the id is stored."""


def _not_stored(_id: UUID) -> Any:
    raise _NotStored


def stored_offering(shared: SharedAggregates, tenant: str, offering: UUID) -> HolidayOffering:
    """The town's offering of this id (else refused naming ``data.offering``)."""
    found: Aggregate | None
    try:
        # any type: an id of another kind of aggregate is no offering either (422, not 404)
        found = shared.identified(Aggregate, offering, _not_stored)
    except _NotStored:
        found = None
    if not isinstance(found, HolidayOffering) or found.tenant != tenant:
        raise InvalidCommand("data.offering", "no offering of the town has this id")
    return found


def offering_met_at(_tenant: str, data: Mapping[str, Any]) -> str | None:
    """The offering a registration of these data records on (registrations of one offering
    are decided in turn within a process: the moment a window opens, hundreds arrive)."""
    offering = data.get("offering")
    return None if offering is None else f"holiday-offering:{offering}"


def register_at_submission(case: Case, acting: Acting) -> Sequence[Aggregate]:
    """The service's step in the submission's save: record the children on the offering."""
    if not isinstance(case, HolidayRegistration):
        raise InvalidCommand("service", "not a holiday registration")
    shared: SharedAggregates = acting.context
    application = case.application
    offering = stored_offering(shared, case.tenant, UUID(str(application.offering)))
    children = []
    for index, child in enumerate(application.children):
        field = f"data.children[{index}]"
        born_on = _day(child.born_on, f"{field}.born_on")
        key = child_key(
            _revealed(child.given_name, f"{field}.given_name"),
            _revealed(child.family_name, f"{field}.family_name"),
            born_on,
        )
        children.append(ChildEntry(shared.key_of(case.tenant, CHILD_KIND, key).hex, born_on))
    code = application.friends_code
    group = None
    if code is not None:
        normal = " ".join(_revealed(code, "data.friends_code").casefold().split())
        group = shared.key_of(case.tenant, FRIENDS_KIND, f"{offering.id}|{normal}").hex
    case.register_for(offering, children, friends_group=group, actor=acting.actor, at=acting.at)
    return [offering]


# ------------------------------------------------------------------- health notes


def withheld_health(case: Case, reader: Actor, shared: SharedAggregates) -> frozenset[str]:
    """The health subject is withheld from everyone but the offering's staff (and the
    applicant, who gave it): ``ServiceDefinition.withheld_from``."""
    if reader.role is Role.APPLICANT or not isinstance(case, HolidayRegistration):
        return frozenset()
    if case.offering_id is None:
        return frozenset({HEALTH})
    try:
        offering = stored_offering(shared, case.tenant, case.offering_id)
    except InvalidCommand:
        return frozenset({HEALTH})
    staff = reader.role in (Role.CLERK, Role.SUPERVISOR) and reader.id in offering.staff
    return frozenset() if staff else frozenset({HEALTH})


# ------------------------------------------------------------------- steps


class RegistrationCancellation(CommandBody):
    """Which children to cancel (none named: all still registered), and why."""

    children: list[Annotated[int, Field(ge=0, le=4)]] | None = Field(
        default=None, min_length=1, max_length=5
    )
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"children": [0], "reason": "Wir sind in den Ferien doch verreist."}]
        },
    )


def move_up_actor(tenant: str) -> Actor:
    """Who records a move-up on the registration moved up: the programme (the person who
    cancelled is named on the offering, in their own case)."""
    return Actor(MOVE_UP_ID, MOVE_UP_NAME, Role.SYSTEM, tenant)


def _cancel(
    case: HolidayRegistration, body: RegistrationCancellation, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("cancel_registration")
    if case.offering_id is None:
        raise InvalidCommand("offering", "the registration is not recorded on an offering")
    shared: SharedAggregates = acting.context
    offering = stored_offering(shared, case.tenant, case.offering_id)
    moved = case.cancel_registration(
        actor=acting.actor,
        at=acting.at,
        offering=offering,
        children=body.children,
        reason=body.reason,
    )
    changed: dict[UUID, HolidayRegistration] = {}
    system = move_up_actor(case.tenant)
    for case_id, child in moved:
        other = case if case_id == case.id else changed.get(case_id)
        if other is None:
            try:
                other = shared.identified(HolidayRegistration, case_id, _not_stored)
            except _NotStored:
                raise InvalidCommand("offering", f"registration {case_id} is not stored") from None
            changed[case_id] = other
        if other.outcomes.get(child) != Outcome.WAITING:
            # The case changed after the offering was loaded (a case's outcome changes only in
            # a save with its offering): the offering is stale, so this save fails on its
            # version and the step is decided again from a fresh load.
            continue
        other.note_moved_up(offering, child, actor=system, at=acting.at, because_of=case.id)
    return [offering, *changed.values()]


STEPS: Final = Steps(
    "holiday registration",
    (
        Step(
            name="cancel_registration",
            path="/{case_id}/registration-cancellation",
            summary="Holiday programme: cancel children of a registration",
            description="The guardian or the town's staff cancel children (none named: all); "
            "places freed move the next waiting children that fit up, in the same save. The "
            "fee of a child cancelled before the offering starts is withdrawn.",
            roles=APPLICANT_AND_STAFF,
            aggregate=HolidayRegistration,
            body=RegistrationCancellation,
            run=_cancel,
            retry_lost_race=True,
        ),
    ),
)


def tariff(on: date) -> dict[str, Any]:
    """No tariff of the catalogue: each offering publishes its fee, charged per child placed."""
    return {
        "currency": "EUR",
        "charged": "the fee the offering publishes, per child allocated a place (by the draw "
        "or moving up); withdrawn for a child cancelled before the offering starts",
        "legal_basis": FEE_LEGAL_BASIS,
    }

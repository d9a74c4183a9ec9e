"""Citizens' offices: book an appointment without an account, arrive, be called.

Booking is public: a citizen needs no account at a Bürgerbüro, so the routes that book,
cancel, rebook, check in and draw a walk-in ticket take no token. The confirmation code
(about 40 bits) is the capability to check in on the day; the cancellation token (192 bits,
returned once, stored as its digest) the capability to cancel or rebook. Staff (clerk,
supervisor) call tickets to their counters and mark them served or missed; at the desk they
book any slot (those not released online too), cancel without the token for a recorded
reason and list the day's bookings with the citizens' contacts (staff of the town only);
those routes answer with the office day's ETag and take If-Match. Rate limits on
the public routes belong in front of the API (reverse proxy); see the notes.

The queue and the free slots carry no personal data and are public; the statistics are for
staff of the town.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow, public
from api.dependencies import (
    ActorDep,
    ExpectedVersionDep,
    FacadeDep,
    ReadSideDep,
    RecordReadDep,
    SettingsDep,
)
from api.problems import NotFound
from api.routes.cases import PROBLEMS
from api.routes.read_models import caught_up, tenant_for
from application.access_log import DESK_BOOKINGS
from application.appointments import (
    DESK_CANCEL_REASONS,
    AppointmentService,
    Booked,
    Changed,
    DeskDay,
    Drawn,
    kiosk,
    online_booking,
)
from domain.actor import Role
from domain.appointments.offices import UnknownOffice, office, offices_of
from domain.tenants import TENANTS
from domain.working_days import berlin_date
from projections.appointment_stats import stats as appointment_stats

router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"], responses=PROBLEMS)  # type: ignore[arg-type]

Tenant = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
OfficeId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{4,16}$")]
TicketNo = Annotated[str, Path(pattern=r"^[TW][0-9]{3,4}$")]
Counter = Annotated[str, Path(min_length=1, max_length=40)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


def appointments(vorgang: FacadeDep) -> AppointmentService:
    """The appointment use cases over the process's store, clock, identities and keys."""
    cases = vorgang.cases
    return AppointmentService(
        cases.store, cases.clock, cases.identities, keys=getattr(vorgang.privacy, "keys", None)
    )


AppointmentsDep = Annotated[AppointmentService, Depends(appointments)]


def known(tenant: str, office_id: str) -> None:
    """404 for a town or office that is not configured."""
    if tenant not in TENANTS:
        raise NotFound(f"no town {tenant!r}")
    try:
        office(tenant, office_id)
    except UnknownOffice as error:
        raise NotFound(str(error)) from None


# ------------------------------------------------------------------ models


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class HoldIn(Strict):
    """Hold a slot of a day for a few minutes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"day": "2026-03-04", "slot": "reisepass@09:20"}]},
    )

    day: date
    slot: Annotated[str, StringConstraints(min_length=3, max_length=60)] = Field(
        examples=["reisepass@09:20"]
    )


class ContactIn(Strict):
    """The citizen's contact: a name and an e-mail address or a phone number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Max Mustermann", "email": "max@example.org"}]},
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Text = ""
    phone: Text = ""


class ConfirmIn(Strict):
    """Confirm a held slot with the citizen's contact."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-03-04",
                    "hold": "5f0c1f7e-8a4b-4c1e-9d2a-3b6e7f8a9c0d",
                    "contact": {"name": "Max Mustermann", "email": "max@example.org"},
                }
            ]
        },
    )

    day: date
    hold: UUID
    contact: ContactIn


class TokenIn(Strict):
    """The cancellation token given with the confirmation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "q3Jx0mW2cV9bN4tY7uK1sD5fG8hL6pZa"}]},
    )

    token: Annotated[str, StringConstraints(min_length=8, max_length=200)]


class RebookIn(TokenIn):
    """Move a booking to a slot held meanwhile (on the same or another day)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "token": "q3Jx0mW2cV9bN4tY7uK1sD5fG8hL6pZa",
                    "day": "2026-03-05",
                    "hold": "5f0c1f7e-8a4b-4c1e-9d2a-3b6e7f8a9c0d",
                }
            ]
        },
    )

    day: date
    hold: UUID


class CheckInIn(Strict):
    """Check in on the day with the confirmation code."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "K7P2Q9XM"}]}
    )

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)]


class WalkInIn(Strict):
    """Draw a ticket without an appointment, for a concern (a service)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"service": "meldebescheinigung"}]}
    )

    service: Annotated[str, StringConstraints(min_length=1, max_length=60)]


class DeskBookingIn(Strict):
    """Book a slot at the desk (released online or not) for the citizen's contact."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-03-04",
                    "slot": "reisepass@11:40",
                    "contact": {"name": "Max Mustermann", "phone": "06081 1234"},
                }
            ]
        },
    )

    day: date
    slot: Annotated[str, StringConstraints(min_length=3, max_length=60)] = Field(
        examples=["reisepass@11:40"]
    )
    contact: ContactIn


CancelReason = Literal[DESK_CANCEL_REASONS]  # type: ignore[valid-type]


class DeskCancelIn(Strict):
    """Cancel a booking without its token, for a reason the desk records (a keyword)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "citizen_request"}]}
    )

    reason: CancelReason


class Written(BaseModel):
    """What a command changed: the office day's version and the log position."""

    office_day: UUID
    version: int
    position: int | None


class HeldOut(Written):
    """A held slot: confirm it with the hold id before ``until``."""

    hold: str
    slot: str
    until: datetime


class BookedOut(Written):
    """A booking: keep the code for the day and the token to cancel or rebook."""

    code: str
    cancellation_token: str
    day: date
    slot: str
    starts: datetime
    documents: list[str]


class TicketOut(Written):
    """A ticket drawn or called."""

    ticket: str
    counter: str | None = None
    call: int | None = None


class DeskBookingOut(BaseModel):
    """A booking at the desk, with the citizen's contact (staff of the town only)."""

    code: str
    slot: str
    service: str
    starts: datetime
    online: bool
    status: str
    ticket: str | None
    contact: dict[str, str]
    erased: bool


class DeskSlotOut(BaseModel):
    """A slot the desk may book now (released online or not)."""

    slot: str
    service: str
    starts: datetime


class DeskDayOut(BaseModel):
    """An office day at the desk: its version (the ETag), bookings and free slots."""

    office_day: UUID
    day: date
    version: int
    bookings: list[DeskBookingOut]
    free_slots: list[DeskSlotOut]


def desk_day_out(found: DeskDay) -> DeskDayOut:
    return DeskDayOut(
        office_day=found.office_day,
        day=found.day,
        version=found.version,
        bookings=[
            DeskBookingOut(
                code=b.code,
                slot=b.slot,
                service=b.service,
                starts=b.starts,
                online=b.online,
                status=b.status,
                ticket=b.ticket,
                contact=dict(b.contact),
                erased=b.erased,
            )
            for b in found.bookings
        ],
        free_slots=[DeskSlotOut(slot=a, service=b, starts=c) for a, b, c in found.free],
    )


def tagged(response: Response, version: int) -> None:
    """The office day's version as the strong ETag the next If-Match names."""
    response.headers["ETag"] = f'"{version}"'


def tagged_ticket(response: Response, result: Drawn) -> TicketOut:
    """A ticket answer with the office day's ETag."""
    tagged(response, result.changed.version)
    return ticket_out(result)


def tagged_written(response: Response, changed: Changed) -> Written:
    """A command's answer with the office day's ETag."""
    tagged(response, changed.version)
    return Written(**written(changed))


def written(changed: Changed) -> dict[str, Any]:
    return {
        "office_day": changed.office_day,
        "version": changed.version,
        "position": changed.position,
    }


def booked(result: Booked) -> BookedOut:
    return BookedOut(
        **written(result.changed),
        code=result.code,
        cancellation_token=result.token,
        day=result.day,
        slot=result.slot,
        starts=result.starts,
        documents=list(result.documents),
    )


def ticket_out(result: Drawn) -> TicketOut:
    return TicketOut(
        **written(result.changed), ticket=result.ticket, counter=result.counter, call=result.call
    )


# ------------------------------------------------------------------ staff: statistics


@router.get(
    "/stats",
    summary="Per office, service and day: served, no-shows, average and p90 wait",
    **allow(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN),
)
async def stats(
    actor: ActorDep,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    tenant: Annotated[str | None, Query(description="A town you act for.")] = None,
    office_id: Annotated[str | None, Query(alias="office", max_length=40)] = None,
    service: Annotated[str | None, Query(max_length=60)] = None,
    since: date | None = None,
    until: date | None = None,
    min_position: Annotated[int | None, Query(ge=0)] = None,
) -> list[dict[str, Any]]:
    """Bookings, cancellations, tickets, served, no-shows, average and p90 wait in minutes
    (drawn to first call); by default the last 30 days."""
    town = tenant_for(actor, tenant)
    today = berlin_date(vorgang.cases.clock.now())
    last = until or today
    first = since or last - timedelta(days=30)
    await caught_up(read_side, settings, "appointment_stats", min_position)
    return await anyio.to_thread.run_sync(
        lambda: appointment_stats(
            read_side.views, town, since=first, until=last, office=office_id, service=service
        )
    )


# ------------------------------------------------------------------ public: offices and slots


@router.get(
    "/{tenant}/offices", summary="A town's citizens' offices and their services", **public()
)
def offices(tenant: Tenant) -> list[dict[str, Any]]:
    """Offices with address, counters, opening hours, services (slot minutes, documents)."""
    if tenant not in TENANTS:
        raise NotFound(f"no town {tenant!r}")
    return [
        {
            "office": o.id,
            "name": o.name,
            "address": o.address,
            "counters": list(o.counters),
            "hours": {
                str(weekday): [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in spans]
                for weekday, spans in sorted(o.hours.items())
            },
            "booking": {
                "min_days_ahead": o.rules.min_days_ahead,
                "max_days_ahead": o.rules.max_days_ahead,
                "per_person_per_day": o.rules.per_person_per_day,
            },
            "services": [
                {
                    "service": s.id,
                    "name": s.name,
                    "slot_minutes": s.slot_minutes,
                    "documents": list(s.documents),
                }
                for s in o.services
            ],
        }
        for o in offices_of(tenant)
    ]


@router.get("/{tenant}/{office_id}/slots", summary="Free slots of a service on a day", **public())
def free_slots(
    tenant: Tenant,
    office_id: OfficeId,
    use_cases: AppointmentsDep,
    service: Annotated[str, Query(min_length=1, max_length=60)],
    day: date,
) -> list[dict[str, Any]]:
    """The slots one may book online now (released, not booked, not held)."""
    known(tenant, office_id)
    office(tenant, office_id).service(service)  # 422 naming the field
    found = use_cases.day(tenant, office_id, day)
    now = use_cases.clock.now()
    return [
        {"slot": s.id, "starts": s.starts, "minutes": s.minutes}
        for s in found.free_slots(service, now)
    ]


@router.get("/{tenant}/{office_id}/queue", summary="Today's queues and waits", **public())
def queue(tenant: Tenant, office_id: OfficeId, use_cases: AppointmentsDep) -> dict[str, Any]:
    """Waiting counts and estimated waits per queue, the tickets at the counters (no names)."""
    known(tenant, office_id)
    return use_cases.queue(tenant, office_id)


# ------------------------------------------------------------------ public: booking


@router.post("/{tenant}/{office_id}/holds", summary="Hold a free slot", status_code=201, **public())
def hold(
    tenant: Tenant,
    office_id: OfficeId,
    body: HoldIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> HeldOut:
    """Hold a slot for a few minutes while the citizen enters their contact."""
    known(tenant, office_id)
    result = use_cases.hold(
        tenant, office_id, body.day, body.slot, actor=online_booking(tenant), online=True
    )
    tagged(response, result.changed.version)
    return HeldOut(
        **written(result.changed), hold=result.hold, slot=result.slot, until=result.until
    )


@router.post(
    "/{tenant}/{office_id}/bookings",
    summary="Confirm a held slot: a confirmation code and a cancellation token",
    status_code=201,
    **public(),
)
def confirm(
    tenant: Tenant,
    office_id: OfficeId,
    body: ConfirmIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> BookedOut:
    """Book the held slot for the contact (sealed personal data, erased after the day)."""
    known(tenant, office_id)
    contact = {k: v for k, v in body.contact.model_dump().items() if v}
    result = use_cases.confirm(
        tenant, office_id, body.day, str(body.hold), contact, actor=online_booking(tenant)
    )
    tagged(response, result.changed.version)
    return booked(result)


@router.post(
    "/{tenant}/{office_id}/bookings/{day}/{code}/cancel",
    summary="Cancel a booking with its cancellation token",
    **public(),
)
def cancel(
    tenant: Tenant,
    office_id: OfficeId,
    day: date,
    code: Code,
    body: TokenIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> Written:
    """The slot is bookable again."""
    known(tenant, office_id)
    changed = use_cases.cancel(
        tenant, office_id, day, code.upper(), token=body.token, actor=online_booking(tenant)
    )
    return tagged_written(response, changed)


@router.post(
    "/{tenant}/{office_id}/bookings/{day}/{code}/rebook",
    summary="Move a booking to a slot held meanwhile",
    status_code=201,
    **public(),
)
def rebook(
    tenant: Tenant,
    office_id: OfficeId,
    day: date,
    code: Code,
    body: RebookIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> BookedOut:
    """The old slot is freed and the new one booked in one save: a new code and token."""
    known(tenant, office_id)
    result = use_cases.rebook(
        tenant,
        office_id,
        day,
        code.upper(),
        token=body.token,
        to_day=body.day,
        hold=str(body.hold),
        actor=online_booking(tenant),
    )
    tagged(response, result.changed.version)  # the new booking's day
    return booked(result)


@router.post(
    "/{tenant}/{office_id}/check-in",
    summary="Check in with the confirmation code: an appointment ticket",
    status_code=201,
    **public(),
)
def check_in(
    tenant: Tenant,
    office_id: OfficeId,
    body: CheckInIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> TicketOut:
    """At the kiosk or the desk, on the day of the appointment."""
    known(tenant, office_id)
    return tagged_ticket(
        response, use_cases.check_in(tenant, office_id, body.code, actor=kiosk(tenant))
    )


@router.post(
    "/{tenant}/{office_id}/walk-ins",
    summary="Draw a walk-in ticket for a concern",
    status_code=201,
    **public(),
)
def walk_in(
    tenant: Tenant,
    office_id: OfficeId,
    body: WalkInIn,
    use_cases: AppointmentsDep,
    response: Response,
) -> TicketOut:
    """A citizen without appointment chooses their concern and gets a number."""
    known(tenant, office_id)
    return tagged_ticket(
        response, use_cases.draw_walk_in(tenant, office_id, body.service, actor=kiosk(tenant))
    )


# ------------------------------------------------------------------ staff: the desk

DESK = (Role.CLERK, Role.SUPERVISOR)


@router.get(
    "/{tenant}/{office_id}/desk/bookings",
    summary="A day's bookings with the citizens' contacts, and the slots the desk may book",
    **allow(*DESK),
)
def desk_bookings(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    use_cases: AppointmentsDep,
    response: Response,
    record: RecordReadDep,
    day: Annotated[date | None, Query(description="The day; today by default.")] = None,
) -> DeskDayOut:
    """Personal data: only for clerks and supervisors of the town. The ETag is the office
    day's version, for If-Match on the desk's commands."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    found = use_cases.desk_day(town, office_id, day or use_cases.today())
    # no case: the office day's bookings are the hits, counted (their contacts are the read)
    record(
        DESK_BOOKINGS,
        query={
            "tenant": town,
            "office_id": office_id,
            "day": found.day.isoformat(),
            "bookings": len(found.bookings),
        },
    )
    response.headers["Cache-Control"] = "private, no-store"
    tagged(response, found.version)
    return desk_day_out(found)


@router.post(
    "/{tenant}/{office_id}/desk/bookings",
    summary="Book any free slot at the desk for a citizen's contact",
    status_code=201,
    **allow(*DESK),
)
def desk_book(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    body: DeskBookingIn,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> BookedOut:
    """Slots not released online too, any day (the online window does not apply); held and
    confirmed in one save. The cancellation token is for the citizen (print or send it)."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    contact = {k: v for k, v in body.contact.model_dump().items() if v}
    result = use_cases.book_at_desk(
        town, office_id, body.day, body.slot, contact, actor=actor, expected_version=expected
    )
    tagged(response, result.changed.version)
    return booked(result)


@router.post(
    "/{tenant}/{office_id}/desk/bookings/{day}/{code}/cancel",
    summary="Cancel a booking at the desk without its token, for a recorded reason",
    **allow(*DESK),
)
def desk_cancel(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    day: date,
    code: Code,
    body: DeskCancelIn,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> Written:
    """The slot is bookable again; the reason (a keyword, never free text) is recorded."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    changed = use_cases.cancel_at_desk(
        town,
        office_id,
        day,
        code.upper(),
        reason=body.reason,
        actor=actor,
        expected_version=expected,
    )
    return tagged_written(response, changed)


# ------------------------------------------------------------------ staff: calling


@router.post(
    "/{tenant}/{office_id}/counters/{counter}/call-next",
    summary="Call the next ticket to a counter",
    **allow(Role.CLERK, Role.SUPERVISOR),
)
def call_next(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    counter: Counter,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> TicketOut:
    """Appointments due first, then walk-ins in order, then early appointments."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    return tagged_ticket(
        response,
        use_cases.call_next(town, office_id, counter, actor=actor, expected_version=expected),
    )


@router.post(
    "/{tenant}/{office_id}/tickets/{ticket}/call-again",
    summary="Call a ticket again to its counter",
    **allow(Role.CLERK, Role.SUPERVISOR),
)
def call_again(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    ticket: TicketNo,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> TicketOut:
    """At most as often as the office allows."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    return tagged_ticket(
        response,
        use_cases.call_again(town, office_id, ticket, actor=actor, expected_version=expected),
    )


@router.post(
    "/{tenant}/{office_id}/tickets/{ticket}/served",
    summary="Mark a called ticket served",
    **allow(Role.CLERK, Role.SUPERVISOR),
)
def served(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    ticket: TicketNo,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
    counter: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            description="The counter marking it: a ticket called to another counter is refused.",
        ),
    ] = None,
) -> Written:
    """The citizen came to the counter."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    return tagged_written(
        response,
        use_cases.serve(
            town, office_id, ticket, actor=actor, expected_version=expected, counter=counter
        ),
    )


@router.post(
    "/{tenant}/{office_id}/tickets/{ticket}/missed",
    summary="Mark a ticket missed after its last call (a no-show)",
    **allow(Role.CLERK, Role.SUPERVISOR),
)
def missed(
    actor: ActorDep,
    tenant: Tenant,
    office_id: OfficeId,
    ticket: TicketNo,
    use_cases: AppointmentsDep,
    expected: ExpectedVersionDep,
    response: Response,
    counter: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            description="The counter marking it: a ticket called to another counter is refused.",
        ),
    ] = None,
) -> Written:
    """An appointment's slot is released."""
    known(tenant, office_id)
    town = tenant_for(actor, tenant)
    return tagged_written(
        response,
        use_cases.miss(
            town, office_id, ticket, actor=actor, expected_version=expected, counter=counter
        ),
    )


__all__ = ["router"]

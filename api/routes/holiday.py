"""The towns' holiday programmes over HTTP (#27): offerings, their draw and their registrations.

The town's staff (clerks and supervisors serving holiday registrations) publish an offering,
close its registration window early, draw its places once the window closed (a second draw
is 409, a draw while the window is open 422), read the draw and its replay, read the
registrations and name the offering's staff. Only the offering's staff read the children's
health notes (others of the town: 403). Auditors of the town read the draw and replay it.

Guardians register through ``POST /api/v1/cases`` (service ``holiday-registration``) and
cancel through the case's ``registration-cancellation``; nothing here takes a registration.

An offering's published facts are public (portals list what is on offer; no child and no
member of staff is named). Another town's offering does not exist for staff (404).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow, public
from api.dependencies import ActorDep, FacadeDep, RecordReadDep
from api.problems import Forbidden, NotFound, already_recorded
from api.routes.service_steps import PROBLEMS
from api.schemas import CommandBody, Reason, ShortText, Text
from application.access_log import HEALTH_NOTES, REGISTRATIONS
from application.facade import Facade
from application.holiday import HolidayService, NotOfferingStaff
from domain.actor import Role
from domain.holiday.offering import AllocationRules, HolidayOffering
from domain.holiday.programme import OfferingCodeTaken
from domain.tenants import TENANTS

router = APIRouter(
    prefix="/api/v1/holiday-offerings",
    tags=["holiday programme"],
    responses=PROBLEMS,  # type: ignore[arg-type]
)

STAFF = (Role.CLERK, Role.SUPERVISOR)

OfferingId = Annotated[UUID, Path(description="The offering's id, as its publication answered it.")]
StaffId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="A member of staff as the identity provider names them (their id)."),
]


def holiday_of(vorgang: Facade) -> HolidayService:
    """The holiday use cases of a wired process (``infrastructure.wiring.Vorgang.holiday``)."""
    return vorgang.holiday


def holiday_service(vorgang: FacadeDep) -> HolidayService:
    """The holiday programme's use cases of the process."""
    return holiday_of(vorgang)


HolidayDep = Annotated[HolidayService, Depends(holiday_service)]


# ------------------------------------------------------------------ bodies


class OfferingRules(CommandBody):
    """The published allocation rules of an offering's draw."""

    residents_first: bool = Field(
        default=True, description="Children living in the town are drawn before others."
    )
    places_per_child: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="The most places one child gets in the programme's draws (none: no limit).",
    )
    siblings_together: bool = Field(
        default=True, description="Siblings of one registration are drawn together, or wait."
    )
    friends_together: bool = Field(
        default=True,
        description="Registrations naming the same friends code are placed together where "
        "possible.",
    )


class PublishOffering(CommandBody):
    """An offering of the caller's town in its programme of a year."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "year": 2027,
                    "code": "KANU-1",
                    "activity": "Kanutour auf der Usa",
                    "description": "Drei Tage auf dem Wasser, mit Picknick.",
                    "location": "Bootshaus Usingen",
                    "starts_on": "2027-07-12",
                    "ends_on": "2027-07-14",
                    "min_age": 8,
                    "max_age": 12,
                    "places": 12,
                    "fee": "25.00",
                    "registration_opens_at": "2027-05-03T08:00:00+02:00",
                    "registration_closes_at": "2027-05-31T18:00:00+02:00",
                    "rules": {"residents_first": True, "places_per_child": 2},
                    "staff": ["clerk.usingen"],
                }
            ]
        },
    )

    year: int = Field(ge=2000, le=2100, description="The programme's year.")
    code: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
        Field(description="The offering's code in the programme (upper case; unique)."),
    ]
    activity: ShortText
    description: Text
    location: ShortText
    starts_on: date
    ends_on: date
    min_age: int = Field(ge=3, le=17, description="Youngest age taken, on the first day.")
    max_age: int = Field(ge=3, le=17, description="Oldest age taken, on the first day.")
    places: int = Field(ge=1, le=500)
    fee: Decimal = Field(
        ge=0, max_digits=8, decimal_places=2, description="Euro per child with a place."
    )
    registration_opens_at: datetime
    registration_closes_at: datetime
    rules: OfferingRules = Field(default_factory=OfferingRules)
    staff: list[StaffId] = Field(
        default_factory=list,
        max_length=50,
        description="The offering's organisers and carers: they read the children's health notes.",
    )


class OfferingStaffChange(CommandBody):
    """The offering's staff, named anew, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"staff": ["clerk.usingen"], "reason": "Betreuerwechsel"}]},
    )

    staff: list[StaffId] = Field(max_length=50)
    reason: Text


# ------------------------------------------------------------------ answers


class OfferingRulesOut(BaseModel):
    """The published allocation rules."""

    residents_first: bool
    places_per_child: int | None
    siblings_together: bool
    friends_together: bool


class OfferingOut(BaseModel):
    """An offering: its published facts, its window now and its places (no personal data)."""

    id: UUID
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
    window: Literal["not_yet_open", "open", "closed"] = Field(
        description="Registration as of now: not yet open, open, or closed (at its set end, "
        "early by the staff, or by the draw)."
    )
    rules: OfferingRulesOut
    allocated: int = Field(description="Places allocated (by the draw and moves up).")
    free_places: int
    waiting: int = Field(description="Children on the waiting list.")
    drawn_at: datetime | None
    health_erased_at: datetime | None = Field(
        description="When the children's health notes were erased (after the offering ended)."
    )
    version: int


class OfferingStaffOut(BaseModel):
    """The offering's staff: who reads the children's health notes."""

    id: UUID
    staff: list[str]
    version: int


class OfferingRegistrationOut(BaseModel):
    """A registered child of the offering: the registration case and the outcome."""

    case_id: UUID
    reference: str
    child: int = Field(description="The child's place in the registration's form, from 0.")
    given_name: str
    family_name: str
    age: int | None = Field(description="Age on the offering's first day.")
    status: Literal["registered", "allocated", "waiting", "cancelled"] = Field(
        description="Before the draw registered; then allocated or waiting; or cancelled."
    )
    waiting_position: int | None
    moved_up: bool = Field(description="Allocated by moving up from the waiting list.")


class GuardianContactOut(BaseModel):
    """A guardian to call."""

    name: str
    phone: str | None


class HealthNoteOut(BaseModel):
    """A child's health notes and allergies, for the offering's staff."""

    case_id: UUID
    reference: str
    child: int
    given_name: str
    family_name: str
    status: Literal["registered", "allocated", "waiting"]
    health_notes: str | None
    allergies: str | None
    guardians: list[GuardianContactOut]


class DrawOut(BaseModel):
    """A recorded draw: what an auditor needs to run it again."""

    model_config = ConfigDict(extra="allow")

    drawn_at: datetime | None
    algorithm: str
    seed: str
    places: int
    rules: dict[str, Any]
    lots: list[Any] = Field(description="The inputs: each registration's lot.")
    order: list[Any] = Field(
        description="[case id, first child, draw number] of each lot, in the order walked."
    )
    allocated: list[Any] = Field(description="[case id, child] with a place, in draw order.")
    waiting: list[Any] = Field(description="[case id, child] waiting, in draw order.")


class OfferingDrawReplayOut(BaseModel):
    """The recorded draw run again from its recorded inputs."""

    offering: UUID
    algorithm: str | None
    verdict: Literal["consistent", "inconsistent", "not_replayable"]
    differences: list[Any]


# ------------------------------------------------------------------ helpers


def _offering_out(holiday: HolidayService, offering: HolidayOffering) -> OfferingOut:
    return OfferingOut.model_validate(holiday.view(offering))


def _staff_out(offering: HolidayOffering) -> OfferingStaffOut:
    return OfferingStaffOut(id=offering.id, staff=sorted(offering.staff), version=offering.version)


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


# ------------------------------------------------------------------ routes


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Publish an offering of the town's holiday programme",
    response_model=OfferingOut,
    **allow(*STAFF),
)
def publish_offering(
    body: PublishOffering, actor: ActorDep, holiday: HolidayDep, response: Response
) -> Any:
    """In the caller's town (409 naming ``code`` if the programme of the year has it)."""
    try:
        offering = holiday.publish(
            actor,
            year=body.year,
            code=body.code,
            activity=body.activity,
            description=body.description,
            location=body.location,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            min_age=body.min_age,
            max_age=body.max_age,
            places=body.places,
            fee=body.fee,
            registration_opens_at=body.registration_opens_at,
            registration_closes_at=body.registration_closes_at,
            rules=AllocationRules(**body.rules.model_dump()),
            staff=body.staff,
        )
    except OfferingCodeTaken as error:
        return already_recorded(error)
    response.headers["Location"] = f"/api/v1/holiday-offerings/{offering.id}"
    _tagged(response, offering.version)
    return _offering_out(holiday, offering)


@router.get("", summary="A town's holiday offerings of a year", **public())
def list_offerings(
    holiday: HolidayDep,
    town: Annotated[str, Query(max_length=40, description="The town, e.g. usingen.")],
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year.")] = None,
) -> list[OfferingOut]:
    """In the order they were published; public, no personal data."""
    if town not in TENANTS:
        raise NotFound(f"unknown town {town!r}; towns: {', '.join(TENANTS)}")
    chosen = year or holiday.today().year
    return [OfferingOut.model_validate(o) for o in holiday.listed(town, chosen)]


@router.get("/{offering_id}", summary="A holiday offering", **public())
def get_offering(offering_id: OfferingId, holiday: HolidayDep, response: Response) -> OfferingOut:
    """Its published facts, its window as of now and its places; public."""
    offering = holiday.published(offering_id)
    _tagged(response, offering.version)
    return _offering_out(holiday, offering)


@router.post(
    "/{offering_id}/window-closure",
    summary="Close an offering's registration window now",
    **allow(*STAFF),
)
def close_window(
    offering_id: OfferingId,
    body: Reason,
    actor: ActorDep,
    holiday: HolidayDep,
    response: Response,
) -> OfferingOut:
    """Before its set end, with why; registrations after it are refused."""
    offering = holiday.close_window(actor, offering_id, body.reason)
    _tagged(response, offering.version)
    return _offering_out(holiday, offering)


@router.post(
    "/{offering_id}/draw",
    summary="Draw the places of an offering whose window closed",
    **allow(*STAFF),
)
def draw_places(
    offering_id: OfferingId, actor: ActorDep, holiday: HolidayDep, response: Response
) -> OfferingOut:
    """Once: a second draw is 409, a draw while the window is open 422. The seed, the
    inputs and the algorithm version are recorded; every registration learns its outcome."""
    offering = holiday.draw(actor, offering_id)
    _tagged(response, offering.version)
    return _offering_out(holiday, offering)


@router.get(
    "/{offering_id}/draw",
    summary="The recorded draw of an offering",
    **allow(*STAFF, Role.AUDITOR),
)
def get_draw(offering_id: OfferingId, actor: ActorDep, holiday: HolidayDep) -> DrawOut:
    """Algorithm version, seed, places, rules, the lots drawn, allocated and waiting."""
    return DrawOut.model_validate(holiday.draw_record(actor, offering_id))


@router.get(
    "/{offering_id}/draw/replay",
    summary="Replay an offering's draw from its recorded inputs",
    **allow(*STAFF, Role.AUDITOR),
)
def replay_draw(
    offering_id: OfferingId, actor: ActorDep, holiday: HolidayDep
) -> OfferingDrawReplayOut:
    """The recorded algorithm run again on the recorded seed and lots, compared."""
    return OfferingDrawReplayOut.model_validate(holiday.replay(actor, offering_id))


@router.get(
    "/{offering_id}/registrations",
    summary="The registered children of an offering, with their outcome",
    **allow(*STAFF),
)
def list_registrations(
    offering_id: OfferingId, actor: ActorDep, holiday: HolidayDep, record: RecordReadDep
) -> list[OfferingRegistrationOut]:
    """In registration order: each child's case, outcome and waiting position."""
    rows = [
        OfferingRegistrationOut.model_validate(row)
        for row in holiday.registrations(actor, offering_id)
    ]
    record(REGISTRATIONS, query={"offering_id": str(offering_id)}, hits=[r.case_id for r in rows])
    return rows


@router.get(
    "/{offering_id}/health-notes",
    summary="The children's health notes and allergies (the offering's staff only)",
    **allow(*STAFF),
)
def list_health_notes(
    offering_id: OfferingId, actor: ActorDep, holiday: HolidayDep, record: RecordReadDep
) -> list[HealthNoteOut]:
    """Special-category data (Art. 9 DSGVO): the offering's staff only, others 403; erased
    after the offering ended."""
    try:
        rows = holiday.health_notes(actor, offering_id)
    except NotOfferingStaff as error:
        raise Forbidden(str(error)) from None
    notes = [HealthNoteOut.model_validate(row) for row in rows]
    record(HEALTH_NOTES, query={"offering_id": str(offering_id)}, hits=[n.case_id for n in notes])
    return notes


@router.put(
    "/{offering_id}/staff",
    summary="Name an offering's staff (who read the children's health notes)",
    **allow(*STAFF),
)
def change_staff(
    offering_id: OfferingId,
    body: OfferingStaffChange,
    actor: ActorDep,
    holiday: HolidayDep,
    response: Response,
) -> OfferingStaffOut:
    """The whole list, with why."""
    offering = holiday.change_staff(actor, offering_id, body.staff, body.reason)
    _tagged(response, offering.version)
    return _staff_out(offering)


__all__ = ["holiday_of", "router"]

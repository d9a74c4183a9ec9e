"""Graves: a clerk reads a grave's occupancy and its grave right's history (GET on a grave).

The grave is a shared aggregate the cemetery's cases change; its id follows from town and
address, so it is found by both. Names of the dead are read from the burial cases (their
personal data), opened for staff of the town only; another town's grave is 403.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.access import allow
from api.dependencies import ActorDep, CaseServiceDep, RecordReadDep
from api.problems import NotFound
from api.routes.cases import PROBLEMS
from api.routes.read_models import tenant_for
from application.access_log import GRAVE
from application.views import plain
from domain.actor import Role
from domain.cemeteries import GraveAddress, UnknownGrave
from domain.cemeteries import grave as configured_grave
from domain.services.grave import Grave, Occupation, grave_id
from domain.working_days import berlin_date

router = APIRouter(prefix="/api/v1", tags=["graves"], responses=PROBLEMS)  # type: ignore[arg-type]
Part = Annotated[str, Path(pattern=r"^[A-Za-z0-9äöüÄÖÜß_-]{1,60}$")]


class BurialOut(BaseModel):
    """A burial or a reservation in a place, with its rest period."""

    case_id: UUID
    kind: str
    place: int
    starts_on: date
    rest_ends_on: date
    rest_years: int
    rest_period_rules: str
    reserved: bool
    deceased: Any = None  # the name, opened for staff; "[gelöscht]" once erased


class RightChangeOut(BaseModel):
    """One entry of the grave right's history."""

    change: str
    case_id: UUID
    on: date
    ends_on: date
    holder: Any


class GraveOut(BaseModel):
    """A grave: type, places today, burials with rest periods, grave right and history."""

    tenant: str
    cemetery: str
    field: str
    row: str
    number: int
    grave_type: str
    coffin_places: int
    urn_places: int
    places: list[dict[str, Any]]
    burials: list[BurialOut]
    grave_right: dict[str, Any] | None
    grave_right_history: list[RightChangeOut]


def _deceased(cases: CaseServiceDep, occupation: Occupation, actor: Any) -> Any:
    try:
        case = cases.get(occupation.case_id, actor=actor)
    except Exception:
        return None
    deceased = case.data.get("deceased") if isinstance(case.data, dict) else None
    return plain(deceased.get("name")) if isinstance(deceased, dict) else None


@router.get(
    "/graves/{tenant}/{cemetery}/{field}/{row}/{number}",
    summary="A grave: occupancy, burials with rest periods, grave right and its history",
    **allow(Role.CLERK, Role.SUPERVISOR),
)
def grave(
    actor: ActorDep,
    cases: CaseServiceDep,
    record: RecordReadDep,
    tenant: Part,
    cemetery: Part,
    field: Part,
    row: Part,
    number: Annotated[int, Path(ge=1, le=100000)],
) -> GraveOut:
    """The grave as its events built it; a configured grave nothing happened to is all free."""
    town = tenant_for(actor, tenant)
    address = GraveAddress(cemetery, field, row, number)
    try:
        configured_grave(town, address)
    except UnknownGrave as error:
        raise NotFound(str(error)) from None
    try:
        found: Grave = cases.store.repository.get(grave_id(town, address))
    except AggregateNotFoundError:
        found = Grave.open(tenant=town, address=address)
    today = berlin_date(cases.clock.now())
    right = found.right
    shown = GraveOut(
        tenant=town,
        cemetery=cemetery,
        field=field,
        row=row,
        number=number,
        grave_type=found.grave_type.value,
        coffin_places=found.coffin_places,
        urn_places=found.urn_places,
        places=[
            {
                "kind": p.kind.value,
                "place": p.place,
                "free": p.free,
                "case_id": p.case_id,
                "until": p.until,
                "reserved": p.reserved,
            }
            for p in found.occupancy(today)
        ],
        burials=[
            BurialOut(
                case_id=o.case_id,
                kind=o.kind.value,
                place=o.place,
                starts_on=o.starts_on,
                rest_ends_on=o.rest_ends_on,
                rest_years=o.rest_years,
                rest_period_rules=o.rules_version,
                reserved=o.reserved,
                deceased=_deceased(cases, o, actor),
            )
            for o in found.occupations
        ],
        grave_right=None
        if right is None
        else {
            "case_id": right.case_id,
            "holder": plain(right.holder),
            "granted_on": right.granted_on,
            "ends_on": right.ends_on,
            "returned": right.returned,
        },
        grave_right_history=[
            RightChangeOut(
                change=c.change,
                case_id=c.case_id,
                on=c.on,
                ends_on=c.ends_on,
                holder=plain(c.holder),
            )
            for c in found.right_history
        ],
    )
    # the grave's place, never its dead or holders; the cases it shows (burials, grave right
    # and its history) are the hits
    shown_cases = {o.case_id for o in found.occupations} | {c.case_id for c in found.right_history}
    if right is not None:
        shown_cases.add(right.case_id)
    record(
        GRAVE,
        query={"tenant": town, "cemetery": cemetery, "field": field, "row": row, "number": number},
        hits=sorted(shown_cases),
    )
    return shown

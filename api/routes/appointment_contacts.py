"""A booking's contact for the integrator that sends its reminder.

The feed publishes ``appointment_reminder_due`` without personal data; the service account
that sends the e-mail reads the contact here, with the scope ``appointments:contact`` of
the booking's town. The view keeps the contact sealed, as the event stored it, and opens it
only on the way out: once the contact is erased (its key destroyed) there is nothing to
send to, and the answer is 404. A reference is the booking's ``appointment_booked`` event
id, never its confirmation code (a capability). Neither the contact nor anything that
names the person is logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from api.access import allow
from api.dependencies import ActorDep, ReadSideDep, RecordReadDep
from api.ports import ReadSide
from api.problems import NotFound
from api.routes.cases import PROBLEMS
from api.routes.read_models import tenant_for
from application.access_log import REMINDER_CONTACT
from domain.actor import Role, Scope
from domain.personal_data import Erased, PersonalData
from projections.feed import reminded_booking

router = APIRouter(
    prefix="/api/v1/appointments",
    tags=["appointments"],
    responses=PROBLEMS,  # type: ignore[arg-type]
)

Tenant = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
OfficeId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
Reference = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="The booking reference of the feed's appointment events (data.booking).",
    ),
]


def town(tenant: Tenant, actor: ActorDep) -> str:
    """The town in the path, if the caller acts for it (else 403, before the other parameters
    are judged: another town's references are not even looked at)."""
    return tenant_for(actor, tenant)


class BookingContact(BaseModel):
    """Whom to remind: the contact as the citizen gave it (e-mail or phone may be absent)."""

    booking: str = Field(description="The booking reference")
    office: str
    day: str = Field(description="YYYY-MM-DD")
    starts: str = Field(description="The appointment's start (RFC 3339, Europe/Berlin)")
    service: str
    name: str
    email: str | None = None
    phone: str | None = None


def reminder_contact(
    read_side: ReadSide, tenant: str, office: str, reference: str
) -> BookingContact | None:
    """The contact of a booking whose reminder fell due, while it is kept (else None)."""
    found = reminded_booking(read_side.views, tenant, office, reference)
    if found is None:
        return None
    day, starts, service, sealed = found
    opened = read_side.open_sealed(sealed)
    held = {
        str(field): value.value
        for field, value in (opened.items() if isinstance(opened, dict) else ())
        if isinstance(value, PersonalData) and not isinstance(value, Erased)
    }
    if not held.get("name"):
        return None  # erased: the key is gone even if the view has not seen ContactErased
    return BookingContact(
        booking=reference,
        office=office,
        day=day,
        starts=starts,
        service=service,
        name=held["name"],
        email=held.get("email"),
        phone=held.get("phone"),
    )


@router.get(
    "/{tenant}/{office_id}/reminders/{reference}/contact",
    summary="A booking's contact, to send its reminder (integrators granted it)",
    **allow(Role.INTEGRATOR, integrator_scope=Scope.APPOINTMENT_CONTACT),
)
def contact(
    tenant: Annotated[str, Depends(town)],
    office_id: OfficeId,
    reference: Reference,
    read_side: ReadSideDep,
    response: Response,
    record: RecordReadDep,
) -> BookingContact:
    """The contact of a booking whose reminder fell due; 404 once erased or cancelled."""
    found = reminder_contact(read_side, tenant, office_id, reference)
    response.headers["Cache-Control"] = "private, no-store"  # personal data: never cached
    if found is None:
        raise NotFound(
            "no booking with a reminder due under this reference, or its contact is erased"
        )
    # the integrator's service account is the reader (actor id = its account, role integrator)
    record(
        REMINDER_CONTACT,
        query={"tenant": tenant, "office_id": office_id, "reference": reference},
    )
    return found

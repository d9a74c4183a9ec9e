"""Resident parking permit: the decision by the rules and the permit's steps after issue."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict, Field

from api.access import STAFF
from api.routes.service_steps import step_routes
from api.schemas import CommandBody, ShortText, Text
from application import resident_parking as parking
from domain.actor import Role
from domain.commands import Step, Steps
from domain.services.resident_parking import ResidentParkingPermit, Vehicle


class ParkingDecision(CommandBody):
    """Decide by the rules: issued for the zone, or refused with the reasons that apply."""

    legal_remedy_notice: Text
    valid_from: date | None = Field(
        default=None, description="First day of validity; today if omitted (at most 90 days on)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "legal_remedy_notice": "Widerspruch binnen eines Monats nach Bekanntgabe "
                    "beim Magistrat der Stadt Usingen.",
                }
            ]
        },
    )


class Renewal(CommandBody):
    """Renew the permit (from six weeks before it ends)."""

    months: int | None = Field(
        default=None, ge=1, le=24, description="Validity; the application's if omitted."
    )


class NumberPlateChange(CommandBody):
    """Another vehicle for the permit: its plate, holder and the holder's consent."""

    vehicle: Vehicle

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "vehicle": {
                        "number_plate": "HG-XY 42",
                        "holder": "company_car",
                        "holder_consent": {
                            "holder_name": "Taunus Logistik GmbH",
                            "given_on": "2026-03-01",
                            "document": "Überlassungserklärung des Arbeitgebers",
                        },
                    }
                }
            ]
        },
    )


class PermitReturn(CommandBody):
    """The holder gives the permit back."""

    reason: Text | None = None


class Revocation(CommandBody):
    """Widerruf of the permit, with reasons and legal basis."""

    reason: Text
    legal_basis: ShortText = Field(description="e.g. '§ 49 Abs. 2 Nr. 3 HVwVfG'")


def _parking_step(name: str, method: str, path: str, summary: str, **more: Any) -> Step:
    """A permit step: saved with the holdings it takes or frees, decided again on a lost race."""
    return Step(
        name=name,
        method=method,
        path="/{case_id}/" + path,
        summary=summary,
        aggregate=ResidentParkingPermit,
        retry_lost_race=True,
        **{"roles": STAFF, **more},
    )


STEPS = Steps(
    "resident parking",
    (
        _parking_step(
            "decide_by_rules",
            "decide",
            "parking-decision",
            "Resident parking: decide by the rules",
            description="Issued for the residence's zone with validity and fee, or refused with "
            "the reasons.\n\nRefused when the residence lies in no zone (or is a secondary "
            "residence where the town does not allow it), or when the resident or the vehicle "
            "already holds a valid permit.",
            body=ParkingDecision,
            run=parking.decide_by_rules,
        ),
        _parking_step(
            "renew",
            "renew_permit",
            "parking-renewals",
            "Resident parking: renew",
            description="Extend the validity for the fee of the new period under the tariff in "
            "force.",
            body=Renewal,
            run=parking.renew,
        ),
        _parking_step(
            "change_number_plate",
            "change_number_plate",
            "number-plate-changes",
            "Resident parking: change the number plate",
            description="Another vehicle on a valid permit, for the plate change fee; refused if "
            "it holds one.",
            body=NumberPlateChange,
            run=parking.change_number_plate,
        ),
        _parking_step(
            "return_permit",
            "return_permit",
            "parking-return",
            "Resident parking: return the permit",
            description="The holder (or staff for them) returns the permit; resident and plate "
            "are free again.",
            roles=(Role.APPLICANT, *STAFF),
            body=PermitReturn,
            run=parking.return_permit,
        ),
        _parking_step(
            "revoke",
            "revoke_permit",
            "parking-revocation",
            "Resident parking: revoke the permit",
            description="Widerruf, with reasons and legal basis; resident and plate are free "
            "again.",
            body=Revocation,
            run=parking.revoke,
        ),
    ),
)
router = step_routes(STEPS)

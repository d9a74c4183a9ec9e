"""Resident parking permit: the decision by the rules and the permit's steps after issue."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field

from api.access import STAFF, allow
from api.dependencies import VorgangDep
from api.routes.cases import PROBLEMS
from api.routes.service_steps import StepDep
from api.schemas import Body, CaseOut, ShortText, Text
from application.resident_parking import ResidentParkingCommands
from domain.actor import Role
from domain.services.resident_parking import Vehicle

router = APIRouter(prefix="/api/v1/cases", tags=["resident parking"], responses=PROBLEMS)  # type: ignore[arg-type]


def parking(v: VorgangDep) -> ResidentParkingCommands:
    """The permit's use cases, built once in wiring."""
    return v.resident_parking


ParkingDep = Annotated[ResidentParkingCommands, Depends(parking)]


class ParkingDecision(Body):
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


class Renewal(Body):
    """Renew the permit (from six weeks before it ends)."""

    months: int | None = Field(
        default=None, ge=1, le=24, description="Validity; the application's if omitted."
    )


class NumberPlateChange(Body):
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


class PermitReturn(Body):
    """The holder gives the permit back."""

    reason: Text | None = None


class Revocation(Body):
    """Widerruf of the permit, with reasons and legal basis."""

    reason: Text
    legal_basis: ShortText = Field(description="e.g. '§ 49 Abs. 2 Nr. 3 HVwVfG'")


@router.post(
    "/{case_id}/parking-decision",
    summary="Resident parking: decide by the rules",
    **allow(*STAFF),
)
def decide_by_rules(
    case_id: UUID,
    body: ParkingDecision,
    step: StepDep,
    commands: ParkingDep,
) -> CaseOut:
    """Issued for the residence's zone with validity and fee, or refused with the reasons.

    Refused when the residence lies in no zone (or is a secondary residence where the town
    does not allow it), or when the resident or the vehicle already holds a valid permit.
    """
    result = commands.decide_by_rules(
        case_id,
        actor=step.actor,
        legal_remedy_notice=body.legal_remedy_notice,
        valid_from=body.valid_from,
        expected_version=step.expected_version,
    )
    return step.answer(result)


@router.post("/{case_id}/parking-renewals", summary="Resident parking: renew", **allow(*STAFF))
def renew(
    case_id: UUID,
    body: Renewal,
    step: StepDep,
    commands: ParkingDep,
) -> CaseOut:
    """Extend the validity for the fee of the new period under the tariff in force."""
    result = commands.renew(
        case_id, actor=step.actor, months=body.months, expected_version=step.expected_version
    )
    return step.answer(result)


@router.post(
    "/{case_id}/number-plate-changes",
    summary="Resident parking: change the number plate",
    **allow(*STAFF),
)
def change_number_plate(
    case_id: UUID,
    body: NumberPlateChange,
    step: StepDep,
    commands: ParkingDep,
) -> CaseOut:
    """Another vehicle on a valid permit, for the plate change fee; refused if it holds one."""
    result = commands.change_number_plate(
        case_id,
        actor=step.actor,
        vehicle=body.vehicle.model_dump(mode="json"),
        expected_version=step.expected_version,
    )
    return step.answer(result)


@router.post(
    "/{case_id}/parking-return",
    summary="Resident parking: return the permit",
    **allow(Role.APPLICANT, *STAFF),
)
def return_permit(
    case_id: UUID,
    body: PermitReturn,
    step: StepDep,
    commands: ParkingDep,
) -> CaseOut:
    """The holder (or staff for them) returns the permit; resident and plate are free again."""
    result = commands.return_permit(
        case_id, actor=step.actor, reason=body.reason, expected_version=step.expected_version
    )
    return step.answer(result)


@router.post(
    "/{case_id}/parking-revocation",
    summary="Resident parking: revoke the permit",
    **allow(*STAFF),
)
def revoke(
    case_id: UUID,
    body: Revocation,
    step: StepDep,
    commands: ParkingDep,
) -> CaseOut:
    """Widerruf, with reasons and legal basis; resident and plate are free again."""
    result = commands.revoke(
        case_id,
        actor=step.actor,
        reason=body.reason,
        legal_basis=body.legal_basis,
        expected_version=step.expected_version,
    )
    return step.answer(result)

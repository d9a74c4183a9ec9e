"""Use cases of the resident parking permit: decide by the rules, renew, change plate, end.

Every command that can take or free a permit holding loads the case and the holdings of its
resident and number plate, runs one domain command, and saves the case and every changed
holding in one atomic save (``run_jointly``). A save that loses a race (another permit took
the same holding, or the case moved on) is retried from a fresh load, so the loser sees the
winner's permit and is refused by the rules; a caller's stale If-Match stays a 412.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from pydantic import ValidationError

from application.cases import CaseService
from application.commands import StepContext
from application.errors import InvalidApplicationData
from application.joint_commands import run_jointly
from application.views import CommandResult
from domain.actor import Actor
from domain.commands import Acting
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.resident_parking import street_key
from domain.services.parking_holding import HoldingKind, PermitHolding
from domain.services.resident_parking import ResidentParkingPermit, Vehicle
from domain.working_days import berlin_date

Step = Callable[[ResidentParkingPermit, datetime], list[PermitHolding]]


def resident_key(name: str, street: str, house_number: str) -> str:
    """Who a resident is, for the one-permit rule: name and address, case and blanks aside."""
    return "|".join(
        (
            " ".join(name.casefold().split()),
            street_key(street),
            "".join(house_number.casefold().split()),
        )
    )


def _revealed(value: PersonalValue | None, field: str) -> str:
    if not isinstance(value, PersonalData):
        raise InvalidCommand(field, "is needed to apply the one-permit rule but was erased")
    return value.value


class ResidentParkingCommands:
    """The permit's own steps, saved together with the holdings they take or free."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    # ---------------------------------------------------------------- holdings

    def holding(self, tenant: str, kind: HoldingKind, key: str) -> PermitHolding:
        """The holding of a plate or resident in a town (a fresh one if nobody held it)."""
        holding_id = self.cases.identities.keyed_id(
            aggregate_type=PermitHolding.__name__, tenant=tenant, key=f"{kind.value}:{key}"
        )
        try:
            found: PermitHolding = self.cases.store.repository.get(holding_id)
        except AggregateNotFoundError:
            return PermitHolding.start(id=holding_id, tenant=tenant, kind=kind)
        return found

    def resident_holding(self, case: ResidentParkingPermit) -> PermitHolding:
        """The holding of the case's applicant at the case's residence."""
        street = case.residence_street  # sealed, or in clear in events stored before
        if street is None:
            raise InvalidCommand(
                "data.residence.street", "is needed to apply the one-permit rule but was erased"
            )
        key = resident_key(
            _revealed(case.applicant.get("name"), "applicant.name"),
            street,
            _revealed(case.data["residence"]["house_number"], "data.residence.house_number"),
        )
        return self.holding(case.tenant, HoldingKind.RESIDENT, key)

    def plate_holding(self, case: ResidentParkingPermit, plate: str | None = None) -> PermitHolding:
        """The holding of a number plate (by default the one the permit is for now)."""
        key = plate or _revealed(case.number_plate, "data.vehicle.number_plate")
        return self.holding(case.tenant, HoldingKind.NUMBER_PLATE, key)

    # ---------------------------------------------------------------- commands

    def decide_by_rules(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        legal_remedy_notice: str,
        valid_from: date | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Issue the permit for the zone, or refuse it with the reasons the rules give."""

        def step(case: ResidentParkingPermit, at: datetime) -> list[PermitHolding]:
            resident, vehicle = self.resident_holding(case), self.plate_holding(case)
            case.decide_by_rules(
                actor=actor,
                at=at,
                resident=resident,
                vehicle=vehicle,
                legal_remedy_notice=legal_remedy_notice,
                valid_from=valid_from,
            )
            return [resident, vehicle]

        return self._run(case_id, actor, expected_version, "decide", step)

    def renew(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        months: int | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Extend the permit's validity, for the fee of the new period."""

        def step(case: ResidentParkingPermit, at: datetime) -> list[PermitHolding]:
            resident, vehicle = self.resident_holding(case), self.plate_holding(case)
            case.renew_permit(actor=actor, at=at, resident=resident, vehicle=vehicle, months=months)
            return [resident, vehicle]

        return self._run(case_id, actor, expected_version, "renew_permit", step)

    def change_number_plate(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        vehicle: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> CommandResult:
        """Enter another vehicle on the permit; its plate takes the old plate's holding over."""
        try:
            model = Vehicle.model_validate(dict(vehicle))
        except ValidationError as error:
            raise InvalidApplicationData.of(error, prefix="vehicle") from None

        def step(case: ResidentParkingPermit, at: datetime) -> list[PermitHolding]:
            model.check_consent_date(berlin_date(at), "vehicle")
            old, new = self.plate_holding(case), self.plate_holding(case, model.number_plate)
            data = personal_data_of(model, case_id=case.id, subject=Subjects.APPLICANT)
            case.change_number_plate(actor=actor, at=at, vehicle=data, old=old, new=new)
            return [old, new]

        return self._run(case_id, actor, expected_version, "change_number_plate", step)

    def return_permit(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """The holder returns the permit; the resident and the plate are free again."""

        def step(case: ResidentParkingPermit, at: datetime) -> list[PermitHolding]:
            resident, vehicle = self.resident_holding(case), self.plate_holding(case)
            case.return_permit(
                actor=actor, at=at, resident=resident, vehicle=vehicle, reason=reason
            )
            return [resident, vehicle]

        return self._run(case_id, actor, expected_version, "return_permit", step)

    def revoke(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        reason: str,
        legal_basis: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Revoke the permit (Widerruf); the resident and the plate are free again."""

        def step(case: ResidentParkingPermit, at: datetime) -> list[PermitHolding]:
            resident, vehicle = self.resident_holding(case), self.plate_holding(case)
            case.revoke_permit(
                actor=actor,
                at=at,
                resident=resident,
                vehicle=vehicle,
                reason=reason,
                legal_basis=legal_basis,
            )
            return [resident, vehicle]

        return self._run(case_id, actor, expected_version, "revoke_permit", step)

    def _run(
        self,
        case_id: UUID,
        actor: Actor,
        expected_version: int | None,
        name: str,
        step: Step,
    ) -> CommandResult:
        """The step and the holdings it changed, saved at once; a lost race is retried."""
        return run_jointly(
            self.cases,
            case_id,
            actor=actor,
            expected_version=expected_version,
            case_type=ResidentParkingPermit,
            name=name,
            step=step,
        )


# The permit's steps as the command pipeline runs them (``domain.commands.Step.run``): each
# loads the holdings it needs through the pipeline's context and returns them to be saved
# with the case; the steps are declared with ``retry_lost_race`` so a lost race decides again.


def _commands(acting: Acting) -> ResidentParkingCommands:
    context: StepContext = acting.context
    return ResidentParkingCommands(context.cases)


def decide_by_rules(case: ResidentParkingPermit, body: Any, acting: Acting) -> list[PermitHolding]:
    """Issue the permit for the zone, or refuse it with the reasons the rules give."""
    commands = _commands(acting)
    resident, vehicle = commands.resident_holding(case), commands.plate_holding(case)
    case.decide_by_rules(
        actor=acting.actor,
        at=acting.at,
        resident=resident,
        vehicle=vehicle,
        legal_remedy_notice=body.legal_remedy_notice,
        valid_from=body.valid_from,
    )
    return [resident, vehicle]


def renew(case: ResidentParkingPermit, body: Any, acting: Acting) -> list[PermitHolding]:
    """Extend the permit's validity, for the fee of the new period."""
    commands = _commands(acting)
    resident, vehicle = commands.resident_holding(case), commands.plate_holding(case)
    case.renew_permit(
        actor=acting.actor, at=acting.at, resident=resident, vehicle=vehicle, months=body.months
    )
    return [resident, vehicle]


def change_number_plate(
    case: ResidentParkingPermit, body: Any, acting: Acting
) -> list[PermitHolding]:
    """Enter another vehicle on the permit; its plate takes the old plate's holding over."""
    commands = _commands(acting)
    model: Vehicle = body.vehicle
    model.check_consent_date(berlin_date(acting.at), "vehicle")
    old, new = commands.plate_holding(case), commands.plate_holding(case, model.number_plate)
    data = personal_data_of(model, case_id=case.id, subject=Subjects.APPLICANT)
    case.change_number_plate(actor=acting.actor, at=acting.at, vehicle=data, old=old, new=new)
    return [old, new]


def return_permit(case: ResidentParkingPermit, body: Any, acting: Acting) -> list[PermitHolding]:
    """The holder returns the permit; the resident and the plate are free again."""
    commands = _commands(acting)
    resident, vehicle = commands.resident_holding(case), commands.plate_holding(case)
    case.return_permit(
        actor=acting.actor, at=acting.at, resident=resident, vehicle=vehicle, reason=body.reason
    )
    return [resident, vehicle]


def revoke(case: ResidentParkingPermit, body: Any, acting: Acting) -> list[PermitHolding]:
    """Revoke the permit (Widerruf); the resident and the plate are free again."""
    commands = _commands(acting)
    resident, vehicle = commands.resident_holding(case), commands.plate_holding(case)
    case.revoke_permit(
        actor=acting.actor,
        at=acting.at,
        resident=resident,
        vehicle=vehicle,
        reason=body.reason,
        legal_basis=body.legal_basis,
    )
    return [resident, vehicle]

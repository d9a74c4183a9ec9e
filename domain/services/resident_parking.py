"""The resident parking permit (Bewohnerparkausweis, § 45 (1b) StVO with the VwV-StVO).

A resident of a parking zone applies for a permit for one vehicle. The decision follows the
rules: the residence must lie in one of the town's zones (a secondary residence only where
the town allows it), and neither the resident nor the vehicle may already hold a valid
permit (one per resident and one per number plate per town at a time, held by
``PermitHolding`` aggregates saved together with the case). The permit is issued for the
zone for at most the town's maximum validity, or refused with the reasons. After issue the
permit is renewed, its number plate changed, returned or revoked; each releases or moves
the holdings in the same save.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Self, TypeVar

from eventsourcing.domain import event
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from domain.actor import Actor, ActorRecord, Role
from domain.authorities import Matter
from domain.case import APPLICANT_COMMANDS, Case, ChangesStatus, DecisionTerms, leads_to
from domain.case_steps import APPLICANT_AND_STAFF, STAFF
from domain.commands import Acting, CommandBody, SharedAggregates, ShortText, Step, Steps, Text
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.personal_fields import Personal, PersonalMarker, personal_data_of
from domain.rules.resident_parking import (
    FEE_RULES_ID,
    ZONE_RULES_ID,
    ParkingTariff,
    ParkingZone,
    Refusal,
    ZonePlan,
    street_key,
    tariff,
    tariff_version,
    zone_plan,
    zone_plan_version,
)
from domain.services.forms import Form, HouseNumber, Name, PlausibleDate, labelled
from domain.services.parking_holding import HoldingKind, PermitHolding
from domain.working_days import add_months, berlin_date

SERVICE_ID: Final = "resident-parking"
EVENT_LABELS: Final = {
    "PermitRenewed": ("Ausweis verlängert", "Permit renewed"),
    "NumberPlateChanged": ("Kennzeichen geändert", "Number plate changed"),
    "PermitReturned": ("Ausweis zurückgegeben", "Permit returned"),
    "PermitRevoked": ("Ausweis widerrufen", "Permit revoked"),
}
LEGAL_BASIS: Final = "§ 45 Abs. 1b Satz 1 Nr. 2a StVO i. V. m. VwV-StVO zu § 45 Rn. 29 ff."
ONE_PERMIT_RULES_ID: Final = "resident-parking-one-permit"
ONE_PERMIT_RULES_VERSION: Final = "2025-01"
RENEWAL_WINDOW_DAYS: Final = 42  # a permit may be renewed from six weeks before it ends
LATEST_START_DAYS: Final = 90  # a permit may be issued to start at most this far ahead

T = TypeVar("T")
VehicleHolderPersonal = Annotated[T, PersonalMarker(subject="vehicle-holder")]
"""Personal data of the vehicle's holder (a person lending the car), a data subject of its own."""

HouseNumberText = Annotated[HouseNumber, StringConstraints(pattern=r"^[1-9][0-9]{0,3} ?[A-Za-z]?$")]

_PLATE = re.compile(r"([A-ZÄÖÜ]{1,3}) *[- ] *([A-Z]{1,2}) *-? *([1-9][0-9]{0,3}) *([EH]?)")


def canonical_plate(text: str) -> str:
    """A German number plate as ``HG-AB 123``: upper case, one hyphen, one blank.

    ``hg ab123`` and ``HG-AB 123`` are the same plate. The district must be separated from
    the letters (``HG-A 12`` and ``H-GA 12`` are different plates), the rest need not be.
    """
    match = _PLATE.fullmatch(text.strip().upper())
    if match is None:
        raise ValueError("not a German number plate, e.g. 'HG-AB 123'")
    district, letters, digits, suffix = match.groups()
    if len(district + letters + digits) > 8:
        raise ValueError("a number plate has at most eight letters and digits")
    return f"{district}-{letters} {digits}{suffix}"


NumberPlate = Annotated[
    str,
    StringConstraints(max_length=20, pattern=r"^[A-Za-zÄÖÜäöü]{1,3} *[- ] *[A-Za-z]{1,2}"),
    AfterValidator(canonical_plate),
]


class Residence(Form):
    """Where the applicant lives; it must lie in one of the town's parking zones."""

    street: Personal[Name] = labelled("Straße", "Street")
    house_number: Personal[HouseNumberText] = labelled("Hausnummer", "House number")
    main_residence: bool = labelled(
        "Hauptwohnung",
        "Main residence",
        description="Hauptwohnung under the registration law; a secondary residence "
        "(Nebenwohnung) qualifies only where the town's rules allow it.",
    )


class VehicleHolder(StrEnum):
    """Who holds the vehicle (Fahrzeughalter)."""

    APPLICANT = "applicant"
    COMPANY_CAR = "company_car"  # a company car the employer lets the applicant use privately
    LEASING = "leasing"  # leased or rented long-term by someone else
    OTHER_PERSON = "other_person"  # a relative's car in the applicant's permanent use


class HolderConsent(Form):
    """The holder's consent to the applicant's permanent use of the vehicle, as recorded."""

    holder_name: VehicleHolderPersonal[Name] = labelled(
        "Halter(in)",
        "Holder",
        description="The company, leasing firm or person holding the vehicle.",
    )
    given_on: PlausibleDate = labelled("Einverständnis vom", "Consent given on")
    document: Name = labelled(
        "Nachweis",
        "Evidence",
        description="e.g. 'Überlassungserklärung des Arbeitgebers'",
    )


class Vehicle(Form):
    """The vehicle the permit is for."""

    number_plate: Personal[NumberPlate] = labelled(
        "Amtliches Kennzeichen", "Number plate", description="e.g. 'HG-AB 123'"
    )
    holder: VehicleHolder = labelled(
        "Fahrzeughalter", "Vehicle holder", default=VehicleHolder.APPLICANT
    )
    holder_consent: HolderConsent | None = labelled(
        "Einverständnis des Halters",
        "Holder's consent",
        default=None,
        description="Required unless the applicant holds the vehicle.",
    )

    @model_validator(mode="after")
    def consent_when_someone_else_holds_it(self) -> Self:
        """Someone else's vehicle needs their recorded consent; one's own takes none."""
        if self.holder is not VehicleHolder.APPLICANT and self.holder_consent is None:
            raise ValueError("holder_consent is required when the applicant is not the holder")
        if self.holder is VehicleHolder.APPLICANT and self.holder_consent is not None:
            raise ValueError("holder_consent is only for a vehicle someone else holds")
        return self

    def check_consent_date(self, on: date, field: str) -> None:
        """A consent cannot be dated after the day it is presented."""
        if self.holder_consent is not None and self.holder_consent.given_on > on:
            raise InvalidCommand(f"{field}.holder_consent.given_on", "must not lie in the future")


class ResidentParkingApplication(Form):
    """What the form portal sends for a resident parking permit."""

    residence: Residence = labelled("Wohnung", "Residence")
    vehicle: Vehicle = labelled("Fahrzeug", "Vehicle")
    months: int = labelled(
        "Geltungsdauer in Monaten",
        "Validity in months",
        default=12,
        ge=1,
        le=24,
        description="Requested validity; the town's maximum (one year unless its rules say "
        "otherwise) caps it.",
    )

    def check(self, submitted_on: date) -> None:
        """Rules that need the day of submission."""
        self.vehicle.check_consent_date(submitted_on, "data.vehicle")


def example(_on: date) -> dict[str, Any]:
    """An application for Usingen's old town that the API accepts."""
    return {
        "residence": {"street": "Obergasse", "house_number": "12", "main_residence": True},
        "vehicle": {"number_plate": "HG-AB 123", "holder": "applicant"},
        "months": 12,
    }


class ResidentParkingStatus:
    """Statuses after the permit ended early."""

    RETURNED: Final = "permit_returned"
    REVOKED: Final = "permit_revoked"


PERMIT_COMMANDS: Final = frozenset(
    {"renew_permit", "change_number_plate", "return_permit", "revoke_permit"}
)


def last_day(start: date, months: int) -> date:
    """The last day of a validity of whole months that begins on ``start`` (both included).

    §§ 187 (2), 188 (2) BGB: the day before the day with the same number; where that month
    has no such day, its last day (§ 188 (3) BGB): from 31 January, one month ends on 28 February.
    """
    same_number = add_months(start, months)
    if same_number.day != start.day:
        return same_number  # the month is too short: it ends on its last day
    return same_number - timedelta(days=1)


class ResidentParkingPermit(Case):
    """A resident parking permit: decided by the rules, then renewed, changed or ended."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    # A road traffic matter (§ 45 (1b) no. 2a StVO); the permit follows from the zone plan
    # (no discretion in the single case); its fee by the town's statute under § 6a (5a) StVG
    # arises with the issue.
    MATTER: ClassVar[Matter] = Matter.ROAD_TRAFFIC
    FEE_LEGAL_BASIS: ClassVar[str] = (
        "§ 6a Abs. 5a StVG i. V. m. der Gebührenordnung der Gemeinde für Bewohnerparkausweise"
    )
    FEE_DEBT_ARISES_ON: ClassVar[str] = "decision"
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = APPLICANT_COMMANDS | {"return_permit"}
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = (
        "a resident parking permit is issued only by the decision by the rules "
        "(parking decision), which checks the zone and the permits the resident and "
        "the vehicle hold"
    )
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "PermitRenewed": ("parking_permit_renewed", "Resident parking: the permit was renewed."),
        "NumberPlateChanged": (
            "parking_permit_plate_changed",
            "Resident parking: another number plate was entered on the permit.",
        ),
        "PermitReturned": ("parking_permit_returned", "Resident parking: the permit was returned."),
        "PermitRevoked": ("parking_permit_revoked", "Resident parking: the permit was revoked."),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # The permit takes effect on notification; an objection does not stop it.
            CaseStatus.NOTIFIED: set(PERMIT_COMMANDS),
            CaseStatus.FINAL: set(PERMIT_COMMANDS),
            ResidentParkingStatus.RETURNED: {"close"},
            ResidentParkingStatus.REVOKED: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.vehicle: dict[str, Any] = dict(self.data["vehicle"])
        self.renewed: tuple[date, date] | None = None  # the period after the last renewal
        self.later_fees: list[dict[str, Any]] = []
        self.ended_on: date | None = None

    # ---------------------------------------------------------------- queries

    @property
    def issued(self) -> Decision | None:
        """The decision that issued the permit, while one is in force."""
        decision = self.decision
        if decision is None or not decision.outcome.is_approval:
            return None
        return decision

    @property
    def period(self) -> tuple[date, date] | None:
        """First and last day of the permit's validity (after renewals), if one was issued."""
        decision = self.issued
        if decision is None or decision.expires_on is None:
            return None
        return self.renewed or (decision.effective_from, decision.expires_on)

    def allowed_commands(self) -> frozenset[str]:
        """Permit steps only while a permit was issued and has not ended."""
        commands = super().allowed_commands()
        if self.period is None or self.ended_on is not None:
            commands -= PERMIT_COMMANDS
        return commands

    @property
    def application(self) -> ResidentParkingApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return ResidentParkingApplication.stored(self.data)

    @property
    def residence_street(self) -> str | None:
        """The street of the residence; None once erased.

        Personal data (with the house number it says where the applicant lives); events
        stored before it was sealed hold it in clear, as a plain string.
        """
        street: object = self.application.residence.street
        if isinstance(street, PersonalData):
            return street.value
        return street if isinstance(street, str) else None

    def zone_check(
        self, plan: ZonePlan, recorded: RulesApplied | None = None
    ) -> tuple[ParkingZone | None, RulesApplied]:
        """The residence checked against a zone plan: by its street while the street is known.

        ``recorded`` is a decision's record of the check (a replay): once the street is
        erased, and for records that kept the street's key, the check is made from it.
        """
        street = self.residence_street
        if recorded is not None and (street is None or "street" in recorded.inputs):
            return plan.check_as_recorded(recorded, self.main_residence)
        if street is None:
            raise InvalidCommand(
                "data.residence.street", "was erased: the residence's zone cannot be checked"
            )
        return plan.check(street, self.main_residence)

    @property
    def requested_months(self) -> int:
        """The validity the applicant asked for."""
        return int(self.application.months)

    @property
    def number_plate(self) -> PersonalValue:
        """The plate the permit is for now (after changes)."""
        plate: PersonalValue = self.vehicle["number_plate"]
        return plate

    def check_holding(self, holding: PermitHolding, kind: HoldingKind) -> None:
        """The application passed a holding of this tenant and kind (a wiring error if not)."""
        if holding.tenant != self.tenant or holding.kind is not kind:
            raise ValueError(f"not a {kind.value} holding of {self.tenant}")

    # --------------------------------------------------------------- decision

    def decide_by_rules(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        representative: str | None = None,
        valid_from: date | None = None,
    ) -> None:
        """Issue the permit for the zone, or refuse it with every reason that applies."""
        self.check_allowed("decide")
        self.check_actor(actor, at)
        self.check_holding(resident, HoldingKind.RESIDENT)
        self.check_holding(vehicle, HoldingKind.NUMBER_PLATE)
        today = berlin_date(at)
        start = valid_from or today
        if not today <= start <= today + timedelta(days=LATEST_START_DAYS):
            raise InvalidCommand(
                "valid_from", f"must lie between today and {LATEST_START_DAYS} days ahead"
            )
        plan = zone_plan(self.tenant, today)
        until = last_day(start, min(self.requested_months, plan.max_validity_months))
        held = self.one_permit_record(
            resident=resident.blocking(self.id, start, until) is not None,
            vehicle=vehicle.blocking(self.id, start, until) is not None,
        )
        approve = not self.refusals(self.zone_check(plan)[1])
        approve = approve and not self.refusals(held)
        outcome = DecisionOutcome.APPROVED if approve else DecisionOutcome.REJECTED
        terms = self._terms(outcome, start, plan, tariff(self.tenant, today), held)
        super().decide(
            actor=actor,
            at=at,
            outcome=outcome,
            justification=self._justification(terms),
            legal_basis=LEGAL_BASIS,
            representative=representative,
            effective_from=start,
            expires_on=terms.expires_on,
            fee=terms.fee,
            rules=terms.rules,
        )
        if approve:
            for holding, field in (
                (resident, "applicant"),
                (vehicle, "data.vehicle.number_plate"),
            ):
                holding.take(
                    case_id=self.id,
                    valid_from=start,
                    valid_until=until,
                    actor=actor,
                    at=at,
                    why="issued",
                    field=field,
                )

    def data_read_by_rules(self) -> dict[str, Any]:
        """What a replay reads: residence kind and months (zone and holdings were recorded)."""
        return {"main_residence": self.main_residence, "months": self.requested_months}

    @property
    def main_residence(self) -> bool:
        """True if the residence is the applicant's main residence."""
        return bool(self.application.residence.main_residence)

    @staticmethod
    def one_permit_record(*, resident: bool, vehicle: bool) -> RulesApplied:
        """The check of the one-permit rule, with what the holdings said."""
        refusals = [Refusal.RESIDENT_HOLDS_PERMIT] if resident else []
        refusals += [Refusal.VEHICLE_HOLDS_PERMIT] if vehicle else []
        return RulesApplied(
            rules_id=ONE_PERMIT_RULES_ID,
            version=ONE_PERMIT_RULES_VERSION,
            inputs={
                "resident_holds_permit": resident,
                "vehicle_holds_permit": vehicle,
                "refusals": refusals,
            },
        )

    @staticmethod
    def refusals(record: RulesApplied) -> list[str]:
        """The reasons to refuse that a check recorded."""
        return [str(r) for r in record.inputs.get("refusals", [])]

    def _justification(self, terms: DecisionTerms) -> str:
        reasons = [r for record in terms.rules for r in self.refusals(record)]
        if reasons:
            return " ".join(Refusal.TEXT[r] for r in reasons)
        zone = terms.particulars.get("zone_name", "")
        return (
            f"Die Wohnung liegt im Bewohnerparkbereich {terms.particulars.get('zone')} "
            f"„{zone}“. Für die antragstellende Person und das Fahrzeug besteht kein anderer "
            "gültiger Bewohnerparkausweis."
        )

    def _terms(
        self,
        outcome: DecisionOutcome,
        start: date,
        plan: ZonePlan,
        fees: ParkingTariff | None,
        held: RulesApplied,
        recorded: RulesApplied | None = None,
    ) -> DecisionTerms:
        zone, checked = self.zone_check(plan, recorded)
        if not outcome.is_approval or zone is None or fees is None:
            return DecisionTerms(rules=(checked, held))
        months = min(self.requested_months, plan.max_validity_months)
        fee, assessed = fees.assess(months)
        return DecisionTerms(
            expires_on=last_day(start, months),
            fee=fee,
            rules=(checked, held, assessed),
            particulars=self._particulars(plan, zone),
        )

    def _particulars(self, plan: ZonePlan, zone: ParkingZone | None) -> dict[str, Any]:
        """What the permit is for: the zone and the months granted."""
        months = min(self.requested_months, plan.max_validity_months)
        return {
            "zone": zone.id if zone else None,
            "zone_name": zone.name if zone else None,
            "months": months,
        }

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """The rules assessed the terms (``decide_by_rules``); a clerk's refusal has none."""
        if given.rules:
            if not outcome.is_approval:
                return given
            recorded = {r.rules_id: r for r in given.rules}
            plan = zone_plan_version(self.tenant, recorded[ZONE_RULES_ID].version)
            zone, _ = plan.check_as_recorded(recorded[ZONE_RULES_ID], self.main_residence)
            return replace(given, particulars=self._particulars(plan, zone))
        if given.fee is not None:
            raise InvalidCommand("fee", "a refusal of a resident parking permit carries no fee")
        if given.expires_on is not None:
            raise InvalidCommand("expires_on", "a refusal has no validity")
        _, checked = self.zone_check(zone_plan(self.tenant, decided_on))
        return DecisionTerms(rules=(checked,))

    def replay_terms(self, decision: Decision) -> DecisionTerms:
        """The terms the recorded zone plan and tariff give; what the holdings said is a fact."""
        recorded = {r.rules_id: r for r in decision.rules}
        plan = zone_plan_version(self.tenant, recorded[ZONE_RULES_ID].version)
        fee_rules = recorded.get(FEE_RULES_ID)
        fees = tariff_version(self.tenant, fee_rules.version) if fee_rules else None
        return self._replayed(decision, plan, fees)

    def terms_today(self, decision: Decision, today: date) -> DecisionTerms:
        """What today's zone plan and tariff would give the same decision."""
        return self._replayed(decision, zone_plan(self.tenant, today), tariff(self.tenant, today))

    def _replayed(
        self, decision: Decision, plan: ZonePlan, fees: ParkingTariff | None
    ) -> DecisionTerms:
        held = next((r for r in decision.rules if r.rules_id == ONE_PERMIT_RULES_ID), None)
        recorded = next((r for r in decision.rules if r.rules_id == ZONE_RULES_ID), None)
        if held is None:  # a clerk's refusal: only the zone check was recorded
            return DecisionTerms(rules=(self.zone_check(plan, recorded)[1],))
        return self._terms(decision.outcome, decision.effective_from, plan, fees, held, recorded)

    def can_be_withdrawn(self) -> bool:
        """Until a permit was issued (its holdings taken); after it the permit is returned."""
        return super().can_be_withdrawn() and self.decision_left_nothing_behind()

    def check_decision_reopenable(self) -> None:
        """Only a refusal is reopened; an issued permit is renewed, changed, returned or revoked."""
        if self.issued is not None:
            raise InvalidCommand(
                "new_decision",
                "an issued permit is not reopened: change, renew, return or revoke it instead",
            )

    # ---------------------------------------------------------- after issue

    def _current_period(self) -> tuple[date, date]:
        period = self.period
        if period is None:
            raise InvalidCommand("decision", "no permit was issued")
        return period

    def renew_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        months: int | None = None,
    ) -> None:
        """Extend the validity from the day after it ends (or from today once it has ended)."""
        record = self._begin("renew_permit", actor, at)
        self.check_holding(resident, HoldingKind.RESIDENT)
        self.check_holding(vehicle, HoldingKind.NUMBER_PLATE)
        today = berlin_date(at)
        valid_from, valid_until = self._current_period()
        opens = valid_until - timedelta(days=RENEWAL_WINDOW_DAYS)
        if today < opens:
            raise InvalidCommand("at", f"the permit can be renewed from {opens}")
        plan = zone_plan(self.tenant, today)
        zone, checked = self.zone_check(plan)
        if zone is None or self.refusals(checked):
            raise InvalidCommand(
                "data.residence",
                " ".join(Refusal.TEXT[r] for r in self.refusals(checked)),
            )
        wanted = months if months is not None else self.requested_months
        if not 1 <= wanted <= 24:
            raise InvalidCommand("months", "must lie between 1 and 24")
        granted = min(wanted, plan.max_validity_months)
        if today > valid_until:  # it had ended: a new period from today
            valid_from, start = today, today
        else:
            start = valid_until + timedelta(days=1)
        until = last_day(start, granted)
        for holding, field in ((resident, "applicant"), (vehicle, "data.vehicle.number_plate")):
            holding.take(
                case_id=self.id,
                valid_from=max(today, valid_from),  # the days gone by need no holding
                valid_until=until,
                actor=actor,
                at=at,
                why="renewed",
                field=field,
            )
        fee, assessed = tariff(self.tenant, today).assess(granted)
        self._renewed(
            actor=record,
            at=at,
            valid_from=valid_from,
            valid_until=until,
            zone=zone.id,
            months=granted,
            fee=fee,
            rules=[checked, assessed],
        )

    class PermitRenewed(Case.Event):
        """The permit was renewed for another period, at the renewal fee."""

        actor: ActorRecord
        at: datetime
        valid_from: date
        valid_until: date
        zone: str
        months: int
        fee: Decimal
        rules: list[RulesApplied]

    @event(PermitRenewed)
    def _renewed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        valid_from: date,
        valid_until: date,
        zone: str,
        months: int,
        fee: Decimal,
        rules: list[RulesApplied],
    ) -> None:
        self.renewed = (valid_from, valid_until)
        self.later_fees.append({"charge": "renewal", "fee": fee, "on": at, "rules": rules})
        self.last_activity_at = at

    def change_number_plate(
        self,
        *,
        actor: Actor,
        at: datetime,
        vehicle: Mapping[str, Any],
        old: PermitHolding,
        new: PermitHolding,
    ) -> None:
        """Enter another vehicle: its plate takes the holding over, for a smaller fee.

        ``vehicle`` is a validated ``Vehicle`` as event data (its plate ``PersonalData``).
        """
        record = self._begin("change_number_plate", actor, at)
        self.check_holding(old, HoldingKind.NUMBER_PLATE)
        self.check_holding(new, HoldingKind.NUMBER_PLATE)
        plate = vehicle.get("number_plate")
        if not isinstance(plate, PersonalData) or plate.case_id != self.id:
            raise InvalidCommand("vehicle.number_plate", "must be a PersonalData of this case")
        current = self.number_plate
        if isinstance(current, PersonalData) and current.value == plate.value:
            raise InvalidCommand("vehicle.number_plate", "the permit is already for this plate")
        if old.id == new.id:
            raise InvalidCommand("vehicle.number_plate", "the permit is already for this plate")
        today = berlin_date(at)
        valid_from, valid_until = self._current_period()
        if today > valid_until:
            raise InvalidCommand("at", f"the permit ended on {valid_until}; renew it first")
        new.take(
            case_id=self.id,
            valid_from=max(today, valid_from),
            valid_until=valid_until,
            actor=actor,
            at=at,
            why="plate_changed",
            field="vehicle.number_plate",
        )
        old.release(case_id=self.id, actor=actor, at=at, why="plate_changed")
        fee, assessed = tariff(self.tenant, today).assess_plate_change()
        self._number_plate_changed(
            actor=record, at=at, vehicle=dict(vehicle), fee=fee, rules=[assessed]
        )

    class NumberPlateChanged(Case.Event):
        """The permit moved to another vehicle, at the change fee."""

        actor: ActorRecord
        at: datetime
        vehicle: dict[str, Any]
        fee: Decimal
        rules: list[RulesApplied]

    @event(NumberPlateChanged)
    def _number_plate_changed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        vehicle: dict[str, Any],
        fee: Decimal,
        rules: list[RulesApplied],
    ) -> None:
        self.vehicle = vehicle
        self.later_fees.append({"charge": "plate_change", "fee": fee, "on": at, "rules": rules})
        self.last_activity_at = at

    def return_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        reason: str | None = None,
    ) -> None:
        """The holder gives the permit back (moved away, no car): the holdings are free."""
        record = self._begin("return_permit", actor, at)
        if actor.role is Role.APPLICANT and actor.id != self.submitted_by:
            raise InvalidCommand("actor", "only the permit's holder may return it")
        self._release_holdings(resident, vehicle, actor, at, "returned")
        text = self._personal(Subjects.APPLICANT, reason, "reason") if reason else None
        self._permit_returned(
            status=ResidentParkingStatus.RETURNED,
            actor=record,
            at=at,
            returned_on=berlin_date(at),
            reason=text,
        )

    class PermitReturned(ChangesStatus):
        """The holder gave the permit back; it ends today."""

        class_version = 2
        upcast_v1_v2 = leads_to(ResidentParkingStatus.RETURNED)
        actor: ActorRecord
        at: datetime
        returned_on: date
        reason: PersonalValue | None

    @event(PermitReturned)
    def _permit_returned(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        returned_on: date,
        reason: PersonalValue | None,
        status: str,
    ) -> None:
        self.ended_on = returned_on
        self.status = status
        self.last_activity_at = at

    def revoke_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        reason: str,
        legal_basis: str,
    ) -> None:
        """Widerruf: the conditions no longer hold (moved out of the zone, car sold)."""
        record = self._begin("revoke_permit", actor, at)
        if not legal_basis.strip():
            raise InvalidCommand("legal_basis", "must not be empty")
        text = self._case_text(reason, "reason")
        self._release_holdings(resident, vehicle, actor, at, "revoked")
        self._permit_revoked(
            status=ResidentParkingStatus.REVOKED,
            actor=record,
            at=at,
            revoked_on=berlin_date(at),
            reason=text,
            legal_basis=legal_basis.strip(),
        )

    class PermitRevoked(ChangesStatus):
        """The town revoked the permit, with reasons and legal basis."""

        class_version = 2
        upcast_v1_v2 = leads_to(ResidentParkingStatus.REVOKED)
        actor: ActorRecord
        at: datetime
        revoked_on: date
        reason: PersonalValue
        legal_basis: str

    @event(PermitRevoked)
    def _permit_revoked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        revoked_on: date,
        reason: PersonalValue,
        legal_basis: str,
        status: str,
    ) -> None:
        self.ended_on = revoked_on
        self.status = status
        self.last_activity_at = at

    def _release_holdings(
        self, resident: PermitHolding, vehicle: PermitHolding, actor: Actor, at: datetime, why: str
    ) -> None:
        self.check_holding(resident, HoldingKind.RESIDENT)
        self.check_holding(vehicle, HoldingKind.NUMBER_PLATE)
        for holding in (resident, vehicle):
            holding.release(case_id=self.id, actor=actor, at=at, why=why)

    def check_erasure(
        self, *, actor: Actor, at: datetime, subjects: list[str], reason: str, legal_basis: str
    ) -> None:
        """A permit in force keeps its applicant's data: its holdings are found by it."""
        super().check_erasure(
            actor=actor, at=at, subjects=subjects, reason=reason, legal_basis=legal_basis
        )
        period = self.period
        in_force = period is not None and self.ended_on is None and berlin_date(at) <= period[1]
        if in_force and Subjects.APPLICANT in subjects:
            raise InvalidCommand(
                "subjects",
                "the permit is in force: return or revoke it first (freeing its plate and "
                "resident needs them), or erase after it ended",
            )

    # ------------------------------------------------------------------ close

    def check_closable(self, at: datetime) -> None:
        """A permit still valid is returned or revoked first (or closed once it ended)."""
        period = self.period
        if period is None or self.ended_on is not None:
            return
        if berlin_date(at) <= period[1]:
            raise InvalidCommand(
                "valid_until",
                f"the permit is valid until {period[1]}: return or revoke it, "
                "or close the file after it ended",
            )

    def service_state(self) -> dict[str, Any]:
        """The permit: zone, validity, vehicle, how it ended, and every fee assessed."""
        decision = self.issued
        fees = []
        if decision is not None and decision.fee is not None:
            fees.append({"charge": "permit", "fee": decision.fee, "on": decision.decided_at})
        fees += [{k: v for k, v in f.items() if k != "rules"} for f in self.later_fees]
        period = self.period
        return {
            "zone": decision.particulars.get("zone") if decision else None,
            "zone_name": decision.particulars.get("zone_name") if decision else None,
            "valid_from": period[0] if period else None,
            "valid_until": period[1] if period else None,
            "ended_on": self.ended_on,
            "vehicle": self.vehicle,
            "fees": fees,
        }


# ---------------------------------------------------------------- holdings
# One permit per resident and per number plate in a town: the holdings are aggregates of
# their own, found by a key the step derives and saved with the case in one atomic save.


def resident_key(name: str, street: str, house_number: str) -> str:
    """Who a resident is, for the one-permit rule: name and address, case and blanks aside."""
    return "|".join(
        (
            " ".join(name.casefold().split()),
            street_key(street),
            "".join(house_number.casefold().split()),
        )
    )


def revealed(value: object, field: str) -> str:
    """The value the one-permit rule needs; erased, the step is refused naming the field."""
    if not isinstance(value, PersonalData):
        raise InvalidCommand(field, "is needed to apply the one-permit rule but was erased")
    return value.value


def holding(shared: SharedAggregates, tenant: str, kind: HoldingKind, key: str) -> PermitHolding:
    """The holding of a plate or resident in a town (a fresh one if nobody held it)."""
    return shared.keyed(
        PermitHolding,
        tenant,
        f"{kind.value}:{key}",
        lambda holding_id: PermitHolding.start(id=holding_id, tenant=tenant, kind=kind),
    )


def resident_holding(shared: SharedAggregates, case: ResidentParkingPermit) -> PermitHolding:
    """The holding of the case's applicant at the case's residence."""
    street = case.residence_street  # sealed, or in clear in events stored before
    if street is None:
        raise InvalidCommand(
            "data.residence.street", "is needed to apply the one-permit rule but was erased"
        )
    key = resident_key(
        revealed(case.applicant.get("name"), "applicant.name"),
        street,
        revealed(case.application.residence.house_number, "data.residence.house_number"),
    )
    return holding(shared, case.tenant, HoldingKind.RESIDENT, key)


def plate_holding(
    shared: SharedAggregates, case: ResidentParkingPermit, plate: str | None = None
) -> PermitHolding:
    """The holding of a number plate (by default the one the permit is for now)."""
    key = plate or revealed(case.number_plate, "data.vehicle.number_plate")
    return holding(shared, case.tenant, HoldingKind.NUMBER_PLATE, key)


# ------------------------------------------------------------------- steps
# Each step loads the holdings it needs through the pipeline's context and returns them to
# be saved with the case; the steps are declared with ``retry_lost_race``, so a step whose
# save loses a race is decided again from a fresh load and the loser sees the winner's permit.


class ParkingDecision(CommandBody):
    """Decide by the rules: issued for the zone, or refused with the reasons that apply."""

    representative: Text | None = Field(
        default=None, description="Who acts for the applicant, if anyone (named in the decision)"
    )
    valid_from: date | None = Field(
        default=None, description="First day of validity; today if omitted (at most 90 days on)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"valid_from": "2026-12-07"}]},
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


def decide_by_rules(
    case: ResidentParkingPermit, body: ParkingDecision, acting: Acting
) -> list[PermitHolding]:
    """Issue the permit for the zone, or refuse it with the reasons the rules give."""
    resident, vehicle = resident_holding(acting.context, case), plate_holding(acting.context, case)
    case.decide_by_rules(
        actor=acting.actor,
        at=acting.at,
        resident=resident,
        vehicle=vehicle,
        representative=body.representative,
        valid_from=body.valid_from,
    )
    return [resident, vehicle]


def renew(case: ResidentParkingPermit, body: Renewal, acting: Acting) -> list[PermitHolding]:
    """Extend the permit's validity, for the fee of the new period."""
    resident, vehicle = resident_holding(acting.context, case), plate_holding(acting.context, case)
    case.renew_permit(
        actor=acting.actor, at=acting.at, resident=resident, vehicle=vehicle, months=body.months
    )
    return [resident, vehicle]


def change_number_plate(
    case: ResidentParkingPermit, body: NumberPlateChange, acting: Acting
) -> list[PermitHolding]:
    """Enter another vehicle on the permit; its plate takes the old plate's holding over."""
    body.vehicle.check_consent_date(berlin_date(acting.at), "vehicle")
    old = plate_holding(acting.context, case)
    new = plate_holding(acting.context, case, body.vehicle.number_plate)
    data = personal_data_of(body.vehicle, case_id=case.id, subject=Subjects.APPLICANT)
    case.change_number_plate(actor=acting.actor, at=acting.at, vehicle=data, old=old, new=new)
    return [old, new]


def return_permit(
    case: ResidentParkingPermit, body: PermitReturn | None, acting: Acting
) -> list[PermitHolding]:
    """The holder returns the permit; the resident and the plate are free again."""
    resident, vehicle = resident_holding(acting.context, case), plate_holding(acting.context, case)
    case.return_permit(
        actor=acting.actor,
        at=acting.at,
        resident=resident,
        vehicle=vehicle,
        reason=body.reason if body else None,
    )
    return [resident, vehicle]


def revoke(case: ResidentParkingPermit, body: Revocation, acting: Acting) -> list[PermitHolding]:
    """Revoke the permit (Widerruf); the resident and the plate are free again."""
    resident, vehicle = resident_holding(acting.context, case), plate_holding(acting.context, case)
    case.revoke_permit(
        actor=acting.actor,
        at=acting.at,
        resident=resident,
        vehicle=vehicle,
        reason=body.reason,
        legal_basis=body.legal_basis,
    )
    return [resident, vehicle]


def parking_step(name: str, method: str, path: str, summary: str, **more: Any) -> Step:
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


STEPS: Final = Steps(
    "resident parking",
    (
        parking_step(
            "decide_by_rules",
            "decide",
            "parking-decision",
            "Resident parking: decide by the rules",
            description="Issued for the residence's zone with validity and fee, or refused with "
            "the reasons.\n\nRefused when the residence lies in no zone (or is a secondary "
            "residence where the town does not allow it), or when the resident or the vehicle "
            "already holds a valid permit.",
            body=ParkingDecision,
            run=decide_by_rules,
        ),
        parking_step(
            "renew",
            "renew_permit",
            "parking-renewals",
            "Resident parking: renew",
            description="Extend the validity for the fee of the new period under the tariff in "
            "force.",
            body=Renewal,
            run=renew,
        ),
        parking_step(
            "change_number_plate",
            "change_number_plate",
            "number-plate-changes",
            "Resident parking: change the number plate",
            description="Another vehicle on a valid permit, for the plate change fee; refused if "
            "it holds one.",
            body=NumberPlateChange,
            run=change_number_plate,
        ),
        parking_step(
            "return_permit",
            "return_permit",
            "parking-return",
            "Resident parking: return the permit",
            description="The holder (or staff for them) returns the permit; resident and plate "
            "are free again.",
            roles=APPLICANT_AND_STAFF,
            body=PermitReturn,
            run=return_permit,
        ),
        parking_step(
            "revoke",
            "revoke_permit",
            "parking-revocation",
            "Resident parking: revoke the permit",
            description="Widerruf, with reasons and legal basis; resident and plate are free "
            "again.",
            body=Revocation,
            run=revoke,
        ),
    ),
)

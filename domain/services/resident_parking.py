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
from typing import Annotated, Any, ClassVar, Final, Literal, Self, TypeVar

from eventsourcing.domain import event
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from domain.actor import Actor, ActorRecord, Role
from domain.authorities import (
    PERIOD_WITHOUT_NOTICE_MONTHS,
    Matter,
    RemedyNotice,
    authorities_of,
    remedy_notice,
)
from domain.case import (
    ACTION_PERIOD_MONTHS,
    APPLICANT_COMMANDS,
    Case,
    ChangesStatus,
    DecisionTerms,
    leads_to,
)
from domain.case_steps import APPLICANT_AND_STAFF, STAFF, OptionalReason
from domain.case_timers import PERMIT_EXPIRED
from domain.commands import (
    Acting,
    CommandBody,
    SharedAggregates,
    Step,
    Steps,
    Text,
    fields_of,
)
from domain.decision import (
    CostsDecision,
    Decision,
    DecisionOutcome,
    Hearing,
    ProvisionKind,
    RulesApplied,
)
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.objection import (
    CostsBorneBy,
    Objection,
    ObjectionCosts,
    ObjectionDecision,
    ObjectionOutcome,
    ObjectionState,
)
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.personal_fields import Personal, PersonalMarker, personal_data_of
from domain.rules import notification
from domain.rules.resident_parking import (
    FEE_RULES_ID,
    ZONE_RULES_ID,
    ParkingTariff,
    ParkingZone,
    Refusal,
    ZonePlan,
    refusal_text,
    street_key,
    tariff,
    tariff_version,
    zone_plan,
    zone_plan_version,
)
from domain.services.forms import Form, HouseNumber, Name, PlausibleDate, labelled
from domain.services.parking_decisions import (
    IMMEDIATE_ENFORCEMENT_BASIS,
    IMMEDIATE_OPERATIVE_PART,
    PLATE_CHANGE_OPERATIVE_PART,
    RENEWAL_OPERATIVE_PART,
    REVOCATION_OPERATIVE_PART,
    FollowUp,
    RevocationGround,
    RevocationState,
    revocation_final_from,
)
from domain.services.parking_holding import HoldingKind, PermitHolding
from domain.timers import Due
from domain.working_days import add_months, berlin_date, period_end

SERVICE_ID: Final = "resident-parking"
EVENT_LABELS: Final = {
    "PermitRenewed": ("Ausweis verlängert", "Permit renewed"),
    "NumberPlateChanged": ("Kennzeichen geändert", "Number plate changed"),
    "PermitReturned": ("Ausweis zurückgegeben", "Permit returned"),
    "PermitRevoked": ("Widerruf des Ausweises entschieden", "Revocation of the permit decided"),
    "PermitDecisionNotified": (
        "Bescheid zum Ausweis bekanntgegeben",
        "Decision on the permit notified",
    ),
    "RevocationObjectionLodged": (
        "Widerspruch gegen den Widerruf eingegangen",
        "Objection to the revocation lodged",
    ),
    "RevocationObjectionRemedied": (
        "Widerspruch gegen den Widerruf abgeholfen",
        "Objection to the revocation remedied",
    ),
    "RevocationObjectionDecided": (
        "Widerspruchsbescheid zum Widerruf",
        "Objection to the revocation decided",
    ),
    "RevocationObjectionWithdrawn": (
        "Widerspruch gegen den Widerruf zurückgenommen",
        "Objection to the revocation withdrawn",
    ),
    "RevocationBecameFinal": ("Widerruf bestandskräftig", "Revocation final"),
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
REVOCATION_COMMANDS: Final = frozenset(
    {
        "lodge_revocation_objection",
        "remedy_revocation_objection",
        "decide_revocation_objection",
        "withdraw_revocation_objection",
        "mark_revocation_final",
    }
)
FOLLOW_UP_COMMANDS: Final = REVOCATION_COMMANDS | {"notify_permit_decision"}


def read_as_a_decision_notified_at_the_counter(state: dict[str, Any]) -> None:
    """A renewal or plate change of version 1 kept no decision record: read it as one without
    operative part, legal basis, costs or remedy notice, handed over on the day recorded."""
    state.update(
        starts_on=None,
        operative_part=None,
        legal_basis=None,
        costs=None,
        remedy_notice=None,
        issuing_authority=None,
        notified=notified_at_the_counter(state["at"]),
    )


def notified_at_the_counter(at: datetime) -> dict[str, Any]:
    """How a decision after issue recorded before notifications were kept is read.

    Handed over at the counter on the day it was recorded, where it took effect; no remedy
    notice was recorded, so the objection period is the year of § 58 (2) VwGO.
    """
    day = berlin_date(at)
    return {
        "delivery": notification.Delivery.COUNTER.value,
        "sent_on": day,
        "received_on": None,
        "notified_on": day,
        "objection_deadline": period_end(day, PERIOD_WITHOUT_NOTICE_MONTHS),
        "takes_effect_on": day,
    }


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
        "PermitRevoked": (
            "parking_permit_revoked",
            "Resident parking: the revocation of the permit was decided.",
        ),
        "PermitDecisionNotified": (
            "parking_permit_decision_notified",
            "Resident parking: a renewal, plate change or revocation was notified and took effect.",
        ),
        "RevocationObjectionLodged": (
            "parking_revocation_objection_lodged",
            "Resident parking: an objection to the revocation was lodged.",
        ),
        "RevocationObjectionRemedied": (
            "parking_revocation_objection_remedied",
            "Resident parking: the objection to the revocation was remedied; the permit stands.",
        ),
        "RevocationObjectionDecided": (
            "parking_revocation_objection_decided",
            "Resident parking: the objection to the revocation was decided.",
        ),
        "RevocationObjectionWithdrawn": (
            "parking_revocation_objection_withdrawn",
            "Resident parking: the objection to the revocation was withdrawn.",
        ),
        "RevocationBecameFinal": (
            "parking_revocation_final",
            "Resident parking: the revocation became final.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # The permit takes effect on notification; an objection does not stop it.
            CaseStatus.NOTIFIED: set(PERMIT_COMMANDS | FOLLOW_UP_COMMANDS),
            CaseStatus.FINAL: set(PERMIT_COMMANDS | FOLLOW_UP_COMMANDS),
            ResidentParkingStatus.RETURNED: {"close"},
            # A revocation in effect at once still takes an objection (§ 80 (2) no. 4 VwGO).
            ResidentParkingStatus.REVOKED: {"close", *REVOCATION_COMMANDS},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.vehicle: dict[str, Any] = dict(self.data["vehicle"])
        self.renewed: tuple[date, date] | None = None  # the period after the last renewal
        self.later_fees: list[dict[str, Any]] = []
        self.ended_on: date | None = None
        # Renewals, plate changes and revocations: decisions after issue, in order.
        self.permit_decisions: list[dict[str, Any]] = []
        self.revocation: dict[str, Any] | None = None  # the latest revocation's entry

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

    def validity_ends_on(self) -> date | None:
        """The permit's last day after renewals (``period``), once notified."""
        period = self.period
        return period[1] if period is not None and self.notified_on is not None else None

    def validity_ended_otherwise(self) -> bool:
        """A permit returned or revoked (in effect) ended before its last day."""
        return self.ended_on is not None

    def allowed_commands(self) -> frozenset[str]:
        """Permit steps only while a permit in force awaits no decision and no revocation.

        A decision after issue is notified before the next one; a revocation open (not yet
        final, nor lifted) takes only its own track: the objection and finality.
        """
        commands = super().allowed_commands()
        pending = self.pending_permit_decision
        revocation = self.open_revocation
        if self.period is None or self.ended_on is not None or pending or revocation:
            commands -= PERMIT_COMMANDS
        if pending is None:
            commands -= {"notify_permit_decision"}
        commands -= REVOCATION_COMMANDS
        if revocation is not None and revocation["notified_on"] is not None:
            track = {"lodge_revocation_objection"}
            objection = self._revocation_objection()
            if objection is not None:
                track = {
                    "remedy_revocation_objection",
                    "decide_revocation_objection",
                    "withdraw_revocation_objection",
                }
            if revocation_final_from(revocation) is not None:
                track.add("mark_revocation_final")
            commands |= track & self.LIFECYCLE.get(self.status, frozenset())
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
        fees = tariff(self.tenant, today)
        terms = self._terms(outcome, start, plan, fees, held)
        # The costs decision cites the tariff's own basis (GebOSt or the town's ordinance);
        # held for this command only, read by ``_costs``.
        self._deciding_fee_basis = fees.legal_basis
        try:
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
        finally:
            del self._deciding_fee_basis
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

    def _costs(self, fee: Decimal | None) -> CostsDecision | None:
        """The costs decision, citing the basis of the tariff applied (GebOSt or ordinance)."""
        costs = super()._costs(fee)
        basis: str | None = getattr(self, "_deciding_fee_basis", None)
        if costs is None or basis is None:
            return costs
        return replace(costs, legal_basis=basis)

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
        reasons = [(r, record) for record in terms.rules for r in self.refusals(record)]
        if reasons:
            return " ".join(refusal_text(r, record) for r, record in reasons)
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
    # Renewal, plate change and revocation are decisions of their own: each records its
    # operative part, legal basis, fee with the fee's basis, remedy notice and who decided
    # (``permit_decisions``), and takes effect on its notification (notify_permit_decision).

    def _current_period(self) -> tuple[date, date]:
        period = self.period
        if period is None:
            raise InvalidCommand("decision", "no permit was issued")
        return period

    @property
    def pending_permit_decision(self) -> dict[str, Any] | None:
        """A renewal, plate change or revocation decided but not yet notified."""
        for entry in self.permit_decisions:
            if entry["notified_on"] is None:
                return entry
        return None

    @property
    def open_revocation(self) -> dict[str, Any] | None:
        """The revocation neither final nor lifted, if any."""
        revocation = self.revocation
        if revocation is None or revocation["state"] not in RevocationState.OPEN:
            return None
        return revocation

    def _revocation_objection(self) -> Objection | None:
        revocation = self.open_revocation
        if revocation is None:
            return None
        return next((o for o in reversed(revocation["objections"]) if o.is_open), None)

    def _follow_up_record(
        self, operative_part: PersonalData, legal_basis: str, fee: Decimal | None, fee_basis: str
    ) -> dict[str, Any]:
        """What a decision after issue records besides its own terms (a Bescheid's parts)."""
        debtor = self.applicant.get("name")
        costs = None
        if fee is not None and debtor is not None:
            costs = CostsDecision(legal_basis=fee_basis, debtor=debtor, amount=fee)
        return {
            "operative_part": operative_part,
            "legal_basis": legal_basis,
            "costs": costs,
            "remedy_notice": remedy_notice(self.tenant, self.MATTER),
            "issuing_authority": authorities_of(self.tenant).issuing_authority(self.MATTER),
        }

    def renew_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        months: int | None = None,
    ) -> None:
        """Decide a renewal from the day after the permit ends (or from today once it ended).

        The new period takes effect on the renewal's notification, or on its first day if
        that is later; its last day is fixed by the decision (§ 36 (2) no. 1 HVwVfG).
        """
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
                " ".join(refusal_text(r, checked) for r in self.refusals(checked)),
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
        fees = tariff(self.tenant, today)
        fee, assessed = fees.assess(granted)
        tenor = RENEWAL_OPERATIVE_PART.format(
            valid_from=start.strftime("%d.%m.%Y"), valid_until=until.strftime("%d.%m.%Y")
        )
        self._renewed(
            actor=record,
            at=at,
            valid_from=valid_from,
            valid_until=until,
            starts_on=start,
            zone=zone.id,
            months=granted,
            fee=fee,
            rules=[checked, assessed],
            **self._follow_up_record(
                self._case_text(tenor, "operative_part"), LEGAL_BASIS, fee, fees.legal_basis
            ),
            notified=None,
        )

    class PermitRenewed(Case.Event):
        """A renewal was decided for another period, at the fee of that period.

        Version 2 records the decision (operative part, legal basis, costs with the fee's
        basis, remedy notice, issuing authority) and the new period's first day; it takes
        effect on its notification. Version 1 renewals recorded no notification: they are
        read as handed over at the counter on the day they were recorded, without a remedy
        notice (so the objection period is the year of § 58 (2) VwGO).
        """

        class_version = 2
        actor: ActorRecord
        at: datetime
        valid_from: date
        valid_until: date
        starts_on: date | None
        zone: str
        months: int
        fee: Decimal
        rules: list[RulesApplied]
        operative_part: PersonalValue | None
        legal_basis: str | None
        costs: CostsDecision | None
        remedy_notice: RemedyNotice | None
        issuing_authority: str | None
        notified: dict[str, Any] | None

        upcast_v1_v2 = staticmethod(read_as_a_decision_notified_at_the_counter)

    @event(PermitRenewed)
    def _renewed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        valid_from: date,
        valid_until: date,
        starts_on: date | None,
        zone: str,
        months: int,
        fee: Decimal,
        rules: list[RulesApplied],
        operative_part: PersonalValue | None,
        legal_basis: str | None,
        costs: CostsDecision | None,
        remedy_notice: RemedyNotice | None,
        issuing_authority: str | None,
        notified: dict[str, Any] | None,
    ) -> None:
        entry = self._entered(
            FollowUp.RENEWAL,
            actor,
            at,
            operative_part,
            legal_basis,
            costs,
            remedy_notice,
            issuing_authority,
            rules,
            valid_from=valid_from,
            valid_until=valid_until,
            starts_on=starts_on,
            zone=zone,
            months=months,
        )
        self.later_fees.append({"charge": "renewal", "fee": fee, "on": at, "rules": rules})
        if notified is not None:
            self._take_effect(entry, notified)
        self.last_activity_at = at

    def _entered(
        self,
        kind: str,
        actor: ActorRecord,
        at: datetime,
        operative_part: PersonalValue | None,
        legal_basis: str | None,
        costs: CostsDecision | None,
        notice: RemedyNotice | None,
        issuing_authority: str | None,
        rules: list[RulesApplied],
        **terms: Any,
    ) -> dict[str, Any]:
        """A decision after issue entered into the file (state only: called by events)."""
        entry: dict[str, Any] = {
            "number": len(self.permit_decisions) + 1,
            "kind": kind,
            "decided_by": actor,
            "decided_at": at,
            "operative_part": operative_part,
            "legal_basis": legal_basis,
            "costs": costs,
            "remedy_notice": notice,
            "issuing_authority": issuing_authority,
            "rules": list(rules),
            **terms,
            "delivery": None,
            "sent_on": None,
            "notified_on": None,
            "objection_deadline": None,
            "takes_effect_on": None,
        }
        self.permit_decisions.append(entry)
        return entry

    def _take_effect(self, entry: dict[str, Any], notified: Mapping[str, Any]) -> None:
        """A decision after issue took effect with its notification (state only)."""
        entry.update(notified)
        kind = entry["kind"]
        if kind == FollowUp.RENEWAL:
            starts_on = entry["starts_on"]
            valid_from = entry["valid_from"]
            if starts_on is not None and valid_from == starts_on:  # renewed after it lapsed
                valid_from = entry["takes_effect_on"]
            self.renewed = (valid_from, entry["valid_until"])
        elif kind == FollowUp.PLATE_CHANGE:
            self.vehicle = entry["vehicle"]
        elif entry["immediate_enforcement"] is not None:
            entry["state"] = RevocationState.IN_EFFECT
            self.ended_on = entry["takes_effect_on"]
        else:
            entry["state"] = RevocationState.AWAITING_FINALITY

    def change_number_plate(
        self,
        *,
        actor: Actor,
        at: datetime,
        vehicle: Mapping[str, Any],
        old: PermitHolding,
        new: PermitHolding,
        starts_on: date | None = None,
    ) -> None:
        """Decide to enter another vehicle, for a smaller fee; it takes effect on notification.

        ``vehicle`` is a validated ``Vehicle`` as event data (its plate ``PersonalData``);
        ``starts_on`` a later first day for the new vehicle, if the holder asked for one. The
        new plate is held from that day (or today); the old one until the change takes
        effect.
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
        if starts_on is not None and not today <= starts_on <= valid_until:
            raise InvalidCommand(
                "valid_from", f"must lie between today and the permit's last day, {valid_until}"
            )
        new.take(
            case_id=self.id,
            valid_from=max(today, valid_from, starts_on or today),
            valid_until=valid_until,
            actor=actor,
            at=at,
            why="plate_changed",
            field="vehicle.number_plate",
        )
        fees = tariff(self.tenant, today)
        fee, assessed = fees.assess_plate_change()
        tenor = PLATE_CHANGE_OPERATIVE_PART.format(plate=plate.value)
        self._number_plate_changed(
            actor=record,
            at=at,
            vehicle=dict(vehicle),
            starts_on=starts_on,
            fee=fee,
            rules=[assessed],
            **self._follow_up_record(
                self._personal(Subjects.APPLICANT, tenor, "operative_part"),
                LEGAL_BASIS,
                fee,
                fees.legal_basis,
            ),
            notified=None,
        )

    class NumberPlateChanged(Case.Event):
        """A plate change was decided: the permit moves to another vehicle, at the change fee.

        Version 2 records the decision (as a renewal does); it takes effect on its
        notification. Version 1 changes are read as handed over at the counter that day.
        """

        class_version = 2
        actor: ActorRecord
        at: datetime
        vehicle: dict[str, Any]
        starts_on: date | None
        fee: Decimal
        rules: list[RulesApplied]
        operative_part: PersonalValue | None
        legal_basis: str | None
        costs: CostsDecision | None
        remedy_notice: RemedyNotice | None
        issuing_authority: str | None
        notified: dict[str, Any] | None

        upcast_v1_v2 = staticmethod(read_as_a_decision_notified_at_the_counter)

    @event(NumberPlateChanged)
    def _number_plate_changed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        vehicle: dict[str, Any],
        starts_on: date | None,
        fee: Decimal,
        rules: list[RulesApplied],
        operative_part: PersonalValue | None,
        legal_basis: str | None,
        costs: CostsDecision | None,
        remedy_notice: RemedyNotice | None,
        issuing_authority: str | None,
        notified: dict[str, Any] | None,
    ) -> None:
        entry = self._entered(
            FollowUp.PLATE_CHANGE,
            actor,
            at,
            operative_part,
            legal_basis,
            costs,
            remedy_notice,
            issuing_authority,
            rules,
            vehicle=vehicle,
            starts_on=starts_on,
        )
        self.later_fees.append({"charge": "plate_change", "fee": fee, "on": at, "rules": rules})
        if notified is not None:
            self._take_effect(entry, notified)
        self.last_activity_at = at

    def notify_permit_decision(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        delivery: notification.Delivery = notification.Delivery.COUNTER,
        sent_on: date | None = None,
        received_on: date | None = None,
    ) -> None:
        """Record the Bekanntgabe of the renewal, plate change or revocation awaiting it.

        The day of notification follows from the delivery by the rule in force on
        ``sent_on`` (§ 41 HVwVfG, domain/rules/notification.py); the objection period runs a
        month from it (§ 70 (1) VwGO). A plate change frees the old plate then; a revocation
        with immediate enforcement ends the permit that day and frees resident and plate.
        """
        record = self._begin("notify_permit_decision", actor, at)
        self.check_holding(resident, HoldingKind.RESIDENT)
        self.check_holding(vehicle, HoldingKind.NUMBER_PLATE)
        entry = self.pending_permit_decision
        if entry is None:  # the lifecycle offers the step only while one waits
            raise InvalidCommand("decision", "no decision awaits notification")
        today = berlin_date(at)
        sent = sent_on or today
        if sent < berlin_date(entry["decided_at"]):
            raise InvalidCommand("sent_on", "the decision cannot be sent before it was made")
        if sent > today:
            raise InvalidCommand("sent_on", "must not lie in the future")
        if received_on is not None and received_on > today:
            raise InvalidCommand("received_on", "must not lie in the future")
        rule = notification.rule_on(sent)
        day = rule.notified_on(delivery, sent, received_on)
        takes_effect_on = day
        if entry["kind"] != FollowUp.REVOCATION and entry["starts_on"] is not None:
            takes_effect_on = max(day, entry["starts_on"])
        status = self.status
        if entry["kind"] == FollowUp.PLATE_CHANGE:
            self._hand_over_plate(vehicle, takes_effect_on, actor, at)
        elif entry["kind"] == FollowUp.REVOCATION and entry["immediate_enforcement"]:
            self._release_holdings(resident, vehicle, actor, at, "revoked")
            status = ResidentParkingStatus.REVOKED
        notice: RemedyNotice = entry["remedy_notice"]
        self._permit_decision_notified(
            status=status,
            actor=record,
            at=at,
            number=entry["number"],
            delivery=delivery.value,
            sent_on=sent,
            received_on=received_on,
            notified_on=day,
            objection_deadline=period_end(day, notice.period_months),
            takes_effect_on=takes_effect_on,
            rules=rule.record(delivery, sent, received_on, day),
        )

    def _hand_over_plate(
        self, old: PermitHolding, takes_effect_on: date, actor: Actor, at: datetime
    ) -> None:
        """The old plate stays held until the change takes effect, then it is free."""
        today = berlin_date(at)
        held = old.held_by(self.id)
        last_day_held = takes_effect_on - timedelta(days=1)
        if held is None or last_day_held < max(today, held.valid_from):
            old.release(case_id=self.id, actor=actor, at=at, why="plate_changed")
            return
        old.take(
            case_id=self.id,
            valid_from=max(today, held.valid_from),
            valid_until=min(last_day_held, held.valid_until),
            actor=actor,
            at=at,
            why="plate_change_takes_effect",
            field="vehicle.number_plate",
        )

    class PermitDecisionNotified(ChangesStatus):
        """A renewal, plate change or revocation was notified and took effect (§ 43 HVwVfG)."""

        actor: ActorRecord
        at: datetime
        number: int
        delivery: str
        sent_on: date
        received_on: date | None
        notified_on: date
        objection_deadline: date
        takes_effect_on: date
        rules: RulesApplied

    @event(PermitDecisionNotified)
    def _permit_decision_notified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        number: int,
        delivery: str,
        sent_on: date,
        received_on: date | None,
        notified_on: date,
        objection_deadline: date,
        takes_effect_on: date,
        rules: RulesApplied,
        status: str,
    ) -> None:
        entry = self.permit_decisions[number - 1]
        self._take_effect(
            entry,
            {
                "delivery": delivery,
                "sent_on": sent_on,
                "received_on": received_on,
                "notified_on": notified_on,
                "objection_deadline": objection_deadline,
                "takes_effect_on": takes_effect_on,
                "notification_rules": rules,
            },
        )
        self.status = status
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

    # ------------------------------------------------------------- revocation

    def revoke_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        ground: RevocationGround,
        reason: str,
        facts_known_since: date,
        discretion: str,
        hearing_held_on: date | None = None,
        hearing_not_needed_because: str | None = None,
        immediate_enforcement: str | None = None,
    ) -> None:
        """Decide the Widerruf of the permit (§ 49 (2) HVwVfG) on one of its grounds.

        The revocation burdens the holder: a hearing (§ 28 (1) HVwVfG) was held, or the
        reason why none was needed is given (§ 28 (2)). It is made within a year of learning
        the facts (§ 49 (2) sentence 2 with § 48 (4) HVwVfG), weighs its discretion (§ 39
        (1) sentence 3 HVwVfG), and may order immediate enforcement with written reasons
        (§ 80 (2) sentence 1 no. 4, (3) VwGO). It takes effect on its notification.
        """
        record = self._begin("revoke_permit", actor, at)
        today = berlin_date(at)
        issued = self.issued
        if issued is None:  # the lifecycle offers revocation only for an issued permit
            raise InvalidCommand("decision", "no permit was issued")
        _valid_from, valid_until = self._current_period()
        if today > valid_until:  # § 43 (2) HVwVfG: settled by the lapse of time
            raise InvalidCommand(
                "at", f"the permit ended on {valid_until}: there is nothing left to revoke"
            )
        kinds = {provision.kind for provision in issued.provisions}
        if ground is RevocationGround.RESERVED and ProvisionKind.REVOCATION_RESERVED not in kinds:
            raise InvalidCommand("ground", "the permit reserves no revocation (§ 36 (2) no. 3)")
        if (
            ground is RevocationGround.REQUIREMENT_NOT_MET
            and ProvisionKind.REQUIREMENT not in kinds
        ):
            raise InvalidCommand("ground", "the permit carries no requirement (Auflage)")
        if facts_known_since > today:
            raise InvalidCommand("facts_known_since", "must not lie in the future")
        period_ends = period_end(facts_known_since, 12)
        if today > period_ends:
            raise InvalidCommand(
                "facts_known_since",
                f"a revocation must be made within a year of learning the facts "
                f"(§ 49 (2) sentence 2, § 48 (4) HVwVfG): that year ended on {period_ends}",
            )
        hearing = self._revocation_hearing(hearing_held_on, hearing_not_needed_because, today)
        if not discretion.strip():
            raise InvalidCommand(
                "discretion", "§ 49 (2) HVwVfG gives discretion: state the considerations"
            )
        immediate = None
        tenor = REVOCATION_OPERATIVE_PART
        legal_basis = ground.legal_basis
        if immediate_enforcement is not None:
            if not immediate_enforcement.strip():
                raise InvalidCommand(
                    "immediate_enforcement",
                    "the order needs its special reasons in writing (§ 80 (3) sentence 1 VwGO)",
                )
            immediate = self._case_text(immediate_enforcement, "immediate_enforcement")
            tenor += IMMEDIATE_OPERATIVE_PART
            legal_basis += f"; {IMMEDIATE_ENFORCEMENT_BASIS}"
        self._permit_revoked(
            status=self.status,
            actor=record,
            at=at,
            revoked_on=today,
            ground=ground.value,
            reason=self._case_text(reason, "reason"),
            legal_basis=legal_basis,
            facts_known_since=facts_known_since,
            hearing=hearing,
            discretion=self._case_text(discretion, "discretion"),
            immediate_enforcement=immediate,
            operative_part=self._case_text(tenor, "operative_part"),
            remedy_notice=remedy_notice(self.tenant, self.MATTER),
            issuing_authority=authorities_of(self.tenant).issuing_authority(self.MATTER),
            notified=None,
        )

    def _revocation_hearing(
        self, held_on: date | None, not_needed_because: str | None, today: date
    ) -> Hearing:
        """§ 28 HVwVfG: the day the holder was heard, or why no hearing was needed."""
        if held_on is not None and not_needed_because:
            raise InvalidCommand("hearing_not_needed_because", f"a hearing was held on {held_on}")
        if held_on is not None:
            if held_on > today:
                raise InvalidCommand("hearing_held_on", "must not lie in the future")
            issued = self.issued
            if issued is not None and held_on < berlin_date(issued.decided_at):
                raise InvalidCommand("hearing_held_on", "must not lie before the permit's issue")
            return Hearing(held_on=held_on)
        if not_needed_because and not_needed_because.strip():
            reason = self._case_text(not_needed_because, "hearing_not_needed_because")
            return Hearing(not_needed_because=reason)
        raise InvalidCommand(
            "hearing_held_on",
            "a revocation interferes with the holder's rights (§ 28 (1) HVwVfG): give the day "
            "of the hearing, or hearing_not_needed_because (§ 28 (2) HVwVfG)",
        )

    class PermitRevoked(ChangesStatus):
        """The town decided to revoke the permit (Widerruf), on a ground of § 49 (2) HVwVfG.

        Version 3 records the ground, the hearing, the considerations, the order of immediate
        enforcement with its reasons (if any), operative part and remedy notice; it takes
        effect on its notification. Version 2 revocations (reason and legal basis, holdings
        freed at once) are read as notified and in effect on ``revoked_on``, immediately.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(ResidentParkingStatus.REVOKED)
        actor: ActorRecord
        at: datetime
        revoked_on: date
        ground: str | None
        reason: PersonalValue
        legal_basis: str
        facts_known_since: date | None
        hearing: Hearing | None
        discretion: PersonalValue | None
        immediate_enforcement: PersonalValue | None
        operative_part: PersonalValue | None
        remedy_notice: RemedyNotice | None
        issuing_authority: str | None
        notified: dict[str, Any] | None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            revoked_on = state["revoked_on"]
            state.update(
                ground=None,
                facts_known_since=None,
                hearing=None,
                discretion=None,
                immediate_enforcement=None,
                operative_part=None,
                remedy_notice=None,
                issuing_authority=None,
                notified={
                    **notified_at_the_counter(state["at"]),
                    "notified_on": revoked_on,
                    "sent_on": revoked_on,
                    "takes_effect_on": revoked_on,
                    "state": RevocationState.IN_EFFECT,
                },
            )

    @event(PermitRevoked)
    def _permit_revoked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        revoked_on: date,
        ground: str | None,
        reason: PersonalValue,
        legal_basis: str,
        facts_known_since: date | None,
        hearing: Hearing | None,
        discretion: PersonalValue | None,
        immediate_enforcement: PersonalValue | None,
        operative_part: PersonalValue | None,
        remedy_notice: RemedyNotice | None,
        issuing_authority: str | None,
        notified: dict[str, Any] | None,
        status: str,
    ) -> None:
        entry = self._entered(
            FollowUp.REVOCATION,
            actor,
            at,
            operative_part,
            legal_basis,
            None,
            remedy_notice,
            issuing_authority,
            [],
            revoked_on=revoked_on,
            ground=ground,
            reason=reason,
            facts_known_since=facts_known_since,
            hearing=hearing,
            discretion=discretion,
            immediate_enforcement=immediate_enforcement,
            state=RevocationState.AWAITING_NOTIFICATION,
            status_before=self.status,
            objections=[],
            final_on=None,
        )
        self.revocation = entry
        if notified is not None:  # version 2: in effect at once, the permit ended that day
            entry.update(notified)
            self.ended_on = revoked_on
        self.status = status
        self.last_activity_at = at

    # The objection against the revocation (§§ 68 ff. VwGO): a road traffic matter, so the
    # town may remedy it (§ 72 VwGO), else the supervising authority decides (§ 73 (1)
    # sentence 2 no. 1 VwGO).

    def lodge_revocation_objection(
        self, *, actor: Actor, at: datetime, grounds: str, received_on: date | None = None
    ) -> None:
        """Record a Widerspruch against the revocation; one in time suspends it (§ 80 (1))."""
        record = self._begin("lodge_revocation_objection", actor, at)
        revocation = self.open_revocation
        if revocation is None or revocation["notified_on"] is None:  # offered only then
            raise InvalidCommand("revocation", "no revocation has been notified")
        day = received_on or berlin_date(at)
        if day < revocation["sent_on"]:
            raise InvalidCommand(
                "received_on", f"the revocation was sent on {revocation['sent_on']}, later"
            )
        if day > berlin_date(at):
            raise InvalidCommand("received_on", "must not lie in the future")
        objection = Objection(
            received_on=day,
            grounds=self._personal(Subjects.APPLICANT, grounds, "grounds"),
            lodged_by=record,
            deadline=revocation["objection_deadline"],
        )
        self._revocation_objection_lodged(actor=record, at=at, objection=objection)

    class RevocationObjectionLodged(Case.Event):
        """A Widerspruch against the revocation was received, in time or late."""

        actor: ActorRecord
        at: datetime
        objection: Objection

    @event(RevocationObjectionLodged)
    def _revocation_objection_lodged(
        self, *, actor: ActorRecord, at: datetime, objection: Objection
    ) -> None:
        revocation = self.revocation
        if revocation is not None:
            revocation["objections"] = [*revocation["objections"], objection]
            if objection.timely and revocation["state"] == RevocationState.AWAITING_FINALITY:
                revocation["state"] = RevocationState.SUSPENDED
        self.last_activity_at = at

    def remedy_revocation_objection(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        reason: str,
    ) -> None:
        """Abhilfe (§ 72 VwGO): the revocation is lifted and the permit stands.

        A permit that immediate enforcement had ended is in force again for the rest of its
        period: its resident and plate are taken again (refused if another permit took
        them meanwhile).
        """
        record = self._begin("remedy_revocation_objection", actor, at)
        decision = ObjectionDecision(
            outcome=ObjectionState.REMEDIED,
            reasons=self._case_text(reason, "reason"),
            costs=ObjectionCosts(CostsBorneBy.AUTHORITY, "§ 80 Abs. 1 HVwVfG"),
            decided_by=authorities_of(self.tenant).issuing_authority(self.MATTER),
            decided_on=berlin_date(at),
        )
        status = self._restored(resident, vehicle, actor, at)
        self._revocation_objection_remedied(actor=record, at=at, decision=decision, status=status)

    def _restored(
        self, resident: PermitHolding, vehicle: PermitHolding, actor: Actor, at: datetime
    ) -> str:
        """Retake the holdings of a permit the revocation had ended; the status it returns to."""
        self.check_holding(resident, HoldingKind.RESIDENT)
        self.check_holding(vehicle, HoldingKind.NUMBER_PLATE)
        revocation = self.open_revocation
        if revocation is None:  # offered only with an open objection against one
            raise InvalidCommand("revocation", "no revocation is open")
        if self.ended_on is None:
            return self.status
        valid_from, valid_until = self._current_period()
        today = berlin_date(at)
        if today <= valid_until:
            for holding, field in (
                (resident, "applicant"),
                (vehicle, "data.vehicle.number_plate"),
            ):
                holding.take(
                    case_id=self.id,
                    valid_from=max(today, valid_from),
                    valid_until=valid_until,
                    actor=actor,
                    at=at,
                    why="revocation_lifted",
                    field=field,
                )
        return str(revocation["status_before"])

    class RevocationObjectionRemedied(ChangesStatus):
        """The town remedied the objection: the revocation is lifted, the permit stands."""

        actor: ActorRecord
        at: datetime
        decision: ObjectionDecision

    @event(RevocationObjectionRemedied)
    def _revocation_objection_remedied(
        self, *, actor: ActorRecord, at: datetime, decision: ObjectionDecision, status: str
    ) -> None:
        self._disposed(ObjectionState.REMEDIED, decision)
        self._lifted()
        self.status = status
        self.last_activity_at = at

    def _disposed(self, state: str, decision: ObjectionDecision) -> None:
        revocation = self.revocation
        if revocation is None:
            return
        remedy = decision if state == ObjectionState.REMEDIED else None
        revocation["objections"] = [
            o.with_state(
                state,
                remedy=remedy or o.remedy,
                remedies=(*o.remedies, remedy) if remedy else o.remedies,
                decision=decision if remedy is None else o.decision,
            )
            if o.is_open
            else o
            for o in revocation["objections"]
        ]

    def _lifted(self) -> None:
        revocation = self.revocation
        if revocation is not None:
            revocation["state"] = RevocationState.LIFTED
        self.ended_on = None

    def decide_revocation_objection(
        self,
        *,
        actor: Actor,
        at: datetime,
        resident: PermitHolding,
        vehicle: PermitHolding,
        outcome: str,
        reasons: str,
        served_on: date,
        costs_borne_by: str = CostsBorneBy.OBJECTOR,
    ) -> None:
        """The supervising authority's Widerspruchsbescheid on the objection (§ 73 VwGO).

        Granted, the revocation is lifted; dismissed (or inadmissible, a late one), the month
        for an action runs from service (§ 74 (1) VwGO) and the revocation is final after it.
        """
        record = self._begin("decide_revocation_objection", actor, at)
        allowed = (
            ObjectionOutcome.GRANTED,
            ObjectionOutcome.DISMISSED,
            ObjectionOutcome.INADMISSIBLE,
        )
        if outcome not in allowed:
            raise InvalidCommand("outcome", f"must be one of {', '.join(allowed)}")
        objection = self._revocation_objection()
        if objection is None:  # offered only with an open objection
            raise InvalidCommand("objection", "no objection against the revocation is open")
        if outcome == ObjectionOutcome.DISMISSED and not objection.timely:
            raise InvalidCommand("outcome", "a late objection is rejected as inadmissible")
        today = berlin_date(at)
        if served_on > today:
            raise InvalidCommand("served_on", "must not lie in the future")
        if served_on < objection.received_on:
            raise InvalidCommand("served_on", "must not lie before the objection was received")
        decision = ObjectionDecision(
            outcome=outcome,
            reasons=self._case_text(reasons, "reasons"),
            costs=ObjectionCosts(costs_borne_by, "§ 73 Abs. 3 Satz 3 VwGO"),
            decided_by=authorities_of(self.tenant).objection_authority(self.MATTER),
            decided_on=today,
            served_on=served_on,
            action_deadline=period_end(served_on, ACTION_PERIOD_MONTHS),
        )
        status = self.status
        if outcome == ObjectionOutcome.GRANTED:
            status = self._restored(resident, vehicle, actor, at)
        self._revocation_objection_decided(actor=record, at=at, decision=decision, status=status)

    class RevocationObjectionDecided(ChangesStatus):
        """The Widerspruchsbescheid on the objection against the revocation was served."""

        actor: ActorRecord
        at: datetime
        decision: ObjectionDecision

    @event(RevocationObjectionDecided)
    def _revocation_objection_decided(
        self, *, actor: ActorRecord, at: datetime, decision: ObjectionDecision, status: str
    ) -> None:
        self._disposed(ObjectionState.DECIDED, decision)
        revocation = self.revocation
        if decision.outcome == ObjectionOutcome.GRANTED:
            self._lifted()
        elif revocation is not None and revocation["state"] == RevocationState.SUSPENDED:
            # § 80b (1) VwGO: the suspension lasts until the revocation is unappealable.
            revocation["state"] = RevocationState.AWAITING_FINALITY
        self.status = status
        self.last_activity_at = at

    def withdraw_revocation_objection(
        self, *, actor: Actor, at: datetime, reason: str | None = None
    ) -> None:
        """The holder withdraws the objection against the revocation."""
        record = self._begin("withdraw_revocation_objection", actor, at)
        if self._revocation_objection() is None:  # offered only with an open objection
            raise InvalidCommand("objection", "no objection against the revocation is open")
        text = self._personal(Subjects.APPLICANT, reason, "reason") if reason else None
        self._revocation_objection_withdrawn(
            actor=record, at=at, withdrawn_on=berlin_date(at), reason=text
        )

    class RevocationObjectionWithdrawn(Case.Event):
        """The objection against the revocation was withdrawn."""

        actor: ActorRecord
        at: datetime
        withdrawn_on: date
        reason: PersonalValue | None

    @event(RevocationObjectionWithdrawn)
    def _revocation_objection_withdrawn(
        self, *, actor: ActorRecord, at: datetime, withdrawn_on: date, reason: PersonalValue | None
    ) -> None:
        revocation = self.revocation
        if revocation is not None:
            revocation["objections"] = [
                o.with_state(ObjectionState.WITHDRAWN, withdrawn_on=withdrawn_on)
                if o.is_open
                else o
                for o in revocation["objections"]
            ]
            if revocation["state"] == RevocationState.SUSPENDED:
                revocation["state"] = RevocationState.AWAITING_FINALITY
        self.last_activity_at = at

    def mark_revocation_final(
        self, *, actor: Actor, at: datetime, resident: PermitHolding, vehicle: PermitHolding
    ) -> None:
        """The revocation became final: a permit it had not yet ended ends, its holdings free."""
        record = self._begin("mark_revocation_final", actor, at)
        revocation = self.open_revocation
        first = revocation_final_from(revocation) if revocation else None
        if revocation is None or first is None:
            raise InvalidCommand("objection", "an objection against the revocation is open")
        if berlin_date(at) < first:
            raise InvalidCommand(
                "at", f"the revocation can become final on {first} at the earliest"
            )
        ended_on = None
        status = self.status
        if self.ended_on is None:
            self._release_holdings(resident, vehicle, actor, at, "revoked")
            ended_on, status = first, ResidentParkingStatus.REVOKED
        self._revocation_became_final(
            status=status, actor=record, at=at, final_on=first, ended_on=ended_on
        )

    class RevocationBecameFinal(ChangesStatus):
        """The revocation is final; a permit it had suspended ends on ``ended_on``."""

        actor: ActorRecord
        at: datetime
        final_on: date
        ended_on: date | None

    @event(RevocationBecameFinal)
    def _revocation_became_final(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        final_on: date,
        ended_on: date | None,
        status: str,
    ) -> None:
        revocation = self.revocation
        if revocation is not None:
            revocation["state"] = RevocationState.FINAL
            revocation["final_on"] = final_on
        if ended_on is not None:
            self.ended_on = ended_on
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
        # A closed file takes no step of the revocation's track: nothing can lift it there.
        closed = self.status == CaseStatus.CLOSED
        if self.open_revocation is not None and not closed and Subjects.APPLICANT in subjects:
            raise InvalidCommand(
                "subjects",
                "a revocation of the permit is not yet final: lifting it on objection would "
                "take the applicant's resident and plate again",
            )

    # ------------------------------------------------------------------ close

    def check_closable(self, at: datetime) -> None:
        """A permit still valid is returned or revoked first (or closed once it ended).

        A decision after issue awaiting notification, or a revocation neither final nor
        lifted (in effect at once included: its objection period still runs), keeps the
        file open.
        """
        if self.pending_permit_decision is not None:
            raise InvalidCommand("decision", "a decision on the permit awaits notification")
        revocation = self.open_revocation
        if revocation is not None:
            # Even in effect at once, the revocation still takes a timely objection (§ 80
            # (2) no. 4 VwGO does not shorten the period, § 70 VwGO), which a closed file
            # could not record: it is marked final first.
            first = revocation_final_from(revocation)
            when = f"; mark it final from {first}" if first is not None else ""
            raise InvalidCommand(
                "revocation", f"the revocation is not final and its objection track is open{when}"
            )
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
            # Renewals, plate changes and revocations, each with its notification.
            "decisions": [dict(entry) for entry in self.permit_decisions],
            "awaiting_notification": (
                pending["number"] if (pending := self.pending_permit_decision) else None
            ),
            "revocation": (
                {
                    "number": self.revocation["number"],
                    "state": self.revocation["state"],
                    "ground": self.revocation["ground"],
                    "immediate_enforcement": self.revocation["immediate_enforcement"] is not None,
                    "objection_deadline": self.revocation["objection_deadline"],
                    "final_from": revocation_final_from(self.revocation),
                    "final_on": self.revocation["final_on"],
                    "objection": (
                        self.revocation["objections"][-1] if self.revocation["objections"] else None
                    ),
                }
                if self.revocation
                else None
            ),
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
    valid_from: date | None = Field(
        default=None,
        description="First day for the new vehicle if later than the notification; the "
        "change takes effect on notification otherwise.",
    )

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
    """Widerruf of the permit on a ground of § 49 (2) HVwVfG, with hearing and discretion."""

    ground: RevocationGround = Field(
        description="§ 49 (2) sentence 1 HVwVfG: reserved (no. 1), requirement_not_met "
        "(no. 2), facts_changed (no. 3: moved out of the zone, vehicle sold), law_changed "
        "(no. 4: zone lifted), serious_harm (no. 5)."
    )
    reason: Text = Field(description="The facts the revocation rests on.")
    facts_known_since: date = Field(
        description="When the town learnt them: the revocation is made within a year "
        "(§ 49 (2) sentence 2, § 48 (4) HVwVfG)."
    )
    discretion: Text = Field(description="The considerations (§ 39 (1) sentence 3 HVwVfG).")
    hearing_held_on: date | None = Field(default=None, description="§ 28 (1) HVwVfG")
    hearing_not_needed_because: Text | None = Field(
        default=None, description="Why no hearing was needed (§ 28 (2) HVwVfG)."
    )
    immediate_enforcement: Text | None = Field(
        default=None,
        description="Order immediate enforcement, with its special reasons in writing "
        "(§ 80 (2) sentence 1 no. 4, (3) VwGO); without it an objection suspends the "
        "revocation (§ 80 (1) VwGO).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ground": "facts_changed",
                    "reason": "Laut Melderegister ist die Hauptwohnung seit 01.11.2026 "
                    "außerhalb des Bewohnerparkbereichs.",
                    "facts_known_since": "2026-11-10",
                    "discretion": "Der Parkraum im Bereich ist knapp; Vertrauensschutz "
                    "besteht nach dem Wegzug nicht.",
                    "hearing_held_on": "2026-11-20",
                }
            ]
        },
    )


class PermitDecisionNotification(CommandBody):
    """How the renewal, plate change or revocation was sent (§ 41 HVwVfG)."""

    delivery: Literal["counter", "letter", "electronic", "portal", "formal_service"] = Field(
        description="counter: handed over; letter: post; electronic: sent electronically; "
        "portal: made available for retrieval; formal_service: Zustellung (HVwZG)."
    )
    sent_on: date | None = Field(
        default=None, description="Handed over, posted, sent or provided; today if omitted."
    )
    received_on: date | None = Field(
        default=None, description="Actual receipt where shown (portal, formal service, late)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"delivery": "letter", "sent_on": "2026-12-03"}]},
    )


class RevocationObjection(CommandBody):
    """A Widerspruch against the revocation as received (a late one is recorded too)."""

    grounds: Text
    received_on: date | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "grounds": "Die Ummeldung betraf eine Nebenwohnung; ich wohne weiterhin dort.",
                    "received_on": "2026-12-01",
                }
            ]
        },
    )


class RevocationObjectionRemedy(CommandBody):
    """Abhilfe: the revocation is lifted (§ 72 VwGO)."""

    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Die Hauptwohnung liegt laut Melderegister im Bereich."}]
        },
    )


class RevocationObjectionDecision(CommandBody):
    """The Widerspruchsbescheid of the supervising authority (§ 73 VwGO)."""

    outcome: Literal["granted", "dismissed", "inadmissible"]
    reasons: Text
    served_on: date
    costs_borne_by: Literal["objector", "authority", "shared"] = CostsBorneBy.OBJECTOR

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "dismissed",
                    "reasons": "Der Wegzug aus dem Bereich ist durch das Melderegister belegt.",
                    "served_on": "2027-01-12",
                    "costs_borne_by": "objector",
                }
            ]
        },
    )


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
    case.change_number_plate(
        actor=acting.actor,
        at=acting.at,
        vehicle=data,
        old=old,
        new=new,
        starts_on=body.valid_from,
    )
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
    """Decide the revocation (Widerruf); it takes effect when notified."""
    case.revoke_permit(actor=acting.actor, at=acting.at, **fields_of(body))
    return []


def with_holdings(method: str) -> Any:
    """A step on the permit's own resident and plate holdings, saved with the case."""

    def run(
        case: ResidentParkingPermit, body: CommandBody | None, acting: Acting
    ) -> list[PermitHolding]:
        resident = resident_holding(acting.context, case)
        vehicle = plate_holding(acting.context, case)
        arguments = dict(fields_of(body)) if body is not None else {}
        if isinstance(body, PermitDecisionNotification):
            arguments["delivery"] = notification.Delivery(body.delivery)
        getattr(case, method)(
            actor=acting.actor, at=acting.at, resident=resident, vehicle=vehicle, **arguments
        )
        return [resident, vehicle]

    run.__doc__ = f"Run {method} with the permit's resident and plate holdings."
    return run


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
            holder_only=True,  # decided through Case.decide: Case.check_holder
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
            description="Widerruf on a ground of § 49 (2) HVwVfG, with the hearing (§ 28 "
            "HVwVfG), the considerations, and optionally the order of immediate enforcement "
            "with its reasons (§ 80 (2) no. 4, (3) VwGO). It takes effect on notification: "
            "with immediate enforcement the permit ends that day; without, an objection "
            "suspends it and the permit stays until the revocation is final.",
            body=Revocation,
            run=revoke,
        ),
        parking_step(
            "notify_permit_decision",
            "notify_permit_decision",
            "permit-decision-notifications",
            "Resident parking: notify a renewal, plate change or revocation",
            description="The Bekanntgabe of the decision awaiting it: the day follows from the "
            "delivery (§ 41 HVwVfG); the decision takes effect then (§ 43 HVwVfG) and the "
            "objection period runs a month from it.",
            body=PermitDecisionNotification,
            run=with_holdings("notify_permit_decision"),
        ),
        parking_step(
            "lodge_revocation_objection",
            "lodge_revocation_objection",
            "revocation-objections",
            "Resident parking: lodge an objection to the revocation",
            description="One in time suspends a revocation without immediate enforcement "
            "(§ 80 (1) VwGO); a late one is recorded and decided as inadmissible.",
            body=RevocationObjection,
        ),
        parking_step(
            "remedy_revocation_objection",
            "remedy_revocation_objection",
            "revocation-objections/remedy",
            "Resident parking: remedy the objection to the revocation",
            description="Abhilfe (§ 72 VwGO): the revocation is lifted and the permit stands.",
            body=RevocationObjectionRemedy,
            run=with_holdings("remedy_revocation_objection"),
        ),
        parking_step(
            "decide_revocation_objection",
            "decide_revocation_objection",
            "revocation-objections/decision",
            "Resident parking: the Widerspruchsbescheid on the revocation",
            description="Granted, the revocation is lifted; dismissed or inadmissible, it is "
            "final after the month for an action (§ 74 (1) VwGO).",
            body=RevocationObjectionDecision,
            run=with_holdings("decide_revocation_objection"),
        ),
        parking_step(
            "withdraw_revocation_objection",
            "withdraw_revocation_objection",
            "revocation-objections/withdrawal",
            "Resident parking: withdraw the objection to the revocation",
            body=OptionalReason,
        ),
        parking_step(
            "mark_revocation_final",
            "mark_revocation_final",
            "revocation-final",
            "Resident parking: the revocation became final",
            description="After the objection period without objection, a withdrawn "
            "objection, or the month for an action after the Widerspruchsbescheid; a permit "
            "the revocation had not yet ended ends then, its resident and plate are free.",
            run=with_holdings("mark_revocation_final"),
        ),
    ),
)


# ------------------------------------------------------------------ timers
# The permit's validity (domain/case_timers.py, ``permit_expired``) as renewals move it and
# a return or revocation ends it.


@PERMIT_EXPIRED.on(ResidentParkingPermit.PermitRenewed)
def _permit_renewed(event: ResidentParkingPermit.PermitRenewed, due: Due) -> Due:
    return Due(event.valid_until)


PERMIT_EXPIRED.ends_on(ResidentParkingPermit.PermitReturned, ResidentParkingPermit.PermitRevoked)

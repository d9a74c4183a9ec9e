"""The traffic sign order (verkehrsrechtliche Anordnung, § 45 StVO).

A person or a company asks the road traffic authority to order signs, most often a
temporary no-parking zone for a move or for building works. The application must arrive
the lead time before the start. Before deciding, the authority hears the road construction
authority and the police (VwV-StVO zu § 45 Abs. 1 bis 1e, Nr. I: "Vor jeder Entscheidung
sind die Straßenbaubehörde und die Polizei zu hören"); an order is granted only once both
were heard. The order always carries the standard conditions and names the day by which the
signs must stand: three full days before the start, so that cars parked before the signs
went up may be towed at their keeper's cost from the start (BVerwG, judgment of 24 May 2018,
3 C 25.16). The applicant reports when the signs are up — the day, the vehicles already
parked in the zone then, and so the day from which towing costs may be charged for them —
and when the measure is over and the signs are removed; then the file is closed. The fee
comes from a tariff by duration and zone length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, TypeVar

from eventsourcing.domain import event
from pydantic import ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from domain.actor import Actor, ActorRecord, Role
from domain.authorities import Matter
from domain.case import Case, ChangesStatus, DecisionTerms, leads_to
from domain.commands import CommandBody, Step, Steps
from domain.conditions import StandardConditions
from domain.decision import Decision, DecisionOutcome
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue
from domain.personal_fields import Personal, PersonalMarker
from domain.rules.traffic_sign_order import (
    CONDITIONS_RULES_ID,
    FEE_RULES_ID,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    LEGACY_SIGN_SETUPS,
    SIGN_SETUP_RULES_ID,
    SIGN_SETUPS,
    STANDARD_CONDITIONS,
    TARIFFS,
    TOWING_COSTS_DAY_AFTER_SETUP,
    SignSetup,
)
from domain.rules.versions import RulesChoice, UnknownRulesVersion, in_force
from domain.services.forms import Email, Form, HouseNumber, Name, Period, Phone, labelled
from domain.services.resident_parking import canonical_plate
from domain.working_days import berlin_date

SERVICE_ID: Final = "traffic-sign-order"
LEGAL_BASIS: Final = "§ 45 Abs. 1, 6 StVO; § 44 Abs. 1 StVO"
MAX_DAYS: Final = 92  # a longer measure needs a different procedure (Sondernutzung)

PARKED_VEHICLES: Final = "parked-vehicles"
"""The data subject of the number plates of vehicles parked in the zone when the signs went
up: their keepers, erased on their own."""
MAX_PARKED_VEHICLES: Final = 200

EVENT_LABELS: Final = {
    "AuthorityHeard": ("Polizei oder Straßenbaubehörde angehört", "Police or road authority heard"),
    "SignsPutUp": ("Verkehrszeichen aufgestellt", "Signs put up"),
    "SignsRemoved": ("Maßnahme beendet, Verkehrszeichen entfernt", "Completed, signs removed"),
}

T = TypeVar("T")
ContactPersonal = Annotated[T, PersonalMarker(subject="contact")]
"""Personal data of the contact person on site, a data subject of their own."""


class Reason(StrEnum):
    """Why the signs are needed."""

    MOVE = "move"
    BUILDING_WORKS = "building_works"
    DELIVERY = "delivery"
    EVENT = "event"
    OTHER = "other"


class ApplicantKind(StrEnum):
    """Who applies: a company or a private person."""

    COMPANY = "company"
    PERSON = "person"


class Location(Form):
    """Where the signs go, and how long the zone is (the size the fee is charged by)."""

    street: Name = labelled("Straße", "Street")
    house_number: Personal[HouseNumber] | None = labelled(
        "Hausnummer", "House number", default=None
    )
    location_description: Personal[Name] | None = labelled(
        "Lagebeschreibung",
        "Description of the location",
        default=None,
        description="e.g. 'vor Haus Nr. 12, Parkstreifen auf der Ostseite'",
    )
    zone_length_m: Decimal = labelled(
        "Länge der Zone (m)", "Zone length (m)", gt=0, le=500, decimal_places=1
    )


class SignRequest(Form):
    """One kind of sign, how many, and its supplementary sign (Zusatzzeichen)."""

    sign: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}(-[0-9]{1,2})?$")] = labelled(
        "Verkehrszeichen (Nr. nach StVO)", "Sign (StVO number)", description="e.g. 283, 286"
    )
    count: int = labelled("Anzahl", "Count", ge=1, le=50)
    supplement: Name | None = labelled(
        "Zusatzzeichen", "Supplementary sign", default=None, description="e.g. '7-18 h'"
    )


class ContactPerson(Form):
    """Whom the authority calls about the signs."""

    name: ContactPersonal[Name] = labelled("Name", "Name")
    phone: ContactPersonal[Phone] = labelled("Telefon", "Phone")
    email: ContactPersonal[Email] | None = labelled("E-Mail", "E-mail", default=None)


class OrderPeriod(Period):
    """The days the signs apply, both included."""


class TrafficSignOrderApplication(Form):
    """What the form portal sends for a traffic sign order."""

    location: Location = labelled("Ort", "Location")
    period: OrderPeriod = labelled("Zeitraum", "Period")
    reason: Reason = labelled("Anlass", "Reason")
    reason_details: Personal[Name] | None = labelled(
        "Anlass (Einzelheiten)", "Reason (details)", default=None
    )
    signs: list[SignRequest] = labelled(
        "Beantragte Verkehrszeichen", "Signs requested", min_length=1, max_length=20
    )
    sign_plan: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,199}$")
    ] = labelled(
        "Verkehrszeichenplan (Anlage)",
        "Sign plan (attachment reference)",
        description="The reference of the uploaded sign plan, e.g. 'att:2026/4711/vzp.pdf'",
    )
    contact_person: ContactPerson = labelled("Ansprechperson", "Contact person")
    applicant_kind: ApplicantKind = labelled("Antragsteller(in) ist", "Applicant is a")
    company: Name | None = labelled("Firma", "Company", default=None, validate_default=True)

    @field_validator("period")
    @classmethod
    def not_longer_than_allowed(cls, period: OrderPeriod) -> OrderPeriod:
        """An order covers at most ``MAX_DAYS`` days."""
        if period.days > MAX_DAYS:
            raise ValueError(f"an order covers at most {MAX_DAYS} days")
        return period

    @field_validator("company")
    @classmethod
    def company_named_for_a_company(cls, company: str | None, info: ValidationInfo) -> str | None:
        """A company applicant is named; a private person names none."""
        kind = info.data.get("applicant_kind")
        if kind is ApplicantKind.COMPANY and company is None:
            raise ValueError("required when the applicant is a company")
        if kind is ApplicantKind.PERSON and company is not None:
            raise ValueError("only for a company applicant")
        return company

    def check_lead_time(self, submitted_on: date) -> None:
        """The start lies at least the lead time after submission."""
        rule = in_force(LEAD_TIMES, submitted_on)
        rule.check(submitted_on, self.period.start, "data.period.start")


def example(on: date) -> dict[str, Any]:
    """An application that is valid when submitted on this day (it respects the lead time)."""
    start = in_force(LEAD_TIMES, on).earliest_start(on) + timedelta(days=5)
    return {
        "location": {
            "street": "Obergasse",
            "house_number": "12",
            "location_description": "Parkstreifen vor dem Haus, Ostseite",
            "zone_length_m": "18",
        },
        "period": {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()},
        "reason": "move",
        "signs": [{"sign": "283", "count": 2, "supplement": "7-18 h, Umzug"}],
        "sign_plan": "att:2026/vzp-obergasse-12.pdf",
        "contact_person": {"name": "Lena Vogel", "phone": "0170 1234567"},
        "applicant_kind": "person",
    }


class HeardAuthority(StrEnum):
    """Whom the road traffic authority hears before every order (VwV-StVO zu § 45, Nr. I)."""

    POLICE = "police"
    ROAD_AUTHORITY = "road_authority"  # Straßenbaubehörde


class HearingResponse(StrEnum):
    """What the authority heard answered."""

    CONSENTED = "consented"
    CONSENTED_WITH_CONDITIONS = "consented_with_conditions"
    OBJECTED = "objected"


@dataclass(frozen=True, slots=True)
class AuthorityHearing:
    """One hearing of the police or the road authority: when, and what it answered."""

    authority: str
    heard_on: date
    response: str
    remarks: PersonalValue | None = None

    def as_terms(self) -> dict[str, str]:
        """The hearing as an order records it among its particulars (without the remarks)."""
        return {
            "authority": self.authority,
            "heard_on": self.heard_on.isoformat(),
            "response": self.response,
        }


class TrafficSignOrderStatus:
    """Statuses after the order."""

    SIGNS_UP: Final = "signs_up"
    COMPLETED: Final = "completed"


class TrafficSignOrder(Case):
    """A traffic sign order: the shared lifecycle plus signs up, completion, signs removed."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 5  # well inside the 10-day lead time
    # A road traffic matter: the mayor as road traffic authority orders at discretion
    # (§ 45 (1) StVO); fees under the GebOSt arise when the service is rendered (§ 6a StVG,
    # § 4 (1) BGebG as the GebOSt refers to it).
    MATTER: ClassVar[Matter] = Matter.ROAD_TRAFFIC
    DISCRETION_UNDER: ClassVar[str | None] = "§ 45 Abs. 1 StVO"
    FEE_LEGAL_BASIS: ClassVar[str] = "§ 6a StVG i. V. m. der GebOSt"
    FEE_DEBT_ARISES_ON: ClassVar[str] = "decision"
    STANDARD_CONDITIONS_VERSIONS: ClassVar[tuple[StandardConditions, ...]] = STANDARD_CONDITIONS
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a traffic sign order"
    # The applicant puts the signs up and takes them down, and reports both.
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {
        "report_signs_up",
        "report_signs_removed",
    }
    PUBLIC_EVENTS: ClassVar[dict[str, tuple[str, str]]] = {
        "SignsPutUp": ("signs_up", "Traffic sign order: the signs were reported up."),
        "SignsRemoved": (
            "signs_removed",
            "Traffic sign order: the measure is over and the signs were removed.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # The hearings precede the decision (VwV-StVO zu § 45 Abs. 1 bis 1e, Nr. I).
            CaseStatus.IN_REVIEW: {"record_authority_hearing"},
            CaseStatus.INFORMATION_REQUESTED: {"record_authority_hearing"},
            # The order takes effect on notification; a move does not wait a month.
            CaseStatus.NOTIFIED: {"report_signs_up"},
            CaseStatus.FINAL: {"report_signs_up"},
            TrafficSignOrderStatus.SIGNS_UP: {"report_signs_removed"},
            TrafficSignOrderStatus.COMPLETED: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.authority_hearings: tuple[AuthorityHearing, ...] = ()
        self.signs_up_on: date | None = None
        self.signs_up_at: str | None = None
        self.signs_up_in_time: bool | None = None
        self.parked_vehicles: int | None = None
        self.parked_plates: tuple[PersonalValue, ...] = ()
        self.towing_costs_from: date | None = None
        self.signs_removed_on: date | None = None

    @property
    def application(self) -> TrafficSignOrderApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return TrafficSignOrderApplication.stored(self.data)

    @property
    def period_start(self) -> date:
        """The first day of the measure."""
        return self.application.period.start

    @property
    def period_end(self) -> date:
        """The last day of the measure."""
        return self.application.period.end

    @property
    def period_days(self) -> int:
        """Days of the measure, both ends included."""
        return (self.period_end - self.period_start).days + 1

    # ---------------------------------------------------------------- hearings

    def record_authority_hearing(
        self,
        *,
        actor: Actor,
        at: datetime,
        authority: HeardAuthority,
        heard_on: date,
        response: HearingResponse,
        remarks: str | None = None,
    ) -> None:
        """The police or the road authority was heard (VwV-StVO zu § 45 Abs. 1 bis 1e, Nr. I).

        Heard again, the later answer counts; both must have been heard before an order.
        """
        record = self._begin("record_authority_hearing", actor, at)
        authority = _member(HeardAuthority, authority, "authority")
        response = _member(HearingResponse, response, "response")
        if not berlin_date(self.submitted_at) <= heard_on <= berlin_date(at):
            raise InvalidCommand("heard_on", "must lie between the submission and today")
        text = None if remarks is None else self._case_text(remarks, "remarks")
        self._authority_heard(
            actor=record,
            at=at,
            authority=authority.value,
            heard_on=heard_on,
            response=response.value,
            remarks=text,
        )

    class AuthorityHeard(Case.Event):
        """The police or the road authority was heard before the order, and answered."""

        actor: ActorRecord
        at: datetime
        authority: str
        heard_on: date
        response: str
        remarks: PersonalValue | None

    @event(AuthorityHeard)
    def _authority_heard(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        authority: str,
        heard_on: date,
        response: str,
        remarks: PersonalValue | None,
    ) -> None:
        hearing = AuthorityHearing(authority, heard_on, response, remarks)
        self.authority_hearings = (*self.authority_hearings, hearing)
        self.last_activity_at = at

    def hearings_in_effect(self) -> tuple[AuthorityHearing, ...]:
        """The latest hearing of each authority heard, police first.

        Latest by the day it was heard (recorded in the same day, the one recorded last): a
        hearing recorded late for an earlier day does not displace a later answer.
        """
        by_day = sorted(self.authority_hearings, key=lambda h: h.heard_on)  # stable
        latest = {h.authority: h for h in by_day}
        return tuple(latest[a.value] for a in HeardAuthority if a.value in latest)

    # --------------------------------------------------------------- decision

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """The terms by the rules; an order only once police and road authority were heard."""
        terms = super().decision_terms(given, outcome=outcome, decided_on=decided_on)
        if outcome.is_approval:
            heard = {h.authority for h in self.authority_hearings}
            missing = [a.value for a in HeardAuthority if a.value not in heard]
            if missing:
                raise InvalidCommand(
                    "authority_hearings",
                    "before an order the road authority and the police are heard "
                    f"(VwV-StVO zu § 45 Abs. 1 bis 1e, Nr. I); not yet heard: {', '.join(missing)}",
                )
        return terms

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms:
        """The lead time checked; an order's fee by the tariff, its set-up day and conditions."""
        tariff = rules.by_fee_debt_day(TARIFFS, FEE_RULES_ID)
        setup = _sign_setup(rules)
        conditions = rules.by_decision_day(STANDARD_CONDITIONS, CONDITIONS_RULES_ID)
        lead_time = rules.by_submission_day(LEAD_TIMES, LEAD_TIME_RULES_ID)
        if lead_time is None:
            raise UnknownRulesVersion("the decision recorded no lead time")
        submitted_on = berlin_date(self.submitted_at)
        lead_time_check = lead_time.record(submitted_on, self.period_start)
        if not outcome.is_approval or tariff is None or setup is None or conditions is None:
            return DecisionTerms(rules=(lead_time_check,))
        fee, assessed = tariff.assess(self.period_days, self.application.location.zone_length_m)
        particulars: dict[str, Any] = {"signs_up_by": setup.signs_up_by(self.period_start)}
        hearings = self.hearings_in_effect()
        if hearings:  # orders decided before hearings were recorded name none
            particulars["authority_hearings"] = [h.as_terms() for h in hearings]
        return DecisionTerms(
            expires_on=expires_on or self.period_end,
            fee=fee,
            rules=(assessed, setup.record(self.period_start), conditions.record(), lead_time_check),
            particulars=particulars,
        )

    # ------------------------------------------------------------------ signs

    def report_signs_up(
        self,
        *,
        actor: Actor,
        at: datetime,
        signs_up_on: date,
        signs_up_at: time | None = None,
        parked_vehicles: int | None = None,
        parked_plates: list[str] | None = None,
    ) -> None:
        """The signs stand: the set-up report (Aufstellprotokoll).

        In time if by the day the order names, else recorded as late. The vehicles already
        parked in the zone that day (a count, their plates if noted) may be towed at their
        keeper's cost only from the fourth day after the set-up (BVerwG 3 C 25.16); the
        report records that day. The time of day is noted, but the count is by days only.
        """
        record = self._begin("report_signs_up", actor, at)
        decision = self.current_decision()
        decision.check_step_under(
            signs_up_on,
            today=berlin_date(at),
            field="signs_up_on",
            refused="the order was refused; no signs may be put up",
            too_early="cannot precede the order taking effect",
            ended="the order ended on",
        )
        plates: list[PersonalValue] = [
            self._plate(plate, i) for i, plate in enumerate(parked_plates or [])
        ]
        count = len(plates) if parked_vehicles is None and plates else parked_vehicles
        if count is not None and not 0 <= count <= MAX_PARKED_VEHICLES:
            raise InvalidCommand("parked_vehicles", f"must lie between 0 and {MAX_PARKED_VEHICLES}")
        if count is not None and len(plates) > count:
            raise InvalidCommand("parked_plates", "more plates than vehicles parked")
        in_time = signs_up_on <= signs_up_by(decision)
        self._signs_put_up(
            status=TrafficSignOrderStatus.SIGNS_UP,
            actor=record,
            at=at,
            signs_up_on=signs_up_on,
            in_time=in_time,
            signs_up_at=None if signs_up_at is None else signs_up_at.strftime("%H:%M"),
            parked_vehicles=count,
            parked_plates=plates,
            towing_costs_from=in_force(SIGN_SETUPS, signs_up_on).towing_costs_from(signs_up_on),
        )

    def _plate(self, text: str, index: int) -> PersonalData:
        """A parked vehicle's number plate, canonical, as its keeper's personal data."""
        field = f"parked_plates[{index}]"
        try:
            plate = canonical_plate(text)
        except ValueError as error:
            raise InvalidCommand(field, str(error)) from None
        return self._personal(PARKED_VEHICLES, plate, field)

    class SignsPutUp(ChangesStatus):
        """The signs were reported up, in time or late, with the vehicles parked then.

        Version 3 records the time of day, the vehicles already parked and the day towing
        costs may be charged for them; reports stored before name no vehicles, and that day
        is read from the set-up day (BVerwG 3 C 25.16).
        """

        class_version = 3
        upcast_v1_v2 = leads_to(TrafficSignOrderStatus.SIGNS_UP)
        actor: ActorRecord
        at: datetime
        signs_up_on: date
        in_time: bool
        signs_up_at: str | None
        parked_vehicles: int | None
        parked_plates: list[PersonalValue]
        towing_costs_from: date

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            signs_up_on = state["signs_up_on"]
            state["signs_up_at"] = None
            state["parked_vehicles"] = None  # not recorded
            state["parked_plates"] = []
            state["towing_costs_from"] = signs_up_on + timedelta(days=TOWING_COSTS_DAY_AFTER_SETUP)

    @event(SignsPutUp)
    def _signs_put_up(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        signs_up_on: date,
        in_time: bool,
        status: str,
        signs_up_at: str | None,
        parked_vehicles: int | None,
        parked_plates: list[PersonalValue],
        towing_costs_from: date,
    ) -> None:
        self.signs_up_on = signs_up_on
        self.signs_up_in_time = in_time
        self.signs_up_at = signs_up_at
        self.parked_vehicles = parked_vehicles
        self.parked_plates = tuple(parked_plates)
        self.towing_costs_from = towing_costs_from
        self.status = status
        self.last_activity_at = at

    def report_signs_removed(self, *, actor: Actor, at: datetime, removed_on: date) -> None:
        """The measure is over and the signs are gone."""
        record = self._begin("report_signs_removed", actor, at)
        if self.signs_up_on is None:
            raise InvalidCommand("signs_up_on", "the signs were never reported up")
        if not self.signs_up_on <= removed_on <= berlin_date(at):
            raise InvalidCommand("removed_on", "must lie between putting the signs up and today")
        self._signs_removed(
            status=TrafficSignOrderStatus.COMPLETED, actor=record, at=at, removed_on=removed_on
        )

    class SignsRemoved(ChangesStatus):
        """The measure is over and the signs are gone."""

        class_version = 2
        upcast_v1_v2 = leads_to(TrafficSignOrderStatus.COMPLETED)
        actor: ActorRecord
        at: datetime
        removed_on: date

    @event(SignsRemoved)
    def _signs_removed(
        self, *, actor: ActorRecord, at: datetime, removed_on: date, status: str
    ) -> None:
        self.signs_removed_on = removed_on
        self.status = status
        self.last_activity_at = at

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """The hearings, the set-up day the order names, and what was reported."""
        decision = self.decision
        return {
            "authority_hearings": [h.as_terms() for h in self.authority_hearings],
            "signs_up_by": signs_up_by(decision) if decision and decision.particulars else None,
            "signs_up_on": self.signs_up_on,
            "signs_up_at": self.signs_up_at,
            "signs_up_in_time": self.signs_up_in_time,
            "parked_vehicles": self.parked_vehicles,
            "parked_plates": list(self.parked_plates),
            "towing_costs_from": self.towing_costs_from,
            "signs_removed_on": self.signs_removed_on,
        }

    def check_closable(self, at: datetime) -> None:
        """Close once completed, after a refusal, or when an unused order ended."""
        self.check_no_approval_in_force(
            at, "the order is in force: report the signs, or close after it ended"
        )


def _sign_setup(rules: RulesChoice) -> SignSetup | None:
    """The set-up rule the decision applies; an order recorded under the legacy count
    (two full days) replays by it."""
    try:
        return rules.by_decision_day(SIGN_SETUPS, SIGN_SETUP_RULES_ID)
    except UnknownRulesVersion:
        return rules.by_decision_day(LEGACY_SIGN_SETUPS, SIGN_SETUP_RULES_ID)


E = TypeVar("E", bound=StrEnum)


def _member(kind: type[E], value: Any, field: str) -> E:
    """The enum member named by ``value``, or the command refused on ``field``."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidCommand(field, f"must be one of {allowed}") from None


def signs_up_by(decision: Decision) -> date:
    """The set-up day an order names (stored as a date; read back as one)."""
    value = decision.particulars["signs_up_by"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class AuthorityHearingRecord(CommandBody):
    """The police or the road authority was heard on this day and answered so."""

    authority: HeardAuthority
    heard_on: date
    response: HearingResponse
    remarks: str | None = Field(default=None, max_length=2000)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "authority": "police",
                    "heard_on": "2026-03-04",
                    "response": "consented_with_conditions",
                    "remarks": "Zufahrt für Rettungsfahrzeuge freihalten.",
                }
            ]
        },
    )


class SignsUp(CommandBody):
    """The set-up report: the signs stand since this day; the vehicles parked in the zone then."""

    signs_up_on: date
    signs_up_at: time | None = Field(default=None, description="Time of day the signs went up")
    parked_vehicles: int | None = Field(
        default=None,
        description="Vehicles already parked in the zone at set-up (defaults to the plates "
        "given; leave out if not recorded)",
    )
    parked_plates: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=list,
        max_length=MAX_PARKED_VEHICLES,
        description="Their number plates, if noted, e.g. 'HG-AB 123'",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "signs_up_on": "2026-03-20",
                    "signs_up_at": "07:30",
                    "parked_vehicles": 2,
                    "parked_plates": ["HG-AB 123"],
                }
            ]
        },
    )


class SignsRemoved(CommandBody):
    """The measure is over; the signs were taken down on this day."""

    removed_on: date

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"removed_on": "2026-03-25"}]}
    )


STEPS: Final = Steps(
    "traffic sign order",
    (
        Step(
            name="record_authority_hearing",
            path="/{case_id}/authority-hearings",
            summary="Traffic sign order: record the hearing of the police or the road authority",
            description="During review; both are heard before an order (VwV-StVO zu § 45 "
            "Abs. 1 bis 1e, Nr. I): an approval is refused until they were.",
            roles=(Role.CLERK, Role.SUPERVISOR),
            body=AuthorityHearingRecord,
            aggregate=TrafficSignOrder,
        ),
        Step(
            name="report_signs_up",
            path="/{case_id}/signs-up",
            summary="Traffic sign order: the signs are up",
            description="Under an order in force; recorded as in time when by the day the "
            "order names, with the vehicles already parked and the day from which towing costs "
            "may be charged for them (the fourth after the set-up, BVerwG 3 C 25.16).",
            roles=(Role.APPLICANT, Role.CLERK, Role.SUPERVISOR),
            body=SignsUp,
            aggregate=TrafficSignOrder,
        ),
        Step(
            name="report_signs_removed",
            path="/{case_id}/signs-removed",
            summary="Traffic sign order: completed, signs removed",
            description="Not before the signs went up, not in the future; the file can then "
            "be closed.",
            roles=(Role.APPLICANT, Role.CLERK, Role.SUPERVISOR),
            body=SignsRemoved,
            aggregate=TrafficSignOrder,
        ),
    ),
)

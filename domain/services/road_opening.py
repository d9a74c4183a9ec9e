"""The road opening permit (Aufgrabungsgenehmigung / Aufbruch einer Straße).

A utility or its contractor asks to open a public road for works on gas, water, sewer,
power, telecom or district-heating lines. After approval the works start and finish, the
restoration of the road surface is inspected (accepted, or defects with a deadline and a
re-inspection), and a warranty period runs before the file is closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import event
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Actor, ActorRecord
from domain.authorities import RemedyKind, RemedyNotice
from domain.case import Case, ChangesStatus, DecisionTerms, leads_to
from domain.case_charges import SPECIAL_USE_FEE, ChargeLine
from domain.case_steps import STAFF
from domain.case_timers import PERMIT_EXPIRED
from domain.commands import Acting, CommandBody, SharedAggregates, ShortText, Step, Steps, Text
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.inspections import InspectionReport, Inspections
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalValue
from domain.personal_fields import ContractorPersonal, Personal
from domain.rules.road_opening import (
    DEPOSIT_RULES_ID,
    DEPOSITS,
    EMERGENCY_REPORTING,
    EMERGENCY_RULES_ID,
    EXTENSION_FEES,
    FEE_RULES_ID,
    FEE_TARIFFS,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    REGIME_RULES_ID,
    REGIMES,
    SPECIAL_USE_FEE_RULES_ID,
    SPECIAL_USE_FEES,
    WARRANTIES,
    Regime,
    lead_time_not_applied,
)
from domain.rules.versions import RulesChoice, UnknownRulesVersion, by_version, in_force
from domain.services.forms import Email, Form, Name, Period, Phone
from domain.services.traffic_sign_order import Reason as OrderReason
from domain.services.traffic_sign_order import TrafficSignOrder
from domain.timers import TIMER_KINDS, Addressee, Due, Fires, Notice, TimerKind
from domain.working_days import berlin_date

SERVICE_ID = "road-opening"
EVENT_LABELS: Final = {
    "WorksStarted": ("Arbeiten begonnen", "Works started"),
    "WorksCompleted": ("Arbeiten beendet", "Works completed"),
    "RestorationInspected": ("Wiederherstellung geprüft", "Restoration inspected"),
    "PermitExtended": ("Erlaubnis verlängert", "Permit extended"),
    "SecurityDepositTaken": ("Sicherheitsleistung erhalten", "Security deposit taken"),
    "SecurityDepositReleased": ("Sicherheitsleistung freigegeben", "Security deposit released"),
    "SignOrderLinked": (
        "Verkehrsrechtliche Anordnung verknüpft",
        "Traffic sign order linked",
    ),
}
SPECIAL_USE_FEE_BASIS: Final = "§ 18 HStrG i. V. m. der Sondernutzungssatzung der Gemeinde"
CIVIL_LAW_NOTICE_VERSION: Final = "2026-12"
CIVIL_LAW_NOTICE: Final = (
    "Hinweis: Die Gestattung nach § 20 Abs. 1 HStrG ist eine bürgerlich-rechtliche Erklärung "
    "der Gemeinde als Eigentümerin der Straße, kein Verwaltungsakt; ein Widerspruch findet "
    "nicht statt. Für Streitigkeiten sind die ordentlichen Gerichte zuständig (§ 13 GVG)."
)
# Acceptances stored before the warranty rule was recorded are read with this version.
CORRECTED_WARRANTY_VERSION: Final = "2026-12"


class Purpose(StrEnum):
    """What the road is opened for."""

    GAS = "gas"
    WATER = "water"
    SEWER = "sewer"
    POWER = "power"
    TELECOM = "telecom"
    DISTRICT_HEATING = "district_heating"
    OTHER = "other"


class Coordinates(Form):
    """A point in WGS84."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Site(Form):
    """Where the road is opened."""

    street: Name
    house_number: Personal[Annotated[str, StringConstraints(max_length=20)]] | None = None
    location_description: Personal[Name] | None = Field(
        default=None, description="e.g. 'Gehweg vor dem Grundstück, Nordseite'"
    )
    coordinates: Coordinates | None = None


class Dimensions(Form):
    """The size of the opening in metres."""

    length_m: Decimal = Field(gt=0, le=5000, decimal_places=2)
    width_m: Decimal = Field(gt=0, le=50, decimal_places=2)
    depth_m: Decimal = Field(gt=0, le=20, decimal_places=2)


class PlannedPeriod(Period):
    """When the works are planned."""


class Contractor(Form):
    """The company doing the works, and whom to call on site."""

    company: Name
    contact_person: ContractorPersonal[Name]
    phone: ContractorPersonal[Phone]
    email: ContractorPersonal[Email]


class RoadOpeningApplication(Form):
    """What the form portal sends for a road opening permit."""

    site: Site
    dimensions: Dimensions
    planned_period: PlannedPeriod
    purpose: Purpose
    purpose_details: Personal[Name] | None = None
    contractor: Contractor
    traffic_management_needed: bool = Field(
        description="The works affect traffic: they start only under a traffic sign order "
        "(§ 45 Abs. 6 StVO), linked to the permit by its reference"
    )
    emergency_works: bool = Field(
        default=False,
        description="Gefahr im Verzug (e.g. a burst main): the works started at once and are "
        "reported afterwards, within the reporting period, without the lead time; "
        "planned_period.start is the day they started",
    )
    emergency_reason: Personal[Name] | None = Field(
        default=None, description="Why the works could not wait (emergency works only)"
    )

    def check_lead_time(self, submitted_on: date) -> None:
        """The planned start lies at least the lead time after submission; emergency works
        are reported within the reporting period after they started, with their reason."""
        start = self.planned_period.start
        if self.emergency_works:
            if not self.emergency_reason:
                raise InvalidCommand("data.emergency_reason", "emergency works need their reason")
            rule = in_force(EMERGENCY_REPORTING, submitted_on)
            rule.check(submitted_on, start, "data.planned_period.start")
            return
        if self.emergency_reason:
            raise InvalidCommand("data.emergency_reason", "only emergency works give a reason")
        in_force(LEAD_TIMES, submitted_on).check(submitted_on, start, "data.planned_period.start")


def example(on: date) -> dict[str, Any]:
    """An application that is valid when submitted on this day (it respects the lead time)."""
    start = in_force(LEAD_TIMES, on).earliest_start(on) + timedelta(days=7)
    return {
        "site": {
            "street": "Weilburger Straße",
            "house_number": "14",
            "location_description": "Gehweg vor dem Grundstück, Nordseite",
            "coordinates": {"latitude": 50.3369, "longitude": 8.5361},
        },
        "dimensions": {"length_m": "6.50", "width_m": "0.80", "depth_m": "1.20"},
        "planned_period": {
            "start": start.isoformat(),
            "end": (start + timedelta(days=11)).isoformat(),
        },
        "purpose": "other",  # e.g. the foundation pit of a crane's standing area: special use
        "contractor": {
            "company": "Tiefbau Hochtaunus GmbH",
            "contact_person": "Jörg Brenner",
            "phone": "06081 98765",
            "email": "bauleitung@tiefbau-hochtaunus.example",
        },
        "traffic_management_needed": False,
    }


class DepositForm(StrEnum):
    """How a security deposit is given: paid in cash, or a bank's guarantee (Bürgschaft)."""

    CASH = "cash"
    BANK_GUARANTEE = "bank_guarantee"


@dataclass(frozen=True, slots=True)
class PermitExtension:
    """The permit's validity extended to a new last day (under the decision of that number)."""

    extended_to: date
    decision_number: int
    fee: Decimal | None
    special_use_fee: Decimal | None = None


@dataclass(frozen=True, slots=True)
class HeldDeposit:
    """A security deposit taken and held."""

    amount: Decimal
    form: str
    received_on: date


@dataclass(frozen=True, slots=True)
class SignOrderLink:
    """The traffic sign order the works start under (§ 45 (6) StVO), as it stood when linked."""

    reference: str
    case_id: UUID
    valid_from: date
    valid_until: date | None


def sign_order_problem(order: TrafficSignOrder, tenant: str, day: date | None) -> str | None:
    """Why this traffic sign order does not let works start (on ``day``), or None.

    It must be the town's own, ordered for building works (§ 45 (6) StVO: the order on how
    traffic is restricted for works in the road; an order for a move, a delivery or an event
    under § 45 (1) StVO does not cover them), ordered (an approval), notified (so in effect,
    § 43 HVwVfG), neither withdrawn nor closed nor over (its signs removed), and in force on
    the day the works start.
    """
    if order.tenant != tenant:
        return "is another town's"
    reason = str(order.application.reason)
    if reason != OrderReason.BUILDING_WORKS:
        return f"was ordered for {reason!r}, not for building works (§ 45 Abs. 6 StVO)"
    if order.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED) or order.withdrawn:
        return f"is {order.status}"
    if order.signs_removed_on is not None:
        return f"is over: its signs were removed on {order.signs_removed_on}"
    decision = order.decision
    if decision is None:
        return "is not decided yet"
    if not decision.outcome.is_approval:
        return "was refused"
    if order.notified_on is None:
        return "is not issued yet (not notified)"
    first, last = order_period(order)
    if day is not None and not first <= day <= last:
        return f"covers {first} to {last}, not {day}"
    return None


def order_period(order: TrafficSignOrder) -> tuple[date, date]:
    """The days the order's signs regulate traffic: its period, while the order is in force."""
    decision = order.current_decision()
    period = order.application.period
    last = min(period.end, decision.expires_on) if decision.expires_on else period.end
    return max(period.start, decision.effective_from), last


class RoadOpeningStatus:
    """Statuses after approval."""

    WORKS_STARTED = "works_started"
    WORKS_COMPLETED = "works_completed"
    RESTORATION_DEFECTIVE = "restoration_defective"
    WARRANTY_RUNNING = "warranty_running"


class RoadOpeningPermit(Case):
    """A road opening permit: the shared lifecycle plus works, inspection and warranty."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    # The regime follows the purpose (``domain/rules/road_opening.py``, ``REGIMES``): special
    # use at the authority's discretion (§ 16 (1) HStrG) unless the case says otherwise
    # (``discretion_under``); the decision's fee is the administrative fee under the town's
    # Verwaltungskostensatzung, the Sondernutzungsgebühr (§ 18 HStrG) is assessed beside it.
    DISCRETION_UNDER: ClassVar[str | None] = "§ 16 Abs. 1 HStrG"
    FEE_DEBT_ARISES_ON: ClassVar[str] = "decision"
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a road opening permit"
    # A contractor billed to their business customer account pays before the permit issues.
    PREPAID_BY_BUSINESS_CUSTOMERS: ClassVar[bool] = True
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "WorksStarted": ("works_started", "Road opening: the works started."),
        "WorksCompleted": ("works_completed", "Road opening: the works were completed."),
        "RestorationInspected": (
            "restoration_inspected",
            "Road opening: the restored surface was inspected.",
        ),
        "PermitExtended": (
            "permit_extended",
            "Road opening: the permit was extended to a later last day.",
        ),
        "SecurityDepositTaken": (
            "security_deposit_taken",
            "Road opening: the security deposit (cash or a bank guarantee) was received.",
        ),
        "SecurityDepositReleased": (
            "security_deposit_released",
            "Road opening: the security deposit was released, in full or less an amount "
            "retained for open defects.",
        ),
        "SignOrderLinked": (
            "traffic_sign_order_linked",
            "Road opening: the traffic sign order the works start under (§ 45 (6) StVO) was "
            "linked by its reference.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # The permit favours its holder and takes effect on notification: works may start
            # while the objection period still runs (an objection by a third party would
            # have to be handled outside this lifecycle).
            # The traffic sign order is linked until the works start (emergency works: after).
            CaseStatus.SUBMITTED: {"link_traffic_sign_order"},
            CaseStatus.IN_REVIEW: {"link_traffic_sign_order"},
            CaseStatus.INFORMATION_REQUESTED: {"link_traffic_sign_order"},
            CaseStatus.DECIDED: {"link_traffic_sign_order", "take_security_deposit"},
            CaseStatus.NOTIFIED: {
                "start_works",
                "extend_permit",
                "link_traffic_sign_order",
                "take_security_deposit",
                "release_security_deposit",
            },
            CaseStatus.FINAL: {
                "start_works",
                "extend_permit",
                "link_traffic_sign_order",
                "take_security_deposit",
                "release_security_deposit",
            },
            RoadOpeningStatus.WORKS_STARTED: {
                "complete_works",
                "extend_permit",
                "link_traffic_sign_order",
                "take_security_deposit",
            },
            RoadOpeningStatus.WORKS_COMPLETED: {"inspect_restoration", "take_security_deposit"},
            RoadOpeningStatus.RESTORATION_DEFECTIVE: {
                "inspect_restoration",
                "take_security_deposit",
            },
            RoadOpeningStatus.WARRANTY_RUNNING: {"close", "release_security_deposit"},
            # A deposit taken before the application was withdrawn goes back before the close.
            CaseStatus.WITHDRAWN: {"release_security_deposit"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.works_started_on: date = date.min
        self.works_completed_on: date = date.min
        self.restoration = Inspections()
        self.warranty_until: date | None = None
        self.warranty_rules: RulesApplied | None = None
        self.extensions: tuple[PermitExtension, ...] = ()
        self.deposit: HeldDeposit | None = None
        self.deposits_released: tuple[dict[str, Any], ...] = ()
        self.sign_order: SignOrderLink | None = None

    # ----------------------------------------------------------------- regime

    def regime_applied_for(self) -> Regime:
        """The regime the purpose gives, by the table in force on the day of submission."""
        table = in_force(REGIMES, berlin_date(self.submitted_at))
        return table.regime_for(str(self.application.purpose))

    @property
    def decided_regime(self) -> Regime:
        """The regime the decision in force recorded (before regimes: special use)."""
        decision = self.decision
        for rules in decision.rules if decision is not None else ():
            if rules.rules_id == REGIME_RULES_ID:
                return Regime(rules.inputs["regime"])
        return Regime.SPECIAL_USE

    def discretion_under(self) -> str | None:
        """Discretion only for special use (§ 16 (1) HStrG); the consent under § 127 TKG is
        bound, and a permission under civil law states no administrative considerations."""
        return self.DISCRETION_UNDER if self.regime_applied_for() is Regime.SPECIAL_USE else None

    def decision_remedy_notice(self) -> RemedyNotice:
        """A permission under civil law (§ 20 (1) HStrG) carries a note on the civil courts
        instead of a remedy notice; the others the town's notice."""
        if self.regime_applied_for() is Regime.CIVIL_LAW_PERMISSION:
            return RemedyNotice(
                RemedyKind.ACTION,
                CIVIL_LAW_NOTICE,
                "die ordentlichen Gerichte (§ 13 GVG)",
                CIVIL_LAW_NOTICE_VERSION,
            )
        return super().decision_remedy_notice()

    def objection_available(self) -> bool:
        """No objection against a permission under civil law: it is no administrative act."""
        return self.decided_regime is not Regime.CIVIL_LAW_PERMISSION

    def effective_from_by_default(self, outcome: DecisionOutcome, decided_on: date) -> date:
        """Emergency works (Gefahr im Verzug) are permitted afterwards, for the works done:
        the approval takes effect from the day they began (a favourable act with effect for
        the past), so works already finished when it is made are covered by it."""
        if outcome.is_approval and self.application.emergency_works:
            return min(self.planned_period_start, decided_on)
        return decided_on

    # --------------------------------------------------------------- decision

    def charge_lines(self, decision: Decision) -> tuple[ChargeLine, ...]:
        """The administrative fee, and the special use fee (§ 18 HStrG) on its own ledger."""
        lines = super().charge_lines(decision)
        use_fee = decision.particulars.get("special_use_fee") if lines else None
        if use_fee is None or Decimal(str(use_fee)) <= 0:
            return lines
        basis = str(decision.particulars.get("special_use_fee_legal_basis", SPECIAL_USE_FEE_BASIS))
        return (*lines, ChargeLine(SPECIAL_USE_FEE, Decimal(str(use_fee)), basis))

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms:
        """The lead time checked; an approval's fee by the tariff, valid until the planned end."""
        tariff = rules.by_fee_debt_day(FEE_TARIFFS, FEE_RULES_ID)
        lead_time = rules.by_submission_day(LEAD_TIMES, LEAD_TIME_RULES_ID)
        if lead_time is None:
            raise UnknownRulesVersion("the decision recorded no lead time")
        submitted_on = berlin_date(self.submitted_at)
        start = self.planned_period_start
        checks: tuple[RulesApplied, ...] = (lead_time.record(submitted_on, start),)
        if self.application.emergency_works:
            # Gefahr im Verzug: no lead time; the report came within the reporting period.
            reporting = rules.by_submission_day(EMERGENCY_REPORTING, EMERGENCY_RULES_ID)
            if reporting is None:
                raise UnknownRulesVersion("the decision recorded no reporting period")
            checks = (
                lead_time_not_applied(lead_time, submitted_on, start),
                reporting.record(submitted_on, start),
            )
        table = rules.by_submission_day(REGIMES, REGIME_RULES_ID)
        purpose = str(self.application.purpose)
        if table is not None:  # decisions before regimes were recorded were all special use
            checks = (*checks, table.record(purpose))
        regime = table.regime_for(purpose) if table is not None else Regime.SPECIAL_USE
        if regime is Regime.CIVIL_LAW_PERMISSION:
            tariff = None  # no administrative act: no fee under the Verwaltungskostensatzung
        elif tariff is None:
            return DecisionTerms(expires_on=None, fee=None, rules=checks)
        if not outcome.is_approval:
            return DecisionTerms(expires_on=None, fee=None, rules=checks)
        dimensions = self.application.dimensions
        fee: Decimal | None = None
        recorded: tuple[RulesApplied, ...] = checks
        if tariff is not None:
            fee, assessed = tariff.assess(dimensions.length_m, dimensions.width_m)
            recorded = (assessed, *checks)
        particulars: dict[str, Any] = {}
        last_day = expires_on or self.planned_period_end
        special = rules.by_decision_day(SPECIAL_USE_FEES, SPECIAL_USE_FEE_RULES_ID)
        if regime is Regime.SPECIAL_USE and table is not None and special is not None:
            # § 18 HStrG: the Sondernutzungsgebühr, separate from the administrative fee.
            use_fee, use_record = special.assess(
                dimensions.length_m, dimensions.width_m, self.planned_period_start, last_day
            )
            particulars["special_use_fee"] = str(use_fee)
            particulars["special_use_fee_legal_basis"] = SPECIAL_USE_FEE_BASIS
            recorded = (*recorded, use_record)
        deposit = rules.by_decision_day(DEPOSITS, DEPOSIT_RULES_ID)
        if deposit is not None:  # decisions before the deposit rule required none
            amount, deposit_record = deposit.assess(dimensions.length_m, dimensions.width_m)
            particulars["security_deposit"] = str(amount)
            recorded = (*recorded, deposit_record)
        return DecisionTerms(expires_on=last_day, fee=fee, rules=recorded, particulars=particulars)

    @property
    def application(self) -> RoadOpeningApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return RoadOpeningApplication.stored(self.data)

    @property
    def planned_period_start(self) -> date:
        """The planned first day of works."""
        return self.application.planned_period.start

    @property
    def planned_period_end(self) -> date:
        """The planned last day of works."""
        return self.application.planned_period.end

    # ------------------------------------------------------------------ works

    def start_works(
        self,
        *,
        actor: Actor,
        at: datetime,
        started_on: date,
        sign_order: TrafficSignOrder | None = None,
    ) -> None:
        """The contractor reported the start of works (only under an approval in force).

        The permit's validity counts with its extensions. Before the works start, a required
        security deposit was taken, and works that affect traffic have a linked traffic sign
        order in force that day (§ 45 (6) StVO). Emergency works (Gefahr im Verzug) started
        before the permit was granted: they are recorded from the day reported, and deposit
        and sign order follow afterwards.
        """
        record = self._begin("start_works", actor, at)
        decision = replace(self.current_decision(), expires_on=self.valid_until)
        emergency = self.application.emergency_works
        if emergency:
            decision = replace(decision, effective_from=self.planned_period_start, notified_on=None)
        decision.check_step_under(
            started_on,
            today=berlin_date(at),
            field="started_on",
            refused="the application was rejected; no works may start",
            too_early=(
                "emergency works started on the day reported, not before"
                if emergency
                else "works cannot start before the permit is effective"
            ),
            ended="the permit expired on",
        )
        if not emergency:
            self._check_deposit_taken()
            if self.application.traffic_management_needed:
                self._check_sign_order(sign_order, started_on)
        self._works_started(
            status=RoadOpeningStatus.WORKS_STARTED, actor=record, at=at, started_on=started_on
        )

    def _check_deposit_taken(self) -> None:
        required = self.deposit_required
        if required and self.deposit is None:
            raise InvalidCommand(
                "security_deposit",
                f"the permit requires a security deposit of {required} EUR before the works "
                "start: take it first",
            )

    def _check_sign_order(self, order: TrafficSignOrder | None, started_on: date) -> None:
        link = self.sign_order
        if link is None or order is None or order.id != link.case_id:
            raise InvalidCommand(
                "traffic_sign_order",
                "the works affect traffic: they start only under a traffic sign order "
                "(§ 45 Abs. 6 StVO); link it by its reference first",
            )
        problem = sign_order_problem(order, self.tenant, started_on)
        if problem is not None:
            raise InvalidCommand(
                "traffic_sign_order", f"the traffic sign order {link.reference} {problem}"
            )

    class WorksStarted(ChangesStatus):
        """The contractor reported the start of works."""

        class_version = 2
        upcast_v1_v2 = leads_to(RoadOpeningStatus.WORKS_STARTED)
        actor: ActorRecord
        at: datetime
        started_on: date

    @event(WorksStarted)
    def _works_started(
        self, *, actor: ActorRecord, at: datetime, started_on: date, status: str
    ) -> None:
        self.works_started_on = started_on
        self.status = status
        self.last_activity_at = at

    def complete_works(self, *, actor: Actor, at: datetime, completed_on: date) -> None:
        """The contractor reported the works and the restoration complete."""
        record = self._begin("complete_works", actor, at)
        if completed_on < self.works_started_on:
            raise InvalidCommand("completed_on", "works cannot end before they started")
        if completed_on > berlin_date(at):
            raise InvalidCommand("completed_on", "must not lie in the future")
        self._works_completed(
            status=RoadOpeningStatus.WORKS_COMPLETED, actor=record, at=at, completed_on=completed_on
        )

    class WorksCompleted(ChangesStatus):
        """The contractor reported the works and the restoration complete."""

        class_version = 2
        upcast_v1_v2 = leads_to(RoadOpeningStatus.WORKS_COMPLETED)
        actor: ActorRecord
        at: datetime
        completed_on: date

    @event(WorksCompleted)
    def _works_completed(
        self, *, actor: ActorRecord, at: datetime, completed_on: date, status: str
    ) -> None:
        self.works_completed_on = completed_on
        self.status = status
        self.last_activity_at = at

    def inspect_restoration(
        self,
        *,
        actor: Actor,
        at: datetime,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
    ) -> None:
        """Inspect the restored surface: accepted (warranty starts) or defects with a deadline."""
        record = self._begin("inspect_restoration", actor, at)
        inspection = self._inspection(
            self.restoration,
            at=at,
            inspected_on=inspected_on,
            ready_on=self.works_completed_on,
            defects=defects,
            remedy_by=remedy_by,
        )
        # The warranty runs from the acceptance by the rule in force that day (§§ 187, 188 BGB).
        warranty = None if inspection.defects else in_force(WARRANTIES, inspected_on)
        self._restoration_inspected(
            actor=record,
            at=at,
            inspected_on=inspected_on,
            defects=list(inspection.defects),
            remedy_by=remedy_by,
            warranty_until=warranty.last_day(inspected_on) if warranty else None,
            rules=warranty.record(inspected_on) if warranty else None,
            status=RoadOpeningStatus.RESTORATION_DEFECTIVE
            if inspection.defects
            else RoadOpeningStatus.WARRANTY_RUNNING,
        )

    class RestorationInspected(ChangesStatus):
        """The restored surface was inspected: accepted (warranty runs) or defective.

        Version 3 records the warranty rule applied. Acceptances stored before (versions 1
        and 2) counted five years to the day before the same date, a day short of § 188 (2)
        BGB; they are read with the warranty end the law gives, and the rule they are read
        with records the day they stored (``recorded_as``): the end of the warranty follows
        from the agreed five years and the day of acceptance, it was never a clerk's choice.
        """

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            defective = bool(state["defects"])
            state["status"] = (
                RoadOpeningStatus.RESTORATION_DEFECTIVE
                if defective
                else RoadOpeningStatus.WARRANTY_RUNNING
            )

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            stored = state["warranty_until"]
            if stored is None:
                state["rules"] = None
                return
            rule = by_version(WARRANTIES, CORRECTED_WARRANTY_VERSION)
            state["warranty_until"] = rule.last_day(state["inspected_on"])
            state["rules"] = rule.record(state["inspected_on"], recorded_as=stored)

        actor: ActorRecord
        at: datetime
        inspected_on: date
        defects: list[PersonalValue]
        remedy_by: date | None
        warranty_until: date | None
        rules: RulesApplied | None

    @event(RestorationInspected)
    def _restoration_inspected(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        inspected_on: date,
        defects: list[PersonalValue],
        remedy_by: date | None,
        warranty_until: date | None,
        rules: RulesApplied | None,
        status: str,
    ) -> None:
        self.restoration = self.restoration.recorded(inspected_on, defects, remedy_by)
        self.warranty_until = warranty_until
        self.warranty_rules = rules
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------------------- extension

    def validity_ends_on(self) -> date | None:
        """The permit's last day after extensions (``valid_until``), once notified."""
        return self.valid_until if self.notified_on is not None else None

    def validity_ended_otherwise(self) -> bool:
        """Works reported complete used the permit: the warranty follows, not expiry."""
        return self.works_completed_on != date.min

    @property
    def valid_until(self) -> date | None:
        """The permit's last day: the decision's, or the latest extension of this decision."""
        decision = self.decision
        if decision is None or not decision.outcome.is_approval:
            return None
        number = len(self.decisions)
        extended = [e.extended_to for e in self.extensions if e.decision_number == number]
        return extended[-1] if extended else decision.expires_on

    def extend_permit(self, *, actor: Actor, at: datetime, extended_to: date, reason: str) -> None:
        """Extend the permit to a later last day, while it is in force and the works go on.

        An amendment of the permit (§ 49 HVwVfG does not apply: it favours the holder and
        is applied for); its administrative fee comes from the tariff in force that day.
        Refused once the permit expired (a new permit is needed) or the works are completed.
        """
        record = self._begin("extend_permit", actor, at)
        decision = self.current_decision()
        if not decision.outcome.is_approval:
            raise InvalidCommand("decision", "the application was rejected; there is no permit")
        valid_until = self.valid_until
        if valid_until is None:  # an approval always has a last day
            raise InvalidCommand("decision", "the permit has no last day to extend")
        today = berlin_date(at)
        if today > valid_until:
            raise InvalidCommand(
                "extended_to", f"the permit expired on {valid_until}: apply for a new one"
            )
        if extended_to <= valid_until:
            raise InvalidCommand(
                "extended_to", f"must lie after the permit's last day, {valid_until}"
            )
        text = self._case_text(reason, "reason")
        fee: Decimal | None = None
        rules: RulesApplied | None = None
        if self.decided_regime is not Regime.CIVIL_LAW_PERMISSION:
            fee, rules = in_force(EXTENSION_FEES, today).assess(valid_until, extended_to)
        use_fee: Decimal | None = None
        use_rules: RulesApplied | None = None
        if self.decided_regime is Regime.SPECIAL_USE and "special_use_fee" in decision.particulars:
            # § 18 HStrG: the added days are special use too; their Sondernutzungsgebühr by
            # the town's tariff in force on the day of the extension (weeks started, minimum).
            dimensions = self.application.dimensions
            use_fee, use_rules = in_force(SPECIAL_USE_FEES, today).assess(
                dimensions.length_m,
                dimensions.width_m,
                valid_until + timedelta(days=1),
                extended_to,
            )
        self._permit_extended(
            actor=record,
            at=at,
            extended_from=valid_until,
            extended_to=extended_to,
            reason=text,
            fee=fee,
            rules=rules,
            special_use_fee=use_fee,
            special_use_rules=use_rules,
            decision_number=len(self.decisions),
        )

    class PermitExtended(Case.Event):
        """The permit's validity was extended to a new last day, with its administrative fee
        and, for special use, the Sondernutzungsgebühr of the added days (§ 18 HStrG).

        Version 2 added the Sondernutzungsgebühr; extensions stored before assessed none.
        """

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["special_use_fee"] = None
            state["special_use_rules"] = None

        actor: ActorRecord
        at: datetime
        extended_from: date
        extended_to: date
        reason: PersonalValue
        fee: Decimal | None
        rules: RulesApplied | None
        special_use_fee: Decimal | None
        special_use_rules: RulesApplied | None
        decision_number: int

    @event(PermitExtended)
    def _permit_extended(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        extended_from: date,
        extended_to: date,
        reason: PersonalValue,
        fee: Decimal | None,
        rules: RulesApplied | None,
        special_use_fee: Decimal | None,
        special_use_rules: RulesApplied | None,
        decision_number: int,
    ) -> None:
        self.extensions = (
            *self.extensions,
            PermitExtension(extended_to, decision_number, fee, special_use_fee),
        )
        self.last_activity_at = at

    # ------------------------------------------------------- security deposit

    @property
    def deposit_required(self) -> Decimal:
        """The security deposit the permit in force requires (0: none)."""
        decision = self.decision
        if decision is None or not decision.outcome.is_approval:
            return Decimal(0)
        return Decimal(str(decision.particulars.get("security_deposit", "0")))

    def take_security_deposit(
        self,
        *,
        actor: Actor,
        at: datetime,
        amount: Decimal,
        form: DepositForm,
        received_on: date,
    ) -> None:
        """Record the security deposit (cash or a bank guarantee) the permit requires."""
        record = self._begin("take_security_deposit", actor, at)
        required = self.deposit_required
        if not required:
            raise InvalidCommand("amount", "the permit requires no security deposit")
        if self.deposit is not None:
            raise InvalidCommand(
                "amount",
                f"a deposit of {self.deposit.amount} EUR is held since {self.deposit.received_on}",
            )
        if amount < required:
            raise InvalidCommand("amount", f"the permit requires {required} EUR")
        if received_on > berlin_date(at):
            raise InvalidCommand("received_on", "must not lie in the future")
        if received_on < berlin_date(self.current_decision().decided_at):
            raise InvalidCommand("received_on", "must not lie before the permit was granted")
        self._security_deposit_taken(
            actor=record,
            at=at,
            amount=amount,
            form=DepositForm(form).value,
            received_on=received_on,
        )

    class SecurityDepositTaken(Case.Event):
        """The security deposit was received (cash, or a bank guarantee)."""

        actor: ActorRecord
        at: datetime
        amount: Decimal
        form: str
        received_on: date

    @event(SecurityDepositTaken)
    def _security_deposit_taken(
        self, *, actor: ActorRecord, at: datetime, amount: Decimal, form: str, received_on: date
    ) -> None:
        self.deposit = HeldDeposit(amount, form, received_on)
        self.last_activity_at = at

    def release_security_deposit(
        self,
        *,
        actor: Actor,
        at: datetime,
        released_on: date,
        retained: Decimal = Decimal(0),
        reason: str | None = None,
    ) -> None:
        """Release the deposit once the restoration was accepted, keeping what open defects
        cost (with the reason); or once an unused permit expired."""
        record = self._begin("release_security_deposit", actor, at)
        held = self.deposit
        if held is None:
            raise InvalidCommand("security_deposit", "no security deposit is held")
        if self.status == RoadOpeningStatus.WARRANTY_RUNNING:
            ready_on = self.inspections[-1]
        elif self.status == CaseStatus.WITHDRAWN:
            ready_on = held.received_on
        else:
            valid_until = self.valid_until
            if valid_until is not None and berlin_date(at) <= valid_until:
                raise InvalidCommand(
                    "status",
                    "the deposit is released once the restoration was accepted, or after "
                    f"an unused permit expired ({valid_until})",
                )
            ready_on = valid_until + timedelta(days=1) if valid_until else held.received_on
        if released_on < max(ready_on, held.received_on):
            raise InvalidCommand(
                "released_on", f"must not lie before {max(ready_on, held.received_on)}"
            )
        if released_on > berlin_date(at):
            raise InvalidCommand("released_on", "must not lie in the future")
        if not Decimal(0) <= retained <= held.amount:
            raise InvalidCommand("retained", f"must lie between 0 and the {held.amount} EUR held")
        if retained and not (reason and reason.strip()):
            raise InvalidCommand("reason", "say why part of the deposit is retained")
        self._security_deposit_released(
            actor=record,
            at=at,
            released_on=released_on,
            released=held.amount - retained,
            retained=retained,
            reason=self._case_text(reason, "reason") if reason and reason.strip() else None,
        )

    class SecurityDepositReleased(Case.Event):
        """The deposit was released, in full or less what open defects cost."""

        actor: ActorRecord
        at: datetime
        released_on: date
        released: Decimal
        retained: Decimal
        reason: PersonalValue | None

    @event(SecurityDepositReleased)
    def _security_deposit_released(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        released_on: date,
        released: Decimal,
        retained: Decimal,
        reason: PersonalValue | None,
    ) -> None:
        self.deposit = None
        self.deposits_released = (
            *self.deposits_released,
            {"released_on": released_on, "released": released, "retained": retained},
        )
        self.last_activity_at = at

    # ------------------------------------------------------ traffic sign order

    def link_traffic_sign_order(
        self, *, actor: Actor, at: datetime, order: TrafficSignOrder
    ) -> None:
        """Link the traffic sign order the works start under (§ 45 (6) StVO).

        The contractor obtains the road traffic authority's order before works that affect
        traffic start; the permit names it by its case reference. It must be the town's,
        ordered and notified, neither withdrawn nor closed; whether it is in force on the day
        the works start is checked then.
        """
        record = self._begin("link_traffic_sign_order", actor, at)
        if not self.application.traffic_management_needed:
            raise InvalidCommand("reference", "the application needs no traffic management")
        problem = sign_order_problem(order, self.tenant, None)
        if problem is not None:
            raise InvalidCommand("reference", f"the traffic sign order {order.reference} {problem}")
        valid_from, valid_until = order_period(order)
        self._sign_order_linked(
            actor=record,
            at=at,
            reference=order.reference,
            order_id=order.id,
            valid_from=valid_from,
            valid_until=valid_until,
        )

    class SignOrderLinked(Case.Event):
        """The traffic sign order the works start under, by reference, with its period."""

        actor: ActorRecord
        at: datetime
        reference: str
        order_id: UUID
        valid_from: date
        valid_until: date | None

    @event(SignOrderLinked)
    def _sign_order_linked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        reference: str,
        order_id: UUID,
        valid_from: date,
        valid_until: date | None,
    ) -> None:
        self.sign_order = SignOrderLink(reference, order_id, valid_from, valid_until)
        self.last_activity_at = at

    @property
    def inspections(self) -> list[date]:
        """The days the restoration was inspected, oldest first."""
        return self.restoration.dates

    @property
    def open_defects(self) -> tuple[PersonalValue, ...]:
        """What the latest inspection found wrong."""
        return self.restoration.open_defects

    @property
    def remedy_by(self) -> date | None:
        """The deadline for the open defects."""
        return self.restoration.remedy_by

    def service_state(self) -> dict[str, Any]:
        """Works, inspections and warranty."""
        return {
            "works_started_on": self.works_started_on
            if self.works_started_on != date.min
            else None,
            "works_completed_on": (
                self.works_completed_on if self.works_completed_on != date.min else None
            ),
            "inspections": list(self.inspections),
            "open_defects": list(self.open_defects),
            "remedy_by": self.remedy_by,
            "warranty_until": self.warranty_until,
            "warranty_rule": self.warranty_rules.version if self.warranty_rules else None,
            "emergency_works": bool(self.application.emergency_works),
            "regime": (
                self.decided_regime if self.decision is not None else self.regime_applied_for()
            ).value,
            "special_use_fee": (
                self.decision.particulars.get("special_use_fee") if self.decision else None
            ),
            "valid_until": self.valid_until,
            "extensions": [
                {"extended_to": e.extended_to, "fee": e.fee, "special_use_fee": e.special_use_fee}
                for e in self.extensions
            ],
            "security_deposit": {
                "required": self.deposit_required,
                "held": (
                    {
                        "amount": self.deposit.amount,
                        "form": self.deposit.form,
                        "received_on": self.deposit.received_on,
                    }
                    if self.deposit
                    else None
                ),
                "released": list(self.deposits_released),
            },
            "traffic_sign_order": (
                {
                    "reference": self.sign_order.reference,
                    "case_id": self.sign_order.case_id,
                    "valid_from": self.sign_order.valid_from,
                    "valid_until": self.sign_order.valid_until,
                }
                if self.sign_order
                else None
            ),
        }

    def check_closable(self, at: datetime) -> None:
        """Close after the warranty, after a rejection, or when an unused permit expired
        (extensions counted); never while a security deposit is held."""
        if self.deposit is not None:
            raise InvalidCommand(
                "security_deposit",
                f"a security deposit of {self.deposit.amount} EUR is held: release it first",
            )
        if self.status == RoadOpeningStatus.WARRANTY_RUNNING:
            if self.warranty_until is not None and berlin_date(at) <= self.warranty_until:
                raise InvalidCommand(
                    "warranty_until", f"the warranty runs until {self.warranty_until}"
                )
            return
        valid_until = self.valid_until
        if self.status == CaseStatus.FINAL and valid_until and berlin_date(at) <= valid_until:
            raise InvalidCommand(
                "status", "the permit is in force: report the works, or close after it expired"
            )


# ------------------------------------------------------------------- steps
# The request bodies keep the names the API has published them under (the events of the
# same names are ``RoadOpeningPermit.WorksStarted`` and so on, inside the aggregate).


class WorksStarted(CommandBody):
    """The contractor reported the start of works."""

    started_on: date


class WorksCompleted(CommandBody):
    """The contractor reported the works and restoration complete."""

    completed_on: date


class RestorationInspection(InspectionReport):
    """An inspection of the restored surface: no defects = accepted."""


class ExtendPermit(CommandBody):
    """A later last day for the permit, and why the works need it."""

    extended_to: date
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "extended_to": "2026-04-30",
                    "reason": "Felsvorkommen im Graben, Mehraufwand beim Leitungsbau",
                }
            ]
        },
    )


class SecurityDeposit(CommandBody):
    """The security deposit received: amount, cash or bank guarantee, the day received."""

    amount: Decimal = Field(gt=0, le=Decimal("10000000"), decimal_places=2)
    form: DepositForm
    received_on: date

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount": "1800.00", "form": "bank_guarantee", "received_on": "2026-03-16"}
            ]
        },
    )


class DepositRelease(CommandBody):
    """The deposit released: in full, or less an amount retained for open defects (why)."""

    released_on: date
    retained: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)
    reason: Text | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"released_on": "2026-06-02", "retained": "0.00"}]},
    )


class SignOrderReference(CommandBody):
    """The case reference of the traffic sign order, e.g. ``USI-2026-000012``."""

    reference: ShortText

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reference": "USI-2026-000012"}]}
    )


def linked_order(shared: SharedAggregates, permit: RoadOpeningPermit) -> TrafficSignOrder | None:
    """The traffic sign order linked to the permit, as it stands now (None if none)."""
    link = permit.sign_order
    if link is None:
        return None

    def gone(order_id: UUID) -> TrafficSignOrder:
        raise InvalidCommand("traffic_sign_order", f"the order {link.reference} is not stored")

    return shared.identified(TrafficSignOrder, link.case_id, gone)


def start_works(permit: RoadOpeningPermit, body: WorksStarted, acting: Acting) -> Sequence[Any]:
    """Start the works, with the linked traffic sign order as it stands today."""
    order = linked_order(acting.context, permit)
    permit.start_works(
        actor=acting.actor, at=acting.at, started_on=body.started_on, sign_order=order
    )
    return ()


def link_traffic_sign_order(
    permit: RoadOpeningPermit, body: SignOrderReference, acting: Acting
) -> Sequence[Any]:
    """Find the order by its reference (unknown: 422 naming ``reference``) and link it."""
    shared: SharedAggregates = acting.context
    order = shared.referenced(TrafficSignOrder, body.reference)
    permit.link_traffic_sign_order(actor=acting.actor, at=acting.at, order=order)
    return ()


STEPS: Final = Steps(
    "road opening",
    (
        Step(
            name="works_started",
            method="start_works",
            path="/{case_id}/works-started",
            summary="Road opening: works started",
            description="Only under an approval in force (extensions counted), not before it "
            "is effective or after it expired; a required security deposit taken first, and "
            "works that affect traffic under a linked traffic sign order in force that day "
            "(§ 45 (6) StVO). Emergency works were started before the permit and are recorded "
            "from the day reported.",
            roles=STAFF,
            body=WorksStarted,
            aggregate=RoadOpeningPermit,
            run=start_works,
        ),
        Step(
            name="extend_permit",
            path="/{case_id}/permit-extensions",
            summary="Road opening: extend the permit",
            description="A later last day, while the permit is in force and the works are not "
            "completed; the extension fee comes from the tariff.",
            roles=STAFF,
            body=ExtendPermit,
            aggregate=RoadOpeningPermit,
        ),
        Step(
            name="take_security_deposit",
            path="/{case_id}/security-deposit",
            summary="Road opening: security deposit received",
            description="Cash or a bank guarantee (Bürgschaft), at least the amount the permit "
            "requires; the works start only once it is held.",
            roles=STAFF,
            body=SecurityDeposit,
            aggregate=RoadOpeningPermit,
        ),
        Step(
            name="release_security_deposit",
            path="/{case_id}/security-deposit/release",
            summary="Road opening: release the security deposit",
            description="Once the restoration was accepted (or an unused permit expired): in "
            "full, or less an amount retained for open defects with the reason. The file "
            "closes only when no deposit is held.",
            roles=STAFF,
            body=DepositRelease,
            aggregate=RoadOpeningPermit,
        ),
        Step(
            name="link_traffic_sign_order",
            path="/{case_id}/traffic-sign-order",
            summary="Road opening: link the traffic sign order",
            description="By its case reference (e.g. USI-2026-000012): the town's order, "
            "issued and not withdrawn; works that affect traffic start only under it (§ 45 (6) "
            "StVO). An unknown reference is refused naming the field.",
            roles=STAFF,
            body=SignOrderReference,
            aggregate=RoadOpeningPermit,
            run=link_traffic_sign_order,
        ),
        Step(
            name="works_completed",
            method="complete_works",
            path="/{case_id}/works-completed",
            summary="Road opening: works completed",
            description="The works and the restoration of the surface are reported complete.",
            roles=STAFF,
            body=WorksCompleted,
            aggregate=RoadOpeningPermit,
        ),
        Step(
            name="inspect_restoration",
            path="/{case_id}/restoration-inspections",
            summary="Road opening: inspect the restoration",
            description="Accepted (no defects: the warranty runs) or defects with a deadline and "
            "re-inspection.",
            roles=STAFF,
            body=RestorationInspection,
            aggregate=RoadOpeningPermit,
        ),
    ),
)


# ------------------------------------------------------------------ timers
# Registered with the scheduler (domain/timers.py): the warranty ending and the permit's
# validity as extensions move it.

WARRANTY_ENDS: Final = TimerKind(
    name="road_opening_warranty_ends",
    summary="The warranty ends: the final inspection is due (a notice for the clerk).",
    fires=Fires.ON_THE_DAY,
    action=Notice(Addressee.ASSIGNEE),
)


@WARRANTY_ENDS.on(RoadOpeningPermit.RestorationInspected)
def _restoration_inspected(event: RoadOpeningPermit.RestorationInspected, due: Due) -> Due:
    # Accepted: the warranty runs until the day the versioned rule gave (§§ 187, 188 BGB);
    # defects found: nothing runs until the restoration is accepted.
    return Due(event.warranty_until) if event.warranty_until else Due()


WARRANTY_ENDS.ends_on(Case.Closed, Case.Withdrawn)
TIMER_KINDS.register(WARRANTY_ENDS)


@PERMIT_EXPIRED.on(RoadOpeningPermit.PermitExtended)
def _permit_extended(event: RoadOpeningPermit.PermitExtended, due: Due) -> Due:
    return Due(event.extended_to)


PERMIT_EXPIRED.ends_on(RoadOpeningPermit.WorksCompleted)  # used: the warranty follows

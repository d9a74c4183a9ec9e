"""The road opening permit (Aufgrabungsgenehmigung / Aufbruch einer Straße).

A utility or its contractor asks to open a public road for works on gas, water, sewer,
power, telecom or district-heating lines. After approval the works start and finish, the
restoration of the road surface is inspected (accepted, or defects with a deadline and a
re-inspection), and a warranty period runs before the file is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final

from eventsourcing.domain import event
from pydantic import Field, StringConstraints

from domain.actor import Actor, ActorRecord
from domain.case import Case, ChangesStatus, DecisionTerms, leads_to
from domain.case_steps import STAFF
from domain.commands import CommandBody, Step, Steps
from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.inspections import InspectionReport, Inspections
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalValue
from domain.personal_fields import ContractorPersonal, Personal
from domain.rules.road_opening import (
    FEE_RULES_ID,
    FEE_TARIFFS,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    WARRANTIES,
)
from domain.rules.versions import RulesChoice, UnknownRulesVersion, by_version, in_force
from domain.services.forms import Email, Form, Name, Period, Phone
from domain.working_days import berlin_date

SERVICE_ID = "road-opening"
EVENT_LABELS: Final = {
    "WorksStarted": ("Arbeiten begonnen", "Works started"),
    "WorksCompleted": ("Arbeiten beendet", "Works completed"),
    "RestorationInspected": ("Wiederherstellung geprüft", "Restoration inspected"),
}
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
    traffic_management_needed: bool

    def check_lead_time(self, submitted_on: date) -> None:
        """The planned start lies at least the lead time after submission."""
        rule = in_force(LEAD_TIMES, submitted_on)
        rule.check(submitted_on, self.planned_period.start, "data.planned_period.start")


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
        "purpose": "water",
        "contractor": {
            "company": "Tiefbau Hochtaunus GmbH",
            "contact_person": "Jörg Brenner",
            "phone": "06081 98765",
            "email": "bauleitung@tiefbau-hochtaunus.example",
        },
        "traffic_management_needed": True,
    }


class RoadOpeningStatus:
    """Statuses after approval."""

    WORKS_STARTED = "works_started"
    WORKS_COMPLETED = "works_completed"
    RESTORATION_DEFECTIVE = "restoration_defective"
    WARRANTY_RUNNING = "warranty_running"


class RoadOpeningPermit(Case):
    """A road opening permit: the shared lifecycle plus works, inspection and warranty."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    # Sondernutzung of a municipal road: granted at the authority's discretion (§ 16 (1) HStrG);
    # its fee arises with the permit (§ 18 HStrG with the town's Sondernutzungssatzung).
    DISCRETION_UNDER: ClassVar[str | None] = "§ 16 Abs. 1 HStrG"
    FEE_LEGAL_BASIS: ClassVar[str] = "§ 18 HStrG i. V. m. der Sondernutzungssatzung der Gemeinde"
    FEE_DEBT_ARISES_ON: ClassVar[str] = "decision"
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a road opening permit"
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "WorksStarted": ("works_started", "Road opening: the works started."),
        "WorksCompleted": ("works_completed", "Road opening: the works were completed."),
        "RestorationInspected": (
            "restoration_inspected",
            "Road opening: the restored surface was inspected.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            # The permit favours its holder and takes effect on notification: works may start
            # while the objection period still runs (an objection by a third party would
            # have to be handled outside this lifecycle).
            CaseStatus.NOTIFIED: {"start_works"},
            CaseStatus.FINAL: {"start_works"},
            RoadOpeningStatus.WORKS_STARTED: {"complete_works"},
            RoadOpeningStatus.WORKS_COMPLETED: {"inspect_restoration"},
            RoadOpeningStatus.RESTORATION_DEFECTIVE: {"inspect_restoration"},
            RoadOpeningStatus.WARRANTY_RUNNING: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.works_started_on: date = date.min
        self.works_completed_on: date = date.min
        self.restoration = Inspections()
        self.warranty_until: date | None = None
        self.warranty_rules: RulesApplied | None = None

    # --------------------------------------------------------------- decision

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
        lead_time_check = lead_time.record(submitted_on, self.planned_period_start)
        if not outcome.is_approval or tariff is None:
            return DecisionTerms(expires_on=None, fee=None, rules=(lead_time_check,))
        dimensions = self.application.dimensions
        fee, assessed = tariff.assess(dimensions.length_m, dimensions.width_m)
        return DecisionTerms(
            expires_on=expires_on or self.planned_period_end,
            fee=fee,
            rules=(assessed, lead_time_check),
        )

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

    def start_works(self, *, actor: Actor, at: datetime, started_on: date) -> None:
        """The contractor reported the start of works (only under an approval in force)."""
        record = self._begin("start_works", actor, at)
        self.current_decision().check_step_under(
            started_on,
            today=berlin_date(at),
            field="started_on",
            refused="the application was rejected; no works may start",
            too_early="works cannot start before the permit is effective",
            ended="the permit expired on",
        )
        self._works_started(
            status=RoadOpeningStatus.WORKS_STARTED, actor=record, at=at, started_on=started_on
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
        }

    def check_closable(self, at: datetime) -> None:
        """Close after the warranty, after a rejection, or when an unused permit expired."""
        if self.status == RoadOpeningStatus.WARRANTY_RUNNING:
            if self.warranty_until is not None and berlin_date(at) <= self.warranty_until:
                raise InvalidCommand(
                    "warranty_until", f"the warranty runs until {self.warranty_until}"
                )
            return
        self.check_no_approval_in_force(
            at, "the permit is in force: report the works, or close after it expired"
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


STEPS: Final = Steps(
    "road opening",
    (
        Step(
            name="works_started",
            method="start_works",
            path="/{case_id}/works-started",
            summary="Road opening: works started",
            description="Only under an approval in force, not before it is effective or after "
            "it expired.",
            roles=STAFF,
            body=WorksStarted,
            aggregate=RoadOpeningPermit,
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

"""The headstone permit (Grabmalgenehmigung).

The holder of a grave right (or a stonemason for them) asks the cemetery administration to
set a headstone: the grave, a drawing at 1:10, material, dimensions, foundation, inscription
and the stonemason. A permit carries the standard conditions and the fee of the cemetery
tariff, and lapses if the headstone is not set within the term the rules give. Once the
headstone is reported set, its stability is checked on acceptance per the TA Grabmal
(accepted, or defects with a deadline and a re-inspection), and every year after (the
yearly stability check, recorded with defects and a deadline in the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, TypeVar

from eventsourcing.domain import event
from pydantic import ConfigDict, StringConstraints

from domain.actor import Actor, ActorRecord, Role
from domain.case import Case, ChangesStatus, DecisionTerms
from domain.case_steps import STAFF
from domain.cemeteries import GraveAddress, cemeteries
from domain.cemeteries import grave as configured_grave
from domain.commands import CommandBody, Step, Steps
from domain.conditions import StandardConditions
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.inspections import InspectionReport, Inspections
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalValue
from domain.personal_fields import Personal, PersonalMarker
from domain.rules.cemetery import FEE_RULES_ID, TARIFFS
from domain.rules.headstone_permit import (
    CONDITIONS_RULES_ID,
    SETTING_TERM_RULES_ID,
    SETTING_TERMS,
    STANDARD_CONDITIONS,
)
from domain.rules.versions import RulesChoice
from domain.services.forms import Form, Name, Phone, labelled
from domain.services.grave_right import Token
from domain.working_days import add_months, berlin_date

SERVICE_ID: Final = "headstone-permit"
LEGAL_BASIS: Final = (
    "Friedhofsordnung der Stadt/Gemeinde (Grabmale, Standsicherheit) und "
    "Friedhofsgebührensatzung; TA Grabmal (DENAK)"
)

EVENT_LABELS: Final = {
    "HeadstoneSet": ("Grabmal aufgestellt", "Headstone set"),
    "HeadstoneInspected": ("Abnahme des Grabmals (Standsicherheit)", "Headstone acceptance"),
    "StabilityChecked": ("Jährliche Standsicherheitsprüfung", "Yearly stability check"),
}

T = TypeVar("T")
StonemasonPersonal = Annotated[T, PersonalMarker(subject="stonemason")]
"""Personal data of the stonemason's contact person, a data subject of their own."""


class Foundation(StrEnum):
    """How the headstone is founded (TA Grabmal)."""

    STRIP = "strip"  # Streifenfundament
    SLAB = "slab"  # Plattenfundament
    POINT = "point"  # Punktfundament / Pfahlgründung
    PREFABRICATED = "prefabricated"  # Fertigfundament


class Dimensions(Form):
    """The headstone's size in centimetres."""

    height_cm: int = labelled("Höhe (cm)", "Height (cm)", ge=10, le=250)
    width_cm: int = labelled("Breite (cm)", "Width (cm)", ge=10, le=300)
    depth_cm: int = labelled("Stärke (cm)", "Depth (cm)", ge=5, le=60)


class Stonemason(Form):
    """The stonemason's business; the contact person is personal data of their own."""

    business: Name = labelled("Betrieb", "Business")
    contact_person: StonemasonPersonal[Name] | None = labelled(
        "Ansprechperson", "Contact person", default=None
    )
    phone: Phone = labelled("Telefon", "Phone")


class HeadstoneGrave(Form):
    """The grave the headstone is for; the cemetery may be left out where one has the field."""

    # A permit takes no grave place, so one address without a cemetery id (the towns' ids
    # differ) lets the catalogue's one example go through in every town.

    cemetery: Token | None = labelled(
        "Friedhof",
        "Cemetery",
        default=None,
        description="e.g. 'usingen-friedhof'; if omitted, the town's one cemetery with the field",
    )
    field: Token = labelled("Grabfeld", "Field")
    row: Token = labelled("Reihe", "Row")
    number: int = labelled("Nummer", "Number", ge=1, le=100_000)

    def address(self, tenant: str) -> GraveAddress:
        """The grave's address in the town; without a cemetery, the one with this field."""
        if self.cemetery is not None:
            return GraveAddress(self.cemetery, self.field, self.row, int(self.number))
        having = [c.id for c in cemeteries(tenant) if c.field(self.field) is not None]
        if len(having) != 1:
            which = "no cemetery" if not having else f"{len(having)} cemeteries"
            raise InvalidCommand(
                "grave", f"{tenant} has {which} with a field {self.field!r}: name the cemetery"
            )
        return GraveAddress(having[0], self.field, self.row, int(self.number))


class HeadstonePermitApplication(Form):
    """What the form portal sends for a headstone permit."""

    grave: HeadstoneGrave = labelled("Grabstätte", "Grave")
    drawing: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,199}$")] = (
        labelled(
            "Zeichnung 1:10 (Anlage)",
            "Drawing at 1:10 (attachment reference)",
            description="The reference of the uploaded drawing, e.g. 'att:2026/grabmal.pdf'",
        )
    )
    material: Name = labelled("Material", "Material", description="e.g. 'Granit, poliert'")
    dimensions: Dimensions = labelled("Maße", "Dimensions")
    foundation: Foundation = labelled("Fundament", "Foundation")
    inscription: Personal[Annotated[str, StringConstraints(min_length=1, max_length=2000)]] = (
        labelled("Inschrift", "Inscription")
    )
    stonemason: Stonemason = labelled("Steinmetz", "Stonemason")


def example(_on: date) -> dict[str, Any]:
    """An application every town accepts and approves (its one cemetery with a field A)."""
    return {
        "grave": {"field": "A", "row": "1", "number": 3},
        "drawing": "att:2026/grabmal-a-1-3.pdf",
        "material": "Granit, poliert",
        "dimensions": {"height_cm": 90, "width_cm": 60, "depth_cm": 14},
        "foundation": "strip",
        "inscription": "Ruhe in Frieden",
        "stonemason": {"business": "Steinmetz Taunus GmbH", "phone": "06081 12345"},
    }


class HeadstoneStatus:
    """Statuses after the permit."""

    SET: Final = "headstone_set"
    DEFECTIVE: Final = "headstone_defective"
    ACCEPTED: Final = "headstone_accepted"
    UNSTABLE: Final = "headstone_unstable"  # the yearly check found defects


class HeadstonePermit(Case):
    """A headstone permit: set, accepted on a stability check, checked every year."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 15
    FEE_LEGAL_BASIS: ClassVar[str] = (
        "Friedhofsgebührenordnung der Gemeinde i. V. m. §§ 1 ff., 10 KAG"
    )
    STANDARD_CONDITIONS_VERSIONS: ClassVar[tuple[StandardConditions, ...]] = STANDARD_CONDITIONS
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a headstone permit"
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {
        "report_headstone_set"
    }
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "HeadstoneSet": ("headstone_set", "Headstone permit: the headstone was reported set."),
        "HeadstoneInspected": (
            "headstone_inspected",
            "Headstone permit: the headstone's stability was inspected on acceptance.",
        ),
        "StabilityChecked": (
            "headstone_stability_checked",
            "Headstone permit: the yearly stability check was recorded.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            CaseStatus.NOTIFIED: {"report_headstone_set"},
            CaseStatus.FINAL: {"report_headstone_set"},
            HeadstoneStatus.SET: {"inspect_headstone"},
            HeadstoneStatus.DEFECTIVE: {"inspect_headstone"},
            HeadstoneStatus.ACCEPTED: {"check_stability", "close"},
            HeadstoneStatus.UNSTABLE: {"check_stability"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.set_on: date | None = None
        self.acceptance = Inspections()
        self.stability = Inspections()

    @property
    def application(self) -> HeadstonePermitApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return HeadstonePermitApplication.stored(self.data)

    # --------------------------------------------------------------- decision

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """A permit names a grave the town has (refused naming ``grave`` otherwise)."""
        terms = super().decision_terms(given, outcome=outcome, decided_on=decided_on)
        if outcome.is_approval:
            configured_grave(self.tenant, self.application.grave.address(self.tenant))
        return terms

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms:
        """A permit's fee by the cemetery tariff, its conditions, and the term to set it."""
        if not outcome.is_approval:
            return DecisionTerms()
        tariff = rules.by_fee_debt_day(TARIFFS[self.tenant], FEE_RULES_ID)
        conditions = rules.by_decision_day(STANDARD_CONDITIONS, CONDITIONS_RULES_ID)
        term = rules.by_decision_day(SETTING_TERMS, SETTING_TERM_RULES_ID)
        if tariff is None or conditions is None or term is None:
            return DecisionTerms()
        fee, assessed = tariff.assess_headstone_permit()
        return DecisionTerms(
            expires_on=add_months(decided_on, term.months),  # until notified (§ 43 HVwVfG)
            fee=fee,
            rules=(assessed, conditions.record(), term.record()),
            valid_for_months=term.months,
        )

    # ----------------------------------------------------------- after approval

    def report_headstone_set(self, *, actor: Actor, at: datetime, set_on: date) -> None:
        """The headstone stands, set within the permit's term."""
        record = self._begin("report_headstone_set", actor, at)
        self.current_decision().check_step_under(
            set_on,
            today=berlin_date(at),
            field="set_on",
            refused="the permit was refused; no headstone may be set",
            too_early="cannot precede the permit",
            ended="the permit lapsed after",
        )
        self._headstone_set(status=HeadstoneStatus.SET, actor=record, at=at, set_on=set_on)

    class HeadstoneSet(ChangesStatus):
        """The headstone was reported set."""

        actor: ActorRecord
        at: datetime
        set_on: date

    @event(HeadstoneSet)
    def _headstone_set(
        self, *, actor: ActorRecord, at: datetime, set_on: date, status: str
    ) -> None:
        self.set_on = set_on
        self.status = status
        self.last_activity_at = at

    def inspect_headstone(
        self,
        *,
        actor: Actor,
        at: datetime,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
    ) -> None:
        """The acceptance: stability per TA Grabmal passed, or defects with a deadline."""
        record = self._begin("inspect_headstone", actor, at)
        if self.set_on is None:  # the lifecycle allows it only once set
            raise InvalidCommand("inspected_on", "the headstone has not been reported set")
        inspection = self._inspection(
            self.acceptance,
            at=at,
            inspected_on=inspected_on,
            ready_on=self.set_on,
            defects=defects,
            remedy_by=remedy_by,
        )
        self._headstone_inspected(
            status=HeadstoneStatus.DEFECTIVE if inspection.defects else HeadstoneStatus.ACCEPTED,
            actor=record,
            at=at,
            inspected_on=inspected_on,
            defects=list(inspection.defects),
            remedy_by=remedy_by,
        )

    class HeadstoneInspected(ChangesStatus):
        """The acceptance inspection: passed, or defects to remedy by a deadline."""

        actor: ActorRecord
        at: datetime
        inspected_on: date
        defects: list[PersonalValue]
        remedy_by: date | None

    @event(HeadstoneInspected)
    def _headstone_inspected(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        inspected_on: date,
        defects: list[PersonalValue],
        remedy_by: date | None,
        status: str,
    ) -> None:
        self.acceptance = self.acceptance.recorded(inspected_on, defects, remedy_by)
        self.status = status
        self.last_activity_at = at

    def check_stability(
        self,
        *,
        actor: Actor,
        at: datetime,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
    ) -> None:
        """The yearly stability check: passed, or defects with a deadline (checked again)."""
        record = self._begin("check_stability", actor, at)
        accepted_on = self.acceptance.last.inspected_on if self.acceptance.last else None
        if accepted_on is None:  # the lifecycle allows it only once accepted
            raise InvalidCommand("inspected_on", "the headstone has not been accepted yet")
        inspection = self._inspection(
            self.stability,
            at=at,
            inspected_on=inspected_on,
            ready_on=accepted_on,
            defects=defects,
            remedy_by=remedy_by,
        )
        self._stability_checked(
            status=HeadstoneStatus.UNSTABLE if inspection.defects else HeadstoneStatus.ACCEPTED,
            actor=record,
            at=at,
            inspected_on=inspected_on,
            defects=list(inspection.defects),
            remedy_by=remedy_by,
        )

    class StabilityChecked(ChangesStatus):
        """A yearly stability check: passed, or defects to remedy by a deadline."""

        actor: ActorRecord
        at: datetime
        inspected_on: date
        defects: list[PersonalValue]
        remedy_by: date | None

    @event(StabilityChecked)
    def _stability_checked(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        inspected_on: date,
        defects: list[PersonalValue],
        remedy_by: date | None,
        status: str,
    ) -> None:
        self.stability = self.stability.recorded(inspected_on, defects, remedy_by)
        self.status = status
        self.last_activity_at = at

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """Set on, the acceptance and the yearly checks: days, passed, deadlines."""
        return {
            "set_on": self.set_on,
            "acceptance_inspections": self.acceptance.dates,
            "accepted": self.acceptance.passed,
            "stability_checks": self.stability.dates,
            "stable": self.stability.passed if self.stability.last else None,
            "remedy_by": (self.stability.last or self.acceptance).remedy_by,
        }

    def check_closable(self, at: datetime) -> None:
        """Close after a refusal, an accepted headstone, or an unused permit that lapsed."""
        self.check_no_approval_in_force(
            at, "the permit is in force: report the headstone set, or close after it lapsed"
        )


class HeadstoneSetReport(CommandBody):
    """The headstone stands since this day."""

    set_on: date

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"set_on": "2026-05-04"}]}
    )


STEPS: Final = Steps(
    "headstone permit",
    (
        Step(
            name="report_headstone_set",
            path="/{case_id}/headstone-set",
            summary="Headstone permit: the headstone is set",
            description="Under a permit in force (within the term to set it), not in the future.",
            roles=(Role.APPLICANT, *STAFF),
            body=HeadstoneSetReport,
            aggregate=HeadstonePermit,
        ),
        Step(
            name="inspect_headstone",
            path="/{case_id}/headstone-inspections",
            summary="Headstone permit: acceptance (stability per TA Grabmal)",
            description="Accepted (no defects), or defects with a deadline and a re-inspection.",
            roles=STAFF,
            body=InspectionReport,
            aggregate=HeadstonePermit,
        ),
        Step(
            name="check_stability",
            path="/{case_id}/stability-checks",
            summary="Headstone permit: yearly stability check",
            description="Passed, or defects with a deadline; checked again until it passes.",
            roles=STAFF,
            body=InspectionReport,
            aggregate=HeadstonePermit,
        ),
    ),
)

"""The sewer house connection (Hausanschluss an die Kanalisation, Entwässerungsantrag).

An owner, usually through a specialist contractor, applies to connect a property's drainage
to the public sewer. The clerk determines the connection point and decides: a permit with
that connection point and the standard conditions (plus any of the case's own), or a
refusal. After the permit took effect the construction is reported, the connection is
inspected before the trench is filled (accepted, or defects with a deadline and a
re-inspection), the connection charge is assessed by the tariff, and the file is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Final, TypeVar

from eventsourcing.domain import event
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Actor, ActorRecord
from domain.case import Case, ChangesStatus, DecisionTerms, clean_text, leads_to
from domain.case_steps import APPLICANT_AND_STAFF, STAFF
from domain.commands import CommandBody, Step, Steps, Text
from domain.conditions import StandardConditions
from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.inspections import InspectionReport, Inspections
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalValue
from domain.personal_fields import ContractorPersonal, Personal, PersonalMarker
from domain.rules.sewer_connection import (
    CONDITIONS_RULES_ID,
    LAPSE_RULES_ID,
    LAPSES,
    LEGACY_LAPSE,
    PERMIT_FEE_RULES_ID,
    STANDARD_CONDITIONS,
    TARIFFS,
    Drainage,
)
from domain.rules.versions import RulesChoice, in_force
from domain.services.forms import Email, Form, HouseNumber, Name, Phone, labelled
from domain.working_days import berlin_date

SERVICE_ID: Final = "sewer-connection"
LEGAL_BASIS: Final = "Entwässerungssatzung der Gemeinde (Anschluss- und Benutzungszwang), § 37 HWG"
PERMIT_VALIDITY_MONTHS: Final = 24  # the permit lapses if the connection is not built by then
MAX_PIPE_LENGTH_M: Final = Decimal(200)

EVENT_LABELS: Final = {
    "ConnectionPointDetermined": ("Anschlusspunkt festgelegt", "Connection point determined"),
    "ConstructionReported": ("Fertigstellung gemeldet", "Construction reported"),
    "ConnectionDefectsFound": ("Mängel bei der Abnahme", "Defects found on inspection"),
    "ConnectionAccepted": ("Anschluss abgenommen", "Connection accepted"),
    "ConnectionChargeAssessed": ("Kostenersatz festgesetzt", "Connection charge assessed"),
}

T = TypeVar("T")
OwnerPersonal = Annotated[T, PersonalMarker(subject="owner")]
"""Personal data of the property's owner, a data subject of their own."""


class Plot(Form):
    """The plot as the land register names it."""

    gemarkung: Name = labelled("Gemarkung", "Cadastral district")
    flur: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}$")] = labelled("Flur", "Flur")
    flurstueck: Personal[
        Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}(/[0-9]{1,4})?$")]
    ] = labelled("Flurstück", "Parcel", description="e.g. 123/4")


class PropertyAddress(Form):
    """Where the property is."""

    street: Name = labelled("Straße", "Street")
    house_number: Personal[HouseNumber] = labelled("Hausnummer", "House number")
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] = labelled(
        "Postleitzahl", "Postal code"
    )
    city: Name = labelled("Ort", "Town")


class Owner(Form):
    """The owner of the property (Grundstückseigentümer), who may not be the applicant."""

    name: OwnerPersonal[Name] = labelled("Name", "Name")
    phone: OwnerPersonal[Phone] | None = labelled("Telefon", "Phone", default=None)
    email: OwnerPersonal[Email] | None = labelled("E-Mail", "E-mail", default=None)


class SpecialistContractor(Form):
    """The specialist company that builds the connection, and whom to call."""

    company: Name = labelled("Firma", "Company")
    contact_person: ContractorPersonal[Name] = labelled("Ansprechperson", "Contact person")
    phone: ContractorPersonal[Phone] = labelled("Telefon", "Phone")
    email: ContractorPersonal[Email] = labelled("E-Mail", "E-mail")


class SewerConnectionApplication(Form):
    """What the form portal sends for a sewer house connection (Entwässerungsantrag)."""

    plot: Plot = labelled("Grundstück", "Plot")
    property_address: PropertyAddress = labelled("Anschrift des Grundstücks", "Property address")
    owner: Owner = labelled("Eigentümer(in)", "Owner")
    drainage: Drainage = labelled(
        "Art der Entwässerung",
        "Type of drainage",
        description="foul_water (Schmutzwasser), rainwater (Niederschlagswasser), "
        "combined (Mischwasser)",
    )
    backflow_protection_planned: bool = labelled(
        "Rückstausicherung geplant", "Backflow protection planned"
    )
    contractor: SpecialistContractor = labelled("Fachbetrieb", "Specialist contractor")


def example(_on: date) -> dict[str, Any]:
    """An application the API accepts on any day."""
    return {
        "plot": {"gemarkung": "Usingen", "flur": "12", "flurstueck": "245/3"},
        "property_address": {
            "street": "Am Hattsteiner Weg",
            "house_number": "7",
            "postal_code": "61250",
            "city": "Usingen",
        },
        "owner": {"name": "Sabine Roth", "email": "sabine.roth@example.org"},
        "drainage": "combined",
        "backflow_protection_planned": True,
        "contractor": {
            "company": "Kanaltechnik Weiltal GmbH",
            "contact_person": "Uwe Hartmann",
            "phone": "06083 91 22 0",
            "email": "hausanschluss@kanaltechnik-weiltal.example",
        },
    }


@dataclass(frozen=True, slots=True)
class ConnectionPoint:
    """Where the house connection joins the public sewer, as the municipality determines it."""

    manhole: str  # the manhole or sewer section in the sewer register, e.g. "S 12-034"
    invert_depth_m: Decimal  # depth of the sewer's invert at that point (Sohltiefe)
    description: PersonalValue  # free text: may name the property

    def as_terms(self) -> dict[str, Any]:
        """The connection point as a decision records it."""
        return {
            "manhole": self.manhole,
            "invert_depth_m": str(self.invert_depth_m),
            "description": self.description,
        }


class SewerConnectionStatus:
    """Statuses after the permit."""

    CONSTRUCTION_REPORTED: Final = "construction_reported"
    CONNECTION_DEFECTIVE: Final = "connection_defective"
    CONNECTION_ACCEPTED: Final = "connection_accepted"
    CHARGE_ASSESSED: Final = "charge_assessed"


class SewerConnection(Case):
    """A sewer house connection: the shared lifecycle plus construction, acceptance, charge."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 20
    # Drainage is self-government; the permit is bound by the drainage statute (no
    # discretion); its fee debt arises with the application (§ 11 KAG with the statute).
    FEE_LEGAL_BASIS: ClassVar[str] = "Entwässerungssatzung der Gemeinde i. V. m. §§ 10, 11 KAG"
    STANDARD_CONDITIONS_VERSIONS: ClassVar[tuple[StandardConditions, ...]] = STANDARD_CONDITIONS
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "a sewer connection"
    # The owner (or their contractor through the portal) reports the construction finished.
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {"report_construction"}
    PUBLIC_EVENTS: ClassVar[dict[str, tuple[str, str]]] = {
        "ConstructionReported": (
            "construction_reported",
            "Sewer connection: the construction was reported finished.",
        ),
        "ConnectionDefectsFound": (
            "connection_defects_found",
            "Sewer connection: the acceptance inspection found defects (deadline set).",
        ),
        "ConnectionAccepted": (
            "connection_accepted",
            "Sewer connection: the connection passed its acceptance inspection.",
        ),
        "ConnectionChargeAssessed": (
            "connection_charge_assessed",
            "Sewer connection: the connection charge was assessed.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            CaseStatus.IN_REVIEW: {"determine_connection_point"},
            # A permit favours the owner and takes effect on notification.
            CaseStatus.NOTIFIED: {"report_construction"},
            CaseStatus.FINAL: {"report_construction"},
            SewerConnectionStatus.CONSTRUCTION_REPORTED: {"inspect_connection"},
            SewerConnectionStatus.CONNECTION_DEFECTIVE: {"inspect_connection"},
            SewerConnectionStatus.CONNECTION_ACCEPTED: {"assess_connection_charge"},
            SewerConnectionStatus.CHARGE_ASSESSED: {"close"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.connection_point: ConnectionPoint | None = None
        self.construction_completed_on: date | None = None
        self.pipe_length_m: Decimal | None = None
        self.acceptance = Inspections()
        self.connection_charge: Decimal | None = None
        self.charge_rules: RulesApplied | None = None

    @property
    def application(self) -> SewerConnectionApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return SewerConnectionApplication.stored(self.data)

    @property
    def drainage(self) -> Drainage:
        """What the connection drains, as applied for."""
        return Drainage(self.application.drainage)

    # ------------------------------------------------------- connection point

    def determine_connection_point(
        self,
        *,
        actor: Actor,
        at: datetime,
        manhole: str,
        invert_depth_m: Decimal,
        description: str,
    ) -> None:
        """Fix where the connection joins the public sewer (before an approval)."""
        record = self._begin("determine_connection_point", actor, at)
        manhole = clean_text(manhole, "manhole")
        if len(manhole) > 40:
            raise InvalidCommand("manhole", "at most 40 characters")
        if not Decimal("0.5") <= invert_depth_m <= Decimal(12):
            raise InvalidCommand("invert_depth_m", "must lie between 0.5 and 12 metres")
        self._connection_point_determined(
            actor=record,
            at=at,
            manhole=manhole,
            invert_depth_m=invert_depth_m,
            description=self._case_text(description, "description"),
        )

    class ConnectionPointDetermined(Case.Event):
        """The operator determined where the house connection meets the sewer."""

        actor: ActorRecord
        at: datetime
        manhole: str
        invert_depth_m: Decimal
        description: PersonalValue

    @event(ConnectionPointDetermined)
    def _connection_point_determined(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        manhole: str,
        invert_depth_m: Decimal,
        description: PersonalValue,
    ) -> None:
        self.connection_point = ConnectionPoint(manhole, Decimal(invert_depth_m), description)
        self.last_activity_at = at

    # --------------------------------------------------------------- decision

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """The fee from the tariff; a permit names the connection point and lapses unbuilt."""
        if outcome.is_approval and self.connection_point is None:
            raise InvalidCommand(
                "connection_point", "determine the connection point before granting the permit"
            )
        return super().decision_terms(given, outcome=outcome, decided_on=decided_on)

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms:
        """A permit: the fee by the tariff, the standard conditions, the connection point."""
        tariff = rules.by_fee_debt_day(TARIFFS, PERMIT_FEE_RULES_ID)
        conditions = rules.by_decision_day(STANDARD_CONDITIONS, CONDITIONS_RULES_ID)
        if not outcome.is_approval or tariff is None or conditions is None:
            return DecisionTerms()
        fee, applied = tariff.permit()
        point = self.connection_point
        recorded: tuple[RulesApplied, ...] = (applied, conditions.record())
        lapse = rules.by_decision_day(LAPSES, LAPSE_RULES_ID)
        if lapse is not None and expires_on == lapse.last_day(decided_on):
            expires_on = None  # replayed: the date the rule gave, not one the clerk set
        if expires_on is not None:  # the clerk's date (or, replayed, one recorded before)
            particulars = {"connection_point": point.as_terms() if point else None}
            return DecisionTerms(expires_on, fee, recorded, particulars)
        if lapse is None:  # replaying a decision recorded before the rule was
            lapse = LEGACY_LAPSE
        else:
            recorded = (*recorded, lapse.record(decided_on))
        return DecisionTerms(
            # Until notified: the permit lapses a term after its Bekanntgabe (§ 43 HVwVfG).
            expires_on=lapse.last_day(decided_on),
            fee=fee,
            rules=recorded,
            particulars={"connection_point": point.as_terms() if point else None},
            valid_for_months=lapse.months,
        )

    # ------------------------------------------------------------ construction

    def report_construction(
        self, *, actor: Actor, at: datetime, completed_on: date, pipe_length_m: Decimal
    ) -> None:
        """The connection was built (reported by the owner's side or recorded by staff)."""
        record = self._begin("report_construction", actor, at)
        self.current_decision().check_step_under(
            completed_on,
            today=berlin_date(at),
            field="completed_on",
            refused="the permit was refused; nothing may be connected",
            too_early="cannot precede the permit taking effect",
            ended="the permit lapsed on",
        )
        check_pipe_length(pipe_length_m)
        self._construction_reported(
            status=SewerConnectionStatus.CONSTRUCTION_REPORTED,
            actor=record,
            at=at,
            completed_on=completed_on,
            pipe_length_m=pipe_length_m,
        )

    class ConstructionReported(ChangesStatus):
        """The connection was built; the pipe laid is reported."""

        class_version = 2
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CONSTRUCTION_REPORTED)
        actor: ActorRecord
        at: datetime
        completed_on: date
        pipe_length_m: Decimal

    @event(ConstructionReported)
    def _construction_reported(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        completed_on: date,
        pipe_length_m: Decimal,
        status: str,
    ) -> None:
        self.construction_completed_on = completed_on
        self.pipe_length_m = Decimal(pipe_length_m)
        self.status = status
        self.last_activity_at = at

    def inspect_connection(
        self,
        *,
        actor: Actor,
        at: datetime,
        inspected_on: date,
        defects: list[str],
        remedy_by: date | None = None,
    ) -> None:
        """The acceptance inspection (Abnahme): accepted, or defects with a deadline."""
        record = self._begin("inspect_connection", actor, at)
        if self.construction_completed_on is None:
            raise InvalidCommand("construction", "the construction has not been reported")
        inspection = self._inspection(
            self.acceptance,
            at=at,
            inspected_on=inspected_on,
            ready_on=self.construction_completed_on,
            defects=defects,
            remedy_by=remedy_by,
        )
        if inspection.defects:
            self._connection_defects_found(
                status=SewerConnectionStatus.CONNECTION_DEFECTIVE,
                actor=record,
                at=at,
                inspected_on=inspected_on,
                defects=list(inspection.defects),
                remedy_by=remedy_by,
            )
        else:
            self._connection_accepted(
                status=SewerConnectionStatus.CONNECTION_ACCEPTED,
                actor=record,
                at=at,
                inspected_on=inspected_on,
            )

    class ConnectionDefectsFound(ChangesStatus):
        """The acceptance inspection found defects, to be remedied by a deadline."""

        class_version = 2
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CONNECTION_DEFECTIVE)
        actor: ActorRecord
        at: datetime
        inspected_on: date
        defects: list[PersonalValue]
        remedy_by: date | None

    @event(ConnectionDefectsFound)
    def _connection_defects_found(
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

    class ConnectionAccepted(ChangesStatus):
        """The acceptance inspection accepted the connection."""

        class_version = 2
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CONNECTION_ACCEPTED)
        actor: ActorRecord
        at: datetime
        inspected_on: date

    @event(ConnectionAccepted)
    def _connection_accepted(
        self, *, actor: ActorRecord, at: datetime, inspected_on: date, status: str
    ) -> None:
        self.acceptance = self.acceptance.recorded(inspected_on, (), None)
        self.status = status
        self.last_activity_at = at

    def assess_connection_charge(self, *, actor: Actor, at: datetime) -> None:
        """Assess the connection charge by the tariff in force today, for the pipe laid."""
        record = self._begin("assess_connection_charge", actor, at)
        if self.pipe_length_m is None:
            raise InvalidCommand("construction", "the construction has not been reported")
        tariff = in_force(TARIFFS, berlin_date(at))
        amount, applied = tariff.connection_charge(self.drainage, self.pipe_length_m)
        self._connection_charge_assessed(
            status=SewerConnectionStatus.CHARGE_ASSESSED,
            actor=record,
            at=at,
            amount=amount,
            rules=applied,
        )

    class ConnectionChargeAssessed(ChangesStatus):
        """The connection charge was assessed by the tariff in force."""

        class_version = 2
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CHARGE_ASSESSED)
        actor: ActorRecord
        at: datetime
        amount: Decimal
        rules: RulesApplied

    @event(ConnectionChargeAssessed)
    def _connection_charge_assessed(
        self, *, actor: ActorRecord, at: datetime, amount: Decimal, rules: RulesApplied, status: str
    ) -> None:
        self.connection_charge = Decimal(amount)
        self.charge_rules = rules
        self.status = status
        self.last_activity_at = at

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """Connection point, construction, acceptance inspections and the charge."""
        point = self.connection_point
        return {
            "connection_point": point.as_terms() if point else None,
            "construction_completed_on": self.construction_completed_on,
            "pipe_length_m": self.pipe_length_m,
            "inspections": self.acceptance.dates,
            "open_defects": list(self.acceptance.open_defects),
            "remedy_by": self.acceptance.remedy_by,
            "connection_charge": self.connection_charge,
            "charge_rules": self.charge_rules,
        }

    def check_closable(self, at: datetime) -> None:
        """Close once the charge is assessed, after a refusal, or when a permit lapsed unbuilt."""
        self.check_no_approval_in_force(
            at, "the permit is in force: report the construction, or close after it lapsed"
        )


def lapses_on(start: date) -> date:
    """The last day of a permit's validity when the clerk sets none, for a start that day."""
    return in_force(LAPSES, start).last_day(start)


def check_pipe_length(pipe_length_m: Decimal) -> None:
    """A connection pipe in public ground: more than 0, at most 200 m, in centimetres."""
    try:
        in_centimetres = pipe_length_m == pipe_length_m.quantize(Decimal("0.01"))
    except InvalidOperation:
        in_centimetres = False
    if not Decimal(0) < pipe_length_m <= MAX_PIPE_LENGTH_M or not in_centimetres:
        raise InvalidCommand("pipe_length_m", "must lie above 0 and up to 200 m, in centimetres")


# ------------------------------------------------------------------- steps


class DetermineConnectionPoint(CommandBody):
    """Where the house connection joins the public sewer (Anschlusspunkt)."""

    manhole: str = Field(
        min_length=1, max_length=40, description="Manhole or section in the sewer register."
    )
    invert_depth_m: Decimal = Field(
        ge=Decimal("0.5"), le=12, decimal_places=2, description="Invert depth (Sohltiefe), m."
    )
    description: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "manhole": "S 12-034",
                    "invert_depth_m": "2.40",
                    "description": "Anschluss DN 150 an den Mischwasserkanal, Abzweig in "
                    "Fahrbahnmitte vor dem Grundstück.",
                }
            ]
        },
    )


class ConstructionReport(CommandBody):
    """The connection was built."""

    completed_on: date
    pipe_length_m: Decimal = Field(
        gt=0, le=200, decimal_places=2, description="Connection pipe laid in public ground, m."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"completed_on": "2026-06-12", "pipe_length_m": "8.50"}]},
    )


def sewer_step(name: str, path: str, summary: str, description: str, **more: Any) -> Step:
    """A step of the sewer connection, by staff unless it says otherwise."""
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        description=description,
        aggregate=SewerConnection,
        **{"roles": STAFF, **more},
    )


STEPS: Final = Steps(
    "sewer connection",
    (
        sewer_step(
            "determine_connection_point",
            "connection-point",
            "Sewer connection: determine the connection point",
            "During review; a permit names it, so it must be determined before an approval.",
            body=DetermineConnectionPoint,
        ),
        sewer_step(
            "report_construction",
            "construction-reported",
            "Sewer connection: the construction is finished",
            "Under a permit in force, not before it took effect nor after it lapsed.",
            roles=APPLICANT_AND_STAFF,
            body=ConstructionReport,
        ),
        sewer_step(
            "inspect_connection",
            "connection-inspections",
            "Sewer connection: acceptance inspection",
            "Accepted (no defects), or defects with a deadline and a re-inspection later.",
            body=InspectionReport,
        ),
        sewer_step(
            "assess_connection_charge",
            "connection-charge",
            "Sewer connection: assess the connection charge",
            "By the tariff in force: flat for the kind of drainage plus metres beyond those "
            "included.",
        ),
    ),
)

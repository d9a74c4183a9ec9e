"""The sewer house connection (Hausanschluss an die Kanalisation, Entwässerungsantrag).

An owner, usually through a specialist contractor, applies to connect a property's drainage
to the public sewer. The clerk determines the connection point and decides: a permit with
that connection point and the standard conditions (plus any of the case's own), or a
refusal. After the permit took effect the construction is reported, the connection is
inspected before the trench is filled (accepted, or defects with a deadline and a
re-inspection), the connection charge is assessed by the tariff, and the file is closed.

An approval needs the drainage plans the statute lists and, where someone other than the
owner applies, the owner's written authorisation (both from the form, or recorded by the
clerk when they arrive later). The acceptance needs a passed leak test (Dichtheitsprüfung,
DIN EN 1610). The connection charge is Kostenersatz under § 12 KAG (Hessen): due only for
works the town carried out, by the tariff of the day the connection was finally built, and
assessed in a notice of its own (Kostenersatzbescheid) to whoever owns the plot at its
Bekanntgabe, with its due date and a remedy notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar

from eventsourcing.domain import event
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Actor, ActorRecord
from domain.authorities import (
    PERIOD_WITHOUT_NOTICE_MONTHS,
    RemedyNotice,
    authorities_of,
    remedy_notice,
)
from domain.case import Case, ChangesStatus, DecisionTerms, clean_text, leads_to
from domain.case_steps import APPLICANT_AND_STAFF, STAFF, Notify, notification_arguments
from domain.commands import CommandBody, ShortText, Step, Steps, Text
from domain.conditions import StandardConditions
from domain.decision import DecisionOutcome, RulesApplied
from domain.documents import DocumentKind
from domain.errors import InvalidCommand
from domain.inspections import InspectionReport, Inspections
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue
from domain.personal_fields import ContractorPersonal, Personal, PersonalMarker
from domain.rules import notification
from domain.rules.sewer_connection import (
    CHARGE_DUE,
    CHARGE_LEGAL_BASIS,
    CONDITIONS_RULES_ID,
    DEBTOR_LEGAL_BASIS,
    LAPSE_RULES_ID,
    LAPSES,
    LEGACY_LAPSE,
    NO_SUSPENSION_NOTE,
    PERMIT_FEE_RULES_ID,
    PLANS_REQUIRED,
    STANDARD_CONDITIONS,
    TARIFFS,
    Drainage,
    PlanKind,
)
from domain.rules.versions import RulesChoice, in_force
from domain.services.forms import (
    Email,
    Form,
    HouseNumber,
    Name,
    Phone,
    PlausibleDate,
    labelled,
)
from domain.timers import TIMER_KINDS, Addressee, Due, Fires, Notice, TimerKind
from domain.working_days import berlin_date, period_end

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
    "DrainagePlansRecorded": ("Entwässerungspläne eingegangen", "Drainage plans received"),
    "OwnerAuthorisationRecorded": (
        "Vollmacht/Zustimmung des Eigentümers eingegangen",
        "Owner's authorisation received",
    ),
    "LeakTestRecorded": ("Dichtheitsprüfung dokumentiert", "Leak test recorded"),
    "ConnectionChargeNotified": (
        "Kostenersatzbescheid bekannt gegeben",
        "Connection charge assessment notified",
    ),
}
CONTRACTOR: Final = "contractor"
"""The data subject of the contractor's staff (contact person, leak tester)."""
DEBTOR: Final = "debtor"
"""The data subject of a charge debtor named by the clerk (a buyer of the plot, say)."""

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


class OwnerAuthorisationKind(StrEnum):
    """How the owner authorised someone else's application."""

    POWER_OF_ATTORNEY = "power_of_attorney"  # Vollmacht
    CONSENT = "consent"  # Zustimmungserklärung des Eigentümers


class OwnerAuthorisation(Form):
    """The owner's written authorisation of an application made by someone else."""

    kind: OwnerAuthorisationKind = labelled(
        "Art", "Kind", description="power_of_attorney (Vollmacht), consent (Zustimmung)"
    )
    signed_on: PlausibleDate = labelled("Unterschrieben am", "Signed on")


class DrainagePlan(Form):
    """One drawing of the Entwässerungsantrag: its kind and the day it is dated."""

    kind: PlanKind = labelled(
        "Art des Plans",
        "Kind of plan",
        description="site_plan (Lageplan), floor_plan (Grundriss), longitudinal_section "
        "(Längsschnitt), drainage_calculation (Bemessung)",
    )
    dated_on: PlausibleDate = labelled("Datum des Plans", "Dated")


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
    # Applications stored before these fields read as the owner applying, no plans attached.
    applicant_is_owner: bool = labelled(
        "Antragsteller(in) ist Eigentümer(in)", "The applicant owns the property", default=True
    )
    owner_authorisation: OwnerAuthorisation | None = labelled(
        "Vollmacht/Zustimmung des Eigentümers",
        "Owner's authorisation",
        default=None,
        description="Needed for an approval when the applicant is not the owner.",
    )
    drainage_plans: list[DrainagePlan] = labelled(
        "Entwässerungspläne", "Drainage plans", default_factory=list, max_length=30
    )


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
        "applicant_is_owner": True,
        "drainage_plans": [
            {"kind": "site_plan", "dated_on": "2025-11-20"},
            {"kind": "longitudinal_section", "dated_on": "2025-11-20"},
        ],
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


class ConnectionBuilder(StrEnum):
    """Who built the connection in public ground (the statute lets either do it)."""

    TOWN = "town"  # the town or its contractor: the town's works, reimbursed (§ 12 KAG)
    OWNER_CONTRACTOR = "owner_contractor"  # the owner's specialist contractor: no Kostenersatz


class LeakTestMethod(StrEnum):
    """Leak test of drains and sewers, DIN EN 1610 (new works; DIN 1986-30 for existing)."""

    WATER = "water"  # Verfahren "W"
    AIR = "air"  # Verfahren "L"


@dataclass(frozen=True, slots=True)
class LeakTest:
    """One leak test (Dichtheitsprüfung): day, method, result, who tested."""

    tested_on: date
    method: str
    passed: bool
    tester: PersonalValue  # the contractor's tester or an expert: personal data


@dataclass(frozen=True, slots=True)
class ChargeAssessment:
    """The Kostenersatzbescheid as assessed and, once sent, notified."""

    assessed_on: date
    amount: Decimal
    rules: RulesApplied
    legal_basis: str | None  # None: assessed before the notice was recorded
    tariff_day: date | None  # the day the connection was finally built
    debtor: PersonalValue | None  # None: assessed before; the owner in the application
    debtor_address: PersonalValue | None
    remedy_notice: RemedyNotice | None
    payment_note: str | None
    issuing_authority: str | None
    notified_on: date | None = None
    due_on: date | None = None
    objection_deadline: date | None = None
    notification: Mapping[str, Any] | None = None

    def as_state(self, owner: Any) -> dict[str, Any]:
        """The assessment as the case's state shows it."""
        return {
            "assessed_on": self.assessed_on,
            "amount": self.amount,
            "legal_basis": self.legal_basis,
            "tariff_day": self.tariff_day,
            "debtor": self.debtor if self.debtor is not None else owner,
            "debtor_address": self.debtor_address,
            "issuing_authority": self.issuing_authority,
            "remedy_notice": self.remedy_notice.text if self.remedy_notice else None,
            "payment_note": self.payment_note,
            "notified_on": self.notified_on,
            "due_on": self.due_on,
            "objection_deadline": self.objection_deadline,
            "notification": dict(self.notification) if self.notification else None,
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
    # The Kostenersatzbescheid's letter, delivered, sets its own Bekanntgabe.
    NOTIFIED_BY: ClassVar[dict[DocumentKind, str]] = {
        **Case.NOTIFIED_BY,
        DocumentKind.CHARGE_ASSESSMENT: "notify_connection_charge",
    }
    # The owner (or their contractor through the portal) reports the construction finished.
    # ... and hands in the leak test protocol (Dichtheitsprüfung) the same way.
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {
        "report_construction",
        "record_leak_test",
    }
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
        "LeakTestRecorded": (
            "leak_test_recorded",
            "Sewer connection: a leak test of the connection was recorded (passed or failed).",
        ),
        "ConnectionChargeNotified": (
            "connection_charge_notified",
            "Sewer connection: the charge assessment was notified; due date and objection "
            "period run.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            CaseStatus.IN_REVIEW: {
                "determine_connection_point",
                "record_drainage_plans",
                "record_owner_authorisation",
            },
            # A permit favours the owner and takes effect on notification.
            CaseStatus.NOTIFIED: {"report_construction"},
            CaseStatus.FINAL: {"report_construction"},
            SewerConnectionStatus.CONSTRUCTION_REPORTED: {"inspect_connection", "record_leak_test"},
            SewerConnectionStatus.CONNECTION_DEFECTIVE: {"inspect_connection", "record_leak_test"},
            # Built by the owner's contractor, the file closes without a charge.
            SewerConnectionStatus.CONNECTION_ACCEPTED: {"assess_connection_charge", "close"},
            SewerConnectionStatus.CHARGE_ASSESSED: {"notify_connection_charge", "close"},
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
        self.charge: ChargeAssessment | None = None
        self.built_by: str | None = None
        self.leak_tests: tuple[LeakTest, ...] = ()
        # How many leak tests were recorded when defects were last found: the remedy may have
        # touched the pipe, so only a test recorded after them shows it tight.
        self.leak_tests_before_remedy = 0
        self.accepted_on_leak_test_of: date | None = None
        self.recorded_plans: tuple[tuple[str, date, date], ...] = ()  # kind, dated, received
        self.recorded_authorisation: tuple[str, date] | None = None  # kind, signed

    @property
    def application(self) -> SewerConnectionApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return SewerConnectionApplication.stored(self.data)

    @property
    def drainage(self) -> Drainage:
        """What the connection drains, as applied for."""
        return Drainage(self.application.drainage)

    @property
    def drainage_plans(self) -> list[dict[str, Any]]:
        """The drawings: those the form carried, then those the clerk recorded later."""
        with_form = [
            {"kind": str(plan.kind), "dated_on": plan.dated_on, "received_on": None}
            for plan in self.application.drainage_plans
        ]
        recorded = [
            {"kind": kind, "dated_on": dated_on, "received_on": received_on}
            for kind, dated_on, received_on in self.recorded_plans
        ]
        return with_form + recorded

    @property
    def owner_authorisation(self) -> dict[str, Any] | None:
        """The owner's authorisation as recorded later, else as the form carried it."""
        if self.recorded_authorisation is not None:
            kind, signed_on = self.recorded_authorisation
            return {"kind": kind, "signed_on": signed_on}
        given = self.application.owner_authorisation
        if given is None:
            return None
        return {"kind": str(given.kind), "signed_on": given.signed_on}

    @property
    def finally_built_on(self) -> date | None:
        """The day the connection was finally built (endgültige Herstellung, § 12 Abs. 2 KAG).

        The day the construction was finished, when the first acceptance inspection found
        no defects; after defects, the connection was built for good only once they were
        remedied: the day of the inspection that accepted it. Before an acceptance: None.
        """
        if not self.acceptance.passed or self.construction_completed_on is None:
            return None
        if len(self.acceptance.done) == 1:
            return self.construction_completed_on
        last = self.acceptance.last
        return last.inspected_on if last is not None else None

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
        if outcome.is_approval:
            self.check_documents_for_approval(decided_on)
        terms = super().decision_terms(given, outcome=outcome, decided_on=decided_on)
        if given.expires_on is not None and terms.valid_for_months is not None:
            # The clerk's own last day that happens to be the one the lapse rule gives (which
            # terms_by_rules must read as the rule's when replaying): it stays the clerk's,
            # recorded without the rule, and does not move with the Bekanntgabe.
            terms = replace(
                terms,
                expires_on=given.expires_on,
                rules=tuple(r for r in terms.rules if r.rules_id != LAPSE_RULES_ID),
                valid_for_months=None,
            )
        return terms

    def check_documents_for_approval(self, decided_on: date) -> None:
        """The statute's drawings, and the owner's authorisation if someone else applied."""
        given = {plan["kind"] for plan in self.drainage_plans}
        missing = in_force(PLANS_REQUIRED, decided_on).missing(given)
        if missing:
            raise InvalidCommand(
                "drainage_plans",
                "a permit needs the drainage plans the statute lists; missing: "
                + ", ".join(missing),
            )
        if not self.application.applicant_is_owner and self.owner_authorisation is None:
            raise InvalidCommand(
                "owner_authorisation",
                "the applicant is not the owner: record the owner's written authorisation "
                "(Vollmacht or Zustimmung) before granting the permit",
            )

    # ------------------------------------------------------------ documents

    def record_drainage_plans(
        self,
        *,
        actor: Actor,
        at: datetime,
        received_on: date,
        plans: list[tuple[PlanKind, date]],
    ) -> None:
        """Drawings received after the application (Entwässerungspläne), during review."""
        record = self._begin("record_drainage_plans", actor, at)
        if not plans:
            raise InvalidCommand("plans", "name at least one plan")
        if not berlin_date(self.submitted_at) <= received_on <= berlin_date(at):
            raise InvalidCommand("received_on", "must lie between the submission and today")
        for i, (_kind, dated_on) in enumerate(plans):
            if dated_on > received_on:
                raise InvalidCommand(f"plans[{i}].dated_on", "must not lie after received_on")
        self._drainage_plans_recorded(
            actor=record,
            at=at,
            received_on=received_on,
            plans=[{"kind": PlanKind(k).value, "dated_on": d} for k, d in plans],
        )

    class DrainagePlansRecorded(Case.Event):
        """Drainage plans were received and recorded, each with its kind and date."""

        actor: ActorRecord
        at: datetime
        received_on: date
        plans: list[dict[str, Any]]

    @event(DrainagePlansRecorded)
    def _drainage_plans_recorded(
        self, *, actor: ActorRecord, at: datetime, received_on: date, plans: list[dict[str, Any]]
    ) -> None:
        self.recorded_plans = (
            *self.recorded_plans,
            *((str(p["kind"]), p["dated_on"], received_on) for p in plans),
        )
        self.last_activity_at = at

    def record_owner_authorisation(
        self, *, actor: Actor, at: datetime, kind: OwnerAuthorisationKind | str, signed_on: date
    ) -> None:
        """The owner's written authorisation of someone else's application, received later."""
        record = self._begin("record_owner_authorisation", actor, at)
        if self.application.applicant_is_owner:
            raise InvalidCommand(
                "data.applicant_is_owner", "the owner applied: no authorisation is needed"
            )
        if signed_on > berlin_date(at):
            raise InvalidCommand("signed_on", "must not lie in the future")
        try:
            given = OwnerAuthorisationKind(kind)
        except ValueError:
            raise InvalidCommand("kind", "power_of_attorney or consent") from None
        self._owner_authorisation_recorded(
            actor=record, at=at, kind=given.value, signed_on=signed_on
        )

    class OwnerAuthorisationRecorded(Case.Event):
        """The owner's Vollmacht or Zustimmung was received and recorded."""

        actor: ActorRecord
        at: datetime
        kind: str
        signed_on: date

    @event(OwnerAuthorisationRecorded)
    def _owner_authorisation_recorded(
        self, *, actor: ActorRecord, at: datetime, kind: str, signed_on: date
    ) -> None:
        self.recorded_authorisation = (kind, signed_on)
        self.last_activity_at = at

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
        self,
        *,
        actor: Actor,
        at: datetime,
        completed_on: date,
        pipe_length_m: Decimal,
        built_by: ConnectionBuilder | str = ConnectionBuilder.TOWN,
    ) -> None:
        """The connection was built (reported by the owner's side or recorded by staff).

        ``built_by`` says who built it in public ground: the town (or its contractor), whose
        costs the owner reimburses (§ 12 KAG), or the owner's specialist contractor where
        the statute lets the owner build it, for which no Kostenersatz is due.
        """
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
        try:
            builder = ConnectionBuilder(built_by)
        except ValueError:
            raise InvalidCommand("built_by", "town or owner_contractor") from None
        self._construction_reported(
            status=SewerConnectionStatus.CONSTRUCTION_REPORTED,
            actor=record,
            at=at,
            completed_on=completed_on,
            pipe_length_m=pipe_length_m,
            built_by=builder.value,
        )

    class ConstructionReported(ChangesStatus):
        """The connection was built; the pipe laid and who built it are reported.

        Version 3 added ``built_by``; connections reported before were charged as the
        town's works, so they read as built by the town.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CONSTRUCTION_REPORTED)
        actor: ActorRecord
        at: datetime
        completed_on: date
        pipe_length_m: Decimal
        built_by: str

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["built_by"] = ConnectionBuilder.TOWN.value

    @event(ConstructionReported)
    def _construction_reported(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        completed_on: date,
        pipe_length_m: Decimal,
        built_by: str,
        status: str,
    ) -> None:
        self.construction_completed_on = completed_on
        self.pipe_length_m = Decimal(pipe_length_m)
        self.built_by = built_by
        self.status = status
        self.last_activity_at = at

    def record_leak_test(
        self,
        *,
        actor: Actor,
        at: datetime,
        tested_on: date,
        method: LeakTestMethod | str,
        passed: bool,
        tester: str,
    ) -> None:
        """A leak test of the built connection (Dichtheitsprüfung, DIN EN 1610), either result.

        Tested between the construction's completion and today, never before a test already
        recorded; a failed test is recorded too, and only a passed one allows the acceptance.
        """
        record = self._begin("record_leak_test", actor, at)
        completed_on = self.construction_completed_on
        if completed_on is None:  # the lifecycle offers this only after the report
            raise InvalidCommand("construction", "the construction has not been reported")
        earliest = max([completed_on, *(t.tested_on for t in self.leak_tests)])
        if not earliest <= tested_on <= berlin_date(at):
            raise InvalidCommand(
                "tested_on", "must lie between completion (or the last leak test) and today"
            )
        try:
            how = LeakTestMethod(method)
        except ValueError:
            raise InvalidCommand("method", "water or air (DIN EN 1610)") from None
        self._leak_test_recorded(
            actor=record,
            at=at,
            tested_on=tested_on,
            method=how.value,
            passed=passed,
            tester=self._personal(CONTRACTOR, tester, "tester"),
        )

    class LeakTestRecorded(Case.Event):
        """A leak test of the connection: its day, method (water/air), result and tester."""

        actor: ActorRecord
        at: datetime
        tested_on: date
        method: str
        passed: bool
        tester: PersonalValue

    @event(LeakTestRecorded)
    def _leak_test_recorded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        tested_on: date,
        method: str,
        passed: bool,
        tester: PersonalValue,
    ) -> None:
        self.leak_tests = (*self.leak_tests, LeakTest(tested_on, method, passed, tester))
        self.last_activity_at = at

    def check_leak_tested(self, inspected_on: date) -> LeakTest:
        """The passed leak test an acceptance relies on: the latest, on or before that day.

        DIN EN 1610 (DIN 1986-30): a new drain is tested for tightness before it is taken
        into use; the statute's acceptance confirms it was. After an inspection found
        defects, the test must be one recorded since: remedying them may have opened the
        pipe again, so a test from before (recorded or dated) shows nothing about the
        connection accepted.
        """
        defects_on = max(
            (i.inspected_on for i in self.acceptance.done if not i.passed), default=None
        )
        since = self.leak_tests[self.leak_tests_before_remedy :]
        tests = [
            t
            for t in since
            if t.tested_on <= inspected_on and (defects_on is None or t.tested_on >= defects_on)
        ]
        if not tests or not tests[-1].passed:
            after = " recorded after the defects were found" if self.acceptance.done else ""
            raise InvalidCommand(
                "leak_test",
                f"an acceptance needs a passed leak test (DIN EN 1610){after}, on or before "
                "the inspection: record it first",
            )
        return tests[-1]

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
            leak_test = self.check_leak_tested(inspected_on)
            self._connection_accepted(
                status=SewerConnectionStatus.CONNECTION_ACCEPTED,
                actor=record,
                at=at,
                inspected_on=inspected_on,
                leak_test_on=leak_test.tested_on,
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
        self.leak_tests_before_remedy = len(self.leak_tests)
        self.status = status
        self.last_activity_at = at

    class ConnectionAccepted(ChangesStatus):
        """The acceptance inspection accepted the connection, on the leak test it names.

        Version 3 added ``leak_test_on``; acceptances recorded before name none.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CONNECTION_ACCEPTED)
        actor: ActorRecord
        at: datetime
        inspected_on: date
        leak_test_on: date | None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["leak_test_on"] = None

    @event(ConnectionAccepted)
    def _connection_accepted(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        inspected_on: date,
        leak_test_on: date | None,
        status: str,
    ) -> None:
        self.acceptance = self.acceptance.recorded(inspected_on, (), None)
        self.accepted_on_leak_test_of = leak_test_on
        self.status = status
        self.last_activity_at = at

    def assess_connection_charge(
        self,
        *,
        actor: Actor,
        at: datetime,
        debtor_name: str | None = None,
        debtor_address: str | None = None,
    ) -> None:
        """Assess the Kostenersatz (Kostenersatzbescheid) for the town's works, by the tariff
        of the day the connection was finally built.

        § 12 KAG (Hessen): the claim arises with the final completion of the connection
        (endgültige Herstellung, § 12 Abs. 2), so that day's tariff applies, not the
        assessment's. Only works the town carried out are reimbursed: a connection the
        owner's contractor built is refused a charge (the file then closes without one).
        The debtor is whoever owns the plot at the Bekanntgabe (§ 12 Abs. 3 with § 11
        Abs. 7 KAG): the owner in the application unless the clerk names another (the plot
        was sold), with an address for the notice. The notice carries the remedy notice
        and that an objection does not suspend payment (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO).
        """
        record = self._begin("assess_connection_charge", actor, at)
        if self.pipe_length_m is None:
            raise InvalidCommand("construction", "the construction has not been reported")
        if self.built_by == ConnectionBuilder.OWNER_CONTRACTOR:
            raise InvalidCommand(
                "built_by",
                "the owner's contractor built the connection: the town carried out no works, "
                "so no Kostenersatz is due (§ 12 KAG); close the file without a charge",
            )
        built_on = self.finally_built_on
        if built_on is None:  # the lifecycle offers this only after the acceptance
            raise InvalidCommand("acceptance", "the connection has not been accepted")
        tariff = in_force(TARIFFS, built_on)
        amount, applied = tariff.connection_charge(self.drainage, self.pipe_length_m)
        if debtor_name is not None:
            debtor: PersonalValue = self._personal(DEBTOR, debtor_name, "debtor_name")
        else:
            owner = self.data.get("owner", {}).get("name")
            if not isinstance(owner, PersonalData):
                raise InvalidCommand(
                    "debtor_name", "the owner's name is not on file: name the debtor"
                )
            debtor = owner
        address = (
            self._personal(DEBTOR, debtor_address, "debtor_address")
            if debtor_address is not None
            else None
        )
        self._connection_charge_assessed(
            status=SewerConnectionStatus.CHARGE_ASSESSED,
            actor=record,
            at=at,
            amount=amount,
            rules=applied,
            legal_basis=f"{CHARGE_LEGAL_BASIS}; Schuldner: {DEBTOR_LEGAL_BASIS}",
            tariff_day=built_on,
            debtor=debtor,
            debtor_address=address,
            remedy_notice=remedy_notice(self.tenant, self.MATTER),
            payment_note=NO_SUSPENSION_NOTE,
            issuing_authority=authorities_of(self.tenant).issuing_authority(self.MATTER),
        )

    class ConnectionChargeAssessed(ChangesStatus):
        """The connection charge was assessed (Kostenersatzbescheid), not yet notified.

        Version 3 added the notice's parts: legal basis, the tariff's day, the debtor and
        their address, the remedy notice, the note on payment, the issuing authority.
        Assessments recorded before have none of them (their debtor is the owner in the
        application; their tariff was the one of the assessment's day).
        """

        class_version = 3
        upcast_v1_v2 = leads_to(SewerConnectionStatus.CHARGE_ASSESSED)
        actor: ActorRecord
        at: datetime
        amount: Decimal
        rules: RulesApplied
        legal_basis: str | None
        tariff_day: date | None
        debtor: PersonalValue | None
        debtor_address: PersonalValue | None
        remedy_notice: RemedyNotice | None
        payment_note: str | None
        issuing_authority: str | None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.update(
                legal_basis=None,
                tariff_day=None,
                debtor=None,
                debtor_address=None,
                remedy_notice=None,
                payment_note=None,
                issuing_authority=None,
            )

    @event(ConnectionChargeAssessed)
    def _connection_charge_assessed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        amount: Decimal,
        rules: RulesApplied,
        legal_basis: str | None,
        tariff_day: date | None,
        debtor: PersonalValue | None,
        debtor_address: PersonalValue | None,
        remedy_notice: RemedyNotice | None,
        payment_note: str | None,
        issuing_authority: str | None,
        status: str,
    ) -> None:
        self.connection_charge = Decimal(amount)
        self.charge_rules = rules
        self.charge = ChargeAssessment(
            assessed_on=berlin_date(at),
            amount=Decimal(amount),
            rules=rules,
            legal_basis=legal_basis,
            tariff_day=tariff_day,
            debtor=debtor,
            debtor_address=debtor_address,
            remedy_notice=remedy_notice,
            payment_note=payment_note,
            issuing_authority=issuing_authority,
        )
        self.status = status
        self.last_activity_at = at

    def charge_assessment_number(self) -> int:
        """The Kostenersatzbescheid, once assessed (one per connection)."""
        if self.charge is None:
            raise InvalidCommand("kind", "no connection charge has been assessed")
        return 1

    def addressee_of(self, kind: DocumentKind) -> str:
        """The charge assessment goes to its debtor where one was named, else the applicant."""
        charge = self.charge
        debtor = charge.debtor if charge is not None else None
        if (
            kind is DocumentKind.CHARGE_ASSESSMENT
            and debtor is not None
            and debtor.subject == DEBTOR
        ):
            return DEBTOR
        return super().addressee_of(kind)

    def notify_connection_charge(
        self,
        *,
        actor: Actor,
        at: datetime,
        delivery: notification.Delivery = notification.Delivery.LETTER,
        sent_on: date | None = None,
        received_on: date | None = None,
    ) -> None:
        """Record the Bekanntgabe of the charge assessment: it takes effect, falls due and can
        be objected to from the day the delivery sets (§ 41 HVwVfG, domain/rules/notification).

        The due date follows by the statute's rule in force on that day (``CHARGE_DUE``);
        the objection period is the remedy notice's (§ 70 VwGO; a year without, § 58 (2)).
        """
        record = self._begin("notify_connection_charge", actor, at)
        charge = self.charge
        if charge is None:  # the lifecycle offers this only after an assessment
            raise InvalidCommand("connection_charge", "no charge has been assessed")
        if charge.notified_on is not None:
            raise InvalidCommand(
                "charge_notification", f"the assessment was notified on {charge.notified_on}"
            )
        today = berlin_date(at)
        sent = sent_on or today
        if sent < charge.assessed_on:
            raise InvalidCommand("sent_on", "the assessment cannot be sent before it was made")
        if sent > today:
            raise InvalidCommand("sent_on", "must not lie in the future")
        if received_on is not None and received_on > today:
            raise InvalidCommand("received_on", "must not lie in the future")
        rule = notification.rule_on(sent)
        day = rule.notified_on(delivery, sent, received_on)
        due = in_force(CHARGE_DUE, day)
        # An assessment recorded before the notice's parts were names no remedy notice: the
        # objection is then admissible for a year from the Bekanntgabe (§ 58 (2) VwGO).
        months = (
            charge.remedy_notice.period_months
            if charge.remedy_notice
            else PERIOD_WITHOUT_NOTICE_MONTHS
        )
        self._connection_charge_notified(
            actor=record,
            at=at,
            delivery=delivery.value,
            sent_on=sent,
            received_on=received_on,
            notified_on=day,
            due_on=due.due_on(day),
            objection_deadline=period_end(day, months),
            notification_rules=rule.record(delivery, sent, received_on, day),
            due_rules=due.record(day),
        )

    class ConnectionChargeNotified(Case.Event):
        """The charge assessment was notified: its due date and objection deadline follow."""

        actor: ActorRecord
        at: datetime
        delivery: str
        sent_on: date
        received_on: date | None
        notified_on: date
        due_on: date
        objection_deadline: date
        notification_rules: RulesApplied
        due_rules: RulesApplied

    @event(ConnectionChargeNotified)
    def _connection_charge_notified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        delivery: str,
        sent_on: date,
        received_on: date | None,
        notified_on: date,
        due_on: date,
        objection_deadline: date,
        notification_rules: RulesApplied,
        due_rules: RulesApplied,
    ) -> None:
        if self.charge is not None:
            self.charge = replace(
                self.charge,
                notified_on=notified_on,
                due_on=due_on,
                objection_deadline=objection_deadline,
                notification={
                    "delivery": delivery,
                    "sent_on": sent_on,
                    "received_on": received_on,
                    "rules": [notification_rules, due_rules],
                },
            )
        self.last_activity_at = at

    # -------------------------------------------------------------------- state

    def service_state(self) -> dict[str, Any]:
        """Connection point, construction, acceptance inspections and the charge."""
        point = self.connection_point
        owner = self.data.get("owner", {}).get("name")
        return {
            "connection_point": point.as_terms() if point else None,
            "applicant_is_owner": self.application.applicant_is_owner,
            "owner_authorisation": self.owner_authorisation,
            "drainage_plans": self.drainage_plans,
            "construction_completed_on": self.construction_completed_on,
            "pipe_length_m": self.pipe_length_m,
            "built_by": self.built_by,
            "leak_tests": [
                {
                    "tested_on": t.tested_on,
                    "method": t.method,
                    "result": "passed" if t.passed else "failed",
                    "tester": t.tester,
                }
                for t in self.leak_tests
            ],
            "inspections": self.acceptance.dates,
            "open_defects": list(self.acceptance.open_defects),
            "remedy_by": self.acceptance.remedy_by,
            "accepted_on_leak_test_of": self.accepted_on_leak_test_of,
            "finally_built_on": self.finally_built_on,
            "connection_charge": self.connection_charge,
            "charge_rules": self.charge_rules,
            "charge_assessment": self.charge.as_state(owner) if self.charge else None,
        }

    def check_closable(self, at: datetime) -> None:
        """Close once the charge assessment is notified and unchallengeable by time, once a
        connection the owner's contractor built is accepted (no charge), after a refusal, or
        when a permit lapsed unbuilt."""
        self.check_no_approval_in_force(
            at, "the permit is in force: report the construction, or close after it lapsed"
        )
        if (
            self.status == SewerConnectionStatus.CONNECTION_ACCEPTED
            and self.built_by != ConnectionBuilder.OWNER_CONTRACTOR
        ):
            raise InvalidCommand(
                "connection_charge", "the town built the connection: assess the charge first"
            )
        charge = self.charge
        if self.status == SewerConnectionStatus.CHARGE_ASSESSED and charge is not None:
            if charge.objection_deadline is None:
                raise InvalidCommand(
                    "charge_notification", "notify the charge assessment before closing"
                )
            if berlin_date(at) <= charge.objection_deadline:
                raise InvalidCommand(
                    "at",
                    "the objection period against the charge assessment runs until "
                    f"{charge.objection_deadline}",
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
    built_by: Literal["town", "owner_contractor"] = Field(
        default="town",
        description="Who built it in public ground: town (the town or its contractor; the "
        "owner reimburses the costs, § 12 KAG) or owner_contractor (the owner's specialist "
        "contractor under the statute; no charge).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"completed_on": "2026-06-12", "pipe_length_m": "8.50", "built_by": "town"}
            ]
        },
    )


class PlanBody(CommandBody):
    """One drawing: its kind and date."""

    kind: Literal["site_plan", "floor_plan", "longitudinal_section", "drainage_calculation"]
    dated_on: date


class DrainagePlansReceived(CommandBody):
    """Drainage plans (Entwässerungspläne) received after the application."""

    received_on: date
    plans: list[PlanBody] = Field(min_length=1, max_length=30)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "received_on": "2026-03-05",
                    "plans": [
                        {"kind": "site_plan", "dated_on": "2026-02-27"},
                        {"kind": "longitudinal_section", "dated_on": "2026-02-27"},
                    ],
                }
            ]
        },
    )


def plans_arguments(body: DrainagePlansReceived) -> Mapping[str, Any]:
    """The plans as the domain takes them: (kind, dated_on)."""
    return {
        "received_on": body.received_on,
        "plans": [(PlanKind(p.kind), p.dated_on) for p in body.plans],
    }


class OwnerAuthorisationReceived(CommandBody):
    """The owner's written authorisation of someone else's application."""

    kind: Literal["power_of_attorney", "consent"] = Field(
        description="power_of_attorney (Vollmacht) or consent (Zustimmungserklärung)."
    )
    signed_on: date

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "power_of_attorney", "signed_on": "2026-02-20"}]},
    )


class LeakTestReport(CommandBody):
    """A leak test of the connection (Dichtheitsprüfung nach DIN EN 1610)."""

    tested_on: date
    method: Literal["water", "air"] = Field(description="water (W) or air (L), DIN EN 1610.")
    result: Literal["passed", "failed"]
    tester: ShortText = Field(description="Who tested (company and person).")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tested_on": "2026-06-12",
                    "method": "air",
                    "result": "passed",
                    "tester": "Kanaltechnik Weiltal GmbH, Uwe Hartmann",
                }
            ]
        },
    )


def leak_test_arguments(body: LeakTestReport) -> Mapping[str, Any]:
    """The report as the domain takes it: passed as a flag."""
    return {
        "tested_on": body.tested_on,
        "method": LeakTestMethod(body.method),
        "passed": body.result == "passed",
        "tester": body.tester,
    }


class ChargeAssessmentBody(CommandBody):
    """Whom the Kostenersatzbescheid is addressed to, if not the owner in the application."""

    debtor_name: ShortText | None = Field(
        default=None,
        description="The owner at the Bekanntgabe (§ 12 (3) with § 11 (7) KAG), if the plot "
        "changed hands; the owner in the application if omitted.",
    )
    debtor_address: ShortText | None = Field(
        default=None, description="Postal address for the notice."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "debtor_name": "Jonas Keller",
                    "debtor_address": "Am Hattsteiner Weg 7, 61250 Usingen",
                }
            ]
        },
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
            "record_drainage_plans",
            "drainage-plans",
            "Sewer connection: drainage plans received",
            "During review: drawings received after the application, each with its kind and "
            "date; a permit needs those the statute lists.",
            body=DrainagePlansReceived,
            arguments=plans_arguments,
        ),
        sewer_step(
            "record_owner_authorisation",
            "owner-authorisation",
            "Sewer connection: the owner's authorisation received",
            "During review, when the applicant is not the owner: a permit needs it.",
            body=OwnerAuthorisationReceived,
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
            "record_leak_test",
            "leak-tests",
            "Sewer connection: record a leak test",
            "Dichtheitsprüfung (DIN EN 1610), passed or failed; an acceptance needs a passed "
            "one. By the owner's side through the portal or by staff.",
            roles=APPLICANT_AND_STAFF,
            body=LeakTestReport,
            arguments=leak_test_arguments,
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
            "Kostenersatzbescheid (§ 12 KAG) for works the town carried out, by the tariff of "
            "the day the connection was finally built: flat for the kind of drainage plus "
            "metres beyond those included; addressed to the owner at the Bekanntgabe.",
            body=ChargeAssessmentBody,
            body_optional=True,
        ),
        sewer_step(
            "notify_connection_charge",
            "connection-charge/notification",
            "Sewer connection: the charge assessment was notified",
            "How the assessment was sent; the day of notification follows by law (§ 41 "
            "HVwVfG), and from it the due date and the objection period.",
            body=Notify,
            arguments=notification_arguments,
        ),
    ),
)


# ------------------------------------------------------------------ timers
# Registered with the scheduler (domain/timers.py): the connection charge falling due.

CHARGE_FALLS_DUE: Final = TimerKind(
    name="sewer_connection_charge_due",
    summary="The connection charge falls due today: a notice for the clerk (the cash office "
    "checks the payment).",
    fires=Fires.ON_THE_DAY,
    action=Notice(Addressee.ASSIGNEE),
)


@CHARGE_FALLS_DUE.on(SewerConnection.ConnectionChargeNotified)
def _charge_notified(event: SewerConnection.ConnectionChargeNotified, due: Due) -> Due:
    # The due date the versioned rule gave from the Bekanntgabe of the assessment.
    return Due(event.due_on)


CHARGE_FALLS_DUE.ends_on(Case.Withdrawn, Case.Closed)
TIMER_KINDS.register(CHARGE_FALLS_DUE)

"""The service catalogue: what each service is, its data, periods, fees and retention."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from eventsourcing.domain import Aggregate
from pydantic import BaseModel

from domain.actor import Actor
from domain.case import Case
from domain.commands import Acting, SharedAggregates, Steps
from domain.errors import InvalidCommand
from domain.retention import (
    Retention,
    RetentionNeed,
    catalogue_retention,
    check_tenant_settings,
    tenant_retention,
)
from domain.rules import cemetery as cemetery_rules
from domain.rules import dangerous_dogs
from domain.rules import dog_tax as dog_tax_rules
from domain.rules import resident_parking as parking_rules
from domain.rules import sewer_connection as sewer_rules
from domain.rules import traffic_sign_order as sign_rules
from domain.rules.road_opening import FEE_TARIFFS, LEAD_TIMES, in_force
from domain.services import (
    burial,
    dog_application,
    dog_registration,
    dog_steps,
    general,
    grave_right,
    headstone_permit,
    holiday_registration,
    market_stall,
    market_stall_steps,
    resident_parking,
    road_opening,
    sewer_connection,
    traffic_sign_order,
    water_reading,
)
from domain.tenants import tenant as tenant_by_id

SubmissionStep = Callable[[Case, Acting], Sequence[Aggregate]]


@dataclass(frozen=True)
class ServiceDefinition:
    """One service: its case type, application data model and the facts a citizen needs."""

    id: str
    label_de: str
    label_en: str
    case_class: type[Case]
    application_model: type[BaseModel]
    legal_basis: str
    # Its own retention and whether its files hold fee assessments (domain.retention).
    retention: RetentionNeed
    example: Callable[[date], dict[str, Any]]  # an application the API accepts on that day
    lead_time: Callable[[date], int] | None = None  # working days, by the rules in force
    tariff: Callable[[date], dict[str, Any]] | None = None
    check_application: Callable[[BaseModel, date], None] | None = None
    # The service's own events, labelled for people: event name → (German, English).
    event_labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The service's own steps, each declared once: the pipeline runs them, the API posts them.
    steps: Steps | None = None
    # Run in the same save as the submission: checks the new case against aggregates cases
    # share (a meter) and records on them; returns those it changed. A lost race is decided
    # again from a fresh load; an ``InvalidCommand`` refuses the submission (nothing stored).
    on_submission: SubmissionStep | None = None
    # The shared aggregate a submission records on, named from its town and raw data (an
    # offering, a meter), or None. Submissions naming the same one are decided one after
    # another within a process: all but one would lose the race on its version anyway, and
    # each retry loads it again. Other processes still race and retry.
    meets_at: Callable[[str, Mapping[str, Any]], str | None] | None = None
    # Examples per town, for a service whose applications name what a town has open now (an
    # offering of the holiday programme): town → an application it accepts at that moment;
    # towns with nothing open are absent. ``example`` stays the form's shape.
    town_examples: Callable[[date, Any], Mapping[str, dict[str, Any]]] | None = None
    # The application's field that names what the town opened (refused while nothing is).
    opened_by: str = "data"
    # The data subjects of a case its service withholds from a reader (a child's health notes
    # from staff who are not the offering's), given the aggregates cases share.
    withheld_from: Callable[[Case, Actor, SharedAggregates], frozenset[str]] | None = None

    @property
    def deemed_approval(self) -> bool:
        """§ 42a HVwVfG applies only where a legal rule orders it: the case type says so."""
        return self.case_class.DEEMED_APPROVAL

    @property
    def processing_period_working_days(self) -> int:
        """The target processing period, from the case type."""
        return self.case_class.PROCESSING_PERIOD_WORKING_DAYS

    def retention_on(self, on: date) -> Retention:
        """The catalogue's retention of this service's files by the rules in force on a day."""
        return catalogue_retention(self.retention, on)

    def validate(self, data: Mapping[str, Any], submitted_on: date) -> BaseModel:
        """The application data as the service's model; rule violations name their field."""
        model = self.application_model.model_validate(dict(data))
        if self.check_application is not None:
            self.check_application(model, submitted_on)
        return model


def checked_by(
    model_class: type[BaseModel], what: str, method: str = "check"
) -> Callable[[BaseModel, date], None]:
    """A service's check of its application on the day of submission: the model's own
    ``method`` (rules that need the day, e.g. a lead time), refusing any other model."""

    def check(model: BaseModel, submitted_on: date) -> None:
        if not isinstance(model, model_class):
            raise InvalidCommand("data", f"not {what}")
        getattr(model, method)(submitted_on)

    return check


def _road_opening_tariff(on: date) -> dict[str, Any]:
    tariff = in_force(FEE_TARIFFS, on)
    return {
        "version": tariff.version,
        "valid_from": tariff.valid_from.isoformat(),
        "base_fee": str(tariff.base_fee),
        "per_square_metre": str(tariff.per_square_metre),
        "minimum": str(tariff.minimum),
        "maximum": str(tariff.maximum),
        "currency": "EUR",
    }


def _resident_parking_tariff(on: date) -> dict[str, Any]:
    """Per town: the tariff and the zone plan in force (zones are per-town configuration)."""
    towns: dict[str, Any] = {}
    for tenant in parking_rules.TARIFFS:
        fees = parking_rules.tariff(tenant, on)
        plan = parking_rules.zone_plan(tenant, on)
        towns[tenant] = {
            "version": fees.version,
            "valid_from": fees.valid_from.isoformat(),
            "annual_fee": str(fees.annual_fee),
            "plate_change_fee": str(fees.plate_change_fee),
            "zone_plan_version": plan.version,
            "max_validity_months": plan.max_validity_months,
            "secondary_residence_allowed": plan.secondary_residence_allowed,
            "zones": [{"id": z.id, "name": z.name, "streets": list(z.streets)} for z in plan.zones],
        }
    return {"currency": "EUR", "charged": "per started month of validity", "towns": towns}


def _sewer_connection_tariff(on: date) -> dict[str, Any]:
    tariff = in_force(sewer_rules.TARIFFS, on)
    return {
        "version": tariff.version,
        "valid_from": tariff.valid_from.isoformat(),
        "permit_fee": str(tariff.permit_fee),
        "connection_charge": {
            "foul_water": str(tariff.foul_water),
            "rainwater": str(tariff.rainwater),
            "combined": str(tariff.combined),
            "included_length_m": str(tariff.included_length_m),
            "per_metre_beyond": str(tariff.per_metre_beyond),
        },
        "currency": "EUR",
    }


def _traffic_sign_order_tariff(on: date) -> dict[str, Any]:
    tariff = in_force(sign_rules.TARIFFS, on)
    return {
        "version": tariff.version,
        "valid_from": tariff.valid_from.isoformat(),
        "base_fee": str(tariff.base_fee),
        "daily_rate_by_zone_length_m": [
            {"up_to": None if b.up_to is None else str(b.up_to), "rate": str(b.rate)}
            for b in tariff.daily_rates
        ],
        "minimum": str(tariff.minimum),
        "maximum": str(tariff.maximum),
        "signs_up_days_ahead": in_force(sign_rules.SIGN_SETUPS, on).days_ahead,
        "currency": "EUR",
    }


def _grave_right_tariff(on: date) -> dict[str, Any]:
    """Per town: the yearly fee of each Wahlgrab type and the initial term of its right."""
    towns: dict[str, Any] = {}
    for tenant in cemetery_rules.TARIFFS:
        fees = cemetery_rules.tariff(tenant, on)
        terms = cemetery_rules.grave_right_terms(tenant, on)
        per_year = dict(fees.grave_use_per_year)
        towns[tenant] = {
            "version": fees.version,
            "valid_from": fees.valid_from.isoformat(),
            "terms_version": terms.version,
            "grave_types": {
                grave_type.value: {"per_year": str(per_year[grave_type]), "initial_years": years}
                for grave_type, years in terms.initial_years
            },
        }
    return {
        "currency": "EUR",
        "charged": "per year of use: the initial term when acquired, whole years when extended",
        "towns": towns,
    }


def _burial_tariff(on: date) -> dict[str, Any]:
    """Per town: burial by kind, chapel, grave use per year (extensions pro rata)."""
    towns: dict[str, Any] = {}
    for tenant in cemetery_rules.TARIFFS:
        fees = cemetery_rules.tariff(tenant, on)
        towns[tenant] = {
            "version": fees.version,
            "valid_from": fees.valid_from.isoformat(),
            "burial": {kind.value: str(fee) for kind, fee in fees.burial},
            "chapel": str(fees.chapel),
            "grave_use_per_year": {t.value: str(fee) for t, fee in fees.grave_use_per_year},
        }
    periods = cemetery_rules.burial_periods(on)
    return {
        "currency": "EUR",
        "charged": "burial by kind, chapel if used, a new grave's rest period or a grave "
        "right's extension by whole years",
        "burial_periods": {
            "version": periods.version,
            "earliest_hours": periods.earliest_hours,
            "latest_coffin_hours": periods.latest_coffin_hours,
            "latest_urn_weeks_after_cremation": periods.latest_urn_weeks_after_cremation,
        },
        "towns": towns,
    }


def _headstone_permit_tariff(on: date) -> dict[str, Any]:
    """Per town: the headstone permit fee of the cemetery tariff."""
    towns = {}
    for tenant in cemetery_rules.TARIFFS:
        fees = cemetery_rules.tariff(tenant, on)
        towns[tenant] = {"version": fees.version, "headstone_permit": str(fees.headstone_permit)}
    return {"currency": "EUR", "towns": towns}


def _dog_tax_tariff(on: date) -> dict[str, Any]:
    """Per town: the yearly rates, the reliefs, the replacement tag's fee; the listed breeds."""
    towns: dict[str, Any] = {}
    for tenant in dog_tax_rules.TARIFFS:
        rates = dog_tax_rules.tariff_in_force(tenant, on)
        towns[tenant] = {
            "version": rates.version,
            "valid_from": rates.valid_from.isoformat(),
            "first_dog": str(rates.first),
            "second_dog": str(rates.second),
            "further_dog": str(rates.further),
            "dangerous_dog": str(rates.dangerous),
            "reliefs": {
                rule.reason.value: {
                    "share": str(rule.share),
                    "months": rule.months,
                    "for_dangerous_dogs": rule.for_dangerous_dogs,
                }
                for rule in rates.reliefs
            },
            "tag_replacement_fee": str(rates.tag_replacement_fee),
            "payable_on": f"{rates.payable_on[1]:02d}.{rates.payable_on[0]:02d}.",
        }
    danger = dangerous_dogs.rules_on(on)
    return {
        "currency": "EUR",
        "charged": "per year, a twelfth per month from the month after the dog was taken in "
        "(and three months old) to the month of its deregistration",
        "dangerous_dogs": {
            "version": danger.version,
            "listed_breeds": list(danger.listed_breeds),
            "minimum_keeper_age": danger.minimum_keeper_age,
        },
        "towns": towns,
    }


SERVICES: Final[Mapping[str, ServiceDefinition]] = MappingProxyType(
    {
        general.SERVICE_ID: ServiceDefinition(
            id=general.SERVICE_ID,
            label_de="Allgemeines Anliegen",
            label_en="General request",
            case_class=Case,
            application_model=general.GeneralRequest,
            legal_basis="§ 22 HVwVfG (Beginn des Verfahrens)",
            retention=RetentionNeed(
                own_years=6,
                reason="Aufbewahrungsfrist des Katalogs (ohne Gebühr, also ohne Belege)",
                holds_fee_assessments=False,
            ),
            example=lambda _on: dict(general.EXAMPLE),
        ),
        road_opening.SERVICE_ID: ServiceDefinition(
            id=road_opening.SERVICE_ID,
            label_de="Aufgrabungsgenehmigung (Aufbruch einer Straße)",
            label_en="Road opening permit",
            case_class=road_opening.RoadOpeningPermit,
            application_model=road_opening.RoadOpeningApplication,
            legal_basis="§§ 16, 18 Hessisches Straßengesetz (Sondernutzung)",
            retention=RetentionNeed(
                own_years=10,
                reason="Aufbewahrungsfrist des Katalogs",
                holds_fee_assessments=True,
            ),
            example=road_opening.example,
            lead_time=lambda on: in_force(LEAD_TIMES, on).working_days,
            tariff=_road_opening_tariff,
            check_application=checked_by(
                road_opening.RoadOpeningApplication, "a road opening application", "check_lead_time"
            ),
            event_labels=road_opening.EVENT_LABELS,
            steps=road_opening.STEPS,
        ),
        resident_parking.SERVICE_ID: ServiceDefinition(
            id=resident_parking.SERVICE_ID,
            label_de="Bewohnerparkausweis",
            label_en="Resident parking permit",
            case_class=resident_parking.ResidentParkingPermit,
            application_model=resident_parking.ResidentParkingApplication,
            legal_basis=resident_parking.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=3,
                reason="Aufbewahrungsfrist des Katalogs",
                holds_fee_assessments=True,  # the permit's fee is assessed in the file
            ),
            example=resident_parking.example,
            tariff=_resident_parking_tariff,
            check_application=checked_by(
                resident_parking.ResidentParkingApplication, "a resident parking application"
            ),
            event_labels=resident_parking.EVENT_LABELS,
            steps=resident_parking.STEPS,
        ),
        sewer_connection.SERVICE_ID: ServiceDefinition(
            id=sewer_connection.SERVICE_ID,
            label_de="Hausanschluss an die Kanalisation (Entwässerungsantrag)",
            label_en="Sewer house connection",
            case_class=sewer_connection.SewerConnection,
            application_model=sewer_connection.SewerConnectionApplication,
            legal_basis=sewer_connection.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=30,
                reason="Der Anschluss bleibt im Kanalkataster, solange er besteht",
                holds_fee_assessments=True,
            ),
            example=sewer_connection.example,
            tariff=_sewer_connection_tariff,
            event_labels=sewer_connection.EVENT_LABELS,
            steps=sewer_connection.STEPS,
        ),
        traffic_sign_order.SERVICE_ID: ServiceDefinition(
            id=traffic_sign_order.SERVICE_ID,
            label_de="Verkehrsrechtliche Anordnung (z. B. Halteverbot für Umzug oder Baustelle)",
            label_en="Traffic sign order",
            case_class=traffic_sign_order.TrafficSignOrder,
            application_model=traffic_sign_order.TrafficSignOrderApplication,
            legal_basis=traffic_sign_order.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=3,
                reason="Aufbewahrungsfrist des Katalogs",
                holds_fee_assessments=True,  # the order's fee is assessed in the file
            ),
            example=traffic_sign_order.example,
            lead_time=lambda on: in_force(sign_rules.LEAD_TIMES, on).working_days,
            tariff=_traffic_sign_order_tariff,
            check_application=checked_by(
                traffic_sign_order.TrafficSignOrderApplication,
                "a traffic sign order application",
                "check_lead_time",
            ),
            event_labels=traffic_sign_order.EVENT_LABELS,
            steps=traffic_sign_order.STEPS,
        ),
        grave_right.SERVICE_ID: ServiceDefinition(
            id=grave_right.SERVICE_ID,
            label_de="Nutzungsrecht an einer Wahlgrabstätte (Erwerb, Verlängerung, Übertragung, "
            "Rückgabe)",
            label_en="Grave right (acquire, extend, transfer, return)",
            case_class=grave_right.GraveRightCase,
            application_model=grave_right.GraveRightApplication,
            legal_basis=grave_right.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=30,
                reason="Die Geschichte des Nutzungsrechts bleibt für dessen Laufzeit bei der "
                "Grabstätte",
                holds_fee_assessments=True,
            ),
            example=grave_right.example,
            tariff=_grave_right_tariff,
            event_labels=grave_right.EVENT_LABELS,
            steps=grave_right.STEPS,
        ),
        headstone_permit.SERVICE_ID: ServiceDefinition(
            id=headstone_permit.SERVICE_ID,
            label_de="Grabmalgenehmigung",
            label_en="Headstone permit",
            case_class=headstone_permit.HeadstonePermit,
            application_model=headstone_permit.HeadstonePermitApplication,
            legal_basis=headstone_permit.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=30,
                reason="Die Standsicherheitsprüfungen laufen, solange das Grabmal steht",
                holds_fee_assessments=True,
            ),
            example=headstone_permit.example,
            tariff=_headstone_permit_tariff,
            event_labels=headstone_permit.EVENT_LABELS,
            steps=headstone_permit.STEPS,
        ),
        burial.SERVICE_ID: ServiceDefinition(
            id=burial.SERVICE_ID,
            label_de="Bestattungsanmeldung",
            label_en="Burial registration",
            case_class=burial.BurialRegistration,
            application_model=burial.BurialApplication,
            legal_basis=burial.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=30,
                reason="Solange die gesetzten Ruhefristen laufen",
                holds_fee_assessments=True,
            ),
            example=burial.example,
            tariff=_burial_tariff,
            check_application=checked_by(burial.BurialApplication, "a burial registration"),
            event_labels=burial.EVENT_LABELS,
            steps=burial.STEPS,
        ),
        dog_registration.SERVICE_ID: ServiceDefinition(
            id=dog_registration.SERVICE_ID,
            label_de="Hundeanmeldung und Hundesteuer (An- und Abmeldung, Steuermarke)",
            label_en="Dog registration and dog tax",
            case_class=dog_registration.DogRegistration,
            application_model=dog_application.DogRegistrationApplication,
            legal_basis=dog_registration.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=10,
                reason="Steuerakte: die Festsetzungen bleiben über die Haltung hinaus prüfbar",
                holds_fee_assessments=True,
            ),
            example=dog_application.example,
            tariff=_dog_tax_tariff,
            check_application=checked_by(
                dog_application.DogRegistrationApplication, "a dog registration"
            ),
            event_labels=dog_registration.EVENT_LABELS,
            steps=dog_steps.STEPS,
        ),
        water_reading.SERVICE_ID: ServiceDefinition(
            id=water_reading.SERVICE_ID,
            label_de="Zählerstandsmeldung Wasser (Ablesung)",
            label_en="Water meter reading",
            case_class=water_reading.WaterMeterReading,
            application_model=water_reading.MeterReadingApplication,
            legal_basis=water_reading.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=10,
                reason="Grundlage der Wasser- und Abwassergebühren (Verbrauch je Jahr)",
                holds_fee_assessments=False,
            ),
            example=water_reading.example,
            check_application=checked_by(
                water_reading.MeterReadingApplication, "a water meter reading"
            ),
            event_labels=water_reading.EVENT_LABELS,
            steps=water_reading.STEPS,
            on_submission=water_reading.check_at_submission,
            meets_at=water_reading.meter_met_at,
        ),
        holiday_registration.SERVICE_ID: ServiceDefinition(
            id=holiday_registration.SERVICE_ID,
            label_de="Anmeldung zu den Ferienspielen",
            label_en="Holiday programme registration",
            case_class=holiday_registration.HolidayRegistration,
            application_model=holiday_registration.HolidayRegistrationApplication,
            legal_basis=holiday_registration.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=3,
                reason="Teilnahme und Beitrag der Ferienspiele (Gesundheitsangaben werden nach "
                "dem Angebot gelöscht)",
                holds_fee_assessments=True,  # each place's fee is charged in the file
            ),
            example=holiday_registration.example,
            tariff=holiday_registration.tariff,
            check_application=checked_by(
                holiday_registration.HolidayRegistrationApplication, "a holiday registration"
            ),
            event_labels=holiday_registration.EVENT_LABELS,
            steps=holiday_registration.STEPS,
            on_submission=holiday_registration.register_at_submission,
            meets_at=holiday_registration.offering_met_at,
            town_examples=holiday_registration.town_examples,
            opened_by="data.offering",
            withheld_from=holiday_registration.withheld_health,
        ),
        market_stall.SERVICE_ID: ServiceDefinition(
            id=market_stall.SERVICE_ID,
            label_de="Standplatz auf Kerb oder Weihnachtsmarkt (Standplatzvergabe)",
            label_en="Market stall (fair or Christmas market pitch)",
            case_class=market_stall.MarketStallApplication,
            application_model=market_stall.MarketStallApplicationForm,
            legal_basis=market_stall.LEGAL_BASIS,
            retention=RetentionNeed(
                own_years=6,
                reason="Zulassung und Standgeld je Markt; die Auswahl bleibt für spätere "
                "Vergaben und Rechtsstreitigkeiten nachvollziehbar",
                holds_fee_assessments=True,  # the pitch fee and deposit are charged in the file
            ),
            example=market_stall_steps.example,
            tariff=market_stall_steps.tariff,
            check_application=checked_by(
                market_stall.MarketStallApplicationForm, "a market stall application"
            ),
            event_labels=market_stall.EVENT_LABELS,
            steps=market_stall_steps.STEPS,
            on_submission=market_stall_steps.apply_at_submission,
            meets_at=market_stall_steps.market_met_at,
            town_examples=market_stall_steps.town_examples,
            opened_by="data.market",
        ),
    }
)


def retention_for(tenant_id: str, service_id: str, on: date) -> Retention:
    """A town's retention of a service's files on a day: its own setting, else the catalogue's.

    Raises ``UnknownTenant``, ``KeyError`` for an unknown service, and
    ``RetentionBelowMinimum`` where the town's setting is shorter than the catalogue's.
    """
    definition = SERVICES[service_id]
    return tenant_retention(tenant_by_id(tenant_id), service_id, definition.retention, on)


def check_retention_settings(tenant_id: str, on: date) -> None:
    """Refuse a town's retention settings below the catalogue's or naming no service."""
    needs = {service_id: d.retention for service_id, d in SERVICES.items()}
    check_tenant_settings(tenant_by_id(tenant_id), needs, on)

"""The service catalogue: what can be applied for, with schemas, periods, fees and examples.

Most services' example is accepted in every town on the day it is fetched. A service whose
applications name something a town publishes (a holiday offering open for registration, a
market open for applications) has an example per town instead (``examples_by_town``), read
from what the towns have open now; while the database cannot be read, the entry says so
(``example_note``) rather than failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request

from api.access import public
from api.problems import DATABASE_DOWN, PROBLEM_JSON, NotFound, ServiceUnavailable
from api.routes.holiday import holiday_of
from api.routes.markets import markets_of
from api.schemas import ServiceOut
from application.facade import Facade
from domain.services.catalogue import SERVICES, ServiceDefinition
from domain.services.holiday_registration import OfferingSummary
from domain.services.market_stall_steps import MarketSummary
from domain.tenants import TENANTS
from domain.working_days import BERLIN

catalogue = APIRouter(prefix="/api/v1/services", tags=["catalogue"])

UNREADABLE: Final = (
    "What the towns have open cannot be read just now (the database is not reachable); "
    "fetch the catalogue again shortly for an example per town."
)


@dataclass(frozen=True)
class OpenInTheTowns:
    """What the towns have open now, for the examples per town: holiday offerings open for
    registration, markets open for applications (each service's ``town_examples`` asks its
    own)."""

    vorgang: Facade

    def open_in(self, tenant: str, at: datetime) -> Sequence[OfferingSummary]:
        """The town's holiday offerings open for registration at ``at``."""
        return holiday_of(self.vorgang).open_in(tenant, at)

    def markets_open_in(self, tenant: str, at: datetime) -> Sequence[MarketSummary]:
        """The town's markets open for applications at ``at``."""
        return markets_of(self.vorgang).markets_open_in(tenant, at)


def service_out(
    definition: ServiceDefinition,
    today: date,
    offerings: OpenInTheTowns | None = None,
    now: datetime | None = None,
) -> ServiceOut:
    """A catalogue entry as of today (tariff and retention in force, an example valid today;
    examples per town by what is open ``now``)."""
    retention = definition.retention_on(today)
    example, by_town, note = _examples(definition, today, now or today, offerings)
    return ServiceOut(
        id=definition.id,
        label_de=definition.label_de,
        label_en=definition.label_en,
        legal_basis=definition.legal_basis,
        processing_period_working_days=definition.processing_period_working_days,
        lead_time_working_days=definition.lead_time(today) if definition.lead_time else None,
        fee_tariff=definition.tariff(today) if definition.tariff else None,
        deemed_approval=definition.deemed_approval,
        retention_years=retention.years,
        retention_legal_basis=retention.legal_basis,
        application_schema=definition.application_model.model_json_schema(),
        example=example,
        examples_by_town=by_town,
        example_note=note,
        event_labels={
            name: {"de": de, "en": en} for name, (de, en) in definition.event_labels.items()
        },
    )


def _examples(
    definition: ServiceDefinition, today: date, now: date, offerings: OpenInTheTowns | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]] | None, str | None]:
    """The example, the examples per town (for services that have them: by what is open
    ``now``) and a note on the towns without one; the example is the first town's, else the
    form's shape."""
    if definition.town_examples is None:
        return definition.example(today), None, None
    if offerings is None:
        return definition.example(today), {}, UNREADABLE
    try:
        found = definition.town_examples(now, offerings)
    except DATABASE_DOWN:  # the catalogue answers while the database is away
        return definition.example(today), {}, UNREADABLE
    by_town = {town: dict(example) for town, example in found.items()}
    missing = [town for town in TENANTS if town not in by_town]
    note = None
    if missing:
        note = (
            f"Nothing is open for applications now in {', '.join(missing)}: an application "
            f"there is refused (naming {definition.opened_by}) until the town opens one."
        )
    example = next(iter(by_town.values())) if by_town else definition.example(today)
    return example, by_town, note


def now(request: Request) -> datetime:
    """The moment, by the clock the app runs on (the one every command uses)."""
    return request.app.state.clock.now()  # type: ignore[no-any-return]


def today(request: Request) -> date:
    """Today in Germany, by the clock the app runs on."""
    return now(request).astimezone(BERLIN).date()


def open_offerings(request: Request) -> OpenInTheTowns | None:
    """What the towns have open, from the process's application; None while the database
    cannot be reached (the catalogue answers without it)."""
    try:
        return OpenInTheTowns(request.app.state.provider.get())
    except ServiceUnavailable:
        return None


@catalogue.get("", summary="The services on offer", **public())
def list_services(request: Request) -> list[ServiceOut]:
    """Every service with the JSON Schema of its application data and an example."""
    offerings = open_offerings(request)
    moment = now(request)
    return [service_out(d, today(request), offerings, moment) for d in SERVICES.values()]


@catalogue.get(
    "/{service}",
    summary="One service",
    **public(),
    responses={404: {"content": {PROBLEM_JSON: {}}, "description": "No such service."}},
)
def get_service(
    request: Request, service: Annotated[str, Path(description="e.g. road-opening")]
) -> ServiceOut:
    """A service with its schema, periods, tariff in force, retention and an example."""
    definition = SERVICES.get(service)
    if definition is None:
        raise NotFound(f"unknown service {service!r}; offered: {', '.join(SERVICES)}")
    offerings = open_offerings(request) if definition.town_examples is not None else None
    return service_out(definition, today(request), offerings, now(request))

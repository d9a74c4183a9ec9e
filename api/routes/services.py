"""The service catalogue: what can be applied for, with schemas, periods, fees and examples."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.access import public
from api.problems import PROBLEM_JSON, NotFound
from api.schemas import ServiceOut
from domain.services.catalogue import SERVICES, ServiceDefinition
from domain.working_days import BERLIN

catalogue = APIRouter(prefix="/api/v1/services", tags=["catalogue"])


def service_out(definition: ServiceDefinition, today: date) -> ServiceOut:
    """A catalogue entry as of today (tariff and retention in force, an example valid today)."""
    retention = definition.retention_on(today)
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
        example=definition.example(today),
        event_labels={
            name: {"de": de, "en": en} for name, (de, en) in definition.event_labels.items()
        },
    )


def today(request: Request) -> date:
    """Today in Germany, by the clock the app runs on (the one every command uses)."""
    return request.app.state.clock.now().astimezone(BERLIN).date()  # type: ignore[no-any-return]


@catalogue.get("", summary="The services on offer", **public())
def list_services(request: Request) -> list[ServiceOut]:
    """Every service with the JSON Schema of its application data and an example."""
    return [service_out(d, today(request)) for d in SERVICES.values()]


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
    return service_out(definition, today(request))

"""Water meters and reading campaigns over HTTP (#26): the town's staff keep them.

Clerks and supervisors install a meter at a property, exchange it (the removal and the new
meter in one save), remove or recalibrate it, correct a reading (the original stays), read a
meter with every reading and replay a recorded check or estimate. They open a campaign per
year, read it with its statistics (the read model's), make its estimates after the deadline
(the scheduler does the day after it by itself) and close it.

The town is the caller's, or the one a delegation names (as every staff route); another
town's meter does not exist for its staff (404, as a case), a list of another town is 403. A
meter number the town has already is 409 naming the field. Readings are cubic metres to the
litre, as a decimal string or a number.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.access import allow
from api.dependencies import ActorDep, FacadeDep, ReadSideDep, SettingsDep
from api.problems import problem
from api.routes.payments import After, MinPosition, checked_after, rows_as
from api.routes.read_models import caught_up, tenant_for
from api.routes.service_steps import PROBLEMS
from api.schemas import CommandBody, ShortText
from application.water_meters import (
    CampaignExists,
    MeterNumberTaken,
    WaterMeterService,
    campaign_view,
)
from domain.actor import Role
from domain.rules.water_meters import LITRE
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter
from projections.water_meters import WaterMeters
from projections.water_query import campaign_statistics, meters_of

router = APIRouter(prefix="/api/v1", tags=["water meters"], responses=PROBLEMS)  # type: ignore[arg-type]

STAFF = (Role.CLERK, Role.SUPERVISOR)
VIEW = WaterMeters.name

MeterId = Annotated[UUID, Path(description="The meter's id, as its installation answered it.")]
Year = Annotated[int, Path(ge=2000, le=2100, description="The campaign's year.")]
CubicMetres = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=16,
        decimal_places=3,
        description="Cubic metres to the litre, as a decimal string or a number.",
        examples=["1234.567"],
    ),
    AfterValidator(lambda value: value.quantize(LITRE)),  # checked first: 101 is 101.000 m³
]
MeterNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=4, max_length=30),
    Field(
        description="The number on the meter (upper case, blanks ignored).",
        examples=["WZ-USI-000123"],
    ),
]
Digits = Annotated[int, Field(ge=1, le=12, description="Whole-number digits of the counter.")]


def water_meter_service(vorgang: FacadeDep) -> WaterMeterService:
    """The meter and campaign use cases of the process."""
    return vorgang.water_meters


WaterMetersDep = Annotated[WaterMeterService, Depends(water_meter_service)]


# ------------------------------------------------------------------ bodies


class InstallMeter(CommandBody):
    """A meter installed at a property of the caller's town."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "meter_number": "WZ-USI-000123",
                    "property_id": "USI-0815",
                    "installed_on": "2024-03-01",
                    "calibration_valid_until": "2029-12-31",
                    "digits": 5,
                    "start_value": "0.000",
                }
            ]
        },
    )

    meter_number: MeterNumber
    property_id: ShortText = Field(description="The property (Verbrauchsstelle) it measures.")
    installed_on: date
    calibration_valid_until: date = Field(description="The last day its calibration is valid.")
    digits: Digits
    start_value: CubicMetres
    main_meter: MeterNumber | None = Field(
        default=None, description="For a garden water sub-meter: the main meter's number."
    )


class CorrectReading(CommandBody):
    """A clerk's correction of the reading of a day, with why (the original stays)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"read_on": "2026-12-06", "value": "1243.567", "reason": "Zahlendreher"}]
        },
    )

    read_on: date
    value: CubicMetres
    reason: ShortText


class NewMeter(CommandBody):
    """The meter that replaces the removed one (same property, installed on the day)."""

    meter_number: MeterNumber
    calibration_valid_until: date
    digits: Digits
    start_value: CubicMetres


class ExchangeMeter(CommandBody):
    """The old meter's removal with its final reading, and the new meter."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "removed_on": "2026-12-07",
                    "final_value": "1250.000",
                    "new": {
                        "meter_number": "WZ-USI-000124",
                        "calibration_valid_until": "2032-12-31",
                        "digits": 5,
                        "start_value": "0.000",
                    },
                }
            ]
        },
    )

    removed_on: date
    final_value: CubicMetres
    rollover_declared: bool = False
    new: NewMeter


class RemoveMeter(CommandBody):
    """The meter's removal with its final reading (the supply ended)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"removed_on": "2026-12-07", "final_value": "1250.000"}]},
    )

    removed_on: date
    final_value: CubicMetres
    rollover_declared: bool = False


class Recalibrate(CommandBody):
    """A new end of the meter's calibration."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"calibration_valid_until": "2032-12-31"}]}
    )

    calibration_valid_until: date


class OpenCampaign(CommandBody):
    """A reading campaign of the caller's town: its year, start and deadline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"year": 2026, "starts_on": "2026-11-16", "deadline": "2026-12-15"}]
        },
    )

    year: int = Field(ge=2000, le=2100)
    starts_on: date
    deadline: date


# ------------------------------------------------------------------ answers


class CalibrationOut(BaseModel):
    """When the meter's calibration runs out, and whether it has today."""

    valid_until: date
    expired: bool
    days_left: int


class ReadingOut(BaseModel):
    """One reading of the meter's history, as recorded."""

    number: int = Field(description="Its place in the history, from 1 (the installation).")
    read_on: date
    value: Decimal
    kind: str = Field(description="installed, reported, estimated, corrected or removed.")
    flags: list[str]
    consumption: Decimal | None
    campaign_year: int | None
    case_id: UUID | None = Field(description="The reading case, if it came from one.")
    corrects: int | None = Field(description="A correction: the number of the reading corrected.")
    reason: str | None
    rules_version: str | None = Field(description="The rules its check or estimate applied.")


class SubMeterOut(BaseModel):
    """A garden water sub-meter under this meter."""

    id: UUID
    meter_number: str


class LastReadingOut(BaseModel):
    """The reading that stands on the latest day read."""

    read_on: date
    value: Decimal
    kind: str


class MeterOut(BaseModel):
    """A meter: its facts, calibration, sub-meters and every reading."""

    id: UUID
    tenant: str
    meter_number: str
    property_id: str
    main_meter_id: UUID | None
    main_meter: str | None
    installed_on: date
    digits: int
    start_value: Decimal
    calibration: CalibrationOut
    sub_meters: list[SubMeterOut]
    last_reading: LastReadingOut
    readings: list[ReadingOut]
    removed_on: date | None
    version: int
    position: int | None = Field(
        default=None, description="Log position of the meter's last event (for min_position)."
    )


class ExchangeOut(BaseModel):
    """The removed meter and the one installed in its place."""

    removed: MeterOut
    installed: MeterOut


class MeterRowOut(BaseModel):
    """A meter in the town's list (the read model's row)."""

    model_config = ConfigDict(extra="ignore")

    meter_id: UUID
    tenant: str
    meter_number: str
    property_id: str
    main_meter: UUID | None
    installed_on: date
    calibration_valid_until: date
    removed_on: date | None
    last_read_on: date | None
    last_value: Decimal
    last_kind: str
    readings: int
    cursor: str = Field(description="Pass as `after` for the meters after this one.")


class ReadingReplayOut(BaseModel):
    """A recorded check or estimate computed again from its record, beside the record."""

    number: int
    kind: str
    rules_id: str
    version: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    matches: bool


class EstimateRunOut(BaseModel):
    """One run of the estimates of a campaign."""

    at: datetime
    estimated: int
    not_estimable: int


class CampaignOut(BaseModel):
    """A reading campaign: its days, its runs of the estimates, and its statistics."""

    id: UUID
    tenant: str
    year: int
    starts_on: date
    deadline: date
    estimates_made_at: datetime | None
    estimate_runs: list[EstimateRunOut]
    closed_at: datetime | None
    version: int
    statistics: dict[str, int] | None = Field(
        default=None,
        description="From the read model: meters (active on the deadline), reported, flagged, "
        "flagged_open, meter_unknown_open, estimated, corrected, missing.",
    )


class EstimatesOut(BaseModel):
    """What a run of the estimates did, meter by meter."""

    tenant: str
    year: int
    estimated: int = Field(description="Estimated by this run, on the deadline day.")
    not_estimable: int = Field(description="No history to estimate from: a clerk estimates.")
    already_read: int = Field(description="A reading was reported for the year.")
    already_estimated: int = Field(description="Estimated by an earlier run.")


# ------------------------------------------------------------------ helpers


def _meter_out(vorgang: FacadeDep, meters: WaterMeterService, meter: WaterMeter) -> MeterOut:
    view = meters.view_of(meter)
    return MeterOut(**view, position=vorgang.positions.of(meter.id, meter.version))


def _taken(error: MeterNumberTaken | CampaignExists) -> JSONResponse:
    """409 naming the field: the town has that meter number, or that year's campaign."""
    return problem(
        409,
        "Already recorded",
        str(error),
        slug="already-recorded",
        errors=[{"in": "body", "field": error.field, "message": str(error)}],
    )


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _campaign_out(campaign: ReadingCampaign, statistics: dict[str, int] | None) -> CampaignOut:
    return CampaignOut(**campaign_view(campaign), statistics=statistics)


# ------------------------------------------------------------------ meters


@router.post(
    "/water-meters",
    status_code=status.HTTP_201_CREATED,
    summary="Install a water meter at a property",
    response_model=MeterOut,
    **allow(*STAFF),
)
def install_meter(
    body: InstallMeter,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> Any:
    """A meter of the caller's town (409 naming ``meter_number`` if the town has it)."""
    try:
        meter = meters.install(
            actor,
            meter_number=body.meter_number,
            property_id=body.property_id,
            installed_on=body.installed_on,
            calibration_valid_until=body.calibration_valid_until,
            digits=body.digits,
            start_value=body.start_value,
            main_meter=body.main_meter,
        )
    except MeterNumberTaken as error:
        return _taken(error)
    response.headers["Location"] = f"/api/v1/water-meters/{meter.id}"
    _tagged(response, meter.version)
    return _meter_out(vorgang, meters, meter)


@router.get("/water-meters", summary="The town's water meters", **allow(*STAFF))
async def list_meters(
    actor: ActorDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    tenant: Annotated[
        str | None, Query(max_length=40, description="Your town (default) or a delegating one.")
    ] = None,
    property_id: Annotated[str | None, Query(max_length=300)] = None,
    meter_number: Annotated[str | None, Query(max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Rows per page.")] = 100,
    after: After = None,
    min_position: MinPosition = None,
) -> list[MeterRowOut]:
    """By meter number, of one property or one number if given (from the read model:
    ``min_position`` waits for a write you made)."""
    town = tenant_for(actor, tenant)
    WaterMeterService.check_keeps_meters(actor, town)
    checked_after(after, str)
    await caught_up(read_side, settings, VIEW, min_position)
    rows = await anyio.to_thread.run_sync(
        lambda: meters_of(
            read_side.views, town, property_id, meter_number, limit=limit, after=after
        )
    )
    return rows_as(rows, MeterRowOut)


@router.get(
    "/water-meters/{meter_id}",
    summary="A water meter: facts, calibration, sub-meters and every reading",
    **allow(*STAFF),
)
def get_meter(
    meter_id: MeterId,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> MeterOut:
    """Another town's meter: 404."""
    meter = meters.meter(actor, meter_id)
    _tagged(response, meter.version)
    return _meter_out(vorgang, meters, meter)


@router.post(
    "/water-meters/{meter_id}/corrections",
    summary="Correct the reading of a day (the original stays in the history)",
    **allow(*STAFF),
)
def correct_reading(
    meter_id: MeterId,
    body: CorrectReading,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> MeterOut:
    """The correction names the reading it corrects and why."""
    meter = meters.correct(
        actor, meter_id, read_on=body.read_on, value=body.value, reason=body.reason
    )
    _tagged(response, meter.version)
    return _meter_out(vorgang, meters, meter)


@router.post(
    "/water-meters/{meter_id}/exchange",
    summary="Exchange a meter: its removal and the new meter, in one save",
    response_model=ExchangeOut,
    **allow(*STAFF),
)
def exchange_meter(
    meter_id: MeterId,
    body: ExchangeMeter,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> Any:
    """The new meter is installed at the property on the removal day."""
    try:
        old, new = meters.exchange(
            actor,
            meter_id,
            removed_on=body.removed_on,
            final_value=body.final_value,
            rollover_declared=body.rollover_declared,
            meter_number=body.new.meter_number,
            calibration_valid_until=body.new.calibration_valid_until,
            digits=body.new.digits,
            start_value=body.new.start_value,
        )
    except MeterNumberTaken as error:
        return _taken(error)
    response.headers["Location"] = f"/api/v1/water-meters/{new.id}"
    return ExchangeOut(
        removed=_meter_out(vorgang, meters, old),
        installed=_meter_out(vorgang, meters, new),
    )


@router.post(
    "/water-meters/{meter_id}/removal",
    summary="Remove a meter with its final reading",
    **allow(*STAFF),
)
def remove_meter(
    meter_id: MeterId,
    body: RemoveMeter,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> MeterOut:
    """The final reading is checked as a reported one; afterwards only corrections."""
    meter = meters.remove(
        actor,
        meter_id,
        removed_on=body.removed_on,
        final_value=body.final_value,
        rollover_declared=body.rollover_declared,
    )
    _tagged(response, meter.version)
    return _meter_out(vorgang, meters, meter)


@router.post(
    "/water-meters/{meter_id}/recalibration",
    summary="Record a new end of the meter's calibration",
    **allow(*STAFF),
)
def recalibrate_meter(
    meter_id: MeterId,
    body: Recalibrate,
    actor: ActorDep,
    vorgang: FacadeDep,
    meters: WaterMetersDep,
    response: Response,
) -> MeterOut:
    """An extension by sampling, or a re-calibration."""
    meter = meters.recalibrate(
        actor, meter_id, calibration_valid_until=body.calibration_valid_until
    )
    _tagged(response, meter.version)
    return _meter_out(vorgang, meters, meter)


@router.get(
    "/water-meters/{meter_id}/readings/{number}/replay",
    summary="Replay a recorded check or estimate from its record",
    **allow(*STAFF),
)
def replay_reading(
    meter_id: MeterId,
    number: Annotated[int, Path(ge=1, le=100000, description="The reading's number.")],
    actor: ActorDep,
    meters: WaterMetersDep,
) -> ReadingReplayOut:
    """The recomputed result beside the recorded one, and whether they match."""
    return ReadingReplayOut.model_validate(
        meters.replay(actor, meter_id, number), from_attributes=True
    )


# ------------------------------------------------------------------ campaigns


@router.post(
    "/water-campaigns",
    status_code=status.HTTP_201_CREATED,
    summary="Open the town's reading campaign of a year",
    response_model=CampaignOut,
    **allow(*STAFF),
)
def open_campaign(
    body: OpenCampaign, actor: ActorDep, meters: WaterMetersDep, response: Response
) -> Any:
    """Its start lies in its year, its deadline after the start (that year or the next)."""
    try:
        campaign = meters.open_campaign(
            actor, year=body.year, starts_on=body.starts_on, deadline=body.deadline
        )
    except CampaignExists as error:
        return _taken(error)
    response.headers["Location"] = f"/api/v1/water-campaigns/{campaign.year}"
    _tagged(response, campaign.version)
    return _campaign_out(campaign, None)


@router.get(
    "/water-campaigns/{year}",
    summary="The town's reading campaign of a year with its statistics",
    **allow(*STAFF),
)
async def get_campaign(
    year: Year,
    actor: ActorDep,
    meters: WaterMetersDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    min_position: MinPosition = None,
) -> CampaignOut:
    """The statistics come from the read model (``min_position`` waits for a write you made)."""
    campaign = await anyio.to_thread.run_sync(lambda: meters.campaign(actor, year))
    await caught_up(read_side, settings, VIEW, min_position)
    statistics = await anyio.to_thread.run_sync(
        lambda: campaign_statistics(read_side.views, campaign.tenant, year)
    )
    return _campaign_out(campaign, statistics)


@router.post(
    "/water-campaigns/{year}/estimates",
    summary="Estimate every meter without a reading for the year (after the deadline)",
    **allow(*STAFF),
)
def make_estimates(year: Year, actor: ActorDep, meters: WaterMetersDep) -> EstimatesOut:
    """On the deadline day, one save per meter; run again, it estimates only what is missing."""
    return EstimatesOut.model_validate(meters.make_estimates(actor, year), from_attributes=True)


@router.post(
    "/water-campaigns/{year}/close",
    summary="Close the town's campaign of a year (after the deadline)",
    **allow(*STAFF),
)
def close_campaign(
    year: Year, actor: ActorDep, meters: WaterMetersDep, response: Response
) -> CampaignOut:
    """Readings after it answer no campaign; no more estimates."""
    campaign = meters.close_campaign(actor, year)
    _tagged(response, campaign.version)
    return _campaign_out(campaign, None)


__all__ = ["router"]

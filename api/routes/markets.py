"""The towns' markets over HTTP (#28): publication, the selection and its record, the staff's
lists of applications, score sheets and pitches.

The town's staff (clerks and supervisors serving market stalls) publish a market with its
pitches and published criteria, select once the deadline passed (a second selection is 409,
one before the deadline 422), read the selection and its replay, the applications with their
rank and outcome, the score sheets and the pitches. Auditors of the town read the selection
and replay it.

Traders apply through ``POST /api/v1/cases`` (service ``market-stall``); staff score each
application with the case's ``score-application`` step; a trader gives up a pitch, accepts or
declines one offered through the case's steps. Nothing here takes an application.

A market's published facts are public (portals list the markets open for applications; no
trader and no member of staff is named). Another town's market does not exist for staff
(404).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.access import allow, public
from api.dependencies import ActorDep, FacadeDep, RecordReadDep
from api.market_schemas import (
    ApplicationRowOut,
    MarketOut,
    MarketSelectionReplayOut,
    PitchRowOut,
    PublishMarket,
    ScoreSheetRowOut,
    SelectionOut,
)
from api.problems import NotFound, already_recorded
from api.routes.service_steps import PROBLEMS
from application.access_log import MARKET_APPLICATIONS, SCORE_SHEETS
from application.facade import Facade
from application.markets import MarketService
from domain.actor import Role
from domain.markets.calendar import MarketCodeTaken
from domain.markets.market import Market
from domain.rules.market_selection import CriteriaSet, Criterion, Pitch
from domain.tenants import TENANTS

router = APIRouter(prefix="/api/v1/markets", tags=["markets"], responses=PROBLEMS)  # type: ignore[arg-type]

STAFF = (Role.CLERK, Role.SUPERVISOR)

MarketId = Annotated[UUID, Path(description="The market's id, as its publication answered it.")]


def markets_of(vorgang: Facade) -> MarketService:
    """The market use cases of a wired process (``infrastructure.wiring.Vorgang.markets``)."""
    return vorgang.markets


def market_service(vorgang: FacadeDep) -> MarketService:
    """The markets' use cases of the process."""
    return markets_of(vorgang)


MarketsDep = Annotated[MarketService, Depends(market_service)]


def _market_out(markets: MarketService, market: Market) -> MarketOut:
    return MarketOut.model_validate(markets.view(market))


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


# ------------------------------------------------------------------ routes


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Publish a market with its pitches and selection criteria",
    response_model=MarketOut,
    **allow(*STAFF),
)
def publish_market(
    body: PublishMarket, actor: ActorDep, markets: MarketsDep, response: Response
) -> Any:
    """In the caller's town (409 naming ``code`` if the calendar of the year has it)."""
    try:
        market = markets.publish(
            actor,
            year=body.year,
            code=body.code,
            name=body.name,
            kind=body.kind,
            regime=body.regime,
            days=body.days,
            site=body.site,
            pitches=[
                Pitch(p.number, p.frontage_m, p.electricity, p.water, tuple(p.categories))
                for p in body.pitches
            ],
            categories=body.categories,
            criteria=CriteriaSet(
                body.criteria.version,
                tuple(
                    Criterion(c.key, c.label, c.weight, c.kind, c.max_points)
                    for c in body.criteria.criteria
                ),
            ),
            newcomer_share=body.newcomer_share,
            applications_from=body.applications_from,
            deadline=body.deadline,
            decisions_by=body.decisions_by,
            offer_days=body.offer_days,
            staff=body.staff,
        )
    except MarketCodeTaken as error:
        return already_recorded(error)
    response.headers["Location"] = f"/api/v1/markets/{market.id}"
    _tagged(response, market.version)
    return _market_out(markets, market)


@router.get("", summary="A town's markets of a year", **public())
def list_markets(
    markets: MarketsDep,
    town: Annotated[str, Query(max_length=40, description="The town, e.g. usingen.")],
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year.")] = None,
    open_now: Annotated[
        bool, Query(alias="open", description="Only those open for applications now.")
    ] = False,
) -> list[MarketOut]:
    """In the order they were published; public, no personal data."""
    if town not in TENANTS:
        raise NotFound(f"unknown town {town!r}; towns: {', '.join(TENANTS)}")
    listed = [
        MarketOut.model_validate(m) for m in markets.listed(town, year or markets.today().year)
    ]
    return [m for m in listed if m.window == "open"] if open_now else listed


@router.get("/{market_id}", summary="A market", **public())
def get_market(market_id: MarketId, markets: MarketsDep, response: Response) -> MarketOut:
    """Its published facts, criteria and weights, window, deadline and decisions_by; public."""
    market = markets.published(market_id)
    _tagged(response, market.version)
    return _market_out(markets, market)


@router.post(
    "/{market_id}/selection",
    summary="Select the traders of a market whose deadline passed",
    **allow(*STAFF),
)
def select_traders(
    market_id: MarketId, actor: ActorDep, markets: MarketsDep, response: Response
) -> MarketOut:
    """Once: a second selection is 409, one before the deadline 422. The seed of the lot,
    the inputs, the criteria version and the weights are recorded; every application's case
    decides (admitted with a pitch and its fee, or refused with reasons)."""
    market = markets.select(actor, market_id)
    _tagged(response, market.version)
    return _market_out(markets, market)


@router.get(
    "/{market_id}/selection",
    summary="The recorded selection of a market",
    **allow(*STAFF, Role.AUDITOR),
)
def get_selection(market_id: MarketId, actor: ActorDep, markets: MarketsDep) -> SelectionOut:
    """Algorithm, seed, criteria and weights, inputs, and each application's outcome."""
    return SelectionOut.model_validate(markets.selection_record(actor, market_id))


@router.get(
    "/{market_id}/selection/replay",
    summary="Replay a market's selection from its recorded inputs",
    **allow(*STAFF, Role.AUDITOR),
)
def replay_selection(
    market_id: MarketId, actor: ActorDep, markets: MarketsDep
) -> MarketSelectionReplayOut:
    """The recorded algorithm run again on the recorded seed and inputs, compared."""
    return MarketSelectionReplayOut.model_validate(markets.replay(actor, market_id))


@router.get(
    "/{market_id}/applications",
    summary="The applications of a market, with rank, outcome and pitch",
    **allow(*STAFF),
)
def list_applications(
    market_id: MarketId, actor: ActorDep, markets: MarketsDep, record: RecordReadDep
) -> list[ApplicationRowOut]:
    """In the order recorded: each application's case, inputs, rank, outcome and offer."""
    rows = [ApplicationRowOut.model_validate(r) for r in markets.applications(actor, market_id)]
    record(MARKET_APPLICATIONS, query={"market_id": str(market_id)}, hits=[r.case_id for r in rows])
    return rows


@router.get(
    "/{market_id}/score-sheets",
    summary="The score sheets of a market's applications",
    **allow(*STAFF),
)
def list_score_sheets(
    market_id: MarketId, actor: ActorDep, markets: MarketsDep, record: RecordReadDep
) -> list[ScoreSheetRowOut]:
    """Each application's points per scored criterion, note, who scored, and what is missing."""
    rows = [ScoreSheetRowOut.model_validate(r) for r in markets.score_sheets(actor, market_id)]
    record(SCORE_SHEETS, query={"market_id": str(market_id)}, hits=[r.case_id for r in rows])
    return rows


@router.get(
    "/{market_id}/pitches",
    summary="The pitches of a market: assigned, free, offered",
    **allow(*STAFF),
)
def list_pitches(market_id: MarketId, actor: ActorDep, markets: MarketsDep) -> list[PitchRowOut]:
    """Every pitch with the case it is assigned to and an open offer of it."""
    return [PitchRowOut.model_validate(r) for r in markets.pitches(actor, market_id)]


__all__ = ["markets_of", "router"]

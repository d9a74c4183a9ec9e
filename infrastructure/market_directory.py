"""A town's markets from the markets read model, for the public lists and the catalogue.

The public list of a town's markets (``GET /api/v1/markets``) and the catalogue's example
per town (an application to a market open now, on every catalogue fetch) are read by index
(``projections/market_query.py``) instead of replaying the town's calendar and every market
of it (``MarketsInTheLog``, where no view is wired), which holds an event per application.

Caught up with the log first, or answered from the markets themselves
(``infrastructure/town_year_directory.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from application.markets import MarketsInTheLog, criteria_view, pitch_view  # market_view's parts
from application.store import VorgangStore
from domain.markets.market import CriteriaSet, Pitch
from domain.services.market_stall_steps import MarketSummary
from infrastructure.projection_host import ProjectionHost
from infrastructure.town_year_directory import TownYearDirectory
from infrastructure.view_database import ViewDatabase
from projections.market_query import markets_of, window_at
from projections.markets import Markets


@dataclass(frozen=True, slots=True)
class OpenMarket:
    """A market open for applications, as the catalogue's example needs it."""

    id: UUID
    tenant: str
    code: str
    first_day: date
    regime: str
    categories: tuple[str, ...]
    pitches: tuple[Pitch, ...]
    version: int  # the catalogue's example names a business of this version (applies once)


def public_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A row of the view as ``application.markets.market_view`` shows the market."""
    return {
        "id": row["market_id"],
        "tenant": row["tenant"],
        "year": row["year"],
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "regime": row["regime"],
        "days": row["days"],
        "site": row["site"],
        "pitches": [pitch_view(Pitch.of(pitch)) for pitch in row["pitch_plan"]],
        "categories": row["categories"],
        "criteria": criteria_view(CriteriaSet.of(row["criteria"])),
        "newcomer_share": row["newcomer_share"],
        "applications_from": row["applications_from"],
        "deadline": row["deadline"],
        "decisions_by": row["decisions_by"],
        "offer_days": row["offer_days"],
        "window": window_at(row, now),
        "applications": row["applications"] + row["withdrawn"],  # every one recorded
        "assigned": row["admitted"],
        "selected_at": row["selected_at"],
        "version": row["version"],
    }


class MarketsInTheView(TownYearDirectory[MarketSummary]):
    """The town's markets from the markets view, caught up with the log first."""

    view_name = Markets.name

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        super().__init__(store, views, projections, MarketsInTheLog(store))

    def rows_of(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The view's markets of the town's year."""
        return markets_of(self.views, tenant, year, now=now)

    def public_view(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A row as ``application.markets.market_view`` shows the market."""
        return public_view(row, now)

    def is_open(self, row: dict[str, Any], at: datetime) -> bool:
        """Whether applications are taken at ``at``."""
        return bool(row["window"] == "open")

    def summary(self, row: dict[str, Any]) -> MarketSummary:
        """An open market as the catalogue's example needs it."""
        return OpenMarket(
            id=row["market_id"],
            tenant=row["tenant"],
            code=row["code"],
            first_day=row["first_day"],
            regime=row["regime"],
            categories=tuple(row["categories"]),
            pitches=tuple(Pitch.of(pitch) for pitch in row["pitch_plan"]),
            version=row["version"],
        )

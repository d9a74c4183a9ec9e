"""A town's markets from the markets read model, for the public lists and the catalogue.

The public list of a town's markets (``GET /api/v1/markets``) and the catalogue's example
per town (an application to a market open now, on every catalogue fetch) are read by index
(``projections/market_query.py``) instead of replaying the town's calendar and every market
of it (``MarketsInTheLog``, where no view is wired), which holds an event per application.

A view behind the log would miss a market just published, or count an application less; so
the directory first waits (bounded) for the view to reach the log's head, and where it does
not in time it answers from the markets themselves: slower, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from application.markets import MarketsInTheLog, criteria_view, pitch_view  # market_view's parts
from application.store import VorgangStore
from domain.markets.market import CriteriaSet, Pitch
from domain.services.market_stall_steps import MarketSummary
from domain.working_days import berlin_date
from infrastructure.projection_host import ProjectionHost
from infrastructure.view_database import ViewDatabase
from projections.market_query import markets_of, window_at
from projections.markets import Markets

CATCH_UP_SECONDS: Final = 5.0  # then the markets themselves answer


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


class MarketsInTheView:
    """The town's markets from the markets view, caught up with the log first."""

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        self.views = views
        self.store = store
        self.projections = projections
        self.in_the_log = MarketsInTheLog(store)

    def caught_up(self) -> bool:
        """Whether the view reached the log's head (as of now) in time."""
        return self.projections.caught_up(Markets.name, CATCH_UP_SECONDS)

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's markets of a year in the order published, as everybody reads them."""
        if not self.caught_up():
            return self.in_the_log.listed(tenant, year, now)
        rows = markets_of(self.views, tenant, year, now=now)
        rows.sort(key=lambda row: row["published_position"])
        return [public_view(row, now) for row in rows]

    def open_in(self, tenant: str, at: datetime) -> list[MarketSummary]:
        """The town's markets open for applications at ``at`` (this year's and the next's)."""
        if not self.caught_up():
            return list(self.in_the_log.open_in(tenant, at))
        year = berlin_date(at).year
        return [
            OpenMarket(
                id=row["market_id"],
                tenant=row["tenant"],
                code=row["code"],
                first_day=row["first_day"],
                regime=row["regime"],
                categories=tuple(row["categories"]),
                pitches=tuple(Pitch.of(pitch) for pitch in row["pitch_plan"]),
                version=row["version"],
            )
            for row in (
                *markets_of(self.views, tenant, year, now=at),
                *markets_of(self.views, tenant, year + 1, now=at),
            )
            if row["window"] == "open"
        ]

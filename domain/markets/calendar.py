"""A town's market calendar of a year: the markets it lists, by code.

Publishing a market lists it here in the same atomic save, so of two markets published at
once under one code one save fails on the calendar's version and the retry is refused (the
code is taken). The calendar answers which markets a town holds in a year. Its id is a
UUIDv5 of the town and the year (``calendar_id``): public. It holds no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.markets.market import market_id as market_of
from domain.town_year import CodeTaken, checked_listing, checked_start, register_id

__all__ = ["CALENDAR_NAMESPACE", "MarketCalendar", "MarketCodeTaken", "calendar_id"]

CALENDAR_NAMESPACE: Final = uuid5(NAMESPACE_URL, "vorgang:market-calendar")


class MarketCodeTaken(CodeTaken):
    """A market's code is taken in the town's calendar of the year (the API: 409)."""


def calendar_id(tenant: str, year: int) -> UUID:
    """The id of a town's market calendar of a year (public: town and year alone)."""
    return register_id(CALENDAR_NAMESPACE, tenant, year)


class MarketCalendar(Aggregate):
    """A town's markets of one year, each listed under its code."""

    @classmethod
    def start(
        cls, *, tenant: str, year: int, actor: Actor, at: datetime, id: UUID | None = None
    ) -> MarketCalendar:
        """Start the calendar of a town's year (its first market is listed next)."""
        return cls(
            id=checked_start(CALENDAR_NAMESPACE, tenant, year, id),
            tenant=tenant,
            year=year,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class Started(Aggregate.Created):
        """A town's market calendar of a year was started."""

        tenant: str
        year: int
        actor_id: str
        actor_role: str
        at: datetime

    @event(Started)
    def __init__(
        self, *, id: UUID, tenant: str, year: int, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.tenant = tenant
        self.year = year
        self.markets: tuple[UUID, ...] = ()
        self.codes: dict[str, UUID] = {}

    def list_market(self, *, market_id: UUID, code: str, actor: Actor, at: datetime) -> None:
        """List a published market under its code: only the town's market of the year and
        that code (``market_id``); refused when the code is taken."""
        number = checked_listing(
            codes=self.codes,
            listed=self.markets,
            item_id=market_id,
            code=code,
            id_of=lambda number: market_of(self.tenant, self.year, number),
            field="market_id",
            noun="market",
            where=f"{self.tenant} in {self.year}",
            taken=lambda number: MarketCodeTaken(number, self.year),
        )
        self._market_listed(
            market_id=market_id,
            code=number,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class MarketListed(Aggregate.Event):
        """A market was listed in the calendar under its code."""

        market_id: UUID
        code: str
        actor_id: str
        actor_role: str
        at: datetime

    @event(MarketListed)
    def _market_listed(
        self, *, market_id: UUID, code: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.markets = (*self.markets, market_id)
        self.codes = {**self.codes, code: market_id}

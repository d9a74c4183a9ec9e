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
from domain.errors import InvalidCommand
from domain.holiday.offering import normalised_code
from domain.markets.market import market_id as market_of
from domain.tenants import TENANTS

__all__ = ["CALENDAR_NAMESPACE", "MarketCalendar", "MarketCodeTaken", "calendar_id"]

CALENDAR_NAMESPACE: Final = uuid5(NAMESPACE_URL, "vorgang:market-calendar")


class MarketCodeTaken(InvalidCommand):
    """A market's code is taken in the town's calendar of the year (the API: 409)."""

    def __init__(self, code: str, year: int) -> None:
        super().__init__("code", f"the code {code} is taken in {year}")
        self.code = code


def calendar_id(tenant: str, year: int) -> UUID:
    """The id of a town's market calendar of a year (public: town and year alone)."""
    return uuid5(CALENDAR_NAMESPACE, f"{tenant}:{year}")


class MarketCalendar(Aggregate):
    """A town's markets of one year, each listed under its code."""

    @classmethod
    def start(
        cls, *, tenant: str, year: int, actor: Actor, at: datetime, id: UUID | None = None
    ) -> MarketCalendar:
        """Start the calendar of a town's year (its first market is listed next)."""
        if tenant not in TENANTS:
            raise InvalidCommand("tenant", f"unknown town {tenant!r}")
        if not 2000 <= year <= 2199:
            raise InvalidCommand("year", "a year from 2000 to 2199")
        new_id = calendar_id(tenant, year)
        if id is not None and id != new_id:
            raise InvalidCommand("id", "the id of the town and year")
        return cls(
            id=new_id,
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
        number = normalised_code(code)
        if number in self.codes:
            raise MarketCodeTaken(number, self.year)
        if market_id != market_of(self.tenant, self.year, number):
            raise InvalidCommand(
                "market_id", f"not the market {number} of {self.tenant} in {self.year}"
            )
        if market_id in self.markets:
            raise InvalidCommand("market_id", "the market is listed already")
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

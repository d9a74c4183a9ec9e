"""A town's holiday offerings from the holiday offerings read model, for the public lists.

The public list of a town's offerings and the catalogue's example per town (an offering open
for registration now) are read by index (``projections/holiday_query.py``) instead of
replaying the programme and every offering of it (``OfferingsInTheLog``, where no view is
wired), which holds an event per registration.

The catalogue's example names a child after the offering's version, so that the next fetch
after a registration names a child not registered yet; a view behind the log would name one
that is. So the directory first waits (bounded) for the view to reach the log's head, and
where it does not in time it answers from the offerings themselves: slower, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from application.holiday import OfferingsInTheLog
from application.store import VorgangStore
from domain.holiday.offering import AllocationRules
from domain.services.holiday_registration import OfferingSummary
from infrastructure.projection_host import ProjectionHost
from infrastructure.town_year_directory import TownYearDirectory
from infrastructure.view_database import ViewDatabase
from projections.holiday_offerings import HolidayOfferings
from projections.holiday_query import offerings_of, window_at


@dataclass(frozen=True, slots=True)
class OpenOffering:
    """An offering open for registration, as the catalogue's example needs it."""

    id: UUID
    tenant: str
    code: str
    starts_on: date
    min_age: int
    max_age: int
    version: int


def public_view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A row of the view as ``application.holiday.offering_view`` shows the offering."""
    return {
        "id": row["offering_id"],
        "tenant": row["tenant"],
        "year": row["year"],
        "code": row["code"],
        "activity": row["activity"],
        "description": row["description"],
        "location": row["location"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "min_age": row["min_age"],
        "max_age": row["max_age"],
        "places": row["places"],
        "fee": row["fee"],
        "registration_opens_at": row["registration_opens_at"],
        "registration_closes_at": row["registration_closes_at"],
        "window": window_at(row, now),
        "rules": AllocationRules.of(row["rules"]).as_dict(),
        "allocated": row["allocated"],
        "free_places": row["places"] - row["allocated"],
        "waiting": row["waiting"],
        "drawn_at": row["drawn_at"],
        "health_erased_at": row["health_erased_at"],
        "version": row["version"],
    }


class OfferingsInTheView(TownYearDirectory[OfferingSummary]):
    """The town's offerings from the holiday offerings view, caught up with the log first."""

    view_name = HolidayOfferings.name

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        super().__init__(store, views, projections, OfferingsInTheLog(store))

    def rows_of(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The view's offerings of the town's year."""
        return offerings_of(self.views, tenant, year, now=now)

    def public_view(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A row as ``application.holiday.offering_view`` shows the offering."""
        return public_view(row, now)

    def is_open(self, row: dict[str, Any], at: datetime) -> bool:
        """Whether registration is open at ``at``."""
        return window_at(row, at) == "open"

    def summary(self, row: dict[str, Any]) -> OfferingSummary:
        """An open offering as the catalogue's example needs it."""
        return OpenOffering(
            id=row["offering_id"],
            tenant=row["tenant"],
            code=row["code"],
            starts_on=row["starts_on"],
            min_age=row["min_age"],
            max_age=row["max_age"],
            version=row["version"],
        )

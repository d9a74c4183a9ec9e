"""Reading the holiday offerings view: a town's offerings of a year, one offering, and where
each stands at the hour asked.

An offering is ``published`` until its registration window opens, ``open`` while it is,
``closed`` once it closed (at its hour, or early by the staff) until the places are drawn,
``drawn`` from the draw, and ``ended`` after its last day (Berlin time); its registration
window (``window_at``) is ``not_yet_open``, ``open`` or ``closed``, as the offering itself
says it. Ids come back as ``UUID``, days as ``date``, moments as ``datetime``, the fee as
``Decimal``, the allocation rules as the dict published.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from domain.working_days import berlin_date
from projections.holiday_offerings import OFFERING_COLUMNS, HolidayOfferings
from projections.view_store import ViewDatabase
from projections.where import Where

OFFERING_FIELDS: Final = tuple(c for c in OFFERING_COLUMNS if c != "position")
DAYS: Final = ("starts_on", "ends_on")
MOMENTS: Final = (
    "registration_opens_at",
    "registration_closes_at",
    "published_at",
    "window_closed_at",
    "drawn_at",
    "health_erased_at",
)
STATES: Final = ("published", "open", "closed", "drawn", "ended")
COUNTS: Final = (
    "year",
    "min_age",
    "max_age",
    "places",
    "registered",
    "allocated",
    "waiting",
    "version",
    "published_position",
)


def state_at(offering: dict[str, Any], now: datetime) -> str:
    """Where an offering (as ``offerings_of`` returns it) stands at ``now``."""
    if berlin_date(now) > offering["ends_on"]:
        return "ended"
    if offering["drawn_at"] is not None:
        return "drawn"
    if offering["window_closed_at"] is not None or now >= offering["registration_closes_at"]:
        return "closed"
    if now >= offering["registration_opens_at"]:
        return "open"
    return "published"


def window_at(offering: dict[str, Any], now: datetime) -> str:
    """Whether registration for an offering (as ``offerings_of`` returns it) is not yet open,
    open or closed at ``now`` (closed early, by the draw, or at its set end)."""
    if offering["drawn_at"] is not None or offering["window_closed_at"] is not None:
        return "closed"
    if now >= offering["registration_closes_at"]:
        return "closed"
    if now < offering["registration_opens_at"]:
        return "not_yet_open"
    return "open"


def _offering(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    item = dict(zip(OFFERING_FIELDS, row, strict=True))
    item["offering_id"] = UUID(item["offering_id"])
    for name in DAYS:
        item[name] = date.fromisoformat(item[name])
    for name in MOMENTS:
        item[name] = datetime.fromisoformat(item[name]) if item[name] else None
    item["fee"] = Decimal(item["fee"])
    item["rules"] = json.loads(item["rules"])
    for name in COUNTS:
        item[name] = int(item[name])
    item["state"] = state_at(item, now)
    return item


def offerings_of(
    views: ViewDatabase,
    tenant: str,
    year: int | None = None,
    *,
    now: datetime,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """The town's offerings (of a year, in a state at ``now`` if given) by year and code."""
    where = Where("tenant = ?", tenant)
    where.equal("year", year)
    rows = views.query(
        f"SELECT {', '.join(OFFERING_FIELDS)} FROM {HolidayOfferings().table} "
        f"WHERE {where.sql} ORDER BY year, code",
        where.params,
    )
    found = [_offering(row, now) for row in rows]
    return [o for o in found if state is None or o["state"] == state]


def offering_of(views: ViewDatabase, offering_id: UUID, *, now: datetime) -> dict[str, Any] | None:
    """One offering as the view holds it (None if never published)."""
    rows = views.query(
        f"SELECT {', '.join(OFFERING_FIELDS)} FROM {HolidayOfferings().table} "
        "WHERE offering_id = ?",
        (str(offering_id),),
    )
    return _offering(rows[0], now) if rows else None

"""Reading the markets view: a town's markets of a year, one market, its applications and its
open offers, and where each market stands at the hour asked.

A market is ``published`` until applications are taken, ``open`` while they are, ``closed``
from its deadline (final: never moved) until the selection, ``selected`` from the selection,
and ``ended`` after its last day (Berlin time); its application window (``window_at``) is
``not_yet_open``, ``open`` or ``closed``, as the market itself says it. Ids come back as
``UUID``, days as ``date``, moments as ``datetime``, decimals as ``Decimal``, the pitch plan,
categories and criteria as published.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from domain.working_days import berlin_date
from projections.markets import APPLICATION_COLUMNS, MARKET_COLUMNS, OFFERED, Markets
from projections.view_store import ViewDatabase
from projections.where import Where

MARKET_FIELDS: Final = tuple(c for c in MARKET_COLUMNS if c != "position")
APPLICATION_FIELDS: Final = tuple(c for c in APPLICATION_COLUMNS if c != "application_key")
DAYS: Final = ("first_day", "last_day", "decisions_by")
MOMENTS: Final = ("applications_from", "deadline", "published_at", "selected_at")
PUBLISHED: Final = ("days", "pitch_plan", "categories", "criteria")
STATES: Final = ("published", "open", "closed", "selected", "ended")
COUNTS: Final = (
    "year",
    "pitches",
    "offer_days",
    "applications",
    "withdrawn",
    "admitted",
    "refused",
    "given_up",
    "offered",
    "pitches_free",
    "version",
    "published_position",
)


def window_at(market: dict[str, Any], now: datetime) -> str:
    """Whether applications to a market (as ``markets_of`` returns it) are not yet taken,
    taken or no longer taken at ``now``."""
    if market["selected_at"] is not None or now >= market["deadline"]:
        return "closed"
    if now < market["applications_from"]:
        return "not_yet_open"
    return "open"


def state_at(market: dict[str, Any], now: datetime) -> str:
    """Where a market (as ``markets_of`` returns it) stands at ``now``."""
    if berlin_date(now) > market["last_day"]:
        return "ended"
    if market["selected_at"] is not None:
        return "selected"
    return {"not_yet_open": "published", "open": "open"}.get(window_at(market, now), "closed")


def _market(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    item = dict(zip(MARKET_FIELDS, row, strict=True))
    item["market_id"] = UUID(item["market_id"])
    for name in DAYS:
        item[name] = date.fromisoformat(item[name])
    for name in MOMENTS:
        item[name] = datetime.fromisoformat(item[name]) if item[name] else None
    for name in PUBLISHED:
        item[name] = json.loads(item[name])
    item["days"] = [date.fromisoformat(day) for day in item["days"]]
    item["newcomer_share"] = Decimal(item["newcomer_share"])
    for name in COUNTS:
        item[name] = int(item[name])
    item["state"] = state_at(item, now)
    item["window"] = window_at(item, now)
    return item


def markets_of(
    views: ViewDatabase,
    tenant: str,
    year: int | None = None,
    *,
    now: datetime,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """The town's markets (of a year, in a state at ``now`` if given) by year and code."""
    where = Where("tenant = ?", tenant)
    where.equal("year", year)
    rows = views.query(
        f"SELECT {', '.join(MARKET_FIELDS)} FROM {Markets().table} "
        f"WHERE {where.sql} ORDER BY year, code",
        where.params,
    )
    found = [_market(row, now) for row in rows]
    return [m for m in found if state is None or m["state"] == state]


def market_of(views: ViewDatabase, market_id: UUID, *, now: datetime) -> dict[str, Any] | None:
    """One market as the view holds it (None if never published)."""
    rows = views.query(
        f"SELECT {', '.join(MARKET_FIELDS)} FROM {Markets().table} WHERE market_id = ?",
        (str(market_id),),
    )
    return _market(rows[0], now) if rows else None


def _application(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(APPLICATION_FIELDS, row, strict=True))
    item["market_id"] = UUID(item["market_id"])
    item["case_id"] = UUID(item["case_id"])
    item["frontage_m"] = Decimal(item["frontage_m"])
    item["electricity"] = bool(item["electricity"])
    item["water"] = bool(item["water"])
    item["rank"] = None if item["rank"] is None else int(item["rank"])
    item["total"] = None if item["total"] is None else Decimal(item["total"])
    until = item["offered_until"]
    item["offered_until"] = datetime.fromisoformat(until) if until else None
    return item


def applications_of(
    views: ViewDatabase, market_id: UUID, *, status: str | None = None
) -> list[dict[str, Any]]:
    """A market's applications (in a standing, if given): ranked ones by rank, then the
    others by case id. For the staff: a case id, never a trader's name."""
    where = Where("market_id = ?", str(market_id))
    where.equal("status", status)
    rows = views.query(
        f"SELECT {', '.join(APPLICATION_FIELDS)} FROM {Markets().applications_table} "
        f"WHERE {where.sql}",
        where.params,
    )
    found = [_application(row) for row in rows]
    found.sort(key=lambda a: (a["rank"] is None, a["rank"] or 0, str(a["case_id"])))
    return found


def open_offers(views: ViewDatabase, market_id: UUID) -> list[dict[str, Any]]:
    """The pitches of a market offered on move-up and not yet answered: case, pitch, until."""
    return [
        {"case_id": a["case_id"], "pitch": a["pitch"], "until": a["offered_until"]}
        for a in applications_of(views, market_id, status=OFFERED)
    ]

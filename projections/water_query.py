"""Reading the water meters view: a town's meters, the meters active on a day, a campaign's
statistics.

Lists page by keyset: each row carries the ``cursor`` to pass as ``after`` for the rows after
it (an opaque token of its meter number, ``projections/cursors.py``). Counter values come
back as ``Decimal``, ids as ``UUID``, days as ``date``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from domain.services.water_reading import ReadingStatus
from projections.cursors import decode_cursor, encode_cursor
from projections.view_store import ViewDatabase
from projections.water_meters import ESTIMATED, METER_COLUMNS, REPORTED, WaterMeters, state_key
from projections.where import Where

METER_FIELDS: Final = tuple(c for c in METER_COLUMNS if c != "position")
DAYS: Final = ("installed_on", "calibration_valid_until", "removed_on", "last_read_on")
CAMPAIGN_FIELDS: Final = ("year", "starts_on", "deadline", "closed_at", "estimates_made_at")


def _meter(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(METER_FIELDS, row, strict=True))
    item["meter_id"] = UUID(item["meter_id"])
    item["main_meter"] = UUID(item["main_meter"]) if item["main_meter"] else None
    for name in DAYS:
        item[name] = date.fromisoformat(item[name]) if item[name] else None
    item["last_value"] = Decimal(item["last_value"])
    item["readings"] = int(item["readings"])
    item["cursor"] = encode_cursor([item["meter_number"]])
    return item


def _number(text: str) -> str:
    """A meter number as the view holds it: upper case, blanks removed."""
    return "".join(text.split()).upper()


def meters_of(
    views: ViewDatabase,
    tenant: str,
    property_id: str | None = None,
    meter_number: str | None = None,
    *,
    limit: int,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """The town's meters by meter number, of one property or one number if given."""
    table = WaterMeters().table
    where = Where("tenant = ?", tenant)
    where.equal("property_id", property_id.strip() if property_id else None)
    where.equal("meter_number", _number(meter_number) if meter_number else None)
    if after:
        (last,) = decode_cursor(after, str)
        where.add("meter_number > ?", last)
    rows = views.query(
        f"SELECT {', '.join(METER_FIELDS)} FROM {table} WHERE {where.sql} "
        "ORDER BY meter_number LIMIT ?",
        [*where.params, limit],
    )
    return [_meter(row) for row in rows]


def active_meters(views: ViewDatabase, tenant: str, on: date) -> list[dict[str, Any]]:
    """The town's meters in place on a day (installed on or before it, not removed before
    it), by meter number: the meters a campaign with that deadline estimates."""
    table = WaterMeters().table
    day = on.isoformat()
    rows = views.query(
        f"SELECT {', '.join(METER_FIELDS)} FROM {table} WHERE tenant = ? "
        "AND installed_on <= ? AND (removed_on IS NULL OR removed_on >= ?) "
        "ORDER BY meter_number",
        (tenant, day, day),
    )
    return [_meter(row) for row in rows]


def campaign_of(views: ViewDatabase, tenant: str, year: int) -> dict[str, Any] | None:
    """The town's campaign of a year as the view holds it (None if never opened)."""
    rows = views.query(
        f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM {WaterMeters().campaigns_table} "
        "WHERE tenant = ? AND year = ?",
        (tenant, year),
    )
    if not rows:
        return None
    item = dict(zip(CAMPAIGN_FIELDS, rows[0], strict=True))
    item["year"] = int(item["year"])
    item["starts_on"] = date.fromisoformat(item["starts_on"])
    item["deadline"] = date.fromisoformat(item["deadline"])
    return item


def campaign_statistics(views: ViewDatabase, tenant: str, year: int) -> dict[str, int] | None:
    """What the town's campaign of a year counted (None if the campaign was never opened).

    ``meters``: active on the deadline; ``reported``: meters read for the year (late after
    an estimate included), ``flagged`` of them those whose latest reading was flagged;
    ``estimated``: estimated and not read since; ``corrected``: meters with a reading of the
    year corrected by a clerk; ``flagged_open`` and ``meter_unknown_open``: reading cases of
    the year still waiting for a clerk (a flagged reading to confirm or correct; a meter
    number the town does not know, counted in the year it was read unless the case names a
    campaign); ``missing``: meters active on the deadline with
    neither a reading nor an estimate (``meters - reported - estimated`` while every meter
    counted was in place on the deadline; a meter exchanged during the year is counted in
    ``reported`` but not in ``meters``).
    """
    campaign = campaign_of(views, tenant, year)
    if campaign is None:
        return None
    view = WaterMeters()
    deadline = campaign["deadline"].isoformat()
    counted = views.query(
        f"SELECT COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN state = ? AND flagged = 1 THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(corrected), 0) FROM {view.states_table} WHERE tenant = ? AND year = ?",
        (REPORTED, REPORTED, ESTIMATED, tenant, year),
    )
    reported, flagged, estimated, corrected = (int(n) for n in counted[0])
    active = (
        f"FROM {view.table} m WHERE m.tenant = ? AND m.installed_on <= ? "
        "AND (m.removed_on IS NULL OR m.removed_on >= ?)"
    )
    meters = views.query(f"SELECT COUNT(*) {active}", (tenant, deadline, deadline))[0][0]
    waiting = dict(
        views.query(
            f"SELECT status, COUNT(*) FROM {view.cases_table} "
            "WHERE tenant = ? AND year = ? AND status IN (?, ?) GROUP BY status",
            (tenant, year, ReadingStatus.FLAGGED, ReadingStatus.METER_UNKNOWN),
        )
    )
    missing = views.query(
        f"SELECT COUNT(*) {active} AND NOT EXISTS (SELECT 1 FROM {view.states_table} s "
        "WHERE s.state_key = CAST(? AS TEXT) || m.meter_id)",  # its key: one index look-up
        (tenant, deadline, deadline, state_key(year, "")),
    )[0][0]
    return {
        "meters": int(meters),
        "reported": reported,
        "flagged": flagged,
        "flagged_open": int(waiting.get(ReadingStatus.FLAGGED, 0)),
        "meter_unknown_open": int(waiting.get(ReadingStatus.METER_UNKNOWN, 0)),
        "estimated": estimated,
        "corrected": corrected,
        "missing": int(missing),
    }

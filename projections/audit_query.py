"""Reading the audit trail: filters, position order, cursor pagination, CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from projections.audit_trail import ROW_COLUMNS, AuditTrail, event_label
from projections.csv_cells import safe_cell
from projections.cursors import decode_cursor, encode_cursor
from projections.view_store import ViewDatabase
from projections.where import Where

CURSOR = (int,)  # position of the last row: what a cursor must decode to
Reveal = Callable[[str | None], Any]  # opens sealed JSON (a value or a structure) for display


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor asks the trail for; tenants limits it to those they may read."""

    tenants: tuple[str, ...]
    case_id: str | None = None
    actor_id: str | None = None
    event_type: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None


CSV_COLUMNS = ROW_COLUMNS


class AuditQuery:
    """Pages of the trail in log order."""

    def __init__(self, views: ViewDatabase, reveal: Reveal) -> None:
        self.views = views
        self.reveal = reveal
        self.table = AuditTrail().table

    def page(
        self, query: AuditFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page and the cursor of the next (None on the last page)."""
        where = Where()
        where.within("tenant", query.tenants)
        where.equal("case_id", query.case_id)
        where.equal("actor_id", query.actor_id)
        where.equal("event_type", query.event_type)
        if query.recorded_from:
            where.add("recorded_at >= ?", query.recorded_from.isoformat())
        if query.recorded_to:
            where.add("recorded_at < ?", query.recorded_to.isoformat())
        if cursor:
            (after,) = decode_cursor(cursor, *CURSOR)
            where.add("position > ?", after)
        rows = self.views.query(
            f"SELECT {', '.join(CSV_COLUMNS)} FROM {self.table} WHERE {where.sql} "
            "ORDER BY position LIMIT ?",
            [*where.params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._item(row) for row in rows]
        return items, (encode_cursor([rows[-1][0]]) if more and rows else None)

    def decisions_recorded(
        self, tenant: str, start: datetime, end: datetime | None, service: str | None
    ) -> list[tuple[str, int, str]]:
        """Case id, case version and reference of every decision recorded in a period."""
        where = Where("tenant = ?", tenant)
        where.add("event_type = 'Decided'")
        where.add("recorded_at >= ?", start.isoformat())
        if end is not None:
            where.add("recorded_at < ?", end.isoformat())
        where.equal("service", service)
        rows = self.views.query(
            f"SELECT case_id, version, reference FROM {self.table} "
            f"WHERE {where.sql} ORDER BY position",
            where.params,
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def _item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        item = dict(zip(CSV_COLUMNS, row, strict=True))
        item["actor_name"] = self.reveal(item["actor_name"])
        item["reason"] = self.reveal(item["reason"])
        item["changes"] = self.reveal(item["changes"])
        item["label"] = event_label(item["service"], item["event_type"])
        return item

    def csv(self, query: AuditFilter, *, batch: int = 1000) -> Iterator[str]:
        """The whole filtered trail as CSV, streamed page by page."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        cursor: str | None = None
        while True:
            items, cursor = self.page(query, limit=batch, cursor=cursor)
            for item in items:
                writer.writerow(
                    [
                        safe_cell(changes_text(item[c]) if c == "changes" else item[c])
                        for c in CSV_COLUMNS
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if cursor is None:
                return


def changes_text(changes: Any) -> str:
    """A row's changes as JSON text for a CSV cell, dates and amounts as the API writes them."""
    return json.dumps(changes, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    # Decimals and UUIDs as their text; dates in ISO 8601, as in the JSON answer.
    return value.isoformat() if isinstance(value, date | datetime) else str(value)

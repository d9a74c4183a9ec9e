"""Reading the feed: pages of CloudEvents after a sequence, filtered by tenant, type, service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infrastructure.view_database import ViewDatabase
from projections.feed import Feed

SEQUENCE_DIGITS = 20


def sequence_text(position: int) -> str:
    """The CloudEvents ``sequence`` extension: the log position, zero-padded (gaps are normal)."""
    return f"{position:0{SEQUENCE_DIGITS}d}"


@dataclass(frozen=True)
class FeedFilter:
    """What an integrator reads: its tenants, and optionally one type or service."""

    tenants: tuple[str, ...]
    type: str | None = None
    service: str | None = None


class FeedQuery:
    """Pages of published events in log order."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views
        self.table = Feed().table

    def page(self, query: FeedFilter, *, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` CloudEvents with a sequence greater than ``after``."""
        where = [f"tenant IN ({', '.join('?' for _ in query.tenants)})", "sequence > ?"]
        params: list[Any] = [*query.tenants, after]
        if query.type:
            where.append("type = ?")
            params.append(query.type)
        if query.service:
            where.append("service = ?")
            params.append(query.service)
        rows = self.views.query(
            f"SELECT sequence, id, type, tenant, case_id, time, data FROM {self.table} "
            f"WHERE {' AND '.join(where)} ORDER BY sequence LIMIT ?",
            [*params, limit],
        )
        return [
            {
                "specversion": "1.0",
                "id": event_id,
                "source": f"/tenants/{tenant}",
                "type": event_type,
                "subject": case_id,
                "time": time,
                "datacontenttype": "application/json",
                "sequence": sequence_text(int(sequence)),
                "data": json.loads(data),
            }
            for sequence, event_id, event_type, tenant, case_id, time, data in rows
        ]

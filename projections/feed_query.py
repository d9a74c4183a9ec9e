"""Reading the feed: CloudEvents after a sequence, filtered by tenant, type and service.

The pull feed reads pages with a filter in SQL; the stream's broadcaster reads every new
row once and applies the same filter in Python (``FeedFilter.matches``), so both ways of
reading yield the same events. Personal data (the applicant) stays sealed in the view and
is opened only for a caller granted it; an erased value is left out, never shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.personal_data import Erased, PersonalData
from projections.feed import Feed
from projections.view_store import ViewDatabase
from projections.where import Where

SEQUENCE_DIGITS = 20

OpenSealed = Callable[[str], Any]  # sealed view JSON → the stored value, personal data opened


def sequence_text(position: int) -> str:
    """The CloudEvents ``sequence`` extension: the log position, zero-padded (gaps are normal)."""
    return f"{position:0{SEQUENCE_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One published event as the view keeps it."""

    sequence: int
    id: str
    type: str
    tenant: str
    service: str
    case_id: str
    time: str
    data: str
    applicant: str | None  # sealed JSON of the applicant's personal fields


@dataclass(frozen=True)
class FeedFilter:
    """What an integrator reads: its tenants, and optionally one type or service."""

    tenants: tuple[str, ...]
    type: str | None = None
    service: str | None = None

    def matches(self, row: FeedRow) -> bool:
        """The filter the pull feed applies in SQL, for rows a broadcaster already holds."""
        return (
            row.tenant in self.tenants
            and (self.type is None or row.type == self.type)
            and (self.service is None or row.service == self.service)
        )


def personal_part(applicant: Any) -> dict[str, Any] | None:
    """The applicant's fields still held; erased ones are left out, not shown as gaps."""
    if not isinstance(applicant, dict):
        return None
    held = {
        str(field): value.value
        for field, value in applicant.items()
        if isinstance(value, PersonalData) and not isinstance(value, Erased)
    }
    return {"applicant": held} if held else None


def cloud_event(row: FeedRow, open_sealed: OpenSealed | None = None) -> dict[str, Any]:
    """The row as a CloudEvent 1.0; with ``open_sealed`` (a grant) its personal part too."""
    data = json.loads(row.data)
    if open_sealed is not None and row.applicant is not None:
        personal = personal_part(open_sealed(row.applicant))
        if personal is not None:
            data["personal"] = personal
    return {
        "specversion": "1.0",
        "id": row.id,
        "source": f"/tenants/{row.tenant}",
        "type": row.type,
        "subject": row.case_id,
        "time": row.time,
        "datacontenttype": "application/json",
        "sequence": sequence_text(row.sequence),
        "data": data,
    }


class FeedQuery:
    """Published events in log order."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views
        feed = Feed()
        self.table = feed.table
        self.cases_table = feed.cases_table

    def rows(self, query: FeedFilter | None, *, after: int, limit: int) -> list[FeedRow]:
        """Up to ``limit`` rows with a sequence greater than ``after`` (all tenants: None)."""
        where = Where("e.sequence > ?", after)
        if query is not None:
            where.within("e.tenant", query.tenants)
            where.equal("e.type", query.type)
            where.equal("e.service", query.service)
        found = self.views.query(
            "SELECT e.sequence, e.id, e.type, e.tenant, e.service, e.case_id, e.time, e.data, "
            f"c.applicant FROM {self.table} e LEFT JOIN {self.cases_table} c "
            f"ON c.case_id = e.case_id WHERE {where.sql} ORDER BY e.sequence LIMIT ?",
            [*where.params, limit],
        )
        return [FeedRow(int(row[0]), *row[1:]) for row in found]

    def page(
        self,
        query: FeedFilter,
        *,
        after: int,
        limit: int,
        open_sealed: OpenSealed | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` CloudEvents with a sequence greater than ``after``."""
        return [cloud_event(r, open_sealed) for r in self.rows(query, after=after, limit=limit)]

    def head(self) -> int:
        """The highest published sequence (0 while nothing is published)."""
        found = self.views.query(f"SELECT MAX(sequence) FROM {self.table}")
        return int(found[0][0] or 0) if found else 0

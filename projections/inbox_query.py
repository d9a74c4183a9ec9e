"""Reading the inbox: filters, due-date order and keyset pagination stable under writes.

Each row shows the case's latest open reminder or escalation, joined at query time from the
scheduler's firings (``projections/timer_notices.py``): notices are not case events, so the
inbox view, built from the log, does not hold them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.working_days import working_days_between
from projections.cursors import decode_cursor, encode_cursor
from projections.inbox import Inbox
from projections.timer_notices import (
    ESCALATION,
    REMINDER,
    latest_open_notices,
    open_notice_exists,
)
from projections.view_store import ViewDatabase
from projections.where import Where

CURSOR = (str, str)  # due_key, case_id of the last row: what a cursor must decode to
Open = Callable[[str | None], str | None]  # opens a sealed personal value for display


@dataclass(frozen=True)
class InboxFilter:
    """What a clerk asks the inbox for."""

    tenant: str
    assignee: str | None = None  # an actor id
    unassigned: bool = False
    service: str | None = None
    status: str | None = None
    overdue: bool = False
    due_before: date | None = None
    objection_open: bool = False  # only cases with an open objection, whatever their status
    reminded: bool = False  # only cases with an open reminder (projections/timer_notices.py)
    escalated: bool = False  # only cases with an open escalation


def working_days_left(due: date, today: date) -> int:
    """Working days until the due date; negative once overdue."""
    if due >= today:
        return working_days_between(today, due)
    return -working_days_between(due, today)


class InboxQuery:
    """Pages of the inbox, sorted by due date (cases without one last)."""

    def __init__(self, views: ViewDatabase, open_sealed: Open) -> None:
        self.views = views
        self.open_sealed = open_sealed
        self.table = Inbox().table

    def page(
        self, query: InboxFilter, *, today: date, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page and the cursor of the next (None on the last page)."""
        where = Where("tenant = ?", query.tenant)
        if query.unassigned:
            where.add("assignee IS NULL")
        else:
            where.equal("assignee", query.assignee)
        where.equal("service", query.service)
        where.equal("status", query.status)
        if query.objection_open:
            where.add("objection_open = 1")
        if query.overdue:  # a decided case's due_key is that of no running period
            where.add("due_key < ?", today.isoformat())
            where.add("waiting_for_applicant = 0")  # a paused period's due date moves on
        if query.due_before:
            where.add("due_key < ?", query.due_before.isoformat())
        for wanted, sort in ((query.reminded, REMINDER), (query.escalated, ESCALATION)):
            if wanted:
                sql, params = open_notice_exists(f"{self.table}.case_id", sort)
                where.add(sql, *params)
        if cursor:
            due_key, case_id = decode_cursor(cursor, *CURSOR)
            where.add("(due_key > ? OR (due_key = ? AND case_id > ?))", due_key, due_key, case_id)
        rows = self.views.query(
            "SELECT case_id, reference, service, applicant_name, status, assignee, submitted_at, "
            "due_on, due_key, waiting_for_applicant, last_activity_at, decided_on, "
            f"objection_state, objection_open, objection_deadline FROM {self.table} "
            f"WHERE {where.sql} ORDER BY due_key, case_id LIMIT ?",
            [*where.params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        notices = latest_open_notices(self.views, [row[0] for row in rows])
        items = [self._item(row, today) | {"notice": notices.get(row[0])} for row in rows]
        next_cursor = encode_cursor([rows[-1][8], rows[-1][0]]) if more and rows else None
        return items, next_cursor

    def _item(self, row: tuple[Any, ...], today: date) -> dict[str, Any]:
        (
            case_id,
            reference,
            service,
            name,
            status,
            assignee,
            submitted_at,
            due_on,
            _due_key,
            waiting,
            last_activity_at,
            decided_on,
            objection_state,
            objection_open,
            objection_deadline,
        ) = row
        # The decision stops the clock: a decided case has no working days left to count,
        # and is never overdue (in the service's later steps neither).
        due = date.fromisoformat(due_on) if due_on and not decided_on else None
        return {
            "case_id": case_id,
            "reference": reference,
            "service": service,
            "applicant_name": self.open_sealed(name) if name else None,
            "status": status,
            "assignee": assignee,
            "submitted_at": submitted_at,
            "due_on": due_on,
            "working_days_left": working_days_left(due, today) if due else None,
            "overdue": bool(due and due < today and not waiting),
            "waiting_for_applicant": bool(waiting),
            "last_activity_at": last_activity_at,
            "decided_on": decided_on,
            "objection_open": bool(objection_open),
            "objection_state": objection_state,
            "objection_deadline": objection_deadline,
        }

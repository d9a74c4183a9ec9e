"""The clerk inbox: open cases of a tenant with status, assignee and due date.

One row per open case; closed and withdrawn cases leave the inbox. The applicant's name is
kept sealed (see ``projections.sealed``), so an erasure shows as "[gelöscht]" at once.

Beside the status (the main track) each row shows the legal track: whether an objection
(Widerspruch) is open and where it stands, and the objection deadline. An open objection
is work for the clerk whatever step the service has reached (works running, warranty), so
the queue can be asked for exactly those cases. The decision stops the processing clock
(§ 42a HVwVfG; a service's target period alike): a decided case keeps its recorded due
date for display, but is never overdue and sorts with the cases that have no running
period.

Version 2 (from 1): ``decided_on``, ``objection_state``, ``objection_open`` and
``objection_deadline``; a decided case's ``due_key`` is the one of no running period;
statuses are the main track only (``objection_lodged`` and ``objection_forwarded`` are gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from domain.case import Case
from domain.processing_clock import ProcessingClock
from projections.bulk import delete_rows, load_rows, upsert_rows
from projections.case_events import (
    OPEN_STATUSES_EXCLUDED,
    case_event_topics,
    decided_on_after,
    holder_after,
    objection_after,
    objection_deadline_after,
    objection_is_open,
    status_after,
)
from projections.due_dates import due_on_text
from projections.projection import Applied, Projection
from projections.sealed import sealed_json
from projections.view_store import ViewTransaction

COLUMNS = (
    "case_id",
    "tenant",
    "reference",
    "service",
    "applicant_name",
    "status",
    "assignee",
    "submitted_at",
    "due_on",
    "due_key",
    "waiting_for_applicant",
    "decided_on",
    "objection_state",
    "objection_open",
    "objection_deadline",
    "last_activity_at",
    "position",
)
NO_DUE_DATE = "9999-12-31"  # sorts cases without a running period last


def utc_text(moment: datetime) -> str:
    """A timestamp as sortable ISO text in UTC."""
    return moment.astimezone(UTC).isoformat()


class Inbox(Projection):
    """Open cases per tenant, for the clerks' work queue."""

    name: ClassVar[str] = "inbox"
    version: ClassVar[int] = 2  # 2: the legal track beside the status; no overdue once decided

    def create_tables(self, tx: ViewTransaction) -> None:
        """One row per open case, indexed for the tenant's queue in due-date order."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "case_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, reference TEXT NOT NULL, "
            "service TEXT NOT NULL, applicant_name TEXT, status TEXT NOT NULL, assignee TEXT, "
            "submitted_at TEXT NOT NULL, due_on TEXT, due_key TEXT NOT NULL, "
            "waiting_for_applicant INTEGER NOT NULL, decided_on TEXT, objection_state TEXT, "
            "objection_open INTEGER NOT NULL, objection_deadline TEXT, "
            "last_activity_at TEXT NOT NULL, position BIGINT NOT NULL)"
        )
        for name, columns in (
            ("due", "tenant, due_key, case_id"),
            ("assignee", "tenant, assignee, due_key, case_id"),
            ("status", "tenant, status, due_key, case_id"),
            ("service", "tenant, service, due_key, case_id"),  # a rare service's queue
            ("objection", "tenant, objection_open, due_key, case_id"),  # a few in a hundred
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{name} ON {self.table} ({columns})"
            )

    def topics(self) -> list[str]:
        """Every case event."""
        return case_event_topics()

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows, then upsert and delete in bulk."""
        ids = sorted({str(a.event.originator_id) for a in batch})
        rows = load_rows(tx, self.table, COLUMNS, ids)
        for applied in batch:
            self._fold(rows, applied)
        still_open = [r for r in rows.values() if r["status"] not in OPEN_STATUSES_EXCLUDED]
        gone = [r["case_id"] for r in rows.values() if r["status"] in OPEN_STATUSES_EXCLUDED]
        upsert_rows(tx, self.table, COLUMNS, still_open)
        delete_rows(tx, self.table, "case_id", gone)

    def _fold(self, rows: dict[str, dict[str, Any]], applied: Applied) -> None:
        event: Any = applied.event
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            applicant_name = event.applicant.get("name")
            rows[case_id] = {
                "case_id": case_id,
                "tenant": event.tenant,
                "reference": event.reference,
                "service": event.service,
                "applicant_name": sealed_json(applicant_name),
                "status": "submitted",
                "assignee": None,
                "submitted_at": utc_text(event.at),
                "due_on": None,
                "due_key": NO_DUE_DATE,
                "waiting_for_applicant": 0,
                "decided_on": None,
                "objection_state": None,
                "objection_open": 0,
                "objection_deadline": None,
                "last_activity_at": utc_text(event.at),
                "position": applied.position,
            }
            return
        row = rows.get(case_id)
        if row is None:
            return  # the case left the inbox before (closed): later events do not bring it back
        row["status"] = status_after(event, row["status"])
        row["assignee"] = holder_after(event, row.get("assignee"))
        clock = getattr(event, "clock", None)
        if isinstance(clock, ProcessingClock):
            row["due_on"] = due_on_text(clock)
            row["waiting_for_applicant"] = int(clock.stopped_since is not None)
        row["decided_on"] = decided_on_after(event, row["decided_on"])
        # The decision stops the clock: no running period, so never overdue or due before.
        row["due_key"] = NO_DUE_DATE if row["decided_on"] else row["due_on"] or NO_DUE_DATE
        row["objection_state"] = objection_after(event, row["objection_state"])
        row["objection_open"] = int(objection_is_open(row["objection_state"]))
        row["objection_deadline"] = objection_deadline_after(event, row["objection_deadline"])
        at = getattr(event, "at", None)
        if isinstance(at, datetime):
            row["last_activity_at"] = utc_text(at)
        row["position"] = applied.position

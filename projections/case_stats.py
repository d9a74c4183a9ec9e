"""Statistics: one row per case (open or not) with the dates that performance is measured by.

Beside the processing dates, the legal track: how many objections (Widersprüche) the case
had and how they ended, where the latest stands, and the day the decision became final
(bestandskräftig), whatever status the service's own steps have reached.

Version 2 (from 1): objection counts, ``objection_state`` and ``final_on``; statuses are the
main track only (``objection_lodged`` and ``objection_forwarded`` are gone).
Version 3: ``deemed_approved_on``, the day an approval was deemed granted (§ 42a HVwVfG).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from domain.case import Case
from domain.lifecycle import CaseStatus
from domain.objection import ObjectionState
from domain.processing_clock import ProcessingClock
from domain.working_days import berlin_date, working_days_between
from projections.bulk import load_rows, upsert_rows
from projections.case_events import (
    case_event_topics,
    final_on_after,
    objection_after,
    status_after,
)
from projections.due_dates import due_on_text
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

COLUMNS = (
    "case_id",
    "tenant",
    "service",
    "status",
    "submitted_on",
    "started_on",
    "waited_days",
    "due_on",
    "decided_on",
    "processing_days",
    "within_period",
    "objections_lodged",
    "objections_remedied",
    "objections_withdrawn",
    "objections_decided",
    "objection_state",
    "final_on",
    "deemed_approved_on",
)
# How an objection ended, counted per case: the state it reached → the column counting it.
DISPOSALS = {
    ObjectionState.REMEDIED: "objections_remedied",  # Abhilfe in full (§ 72 VwGO)
    ObjectionState.WITHDRAWN: "objections_withdrawn",
    ObjectionState.DECIDED: "objections_decided",  # Widerspruchsbescheid (§ 73 VwGO)
}


class CaseStats(Projection):
    """Per case: received, complete, decided, due, processing time in working days."""

    name: ClassVar[str] = "case_stats"
    version: ClassVar[int] = 3  # 2: objections and finality; 3: deemed approvals

    def create_tables(self, tx: ViewTransaction) -> None:
        """One row per case, indexed by tenant and service."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (case_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, service TEXT NOT NULL, status TEXT NOT NULL, "
            "submitted_on TEXT NOT NULL, started_on TEXT, waited_days INTEGER NOT NULL, "
            "due_on TEXT, decided_on TEXT, processing_days INTEGER, within_period INTEGER, "
            "objections_lodged INTEGER NOT NULL, objections_remedied INTEGER NOT NULL, "
            "objections_withdrawn INTEGER NOT NULL, objections_decided INTEGER NOT NULL, "
            "objection_state TEXT, final_on TEXT, deemed_approved_on TEXT)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_tenant ON {self.table} "
            "(tenant, service, status)"
        )

    def topics(self) -> list[str]:
        """Every case event."""
        return case_event_topics()

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows, then upsert them in bulk."""
        rows = load_rows(
            tx, self.table, COLUMNS, sorted({str(a.event.originator_id) for a in batch})
        )
        for applied in batch:
            self._fold(rows, applied.event)
        upsert_rows(tx, self.table, COLUMNS, list(rows.values()))

    def _fold(self, rows: dict[str, dict[str, Any]], event: Any) -> None:
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            rows[case_id] = dict.fromkeys(COLUMNS) | {
                "case_id": case_id,
                "tenant": event.tenant,
                "service": event.service,
                "status": CaseStatus.SUBMITTED,
                "submitted_on": berlin_date(event.at).isoformat(),
                "waited_days": 0,
                "objections_lodged": 0,
                "objections_remedied": 0,
                "objections_withdrawn": 0,
                "objections_decided": 0,
            }
            return
        row = rows.get(case_id)
        if row is None:
            return
        row["status"] = status_after(event, row["status"])
        self._legal_track(row, event)
        if isinstance(event, Case.DeemedApproved):  # the period ended without a decision
            row["deemed_approved_on"] = event.took_effect_on.isoformat()
        clock = getattr(event, "clock", None)
        if isinstance(clock, ProcessingClock):
            row["started_on"] = clock.started_on.isoformat() if clock.started_on else None
            row["waited_days"] = clock.waited_working_days
            row["due_on"] = due_on_text(clock)
        takes_effect = isinstance(event, Case.Countersigned) or (
            isinstance(event, Case.Decided) and event.status != CaseStatus.PENDING_COUNTERSIGN
        )
        if takes_effect and row["decided_on"] is None and isinstance(event.at, datetime):
            decided = berlin_date(event.at)
            row["decided_on"] = decided.isoformat()
            if row["started_on"]:
                started = date.fromisoformat(row["started_on"])
                row["processing_days"] = max(
                    working_days_between(started, decided) - int(row["waited_days"] or 0), 0
                )
            if row["due_on"]:
                row["within_period"] = int(decided <= date.fromisoformat(row["due_on"]))

    def _legal_track(self, row: dict[str, Any], event: Any) -> None:
        """Objections lodged and how they ended; the day the decision became final."""
        before = row["objection_state"]
        after = objection_after(event, before)
        row["objection_state"] = after
        if isinstance(event, Case.ObjectionLodged):
            row["objections_lodged"] += 1
        elif after != before and after in DISPOSALS:
            row[DISPOSALS[after]] += 1
        row["final_on"] = final_on_after(event, row["final_on"])

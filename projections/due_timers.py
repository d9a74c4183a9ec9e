"""Due timers: per case, what falls due when — the scheduler's work list.

One row per case and timer kind (``domain/timers.py``; the base case's kinds in
``domain/case_timers.py``, the services' in their modules) with the due date the events
recorded, the town, the service and the clerk holding the case, and the log position of
the event that set the date. The scheduler fires a timer once per (case, kind, due date,
that position): a date that moves (an extension, a paused period running again) or is set
again after the case reopened is a new timer; a case that moves on (decided, final,
withdrawn, an objection in time lodged, closed) clears it. A row may keep a date without
anything due (``kept_on``: the end of the objection period while an objection holds
finality back).

A second table keeps what every timer of a case needs (town, service, holder, status), so
a timer raised late in a case's life (an information request) knows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

import domain.case_timers  # noqa: F401  (registers the base case's timer kinds)
from domain.case import Case
from domain.timers import TIMER_KINDS, Due, TimerKinds
from projections.bulk import CHUNK, delete_rows, insert_rows, load_rows, upsert_rows
from projections.case_events import (
    OPEN_STATUSES_EXCLUDED,
    case_event_topics,
    holder_after,
    status_after,
)
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

TIMER_COLUMNS = (
    "case_id",
    "kind",
    "due_on",
    "kept_on",
    "tenant",
    "service",
    "assignee",
    "position",
)
CASE_COLUMNS = ("case_id", "tenant", "service", "assignee", "status")


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _text(day: date | None) -> str | None:
    return day.isoformat() if day else None


class DueTimers(Projection):
    """Per case and timer kind, the date due; cleared when the case moves on."""

    name: ClassVar[str] = "due_timers"
    version: ClassVar[int] = 3  # 2: deemed approval, no § 42a overdue; 3: services' kinds

    def __init__(self, kinds: TimerKinds = TIMER_KINDS) -> None:
        self.kinds = kinds

    @property
    def cases_table(self) -> str:
        """The table of what the timers of a case need to know (town, service, holder)."""
        return f"{self.key}_cases"

    def tables(self) -> list[str]:
        """The timers and the cases they belong to."""
        return [self.table, self.cases_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Timers by case and kind, indexed by kind and date for the scheduler."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "case_id TEXT NOT NULL, kind TEXT NOT NULL, due_on TEXT, kept_on TEXT, "
            "tenant TEXT NOT NULL, service TEXT NOT NULL, assignee TEXT, "
            "position BIGINT NOT NULL, PRIMARY KEY (case_id, kind))"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_due ON {self.table} (kind, due_on, case_id)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} ("
            "case_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "assignee TEXT, status TEXT NOT NULL)"
        )

    def topics(self) -> list[str]:
        """Every case event (a service's kind may read any of them)."""
        return case_event_topics()

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched cases, then replace their timer rows."""
        ids = sorted({str(a.event.originator_id) for a in batch})
        cases = load_rows(tx, self.cases_table, CASE_COLUMNS, ids)
        timers = self._load_timers(tx, ids)
        for applied in batch:
            self._fold(cases, timers, applied)
        gone = [i for i, c in cases.items() if c["status"] in OPEN_STATUSES_EXCLUDED]
        kept = [c for i, c in cases.items() if i not in gone]
        upsert_rows(tx, self.cases_table, CASE_COLUMNS, kept)
        delete_rows(tx, self.cases_table, "case_id", gone)
        delete_rows(tx, self.table, "case_id", ids)
        rows = [
            tuple(row[c] for c in TIMER_COLUMNS)
            for case_id in ids
            if case_id in cases and case_id not in gone
            for _, row in sorted(timers.get(case_id, {}).items())
            if row["due_on"] is not None or row["kept_on"] is not None
        ]
        insert_rows(tx, self.table, TIMER_COLUMNS, rows)

    def _load_timers(
        self, tx: ViewTransaction, ids: Sequence[str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        selected = f"SELECT {', '.join(TIMER_COLUMNS)} FROM {self.table} WHERE case_id"
        found: list[tuple[Any, ...]] = []
        if tx.dialect == "postgresql":
            found = tx.query(f"{selected} = ANY(?)", (list(ids),)) if ids else []
        else:
            for start in range(0, len(ids), CHUNK):
                part = list(ids[start : start + CHUNK])
                found += tx.query(f"{selected} IN ({', '.join('?' for _ in part)})", part)
        timers: dict[str, dict[str, dict[str, Any]]] = {}
        for row in found:
            timers.setdefault(row[0], {})[row[1]] = dict(zip(TIMER_COLUMNS, row, strict=True))
        return timers

    def _fold(
        self,
        cases: dict[str, dict[str, Any]],
        timers: dict[str, dict[str, dict[str, Any]]],
        applied: Applied,
    ) -> None:
        event: Any = applied.event
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            cases[case_id] = {
                "case_id": case_id,
                "tenant": event.tenant,
                "service": event.service,
                "assignee": None,
                "status": "submitted",
            }
        case = cases.get(case_id)
        if case is None:
            return  # the case ended before (closed, withdrawn): nothing of it is due
        case["status"] = status_after(event, case["status"])
        case["assignee"] = holder_after(event, case["assignee"])
        of_case = timers.setdefault(case_id, {})
        for kind in self.kinds:
            row = of_case.get(kind.name)
            before = Due(_day(row["due_on"]), _day(row["kept_on"])) if row else Due()
            after = kind.due_after(event, before)
            if row is None and after == before:
                continue
            of_case[kind.name] = {
                "case_id": case_id,
                "kind": kind.name,
                "due_on": _text(after.on),
                "kept_on": _text(after.kept),
                "tenant": case["tenant"],
                "service": case["service"],
                "assignee": case["assignee"],
                # A due date set anew (also the same date again, after the case reopened)
                # is a new timer: the scheduler fires each (date, position) once.
                "position": row["position"] if row and after.on == before.on else applied.position,
            }
        for row in of_case.values():
            row["assignee"] = case["assignee"]

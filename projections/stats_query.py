"""Statistics per tenant and service, read from the case_stats view."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from statistics import median, quantiles
from typing import Any

from domain.lifecycle import CaseStatus
from projections.case_events import objection_is_open
from projections.case_stats import CaseStats
from projections.timer_notices import ESCALATION, REMINDER, notices_by_service
from projections.view_store import ViewDatabase
from projections.where import Where

CLOSED = {CaseStatus.CLOSED, CaseStatus.WITHDRAWN}


def iso_week(day: str) -> str:
    """``2026-W10`` for a date."""
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def p90(values: list[int]) -> float | None:
    """The 90th percentile (None without data)."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return quantiles(values, n=10, method="inclusive")[-1]


class StatsQuery:
    """Counts, weekly throughput, processing times, timeliness, objections and finality per
    service."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views
        self.table = CaseStats().table

    def for_tenant(
        self, tenant: str, *, today: date, service: str | None = None
    ) -> list[dict[str, Any]]:
        """One entry per service of the tenant."""
        where = Where("tenant = ?", tenant)
        where.equal("service", service)
        rows = self.views.query(
            "SELECT service, status, submitted_on, decided_on, processing_days, within_period, "
            "due_on, objections_lodged, objections_remedied, objections_withdrawn, "
            "objections_decided, objection_state, final_on, deemed_approved_on "
            f"FROM {self.table} WHERE {where.sql}",
            where.params,
        )
        notices = notices_by_service(self.views, tenant)
        by_service: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_service[row[0]].append(row)
        return [
            self._summary(name, cases, today)
            | {"reminders": notices[name][REMINDER], "escalations": notices[name][ESCALATION]}
            for name, cases in sorted(by_service.items())
        ]

    def _summary(self, service: str, rows: list[tuple[Any, ...]], today: date) -> dict[str, Any]:
        times = [int(r[4]) for r in rows if r[4] is not None]
        judged = [int(r[5]) for r in rows if r[5] is not None]
        overdue = sum(
            1
            for r in rows
            if r[3] is None
            and r[13] is None  # deemed approved (§ 42a HVwVfG): ended, not overdue
            and r[1] not in CLOSED
            and r[6]
            and date.fromisoformat(r[6]) < today
        )
        return {
            "service": service,
            "cases": len(rows),
            "by_status": dict(sorted(Counter(r[1] for r in rows).items())),
            "received_per_week": dict(sorted(Counter(iso_week(r[2]) for r in rows).items())),
            "decided_per_week": dict(sorted(Counter(iso_week(r[3]) for r in rows if r[3]).items())),
            "processing_working_days_median": median(times) if times else None,
            "processing_working_days_p90": p90(times),
            "overdue": overdue,
            "decided_within_period_share": round(sum(judged) / len(judged), 4) if judged else None,
            "objections_lodged": sum(int(r[7]) for r in rows),
            "objections_open": sum(1 for r in rows if objection_is_open(r[11])),
            "objections_remedied": sum(int(r[8]) for r in rows),
            "objections_withdrawn": sum(int(r[9]) for r in rows),
            "objections_decided": sum(int(r[10]) for r in rows),
            "final": sum(1 for r in rows if r[12]),
            "deemed_approved": sum(1 for r in rows if r[13]),
        }

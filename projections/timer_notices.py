"""Reminders and escalations as the inbox and the statistics read them.

The scheduler (``infrastructure/scheduler.py``) records each timer it fired in the firings
table, outside the event log: a notice never moves a case (decision: notices are not case
events). The inbox is a view built from the log, so it cannot fold them in; it joins them
at query time instead, on the same database, through the firings table's primary key
(case, kind, due date, log position) and the due timers view's (case, kind).

A notice is **open** while the timer that fired it still stands in the due timers view with
the same due date: the clerk answered the reminder by deciding, the applicant answered the
question, the period moved on — and the notice is no longer shown. Kinds addressed to the
clerk holding the case are reminders; kinds addressed to the supervisors are escalations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, Final

import domain.case_timers  # noqa: F401  (registers the base case's timer kinds)
from domain.timers import TIMER_KINDS, Addressee, Notice
from projections.due_timers import DueTimers
from projections.view_store import ViewDatabase

FIRINGS: Final = "vorgang_timer_firings"  # written by the scheduler, read here
NOTICED: Final = "noticed"
REMINDER: Final = "reminder"
ESCALATION: Final = "escalation"


def notice_sort(kind: str) -> str | None:
    """Whether a kind's notices are reminders (for the clerk) or escalations (supervisors)."""
    for registered in TIMER_KINDS:
        if registered.name == kind and isinstance(registered.action, Notice):
            return ESCALATION if registered.action.addressee is Addressee.SUPERVISORS else REMINDER
    return None


def kinds_of(sort: str) -> list[str]:
    """The names of the kinds whose notices are of this sort."""
    return [k.name for k in TIMER_KINDS if notice_sort(k.name) == sort]


def open_notice_exists(case_column: str, sort: str) -> tuple[str, list[Any]]:
    """SQL (and its parameters) true where the case has an open notice of this sort."""
    kinds = kinds_of(sort) or [""]
    timers = DueTimers().table
    return (
        f"EXISTS (SELECT 1 FROM {FIRINGS} f JOIN {timers} t ON t.case_id = f.case_id "
        "AND t.kind = f.kind AND t.due_on = f.due_on "
        f"WHERE f.case_id = {case_column} AND f.outcome = ? "
        f"AND f.kind IN ({', '.join('?' for _ in kinds)}))",
        [NOTICED, *kinds],
    )


def latest_open_notices(views: ViewDatabase, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per case, the latest open notice: its kind, sort (reminder, escalation) and the day."""
    if not case_ids:
        return {}
    timers = DueTimers().table
    rows = views.query(
        f"SELECT f.case_id, f.kind, f.fired_on, f.claimed_at FROM {FIRINGS} f "
        f"JOIN {timers} t ON t.case_id = f.case_id AND t.kind = f.kind AND t.due_on = f.due_on "
        f"WHERE f.outcome = ? AND f.case_id IN ({', '.join('?' for _ in case_ids)})",
        [NOTICED, *case_ids],
    )
    latest: dict[str, tuple[str, str, str]] = {}
    for case_id, kind, fired_on, claimed_at in rows:
        if notice_sort(kind) is None:
            continue
        seen = latest.get(case_id)
        if seen is None or (fired_on, claimed_at) > (seen[1], seen[2]):
            latest[case_id] = (kind, fired_on, claimed_at)
    return {
        case_id: {"kind": kind, "sort": notice_sort(kind), "fired_on": fired_on}
        for case_id, (kind, fired_on, _) in latest.items()
    }


def notices_by_service(views: ViewDatabase, tenant: str) -> dict[str, Counter[str]]:
    """Per service of the tenant, how many reminders and escalations were sent (ever)."""
    rows = views.query(
        f"SELECT service, kind, COUNT(*) FROM {FIRINGS} "
        "WHERE tenant = ? AND outcome = ? GROUP BY service, kind",
        [tenant, NOTICED],
    )
    counted: dict[str, Counter[str]] = defaultdict(Counter)
    for service, kind, count in rows:
        sort = notice_sort(kind)
        if sort is not None:
            counted[service][sort] += int(count)
    return counted

"""Reminders, escalations and deemed approvals in the inbox and the statistics.

Notices are recorded by the scheduler outside the log; the inbox joins the latest open one
per case at query time, and lets the clerk ask for the reminded or escalated cases only.
A notice is open while its timer stands: the decision closes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from application.clock import FixedClock
from domain.case_timers import PROCESSING_OVERDUE, PROCESSING_REMINDER
from domain.working_days import BERLIN
from infrastructure.wiring import Vorgang
from projections.stats_query import StatsQuery
from tests.infrastructure.deemed_approval_steps import statutory_case
from tests.projections import legal_track
from tests.projections.legal_track import aggregate, today
from tests.projections.test_inbox import inbox


def morning_of(clock: FixedClock, day: date) -> None:
    clock.set(datetime.combine(day, time(8, 0), tzinfo=BERLIN).astimezone(UTC))


def tick(v: Vorgang) -> None:
    v.projections.catch_up()
    v.scheduler.tick()


def general_stats(v: Vorgang, clock: FixedClock) -> dict[str, Any]:
    v.projections.catch_up()
    (general,) = StatsQuery(v.views).for_tenant("usingen", today=today(clock))
    return general


def test_reminders_and_escalations_show_until_the_case_moves_on(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.general_case(vorgang)
    legal_track.in_review(vorgang, case_id)
    quiet = legal_track.general_case(vorgang)  # never complete: no period, no notice
    key, other = str(case_id), str(quiet)
    due = aggregate(vorgang, case_id).clock.due_on
    assert due is not None
    assert inbox(vorgang, clock)[key]["notice"] is None
    assert inbox(vorgang, clock, reminded=True) == {}

    morning_of(clock, due - timedelta(days=1))  # within the lead of working days
    tick(vorgang)
    shown = inbox(vorgang, clock)
    assert shown[key]["notice"] == {
        "kind": PROCESSING_REMINDER.name,
        "sort": "reminder",
        "fired_on": today(clock).isoformat(),
    }
    assert shown[other]["notice"] is None
    assert set(inbox(vorgang, clock, reminded=True)) == {key}
    assert inbox(vorgang, clock, escalated=True) == {}

    morning_of(clock, due + timedelta(days=1))
    tick(vorgang)
    assert inbox(vorgang, clock)[key]["notice"]["kind"] == PROCESSING_OVERDUE.name  # latest
    assert set(inbox(vorgang, clock, escalated=True)) == {key}
    stats = general_stats(vorgang, clock)
    assert (stats["reminders"], stats["escalations"]) == (1, 1)

    legal_track.decide(vorgang, case_id)
    assert inbox(vorgang, clock)[key]["notice"] is None  # answered by the decision
    assert inbox(vorgang, clock, reminded=True) == {}
    assert inbox(vorgang, clock, escalated=True) == {}
    stats = general_stats(vorgang, clock)
    assert (stats["reminders"], stats["escalations"]) == (1, 1)  # sent is sent


def test_a_deemed_approval_is_counted_and_never_overdue(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = statutory_case(vorgang)
    due = aggregate(vorgang, case_id).clock.due_on
    assert due is not None
    morning_of(clock, due + timedelta(days=5))
    tick(vorgang)
    stats = general_stats(vorgang, clock)
    assert stats["deemed_approved"] == 1
    assert stats["overdue"] == 0
    assert stats["escalations"] == 0  # a § 42a period ends in the approval, not a delay
    row = inbox(vorgang, clock)[str(case_id)]
    assert row["status"] == "deemed_approved"
    assert row["overdue"] is False
    assert row["decided_on"] == (due + timedelta(days=1)).isoformat()

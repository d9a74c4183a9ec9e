"""The feed publishes the reminders and escalations the scheduler sends, once each.

A notice is an aggregate of its own (``domain/timer_notice.py``), never a case event: the
case's version does not move, yet integrators read it on the feed under the case. Runs on
SQLite and on PostgreSQL (``vorgang`` fixture); kills are decided by the progress a
scheduler process reports, never by a clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from api.routes.feed import feed_types
from application.clock import FixedClock
from domain.case_timers import PROCESSING_OVERDUE, PROCESSING_REMINDER
from domain.timer_notice import TimerNotice, notice_id
from infrastructure.scheduler import NOTICED
from infrastructure.wiring import Vorgang, build
from projections.feed_query import FeedFilter, FeedQuery
from tests.infrastructure.test_scheduler import fired, morning_of, reviewed_case, tick
from tests.infrastructure.test_scheduler_races import run_until
from tests.projections.legal_track import aggregate

REMINDER_SENT = "de.vorgang.case.reminder_sent.v1"
ESCALATED = "de.vorgang.case.escalated.v1"


def notices_on_feed(v: Vorgang, case_id: UUID) -> list[dict[str, Any]]:
    """The case's reminders and escalations on the feed (without a grant), caught up."""
    v.projections.catch_up()
    events = FeedQuery(v.views).page(FeedFilter(tenants=("usingen",)), after=0, limit=500)
    return [
        e
        for e in events
        if e["subject"] == str(case_id) and e["type"] in (REMINDER_SENT, ESCALATED)
    ]


def test_a_reminder_and_an_escalation_appear_once_on_the_feed_without_moving_the_case(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    version = aggregate(vorgang, case_id).version
    morning_of(clock, due)  # the reminder is due, the escalation not yet
    tick(vorgang)
    (reminder,) = notices_on_feed(vorgang, case_id)
    assert reminder["type"] == REMINDER_SENT
    assert reminder["source"] == "/tenants/usingen"
    data = reminder["data"]
    assert data["timer"] == PROCESSING_REMINDER.name
    assert data["due_on"] == due.isoformat()
    assert data["fired_on"] == due.isoformat()
    assert data["version"] == version
    assert data["addressees"] == fired(vorgang, case_id, PROCESSING_REMINDER.name)[0]["addressees"]
    morning_of(clock, due + timedelta(days=1))
    tick(vorgang)
    tick(vorgang)
    events = notices_on_feed(vorgang, case_id)
    assert [e["type"] for e in events] == [REMINDER_SENT, ESCALATED]
    assert events[1]["data"]["timer"] == PROCESSING_OVERDUE.name
    assert "supervisors:buergerbuero" in events[1]["data"]["addressees"]
    assert len({e["id"] for e in events}) == 2
    assert aggregate(vorgang, case_id).version == version  # the case's ETag did not move


def test_a_notice_is_an_aggregate_of_its_own_keyed_by_the_firing(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    morning_of(clock, due)  # the reminder is due, the escalation not yet
    tick(vorgang)
    (firing,) = fired(vorgang, case_id, PROCESSING_REMINDER.name)
    key = notice_id(case_id, PROCESSING_REMINDER.name, due, int(str(firing["raised_at"])))
    notice: object = vorgang.store.repository.get(key)
    assert isinstance(notice, TimerNotice)
    assert notice.case_id == case_id
    assert notice.version == 1


@pytest.mark.parametrize("killed_at", ["claimed", "acted"])
def test_a_scheduler_killed_mid_notice_publishes_it_once_after_restart(
    vorgang: Vorgang, clock: FixedClock, killed_at: str
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    version = aggregate(vorgang, case_id).version
    morning_of(clock, due)  # the reminder is due, the escalation not yet
    vorgang.projections.catch_up()
    lines = run_until(vorgang.settings.database_url, clock.now().isoformat(), killed_at)
    assert lines[-1] == "waiting", lines
    assert f"{killed_at} {case_id} {PROCESSING_REMINDER.name}" in lines
    (claim,) = fired(vorgang, case_id, PROCESSING_REMINDER.name)
    assert claim["finished_at"] is None  # killed before the outcome was recorded
    assert len(notices_on_feed(vorgang, case_id)) == (1 if killed_at == "acted" else 0)

    restarted = build(vorgang.settings, clock=clock)
    try:
        restarted.projections.catch_up()
        assert restarted.scheduler.tick().retried == 1
        assert restarted.scheduler.tick().fired == []
    finally:
        restarted.close()
    (firing,) = fired(vorgang, case_id, PROCESSING_REMINDER.name)
    assert firing["outcome"] == NOTICED
    (notice,) = notices_on_feed(vorgang, case_id)
    assert notice["type"] == REMINDER_SENT
    assert aggregate(vorgang, case_id).version == version


def test_the_notice_types_are_listed() -> None:
    listed = {t.type: t for t in feed_types()}
    assert REMINDER_SENT in listed
    assert ESCALATED in listed
    assert "addressees" in listed[ESCALATED].dataschema["properties"]

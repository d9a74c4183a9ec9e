"""Timer kinds: registration, rules found by event class, and when each sort fires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actor import Role
from domain.case_steps import MARK_FINAL
from domain.case_timers import OBJECTION_PERIOD_ENDED
from domain.timers import (
    TIMER_KINDS,
    Addressee,
    Due,
    Fires,
    Notice,
    Readiness,
    RunCommand,
    TimerKind,
    TimerKinds,
    scheduler_actor,
)
from domain.working_days import add_working_days, is_working_day, working_days_between


@dataclass
class Started:
    """An event of some service."""

    on: date


@dataclass
class StartedAgain(Started):
    """A subclass: found by its base class's rule."""


@dataclass
class Ended:
    """The service's case moved on."""


def warranty_kind() -> TimerKind:
    """A service's kind, registered as a service would (e.g. a warranty ending)."""
    kind = TimerKind(
        name="warranty_ends",
        summary="The warranty ends: the final inspection is due.",
        fires=Fires.ON_THE_DAY,
        action=Notice(Addressee.ASSIGNEE),
    )

    @kind.on(Started)
    def _started(event: Started, due: Due) -> Due:
        return Due(event.on + timedelta(days=5 * 365))

    kind.ends_on(Ended)
    return kind


def test_a_service_registers_a_kind_whose_rules_follow_its_events() -> None:
    kinds = TimerKinds()
    kind = kinds.register(warranty_kind())
    assert kinds.names() == ["warranty_ends"]
    due = kind.due_after(StartedAgain(date(2026, 3, 2)), Due())
    assert due == Due(date(2031, 3, 1))
    assert kind.due_after("an event it does not read", due) == due
    assert kind.due_after(Ended(), due) == Due()


def test_two_kinds_of_one_name_are_refused() -> None:
    kinds = TimerKinds()
    kinds.register(warranty_kind())
    with pytest.raises(ValueError, match="warranty_ends"):
        kinds.register(warranty_kind())


def test_the_base_case_registers_its_four_kinds() -> None:
    assert {
        "processing_reminder",
        "processing_overdue",
        "information_reply_overdue",
        "objection_period_ended",
    } <= set(TIMER_KINDS.names())
    action = OBJECTION_PERIOD_ENDED.action
    assert isinstance(action, RunCommand)
    assert action.step is MARK_FINAL
    assert Readiness.DUE != Readiness.NOT_YET


def test_the_scheduler_acts_as_the_system_of_the_case_s_town() -> None:
    actor = scheduler_actor("usingen")
    assert actor.role is Role.SYSTEM
    assert actor.tenant == "usingen"


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(today=days)
def test_on_the_day_fires_on_the_due_date_and_after_the_day_only_once_it_passed(
    today: date,
) -> None:
    assert Fires.ON_THE_DAY.latest_due(today, 3) == today
    assert Fires.DAY_AFTER.latest_due(today, 3) == today - timedelta(days=1)


@given(today=days, lead=st.integers(0, 10), ahead=st.integers(0, 40))
def test_a_reminder_fires_once_no_more_than_the_lead_of_working_days_lie_ahead(
    today: date, lead: int, ahead: int
) -> None:
    due = today + timedelta(days=ahead)
    fires = due <= Fires.BEFORE_BY_REMINDER_LEAD.latest_due(today, lead)
    if is_working_day(due):
        assert fires == (working_days_between(today, due) <= lead)
    assert Fires.BEFORE_BY_REMINDER_LEAD.latest_due(today, lead) == add_working_days(today, lead)

"""The services' own timer kinds: the road opening's warranty ending, a permit's validity
ending (moved by extensions, ended by completed works), the sewer connection charge falling
due. Each is worked out from the case's events alone, as the due timers view folds them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.case import Case
from domain.case_steps import RECORD_EXPIRY
from domain.case_timers import PERMIT_EXPIRED, expiry_ready
from domain.errors import InvalidCommand, InvalidTransition
from domain.rules import notification
from domain.services.dog_steps import ASSESS_TAX_YEAR, TAX_YEAR_BEGINS, tax_year_ready
from domain.services.road_opening import WARRANTY_ENDS
from domain.services.sewer_connection import CHARGE_FALLS_DUE
from domain.timers import (
    TIMER_KINDS,
    Addressee,
    Due,
    Fires,
    Notice,
    Readiness,
    RunCommand,
    TimerKind,
    scheduler_actor,
)
from tests.domain.case_fixtures import CLERK, noon, road_opening_decided
from tests.domain.test_sewer_connection_charge_procedure import accepted, built

DECIDED_ON = date(2026, 4, 1)


def due_after(kind: TimerKind, events: Iterable[Any]) -> Due:
    due = Due()
    for recorded in events:
        due = kind.due_after(recorded, due)
    return due


def test_the_services_kinds_are_registered_with_the_scheduler_as_notices() -> None:
    names = set(TIMER_KINDS.names())
    assert {
        WARRANTY_ENDS.name,
        PERMIT_EXPIRED.name,
        CHARGE_FALLS_DUE.name,
        TAX_YEAR_BEGINS.name,
    } <= names
    for kind in (WARRANTY_ENDS, CHARGE_FALLS_DUE):
        assert kind.action == Notice(Addressee.ASSIGNEE)
    # Expiry changes the case's legal state (§ 43 (2) HVwVfG): a case event, run as a command.
    assert PERMIT_EXPIRED.action == RunCommand(RECORD_EXPIRY, expiry_ready)
    assert WARRANTY_ENDS.fires is Fires.ON_THE_DAY  # the final inspection is due that day
    assert PERMIT_EXPIRED.fires is Fires.DAY_AFTER  # its last day has passed
    assert CHARGE_FALLS_DUE.fires is Fires.ON_THE_DAY
    # A new year of a registered dog is assessed by the scheduler, as the system (issue 25).
    assert TAX_YEAR_BEGINS.name == "dog_tax_year_begins"
    assert TAX_YEAR_BEGINS.action == RunCommand(ASSESS_TAX_YEAR, tax_year_ready)
    assert TAX_YEAR_BEGINS.fires is Fires.ON_THE_DAY  # 1 January


def test_a_permit_expires_after_its_last_day_an_extension_moves_it_completed_works_end_it() -> None:
    permit = road_opening_decided(DECIDED_ON, expires_on=date(2026, 6, 30))
    permit.notify(actor=CLERK, at=noon(DECIDED_ON))
    events = list(permit.collect_events())
    assert due_after(PERMIT_EXPIRED, events).on == permit.valid_until
    assert permit.valid_until == date(2026, 6, 30)
    start = permit.data["planned_period"]["start"]
    started = date.fromisoformat(start) if isinstance(start, str) else start
    permit.start_works(actor=CLERK, at=noon(max(started, DECIDED_ON)), started_on=started)
    permit.extend_permit(
        actor=CLERK, at=noon(date(2026, 6, 1)), extended_to=date(2026, 7, 31), reason="Regen"
    )
    events += list(permit.collect_events())
    assert due_after(PERMIT_EXPIRED, events).on == date(2026, 7, 31)
    permit.complete_works(actor=CLERK, at=noon(date(2026, 6, 15)), completed_on=date(2026, 6, 15))
    events += list(permit.collect_events())
    assert due_after(PERMIT_EXPIRED, events).on is None
    assert due_after(WARRANTY_ENDS, events).on is None  # not yet accepted
    permit.inspect_restoration(
        actor=CLERK, at=noon(date(2026, 6, 16)), inspected_on=date(2026, 6, 16), defects=[]
    )
    events += list(permit.collect_events())
    assert permit.warranty_until is not None
    assert due_after(WARRANTY_ENDS, events).on == permit.warranty_until


def test_the_connection_charge_falls_due_on_the_day_its_bekanntgabe_gives() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    assert due_after(CHARGE_FALLS_DUE, permit.collect_events()).on is None  # not notified yet
    permit.notify_connection_charge(
        actor=CLERK,
        at=noon(date(2026, 4, 3)),
        delivery=notification.Delivery.COUNTER,
        sent_on=date(2026, 4, 3),
    )
    events = list(permit.collect_events())
    assert permit.charge is not None
    assert permit.charge.due_on is not None
    falls_due = due_after(CHARGE_FALLS_DUE, events).on
    assert falls_due == permit.charge.due_on
    assert falls_due > date(2026, 4, 3) + timedelta(days=27)


LAST_DAY = date(2026, 6, 30)
SYSTEM = scheduler_actor("usingen")


def notified_road_permit() -> Any:
    permit = road_opening_decided(DECIDED_ON, expires_on=LAST_DAY)
    permit.notify(actor=CLERK, at=noon(DECIDED_ON))
    assert permit.valid_until == LAST_DAY
    return permit


def test_the_expiry_is_recorded_the_day_after_the_last_day_once_as_a_case_event() -> None:
    permit = notified_road_permit()
    assert expiry_ready(permit, LAST_DAY) is Readiness.NOT_YET
    with pytest.raises(InvalidCommand, match="valid until 2026-06-30"):
        permit.record_expiry(actor=SYSTEM, at=noon(LAST_DAY))
    status = permit.status
    assert expiry_ready(permit, date(2026, 7, 1)) is Readiness.DUE
    assert "record_expiry" in permit.allowed_commands()
    permit.record_expiry(actor=SYSTEM, at=noon(date(2026, 7, 3)))
    expired = [e for e in permit.collect_events() if isinstance(e, Case.ApprovalExpired)]
    assert [(e.valid_until, e.expired_on) for e in expired] == [(LAST_DAY, date(2026, 7, 1))]
    assert "§ 43 Abs. 2 HVwVfG" in expired[0].legal_basis
    assert permit.expired_on == date(2026, 7, 1)
    assert permit.status == status  # the service's lifecycle does not move
    assert expiry_ready(permit, date(2026, 7, 4)) is Readiness.DONE
    assert "record_expiry" not in permit.allowed_commands()
    with pytest.raises(InvalidTransition):  # never twice
        permit.record_expiry(actor=CLERK, at=noon(date(2026, 7, 4)))


def test_an_extension_moves_the_expiry_and_the_timer_ends_with_it() -> None:
    permit = notified_road_permit()
    start = permit.data["planned_period"]["start"]
    started = date.fromisoformat(start) if isinstance(start, str) else start
    permit.start_works(actor=CLERK, at=noon(max(started, DECIDED_ON)), started_on=started)
    permit.extend_permit(
        actor=CLERK, at=noon(date(2026, 6, 1)), extended_to=date(2026, 7, 31), reason="Regen"
    )
    assert expiry_ready(permit, date(2026, 7, 1)) is Readiness.NOT_YET
    with pytest.raises(InvalidCommand):
        permit.record_expiry(actor=SYSTEM, at=noon(date(2026, 7, 1)))
    permit.record_expiry(actor=SYSTEM, at=noon(date(2026, 8, 1)))
    assert permit.expired_on == date(2026, 8, 1)
    assert due_after(PERMIT_EXPIRED, permit.collect_events()).on is None  # ends with it


def test_no_expiry_once_the_works_are_complete_or_the_application_withdrawn() -> None:
    completed = notified_road_permit()
    start = completed.data["planned_period"]["start"]
    started = date.fromisoformat(start) if isinstance(start, str) else start
    completed.start_works(actor=CLERK, at=noon(max(started, DECIDED_ON)), started_on=started)
    completed.complete_works(
        actor=CLERK, at=noon(date(2026, 6, 15)), completed_on=date(2026, 6, 15)
    )
    assert expiry_ready(completed, date(2026, 7, 1)) is Readiness.DONE
    with pytest.raises(InvalidTransition):
        completed.record_expiry(actor=SYSTEM, at=noon(date(2026, 7, 1)))
    withdrawn = notified_road_permit()
    withdrawn.withdraw(actor=CLERK, at=noon(DECIDED_ON + timedelta(days=1)))
    assert expiry_ready(withdrawn, date(2026, 7, 1)) is Readiness.DONE
    with pytest.raises(InvalidTransition):
        withdrawn.record_expiry(actor=SYSTEM, at=noon(date(2026, 7, 1)))


@given(offset=st.integers(min_value=-400, max_value=400))
def test_the_expiry_is_due_exactly_from_the_day_after_the_last_day(offset: int) -> None:
    permit = notified_road_permit()
    day = LAST_DAY + timedelta(days=offset)
    ready = expiry_ready(permit, day)
    assert ready is (Readiness.DUE if day > LAST_DAY else Readiness.NOT_YET)
    if day < DECIDED_ON:
        return
    if ready is Readiness.DUE:
        permit.record_expiry(actor=SYSTEM, at=noon(day))
        assert permit.expired_on == LAST_DAY + timedelta(days=1)
    else:
        with pytest.raises(InvalidCommand):
            permit.record_expiry(actor=SYSTEM, at=noon(day))

"""The services' own timer kinds: the road opening's warranty ending, a permit's validity
ending (moved by extensions, ended by completed works), the sewer connection charge falling
due. Each is worked out from the case's events alone, as the due timers view folds them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from domain.case_timers import PERMIT_EXPIRED
from domain.rules import notification
from domain.services.road_opening import WARRANTY_ENDS
from domain.services.sewer_connection import CHARGE_FALLS_DUE
from domain.timers import TIMER_KINDS, Addressee, Due, Fires, Notice, TimerKind
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
    assert {WARRANTY_ENDS.name, PERMIT_EXPIRED.name, CHARGE_FALLS_DUE.name} <= names
    for kind in (WARRANTY_ENDS, PERMIT_EXPIRED, CHARGE_FALLS_DUE):
        assert kind.action == Notice(Addressee.ASSIGNEE)
    assert WARRANTY_ENDS.fires is Fires.ON_THE_DAY  # the final inspection is due that day
    assert PERMIT_EXPIRED.fires is Fires.DAY_AFTER  # its last day has passed
    assert CHARGE_FALLS_DUE.fires is Fires.ON_THE_DAY


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
    assert due_after(CHARGE_FALLS_DUE, events).on == permit.charge.due_on
    assert due_after(CHARGE_FALLS_DUE, events).on > date(2026, 4, 3) + timedelta(days=27)

"""The due timers view: per case and kind, the date due, cleared when the case moves on."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from application.clock import FixedClock
from domain.case_timers import (
    OBJECTION_PERIOD_ENDED,
    PROCESSING_OVERDUE,
    PROCESSING_REMINDER,
    REPLY_OVERDUE,
)
from domain.working_days import berlin_date
from infrastructure.projection_rebuild import rebuild_together
from infrastructure.wiring import Vorgang
from projections.due_timers import DueTimers
from tests.conftest import CLERK, OTHER_CLERK
from tests.projections.legal_track import (
    aggregate,
    decide,
    general_case,
    in_review,
    lodge_objection,
    notify,
)
from tests.steps import take

VIEW = DueTimers()


def timers(v: Vorgang, case_id: UUID) -> dict[str, tuple[str | None, str | None]]:
    """The case's timers: kind → (due on, assignee)."""
    v.projections.catch_up()
    rows = v.views.query(
        f"SELECT kind, due_on, assignee FROM {VIEW.table} WHERE case_id = ?",  # noqa: S608
        (str(case_id),),
    )
    return {kind: (due_on, assignee) for kind, due_on, assignee in rows}


def test_a_running_period_raises_its_reminder_and_escalation_with_the_holder(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = general_case(vorgang)
    assert timers(vorgang, case_id) == {}  # the period has not started
    in_review(vorgang, case_id)
    due = aggregate(vorgang, case_id).clock.due_on
    assert due is not None
    assert timers(vorgang, case_id) == {
        PROCESSING_REMINDER.name: (due.isoformat(), CLERK.id),
        PROCESSING_OVERDUE.name: (due.isoformat(), CLERK.id),
    }
    take(vorgang.cases, case_id, "release", actor=CLERK, reason="Urlaub")
    assert {a for _, a in timers(vorgang, case_id).values()} == {None}
    take(vorgang.cases, case_id, "claim", actor=OTHER_CLERK)
    assert {a for _, a in timers(vorgang, case_id).values()} == {OTHER_CLERK.id}


def test_a_paused_period_clears_its_timers_and_an_information_request_raises_its_own(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = general_case(vorgang)
    in_review(vorgang, case_id)
    reply_by = berlin_date(clock.now()) + timedelta(days=10)
    take(
        vorgang.cases,
        case_id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan nachreichen."],
        reply_by=reply_by,
        missing_documents=False,
    )
    assert timers(vorgang, case_id) == {REPLY_OVERDUE.name: (reply_by.isoformat(), CLERK.id)}
    clock.advance(timedelta(days=3))
    take(vorgang.cases, case_id, "provide_information", actor=CLERK, answer="Liegt bei.")
    due = aggregate(vorgang, case_id).clock.due_on
    assert due is not None
    assert set(timers(vorgang, case_id)) == {PROCESSING_REMINDER.name, PROCESSING_OVERDUE.name}
    assert timers(vorgang, case_id)[PROCESSING_OVERDUE.name][0] == due.isoformat()


def test_the_decision_stops_the_clock_and_its_notification_starts_the_objection_period(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = general_case(vorgang)
    in_review(vorgang, case_id)
    decide(vorgang, case_id)
    assert timers(vorgang, case_id) == {}
    notify(vorgang, case_id)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    first = (deadline + timedelta(days=1)).isoformat()
    assert timers(vorgang, case_id) == {OBJECTION_PERIOD_ENDED.name: (first, CLERK.id)}
    lodge_objection(vorgang, case_id)
    assert timers(vorgang, case_id) == {OBJECTION_PERIOD_ENDED.name: (None, CLERK.id)}
    clock.advance(timedelta(days=40))
    take(vorgang.cases, case_id, "withdraw_objection", actor=CLERK)
    withdrawn_on = berlin_date(clock.now()).isoformat()
    assert timers(vorgang, case_id) == {OBJECTION_PERIOD_ENDED.name: (withdrawn_on, CLERK.id)}


def test_a_late_objection_does_not_hold_finality_back(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id = general_case(vorgang)
    in_review(vorgang, case_id)
    decide(vorgang, case_id)
    notify(vorgang, case_id)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    clock.advance(timedelta(days=45))
    lodge_objection(vorgang, case_id)  # received today, after the period
    first = (deadline + timedelta(days=1)).isoformat()
    assert timers(vorgang, case_id)[OBJECTION_PERIOD_ENDED.name][0] == first


def test_a_withdrawn_application_leaves_nothing_due(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id = general_case(vorgang)
    in_review(vorgang, case_id)
    take(vorgang.cases, case_id, "withdraw", actor=CLERK)
    assert timers(vorgang, case_id) == {}
    rows = vorgang.views.query(
        f"SELECT case_id FROM {VIEW.cases_table} WHERE case_id = ?",  # noqa: S608
        (str(case_id),),
    )
    assert rows == []


def test_the_view_rebuilt_from_the_log_is_the_view_kept_up(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    first = general_case(vorgang)
    in_review(vorgang, first)
    second = general_case(vorgang)
    in_review(vorgang, second)
    decide(vorgang, second)
    notify(vorgang, second)
    kept = {c: timers(vorgang, c) for c in (first, second)}
    (live,) = [r.projection for r in vorgang.projections.runners.values() if r.name == VIEW.key]
    rebuild_together(vorgang.store, vorgang.views, [live], batch_size=2)
    assert {c: timers(vorgang, c) for c in (first, second)} == kept

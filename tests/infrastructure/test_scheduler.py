"""The scheduler with a controllable clock: timers fire when the clock passes their date,
not before, once each across restarts; notices never move the case.

Each test runs on SQLite and on PostgreSQL (``vorgang`` fixture; PostgreSQL fails under
``CI=true`` when unreachable).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import pytest
from typer.testing import CliRunner

from application.clock import FixedClock
from domain.case import Case
from domain.case_steps import MARK_FINAL
from domain.case_timers import (
    OBJECTION_PERIOD_ENDED,
    PROCESSING_OVERDUE,
    PROCESSING_REMINDER,
    REPLY_OVERDUE,
    finality_ready,
)
from domain.timers import SCHEDULER_ID, Readiness, RunCommand, TimerKinds
from domain.working_days import BERLIN, add_working_days, berlin_date
from infrastructure import cli
from infrastructure.scheduler import (
    DONE,
    FAILED,
    MAX_ATTEMPTS,
    NOTHING_TO_DO,
    NOTICED,
    FiringKey,
    Scheduler,
    firings,
)
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import CLERK
from tests.projections.legal_track import (
    aggregate,
    general_case,
    in_review,
    lodge_objection,
    notified_general_case,
)
from tests.steps import take


def morning_of(clock: FixedClock, day: date) -> None:
    """Move the clock to 08:00 in Germany on ``day``."""
    clock.set(datetime.combine(day, time(8, 0), tzinfo=BERLIN).astimezone(UTC))


def tick(v: Vorgang) -> list[tuple[str, str, str]]:
    """Catch the views up, tick once; the (case, kind, outcome) fired."""
    v.projections.catch_up()
    report = v.scheduler.tick()
    return [(k.case_id, k.kind, outcome) for k, outcome in report.fired]


def fired(v: Vorgang, case_id: UUID, kind: str) -> list[dict[str, object]]:
    """The firings recorded for this case and kind."""
    return [f for f in firings(v.views) if f["case_id"] == str(case_id) and f["kind"] == kind]


def became_final(v: Vorgang, case_id: UUID) -> list[Case.BecameFinal]:
    """The case's BecameFinal events."""
    events = v.store.events.get(case_id)
    return [e for e in events if isinstance(e, Case.BecameFinal)]


def test_the_decision_becomes_final_the_day_after_the_objection_period_and_not_before(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline)
    tick(vorgang)
    assert aggregate(vorgang, case_id).final_on is None
    assert fired(vorgang, case_id, OBJECTION_PERIOD_ENDED.name) == []

    morning_of(clock, deadline + timedelta(days=1))
    assert (str(case_id), OBJECTION_PERIOD_ENDED.name, DONE) in tick(vorgang)
    case = aggregate(vorgang, case_id)
    assert case.final_on == deadline + timedelta(days=1)
    (final,) = became_final(vorgang, case_id)
    assert final.actor.id == SCHEDULER_ID


def test_an_objection_in_time_keeps_the_decision_open(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    lodge_objection(vorgang, case_id)
    morning_of(clock, deadline + timedelta(days=3))
    tick(vorgang)
    assert aggregate(vorgang, case_id).final_on is None
    assert fired(vorgang, case_id, OBJECTION_PERIOD_ENDED.name) == []


def test_a_withdrawn_objection_lets_the_decision_become_final(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    lodge_objection(vorgang, case_id)
    clock.advance(timedelta(days=3))
    take(vorgang.cases, case_id, "withdraw_objection", actor=CLERK)
    morning_of(clock, deadline + timedelta(days=1))
    tick(vorgang)
    assert aggregate(vorgang, case_id).final_on == deadline + timedelta(days=1)


def test_a_timer_never_fires_twice_across_restarts(
    vorgang: Vorgang, clock: FixedClock, tmp_path: object
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=2))
    tick(vorgang)
    again = build(vorgang.settings, clock=clock)  # a restarted process on the same database
    try:
        again.projections.catch_up()
        assert again.scheduler.tick().fired == []
        morning_of(clock, deadline + timedelta(days=30))
        assert again.scheduler.tick().fired == []
    finally:
        again.close()
    assert len(became_final(vorgang, case_id)) == 1
    (firing,) = fired(vorgang, case_id, OBJECTION_PERIOD_ENDED.name)
    assert firing["outcome"] == DONE


def test_a_case_marked_final_by_a_clerk_is_not_made_final_again(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    vorgang.projections.catch_up()
    # The view still shows the timer when the clerk marks the case final.
    take(vorgang.cases, case_id, "mark_final", actor=CLERK)
    report = vorgang.scheduler.tick()  # the view is behind: nothing is selected
    assert report.view_behind
    assert tick(vorgang) == []  # caught up: the timer is gone
    assert len(became_final(vorgang, case_id)) == 1


def reviewed_case(v: Vorgang, clock: FixedClock) -> tuple[UUID, date]:
    """A general case complete and claimed today; its processing due date."""
    case_id = general_case(v)
    clock.advance(timedelta(hours=1))
    in_review(v, case_id)
    due = aggregate(v, case_id).clock.due_on
    assert due is not None
    return case_id, due


def test_the_clerk_is_reminded_n_working_days_before_the_due_date_without_moving_the_case(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    lead = vorgang.scheduler.reminder_working_days
    version = aggregate(vorgang, case_id).version
    day = berlin_date(clock.now())
    while add_working_days(day + timedelta(days=1), lead) < due:
        day += timedelta(days=1)
    morning_of(clock, day)  # the last day with more than ``lead`` working days ahead
    tick(vorgang)
    assert fired(vorgang, case_id, PROCESSING_REMINDER.name) == []
    morning_of(clock, day + timedelta(days=1))
    tick(vorgang)
    (reminder,) = fired(vorgang, case_id, PROCESSING_REMINDER.name)
    assert reminder["outcome"] == NOTICED
    assert reminder["addressees"] == [CLERK.id]
    assert reminder["due_on"] == due.isoformat()
    assert aggregate(vorgang, case_id).version == version  # the ETag did not move
    tick(vorgang)
    assert len(fired(vorgang, case_id, PROCESSING_REMINDER.name)) == 1


def test_an_overdue_case_is_escalated_to_the_supervisors_of_its_team(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    morning_of(clock, due)
    tick(vorgang)
    assert fired(vorgang, case_id, PROCESSING_OVERDUE.name) == []
    morning_of(clock, due + timedelta(days=1))
    tick(vorgang)
    (escalation,) = fired(vorgang, case_id, PROCESSING_OVERDUE.name)
    assert escalation["outcome"] == NOTICED
    # Usingen's general cases are handled by the citizens' office, among others.
    assert "supervisors:buergerbuero" in escalation["addressees"]  # type: ignore[operator]


def test_a_paused_period_is_neither_reminded_of_nor_overdue(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, due = reviewed_case(vorgang, clock)
    take(
        vorgang.cases,
        case_id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan nachreichen."],
        reply_by=due + timedelta(days=60),
        missing_documents=True,
    )
    morning_of(clock, due + timedelta(days=5))
    tick(vorgang)
    assert fired(vorgang, case_id, PROCESSING_OVERDUE.name) == []
    assert fired(vorgang, case_id, PROCESSING_REMINDER.name) == []


def test_a_reply_deadline_that_passed_is_a_notice_for_the_clerk(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id, _ = reviewed_case(vorgang, clock)
    reply_by = berlin_date(clock.now()) + timedelta(days=14)
    take(
        vorgang.cases,
        case_id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan nachreichen."],
        reply_by=reply_by,
        missing_documents=False,
    )
    morning_of(clock, reply_by)
    tick(vorgang)
    assert fired(vorgang, case_id, REPLY_OVERDUE.name) == []
    morning_of(clock, reply_by + timedelta(days=1))
    tick(vorgang)
    (notice,) = fired(vorgang, case_id, REPLY_OVERDUE.name)
    assert notice["addressees"] == [CLERK.id]


def test_an_answer_in_time_clears_the_reply_deadline(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id, _ = reviewed_case(vorgang, clock)
    reply_by = berlin_date(clock.now()) + timedelta(days=14)
    take(
        vorgang.cases,
        case_id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan nachreichen."],
        reply_by=reply_by,
        missing_documents=False,
    )
    clock.advance(timedelta(days=2))
    take(
        vorgang.cases,
        case_id,
        "provide_information",
        actor=CLERK,
        answer="Lageplan liegt bei.",
    )
    morning_of(clock, reply_by + timedelta(days=2))
    tick(vorgang)
    assert fired(vorgang, case_id, REPLY_OVERDUE.name) == []


def test_the_reminder_lead_is_a_setting(tmp_path: object) -> None:
    assert Settings().reminder_working_days == 3
    assert Settings(reminder_working_days=5).reminder_working_days == 5


def test_the_scheduler_runs_beside_the_projections_on_the_system_clock_only(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    assert vorgang.scheduler not in vorgang.projections.beside  # an injected clock
    on_system_clock = build(vorgang.settings)
    try:
        assert on_system_clock.scheduler in on_system_clock.projections.beside
    finally:
        on_system_clock.close()
    switched_off = build(vorgang.settings.model_copy(update={"scheduler": False}))
    try:
        assert switched_off.projections.beside == []
    finally:
        switched_off.close()


def test_nothing_to_do_is_recorded_when_the_case_moved_on_under_a_claimed_firing(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    vorgang.projections.catch_up()
    paused: list[str] = []

    def clerk_acts_first(point: str, key: object) -> None:
        if point == "claimed" and not paused:
            paused.append(point)
            take(vorgang.cases, case_id, "mark_final", actor=CLERK)

    scheduler = Scheduler(views=vorgang.views, commands=vorgang.commands, clock=clock)
    scheduler.progress = clerk_acts_first
    report = scheduler.tick()
    assert [(k.kind, o) for k, o in report.fired] == [(OBJECTION_PERIOD_ENDED.name, NOTHING_TO_DO)]
    assert len(became_final(vorgang, case_id)) == 1


def test_a_final_decision_reopened_by_an_objection_in_time_becomes_final_again_on_the_same_day(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    # Found by the state machine: the timer raised again after the reopening has the date
    # the first one had; it is a new timer (raised by a later event) and fires again.
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    tick(vorgang)
    assert aggregate(vorgang, case_id).final_on is not None
    lodge_objection(vorgang, case_id, received_on=deadline)  # the letter came in time
    assert aggregate(vorgang, case_id).final_on is None
    take(vorgang.cases, case_id, "withdraw_objection", actor=CLERK)
    tick(vorgang)
    assert aggregate(vorgang, case_id).final_on == deadline + timedelta(days=1)
    assert len(became_final(vorgang, case_id)) == 2
    assert [f["outcome"] for f in fired(vorgang, case_id, OBJECTION_PERIOD_ENDED.name)] == [
        DONE,
        DONE,
    ]


def test_the_scheduler_runs_beside_the_projections(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    recorded = threading.Event()

    def watch(point: str, key: FiringKey) -> None:
        if point == "recorded" and key.kind == OBJECTION_PERIOD_ENDED.name:
            recorded.set()

    vorgang.scheduler.progress = watch
    # On the system clock `build` runs it beside the projections; this test's clock is
    # injected, so it says so itself.
    vorgang.projections.run_beside(vorgang.scheduler)
    vorgang.projections.start()  # as `serve` and `worker` do
    try:
        assert recorded.wait(timeout=60)  # a bound for a failure, not a decision
    finally:
        vorgang.projections.stop()
    assert aggregate(vorgang, case_id).final_on == deadline + timedelta(days=1)


def test_the_cli_fires_due_timers_once(
    vorgang: Vorgang, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set(datetime.now(UTC) - timedelta(days=90))  # the CLI runs on the system clock
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    vorgang.projections.catch_up()
    monkeypatch.setenv("VORGANG_DATABASE_URL", vorgang.settings.database_url)
    runner = CliRunner()
    first = runner.invoke(cli.app, ["timers", "tick"])
    assert first.exit_code == 0, first.output
    assert f"{OBJECTION_PERIOD_ENDED.name:<28}{case_id}  done" in first.output
    again = runner.invoke(cli.app, ["timers", "tick"])
    assert "0 fired" in again.output
    listed = runner.invoke(cli.app, ["timers", "firings"])
    assert f"{case_id}  due {(deadline + timedelta(days=1)).isoformat()}  done" in listed.output


def test_a_firing_that_keeps_failing_is_given_up_and_holds_up_no_other(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    broken = notified_general_case(vorgang, clock)
    working = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, working).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    vorgang.projections.catch_up()

    def ready(case: Case, today: date) -> Readiness:
        if case.id == broken:
            raise RuntimeError("a bug in a service's timer")
        return finality_ready(case, today)

    kinds = TimerKinds()
    kinds.register(replace(OBJECTION_PERIOD_ENDED, action=RunCommand(MARK_FINAL, ready)))
    scheduler = Scheduler(views=vorgang.views, commands=vorgang.commands, kinds=kinds)
    scheduler.tick()
    assert aggregate(vorgang, working).final_on is not None
    (firing,) = fired(vorgang, broken, OBJECTION_PERIOD_ENDED.name)
    assert (firing["outcome"], firing["attempts"]) == (None, 2)
    for _ in range(MAX_ATTEMPTS - 2):
        scheduler.tick()
    (firing,) = fired(vorgang, broken, OBJECTION_PERIOD_ENDED.name)
    assert firing["outcome"] == FAILED
    assert "a bug in a service's timer" in str(firing["detail"])
    assert scheduler.tick().retried == 0

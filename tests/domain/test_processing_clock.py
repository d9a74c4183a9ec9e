from datetime import date

import pytest

from domain.processing_clock import ClockError, ProcessingClock

MONDAY = date(2026, 3, 2)


def test_the_period_runs_from_completeness() -> None:
    clock = ProcessingClock(period_working_days=10)
    assert clock.due_on is None
    started = clock.start(MONDAY)
    assert started.is_running
    assert started.due_on == date(2026, 3, 16)


def test_a_question_pauses_the_clock_and_shifts_the_due_date_by_the_days_waited() -> None:
    clock = ProcessingClock(period_working_days=10).start(MONDAY)
    paused = clock.stop(date(2026, 3, 4), missing_documents=False)
    assert not paused.is_running
    resumed = paused.resume(date(2026, 3, 11))  # five working days later
    assert resumed.waited_working_days == 5
    assert resumed.due_on == date(2026, 3, 23)


def test_an_information_request_for_missing_documents_restarts_the_period_on_completeness() -> None:
    clock = ProcessingClock(period_working_days=10).start(MONDAY)
    stopped = clock.stop(date(2026, 3, 4), missing_documents=True)
    answered = stopped.resume(date(2026, 3, 11))
    assert answered.due_on is None  # still waiting for completeness
    restarted = answered.start(date(2026, 3, 12))
    assert restarted.started_on == date(2026, 3, 12)
    assert restarted.due_on == date(2026, 3, 26)


def test_the_period_may_be_extended_once() -> None:
    clock = ProcessingClock(period_working_days=10).start(MONDAY).extend(5)
    assert clock.due_on == date(2026, 3, 23)
    with pytest.raises(ClockError, match="already been extended"):
        clock.extend(5)


def test_an_extension_needs_a_started_period_and_positive_days() -> None:
    with pytest.raises(ClockError, match="not started"):
        ProcessingClock(period_working_days=10).extend(5)
    with pytest.raises(ClockError, match="at least one"):
        ProcessingClock(period_working_days=10).start(MONDAY).extend(0)


def test_completeness_cannot_be_confirmed_twice() -> None:
    with pytest.raises(ClockError, match="already running"):
        ProcessingClock(period_working_days=10).start(MONDAY).start(MONDAY)


def test_an_answer_cannot_come_before_the_request() -> None:
    clock = (
        ProcessingClock(period_working_days=10).start(MONDAY).stop(MONDAY, missing_documents=False)
    )
    with pytest.raises(ClockError, match="before the request"):
        clock.resume(date(2026, 3, 1))

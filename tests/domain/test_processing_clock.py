"""The processing clock: target periods in working days, and the § 42a HVwVfG period.

§ 42a (2) HVwVfG: three months from the receipt of the complete documents, no pause for
ordinary questions, one extension before the period ends, communicated in time; once it
ended without a decision the approval is deemed granted and nothing restarts it. A due date
is recorded with the clock that computed it and read back as recorded.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand, InvalidTransition
from domain.lifecycle import CaseStatus
from domain.processing_clock import ClockError, ProcessingClock
from persistence.transcodings import ProcessingClockAsDict
from tests.domain.case_fixtures import APPLICANT, CLERK, START, submitted

MONDAY = date(2026, 3, 2)


class DeemedApprovalCase(Case):
    """A service where a legal rule orders deemed approval (§ 42a (1) HVwVfG)."""

    DEEMED_APPROVAL = True


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
    clock = (
        ProcessingClock(period_working_days=10)
        .start(MONDAY)
        .extend(5, today=MONDAY, communicated_on=MONDAY)
    )
    assert clock.due_on == date(2026, 3, 23)
    assert clock.extension_communicated_on == MONDAY
    with pytest.raises(ClockError, match="already been extended"):
        clock.extend(5, today=MONDAY, communicated_on=MONDAY)


def test_an_extension_needs_a_started_period_and_positive_days() -> None:
    with pytest.raises(ClockError, match="not started"):
        ProcessingClock(period_working_days=10).extend(5, today=MONDAY, communicated_on=MONDAY)
    with pytest.raises(ClockError, match="at least one"):
        ProcessingClock(period_working_days=10).start(MONDAY).extend(
            0, today=MONDAY, communicated_on=MONDAY
        )


def test_completeness_cannot_be_confirmed_twice() -> None:
    with pytest.raises(ClockError, match="already running"):
        ProcessingClock(period_working_days=10).start(MONDAY).start(MONDAY)


def test_an_answer_cannot_come_before_the_request() -> None:
    clock = (
        ProcessingClock(period_working_days=10).start(MONDAY).stop(MONDAY, missing_documents=False)
    )
    with pytest.raises(ClockError, match="before the request"):
        clock.resume(date(2026, 3, 1))


# ---------------------------------------------------------------- § 42a HVwVfG


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 3, 2), date(2026, 6, 2)),  # same day number three months later
        (date(2025, 11, 30), date(2026, 3, 2)),  # 28 February 2026, a Saturday: Monday
        (date(2023, 11, 29), date(2024, 2, 29)),  # a leap year keeps the 29th
        (date(2023, 11, 30), date(2024, 2, 29)),  # no 30 February: the month's last day
        (date(2026, 2, 3), date(2026, 5, 4)),  # 3 May 2026, a Sunday: Monday
        (date(2026, 2, 1), date(2026, 5, 4)),  # 1 May (Labour Day) then the weekend
    ],
)
def test_the_deemed_approval_period_is_three_months_ending_on_a_working_day(
    received: date, due: date
) -> None:
    clock = ProcessingClock.statutory().start(received)
    assert clock.deemed_approval
    assert clock.due_on == due
    assert not clock.approval_deemed_on(due)
    assert clock.approval_deemed_on(due + timedelta(days=1))


def test_the_deemed_approval_period_does_not_pause_for_ordinary_questions() -> None:
    clock = ProcessingClock.statutory().start(MONDAY)
    asked = clock.stop(date(2026, 3, 10), missing_documents=False)
    assert asked == clock
    assert asked.is_running
    assert asked.due_on == date(2026, 6, 2)


def test_missing_documents_stop_the_deemed_approval_period_until_they_are_received() -> None:
    clock = ProcessingClock.statutory().start(MONDAY)
    stopped = clock.stop(date(2026, 3, 10), missing_documents=True)
    assert stopped.due_on is None
    assert not stopped.approval_deemed_on(date(2026, 12, 1))
    answered = stopped.resume(date(2026, 4, 1))
    assert answered.due_on is None
    assert answered.start(date(2026, 4, 1)).due_on == date(2026, 7, 1)


def test_the_deemed_approval_period_is_extended_once_before_it_ends_communicated_in_time() -> None:
    clock = ProcessingClock.statutory().start(MONDAY)  # ends on 2 June 2026
    end = date(2026, 6, 2)
    with pytest.raises(ClockError, match="ended on 2026-06-02"):
        clock.extend(10, today=end + timedelta(days=1), communicated_on=end)
    with pytest.raises(ClockError, match="must reach the applicant by the end"):
        clock.extend(10, today=end, communicated_on=end + timedelta(days=1))
    with pytest.raises(ClockError, match="cannot lie in the future"):
        clock.extend(10, today=date(2026, 5, 1), communicated_on=date(2026, 5, 4))
    extended = clock.extend(10, today=end, communicated_on=end)  # on the last day: in time
    assert extended.due_on == date(2026, 6, 17)  # ten working days; 4 June is Corpus Christi
    with pytest.raises(ClockError, match="already been extended"):
        extended.extend(5, today=end, communicated_on=end)


def test_the_decision_stops_the_clock_and_keeps_its_due_date() -> None:
    clock = ProcessingClock.statutory().start(MONDAY)
    decided = clock.decided(date(2026, 7, 1))  # after the period: too late, but decided
    assert decided.due_on == date(2026, 6, 2)
    assert not decided.is_running
    assert not decided.overdue_on(date(2026, 8, 1))
    assert not decided.approval_deemed_on(date(2026, 8, 1))
    reopened = decided.reopened()
    assert reopened.overdue_on(date(2026, 8, 1))
    # Decided in time or not, a replaced decision leaves no room for the fiction (§ 42a).
    assert reopened.reopened_after_decision
    assert not reopened.approval_deemed_on(date(2026, 8, 1))


def test_a_paused_target_period_is_not_overdue_and_may_still_be_extended() -> None:
    clock = ProcessingClock(period_working_days=10).start(MONDAY)
    assert clock.due_on == date(2026, 3, 16)
    paused = clock.stop(date(2026, 3, 12), missing_documents=False)
    assert not paused.overdue_on(date(2026, 3, 20))  # the days waited move the end on
    extended = paused.extend(5, today=date(2026, 3, 20), communicated_on=date(2026, 3, 20))
    assert extended.extension_working_days == 5
    with pytest.raises(ClockError):  # running again, the period that ended stays ended
        clock.extend(5, today=date(2026, 3, 20), communicated_on=date(2026, 3, 20))


def test_a_recorded_due_date_is_kept_even_if_the_calendar_would_now_give_another() -> None:
    transcoding = ProcessingClockAsDict()
    stored = transcoding.encode(ProcessingClock(period_working_days=10).start(MONDAY))
    assert stored["due_on"] == date(2026, 3, 16)
    # As recorded when a holiday the calendar no longer holds moved the day on.
    stored["due_on"] = date(2026, 3, 17)
    clock = transcoding.decode(stored)
    assert clock.due_on == date(2026, 3, 17)
    assert not clock.overdue_on(date(2026, 3, 17))


def test_a_clock_recorded_before_clocks_carried_their_due_date_gets_it_computed_once() -> None:
    old = {
        "period": 10,
        "started_on": MONDAY,
        "stopped_since": None,
        "restarts": False,
        "waited": 2,
        "extension": 5,
    }
    clock = ProcessingClockAsDict().decode(old)
    assert not clock.deemed_approval
    assert clock.decided_on is None
    assert clock.due_on == date(2026, 3, 25)  # 10 + 2 + 5 working days after 2 March
    waiting = ProcessingClockAsDict().decode({**old, "started_on": None})
    assert waiting.due_on is None


def test_a_clock_round_trips_with_every_field() -> None:
    clock = (
        ProcessingClock.statutory()
        .start(MONDAY)
        .extend(5, today=MONDAY, communicated_on=MONDAY)
        .decided(date(2026, 4, 1))
    )
    transcoding = ProcessingClockAsDict()
    assert transcoding.decode(transcoding.encode(clock)) == clock
    reopened = clock.reopened()
    assert transcoding.decode(transcoding.encode(reopened)) == reopened


# ------------------------------------------------------- § 42a on the case


def deemed(at_days: int = 0) -> Case:
    """A § 42a case submitted on Monday 2 March 2026, claimed by CLERK."""
    case = submitted(DeemedApprovalCase)
    case.claim(actor=CLERK, at=START + timedelta(days=at_days))
    return case


def test_a_case_with_deemed_approval_runs_a_statutory_clock() -> None:
    case = submitted(DeemedApprovalCase)
    assert case.clock.deemed_approval
    assert case.clock.period_months == 3
    assert submitted().clock.deemed_approval is False


def test_the_period_starts_on_the_submission_day_not_on_the_confirmation() -> None:
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START + timedelta(days=8))
    assert case.clock.started_on == date(2026, 3, 2)
    assert case.due_on == date(2026, 6, 2)


def test_the_period_starts_on_the_day_the_last_document_was_received() -> None:
    case = deemed()
    case.confirm_complete(
        actor=CLERK, at=START + timedelta(days=8), documents_complete_on=date(2026, 3, 5)
    )
    assert case.clock.started_on == date(2026, 3, 5)
    assert case.due_on == date(2026, 6, 5)


@pytest.mark.parametrize(
    ("received", "message"),
    [(date(2026, 3, 11), "future"), (date(2026, 3, 1), "before the submission")],
)
def test_the_last_document_is_received_between_submission_and_today(
    received: date, message: str
) -> None:
    case = deemed()
    with pytest.raises(InvalidCommand, match=message) as raised:
        case.confirm_complete(
            actor=CLERK, at=START + timedelta(days=8), documents_complete_on=received
        )
    assert raised.value.field == "documents_complete_on"
    assert case.clock.started_on is None


def test_after_missing_documents_the_period_starts_on_the_answer_that_brought_them() -> None:
    case = deemed()
    case.request_information(
        actor=CLERK,
        at=START + timedelta(days=1),
        questions=["Lageplan fehlt"],
        reply_by=date(2026, 3, 31),
        missing_documents=True,
    )
    case.provide_information(actor=APPLICANT, at=START + timedelta(days=9), answer="anbei")
    assert case.status == CaseStatus.SUBMITTED
    case.confirm_complete(actor=CLERK, at=START + timedelta(days=15))
    assert case.clock.started_on == date(2026, 3, 11)
    assert case.due_on == date(2026, 6, 11)


def test_an_ordinary_question_does_not_move_the_statutory_due_date() -> None:
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START)
    case.request_information(
        actor=CLERK,
        at=START + timedelta(days=3),
        questions=["Welche Farbe?"],
        reply_by=date(2026, 3, 31),
        missing_documents=False,
    )
    assert case.clock.stopped_since is None
    assert case.due_on == date(2026, 6, 2)
    case.provide_information(actor=APPLICANT, at=START + timedelta(days=20), answer="grau")
    assert case.status == CaseStatus.IN_REVIEW
    assert case.due_on == date(2026, 6, 2)


def test_an_extension_told_after_the_period_is_refused_naming_the_day_told() -> None:
    """Regression: the refusal named "clock", the field of a refused extension being read from
    the clock's message, which "must reach the applicant by the end of the period" did not
    match; the day told is what is wrong."""
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START)
    with pytest.raises(InvalidCommand) as told_late:
        case.extend_period(
            actor=CLERK,
            at=START + timedelta(days=92),  # 2 June, the last day
            working_days=10,
            reason="Gutachten",
            communicated_on=date(2026, 6, 3),
        )
    assert told_late.value.field == "communicated_on"


def test_an_extension_on_the_case_is_refused_after_the_period_or_told_before_it() -> None:
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START)
    with pytest.raises(InvalidCommand) as told_before:
        case.extend_period(
            actor=CLERK,
            at=START + timedelta(days=92),
            working_days=10,
            reason="Gutachten",
            communicated_on=date(2026, 3, 1),  # before the period started on 2 March
        )
    assert told_before.value.field == "communicated_on"
    with pytest.raises(InvalidCommand) as too_late:
        case.extend_period(
            actor=CLERK, at=START + timedelta(days=93), working_days=10, reason="Gutachten"
        )
    assert too_late.value.field == "at"  # given after the period ended
    case.extend_period(
        actor=CLERK,
        at=START + timedelta(days=92),
        working_days=10,
        reason="Gutachten",
        communicated_on=date(2026, 6, 1),
    )
    assert case.due_on == date(2026, 6, 17)
    assert case.clock.extension_communicated_on == date(2026, 6, 1)
    assert "extend_period" not in case.allowed_commands()
    with pytest.raises(InvalidTransition):
        case.extend_period(actor=CLERK, at=START + timedelta(days=92), working_days=1, reason="r")


def test_after_deemed_approval_nothing_restarts_the_clock() -> None:
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START)
    after = START + timedelta(days=100)  # 10 June: the period ended on 2 June
    assert case.clock.approval_deemed_on(date(2026, 6, 10))
    clock = case.clock
    case.request_information(
        actor=CLERK,
        at=after,
        questions=["Unterlagen fehlen"],
        reply_by=date(2026, 6, 30),
        missing_documents=True,
    )
    assert case.clock == clock
    case.provide_information(actor=APPLICANT, at=after + timedelta(days=5), answer="anbei")
    assert case.clock == clock
    assert case.clock.approval_deemed_on(date(2026, 6, 15))
    assert "confirm_complete" not in case.allowed_commands()


def test_the_decision_stops_the_case_clock() -> None:
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START)
    case.decide(
        actor=CLERK,
        at=START + timedelta(days=10),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 42a HVwVfG",
    )
    assert case.clock.decided_on == date(2026, 3, 12)
    assert case.due_on == date(2026, 6, 2)
    assert not case.clock.overdue_on(date(2026, 7, 1))
    assert not case.clock.approval_deemed_on(date(2026, 7, 1))


def test_after_missing_documents_completeness_is_not_dated_before_they_were_asked_for() -> None:
    """Regression: after a request for missing documents, completeness could be dated back to
    the submission, before the request said they were missing; the period then restarted
    earlier than it first ran."""
    case = deemed()
    case.confirm_complete(actor=CLERK, at=START + timedelta(days=2))
    assert case.clock.started_on == date(2026, 3, 2)
    case.request_information(
        actor=CLERK,
        at=START + timedelta(days=3),
        questions=["Lageplan fehlt"],
        reply_by=date(2026, 3, 31),
        missing_documents=True,
    )
    case.provide_information(actor=APPLICANT, at=START + timedelta(days=4), answer="anbei")
    with pytest.raises(InvalidCommand) as refused:
        case.confirm_complete(
            actor=CLERK, at=START + timedelta(days=4), documents_complete_on=date(2026, 3, 2)
        )
    assert refused.value.field == "documents_complete_on"

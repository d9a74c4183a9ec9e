"""The timer kinds every case has, whatever its service (registered in ``TIMER_KINDS``).

* ``processing_reminder``: the clerk holding the case is reminded a few working days (a
  setting) before the processing period's due date.
* ``processing_overdue``: the supervisors of the teams handling the service are told once
  the due date has passed without a decision.
  Both follow the processing clock as the events record it: a period paused while the
  applicant is asked is neither reminded of nor overdue (its due date moves on when it
  runs again); the decision stops the clock (§ 42a HVwVfG; a service's target period
  alike).
* ``information_reply_overdue``: the applicant's reply deadline of an information request
  (Nachforderung) passed without an answer: a notice for the clerk.
* ``deemed_approval``: where a legal rule orders deemed approval (§ 42a HVwVfG), the day
  after the statutory period ended without a decision the scheduler runs
  ``record_deemed_approval`` as the system (``processing_overdue`` does not escalate such a
  period: it ends in the approval, not in a delay). The case decides (``deemed_approval_from``).
* ``objection_period_ended``: the decision becomes final (bestandskräftig) when the
  objection period (§ 70 VwGO) ended without an objection in time, or once an objection is
  finally disposed of (withdrawn, remedied, after the month for an action, § 74 VwGO): the
  scheduler runs ``mark_final`` as the system on the first day of finality. The case itself
  decides (``Case.final_from``): the timer's date is where to look, not the law.

* ``permit_expired``: the notified approval's last day passed: the scheduler runs
  ``record_expiry`` as the system on the next day (§ 43 (2) HVwVfG: settled by lapse of time).
  Services add the events that move or end it, in their own modules; the case decides
  (``Case.expiry_from``, with the service's ``validity_ends_on``).

Services register their own kinds the same way, in their own modules (the road opening's
warranty ending, the sewer connection charge falling due).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

from domain.case import Case
from domain.case_steps import MARK_FINAL, RECORD_DEEMED_APPROVAL, RECORD_EXPIRY
from domain.objection import ObjectionState
from domain.processing_clock import ProcessingClock
from domain.timers import (
    TIMER_KINDS,
    Addressee,
    Due,
    Fires,
    Notice,
    Readiness,
    Rule,
    RunCommand,
    TimerKind,
)
from domain.working_days import berlin_date

# Events that record the processing clock as it stands after them.
CLOCK_EVENTS: Final = (
    Case.Submitted,
    Case.CompletenessConfirmed,
    Case.InformationRequested,
    Case.InformationProvided,
    Case.PeriodExtended,
)
# Events after which nothing of the case is due any more.
CASE_ENDS: Final = (Case.Withdrawn, Case.Closed)


def running_due_date(event: Any, due: Due) -> Due:
    """The clock's due date while it runs; nothing while paused or not yet started."""
    clock: ProcessingClock = event.clock
    if clock.stopped_since is not None or clock.decided_on is not None:
        return Due(None)
    return Due(clock.due_on)


def running_target_due_date(event: Any, due: Due) -> Due:
    """As ``running_due_date``, for a service's target period only: a § 42a period that ends
    without a decision is not overdue, the approval is deemed granted instead."""
    clock: ProcessingClock = event.clock
    return Due(None) if clock.deemed_approval else running_due_date(event, due)


def running_statutory_due_date(event: Any, due: Due) -> Due:
    """The last day of a running § 42a period (a paused one has none: missing documents)."""
    clock: ProcessingClock = event.clock
    if not clock.deemed_approval or clock.reopened_after_decision:
        return Due(None)
    return running_due_date(event, due)


def processing_kind(
    name: str,
    summary: str,
    fires: Fires,
    addressee: Addressee,
    due_date: Rule = running_due_date,
) -> TimerKind:
    """A notice that follows the processing clock until the decision stops it."""
    kind = TimerKind(name=name, summary=summary, fires=fires, action=Notice(addressee))
    kind.on(*CLOCK_EVENTS)(due_date)
    kind.ends_on(Case.Decided, Case.DeemedApproved, *CASE_ENDS)
    return kind


PROCESSING_REMINDER: Final = processing_kind(
    "processing_reminder",
    "The processing period ends soon: a reminder to the clerk holding the case.",
    Fires.BEFORE_BY_REMINDER_LEAD,
    Addressee.ASSIGNEE,
)
PROCESSING_OVERDUE: Final = processing_kind(
    "processing_overdue",
    "The processing period ended without a decision: an escalation to the supervisors.",
    Fires.DAY_AFTER,
    Addressee.SUPERVISORS,
    running_target_due_date,  # a § 42a period ending is a deemed approval, not an escalation
)

REPLY_OVERDUE: Final = TimerKind(
    name="information_reply_overdue",
    summary="The applicant's reply deadline passed without an answer: a notice for the clerk.",
    fires=Fires.DAY_AFTER,
    action=Notice(Addressee.ASSIGNEE),
)


@REPLY_OVERDUE.on(Case.InformationRequested)
def _reply_by(event: Case.InformationRequested, due: Due) -> Due:
    return Due(event.request.reply_by)


REPLY_OVERDUE.ends_on(Case.InformationProvided, Case.Decided, Case.DeemedApproved, *CASE_ENDS)


def deemed_approval_ready(case: Case, today: date) -> Readiness:
    """Whether ``record_deemed_approval`` is still to run on ``today``, as the case says."""
    first = case.deemed_approval_from()
    if first is None:
        return Readiness.DONE  # recorded already, decided, paused, withdrawn, closed
    return Readiness.DUE if today >= first else Readiness.NOT_YET


DEEMED_APPROVAL: Final = TimerKind(
    name="deemed_approval",
    summary="The § 42a period ended without a decision: the approval is deemed granted.",
    fires=Fires.DAY_AFTER,
    action=RunCommand(RECORD_DEEMED_APPROVAL, deemed_approval_ready),
)
DEEMED_APPROVAL.on(*CLOCK_EVENTS)(running_statutory_due_date)
DEEMED_APPROVAL.ends_on(Case.Decided, Case.DeemedApproved, *CASE_ENDS)


def finality_ready(case: Case, today: date) -> Readiness:
    """Whether ``mark_final`` is still to be run on ``today``, as the case itself says."""
    if case.final_on is not None or "mark_final" not in case.allowed_commands():
        return Readiness.DONE  # final already, an objection in time open, or the file ended
    first = case.final_from()
    if first is None:
        return Readiness.DONE
    return Readiness.DUE if today >= first else Readiness.NOT_YET


OBJECTION_PERIOD_ENDED: Final = TimerKind(
    name="objection_period_ended",
    summary="The decision became final (bestandskräftig): the scheduler marks it final.",
    fires=Fires.ON_THE_DAY,
    action=RunCommand(MARK_FINAL, finality_ready),
)


def _later(kept: date | None, day: date | None) -> date | None:
    if kept is None or day is None:
        return kept or day
    return max(kept, day)


@OBJECTION_PERIOD_ENDED.on(Case.Notified)
def _notified(event: Case.Notified, due: Due) -> Due:
    first = event.objection_deadline + timedelta(days=1)
    return Due(first, first)


@OBJECTION_PERIOD_ENDED.on(Case.RemedyNoticeFoundDefective)
def _period_of_a_year(event: Case.RemedyNoticeFoundDefective, due: Due) -> Due:
    # § 58 (2) VwGO: a year instead of the month; a case marked final is open again.
    first = _later(due.kept, event.objection_deadline + timedelta(days=1))
    return Due(first, first)


@OBJECTION_PERIOD_ENDED.on(Case.ObjectionLodged)
def _objected(event: Case.ObjectionLodged, due: Due) -> Due:
    # An objection in time holds finality back; a late one never does.
    return Due(None, due.kept) if event.objection.timely else due


@OBJECTION_PERIOD_ENDED.on(Case.ReinstatementGranted)
def _reinstated(event: Case.ReinstatementGranted, due: Due) -> Due:
    return Due(None, due.kept)  # the late objection counts as lodged in time (§ 60 VwGO)


@OBJECTION_PERIOD_ENDED.on(Case.ObjectionWithdrawn)
def _objection_withdrawn(event: Case.ObjectionWithdrawn, due: Due) -> Due:
    first = _later(due.kept, berlin_date(event.at))
    return Due(first, first)


@OBJECTION_PERIOD_ENDED.on(Case.ObjectionRemedied)
def _remedied(event: Case.ObjectionRemedied, due: Due) -> Due:
    if event.new_decision or event.remedy is None:
        return Due()  # reviewed again: the new decision's notification sets a new period
    first = _later(due.kept, event.remedy.decided_on + timedelta(days=1))
    if event.remedy.outcome == ObjectionState.PARTLY_REMEDIED:
        return Due(None, first)  # the rest of the objection goes on
    return Due(first, first)


@OBJECTION_PERIOD_ENDED.on(Case.ObjectionDecided)
def _objection_decided(event: Case.ObjectionDecided, due: Due) -> Due:
    if event.new_decision:
        return Due()
    deadline = event.decision.action_deadline
    first = _later(due.kept, deadline + timedelta(days=1) if deadline else None)
    return Due(first, first)


OBJECTION_PERIOD_ENDED.ends_on(Case.BecameFinal, *CASE_ENDS)


def expiry_ready(case: Case, today: date) -> Readiness:
    """Whether ``record_expiry`` is still to run on ``today``, as the case itself says."""
    first = case.expiry_from()
    if first is None:
        return Readiness.DONE  # expired already, refused, ended otherwise, withdrawn, closed
    return Readiness.DUE if today >= first else Readiness.NOT_YET


PERMIT_EXPIRED: Final = TimerKind(
    name="permit_expired",
    summary="The approval's validity ended (its last day passed): the scheduler records expiry.",
    fires=Fires.DAY_AFTER,
    action=RunCommand(RECORD_EXPIRY, expiry_ready),
)
"""An approval's validity ending: the last day the notified decision gives (``expires_on``,
also a validity from the Bekanntgabe, § 43 HVwVfG). Services move it with their own events
(an extension, a renewal) and end it (works reported complete, a permit returned or revoked),
registering their rules in their own modules. The timer's date is where to look; whether the
approval expired, and when, the case decides (``Case.expiry_from``)."""


@PERMIT_EXPIRED.on(Case.Notified)
def _notified_validity(event: Case.Notified, due: Due) -> Due:
    return Due(event.expires_on)  # None for a refusal or a permit without a last day


@PERMIT_EXPIRED.on(Case.ObjectionRemedied, Case.ObjectionDecided)
def _decision_replaced(event: Any, due: Due) -> Due:
    # A new decision is due: its notification sets the validity anew.
    return Due() if event.new_decision else due


PERMIT_EXPIRED.ends_on(Case.ApprovalExpired, Case.Withdrawn, Case.Closed)

for _kind in (
    PROCESSING_REMINDER,
    PROCESSING_OVERDUE,
    REPLY_OVERDUE,
    OBJECTION_PERIOD_ENDED,
    DEEMED_APPROVAL,
    PERMIT_EXPIRED,
):
    TIMER_KINDS.register(_kind)

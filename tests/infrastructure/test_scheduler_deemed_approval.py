"""Deemed approval through the scheduler, wired: recorded as the system the day after the
§ 42a period ended without a decision, never before, once across restarts; no escalation for
such a period; the certificate issued on the applicant's request, shown in the case."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from api.schemas import CaseOut
from application.clock import FixedClock
from domain.case import Case
from domain.case_timers import DEEMED_APPROVAL, PROCESSING_OVERDUE
from domain.lifecycle import CaseStatus
from domain.timers import SCHEDULER_ID
from domain.working_days import BERLIN
from infrastructure.scheduler import DONE
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK
from tests.infrastructure.deemed_approval_steps import statutory_case
from tests.projections.legal_track import APPLICANT, aggregate
from tests.steps import take

PERIOD_ENDS = date(2026, 6, 2)  # three months from Monday 2 March 2026


def morning_of(clock: FixedClock, day: date) -> None:
    clock.set(datetime.combine(day, time(8, 0), tzinfo=BERLIN).astimezone(UTC))


def tick(v: Vorgang) -> list[tuple[str, str]]:
    v.projections.catch_up()
    return [(k.kind, outcome) for k, outcome in v.scheduler.tick().fired]


def test_the_scheduler_records_the_deemed_approval_the_day_after_the_period_once(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = statutory_case(vorgang)
    assert aggregate(vorgang, case_id).clock.due_on == PERIOD_ENDS
    morning_of(clock, PERIOD_ENDS)
    assert (DEEMED_APPROVAL.name, DONE) not in tick(vorgang)
    assert aggregate(vorgang, case_id).deemed_approval is None
    morning_of(clock, PERIOD_ENDS + timedelta(days=1))
    fired = tick(vorgang)
    assert (DEEMED_APPROVAL.name, DONE) in fired
    assert all(kind != PROCESSING_OVERDUE.name for kind, _ in fired)  # no escalation for it
    case = aggregate(vorgang, case_id)
    assert case.status == CaseStatus.DEEMED_APPROVED
    assert case.deemed_approval is not None
    assert case.deemed_approval.took_effect_on == date(2026, 6, 3)
    assert case.deemed_approval.recorded_by == SCHEDULER_ID
    morning_of(clock, PERIOD_ENDS + timedelta(days=10))
    assert tick(vorgang) == []
    recorded = [e for e in vorgang.store.events.get(case_id) if isinstance(e, Case.DeemedApproved)]
    assert len(recorded) == 1


def test_the_applicant_requests_the_certificate_and_sees_it_in_the_case(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = statutory_case(vorgang)
    morning_of(clock, PERIOD_ENDS + timedelta(days=3))
    tick(vorgang)
    assert "certify_deemed_approval" in vorgang.cases.get(case_id, actor=APPLICANT).allowed_commands
    take(vorgang.cases, case_id, "certify_deemed_approval", actor=APPLICANT)
    for reader in (APPLICANT, CLERK):
        state = vorgang.cases.get(case_id, actor=reader)
        assert state.deemed_approved is not None
        (certificate,) = state.deemed_approved["certificates"]
        assert certificate["took_effect_on"] == date(2026, 6, 3)
        assert state.reference in certificate["text"]
        assert "§ 42a Abs. 3 HVwVfG" in certificate["text"]
    shown = CaseOut.of(vorgang.cases.get(case_id, actor=CLERK)).model_dump(mode="json")
    assert shown["deemed_approval"]["took_effect_on"] == "2026-06-03"
    assert shown["deemed_approval"]["certificates"][0]["number"] == 1
    history = [e.type for e in vorgang.cases.history(case_id, actor=APPLICANT)]
    assert history[-2:] == ["DeemedApproved", "DeemedApprovalCertified"]

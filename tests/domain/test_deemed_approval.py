"""Deemed approval (§ 42a HVwVfG) on the case: recorded once the statutory period ended
without a decision, with its legal basis and the day it took effect; nothing decides or
restarts the clock afterwards; the certificate (§ 42a (3)) is issued into the file."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actor import Actor, Role
from domain.case import Case
from domain.case_timers import DEEMED_APPROVAL, deemed_approval_ready
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand, InvalidTransition, WrongTenant
from domain.lifecycle import CaseStatus
from domain.timers import Due, Readiness, scheduler_actor
from tests.domain.case_fixtures import APPLICANT, CLERK, START, noon, submitted

PERIOD_ENDS = date(2026, 6, 2)  # three months from Monday 2 March 2026 (§ 42a (2))
SYSTEM = scheduler_actor("usingen")


class DeemedApprovalCase(Case):
    """A service whose rule orders deemed approval (§ 42a (1) sentence 1 HVwVfG)."""

    DEEMED_APPROVAL = True
    DEEMED_APPROVAL_RULE = "§ 99 Musterverordnung"
    DEEMED_APPROVAL_SUBJECT = "die beantragte Erlaubnis"


def running() -> Case:
    """Complete on its day of submission, 2 March 2026: the period ends on 2 June."""
    case = submitted(DeemedApprovalCase)
    case.confirm_complete(actor=CLERK, at=START)
    case.claim(actor=CLERK, at=START)
    assert case.clock.due_on == PERIOD_ENDS
    return case


def deemed() -> Case:
    case = running()
    case.record_deemed_approval(actor=SYSTEM, at=noon(PERIOD_ENDS + timedelta(days=1)))
    return case


def decide(case: Case, at: datetime) -> None:
    case.decide(
        actor=CLERK,
        at=at,
        outcome=DecisionOutcome.REJECTED,
        justification="Die Voraussetzungen liegen nicht vor.",
        legal_basis="§ 99 Musterverordnung",
    )


def test_the_approval_is_deemed_granted_the_day_after_the_period_with_its_legal_basis() -> None:
    case = deemed()
    assert case.status == CaseStatus.DEEMED_APPROVED
    assert case.deemed_approval is not None
    assert case.deemed_approval.period_ended_on == PERIOD_ENDS
    assert case.deemed_approval.took_effect_on == date(2026, 6, 3)
    assert case.deemed_approval.legal_basis == (
        "§ 42a Abs. 1 Satz 1 HVwVfG i. V. m. § 99 Musterverordnung"
    )
    assert case.deemed_approval.recorded_by == "vorgang-scheduler"
    recorded = case.collect_events()[-1]
    assert isinstance(recorded, Case.DeemedApproved)
    assert recorded.status == CaseStatus.DEEMED_APPROVED
    assert recorded.clock.decided_on == date(2026, 6, 3)


@given(days=st.integers(0, 120))
def test_never_before_the_period_ended(days: int) -> None:
    case = running()
    day = START.date() + timedelta(days=days)
    if day <= PERIOD_ENDS:
        with pytest.raises(InvalidCommand, match="runs until 2026-06-02") as refused:
            case.record_deemed_approval(actor=SYSTEM, at=noon(day))
        assert refused.value.field == "clock"
        assert case.deemed_approval is None
    else:
        case.record_deemed_approval(actor=SYSTEM, at=noon(day))
        assert case.deemed_approval is not None
        assert case.deemed_approval.took_effect_on == date(2026, 6, 3)  # whenever recorded


def test_never_twice_and_nothing_decides_or_restarts_the_clock_afterwards() -> None:
    case = deemed()
    later = noon(PERIOD_ENDS + timedelta(days=5))
    with pytest.raises(InvalidTransition):
        case.record_deemed_approval(actor=SYSTEM, at=later)
    with pytest.raises(InvalidTransition):
        decide(case, later)
    for command in ("request_information", "confirm_complete", "extend_period"):
        assert command not in case.allowed_commands()
    assert case.allowed_commands() >= {"certify_deemed_approval", "close", "withdraw"}


def test_once_the_period_ended_no_decision_is_made_even_before_the_fiction_is_recorded() -> None:
    case = running()
    with pytest.raises(InvalidCommand, match="deemed granted") as refused:
        decide(case, noon(PERIOD_ENDS + timedelta(days=1)))
    assert refused.value.field == "clock"
    decide(case, noon(PERIOD_ENDS))  # on its last day the authority still decides


def test_no_deemed_approval_after_a_decision_in_time() -> None:
    case = running()
    decide(case, noon(PERIOD_ENDS))
    assert "record_deemed_approval" not in case.allowed_commands()
    with pytest.raises(InvalidTransition):
        case.record_deemed_approval(actor=SYSTEM, at=noon(PERIOD_ENDS + timedelta(days=1)))
    assert deemed_approval_ready(case, PERIOD_ENDS + timedelta(days=1)) is Readiness.DONE


def test_missing_documents_stop_the_period_so_nothing_is_deemed() -> None:
    case = running()
    case.request_information(
        actor=CLERK,
        at=START + timedelta(days=3),
        questions=["Lageplan fehlt"],
        reply_by=date(2026, 3, 31),
        missing_documents=True,
    )
    with pytest.raises(InvalidCommand):
        case.record_deemed_approval(actor=SYSTEM, at=noon(date(2026, 7, 1)))


def test_an_ordinary_question_open_at_the_end_does_not_hold_the_fiction_back() -> None:
    case = running()
    case.request_information(
        actor=CLERK,
        at=START + timedelta(days=3),
        questions=["Welche Farbe?"],
        reply_by=date(2026, 3, 31),
        missing_documents=False,
    )
    case.record_deemed_approval(actor=SYSTEM, at=noon(PERIOD_ENDS + timedelta(days=1)))
    assert case.status == CaseStatus.DEEMED_APPROVED
    assert case.open_request is None


def test_services_without_the_rule_have_no_deemed_approval() -> None:
    case = submitted()
    case.confirm_complete(actor=CLERK, at=START)
    assert "record_deemed_approval" not in case.allowed_commands()
    with pytest.raises(InvalidTransition):
        case.record_deemed_approval(actor=SYSTEM, at=noon(date(2026, 9, 1)))


def test_the_certificate_is_issued_on_the_applicants_request_into_the_file() -> None:
    case = deemed()
    case.certify_deemed_approval(actor=APPLICANT, at=noon(date(2026, 6, 10)))
    (certificate,) = case.certificates
    assert certificate.number == 1
    assert certificate.issued_on == date(2026, 6, 10)
    assert certificate.town == "Stadt Usingen"
    assert certificate.reference == case.reference
    assert certificate.took_effect_on == date(2026, 6, 3)
    for part in (
        "Usingen",
        case.reference,
        "die beantragte Erlaubnis",
        "03.06.2026",
        "§ 42a Abs. 1 Satz 1 HVwVfG i. V. m. § 99 Musterverordnung",
        "§ 42a Abs. 3 HVwVfG",
        certificate.authority,
    ):
        assert part in certificate.text
    case.certify_deemed_approval(actor=CLERK, at=noon(date(2026, 6, 11)))
    assert [c.number for c in case.certificates] == [1, 2]  # a copy on a further request


def test_no_certificate_without_a_deemed_approval() -> None:
    case = running()
    with pytest.raises(InvalidTransition):
        case.certify_deemed_approval(actor=APPLICANT, at=noon(date(2026, 4, 1)))


def test_a_foreign_town_cannot_certify() -> None:
    case = deemed()
    foreign = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
    with pytest.raises(WrongTenant):
        case.certify_deemed_approval(actor=foreign, at=noon(date(2026, 6, 10)))


def test_the_timer_kind_follows_a_running_statutory_period_only() -> None:
    statutory = running()
    target = submitted()
    target.confirm_complete(actor=CLERK, at=START)
    due = Due()
    for recorded in statutory.collect_events():
        due = DEEMED_APPROVAL.due_after(recorded, due)
    assert due.on == PERIOD_ENDS
    due = Due()
    for recorded in target.collect_events():
        due = DEEMED_APPROVAL.due_after(recorded, due)
    assert due.on is None
    assert deemed_approval_ready(statutory, PERIOD_ENDS) is Readiness.NOT_YET
    assert deemed_approval_ready(statutory, PERIOD_ENDS + timedelta(days=1)) is Readiness.DUE
    statutory.record_deemed_approval(actor=SYSTEM, at=noon(PERIOD_ENDS + timedelta(days=2)))
    assert deemed_approval_ready(statutory, PERIOD_ENDS + timedelta(days=3)) is Readiness.DONE

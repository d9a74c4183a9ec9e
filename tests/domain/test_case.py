from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest
from eventsourcing.domain import event

from domain.actor import Actor
from domain.authorities import Matter, authorities_of
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import (
    CaseHeldByAnotherClerk,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData
from tests.domain.case_fixtures import (
    APPLICANT,
    CASH_OFFICE,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    OTHER_CLERK,
    START,
    SUPERVISOR,
    decided,
    in_review,
    notified,
    pay_fees,
    submitted,
)

LATER = START + timedelta(days=2)


def test_a_submitted_case_waits_for_completeness_before_its_clock_runs() -> None:
    case = submitted()
    assert case.status == CaseStatus.SUBMITTED
    assert case.due_on is None
    assert case.version == 1


def test_every_event_names_who_and_when() -> None:
    case = notified()
    for stored in case.collect_events():
        assert stored.actor.id  # type: ignore[attr-defined]
        assert stored.at.tzinfo is not None  # type: ignore[attr-defined]
        assert isinstance(stored.actor.display_name, PersonalData)  # type: ignore[attr-defined]


def test_an_invalid_transition_names_the_status_and_the_allowed_commands() -> None:
    case = submitted()
    with pytest.raises(InvalidTransition) as raised:
        case.notify(actor=CLERK, at=LATER)
    assert raised.value.status == "submitted"
    assert "confirm_complete" in raised.value.allowed
    assert "cannot notify a case that is submitted" in str(raised.value)


def test_a_case_held_by_someone_else_cannot_be_claimed() -> None:
    case = in_review()
    with pytest.raises(CaseHeldByAnotherClerk):
        case.claim(actor=OTHER_CLERK, at=LATER)


def test_only_the_holder_may_decide() -> None:
    case = in_review()
    with pytest.raises(NotTheHolder):
        case.decide(
            actor=OTHER_CLERK,
            at=LATER,
            outcome=DecisionOutcome.REJECTED,
            justification="x",
            legal_basis="y",
        )


def test_a_supervisor_may_release_a_case_someone_else_holds() -> None:
    case = in_review()
    case.release(actor=SUPERVISOR, at=LATER, reason="Urlaubsvertretung")
    assert case.holder is None
    with pytest.raises(InvalidCommand, match="not claimed"):
        case.release(actor=CLERK, at=LATER)


def test_a_supervisor_assigns_from_the_queue_and_reassigns_from_a_holder() -> None:
    case = submitted()
    case.assign(actor=SUPERVISOR, at=LATER, assignee=CLERK, reason="Zuständig für Sondernutzungen")
    assert case.holder is not None
    assert case.holder.id == CLERK.id
    case.assign(actor=SUPERVISOR, at=LATER, assignee=OTHER_CLERK, reason="Urlaubsvertretung")
    assert case.holder.id == OTHER_CLERK.id
    [first, second] = [e for e in case.pending_events if type(e).__name__ == "Assigned"]
    assert first.previous_holder is None  # type: ignore[attr-defined]
    assert second.previous_holder == CLERK.id  # type: ignore[attr-defined]
    assert second.reason.value == "Urlaubsvertretung"  # type: ignore[attr-defined]
    assert second.actor.id == SUPERVISOR.id  # type: ignore[attr-defined]
    case.release(actor=OTHER_CLERK, at=LATER)  # the assignee holds it like a claim
    assert case.holder is None


@pytest.mark.parametrize(
    ("actor", "assignee", "message"),
    [
        (CLERK, OTHER_CLERK, "only a supervisor"),
        (SUPERVISOR, APPLICANT, "clerks or supervisors"),
        (SUPERVISOR, FOREIGN_CLERK, "does not serve usingen"),
        (SUPERVISOR, CLERK, "already holds"),
    ],
)
def test_an_assignment_is_refused_naming_why(actor: Actor, assignee: Actor, message: str) -> None:
    case = in_review()  # held by CLERK
    with pytest.raises(InvalidCommand, match=message):
        case.assign(actor=actor, at=LATER, assignee=assignee, reason="r")
    assert case.holder is not None
    assert case.holder.id == CLERK.id


def test_a_delegated_clerk_may_be_assigned_a_case_of_the_delegating_town() -> None:
    case = submitted()
    case.assign(actor=SUPERVISOR, at=LATER, assignee=DELEGATED_CLERK, reason="Amtshilfe")
    assert case.holder is not None
    assert case.holder.on_behalf_of == "usingen"


def test_an_approval_with_conditions_needs_conditions() -> None:
    case = in_review()
    with pytest.raises(InvalidCommand, match="conditions"):
        case.decide(
            actor=CLERK,
            at=LATER,
            outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
            justification="x",
            legal_basis="y",
        )
    assert case.status == CaseStatus.IN_REVIEW


def test_an_information_request_pauses_the_processing_clock() -> None:
    case = in_review()
    due_before = case.due_on
    assert due_before is not None
    case.request_information(
        actor=CLERK,
        at=LATER,
        questions=["Bitte Lageplan nachreichen"],
        reply_by=date(2026, 3, 20),
        missing_documents=False,
    )
    assert case.status == CaseStatus.INFORMATION_REQUESTED
    assert not case.clock.is_running
    case.provide_information(actor=APPLICANT, at=LATER + timedelta(days=7), answer="Lageplan anbei")
    assert case.status == CaseStatus.IN_REVIEW
    assert case.due_on is not None
    assert case.due_on > due_before


def test_missing_documents_stop_the_clock_until_the_answer_that_brought_them() -> None:
    case = in_review()
    case.request_information(
        actor=CLERK,
        at=LATER,
        questions=["Unterschrift fehlt"],
        reply_by=date(2026, 3, 20),
        missing_documents=True,
    )
    case.provide_information(actor=APPLICANT, at=LATER + timedelta(days=3), answer="anbei")
    assert case.due_on is None
    assert case.documents_received_on == date(2026, 3, 7)
    case.confirm_complete(actor=CLERK, at=LATER + timedelta(days=4))
    # § 42a (2) HVwVfG: the period runs from the receipt of the last document (the answer on
    # 7 March), not from the day the clerk confirmed completeness (8 March).
    assert case.clock.started_on == date(2026, 3, 7)
    assert case.due_on is not None


def test_the_reply_deadline_must_lie_in_the_future() -> None:
    case = in_review()
    with pytest.raises(InvalidCommand, match="reply_by"):
        case.request_information(
            actor=CLERK,
            at=LATER,
            questions=["?"],
            reply_by=date(2026, 3, 1),
            missing_documents=False,
        )


def test_an_objection_within_a_month_returns_the_case_to_review_when_remedied() -> None:
    case = notified()
    assert case.objection_deadline == date(2026, 4, 7)  # 3 April Good Friday, 6 April Easter Monday
    case.lodge_objection(actor=CLERK, at=LATER, grounds="Die Auflage ist unverhältnismäßig")
    case.remedy_objection(actor=CLERK, at=LATER, reason="Widerspruch begründet")
    assert case.status == CaseStatus.IN_REVIEW
    assert case.decision is None
    assert len(case.decisions) == 1  # the first decision stays in the record


def test_a_late_objection_is_recorded_not_refused_and_leaves_the_case_where_it_was() -> None:
    case = notified()
    late = START + timedelta(days=40)
    case.lodge_objection(actor=CLERK, at=late, grounds="zu spät", received_on=date(2026, 4, 8))
    objection = case.open_objection
    assert objection is not None
    assert objection.deadline == date(2026, 4, 7)
    assert not objection.timely
    assert case.status == CaseStatus.NOTIFIED
    assert "grant_reinstatement" in case.allowed_commands()


class RoadTrafficCase(Case):
    """A road traffic matter: objections are forwarded to the supervising authority."""

    MATTER = Matter.ROAD_TRAFFIC


def test_a_forwarded_objection_stays_open_beside_the_case_and_the_file_stays_open() -> None:
    case = notified(RoadTrafficCase)
    case.lodge_objection(actor=CLERK, at=LATER, grounds="nein")
    case.forward_objection(actor=CLERK, at=LATER, reason="keine Abhilfe")
    assert case.status == CaseStatus.NOTIFIED
    objection = case.open_objection
    assert objection is not None
    assert objection.forwarded_to == authorities_of("usingen").supervising_authority
    assert "decide_objection" in case.allowed_commands()
    with pytest.raises(InvalidTransition):  # a timely objection open: not final
        case.mark_final(actor=CLERK, at=START + timedelta(days=60))
    assert case.final_from() is None


def test_a_decision_becomes_final_only_after_the_objection_period() -> None:
    case = notified()
    with pytest.raises(InvalidCommand, match="final on 2026-04-08 at the earliest"):
        case.mark_final(actor=CLERK, at=START + timedelta(days=30))
    case.mark_final(actor=CLERK, at=START + timedelta(days=40))
    assert case.final_on == date(2026, 4, 8)
    case.close(actor=CLERK, at=START + timedelta(days=41))
    assert case.status == CaseStatus.CLOSED
    assert case.allowed_commands() == {"lodge_objection"}  # one in time may still come in


def test_an_application_can_be_withdrawn_until_the_decision_is_final() -> None:
    case = in_review()
    case.withdraw(actor=APPLICANT, at=LATER, reason="Vorhaben aufgegeben")
    assert case.status == CaseStatus.WITHDRAWN
    assert case.holder is None
    after_decision = decided()
    after_decision.withdraw(actor=APPLICANT, at=LATER)  # no reason needed
    assert after_decision.status == CaseStatus.WITHDRAWN
    assert after_decision.withdrawal_reason is None
    after_notification = notified()
    after_notification.withdraw(actor=APPLICANT, at=START + timedelta(days=20))
    assert after_notification.status == CaseStatus.WITHDRAWN
    final = notified()
    final.mark_final(actor=CLERK, at=START + timedelta(days=40))
    with pytest.raises(InvalidTransition):
        final.withdraw(actor=APPLICANT, at=START + timedelta(days=41), reason="zu spät")


def test_a_clerk_of_another_town_cannot_act_but_a_delegated_one_can() -> None:
    case = submitted()
    with pytest.raises(WrongTenant):
        case.claim(actor=FOREIGN_CLERK, at=LATER)
    case.claim(actor=DELEGATED_CLERK, at=LATER)
    assert case.holder is not None
    assert case.holder.on_behalf_of == "usingen"


def test_business_time_must_be_aware_and_not_before_submission() -> None:
    case = submitted()
    with pytest.raises(InvalidCommand, match="timezone-aware"):
        case.claim(actor=CLERK, at=START.replace(tzinfo=None))
    with pytest.raises(InvalidCommand, match="before the case was submitted"):
        case.claim(actor=CLERK, at=START - timedelta(days=1))


class FourEyesCase(Case):
    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True


def test_four_eyes_a_decision_takes_effect_only_when_another_supervisor_countersigns() -> None:
    case = decided(FourEyesCase, fee="120.00")
    assert case.status == CaseStatus.PENDING_COUNTERSIGN
    assert case.decision is None
    with pytest.raises(InvalidCommand, match="only a supervisor"):
        case.countersign(actor=OTHER_CLERK, at=LATER)
    case.countersign(actor=SUPERVISOR, at=LATER)
    assert case.decision is not None
    assert case.decision.countersigned_by is not None
    assert case.status == CaseStatus.AWAITING_PAYMENT


def test_a_refused_countersignature_returns_the_case_to_review() -> None:
    case = decided(FourEyesCase)
    case.refuse_countersign(actor=SUPERVISOR, at=LATER, reason="Begründung unvollständig")
    assert case.status == CaseStatus.IN_REVIEW
    assert case.pending_decision is None


def test_the_payment_gate_holds_the_decision_until_the_fee_is_paid() -> None:
    case = decided(FourEyesCase, fee="120.00")
    case.countersign(actor=SUPERVISOR, at=LATER)
    with pytest.raises(InvalidTransition):
        case.notify(actor=CLERK, at=LATER)
    [charge] = case.charges
    assert charge.amount == Decimal("120.00")
    assert charge.prepaid
    with pytest.raises(InvalidCommand, match=r"the charge is 120\.00"):
        case.settle_charge(
            actor=CASH_OFFICE,
            at=LATER,
            kassenzeichen=charge.kassenzeichen,
            amount=Decimal("100"),
            payment="P1",
        )
    with pytest.raises(InvalidCommand) as by_clerk:
        case.settle_charge(
            actor=CLERK,
            at=LATER,
            kassenzeichen=charge.kassenzeichen,
            amount=Decimal("120.00"),
            payment="P1",
        )
    assert by_clerk.value.field == "actor"
    pay_fees(case, LATER)
    assert case.status == CaseStatus.DECIDED
    case.notify(actor=CLERK, at=LATER)
    assert case.status == CaseStatus.NOTIFIED


class InspectedCase(Case):
    """A service with a step after approval: the site is inspected before the file closes."""

    INSPECTED: ClassVar[str] = "inspected"
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE, {CaseStatus.FINAL: {"inspect"}, "inspected": {"close"}}
    )

    def inspect(self, *, actor, at) -> None:  # type: ignore[no-untyped-def]
        record = self._begin("inspect", actor, at)
        self._inspected(actor=record, at=at)

    @event("Inspected")
    def _inspected(self, *, actor, at) -> None:  # type: ignore[no-untyped-def]
        self.status = "inspected"

    def check_closable(self, at) -> None:  # type: ignore[no-untyped-def]
        if self.status != "inspected":
            raise InvalidCommand("status", "the site must be inspected before closing")


def test_a_service_adds_steps_through_the_extension_points_without_copying_the_lifecycle() -> None:
    case = notified(InspectedCase)
    assert isinstance(case, InspectedCase)
    case.mark_final(actor=CLERK, at=START + timedelta(days=40))
    with pytest.raises(InvalidCommand, match="inspected before closing"):
        case.close(actor=CLERK, at=START + timedelta(days=41))
    case.inspect(actor=CLERK, at=START + timedelta(days=41))
    case.close(actor=CLERK, at=START + timedelta(days=42))
    assert case.status == CaseStatus.CLOSED

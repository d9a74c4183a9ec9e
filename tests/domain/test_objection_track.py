"""The legal track beside the case: objections, the remedy notice, finality, withdrawal.

An objection (Widerspruch, §§ 68 ff. VwGO) is lodged whatever step the service reached and
does not move the main track, unless one in time recorded after the case was marked final
(or its file closed) shows the decision was never final; a late one is recorded and decided
as inadmissible, or on its merits after reinstatement (§ 70 (2) with § 60 VwGO, after a year
only for force majeure); one received after sending but before the presumed day of
notification is valid. It ends by Abhilfe (§ 72 VwGO, in full or in part, with costs and a
refund bounded by the fee with what was refunded before), by withdrawal, or by a
Widerspruchsbescheid of the configured authority (§ 73 VwGO) after the hearing before the
committee (self-government) or the forwarding (road traffic), served, with a month for an
action (§ 74 (1) VwGO); granted, it may call for a new decision. The decision is final the
day after the objection period, or once the objection is finally disposed of; a late
objection does not hold that back. A missing or wrong remedy notice gives a year (§ 58 (2)
VwGO), to objections still open too. The applicant may withdraw the application until the
decision is final by law, without a reason, where the decision left nothing to undo.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.authorities import Matter, authorities_of
from domain.case import Case
from domain.cemeteries import GraveAddress
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand, InvalidTransition
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.objection import CostsBorneBy, ObjectionState
from domain.rules.notification import Delivery
from domain.services.burial import SERVICE_ID as BURIAL
from domain.services.burial import BurialApplication, BurialRegistration, BurialStatus
from domain.services.burial import example as burial_example
from domain.services.grave import Grave
from domain.services.road_opening import SERVICE_ID as ROAD_OPENING
from domain.services.road_opening import RoadOpeningApplication, RoadOpeningPermit
from domain.services.road_opening import example as road_opening_example
from domain.working_days import BERLIN, period_end
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    START,
    SUPERVISOR,
    decided,
    notified,
    pay_fees,
    service_case,
)

DEADLINE = date(2026, 4, 7)  # notified 3 March: 3 April is Good Friday, 6 April Easter Monday
USINGEN = authorities_of("usingen")


def on(day: date, hour: int = 12) -> datetime:
    """Business time on that day in Germany."""
    return datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)


class PaidCase(Case):
    """A service whose fee is paid before the decision is issued."""

    PAYMENT_BEFORE_ISSUE = True


class RoadTrafficCase(Case):
    """A road traffic matter: the supervising authority decides on objections."""

    MATTER = Matter.ROAD_TRAFFIC


class ClosableOnNotification(Case):
    """A service whose file may be closed once the decision is notified."""

    LIFECYCLE = extend_lifecycle(Case.LIFECYCLE, {CaseStatus.NOTIFIED: {"close"}})


def paid_and_notified(fee: str = "120.00") -> Case:
    """A case whose fee of 120 EUR was paid before it was handed over on 3 March 2026."""
    case = decided(PaidCase, fee=fee)
    assert case.status == CaseStatus.AWAITING_PAYMENT
    pay_fees(case, on(date(2026, 3, 3), 9))
    case.notify(actor=CLERK, at=on(date(2026, 3, 3), 10))
    return case


def lodged(case: Case, received_on: date, at: date | None = None) -> Case:
    """The objection as received that day, recorded then (or later)."""
    case.lodge_objection(
        actor=CLERK,
        at=on(at or received_on),
        grounds="Die Auflage ist unverhältnismäßig",
        received_on=received_on,
    )
    return case


def heard(case: Case, held_on: date) -> Case:
    """The objection heard before the Anhörungsausschuss that day (self-government)."""
    case.hear_objection(actor=CLERK, at=on(held_on), held_on=held_on)
    return case


def dismissed(case: Case, served_on: date, **terms: Any) -> Case:
    """The Widerspruchsbescheid dismissing the objection, signed and served that day."""
    case.decide_objection(
        actor=SUPERVISOR,
        at=on(served_on),
        outcome=terms.pop("outcome", "dismissed"),
        reasons="Die Auflage ist erforderlich.",
        costs_borne_by=terms.pop("costs_borne_by", CostsBorneBy.OBJECTOR),
        served_on=served_on,
        **terms,
    )
    return case


# ------------------------------------------------------------- beside the case's main track


def road_opening_with_works_started() -> RoadOpeningPermit:
    """A road opening permit handed over on its decision's day; the works started then."""
    form = RoadOpeningApplication.model_validate(road_opening_example(START.date()))
    permit = service_case(RoadOpeningPermit, ROAD_OPENING, form)
    permit.confirm_complete(actor=CLERK, at=START)
    permit.claim(actor=CLERK, at=START)
    permit.decide(
        actor=CLERK,
        at=START + timedelta(days=1),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Sondernutzung ist erlaubnisfähig.",
        legal_basis="§§ 16, 18 HStrG",
        discretion="Der Gemeingebrauch wird nur kurz beeinträchtigt.",
    )
    permit.notify(actor=CLERK, at=START + timedelta(days=1, hours=1))
    started_on = permit.planned_period_start
    permit.start_works(actor=CLERK, at=on(started_on), started_on=started_on)
    return permit


def test_an_objection_lodged_while_the_works_go_on_does_not_stop_them() -> None:
    permit = road_opening_with_works_started()
    assert permit.status == "works_started"
    received = permit.works_started_on
    assert received <= DEADLINE
    lodged(permit, received)
    assert permit.status == "works_started"  # the main track does not move
    objection = permit.open_objection
    assert objection is not None
    assert objection.timely
    allowed = permit.allowed_commands()
    assert {"complete_works", "remedy_objection", "decide_objection"} <= allowed
    assert "mark_final" not in allowed  # a timely objection keeps the decision open
    assert "withdraw" not in allowed  # the permit is being used
    with pytest.raises(InvalidCommand) as refused:
        permit.remedy_objection(actor=SUPERVISOR, at=on(received), reason="begründet")
    assert refused.value.field == "new_decision"  # the works began: no new decision now
    permit.complete_works(actor=CLERK, at=on(received), completed_on=received)
    assert permit.status == "works_completed"
    assert permit.open_objection is objection


def test_an_objection_received_after_sending_but_before_the_presumed_day_is_valid() -> None:
    case = decided()  # on 3 March 2026
    case.notify(actor=CLERK, at=on(date(2026, 3, 4)), delivery=Delivery.LETTER)
    assert case.notified_on == date(2026, 3, 9)  # 8 March a Sunday
    with pytest.raises(InvalidCommand) as refused:
        lodged(case, date(2026, 3, 3), at=date(2026, 3, 5))  # before it was even posted
    assert refused.value.field == "received_on"
    lodged(case, date(2026, 3, 5))
    objection = case.open_objection
    assert objection is not None
    assert objection.timely
    assert objection.deadline == date(2026, 4, 9)
    assert case.status == CaseStatus.NOTIFIED


def test_an_objection_is_not_received_in_the_future() -> None:
    case = notified()
    with pytest.raises(InvalidCommand) as refused:
        lodged(case, date(2026, 3, 11), at=date(2026, 3, 10))
    assert refused.value.field == "received_on"
    assert case.objections == []


# ----------------------------------------------------------------------- late objections


def test_a_late_objection_is_recorded_and_can_only_be_decided_inadmissible() -> None:
    case = lodged(notified(), DEADLINE + timedelta(days=1))
    objection = case.open_objection
    assert objection is not None
    assert not objection.timely
    assert {"grant_reinstatement", "decide_objection"} <= case.allowed_commands()
    today = on(date(2026, 4, 20))
    with pytest.raises(InvalidCommand, match="inadmissible") as refused:
        case.decide_objection(
            actor=SUPERVISOR,
            at=today,
            outcome="dismissed",
            reasons="unbegründet",
            costs_borne_by=CostsBorneBy.OBJECTOR,
            served_on=date(2026, 4, 20),
        )
    assert refused.value.field == "outcome"
    case.decide_objection(
        actor=SUPERVISOR,
        at=today,
        outcome="inadmissible",
        reasons="Der Widerspruch ging nach Ablauf der Frist ein.",
        costs_borne_by=CostsBorneBy.OBJECTOR,
        served_on=date(2026, 4, 20),
    )
    decided_objection = case.objections[-1]
    assert decided_objection.state == ObjectionState.DECIDED
    assert decided_objection.decision is not None
    assert decided_objection.decision.outcome == "inadmissible"
    assert case.open_objection is None


def test_after_reinstatement_a_late_objection_reopens_a_final_decision_and_counts() -> None:
    case = notified()
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    assert case.status == CaseStatus.FINAL
    lodged(case, DEADLINE + timedelta(days=3))
    case.grant_reinstatement(
        actor=SUPERVISOR, at=on(date(2026, 4, 15)), reason="Krankenhausaufenthalt belegt"
    )
    objection = case.open_objection
    assert objection is not None
    assert objection.reinstated
    assert objection.timely
    assert case.final_on is None
    assert case.status == CaseStatus.NOTIFIED  # final no more
    assert "mark_final" not in case.allowed_commands()
    dismissed(heard(case, date(2026, 4, 17)), date(2026, 4, 20))
    assert case.objections[-1].state == ObjectionState.DECIDED


def test_reinstatement_a_year_after_the_period_only_for_force_majeure() -> None:
    case = lodged(notified(), DEADLINE + timedelta(days=3))
    year_later = on(DEADLINE + timedelta(days=366))  # 8 April 2027: the year of § 60 (3) ended
    with pytest.raises(InvalidCommand) as refused:
        case.grant_reinstatement(actor=SUPERVISOR, at=year_later, reason="Krankheit")
    assert refused.value.field == "force_majeure"
    case.grant_reinstatement(
        actor=SUPERVISOR, at=year_later, reason="Hochwasser", force_majeure=True
    )
    assert case.open_objection is not None
    assert case.open_objection.timely


def test_reinstatement_is_not_offered_for_an_objection_in_time() -> None:
    case = lodged(notified(), DEADLINE)
    with pytest.raises(InvalidTransition):
        case.grant_reinstatement(actor=SUPERVISOR, at=on(DEADLINE), reason="r")


def test_a_late_objection_does_not_keep_the_decision_from_becoming_final() -> None:
    """Regression: mark_final was not offered while a late objection was open, though the
    decision became final when the period ended (reinstatement would reopen it)."""
    case = lodged(notified(), DEADLINE + timedelta(days=2))
    assert case.final_from() == DEADLINE + timedelta(days=1)
    assert "mark_final" in case.allowed_commands()
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=3)))
    assert case.final_on == DEADLINE + timedelta(days=1)
    assert case.status == CaseStatus.FINAL
    assert case.open_objection is not None  # still to be decided, as inadmissible


def test_a_late_objection_decided_does_not_hold_finality_back_by_its_action_period() -> None:
    case = lodged(notified(), DEADLINE + timedelta(days=2))
    dismissed(case, date(2026, 4, 20), outcome="inadmissible")  # no hearing needed for it
    assert case.final_from() == DEADLINE + timedelta(days=1)  # not 21 May, after the month


def test_a_defective_notice_makes_an_objection_within_the_year_timely_even_if_lodged_before() -> (
    None
):
    """Regression: an objection lodged after the month, and then the notice found defective,
    stayed "late" (its deadline as recorded when lodged), though § 58 (2) VwGO gave a year."""
    case = lodged(notified(), DEADLINE + timedelta(days=5))
    case.record_remedy_notice_defect(
        actor=SUPERVISOR, at=on(date(2026, 4, 20)), reason="Die Belehrung nannte keine Stelle"
    )
    objection = case.open_objection
    assert objection is not None
    assert objection.deadline == date(2027, 3, 3)
    assert objection.timely
    assert "grant_reinstatement" not in case.allowed_commands()
    assert "mark_final" not in case.allowed_commands()  # an objection in time is open now


def test_a_timely_objection_recorded_after_the_decision_was_marked_final_reopens_it() -> None:
    """Regression: the objection undid finality (final_on None) but the status stayed final;
    like reinstatement it moves a final case back to notified."""
    case = notified()
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    lodged(case, DEADLINE, at=DEADLINE + timedelta(days=2))  # posted in time, recorded late
    assert case.open_objection is not None
    assert case.open_objection.timely
    assert case.final_on is None
    assert case.status == CaseStatus.NOTIFIED
    [*_, event] = case.pending_events
    assert isinstance(event, Case.ObjectionLodged)
    assert event.status == CaseStatus.NOTIFIED  # recorded: views need no rules


def test_an_objection_in_time_recorded_after_the_file_was_closed_reopens_it() -> None:
    case = notified(ClosableOnNotification)
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    case.close(actor=CLERK, at=on(DEADLINE + timedelta(days=2)))
    assert case.allowed_commands() == {"lodge_objection"}  # a closed file still takes one
    lodged(case, DEADLINE + timedelta(days=1), at=DEADLINE + timedelta(days=3))  # late
    assert case.status == CaseStatus.CLOSED  # recorded, and decided there
    assert {"decide_objection", "grant_reinstatement"} <= case.allowed_commands()
    dismissed(case, DEADLINE + timedelta(days=3), outcome="inadmissible")
    lodged(case, DEADLINE, at=DEADLINE + timedelta(days=4))  # in time, registered late
    assert case.status == CaseStatus.NOTIFIED
    assert case.final_on is None


def test_a_late_objection_on_a_closed_file_reopens_it_once_reinstated() -> None:
    case = notified(ClosableOnNotification)
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    case.close(actor=CLERK, at=on(DEADLINE + timedelta(days=2)))
    lodged(case, DEADLINE + timedelta(days=2))  # late: recorded, the file stays closed
    assert case.status == CaseStatus.CLOSED
    case.grant_reinstatement(
        actor=SUPERVISOR, at=on(DEADLINE + timedelta(days=3)), reason="Krankenhausaufenthalt"
    )
    assert case.status == CaseStatus.NOTIFIED  # counted as in time: the file is open again
    assert case.final_on is None
    assert "mark_final" not in case.allowed_commands()


def test_an_objection_reopening_a_closed_file_does_not_undo_the_services_steps() -> None:
    """Regression: the burial was carried out and its file closed; an objection received in time
    but registered after the closing moves the case to ``notified`` (the status a case marked
    final returns to), where the burial is offered to be carried out, or cancelled with its
    place released, again. The main track should stand where it stood: carried out."""
    burial, grave = scheduled_burial()
    burial.notify(actor=CLERK, at=START + timedelta(hours=2))
    buried_on = date(2026, 3, 4)
    burial.record_burial_carried_out(
        actor=CLERK, at=on(buried_on), grave=grave, buried_on=buried_on
    )
    deadline = burial.objection_deadline
    assert deadline is not None
    burial.mark_final(actor=CLERK, at=on(deadline + timedelta(days=1)))
    burial.close(actor=CLERK, at=on(deadline + timedelta(days=1)))
    lodged(burial, deadline, at=deadline + timedelta(days=2))  # in time, registered late
    assert burial.open_objection is not None
    assert burial.open_objection.timely
    assert burial.final_on is None
    assert not burial.allowed_commands() & {"record_burial_carried_out", "cancel_burial"}
    assert burial.status == BurialStatus.CARRIED_OUT


def test_a_reinstated_objection_on_a_closed_file_returns_it_to_the_step_it_was_closed_at() -> None:
    """A late objection on the closed file of a burial carried out is recorded there; once
    reinstated it counts as in time: the file is open at ``carried_out`` (not ``notified``),
    and closes again once the objection is decided."""
    burial, grave = scheduled_burial()
    burial.notify(actor=CLERK, at=START + timedelta(hours=2))
    buried_on = date(2026, 3, 4)
    burial.record_burial_carried_out(
        actor=CLERK, at=on(buried_on), grave=grave, buried_on=buried_on
    )
    deadline = burial.objection_deadline
    assert deadline is not None
    burial.close(actor=CLERK, at=on(deadline + timedelta(days=1)))
    assert burial.closed_from == BurialStatus.CARRIED_OUT
    late = deadline + timedelta(days=3)
    lodged(burial, late)
    assert burial.status == CaseStatus.CLOSED  # late: recorded, the file stays closed
    burial.grant_reinstatement(actor=SUPERVISOR, at=on(late), reason="Krankenhausaufenthalt")
    assert burial.status == BurialStatus.CARRIED_OUT
    [*_, event] = burial.pending_events
    assert isinstance(event, Case.ReinstatementGranted)
    assert event.status == BurialStatus.CARRIED_OUT  # recorded: views need no rules
    heard(burial, late)
    dismissed(burial, late)
    burial.close(actor=CLERK, at=on(late))
    assert burial.status == CaseStatus.CLOSED


def test_an_objection_after_the_withdrawn_application_was_closed_does_not_revive_it() -> None:
    """Regression: the withdrawal settled the decision (§ 43 (2) HVwVfG) and the file was
    closed; an objection then received in time moved the case to ``notified`` again, where
    the decision seemed in force and withdrawal and finality were offered again."""
    case = notified(ClosableOnNotification)
    case.withdraw(actor=APPLICANT, at=on(date(2026, 3, 10)))
    case.close(actor=CLERK, at=on(date(2026, 3, 11)))
    assert case.allowed_commands() == frozenset()
    with pytest.raises(InvalidTransition):
        lodged(case, date(2026, 3, 12))
    assert case.status == CaseStatus.CLOSED
    assert case.objections == []


# ----------------------------------------------------------------------------- Abhilfe


def test_a_full_remedy_returns_the_case_to_review_with_its_costs_and_the_fee_refunded() -> None:
    case = lodged(paid_and_notified(), date(2026, 3, 10))
    case.remedy_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 3, 12)),
        reason="Die Auflage war nicht erforderlich.",
        costs_borne_by=CostsBorneBy.AUTHORITY,
        fee_refund=Decimal("120.00"),
    )
    remedied = case.objections[-1]
    assert remedied.state == ObjectionState.REMEDIED
    assert remedied.remedy is not None
    assert remedied.remedy.outcome == ObjectionState.REMEDIED
    assert remedied.remedy.costs.borne_by == CostsBorneBy.AUTHORITY
    assert remedied.remedy.costs.fee_refund == Decimal("120.00")
    assert "§ 72 VwGO" in remedied.remedy.costs.legal_basis
    assert remedied.remedy.decided_by == USINGEN.executive  # the issuing authority remedies
    assert case.fee_paid == Decimal("0.00")
    assert case.status == CaseStatus.IN_REVIEW
    assert case.decision is None
    assert len(case.decisions) == 1
    assert case.notified_on is case.objection_deadline is case.final_on is None
    assert case.clock.decided_on is None  # a new decision is due


def test_a_refund_never_exceeds_the_fee_the_decision_assessed() -> None:
    case = lodged(paid_and_notified(), date(2026, 3, 10))
    with pytest.raises(InvalidCommand) as refused:
        case.remedy_objection(
            actor=SUPERVISOR, at=on(date(2026, 3, 12)), reason="r", fee_refund=Decimal("120.01")
        )
    assert refused.value.field == "fee_refund"
    free = lodged(notified(), date(2026, 3, 10))  # no fee at all
    with pytest.raises(InvalidCommand) as nothing_to_refund:
        free.remedy_objection(
            actor=SUPERVISOR, at=on(date(2026, 3, 12)), reason="r", fee_refund=Decimal("1")
        )
    assert nothing_to_refund.value.field == "fee_refund"


def test_refunds_of_a_remedy_and_a_widerspruchsbescheid_together_never_exceed_the_fee() -> None:
    """Regression: each refund was checked against the fee alone, so a partial remedy and the
    Widerspruchsbescheid could each refund all of it; the fee paid went below zero."""
    case = lodged(paid_and_notified(), date(2026, 3, 10))
    case.remedy_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 3, 12)),
        reason="zum Teil begründet",
        extent="partial",
        costs_borne_by=CostsBorneBy.SHARED,
        fee_refund=Decimal("100.00"),
        new_decision=False,
        operative_part="Die Auflage Nr. 2 entfällt.",
    )
    assert case.fee_paid == Decimal("20.00")
    heard(case, date(2026, 4, 14))
    with pytest.raises(InvalidCommand) as refused:
        case.decide_objection(
            actor=SUPERVISOR,
            at=on(date(2026, 4, 20)),
            outcome="partly_granted",
            reasons="im Übrigen unbegründet",
            costs_borne_by=CostsBorneBy.SHARED,
            served_on=date(2026, 4, 20),
            fee_refund=Decimal("20.01"),
        )
    assert refused.value.field == "fee_refund"
    dismissed(
        case,
        date(2026, 4, 20),
        outcome="partly_granted",
        costs_borne_by=CostsBorneBy.SHARED,
        fee_refund=Decimal("20.00"),
    )
    assert case.fee_paid == Decimal("0.00")
    assert case.fee_refunded == Decimal("120.00")


def test_a_new_decision_after_a_remedy_has_its_own_fee_to_refund() -> None:
    case = lodged(paid_and_notified(), date(2026, 3, 10))
    case.remedy_objection(
        actor=SUPERVISOR, at=on(date(2026, 3, 12)), reason="r", fee_refund=Decimal("120.00")
    )
    assert case.fee_refunded == Decimal(0)  # refunds count against the decision in force
    case.decide(
        actor=CLERK,
        at=on(date(2026, 3, 13)),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        fee=Decimal("80.00"),
    )
    pay_fees(case, on(date(2026, 3, 13)))
    case.notify(actor=CLERK, at=on(date(2026, 3, 13)))
    lodged(case, date(2026, 3, 16))
    with pytest.raises(InvalidCommand) as refused:
        case.remedy_objection(
            actor=SUPERVISOR, at=on(date(2026, 3, 17)), reason="r", fee_refund=Decimal("80.01")
        )
    assert refused.value.field == "fee_refund"
    case.remedy_objection(
        actor=SUPERVISOR, at=on(date(2026, 3, 17)), reason="r", fee_refund=Decimal("80.00")
    )
    assert case.fee_paid == Decimal("0.00")


def test_a_remedy_that_leaves_the_decision_in_force_says_what_it_changes() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    with pytest.raises(InvalidCommand) as refused:
        case.remedy_objection(
            actor=SUPERVISOR, at=on(date(2026, 3, 12)), reason="r", new_decision=False
        )
    assert refused.value.field == "operative_part"
    case.remedy_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 3, 12)),
        reason="Die Arbeitszeitauflage war zu eng.",
        new_decision=False,
        operative_part="Die Auflage Nr. 2 entfällt.",
    )
    assert case.status == CaseStatus.NOTIFIED
    assert case.decision is not None
    remedy = case.objections[-1].remedy
    assert remedy is not None
    assert remedy.operative_part is not None
    assert remedy.operative_part.reveal() == "Die Auflage Nr. 2 entfällt."


def test_a_partial_remedy_leaves_the_rest_to_the_hearing_and_the_town_decides_it() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    case.remedy_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 3, 12)),
        reason="Die Arbeitszeit wird erweitert.",
        extent="partial",
        costs_borne_by=CostsBorneBy.SHARED,
        new_decision=False,
        operative_part="Arbeiten sind bis 20 Uhr zulässig.",
    )
    objection = case.open_objection
    assert objection is not None
    assert objection.state == ObjectionState.PARTLY_REMEDIED
    assert "mark_final" not in case.allowed_commands()  # the rest is still open
    case.hear_objection(actor=CLERK, at=on(date(2026, 4, 15)), held_on=date(2026, 4, 14))
    heard = case.open_objection
    assert heard is not None
    assert heard.state == ObjectionState.HEARD
    assert heard.hearing_committee == USINGEN.hearing_committee
    assert heard.remedy is not None  # the partial remedy stays on record
    case.decide_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 4, 22)),
        outcome="dismissed",
        reasons="Im Übrigen ist die Auflage erforderlich.",
        costs_borne_by=CostsBorneBy.OBJECTOR,
        decided_on=date(2026, 4, 20),
        served_on=date(2026, 4, 22),
        operative_part="Der Widerspruch wird im Übrigen zurückgewiesen.",
    )
    bescheid = case.objections[-1].decision
    assert bescheid is not None
    # Self-government: no higher authority; the town decides after the hearing.
    assert bescheid.decided_by == USINGEN.executive == "Der Magistrat der Stadt Usingen"
    assert bescheid.decided_on == date(2026, 4, 20)
    assert bescheid.served_on == date(2026, 4, 22)
    assert bescheid.action_deadline == date(2026, 5, 22)  # § 74 (1) VwGO
    assert "§ 73 Abs. 3 Satz 3 VwGO" in bescheid.costs.legal_basis


def test_the_town_decides_on_an_objection_only_after_the_hearing() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    assert "forward_objection" not in case.allowed_commands()  # self-government: heard
    with pytest.raises(InvalidCommand) as refused:
        dismissed(case, date(2026, 4, 20))
    assert refused.value.field == "objection"
    with pytest.raises(InvalidCommand) as elsewhere:
        case.hear_objection(
            actor=CLERK,
            at=on(date(2026, 4, 14)),
            held_on=date(2026, 4, 14),
            committee="Anhörungsausschuss der Stadt Usingen",  # not the one configured
        )
    assert elsewhere.value.field == "committee"
    heard(case, date(2026, 4, 14))
    with pytest.raises(InvalidCommand) as named:
        dismissed(case, date(2026, 4, 20), authority="Regierungspräsidium Darmstadt")
    assert named.value.field == "authority"
    dismissed(case, date(2026, 4, 20), authority=USINGEN.executive)  # the configured name
    assert case.objections[-1].state == ObjectionState.DECIDED


def test_a_widerspruchsbescheid_granting_the_objection_may_call_for_a_new_decision() -> None:
    case = heard(lodged(notified(), date(2026, 3, 10)), date(2026, 4, 14))
    with pytest.raises(InvalidCommand) as refused:
        dismissed(case, date(2026, 4, 20), new_decision=True)  # nothing to decide anew
    assert refused.value.field == "new_decision"
    dismissed(
        case,
        date(2026, 4, 20),
        outcome="granted",
        costs_borne_by=CostsBorneBy.AUTHORITY,
        new_decision=True,
    )
    assert case.objections[-1].state == ObjectionState.DECIDED
    assert case.status == CaseStatus.IN_REVIEW
    assert case.decision is None
    assert len(case.decisions) == 1
    assert case.notified_on is case.objection_deadline is case.final_on is None
    assert case.clock.decided_on is None  # the new decision is due
    [*_, event] = case.pending_events
    assert isinstance(event, Case.ObjectionDecided)
    assert (event.status, event.new_decision) == (CaseStatus.IN_REVIEW, True)


def test_no_new_decision_is_called_for_once_the_works_began() -> None:
    permit = road_opening_with_works_started()
    received = permit.works_started_on
    heard(lodged(permit, received), received)
    with pytest.raises(InvalidCommand) as refused:
        dismissed(permit, received, outcome="granted", new_decision=True)
    assert refused.value.field == "new_decision"
    assert permit.status == "works_started"


def test_a_remedy_after_the_period_makes_the_decision_final_the_day_after_it() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    case.remedy_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 4, 20)),
        reason="Die Arbeitszeitauflage war zu eng.",
        new_decision=False,
        operative_part="Die Auflage Nr. 2 entfällt.",
    )
    assert case.open_objection is None
    assert case.final_from() == date(2026, 4, 21)  # not 8 April, after the period


def test_a_widerspruchsbescheid_is_signed_after_receipt_and_served_after_signing() -> None:
    case = heard(lodged(notified(), date(2026, 3, 10)), date(2026, 4, 14))

    def decide(decided_on: date | None, served_on: date) -> str:
        with pytest.raises(InvalidCommand) as refused:
            case.decide_objection(
                actor=SUPERVISOR,
                at=on(date(2026, 4, 20)),
                outcome="dismissed",
                reasons="unbegründet",
                costs_borne_by=CostsBorneBy.OBJECTOR,
                decided_on=decided_on,
                served_on=served_on,
            )
        return refused.value.field

    assert decide(date(2026, 3, 9), date(2026, 4, 20)) == "decided_on"  # before its receipt
    assert decide(date(2026, 4, 13), date(2026, 4, 20)) == "decided_on"  # before the hearing
    assert decide(date(2026, 4, 21), date(2026, 4, 21)) == "decided_on"  # signed tomorrow
    assert decide(date(2026, 4, 15), date(2026, 4, 14)) == "served_on"  # served before signed
    assert decide(None, date(2026, 4, 21)) == "served_on"  # served tomorrow
    assert case.open_objection is not None


def test_road_traffic_objections_go_to_the_supervising_authority() -> None:
    case = lodged(notified(RoadTrafficCase), date(2026, 3, 10))
    assert case.decision is not None
    assert case.decision.issuing_authority == USINGEN.road_traffic_authority
    with pytest.raises(InvalidTransition):  # no hearing in road traffic matters
        case.hear_objection(actor=CLERK, at=on(date(2026, 3, 20)), held_on=date(2026, 3, 20))
    with pytest.raises(InvalidCommand) as not_there:  # even an inadmissible one goes there
        dismissed(case, date(2026, 3, 20), outcome="inadmissible")
    assert not_there.value.field == "objection"
    with pytest.raises(InvalidCommand) as elsewhere:
        case.forward_objection(
            actor=CLERK,
            at=on(date(2026, 3, 20)),
            reason="keine Abhilfe",
            authority="Regierungspräsidium Darmstadt",  # not the one configured
        )
    assert elsewhere.value.field == "authority"
    case.forward_objection(actor=CLERK, at=on(date(2026, 3, 20)), reason="keine Abhilfe")
    forwarded = case.open_objection
    assert forwarded is not None
    assert forwarded.state == ObjectionState.FORWARDED
    assert forwarded.forwarded_to == USINGEN.supervising_authority
    assert "hear_objection" not in case.allowed_commands()
    case.decide_objection(
        actor=SUPERVISOR,
        at=on(date(2026, 5, 4)),
        outcome="granted",
        reasons="Die Anordnung war nicht erforderlich.",
        costs_borne_by=CostsBorneBy.AUTHORITY,
        served_on=date(2026, 5, 4),
    )
    bescheid = case.objections[-1].decision
    assert bescheid is not None
    assert bescheid.decided_by == USINGEN.supervising_authority
    assert "Landrat des Hochtaunuskreises" in bescheid.decided_by


# ------------------------------------------------------------------ withdrawal, finality


def test_a_decision_without_objection_is_final_from_the_day_after_the_period() -> None:
    case = notified()
    assert case.final_from() == DEADLINE + timedelta(days=1)
    with pytest.raises(InvalidCommand) as refused:
        case.mark_final(actor=CLERK, at=on(DEADLINE))
    assert refused.value.field == "at"
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=20)))
    assert case.final_on == DEADLINE + timedelta(days=1)  # the day the law says, not today
    assert case.status == CaseStatus.FINAL
    event = case.pending_events[-1]
    assert isinstance(event, Case.BecameFinal)
    assert event.final_on == DEADLINE + timedelta(days=1)


def test_an_objection_withdrawn_in_the_period_leaves_the_decision_final_after_it() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    case.withdraw_objection(actor=APPLICANT, at=on(date(2026, 3, 20)))  # no reason needed
    withdrawn = case.objections[-1]
    assert withdrawn.state == ObjectionState.WITHDRAWN
    assert withdrawn.withdrawn_on == date(2026, 3, 20)
    assert case.open_objection is None
    assert case.final_from() == DEADLINE + timedelta(days=1)
    assert "lodge_objection" in case.allowed_commands()  # another may still come in time


def test_an_objection_withdrawn_after_the_period_makes_the_decision_final_that_day() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    case.withdraw_objection(actor=CLERK, at=on(date(2026, 5, 5)), reason="telefonisch erklärt")
    assert case.final_from() == date(2026, 5, 5)
    case.mark_final(actor=CLERK, at=on(date(2026, 5, 5)))
    assert case.final_on == date(2026, 5, 5)


def test_after_a_widerspruchsbescheid_the_decision_is_final_when_the_month_for_an_action_ends() -> (
    None
):
    case = heard(lodged(notified(), date(2026, 3, 10)), date(2026, 4, 14))
    dismissed(case, date(2026, 4, 20))
    assert case.objections[-1].decision is not None
    assert case.objections[-1].decision.action_deadline == date(2026, 5, 20)
    assert case.final_from() == date(2026, 5, 21)
    with pytest.raises(InvalidCommand) as refused:
        case.mark_final(actor=CLERK, at=on(date(2026, 5, 20)))
    assert refused.value.field == "at"
    case.mark_final(actor=CLERK, at=on(date(2026, 5, 21)))
    assert case.final_on == date(2026, 5, 21)
    assert case.status == CaseStatus.FINAL


def test_the_action_period_ends_on_a_working_day() -> None:
    case = heard(lodged(notified(), date(2026, 3, 10)), date(2026, 3, 31))
    dismissed(case, date(2026, 4, 3))  # a month later is Sunday 3 May
    assert case.objections[-1].decision is not None
    assert case.objections[-1].decision.action_deadline == date(2026, 5, 4)
    assert period_end(date(2026, 4, 3), 1) == date(2026, 5, 4)


def test_the_file_stays_open_while_an_objection_is_open_or_the_period_runs() -> None:
    case = notified(ClosableOnNotification)
    with pytest.raises(InvalidCommand, match="runs until 2026-04-07") as running:
        case.close(actor=CLERK, at=on(DEADLINE))
    assert running.value.field == "at"
    lodged(case, DEADLINE)
    with pytest.raises(InvalidCommand, match="objection of 2026-04-07 is open") as open_:
        case.close(actor=CLERK, at=on(DEADLINE + timedelta(days=30)))
    assert open_.value.field == "objection"
    case.withdraw_objection(actor=APPLICANT, at=on(DEADLINE + timedelta(days=30)))
    case.close(actor=CLERK, at=on(DEADLINE + timedelta(days=30)))  # the period is over
    assert case.status == CaseStatus.CLOSED


def test_a_withdrawn_application_closes_whatever_objection_was_open() -> None:
    case = lodged(notified(), date(2026, 3, 10))
    case.withdraw(actor=APPLICANT, at=on(date(2026, 3, 11)))
    assert case.status == CaseStatus.WITHDRAWN
    assert case.withdrawal_reason is None
    assert not case.allowed_commands() & {"decide_objection", "lodge_objection", "mark_final"}
    case.close(actor=CLERK, at=on(date(2026, 3, 12)))
    assert case.status == CaseStatus.CLOSED


def test_an_application_is_not_withdrawn_once_the_permit_is_used_or_final() -> None:
    permit = road_opening_with_works_started()
    with pytest.raises(InvalidTransition):
        permit.withdraw(actor=APPLICANT, at=on(permit.works_started_on))
    final = notified()
    final.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    assert "withdraw" not in final.allowed_commands()


class OpenGraves:
    """Shared aggregates for a burial step: every grave opened fresh."""

    def find(self, address: GraveAddress) -> Grave:
        return Grave.open(tenant="usingen", address=address)


def scheduled_burial() -> tuple[BurialRegistration, Grave]:
    """A burial in a new Reihengrab scheduled on 2 March 2026 (for 4 March), not notified."""
    form: dict[str, Any] = burial_example(START.date())
    form["grave"] = {"new_grave_type": "reihengrab"}
    burial = service_case(BurialRegistration, BURIAL, BurialApplication.model_validate(form))
    burial.confirm_complete(actor=CLERK, at=START)
    burial.claim(actor=CLERK, at=START)
    assert "withdraw" in burial.allowed_commands()  # nothing scheduled yet
    grave = burial.schedule(actor=CLERK, at=START + timedelta(hours=1), grave_at=OpenGraves().find)
    assert grave is not None
    assert burial.decision is not None
    assert burial.decision.outcome.is_approval
    return burial, grave


def test_a_scheduled_burial_is_cancelled_not_withdrawn() -> None:
    """Regression: withdrawal was offered after the burial was scheduled, but the withdrawn
    case allowed only close, and close was refused until the burial was carried out or
    cancelled, which a withdrawn case no longer allowed; the place stayed reserved."""
    burial, _ = scheduled_burial()
    burial.notify(actor=CLERK, at=START + timedelta(hours=2))
    assert "withdraw" not in burial.allowed_commands()
    assert "cancel_burial" in burial.allowed_commands()  # the place is released that way
    with pytest.raises(InvalidTransition):
        burial.withdraw(actor=APPLICANT, at=START + timedelta(hours=3))
    assert burial.status == CaseStatus.NOTIFIED


def test_the_application_is_not_withdrawn_once_the_decision_is_final_by_law() -> None:
    case = notified()
    assert "withdraw" in case.allowed_commands()  # nobody marked it final
    with pytest.raises(InvalidCommand) as refused:
        case.withdraw(actor=APPLICANT, at=on(DEADLINE + timedelta(days=1)))
    assert refused.value.field == "at"
    case.withdraw(actor=APPLICANT, at=on(DEADLINE))  # the period's last day
    assert case.status == CaseStatus.WITHDRAWN


# ------------------------------------------------------ the remedy notice found defective


def test_a_missing_or_wrong_remedy_notice_gives_a_year_to_object() -> None:
    case = notified()
    assert case.decision is not None
    assert case.decision.remedy_notice.complete
    with pytest.raises(InvalidCommand) as refused:
        case.record_remedy_notice_defect(actor=SUPERVISOR, at=on(date(2026, 3, 20)), reason=" ")
    assert refused.value.field == "reason"
    case.record_remedy_notice_defect(
        actor=SUPERVISOR,
        at=on(date(2026, 3, 20)),
        reason="Die Belehrung nannte eine falsche Anschrift.",
    )
    assert case.objection_deadline == date(2027, 3, 3)  # § 58 (2) VwGO, a Wednesday
    assert not case.decision.remedy_notice.complete
    assert case.decision.remedy_notice.period_months == 12
    assert "record_remedy_notice_defect" not in case.allowed_commands()
    lodged(case, date(2026, 10, 1))
    objection = case.open_objection
    assert objection is not None
    assert objection.timely
    assert objection.deadline == date(2027, 3, 3)


def test_within_the_year_the_decision_is_not_final() -> None:
    case = notified()
    case.record_remedy_notice_defect(actor=SUPERVISOR, at=on(date(2026, 3, 20)), reason="fehlt")
    assert case.final_from() == date(2027, 3, 4)
    with pytest.raises(InvalidCommand) as refused:
        case.mark_final(actor=CLERK, at=on(date(2026, 6, 1)))
    assert refused.value.field == "at"


def test_a_defect_found_within_the_year_reopens_a_decision_marked_final() -> None:
    case = notified()
    case.mark_final(actor=CLERK, at=on(DEADLINE + timedelta(days=1)))
    assert "record_remedy_notice_defect" in case.allowed_commands()
    case.record_remedy_notice_defect(actor=SUPERVISOR, at=on(date(2026, 5, 1)), reason="fehlt")
    assert case.status == CaseStatus.NOTIFIED
    assert case.final_on is None
    assert case.final_from() == date(2027, 3, 4)
    [*_, event] = case.pending_events
    assert isinstance(event, Case.RemedyNoticeFoundDefective)
    assert event.status == CaseStatus.NOTIFIED


def test_the_defect_is_not_recorded_after_the_year() -> None:
    case = notified()
    with pytest.raises(InvalidCommand) as refused:
        case.record_remedy_notice_defect(actor=SUPERVISOR, at=on(date(2027, 3, 4)), reason="r")
    assert refused.value.field == "at"
    case.record_remedy_notice_defect(actor=SUPERVISOR, at=on(date(2027, 3, 3)), reason="r")
    assert case.objection_deadline == date(2027, 3, 3)

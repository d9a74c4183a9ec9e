"""The views take a case's status, holder and legal track from the events' types, not a table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import event
from eventsourcing.utils import get_topic

from api.routes.read_models import opener
from application.clock import FixedClock
from domain.actor import ActorRecord
from domain.authorities import Matter
from domain.case import Case
from domain.case_charges import CaseCharges
from domain.decision import DecisionOutcome
from domain.lifecycle import CaseStatus, ChangesStatus
from domain.rules.notification import Delivery
from domain.working_days import berlin_date
from infrastructure.wiring import Vorgang
from projections.case_events import (
    LEGACY_STATUSES,
    case_event_topics,
    decided_on_after,
    final_on_after,
    holder_after,
    objection_after,
    objection_deadline_after,
    objection_is_open,
    status_after,
)
from projections.inbox_query import InboxFilter, InboxQuery
from tests.domain.case_fixtures import APPLICANT, CLERK, START, SUPERVISOR, in_review, pay_fees
from tests.projections.test_receivables_view import billing


class StallRequest(Case):
    """A case type the views have never heard of, with a status of its own."""

    def allot(self, *, at: datetime) -> None:
        """Allot a market stall."""
        self._allotted(actor=CLERK.recorded_in(self.id), at=at, status="stall_allotted")

    class StallAllotted(ChangesStatus):
        """A stall was allotted."""

        actor: ActorRecord
        at: datetime

    @event(StallAllotted)
    def _allotted(self, *, actor: ActorRecord, at: datetime, status: str) -> None:
        self.status = status


class FourEyesRequest(Case):
    """A case type with the countersignature and the payment gate (no service has both), in a
    road traffic matter: its objection goes to the supervising authority."""

    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True
    MATTER = Matter.ROAD_TRAFFIC


def day(n: int, hours: int = 0) -> datetime:
    """Business time ``n`` days after the submission (Monday, 2 March 2026)."""
    return START + timedelta(days=n, hours=hours)


def decide(case: Case, at: datetime, fee: str | None = None) -> None:
    """Approved by the clerk, as the decision commands are called since Procedure law 1."""
    case.decide(
        actor=CLERK,
        at=at,
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 1 Satzung",
        fee=Decimal(fee) if fee else None,
    )


def notified(case_class: type[Case] = Case) -> Case:
    """Decided on the second day and posted that day (a letter: notified four days later)."""
    case = in_review(case_class)
    decide(case, day(1))
    case.notify(actor=CLERK, at=day(1, 1), delivery=Delivery.LETTER, sent_on=date(2026, 3, 3))
    return case


def four_eyes_forwarded_and_decided() -> Case:
    """Countersigned after a refusal, paid, notified; the objection forwarded and dismissed."""
    case = in_review(FourEyesRequest)
    decide(case, day(1), fee="120.00")
    case.refuse_countersign(actor=SUPERVISOR, at=day(2), reason="Begründung unvollständig")
    decide(case, day(2, 1), fee="120.00")
    case.countersign(actor=SUPERVISOR, at=day(2, 2))
    pay_fees(case, day(2, 3))
    case.notify(actor=CLERK, at=day(2, 4))
    case.lodge_objection(actor=CLERK, at=day(3), grounds="Zu teuer")
    case.forward_objection(actor=CLERK, at=day(4), reason="Keine Abhilfe")
    case.decide_objection(
        actor=CLERK,
        at=day(30),
        outcome="dismissed",
        reasons="Die Gebühr folgt der Satzung.",
        costs_borne_by="objector",
        served_on=berlin_date(day(30)),
    )
    return case


def remedied_with_a_new_decision() -> Case:
    """An objection remedied in full: the case is reviewed and decided again."""
    case = notified()
    case.lodge_objection(actor=CLERK, at=day(5), grounds="Die Auflage ist zu streng.")
    case.hear_objection(actor=CLERK, at=day(6), held_on=berlin_date(day(6)))
    case.remedy_objection(actor=CLERK, at=day(7), reason="Abhilfe")
    return case


def late_objection_reinstated_and_partly_remedied() -> Case:
    """A late objection after finality: reinstated, partly remedied without a new decision."""
    case = notified()
    case.mark_final(actor=CLERK, at=day(60))
    case.lodge_objection(actor=CLERK, at=day(61), grounds="Ich war im Krankenhaus.")
    case.grant_reinstatement(actor=CLERK, at=day(62), reason="Krankenhausaufenthalt belegt")
    case.remedy_objection(
        actor=CLERK,
        at=day(63),
        reason="Teilweise Abhilfe",
        extent="partial",
        new_decision=False,
        operative_part="Die Auflage Nr. 2 entfällt.",
    )
    return case


def objection_withdrawn_after_a_defective_remedy_notice() -> Case:
    """The remedy notice was wrong: a year for objections; one lodged and withdrawn; final."""
    case = notified()
    case.record_remedy_notice_defect(actor=CLERK, at=day(5), reason="Falsche Behörde genannt")
    case.lodge_objection(actor=CLERK, at=day(50), grounds="Ich widerspreche.")
    case.withdraw_objection(actor=APPLICANT, at=day(51))
    case.mark_final(actor=CLERK, at=day(400))
    return case


SCENARIOS: dict[str, Callable[[], Case]] = {
    "four eyes, forwarded and decided": four_eyes_forwarded_and_decided,
    "remedied with a new decision": remedied_with_a_new_decision,
    "late, reinstated, partly remedied": late_objection_reinstated_and_partly_remedied,
    "remedy notice defective, withdrawn": objection_withdrawn_after_a_defective_remedy_notice,
}


def folded(case: Case) -> dict[str, Any]:
    """What the views fold from the case's events."""
    state: dict[str, Any] = dict.fromkeys(
        ("status", "holder", "objection", "decided_on", "deadline", "final_on")
    )
    for recorded in case.collect_events():
        state["status"] = status_after(recorded, state["status"])
        state["holder"] = holder_after(recorded, state["holder"])
        state["objection"] = objection_after(recorded, state["objection"])
        state["decided_on"] = decided_on_after(recorded, state["decided_on"])
        state["deadline"] = objection_deadline_after(recorded, state["deadline"])
        state["final_on"] = final_on_after(recorded, state["final_on"])
    return state


def iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_views_follow_the_status_and_the_legal_track_every_event_records(
    scenario: str,
) -> None:
    case = SCENARIOS[scenario]()
    state = folded(case)
    assert state["status"] == case.status
    assert state["holder"] == (case.holder.id if case.holder else None)
    latest = case.objection
    assert state["objection"] == (latest.state if latest else None)
    assert objection_is_open(state["objection"]) == (case.open_objection is not None)
    assert state["decided_on"] == iso(case.clock.decided_on)
    assert state["deadline"] == iso(case.objection_deadline)
    assert state["final_on"] == iso(case.final_on)


def test_objection_events_leave_the_status_where_the_work_stands() -> None:
    case = four_eyes_forwarded_and_decided()
    seen = []
    status = None
    for recorded in case.collect_events():
        status = status_after(recorded, status)
        if type(recorded).__name__.startswith("Objection"):
            seen.append((type(recorded).__name__, status))
    assert seen == [
        ("ObjectionLodged", CaseStatus.NOTIFIED),
        ("ObjectionForwarded", CaseStatus.NOTIFIED),
        ("ObjectionDecided", CaseStatus.NOTIFIED),
    ]


def test_a_draft_stops_the_clock_and_a_refused_countersignature_reopens_it() -> None:
    case = in_review(FourEyesRequest)
    decide(case, day(1), fee="120.00")
    case.refuse_countersign(actor=SUPERVISOR, at=day(2), reason="Begründung unvollständig")
    seen = []
    decided_on = None
    for recorded in case.collect_events():
        decided_on = decided_on_after(recorded, decided_on)
        seen.append(decided_on)
    assert seen[-2:] == ["2026-03-03", None]
    assert case.clock.decided_on is None


def test_a_status_that_no_longer_exists_reads_as_the_notification_it_came_from() -> None:
    case = notified()
    case.add_note(actor=CLERK, at=day(2), text="Vermerk")
    note = case.collect_events()[-1]
    for legacy in ("objection_lodged", "objection_forwarded"):
        assert status_after(note, legacy) == CaseStatus.NOTIFIED
    assert set(LEGACY_STATUSES.values()) == {CaseStatus.NOTIFIED}
    assert status_after(note, "works_started") == "works_started"


def test_a_new_service_status_reaches_the_views_without_a_projection_change() -> None:
    case = in_review(StallRequest)
    assert isinstance(case, StallRequest)
    case.allot(at=START + timedelta(days=1))
    assert status_after(case.collect_events()[-1], "in_review") == "stall_allotted"


def test_the_holder_follows_claims_assignments_and_releases() -> None:
    case = in_review()
    case.assign(
        actor=SUPERVISOR, at=START + timedelta(hours=3), assignee=SUPERVISOR, reason="Urlaub"
    )
    case.release(actor=SUPERVISOR, at=START + timedelta(hours=4))
    holder = None
    seen = []
    for recorded in case.collect_events():
        holder = holder_after(recorded, holder)
        seen.append(holder)
    assert seen == [None, None, CLERK.id, SUPERVISOR.id, None]


def test_every_event_a_case_records_is_among_the_topics_the_views_read() -> None:
    # The charges' events are stored under their mixin's classes (CaseCharges.FeeCharged):
    # a view that missed them would keep a paid case awaiting payment for ever.
    case = four_eyes_forwarded_and_decided()
    read = set(case_event_topics())
    recorded = {get_topic(type(e)) for e in case.collect_events()[1:]}  # but this test's type
    assert {get_topic(CaseCharges.FeeCharged), get_topic(CaseCharges.ChargeSettled)} <= recorded
    assert recorded <= read
    assert get_topic(CaseCharges.BilledTo) in read


def test_the_inbox_moves_a_paid_case_on_from_awaiting_payment(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    bills = billing(vorgang, clock)
    case_id = bills.permit()
    vorgang.projections.catch_up()
    assert inbox_status(vorgang, clock, case_id) == CaseStatus.AWAITING_PAYMENT
    first, *rest = bills.kassenzeichen(case_id)
    bills.receipt(first, str(bills.receivable(first).amount), "K-1")
    vorgang.projections.catch_up()
    if rest:  # a charge still open: the case still waits
        assert inbox_status(vorgang, clock, case_id) == CaseStatus.AWAITING_PAYMENT
    for number, kz in enumerate(rest, start=2):
        bills.receipt(kz, str(bills.receivable(kz).amount), f"K-{number}")
    vorgang.projections.catch_up()
    assert inbox_status(vorgang, clock, case_id) == CaseStatus.DECIDED
    waiting = InboxFilter(tenant="usingen", status=CaseStatus.AWAITING_PAYMENT)
    assert inbox_rows(vorgang, clock, waiting) == {}


def inbox_rows(v: Vorgang, clock: FixedClock, wanted: InboxFilter) -> dict[str, dict[str, Any]]:
    """The inbox's rows by case id (one page is enough here)."""
    items, _ = InboxQuery(v.views, opener(v.projections)).page(
        wanted, today=berlin_date(clock.now()), limit=100, cursor=None
    )
    return {item["case_id"]: item for item in items}


def inbox_status(v: Vorgang, clock: FixedClock, case_id: UUID) -> str:
    """The case's status as its inbox row shows it."""
    row = inbox_rows(v, clock, InboxFilter(tenant="usingen"))[str(case_id)]
    return str(row["status"])


def test_an_event_of_a_shape_that_kept_the_status_keeps_the_case_status_in_the_views() -> None:
    case = notified()
    case.lodge_objection(actor=CLERK, at=day(5), grounds="Die Auflage ist zu streng")
    lodged = case.collect_events()[-1]
    assert isinstance(lodged, Case.ObjectionLodged)
    state = dict(vars(lodged))
    del state["status"]  # the shape Procedure law 1 first stored as version 3
    Case.ObjectionLodged.upcast_v3_v4(state)
    first_shape = Case.ObjectionLodged(**state)
    assert first_shape.status is None
    assert status_after(first_shape, CaseStatus.NOTIFIED) == CaseStatus.NOTIFIED
    assert status_after(lodged, CaseStatus.NOTIFIED) == lodged.status

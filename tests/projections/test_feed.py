"""The integration feed publishes the legal track: notification, objection outcomes, finality."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from domain.case import Case
from domain.case_charges import CaseCharges
from domain.case_documents import CaseDocuments
from infrastructure.wiring import Vorgang
from projections.case_events import case_event_classes
from projections.feed import (
    DESCRIPTIONS,
    PUBLIC_TYPES,
    PUBLISHED_CLASSES,
    SHARED_TYPES,
    TYPE_PREFIX,
    public_data,
    published_as,
)
from projections.feed_query import FeedFilter, FeedQuery
from tests.conftest import CLERK
from tests.domain.case_fixtures import road_opening_decided
from tests.projections import legal_track
from tests.projections.legal_track import GROUNDS, aggregate, iso, today
from tests.steps import take

NOT_PUBLISHED = {
    "Claimed",
    "Released",
    "Assigned",
    "NoteAdded",
    "PeriodExtended",
    "CountersignRefused",
    "ObjectionHeard",  # a step of the procedure; its outcome is published
    "PersonalDataErased",
    "BilledTo",  # the account billed: its receivables name it (receivable_created)
}


def published(v: Vorgang, case_id: UUID) -> list[dict[str, Any]]:
    """The case's CloudEvents (without a grant) after catching up."""
    v.projections.catch_up()
    events = FeedQuery(v.views).page(FeedFilter(tenants=("usingen",)), after=0, limit=500)
    return [e for e in events if e["subject"] == str(case_id)]


def short(event: dict[str, Any]) -> str:
    """``objection_lodged`` for ``de.vorgang.case.objection_lodged.v1``."""
    assert event["type"].startswith(TYPE_PREFIX)
    assert event["type"].endswith(".v1")
    return str(event["type"][len(TYPE_PREFIX) : -len(".v1")])


def test_every_event_of_the_case_is_published_or_deliberately_internal() -> None:
    names = {
        klass.__name__
        for klass in case_event_classes()
        if klass.__qualname__.startswith("Case.") and klass not in (Case.Event, Case.Created)
    }
    assert names - set(SHARED_TYPES) == NOT_PUBLISHED
    assert set(SHARED_TYPES) <= names  # no type for an event that does not exist
    for name in names - NOT_PUBLISHED:
        public = PUBLIC_TYPES[name]
        assert public in DESCRIPTIONS, name  # /api/v1/feed/types describes each type
        assert PUBLISHED_CLASSES[getattr(Case, name)] == public
    # The mixins' events are stored under the mixins' classes: those are published too.
    for mixin in (CaseCharges, CaseDocuments):
        for name in names - NOT_PUBLISHED:
            if name in vars(mixin):
                assert PUBLISHED_CLASSES[getattr(mixin, name)] == PUBLIC_TYPES[name], name
    assert PUBLISHED_CLASSES[CaseCharges.FeeCharged] == "fee_charged"
    assert PUBLISHED_CLASSES[CaseCharges.ChargeSettled] == "charge_settled"
    assert PUBLISHED_CLASSES[CaseCharges.ChargeWithdrawn] == "charge_withdrawn"


def test_a_withdrawn_charge_is_published_with_its_kassenzeichen_and_a_keyword_reason() -> None:
    permit = road_opening_decided(date(2026, 4, 1))
    first, second = permit.charges  # the administrative fee and the special use fee
    record, at = CLERK.recorded_in(permit.id), permit.last_activity_at
    permit.collect_events()
    permit.withdraw_charge(record, at, first.kassenzeichen, "reassessed")
    # a reason that is not a keyword (free text may name people) stays out
    permit.withdraw_charge(record, at, second.kassenzeichen, "Frau M. zog um")
    keyword, free_text = permit.collect_events()
    assert published_as(keyword) == published_as(free_text) == "charge_withdrawn"
    assert public_data(keyword) == {"kassenzeichen": first.kassenzeichen, "reason": "reassessed"}
    assert public_data(free_text) == {"kassenzeichen": second.kassenzeichen}


def test_an_objection_withdrawn_a_late_one_decided_and_the_decision_final(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.notified_general_case(vorgang, clock)
    legal_track.lodge_objection(vorgang, case_id)
    take(vorgang.cases, case_id, "hear_objection", actor=CLERK, held_on=today(clock))
    take(vorgang.cases, case_id, "withdraw_objection", actor=CLERK)
    clock.advance(timedelta(days=40))  # the month for objections is over
    legal_track.lodge_objection(vorgang, case_id)
    take(
        vorgang.cases,
        case_id,
        "decide_objection",
        actor=CLERK,
        outcome="inadmissible",
        reasons="Der Widerspruch kam nach Ablauf der Frist.",
        costs_borne_by="objector",
        served_on=today(clock),
    )
    clock.advance(timedelta(days=40))  # the month for an action is over
    take(vorgang.cases, case_id, "mark_final", actor=CLERK)
    case = aggregate(vorgang, case_id)

    events = published(vorgang, case_id)
    assert [short(e) for e in events] == [
        "submitted",
        "completeness_confirmed",
        "decided",
        "notified",
        "objection_lodged",
        "objection_withdrawn",
        "objection_lodged",
        "objection_decided",
        "final",
    ]
    data = [e["data"] for e in events]
    notified, lodged, withdrawn, late, decided, final = data[3:]
    assert notified["delivery"] == "counter"
    assert notified["sent_on"] == notified["notified_on"]  # handed over: notified that day
    assert notified["notified_on"] == iso(case.notified_on)
    assert notified["objection_deadline"] == iso(case.objection_deadline)
    assert lodged["status"] == "notified"  # the main track stays where it was
    assert lodged["timely"] is True
    assert withdrawn["status"] == "notified"
    assert late["timely"] is False
    assert late["received_on"] == iso(case.objections[-1].received_on)
    assert decided["objection_outcome"] == "inadmissible"
    bescheid = case.objections[-1].decision
    assert bescheid is not None
    assert decided["served_on"] == iso(bescheid.served_on)
    assert decided["action_deadline"] == iso(bescheid.action_deadline)
    assert decided["authority"]
    assert "outcome" not in decided  # the decision's outcome is not the objection's
    assert final["status"] == "final"
    assert final["final_on"] == iso(case.final_on)
    text = json.dumps(events, ensure_ascii=False)
    for personal in (GROUNDS, "Erika", "Mustermann", "Frist"):  # grounds, names, reasons
        assert personal not in text


def test_reinstatement_a_partial_remedy_and_a_defective_remedy_notice_are_published(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.notified_general_case(vorgang, clock)
    clock.advance(timedelta(days=40))
    legal_track.lodge_objection(vorgang, case_id)
    take(vorgang.cases, case_id, "grant_reinstatement", actor=CLERK, reason="Krankenhaus")
    take(
        vorgang.cases,
        case_id,
        "remedy_objection",
        actor=CLERK,
        reason="Teilweise berechtigt",
        extent="partial",
        new_decision=False,
        operative_part="Die Auflage Nr. 2 entfällt.",
    )
    other = legal_track.notified_general_case(vorgang, clock)
    take(vorgang.cases, other, "record_remedy_notice_defect", actor=CLERK, reason="Falsch")

    events = published(vorgang, case_id)
    assert [short(e) for e in events][-3:] == [
        "objection_lodged",
        "objection_reinstated",
        "objection_remedied",
    ]
    remedied = events[-1]["data"]
    assert remedied["objection_outcome"] == "partly_remedied"
    assert remedied["new_decision"] is False
    assert remedied["fee_refund"] is None  # the general request charged no fee
    assert remedied["status"] == "notified"
    defective = published(vorgang, other)[-1]
    assert short(defective) == "remedy_notice_defective"
    deadline = aggregate(vorgang, other).objection_deadline
    assert defective["data"]["objection_deadline"] == iso(deadline)
    assert deadline is not None
    assert deadline > today(clock) + timedelta(days=300)  # a year (§ 58 (2) VwGO)


def test_an_objection_while_the_works_run_is_published_with_the_works_status(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    permit = legal_track.permit_with_works_started(vorgang, clock)
    legal_track.lodge_objection(vorgang, permit)
    take(vorgang.cases, permit, "withdraw_objection", actor=CLERK)
    events = published(vorgang, permit)
    assert [(short(e), e["data"]["status"]) for e in events][-3:] == [
        ("works_started", "works_started"),
        ("objection_lodged", "works_started"),
        ("objection_withdrawn", "works_started"),
    ]

"""The audit trail labels every event and shows the legal track; statistics count objections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from api.routes.read_models import opener
from application.clock import FixedClock
from domain.case import Case
from domain.services.catalogue import SERVICES
from infrastructure.wiring import Vorgang
from projections.audit_query import AuditFilter, AuditQuery
from projections.audit_trail import EVENT_LABELS, event_label
from projections.case_events import case_event_classes
from projections.stats_query import StatsQuery
from tests.conftest import CLERK
from tests.projections import legal_track
from tests.projections.legal_track import today
from tests.steps import take


def case_events() -> set[str]:
    """The names of every event class the Case declares (its service subclasses inherit them)."""
    return {
        klass.__name__
        for klass in case_event_classes()
        if klass.__qualname__.startswith("Case.") and klass not in (Case.Event, Case.Created)
    }


def test_every_event_of_the_case_has_a_german_and_an_english_label() -> None:
    names = case_events()
    assert "ObjectionWithdrawn" in names  # the legal track's events are among them
    assert set(EVENT_LABELS) == names  # each labelled, and no label for an event gone
    for name in names:
        for service in SERVICES:
            label = event_label(service, name)
            assert label is not None, (service, name)
            assert label["de"].strip(), name
            assert label["en"].strip(), name
    german = [de for de, _ in EVENT_LABELS.values()]
    assert len(set(german)) == len(german)  # two events never read the same


def test_a_service_labels_its_own_events() -> None:
    for service, definition in SERVICES.items():
        for name, (de, en) in definition.event_labels.items():
            assert event_label(service, name) == {"de": de, "en": en}
    assert event_label("general", "NoSuchEvent") is None


def trail(v: Vorgang, case_id: UUID) -> list[dict[str, Any]]:
    """The case's rows as an auditor reads them."""
    v.projections.catch_up()
    query = AuditQuery(v.views, opener(v.projections))
    items, cursor = query.page(
        AuditFilter(tenants=("usingen",), case_id=str(case_id)), limit=100, cursor=None
    )
    assert cursor is None
    return items


def test_the_trail_shows_where_the_objection_stands_beside_an_unchanged_status(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.notified_general_case(vorgang, clock)
    legal_track.lodge_objection(vorgang, case_id)
    legal_track.hear_objection(vorgang, case_id, clock)
    take(
        vorgang.cases,
        case_id,
        "decide_objection",
        actor=CLERK,
        outcome="dismissed",
        reasons="Unbegründet.",
        costs_borne_by="objector",
        served_on=today(clock),
    )
    rows = {row["event_type"]: row for row in trail(vorgang, case_id)}

    lodged = rows["ObjectionLodged"]
    assert lodged["label"] == {"de": "Widerspruch eingegangen", "en": "Objection lodged"}
    assert "status" not in lodged["changes"]  # the main track does not move
    assert lodged["changes"]["objection_state"] == {"old": None, "new": "pending"}
    heard = rows["ObjectionHeard"]
    assert heard["label"]["de"] == "Widerspruch im Anhörungsausschuss verhandelt"
    assert heard["changes"]["objection_state"] == {"old": "pending", "new": "heard"}
    decided = rows["ObjectionDecided"]["changes"]
    assert decided["objection_state"] == {"old": "heard", "new": "decided"}
    assert decided["objection_decision"]["new"]["outcome"] == "dismissed"
    assert "decision" not in decided  # the decision it is about stays as it was
    assert rows["Notified"]["changes"]["notification_rules"]["new"]["rules_id"] == "bekanntgabe"
    assert rows["Notified"]["label"]["en"] == "Decision notified"
    assert all(row["label"] is not None for row in rows.values())


def test_statistics_count_objections_by_how_they_ended_and_final_decisions(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    withdrawn = legal_track.notified_general_case(vorgang, clock)
    decided = legal_track.notified_general_case(vorgang, clock)
    still_open = legal_track.notified_general_case(vorgang, clock)
    for case_id in (withdrawn, decided, still_open):
        legal_track.lodge_objection(vorgang, case_id)
    take(vorgang.cases, withdrawn, "withdraw_objection", actor=CLERK)
    legal_track.hear_objection(vorgang, decided, clock)
    take(
        vorgang.cases,
        decided,
        "decide_objection",
        actor=CLERK,
        outcome="dismissed",
        reasons="Unbegründet.",
        costs_borne_by="objector",
        served_on=today(clock),
    )
    clock.advance(timedelta(days=40))
    take(vorgang.cases, withdrawn, "mark_final", actor=CLERK)
    vorgang.projections.catch_up()

    (general,) = StatsQuery(vorgang.views).for_tenant("usingen", today=today(clock))
    assert general["cases"] == 3
    assert general["by_status"] == {"final": 1, "notified": 2}  # no objection statuses
    assert general["objections_lodged"] == 3
    assert general["objections_open"] == 1
    assert general["objections_withdrawn"] == 1
    assert general["objections_decided"] == 1
    assert general["objections_remedied"] == 0
    assert general["final"] == 1
    assert general["overdue"] == 0  # decided cases are never overdue


def test_the_trail_shows_an_objection_forwarded_to_the_supervising_authority(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.notified_traffic_sign_order(vorgang, clock)
    legal_track.lodge_objection(vorgang, case_id)
    take(vorgang.cases, case_id, "forward_objection", actor=CLERK, reason="Keine Abhilfe")
    take(
        vorgang.cases,
        case_id,
        "decide_objection",
        actor=CLERK,
        outcome="dismissed",
        reasons="Unbegründet.",
        costs_borne_by="objector",
        served_on=today(clock),
    )
    rows = {row["event_type"]: row for row in trail(vorgang, case_id)}
    forwarded = rows["ObjectionForwarded"]["changes"]
    assert forwarded["objection_state"] == {"old": "pending", "new": "forwarded"}
    assert "status" not in forwarded
    decided = rows["ObjectionDecided"]["changes"]
    assert decided["objection_state"] == {"old": "forwarded", "new": "decided"}
    assert decided["objection_decision"]["new"]["decided_by"].startswith(
        "Der Landrat des Hochtaunuskreises"
    )

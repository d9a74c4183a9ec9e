"""Traffic sign orders stored before Procedure law 2 still load and replay as recorded.

A set-up report stored before it recorded the vehicles parked in the zone reads as one that
recorded none, with the day towing costs may be charged derived from its set-up day (the
fourth after it, BVerwG 3 C 25.16); an order that named the set-up day by the legacy count
(three days before the start, two full days) replays by that count, and the audit shows what
today's rule would name instead.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.clock import FixedClock
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.rules import traffic_sign_order as sign_rules
from domain.rules.versions import STATUTES
from domain.services import traffic_sign_order
from domain.services.traffic_sign_order import TrafficSignOrder
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, submitted, take

AUDITOR = Actor("rpa.usingen", "Rechnungsprüfung", Role.AUDITOR, "usingen")
ORDER = {
    "outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS,
    "justification": "Für den Umzug ist eine Haltverbotszone erforderlich.",
    "legal_basis": "§ 45 Abs. 1, 6 StVO",
    "discretion": "Die Haltverbotszone ist für zwei Tage erforderlich.",
}


def heard_and_ordered(cases: CaseService, clock: FixedClock) -> UUID:
    """Submitted, police and road authority heard, the order made and handed over."""
    data = traffic_sign_order.example(berlin_date(clock.now()))
    case_id = submitted(cases, "traffic-sign-order", data, applicant={"name": "E"})
    in_review(cases, case_id)
    today = berlin_date(clock.now())
    for authority in ("police", "road_authority"):
        take(
            cases,
            case_id,
            "record_authority_hearing",
            actor=CLERK,
            authority=authority,
            heard_on=today,
            response="consented",
        )
    take(cases, case_id, "decide", actor=CLERK, **ORDER)  # type: ignore[arg-type]
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    return case_id


def copied_with_old_set_up_report(store: VorgangStore, case_id: UUID) -> UUID:
    """The case's events under a new id, its set-up report in the shape of version 2."""
    new_id = uuid4()
    events = []
    for stored in store.recorder.select_events(case_id):
        text = stored.state.decode().replace(case_id.hex, new_id.hex)
        state: dict[str, Any] = json.loads(text.replace(str(case_id), str(new_id)))
        if stored.topic.endswith(".SignsPutUp"):
            state["class_version"] = 2
            for name in ("signs_up_at", "parked_vehicles", "parked_plates", "towing_costs_from"):
                del state[name]
        events.append(
            StoredEvent(
                originator_id=new_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=json.dumps(state).encode(),
            )
        )
    store.recorder.insert_events(events)
    return new_id


def test_a_set_up_report_stored_before_vehicles_were_recorded_reads_as_none_recorded(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = heard_and_ordered(cases, clock)
    order: TrafficSignOrder = store.repository.get(case_id)
    up_on = order.period_start - timedelta(days=4)
    clock.set(clock.now().replace(year=up_on.year, month=up_on.month, day=up_on.day))
    take(
        cases,
        case_id,
        "report_signs_up",
        actor=CLERK,
        signs_up_on=up_on,
        signs_up_at="07:30",
        parked_vehicles=3,
        parked_plates=["HG-AB 123"],
    )
    now: TrafficSignOrder = store.repository.get(case_id)
    assert now.parked_vehicles == 3
    assert [p.reveal() for p in now.parked_plates] == ["HG-AB 123"]
    assert now.parked_plates[0].subject == "parked-vehicles"

    old: TrafficSignOrder = store.repository.get(copied_with_old_set_up_report(store, case_id))
    assert old.status == "signs_up"
    assert old.signs_up_on == up_on
    assert old.signs_up_in_time is True
    assert (old.signs_up_at, old.parked_vehicles, old.parked_plates) == (None, None, ())
    assert old.towing_costs_from == up_on + timedelta(days=4) == old.period_start
    state = old.service_state()
    assert state["parked_vehicles"] is None
    assert state["towing_costs_from"] == old.period_start


def test_an_order_recorded_under_the_legacy_set_up_count_replays_by_it(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    legacy = STATUTES.amended(sign_rules.SIGN_SETUPS, sign_rules.LEGACY_SIGN_SETUPS)
    with legacy.applied():  # as the order was made before the count was corrected
        case_id = heard_and_ordered(cases, clock)
    order: TrafficSignOrder = store.repository.get(case_id)
    decision = order.current_decision()
    start = order.period_start
    assert decision.particulars["signs_up_by"] == start - timedelta(days=3)
    [setup] = [r for r in decision.rules if r.rules_id == sign_rules.SIGN_SETUP_RULES_ID]
    assert (setup.version, setup.inputs["days_ahead"]) == ("2025-01", 3)

    report = DecisionAudit(store, clock).replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "consistent", report
    today = {d["field"]: (d["recorded"], d["replayed"]) for d in report.today}
    assert today["particulars.signs_up_by"] == (
        start - timedelta(days=3),
        start - timedelta(days=4),
    )
    assert today[f"rules[{sign_rules.SIGN_SETUP_RULES_ID}].version"] == ("2025-01", "2026-12")

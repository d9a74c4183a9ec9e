"""The plates of vehicles parked at set-up are their keepers' data, erased on their own."""

from __future__ import annotations

from datetime import timedelta

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.personal_data import ERASED_TEXT, Subjects
from domain.services import traffic_sign_order
from domain.services.traffic_sign_order import PARKED_VEHICLES
from domain.working_days import berlin_date
from infrastructure.wiring import Vorgang
from tests.conftest import APPLICANT, CLERK
from tests.steps import take

ADMIN = Actor("dsb.usingen", "Datenschutz", Role.ADMIN, "usingen")


def test_erasing_the_parked_vehicles_leaves_the_set_up_report_and_the_applicant(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    c = vorgang.cases
    today = berlin_date(clock.now())
    case_id = c.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="traffic-sign-order",
        applicant={"name": "Erika Mustermann"},
        data=traffic_sign_order.example(today),
    ).case_id
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "confirm_complete", actor=CLERK)
    for authority in ("police", "road_authority"):
        heard = {"authority": authority, "heard_on": today, "response": "objected"}
        take(c, case_id, "record_authority_hearing", actor=CLERK, **heard, remarks="Eng.")
    take(
        c,
        case_id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Erforderlich.",
        legal_basis="§ 45 Abs. 1 StVO",
        discretion="Die Bedenken sind durch die Auflagen ausgeräumt.",
    )
    take(c, case_id, "notify", actor=CLERK, delivery="counter")
    start = c.get(case_id, actor=CLERK).service_state["signs_up_by"] + timedelta(days=4)
    clock.set(clock.now() + (start - today))
    up = {"signs_up_on": start, "parked_vehicles": 2, "parked_plates": ["HG-AB 123", "F-X 1"]}
    take(c, case_id, "report_signs_up", actor=CLERK, **up)
    state = c.get(case_id, actor=CLERK).service_state
    assert state["parked_plates"] == ["HG-AB 123", "F-X 1"]
    assert state["signs_up_in_time"] is False  # on the first day: no full days in between

    vorgang.privacy.erase(
        case_id,
        actor=ADMIN,
        subjects=[PARKED_VEHICLES],
        reason="Abschleppkosten abgerechnet",
        legal_basis="Art. 17 Abs. 1 lit. a DSGVO",
    )
    after = c.get(case_id, actor=CLERK)
    assert after.service_state["parked_plates"] == [ERASED_TEXT, ERASED_TEXT]
    assert after.service_state["parked_vehicles"] == 2
    assert after.service_state["towing_costs_from"] == start + timedelta(days=4)
    assert after.applicant["name"] == "Erika Mustermann"
    assert Subjects.APPLICANT != PARKED_VEHICLES

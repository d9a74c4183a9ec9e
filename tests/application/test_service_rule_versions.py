"""The sewer connection and the traffic sign order keep the rule versions they applied."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.rules import sewer_connection as sewer_rules
from domain.rules import traffic_sign_order as sign_rules
from domain.rules.tariffs import Band
from domain.rules.versions import STATUTES
from domain.services import sewer_connection, traffic_sign_order
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, submitted, take

AUDITOR = Actor("rpa.usingen", "Rechnungsprüfung", Role.AUDITOR, "usingen")
CONNECTION_2027 = sewer_rules.ConnectionTariff(
    version="2027-01",
    valid_from=date(2027, 1, 1),
    permit_fee=Decimal("110.00"),
    foul_water=Decimal("1600.00"),
    rainwater=Decimal("1250.00"),
    combined=Decimal("2000.00"),
    included_length_m=Decimal("8.00"),
    per_metre_beyond=Decimal("180.00"),
)
ORDER_2027 = sign_rules.OrderTariff(
    version="2027-01",
    valid_from=date(2027, 1, 1),
    base_fee=Decimal("40.00"),
    daily_rates=(Band(Decimal(30), Decimal("12.00")), Band(None, Decimal("30.00"))),
    minimum=Decimal("40.00"),
    maximum=Decimal("767.00"),
)
DECISION = {
    "outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS,
    "justification": "Voraussetzungen liegen vor",
    "legal_basis": "§ 5",
}
# § 45 (1) StVO gives discretion: an order states its considerations (§ 39 (1) 3 HVwVfG).
ORDER = {
    **DECISION,
    "discretion": "Die Sperrung ist für die Dauer der Arbeiten zur Sicherheit erforderlich.",
}


def submitted_in_review(cases: CaseService, service: str, data: dict[str, object]) -> UUID:
    case_id = submitted(cases, service, data, applicant={"name": "E"})
    in_review(cases, case_id)
    if service == "traffic-sign-order":  # police and road authority heard before an order
        for authority in ("police", "road_authority"):
            heard = {"authority": authority, "heard_on": date(2026, 3, 2), "response": "consented"}
            take(cases, case_id, "record_authority_hearing", actor=CLERK, **heard)
    return case_id


def test_a_connection_keeps_its_permit_fee_and_the_charge_takes_the_tariff_of_its_day(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    commands = CommandHandler(cases)
    case_id = submitted_in_review(
        cases, "sewer-connection", sewer_connection.example(date(2026, 3, 2))
    )
    take(
        commands,
        case_id,
        "determine_connection_point",
        actor=CLERK,
        manhole="S 1",
        invert_depth_m=Decimal("2.00"),
        description="Mitte",
    )
    take(cases, case_id, "decide", actor=CLERK, **DECISION)  # type: ignore[arg-type]
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")

    with STATUTES.amended(sewer_rules.TARIFFS, (*sewer_rules.TARIFFS, CONNECTION_2027)).applied():
        clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
        built_on = berlin_date(clock.now()) - timedelta(days=3)
        take(
            commands,
            case_id,
            "report_construction",
            actor=CLERK,
            completed_on=built_on,
            pipe_length_m=Decimal("10.00"),
        )
        take(
            commands,
            case_id,
            "record_leak_test",
            actor=CLERK,
            tested_on=built_on,
            method="air",
            result="passed",
            tester="Prüfer",
        )
        take(
            commands, case_id, "inspect_connection", actor=CLERK, inspected_on=built_on, defects=[]
        )
        take(commands, case_id, "assess_connection_charge", actor=CLERK)
        report = DecisionAudit(store, clock).replay(case_id, 1, actor=AUDITOR)

    state = cases.get(case_id, actor=CLERK)
    assert state.decision is not None
    assert state.decision["fee"] == "95.00"  # the permit fee of 2025-01, as decided
    # 2027-01: combined 2000.00 + (10.00 m - 8.00 m included) x 180.00 = 2360.00
    assert state.service_state["connection_charge"] == "2360.00"
    assert state.service_state["charge_rules"]["version"] == "2027-01"
    assert report.verdict == "consistent"
    assert {d["field"]: d["replayed"] for d in report.today}["fee"] == "110.00"


def test_an_order_replays_under_its_own_tariff_and_today_shows_the_new_one(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    data = traffic_sign_order.example(berlin_date(clock.now()))
    case_id = submitted_in_review(cases, "traffic-sign-order", data)
    take(cases, case_id, "decide", actor=CLERK, **ORDER)  # type: ignore[arg-type]
    clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
    with STATUTES.amended(sign_rules.TARIFFS, (*sign_rules.TARIFFS, ORDER_2027)).applied():
        report = DecisionAudit(store, clock).replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "consistent", report
    today = {d["field"]: d for d in report.today}
    assert today["fee"] == {"field": "fee", "recorded": "50.00", "replayed": "64.00"}
    assert today["rules[traffic-sign-order-fee].version"]["replayed"] == "2027-01"


def test_a_tampered_set_up_day_is_reported_by_the_replay(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = submitted_in_review(
        cases, "traffic-sign-order", traffic_sign_order.example(berlin_date(clock.now()))
    )
    take(cases, case_id, "decide", actor=CLERK, **ORDER)  # type: ignore[arg-type]
    same_day = tuple(replace(setup, days_ahead=0) for setup in sign_rules.SIGN_SETUPS)
    with STATUTES.amended(sign_rules.SIGN_SETUPS, same_day).applied():
        report = DecisionAudit(store, clock).replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "inconsistent"
    fields = {d["field"] for d in report.differences}
    assert {
        "particulars.signs_up_by",
        "rules[traffic-sign-order-sign-setup].inputs.days_ahead",
        "rules[traffic-sign-order-sign-setup].inputs.signs_up_by",
    } == fields

"""The road opening permit's own steps through the command pipeline: emergency works, the
extension, the security deposit and the traffic sign order linked by its reference."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand, InvalidTransition
from domain.rules.road_opening import (
    EMERGENCY_RULES_ID,
    LEAD_TIME_RULES_ID,
    REGIME_RULES_ID,
    SPECIAL_USE_FEE_RULES_ID,
    SPECIAL_USE_FEES,
    Regime,
    SpecialUseFee,
)
from domain.services import road_opening, traffic_sign_order
from domain.services.road_opening import RoadOpeningPermit
from domain.working_days import berlin_date
from tests.conftest import APPLICANT, CLERK
from tests.steps import decided, take

DISCRETION = "Der Gemeingebrauch wird nur kurz beeinträchtigt."


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


def permit(cases: CaseService, case_id: UUID) -> RoadOpeningPermit:
    found: object = cases.store.repository.get(case_id)
    assert isinstance(found, RoadOpeningPermit)
    return found


def submitted(cases: CaseService, clock: FixedClock, **changes: Any) -> tuple[UUID, dict[str, Any]]:
    data = road_opening.example(today(clock))
    data.update(changes)
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": "E"},
        data=data,
    ).case_id
    return case_id, data


def notified(cases: CaseService, clock: FixedClock, **changes: Any) -> tuple[UUID, dict[str, Any]]:
    case_id, data = submitted(cases, clock, **changes)
    clock.advance(timedelta(hours=1))
    special_use = changes.get("purpose", "other") == "other"  # § 16 (1) HStrG: discretion
    discretion = DISCRETION if special_use else None
    decided(cases, case_id, outcome=DecisionOutcome.APPROVED, discretion=discretion)
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    return case_id, data


def refused_on(field: str, cases: CaseService, case_id: UUID, step: str, **body: Any) -> str:
    with pytest.raises(InvalidCommand) as refused:
        take(cases, case_id, step, actor=CLERK, **body)
    assert refused.value.field == field, refused.value
    return str(refused.value)


# ------------------------------------------------------------------ emergency works


def test_emergency_works_are_reported_afterwards_without_the_lead_time(
    cases: CaseService, clock: FixedClock
) -> None:
    started = today(clock) - timedelta(days=1)
    period = {"start": started.isoformat(), "end": (started + timedelta(days=5)).isoformat()}
    case_id, _ = notified(
        cases,
        clock,
        planned_period=period,
        emergency_works=True,
        emergency_reason="Wasserrohrbruch unter der Fahrbahn",
    )
    case = permit(cases, case_id)
    decision = case.decision
    assert decision is not None
    rules = {r.rules_id: r for r in decision.rules}
    assert rules[LEAD_TIME_RULES_ID].inputs["applied"] is False
    assert rules[EMERGENCY_RULES_ID].inputs["started_on"] == started.isoformat()
    # Started the day before the permit took effect: recorded as reported.
    take(cases, case_id, "works_started", actor=CLERK, started_on=started)
    assert permit(cases, case_id).service_state()["emergency_works"] is True


def test_emergency_works_need_their_reason_and_the_reporting_period(
    cases: CaseService, clock: FixedClock
) -> None:
    long_ago = today(clock) - timedelta(days=14)
    period = {"start": long_ago.isoformat(), "end": today(clock).isoformat()}
    with pytest.raises(InvalidCommand) as late:
        submitted(cases, clock, planned_period=period, emergency_works=True, emergency_reason="x")
    assert late.value.field == "data.planned_period.start"
    with pytest.raises(InvalidCommand) as no_reason:
        submitted(cases, clock, emergency_works=True)
    assert no_reason.value.field == "data.emergency_reason"


def test_an_application_stored_without_the_emergency_flag_reads_as_ordinary_works(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, _ = submitted(cases, clock)
    case = permit(cases, case_id)
    del case.data["emergency_works"]
    assert case.application.emergency_works is False


# ------------------------------------------------------------------------ extension


def test_an_extension_moves_the_last_day_and_is_refused_after_expiry_or_completion(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock)
    end = date.fromisoformat(data["planned_period"]["end"])
    refused_on("extended_to", cases, case_id, "extend_permit", extended_to=end, reason="x")
    take(
        cases,
        case_id,
        "extend_permit",
        actor=CLERK,
        extended_to=end + timedelta(days=7),
        reason="Frost: Asphalt erst später",
    )
    case = permit(cases, case_id)
    assert case.valid_until == end + timedelta(days=7)
    assert case.extensions[-1].fee == Decimal("30.00")
    clock.advance(end + timedelta(days=3) - today(clock))
    take(cases, case_id, "works_started", actor=CLERK, started_on=end + timedelta(days=2))
    clock.advance(timedelta(days=1))
    take(cases, case_id, "works_completed", actor=CLERK, completed_on=today(clock))
    with pytest.raises(InvalidTransition):
        take(
            cases,
            case_id,
            "extend_permit",
            actor=CLERK,
            extended_to=end + timedelta(days=30),
            reason="x",
        )


def test_an_expired_permit_is_not_extended(cases: CaseService, clock: FixedClock) -> None:
    case_id, data = notified(cases, clock)
    end = date.fromisoformat(data["planned_period"]["end"])
    clock.advance(end + timedelta(days=1) - today(clock))
    message = refused_on(
        "extended_to",
        cases,
        case_id,
        "extend_permit",
        extended_to=end + timedelta(days=9),
        reason="zu spät",
    )
    assert "expired" in message


# ------------------------------------------------------------------ security deposit

LARGE = {"length_m": "20.00", "width_m": "1.00", "depth_m": "1.20"}  # 20 m²: 800 EUR


def test_a_large_opening_starts_only_with_the_deposit_which_is_released_after_acceptance(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock, dimensions=LARGE)
    start = date.fromisoformat(data["planned_period"]["start"])
    assert permit(cases, case_id).deposit_required == Decimal("800.00")
    clock.advance(start - today(clock))
    refused_on("security_deposit", cases, case_id, "works_started", started_on=start)
    refused_on(
        "amount",
        cases,
        case_id,
        "take_security_deposit",
        amount="799.99",
        form="bank_guarantee",
        received_on=today(clock),
    )
    take(
        cases,
        case_id,
        "take_security_deposit",
        actor=CLERK,
        amount="800.00",
        form="bank_guarantee",
        received_on=today(clock),
    )
    take(cases, case_id, "works_started", actor=CLERK, started_on=start)
    clock.advance(timedelta(days=2))
    take(cases, case_id, "works_completed", actor=CLERK, completed_on=today(clock))
    take(cases, case_id, "inspect_restoration", actor=CLERK, inspected_on=today(clock), defects=[])
    state = permit(cases, case_id).service_state()
    assert state["security_deposit"]["held"]["amount"] == Decimal("800.00")
    clock.set(clock.now().replace(year=clock.now().year + 6))
    refused_on("security_deposit", cases, case_id, "close")
    refused_on(
        "reason",
        cases,
        case_id,
        "release_security_deposit",
        released_on=today(clock),
        retained="150.00",
    )
    take(
        cases,
        case_id,
        "release_security_deposit",
        actor=CLERK,
        released_on=today(clock),
        retained="150.00",
        reason="Rissbildung an der Asphaltnaht, Ersatzvornahme",
    )
    released = permit(cases, case_id).service_state()["security_deposit"]
    assert released["held"] is None
    assert released["released"][0]["released"] == Decimal("650.00")
    take(cases, case_id, "close", actor=CLERK)


def test_the_deposit_is_not_released_before_the_restoration_was_accepted(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, _data = notified(cases, clock, dimensions=LARGE)
    take(
        cases,
        case_id,
        "take_security_deposit",
        actor=CLERK,
        amount="800.00",
        form="cash",
        received_on=today(clock),
    )
    refused_on("status", cases, case_id, "release_security_deposit", released_on=today(clock))


# ----------------------------------------------------------------- traffic sign order


def issued_order(
    cases: CaseService,
    clock: FixedClock,
    start: date,
    tenant: str = "usingen",
    reason: str = "building_works",
) -> str:
    """A traffic sign order for the works, ordered and notified; its reference."""
    data = traffic_sign_order.example(today(clock))
    data["reason"] = reason
    data["period"] = {"start": start.isoformat(), "end": (start + timedelta(days=10)).isoformat()}
    clerk = CLERK if tenant == "usingen" else Actor(f"clerk.{tenant}", "C", Role.CLERK, tenant)
    applicant = Actor(f"portal:{tenant}", "A", Role.APPLICANT, tenant)
    result = cases.submit(
        actor=applicant,
        tenant=tenant,
        service="traffic-sign-order",
        applicant={"name": "A"},
        data=data,
    )
    order_id = result.case_id
    take(cases, order_id, "claim", actor=clerk)
    take(cases, order_id, "confirm_complete", actor=clerk)
    for authority in ("police", "road_authority"):
        take(
            cases,
            order_id,
            "record_authority_hearing",
            actor=clerk,
            authority=authority,
            heard_on=today(clock),
            response="consented",
        )
    take(
        cases,
        order_id,
        "decide",
        actor=clerk,
        outcome="approved_with_conditions",
        justification="j",
        legal_basis="§ 45 Abs. 1, 6 StVO",
        discretion="Kurze Sperrung.",
    )
    take(cases, order_id, "notify", actor=clerk, delivery="counter")
    return cases.get(order_id, actor=clerk).reference


def test_works_that_affect_traffic_start_only_under_a_linked_sign_order_in_force(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock, traffic_management_needed=True)
    start = date.fromisoformat(data["planned_period"]["start"])
    clock.advance(timedelta(hours=1))
    refused_on("reference", cases, case_id, "link_traffic_sign_order", reference="USI-2026-999999")
    late = issued_order(cases, clock, start + timedelta(days=1))
    covering = issued_order(cases, clock, start)
    take(cases, case_id, "link_traffic_sign_order", actor=CLERK, reference=late.lower())
    clock.advance(start - today(clock))
    message = refused_on("traffic_sign_order", cases, case_id, "works_started", started_on=start)
    assert late in message
    take(cases, case_id, "link_traffic_sign_order", actor=CLERK, reference=covering)
    take(cases, case_id, "works_started", actor=CLERK, started_on=start)
    state = permit(cases, case_id).service_state()["traffic_sign_order"]
    assert state["reference"] == covering
    assert state["valid_from"] <= start


def test_works_that_affect_traffic_need_a_link_and_another_towns_order_is_refused(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock, traffic_management_needed=True)
    start = date.fromisoformat(data["planned_period"]["start"])
    foreign = issued_order(cases, clock, start, tenant="schmitten")
    message = refused_on("reference", cases, case_id, "link_traffic_sign_order", reference=foreign)
    assert "another town" in message
    clock.advance(start - today(clock))
    refused_on("traffic_sign_order", cases, case_id, "works_started", started_on=start)


def test_an_order_for_a_move_an_event_or_a_delivery_does_not_cover_road_works(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock, traffic_management_needed=True)
    start = date.fromisoformat(data["planned_period"]["start"])
    for reason in ("move", "event", "delivery"):
        order = issued_order(cases, clock, start, reason=reason)
        message = refused_on(
            "reference", cases, case_id, "link_traffic_sign_order", reference=order
        )
        assert "building works" in message, reason


def test_works_do_not_start_under_an_order_whose_signs_were_already_removed(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = notified(cases, clock, traffic_management_needed=True)
    start = date.fromisoformat(data["planned_period"]["start"])
    reference = issued_order(cases, clock, start - timedelta(days=7))  # covers the start
    take(cases, case_id, "link_traffic_sign_order", actor=CLERK, reference=reference)
    link = permit(cases, case_id).sign_order
    assert link is not None
    order_id = link.case_id
    mover = Actor("portal:usingen", "A", Role.APPLICANT, "usingen")
    clock.advance(start - timedelta(days=7) - today(clock))
    take(cases, order_id, "report_signs_up", actor=mover, signs_up_on=today(clock))
    clock.advance(timedelta(days=1))
    take(cases, order_id, "report_signs_removed", actor=mover, removed_on=today(clock))
    clock.advance(start - today(clock))
    message = refused_on("traffic_sign_order", cases, case_id, "works_started", started_on=start)
    assert "removed" in message
    message = refused_on(
        "reference", cases, case_id, "link_traffic_sign_order", reference=reference
    )
    assert "removed" in message


# ----------------------------------------------------------------- regime by purpose


def test_a_telecommunications_line_is_consented_under_the_tkg_bound_and_free_of_use_charges(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, _ = submitted(cases, clock, purpose="telecom")
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidCommand) as bound:
        decided(cases, case_id, outcome=DecisionOutcome.APPROVED, discretion=DISCRETION)
    assert bound.value.field == "discretion"
    take(
        cases,
        case_id,
        "decide",
        actor=CLERK,
        outcome="approved",
        justification="j",
        legal_basis="§ 127 Abs. 1 TKG",
    )
    case = permit(cases, case_id)
    decision = case.decision
    assert decision is not None
    assert decision.fee == Decimal("73.40")  # the administrative fee
    assert decision.costs is not None
    assert "Verwaltungskostensatzung" in decision.costs.legal_basis
    assert "special_use_fee" not in decision.particulars  # § 125 (1) TKG
    assert case.service_state()["regime"] == "telecom_consent"


def test_a_supply_line_is_a_permission_under_civil_law_without_fee_or_objection(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, data = submitted(cases, clock, purpose="water")
    clock.advance(timedelta(hours=1))
    take(cases, case_id, "claim", actor=CLERK)
    take(cases, case_id, "confirm_complete", actor=CLERK)
    take(
        cases,
        case_id,
        "decide",
        actor=CLERK,
        outcome="approved",
        justification="j",
        legal_basis="§ 20 Abs. 1 HStrG",
    )
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    case = permit(cases, case_id)
    decision = case.decision
    assert decision is not None
    assert decision.fee is None
    assert decision.costs is None
    assert "ordentlichen Gerichte" in decision.remedy_notice.text
    assert "lodge_objection" not in case.allowed_commands()
    assert "mark_final" in case.allowed_commands()
    with pytest.raises(InvalidTransition):
        take(cases, case_id, "lodge_objection", actor=CLERK, grounds="zu teuer")
    end = date.fromisoformat(data["planned_period"]["end"])
    take(
        cases,
        case_id,
        "extend_permit",
        actor=CLERK,
        extended_to=end + timedelta(days=3),
        reason="Mehr Leitungslänge",
    )
    assert permit(cases, case_id).extensions[-1].fee is None
    assert permit(cases, case_id).service_state()["regime"] == "civil_law_permission"


def test_other_works_are_special_use_with_a_fee_of_their_own_beside_the_administrative_fee(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, _ = notified(cases, clock)  # the example: a crane's foundation pit
    case = permit(cases, case_id)
    decision = case.decision
    assert decision is not None
    assert decision.fee == Decimal("73.40")
    assert decision.costs is not None
    assert "Verwaltungskostensatzung" in decision.costs.legal_basis
    # 5.20 m² x 1.50 EUR x 2 weeks started = 15.60, at least 25.00 (Sondernutzungssatzung)
    assert decision.particulars["special_use_fee"] == "25.00"
    assert "§ 18 HStrG" in decision.particulars["special_use_fee_legal_basis"]
    assert case.service_state()["special_use_fee"] == "25.00"
    assert "lodge_objection" in case.allowed_commands()
    assert case.replay_terms(decision).particulars == decision.particulars


def test_a_decision_recorded_before_regimes_reads_as_special_use_open_to_objection(
    cases: CaseService, clock: FixedClock
) -> None:
    case_id, _ = notified(cases, clock, purpose="water")
    case = permit(cases, case_id)
    decision = case.decision
    assert decision is not None
    assert case.objection_available() is False
    case.decision = replace(
        decision, rules=tuple(r for r in decision.rules if r.rules_id != REGIME_RULES_ID)
    )
    assert case.decided_regime is Regime.SPECIAL_USE
    assert case.objection_available() is True


# ------------------------------------------------- Sondernutzungsgebühr of an extension


def extended_events(cases: CaseService, case_id: UUID) -> list[Any]:
    return [
        e
        for e in cases.store.repository.event_store.get(case_id)
        if isinstance(e, RoadOpeningPermit.PermitExtended)
    ]


def test_an_extension_of_special_use_assesses_the_fee_of_the_added_weeks_by_the_tariff_of_its_day(
    cases: CaseService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, data = notified(cases, clock, dimensions=LARGE)  # 20 m²
    decision = permit(cases, case_id).decision
    assert decision is not None
    decided_version = {r.rules_id: r for r in decision.rules}[SPECIAL_USE_FEE_RULES_ID].version
    # The council raises the Sondernutzungsgebühr from tomorrow (Sondernutzungssatzung).
    raised = SpecialUseFee(
        version="raised",
        valid_from=today(clock) + timedelta(days=1),
        per_square_metre_week=Decimal("2.00"),
        minimum=Decimal("25.00"),
    )
    monkeypatch.setattr(road_opening, "SPECIAL_USE_FEES", (*SPECIAL_USE_FEES, raised))
    clock.advance(timedelta(days=1))
    end = date.fromisoformat(data["planned_period"]["end"])
    take(
        cases,
        case_id,
        "extend_permit",
        actor=CLERK,
        extended_to=end + timedelta(days=8),  # 8 days added: 2 weeks started
        reason="Frost: Asphalt erst später",
    )
    case = permit(cases, case_id)
    # 20 m² x 2.00 EUR x 2 weeks = 80.00, by the tariff in force on the extension's day
    assert case.extensions[-1].special_use_fee == Decimal("80.00")
    assert case.extensions[-1].fee == Decimal("30.00")  # the administrative fee beside it
    (extended,) = extended_events(cases, case_id)
    assert extended.special_use_fee == Decimal("80.00")
    record = extended.special_use_rules
    assert record.rules_id == SPECIAL_USE_FEE_RULES_ID
    assert record.version == "raised" != decided_version
    assert record.inputs["first_day"] == (end + timedelta(days=1)).isoformat()
    assert record.inputs["last_day"] == (end + timedelta(days=8)).isoformat()
    assert record.inputs["weeks"] == 2
    shown = case.service_state()["extensions"][-1]
    assert shown["special_use_fee"] == Decimal("80.00")
    assert case.service_state()["special_use_fee"] == decision.particulars["special_use_fee"]


def test_an_extension_under_the_tkg_or_civil_law_assesses_no_sondernutzungsgebuehr(
    cases: CaseService, clock: FixedClock
) -> None:
    for purpose in ("telecom", "water"):
        case_id, data = notified(cases, clock, purpose=purpose, dimensions=LARGE)
        end = date.fromisoformat(data["planned_period"]["end"])
        take(
            cases,
            case_id,
            "extend_permit",
            actor=CLERK,
            extended_to=end + timedelta(days=8),
            reason="Mehr Leitungslänge",
        )
        (extended,) = extended_events(cases, case_id)
        assert extended.special_use_fee is None, purpose
        assert extended.special_use_rules is None, purpose
        assert permit(cases, case_id).service_state()["extensions"][-1]["special_use_fee"] is None


def test_emergency_works_finished_before_the_decision_are_permitted_from_the_day_they_began(
    cases: CaseService, clock: FixedClock
) -> None:
    started = today(clock) - timedelta(days=1)
    period = {"start": started.isoformat(), "end": started.isoformat()}  # the pipe mended
    case_id, _ = submitted(
        cases,
        clock,
        planned_period=period,
        emergency_works=True,
        emergency_reason="Wasserrohrbruch unter der Fahrbahn",
    )
    clock.advance(timedelta(days=1))  # decided the day after the report
    decided(cases, case_id, outcome=DecisionOutcome.APPROVED, discretion=DISCRETION)
    decision = permit(cases, case_id).decision
    assert decision is not None
    assert decision.effective_from == started  # granted afterwards, for the works done
    assert decision.expires_on == started
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    take(cases, case_id, "works_started", actor=CLERK, started_on=started)
    take(cases, case_id, "works_completed", actor=CLERK, completed_on=started)
    assert permit(cases, case_id).status == "works_completed"

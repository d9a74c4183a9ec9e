"""Sewer connection events and applications stored in an older shape load in the current one.

Procedure law 2 gave the construction report who built the connection, the acceptance the
leak test it relied on, the charge assessment the parts of a notice (debtor, legal basis,
tariff day, remedy notice), and the application the owner's authorisation and the drainage
plans. What was stored before reads with the defaults the domain gives it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData
from domain.services import sewer_connection
from domain.services.sewer_connection import SewerConnection, SewerConnectionStatus
from domain.working_days import berlin_date, period_end
from tests.conftest import APPLICANT, CLERK
from tests.steps import take

PERMIT = {
    "outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS,
    "justification": "Der Anschluss entspricht der Entwässerungssatzung.",
    "legal_basis": "§ 12 Entwässerungssatzung",
}


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


def submitted(cases: CaseService, clock: FixedClock) -> UUID:
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="sewer-connection",
        applicant={"name": "E"},
        data=sewer_connection.example(today(clock)),
    ).case_id
    take(cases, case_id, "claim", actor=CLERK)
    take(cases, case_id, "confirm_complete", actor=CLERK)
    take(
        cases,
        case_id,
        "determine_connection_point",
        actor=CLERK,
        manhole="S 1",
        invert_depth_m=Decimal("2.00"),
        description="Fahrbahnmitte",
    )
    return case_id


def charged(cases: CaseService, clock: FixedClock) -> UUID:
    """Permitted, handed over, built, leak-tested, accepted and charged (not yet notified)."""
    case_id = submitted(cases, clock)
    take(cases, case_id, "decide", actor=CLERK, **PERMIT)  # type: ignore[arg-type]
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    clock.advance(timedelta(days=10))
    take(
        cases,
        case_id,
        "report_construction",
        actor=CLERK,
        completed_on=today(clock),
        pipe_length_m=Decimal("12.00"),
    )
    take(
        cases,
        case_id,
        "record_leak_test",
        actor=CLERK,
        tested_on=today(clock),
        method="water",
        result="passed",
        tester="Prüfer",
    )
    take(cases, case_id, "inspect_connection", actor=CLERK, inspected_on=today(clock))
    take(cases, case_id, "assess_connection_charge", actor=CLERK)
    return case_id


def copied(store: VorgangStore, case_id: UUID, reshape: dict[str, Any]) -> UUID:
    """The case's events under a new id, the events named in ``reshape`` in an older shape."""
    new_id = uuid4()
    events = []
    for stored in store.recorder.select_events(case_id):
        text = stored.state.decode().replace(case_id.hex, new_id.hex)
        state = json.loads(text.replace(str(case_id), str(new_id)))
        name = stored.topic.rsplit(".", 1)[-1]
        if name in reshape:
            reshape[name](state)
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


def version_2(*fields: str) -> Any:
    def reshape(state: dict[str, Any]) -> None:
        assert state["class_version"] == 3
        state["class_version"] = 2
        for name in fields:
            del state[name]

    return reshape


OLD_SHAPES = {
    "ConstructionReported": version_2("built_by"),
    "ConnectionAccepted": version_2("leak_test_on"),
    "ConnectionChargeAssessed": version_2(
        "legal_basis",
        "tariff_day",
        "debtor",
        "debtor_address",
        "remedy_notice",
        "payment_note",
        "issuing_authority",
    ),
}


def test_a_connection_built_accepted_and_charged_before_reads_with_the_defaults(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = charged(cases, clock)
    old_id = copied(store, case_id, OLD_SHAPES)
    old: SewerConnection = store.repository.get(old_id)
    assert isinstance(old, SewerConnection)
    assert old.status == SewerConnectionStatus.CHARGE_ASSESSED
    assert old.built_by == "town"  # charged then as the town's works
    assert old.accepted_on_leak_test_of is None  # no leak test was recorded then
    assert old.connection_charge == Decimal("1850.00") + 2 * Decimal("165.00")
    charge = old.charge
    assert charge is not None
    assert charge.debtor is None
    assert charge.legal_basis is None
    assert charge.tariff_day is None
    assert charge.remedy_notice is None
    state = old.service_state()["charge_assessment"]
    owner = state["debtor"]  # the owner in the application
    assert isinstance(owner, PersonalData)
    assert owner.subject == "owner"
    assert owner.reveal() == "Sabine Roth"
    new: SewerConnection = store.repository.get(case_id)
    assert new.charge is not None
    assert isinstance(new.charge.debtor, PersonalData)
    assert new.charge.debtor.reveal() == owner.reveal()
    assert new.charge.legal_basis is not None


def test_an_old_charge_assessment_is_notified_and_closed_as_a_new_one(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    old_id = copied(store, charged(cases, clock), OLD_SHAPES)
    with_notice = take(cases, old_id, "notify_connection_charge", actor=CLERK, delivery="counter")
    assessment = cases.get(old_id, actor=CLERK).service_state["charge_assessment"]
    assert assessment["due_on"] is not None
    # No remedy notice was recorded then: the objection is admissible for a year (§ 58 (2)
    # VwGO), so the file closes only after it.
    notified_on = assessment["notified_on"]
    assert assessment["objection_deadline"] == period_end(notified_on, 12)
    clock.advance(timedelta(days=60))
    with pytest.raises(InvalidCommand) as still_open:
        take(cases, old_id, "close", actor=CLERK)
    assert still_open.value.field == "at"
    assert with_notice is not None


def test_an_application_stored_before_has_the_owner_applying_and_no_plans(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = submitted(cases, clock)

    def before_procedure_law_2(state: dict[str, Any]) -> None:
        for name in ("applicant_is_owner", "owner_authorisation", "drainage_plans"):
            del state["data"][name]

    old_id = copied(store, case_id, {"Submitted": before_procedure_law_2})
    old: SewerConnection = store.repository.get(old_id)
    assert isinstance(old, SewerConnection)
    assert "drainage_plans" not in old.data
    assert old.application.applicant_is_owner is True
    assert old.owner_authorisation is None
    assert old.drainage_plans == []
    with pytest.raises(InvalidCommand) as refused:
        take(cases, old_id, "decide", actor=CLERK, **PERMIT)  # type: ignore[arg-type]
    assert refused.value.field == "drainage_plans"  # the plans are recorded first
    take(
        cases,
        old_id,
        "record_drainage_plans",
        actor=CLERK,
        received_on=today(clock),
        plans=[
            {"kind": "site_plan", "dated_on": today(clock)},
            {"kind": "longitudinal_section", "dated_on": today(clock)},
        ],
    )
    take(cases, old_id, "decide", actor=CLERK, **PERMIT)  # type: ignore[arg-type]
    decided: SewerConnection = store.repository.get(old_id)
    assert decided.decision is not None
    assert decided.decision.outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS

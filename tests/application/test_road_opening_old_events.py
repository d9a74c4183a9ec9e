"""Road opening events stored in an older shape load in the current one."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from domain.decision import DecisionOutcome
from domain.rules.road_opening import WARRANTY_RULES_ID
from domain.services import road_opening
from domain.services.road_opening import RoadOpeningPermit
from domain.working_days import berlin_date
from tests.conftest import APPLICANT, CLERK
from tests.steps import decided, take


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


def permit_in_warranty(cases: CaseService, clock: FixedClock) -> UUID:
    """A permit whose restoration was accepted: the warranty runs."""
    data = road_opening.example(today(clock))
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": "E"},
        data=data,
    ).case_id
    clock.advance(timedelta(hours=1))
    decided(
        cases,
        case_id,
        outcome=DecisionOutcome.APPROVED,
        discretion="Der Gemeingebrauch wird nur kurz beeinträchtigt.",
    )
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    start = date.fromisoformat(data["planned_period"]["start"])
    clock.advance(start - today(clock))
    take(cases, case_id, "works_started", actor=CLERK, started_on=start)
    clock.advance(timedelta(days=3))
    take(cases, case_id, "works_completed", actor=CLERK, completed_on=today(clock))
    take(cases, case_id, "inspect_restoration", actor=CLERK, inspected_on=today(clock), defects=[])
    return case_id


def copied(store: VorgangStore, case_id: UUID, name: str, reshape: Any) -> UUID:
    """The case's events under a new id, the event ``name`` in an older shape."""
    new_id = uuid4()
    events = []
    for stored in store.recorder.select_events(case_id):
        text = stored.state.decode().replace(case_id.hex, new_id.hex)
        state = json.loads(text.replace(str(case_id), str(new_id)))
        if stored.topic.rsplit(".", 1)[-1] == name:
            reshape(state)
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


def test_an_acceptance_stored_a_day_early_reads_with_the_warranty_the_law_gives(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = permit_in_warranty(cases, clock)
    accepted_on = today(clock)
    legacy = date(accepted_on.year + 5, accepted_on.month, accepted_on.day) - timedelta(days=1)

    def version_2(state: dict[str, Any]) -> None:
        assert state["class_version"] == 3
        state["class_version"] = 2
        del state["rules"]
        state["warranty_until"] = {"_type_": "date_iso", "_data_": legacy.isoformat()}

    old = store.repository.get(copied(store, case_id, "RestorationInspected", version_2))
    assert isinstance(old, RoadOpeningPermit)
    same_date = date(accepted_on.year + 5, accepted_on.month, accepted_on.day)
    assert old.warranty_until == same_date
    assert old.service_state()["warranty_until"] == same_date
    rules = old.warranty_rules
    assert rules is not None
    assert rules.rules_id == WARRANTY_RULES_ID
    assert rules.inputs["recorded_as"] == legacy.isoformat()
    new = store.repository.get(case_id)
    assert new.warranty_until == same_date
    assert "recorded_as" not in new.warranty_rules.inputs


def test_a_defective_inspection_of_version_2_reads_without_a_warranty_rule(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = permit_in_warranty(cases, clock)

    def version_2_defective(state: dict[str, Any]) -> None:
        state["class_version"] = 2
        del state["rules"]
        state["warranty_until"] = None

    old = store.repository.get(copied(store, case_id, "RestorationInspected", version_2_defective))
    assert old.warranty_until is None
    assert old.warranty_rules is None


def test_an_extension_stored_before_the_sondernutzungsgebuehr_reads_without_one(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    data = road_opening.example(today(clock))
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": "E"},
        data=data,
    ).case_id
    clock.advance(timedelta(hours=1))
    decided(
        cases,
        case_id,
        outcome=DecisionOutcome.APPROVED,
        discretion="Der Gemeingebrauch wird nur kurz beeinträchtigt.",
    )
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    end = date.fromisoformat(data["planned_period"]["end"])
    take(
        cases,
        case_id,
        "extend_permit",
        actor=CLERK,
        extended_to=end + timedelta(days=7),
        reason="Frost",
    )

    def version_1(state: dict[str, Any]) -> None:
        assert state["class_version"] == 2
        del state["class_version"]
        del state["special_use_fee"]
        del state["special_use_rules"]

    old = store.repository.get(copied(store, case_id, "PermitExtended", version_1))
    assert isinstance(old, RoadOpeningPermit)
    assert old.valid_until == end + timedelta(days=7)
    assert old.extensions[-1].special_use_fee is None
    assert old.service_state()["extensions"][-1]["special_use_fee"] is None

"""The residence's street is sealed; decisions record the zone, so a replay needs no street."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.cases import CaseService
from application.commands import CommandHandler
from application.store import VorgangStore
from domain.decision import RulesApplied
from domain.decision_replay import replay
from domain.errors import InvalidCommand
from domain.personal_data import Erased, PersonalData, Subjects
from domain.rules.resident_parking import ZONE_RULES_ID, zone_plan
from domain.services.resident_parking import ResidentParkingPermit
from domain.working_days import berlin_date
from tests.application.test_parking_rule_versions import issued


def decided_permit(cases: CaseService, store: VorgangStore) -> ResidentParkingPermit:
    case_id = issued(cases, CommandHandler(cases), "Obergasse", "HG-AB 7")
    case = store.repository.get(case_id)
    assert isinstance(case, ResidentParkingPermit)
    return case


def before_the_decision(store: VorgangStore, case: ResidentParkingPermit) -> ResidentParkingPermit:
    before = store.repository.get(case.id, version=3)  # submitted, claimed, complete
    assert isinstance(before, ResidentParkingPermit)
    return before


def test_the_street_is_sealed_in_the_application_and_not_in_the_decision(
    cases: CaseService, store: VorgangStore
) -> None:
    case = decided_permit(cases, store)
    street = case.data["residence"]["street"]
    assert isinstance(street, PersonalData)
    assert street.subject == Subjects.APPLICANT
    assert case.decision is not None
    zone_check = next(r for r in case.decision.rules if r.rules_id == ZONE_RULES_ID)
    assert zone_check.inputs["zone"] == "U1"
    assert "street" not in zone_check.inputs


def test_a_decision_replays_from_its_recorded_zone_once_the_street_is_erased(
    cases: CaseService, store: VorgangStore
) -> None:
    case = decided_permit(cases, store)
    assert case.decision is not None
    before = before_the_decision(store, case)
    erased = Erased(case.id, Subjects.APPLICANT)
    before.data["residence"]["street"] = erased
    before.data["residence"]["house_number"] = erased
    result = replay(before, case.decision, today=berlin_date(cases.clock.now()))
    assert result.verdict == "consistent", result


def test_a_replay_with_the_street_still_checks_the_zone_it_recorded(
    cases: CaseService, store: VorgangStore
) -> None:
    case = decided_permit(cases, store)
    assert case.decision is not None
    before = before_the_decision(store, case)
    before.data["residence"]["street"] = PersonalData(case.id, Subjects.APPLICANT, "Am Riedborn")
    result = replay(before, case.decision, today=berlin_date(cases.clock.now()))
    assert result.verdict == "inconsistent"  # a street outside the zones gives another zone


def test_a_decision_stored_before_the_street_was_sealed_replays_as_stored(
    cases: CaseService, store: VorgangStore
) -> None:
    """Such events hold the street in clear, in the application and in the zone check."""
    case = decided_permit(cases, store)
    assert case.decision is not None
    old_check = {r.rules_id: r for r in case.decision.rules}[ZONE_RULES_ID]
    old_check = RulesApplied(
        old_check.rules_id, old_check.version, {"street": "obergasse", **old_check.inputs}
    )
    rules = tuple(old_check if r.rules_id == ZONE_RULES_ID else r for r in case.decision.rules)
    stored_before = replace(case.decision, rules=rules)
    before = before_the_decision(store, case)
    before.data["residence"]["street"] = "Obergasse"  # in clear, as stored then
    result = replay(before, stored_before, today=berlin_date(cases.clock.now()))
    assert result.verdict == "consistent", result


def test_a_zone_check_without_a_record_needs_the_street(
    cases: CaseService, store: VorgangStore
) -> None:
    case = decided_permit(cases, store)
    case.data["residence"]["street"] = Erased(case.id, Subjects.APPLICANT)
    plan = zone_plan(case.tenant, berlin_date(cases.clock.now() + timedelta(days=1)))
    with pytest.raises(InvalidCommand) as refused:
        case.zone_check(plan)
    assert refused.value.field == "data.residence.street"

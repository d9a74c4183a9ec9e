"""Auditors replay decisions against the rule versions they recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.decision_audit import DecisionAudit
from application.errors import CaseNotFound
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.decision_replay import replay
from domain.personal_data import Erased
from domain.rules import road_opening as rules
from domain.rules.road_opening import FeeTariff
from domain.rules.versions import STATUTES
from domain.services import road_opening
from domain.working_days import berlin_date
from tests.conftest import FOREIGN_CLERK, SUPERVISOR
from tests.steps import decided, submitted

# § 16 (1) HStrG gives discretion: a permit states its considerations.
DISCRETION = "Die Aufgrabung beeinträchtigt den Gemeingebrauch nur kurz."
AUDITOR = Actor("rpa.usingen", "Rechnungsprüfung", Role.AUDITOR, "usingen")
TARIFF_2027 = FeeTariff(
    "2027-01",
    datetime(2027, 1, 1).date(),
    Decimal("80.00"),
    Decimal("6.00"),
    Decimal("90.00"),
    Decimal("3000.00"),
)


def permit(cases: CaseService, outcome: DecisionOutcome = DecisionOutcome.APPROVED) -> UUID:
    data = road_opening.example(berlin_date(cases.clock.now()))
    case_id = submitted(cases, "road-opening", data, applicant={"name": "Stadtwerke"})
    decided(cases, case_id, outcome=outcome, discretion=DISCRETION)
    return case_id


def test_a_permit_decision_replays_as_consistent(cases: CaseService, store: VorgangStore) -> None:
    case_id = permit(cases)
    audit = DecisionAudit(store, cases.clock)
    records = audit.decisions(case_id, actor=AUDITOR)
    assert [(r["number"], r["in_force"], r["fee"]) for r in records] == [(1, True, "73.40")]
    report = audit.replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "consistent"
    assert report.differences == []
    assert report.today == []


def test_a_rejection_and_a_general_decision_replay_as_consistent(
    cases: CaseService, store: VorgangStore
) -> None:
    rejected = permit(cases, DecisionOutcome.REJECTED)
    general = submitted(cases, data={"subject": "s"})
    decided(cases, general, legal_basis="§ 1", fee=Decimal("15.00"))
    audit = DecisionAudit(store, cases.clock)
    assert audit.replay(rejected, 1, actor=AUDITOR).verdict == "consistent"
    assert audit.replay(general, 1, actor=AUDITOR).verdict == "consistent"


def test_a_tampered_rule_table_is_reported_with_the_field_that_differs(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = permit(cases)
    overcharging = tuple(
        replace(tariff, base_fee=tariff.base_fee + Decimal("10.00")) for tariff in rules.FEE_TARIFFS
    )
    with STATUTES.amended(rules.FEE_TARIFFS, overcharging).applied():
        report = DecisionAudit(store, cases.clock).replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "inconsistent"
    differences = {d["field"]: (d["recorded"], d["replayed"]) for d in report.differences}
    assert differences == {
        "fee": ("73.40", "83.40"),
        "rules[road-opening-fee].inputs.base_fee": ("50.00", "60.00"),
        "rules[road-opening-fee].inputs.fee": ("73.40", "83.40"),
    }


def test_each_decision_replays_under_its_own_tariff_and_today_shows_the_change(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    old = permit(cases)
    with STATUTES.amended(rules.FEE_TARIFFS, (*rules.FEE_TARIFFS, TARIFF_2027)).applied():
        clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
        new = permit(cases)
        audit = DecisionAudit(store, clock)
        old_report, new_report = (
            audit.replay(old, 1, actor=AUDITOR),
            audit.replay(new, 1, actor=AUDITOR),
        )
    assert old_report.verdict == new_report.verdict == "consistent"
    assert new_report.today == []
    today = {d["field"]: d for d in old_report.today}
    assert today["fee"] == {"field": "fee", "recorded": "73.40", "replayed": "111.20"}
    assert today["rules[road-opening-fee].version"]["replayed"] == "2027-01"


def test_replay_is_for_the_case_tenant_and_numbers_that_exist(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = permit(cases)
    audit = DecisionAudit(store, cases.clock)
    with pytest.raises(CaseNotFound):
        audit.replay(case_id, 2, actor=AUDITOR)
    with pytest.raises(CaseNotFound):
        audit.decisions(case_id, actor=FOREIGN_CLERK)
    assert audit.replay(case_id, 1, actor=SUPERVISOR).verdict == "consistent"


def test_a_decision_whose_inputs_were_erased_is_not_replayable(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = permit(cases)
    before = store.repository.get(case_id, version=3)
    decision = store.repository.get(case_id).decision
    before.data["dimensions"]["length_m"] = Erased(case_id, "applicant")
    result = replay(before, decision, today=berlin_date(cases.clock.now()))
    assert result.verdict == "not_replayable"
    assert result.reason is not None
    assert result.reason.startswith("erased")


def test_the_state_as_recorded_at_a_moment(cases: CaseService, store: VorgangStore) -> None:
    case_id = permit(cases)
    audit = DecisionAudit(store, cases.clock)
    events = list(store.events.get(case_id))
    claimed_at = events[1].timestamp  # type: ignore[attr-defined]
    assert audit.as_of(case_id, claimed_at, actor=AUDITOR).version == 2
    assert audit.as_of(case_id, claimed_at + timedelta(days=365), actor=AUDITOR).status == "decided"
    with pytest.raises(CaseNotFound):
        audit.as_of(case_id, events[0].timestamp - timedelta(seconds=1), actor=AUDITOR)  # type: ignore[attr-defined]
    with pytest.raises(CaseNotFound):
        audit.as_of(uuid4(), claimed_at, actor=AUDITOR)

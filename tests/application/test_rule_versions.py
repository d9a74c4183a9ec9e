"""Rules are versioned: a decision keeps the tariff it was made under, however rules change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from domain.rules import road_opening as rules
from domain.rules.road_opening import FeeTariff, UnknownRulesVersion, by_version, in_force
from domain.rules.versions import STATUTES
from domain.services import road_opening
from domain.working_days import berlin_date
from infrastructure.database import DatabaseTarget
from persistence.transcodings import PersonalDataInClear
from tests.conftest import CLERK
from tests.steps import decided, submitted

TARIFF_2027 = FeeTariff(
    version="2027-01",
    valid_from=date(2027, 1, 1),
    base_fee=Decimal("80.00"),
    per_square_metre=Decimal("6.00"),
    minimum=Decimal("90.00"),
    maximum=Decimal("3000.00"),
)


def decided_permit(cases: CaseService, clock: FixedClock) -> str:
    data = road_opening.example(berlin_date(clock.now()))
    case_id = submitted(cases, "road-opening", data, applicant={"name": "Stadtwerke"})
    decided(
        cases,
        case_id,
        justification="erforderlich",
        discretion="Die Aufgrabung beeinträchtigt den Gemeingebrauch nur kurz.",  # § 16 HStrG
    )
    return str(case_id)


def fee_of(cases: CaseService, case_id: str) -> tuple[str, str]:
    from uuid import UUID

    decision = cases.get(UUID(case_id), actor=CLERK).decision
    assert decision is not None
    tariff = next(r for r in decision["rules"] if r["rules_id"] == "road-opening-fee")
    return decision["fee"], tariff["version"]


def test_a_decision_keeps_its_tariff_after_a_new_version_takes_effect(
    cases: CaseService, clock: FixedClock, target: DatabaseTarget
) -> None:
    old = decided_permit(cases, clock)
    assert fee_of(cases, old) == ("73.40", "2025-01")

    with STATUTES.amended(rules.FEE_TARIFFS, (*rules.FEE_TARIFFS, TARIFF_2027)).applied():
        clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
        new = decided_permit(cases, clock)
        assert fee_of(cases, new) == ("111.20", "2027-01")  # 80.00 + 5.20 m² x 6.00

        fresh = VorgangStore(env=target.env, personal_data=PersonalDataInClear())
        try:
            replayed = CaseService(fresh, clock, cases.identities)
            assert fee_of(replayed, old) == ("73.40", "2025-01")  # replay reads, never recomputes
        finally:
            fresh.close()


def test_every_version_stays_loadable_and_the_one_in_force_is_chosen_by_date() -> None:
    versions = (*rules.FEE_TARIFFS, TARIFF_2027)
    assert in_force(versions, date(2026, 12, 31)).version == "2025-01"
    assert in_force(versions, date(2027, 1, 1)).version == "2027-01"
    assert by_version(versions, "2025-01").base_fee == Decimal("50.00")
    with pytest.raises(UnknownRulesVersion):
        in_force(versions, date(2024, 12, 31))
    with pytest.raises(UnknownRulesVersion):
        by_version(versions, "1999-01")


def test_the_fee_is_bounded_by_the_tariffs_minimum_and_maximum() -> None:
    tariff = rules.FEE_TARIFFS[0]
    assert tariff.assess(Decimal("1"), Decimal("0.5"))[0] == Decimal("60.00")
    assert tariff.assess(Decimal("1000"), Decimal("5"))[0] == Decimal("2500.00")
    fee, applied = tariff.assess(Decimal("6.5"), Decimal("0.8"))
    assert fee == Decimal("73.40")
    assert applied.inputs["fee"] == "73.40"


def test_the_lead_time_counts_working_days_without_hessian_holidays() -> None:
    lead_time = rules.LEAD_TIMES[0]
    assert lead_time.earliest_start(date(2026, 3, 2)) == date(2026, 3, 16)
    # Good Friday (3 April) and Easter Monday (6 April) do not count
    assert lead_time.earliest_start(date(2026, 3, 30)) == date(2026, 4, 15)

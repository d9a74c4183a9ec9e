"""The demo shows the road opening's own steps in every town: emergency works, an extension,
a security deposit taken and released, a linked traffic sign order, and each regime."""

from __future__ import annotations

from domain.rules.road_opening import Regime
from domain.services.road_opening import RoadOpeningPermit
from domain.tenants import TENANTS


def test_the_demo_shows_the_new_steps_in_all_four_towns(demo_cases: list[object]) -> None:
    permits = [case for case in demo_cases if isinstance(case, RoadOpeningPermit)]
    for tenant in TENANTS:
        mine = [p for p in permits if p.tenant == tenant]
        emergency = [p for p in mine if p.application.emergency_works]
        assert any(p.works_started_on == p.planned_period_start for p in emergency), tenant
        assert any(p.extensions for p in mine), tenant
        assert any(p.deposit is not None for p in mine), tenant  # taken, held
        assert any(p.deposits_released for p in mine), tenant  # taken and released
        linked = [p for p in mine if p.sign_order is not None]
        assert any(p.works_started_on != p.works_started_on.min for p in linked), tenant
        regimes = {p.decided_regime for p in mine if p.decision is not None}
        assert regimes == set(Regime), tenant

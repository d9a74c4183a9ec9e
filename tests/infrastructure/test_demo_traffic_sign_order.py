"""The demo's traffic sign orders show the hearings and the set-up report in every town."""

from __future__ import annotations

from datetime import timedelta

from domain.services.traffic_sign_order import TrafficSignOrder
from domain.tenants import TENANTS


def test_every_town_hears_police_and_road_authority_and_records_the_set_up(
    demo_cases: list[object],
) -> None:
    cases = demo_cases
    orders = [case for case in cases if isinstance(case, TrafficSignOrder)]
    for tenant in TENANTS:
        town = [o for o in orders if o.tenant == tenant]
        heard = [{h.authority for h in o.authority_hearings} for o in town]
        # one waits for the road authority; every order was made after both were heard
        assert {"police"} in heard
        for order in town:
            if order.decision is not None and order.decision.outcome.is_approval:
                assert {h.authority for h in order.authority_hearings} == {
                    "police",
                    "road_authority",
                }
        reported = [o for o in town if o.signs_up_on is not None]
        assert reported, tenant
        for order in reported:
            assert order.signs_up_in_time is True
            assert order.signs_up_on == order.period_start - timedelta(days=4)
            assert order.parked_vehicles == 2
            assert len(order.parked_plates) == 1
            assert order.towing_costs_from == order.period_start

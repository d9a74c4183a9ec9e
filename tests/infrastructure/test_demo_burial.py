"""The burial demo: registrations in every state, in all four towns."""

from __future__ import annotations

from collections import Counter

from domain.case import Case
from domain.services.burial import BurialRegistration
from domain.tenants import TENANTS


def test_the_burial_demo_has_registrations_in_every_state_in_every_town(
    demo_cases: list[Case],
) -> None:
    cases = demo_cases
    burials = [c for c in cases if isinstance(c, BurialRegistration)]
    assert {c.tenant for c in burials} == set(TENANTS)
    for tenant in TENANTS:
        statuses = Counter(c.status for c in burials if c.tenant == tenant)
        assert statuses == {
            "submitted": 1,
            "in_review": 1,
            "information_requested": 1,
            "notified": 2,  # one scheduled, one refused by the rules: the grave was taken
            "burial_carried_out": 2,  # one of them a public-order burial
            "closed": 2,
            "withdrawn": 1,
        }, tenant
    refused = [c for c in burials if c.decision and not c.decision.outcome.is_approval]
    by_rules = [c for c in refused if c.decision and c.decision.rules]
    assert len(by_rules) == 4
    assert all("B/1/1" in c.decision.justification.reveal() for c in by_rules if c.decision)
    claims = [
        c.decision.particulars["cost_claim"]
        for c in burials
        if c.decision and "cost_claim" in c.decision.particulars
    ]
    assert len(claims) == 4

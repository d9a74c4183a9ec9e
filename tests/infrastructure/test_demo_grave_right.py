"""The grave right demo: every state and every kind of request, in all four towns."""

from __future__ import annotations

from collections import Counter

from domain.case import Case
from domain.services.grave_right import GraveRightCase
from domain.services.headstone_permit import HeadstonePermit
from domain.tenants import TENANTS


def test_the_grave_right_demo_grants_extends_transfers_returns_and_refuses_in_every_town(
    demo_cases: list[Case],
) -> None:
    cases = demo_cases
    rights = [c for c in cases if isinstance(c, GraveRightCase)]
    assert {c.tenant for c in rights} == set(TENANTS)
    assert set(Counter(c.status for c in rights)) == {
        "submitted",
        "in_review",
        "information_requested",
        "notified",
        "closed",
        "withdrawn",
    }
    decided = Counter(
        (c.request.value, c.decision.outcome.value) for c in rights if c.decision is not None
    )
    assert decided == {
        ("acquire", "approved"): 8,
        ("extend", "approved"): 4,
        ("transfer", "approved"): 4,
        ("return", "approved"): 4,
        ("acquire", "rejected"): 8,
    }
    refusals = {
        c.grave_check["refusal"].split(";")[0]
        for c in rights
        if c.grave_check and c.grave_check["refusal"]
    }
    assert any("Reihengrab has no grave right" in r for r in refusals), refusals


def test_the_headstone_demo_covers_every_state_of_a_permit_in_every_town(
    demo_cases: list[Case],
) -> None:
    cases = demo_cases
    permits = [c for c in cases if isinstance(c, HeadstonePermit)]
    # Eleven in each town, and two of the legal track (a letter, a withdrawn objection).
    assert Counter(c.tenant for c in permits) == {
        "usingen": 11,
        "neu-anspach": 11,
        "schmitten": 12,
        "glashuetten": 12,
    }
    assert set(Counter(c.status for c in permits)) == {
        "submitted",
        "in_review",
        "information_requested",
        "notified",
        "headstone_set",
        "headstone_defective",
        "headstone_accepted",
        "headstone_unstable",
        "final",
        "closed",
        "withdrawn",
    }

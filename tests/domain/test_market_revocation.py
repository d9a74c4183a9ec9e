"""The town takes an admitted trader's pitch back only by revoking the admission (§ 49 (2)
HVwVfG): a decision of its own, with ground, hearing, considerations and remedy notice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.commands import Acting
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.markets.market import Market
from domain.rules.notification import Delivery
from domain.services.market_stall import MarketStallApplication, StallStatus, Standing
from domain.services.market_stall_steps import STEPS, PitchRevocation
from domain.services.parking_decisions import RevocationGround
from tests.domain.market_stall_fixtures import (
    AFTER,
    LATE,
    MARKT,
    SEED,
    SELECTED,
    Shared,
    applied,
    form,
    market,
)


def crafts_selected() -> tuple[Market, Shared, list[MarketStallApplication]]:
    """Four crafts stalls of 2.50 m scored 9, 8, 7, 6 for the market's two crafts pitches."""
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [applied(shared, form(at_market.id, "crafts", frontage_m="2.50")) for _ in range(4)]
    for case_, points in zip(cases, (9, 8, 7, 6), strict=True):
        case_.score_application(
            actor=MARKT, at=AFTER, market=at_market, points={"attractiveness": points}, note="n"
        )
    sheets = {c.id: dict((c.score_sheet or {})["points"]) for c in cases}
    at_market.select(seed=SEED, sheets=sheets, actor=MARKT, at=SELECTED)
    for case_ in cases:
        case_.note_selection(at_market, actor=MARKT, at=SELECTED)
    return at_market, shared, cases


def revocation(**changes: Any) -> PitchRevocation:
    facts: dict[str, Any] = {
        "ground": RevocationGround.REQUIREMENT_NOT_MET,
        "reason": "Die Betriebshaftpflicht ist gekündigt; kein neuer Nachweis.",
        "facts_known_since": date(2026, 11, 5),
        "discretion": "Ohne Versicherung gefährdet der Stand Besucher.",
        "immediate_enforcement": "Der Platz muss vor dem Markt vergeben werden.",
        "hearing_held_on": date(2026, 11, 9),
    }
    facts.update(changes)
    return PitchRevocation.model_validate(facts)


def test_a_revocation_is_a_bescheid_with_ground_hearing_discretion_and_remedy() -> None:
    at_market, shared, cases = crafts_selected()
    holder = next(c for c in cases if c.standing == Standing.ADMITTED)
    holder.notify(actor=MARKT, at=SELECTED, delivery=Delivery.COUNTER)
    assert holder.charges_in_force(len(holder.decisions))  # the admission's fees
    changed = STEPS.named("revoke_pitch").execute(holder, revocation(), Acting(MARKT, LATE, shared))
    assert holder.pitch is None
    assert holder.standing == Standing.GIVEN_UP
    assert at_market.pitch_of(holder.id) is None
    offered = [a for a in changed if isinstance(a, MarketStallApplication)]
    assert [c.offer is not None for c in offered] == [True]  # passed on at once
    decision = holder.decision
    assert decision is not None
    assert len(holder.decisions) == 2
    assert decision.outcome is DecisionOutcome.REJECTED
    assert "§ 49 Abs. 2 Satz 1 Nr. 2 HVwVfG" in decision.legal_basis
    assert "§ 80 Abs. 2 Satz 1 Nr. 4" in decision.legal_basis
    assert "widerrufen" in str(decision.operative_part.value)  # type: ignore[union-attr]
    assert decision.hearing.held_on == date(2026, 11, 9)
    assert decision.discretion is not None
    assert decision.remedy_notice is not None
    # after decisions_by a trader who gives up still owes the Standgeld; a revocation not
    assert holder.charges_in_force(1) == ()
    holder.notify(actor=MARKT, at=LATE + timedelta(hours=1), delivery=Delivery.COUNTER)
    holder.lodge_objection(actor=MARKT, at=LATE + timedelta(days=1), grounds="Versichert.")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"hearing_held_on": None}, "hearing_held_on"),
        ({"ground": RevocationGround.RESERVED}, "ground"),
        ({"facts_known_since": date(2025, 10, 1)}, "facts_known_since"),
    ],
)
def test_a_revocation_without_hearing_or_ground_or_in_time_is_refused(
    changes: dict[str, Any], field: str
) -> None:
    at_market, shared, cases = crafts_selected()
    holder = next(c for c in cases if c.standing == Standing.ADMITTED)
    with pytest.raises(InvalidCommand) as refused:
        STEPS.named("revoke_pitch").execute(
            holder, revocation(**changes), Acting(MARKT, LATE, shared)
        )
    assert refused.value.field == field
    assert holder.pitch is not None
    assert at_market.pitch_of(holder.id) == holder.pitch
    assert holder.status != StallStatus.PITCH_GIVEN_UP

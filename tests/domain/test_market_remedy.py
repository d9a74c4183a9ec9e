"""A refusal set aside on objection gives the trader a free pitch (admit_on_remedy): never
another trader's, and never before the refusal was set aside."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.commands import Acting
from domain.errors import InvalidCommand, InvalidTransition
from domain.rules.notification import Delivery
from domain.services.market_stall import MarketStallApplication, Standing
from domain.services.market_stall_steps import STEPS, RemedyAdmission, StallReason
from tests.domain.market_stall_fixtures import MARKT, SELECTED, applicant_of
from tests.domain.test_market_revocation import crafts_selected

REMEDY = RemedyAdmission(reason="Abhilfe: die Bewertung war fehlerhaft.")


def ranked(cases: list[MarketStallApplication]) -> list[MarketStallApplication]:
    return sorted(cases, key=lambda c: (c.selection or {}).get("rank", 0))


def objected_and_remedied(case: MarketStallApplication) -> None:
    case.notify(actor=MARKT, at=SELECTED, delivery=Delivery.COUNTER)
    case.lodge_objection(actor=MARKT, at=SELECTED + timedelta(days=2), grounds="Falsch bewertet.")
    case.remedy_objection(
        actor=MARKT, at=SELECTED + timedelta(days=3), reason="Die Bewertung war fehlerhaft."
    )


def test_a_refusal_set_aside_on_objection_is_admitted_with_a_free_pitch() -> None:
    at_market, shared, cases = crafts_selected()
    first, _second, third, fourth = ranked(cases)
    at = SELECTED + timedelta(days=1)
    give_up, decline = STEPS.named("give_up_pitch"), STEPS.named("decline_pitch_offer")
    give_up.execute(first, StallReason(reason="krank"), Acting(applicant_of(first), at, shared))
    for waiting in (third, fourth):  # both decline: the pitch stays free
        decline.execute(
            waiting, StallReason(reason="nein"), Acting(applicant_of(waiting), at, shared)
        )
    freed = first.selection["pitch"] if first.selection else None
    assert freed in at_market.free_pitches
    objected_and_remedied(third)
    assert "admit_on_remedy" in third.allowed_commands()
    STEPS.named("admit_on_remedy").execute(
        third, REMEDY, Acting(MARKT, SELECTED + timedelta(days=4), shared)
    )
    assert third.standing == Standing.ADMITTED
    assert third.pitch == freed
    assert at_market.pitch_of(third.id) == freed
    assert third.decision is not None
    assert third.decision.outcome.is_approval
    assert third.decision.fee
    assert "stattgegeben" in str(third.decision.justification.value)  # type: ignore[union-attr]


def test_no_admission_on_remedy_without_one_nor_with_another_traders_pitch() -> None:
    at_market, shared, cases = crafts_selected()
    _first, _second, third, _fourth = ranked(cases)
    step = STEPS.named("admit_on_remedy")
    with pytest.raises((InvalidCommand, InvalidTransition)):  # no remedy yet
        step.execute(third, REMEDY, Acting(MARKT, SELECTED + timedelta(days=1), shared))
    objected_and_remedied(third)
    before = dict(at_market.assigned)
    with pytest.raises(InvalidCommand) as refused:  # both pitches held: none free
        step.execute(third, REMEDY, Acting(MARKT, SELECTED + timedelta(days=4), shared))
    assert refused.value.field == "pitch"
    assert dict(at_market.assigned) == before
    assert third.pitch is None

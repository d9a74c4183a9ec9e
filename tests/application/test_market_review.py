"""Review of the markets' use cases (#28) on SQLite and PostgreSQL: tenant isolation, the
selection deciding every case with what it was scored by, replay from the stored record,
move-up through the command pipeline, races, and applications a fair selection refuses.

A plain test guards what holds; a strict xfail names a defect found.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.errors import CaseNotFound
from application.markets import MarketRecordNotFound
from application.views import plain
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch
from domain.rules.market_selection import replay
from domain.services.market_stall import SERVICE_ID, MarketStallApplication, Standing
from infrastructure.wiring import Vorgang
from tests.application.test_holiday_races import held_saves, in_threads
from tests.conftest import CLERK, FOREIGN_CLERK
from tests.steps import take

__all__ = ["held_saves"]  # the fixture, shared with the barrier tests

AUDITOR = Actor("ida.pruef", "Ida Prüf", Role.AUDITOR, "usingen")
FOREIGN_AUDITOR = Actor("rita.revision", "Rita Revision", Role.AUDITOR, "schmitten")
CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("quality", "Qualität des Angebots", Decimal(3), "scored", 10),
        Criterion("known", "Bekannt und bewährt", Decimal(1), "attendance", 5),
    ),
)
DOCUMENTS = [{"kind": "liability_insurance", "reference": "Police 4711"}]


def publish(vorgang: Vorgang, clock: FixedClock, *, pitches: int = 2, **more: Any) -> Market:
    """Usingen's Kerb at the end of August, applications open for ten days from yesterday."""
    now = clock.now()
    facts: dict[str, Any] = {
        "year": 2026,
        "code": "KERB-26",
        "name": "Usinger Kerb",
        "kind": "kerb",
        "regime": "festgesetzt",
        "days": [date(2026, 8, 27), date(2026, 8, 28), date(2026, 8, 29)],
        "site": "Marktplatz",
        "pitches": [
            Pitch(str(n), Decimal("3.00"), False, False, ("crafts",)) for n in range(1, pitches + 1)
        ],
        "categories": ["crafts"],
        "criteria": CRITERIA,
        "newcomer_share": Decimal(0),
        "applications_from": now - timedelta(days=1),
        "deadline": now + timedelta(days=10),
        "decisions_by": date(2026, 5, 1),
        "offer_days": 5,
        "staff": [CLERK.id],
    }
    facts.update(more)
    return vorgang.markets.publish(CLERK, **facts)


def trader(name: str) -> Actor:
    return Actor(f"portal:{name}", f"{name} Händler", Role.APPLICANT, "usingen")


def apply(
    vorgang: Vorgang,
    market: UUID,
    name: str,
    *,
    years: int = 1,
    applicant: Actor | None = None,
    business: str | None = None,
    address: str = "Obergasse 12, 61250 Usingen",
) -> UUID:
    data = {
        "market": str(market),
        "business": {
            "name": business or f"{name} Holzwaren",
            "legal_form": "sole_trader",
            "address": address,
        },
        "contact": {"name": f"{name} Händler", "phone": "06081 4711", "email": "h@example.org"},
        "product_range": "Holzspielzeug",
        "category": "crafts",
        "frontage_m": "3.00",
        "depth_m": "2.00",
        "years_of_attendance": years,
        "documents": DOCUMENTS,
    }
    return vorgang.cases.submit(
        actor=applicant or trader(name),
        tenant="usingen",
        service=SERVICE_ID,
        applicant={"name": f"{name} Händler"},
        data=data,
    ).case_id


def score(vorgang: Vorgang, case_id: UUID, points: int) -> None:
    take(
        vorgang.commands, case_id, "score_application", CLERK, points={"quality": points}, note="n"
    )


def stall(vorgang: Vorgang, case_id: UUID) -> MarketStallApplication:
    found: MarketStallApplication = vorgang.store.repository.get(case_id)
    return found


def market_now(vorgang: Vorgang, market: UUID) -> Market:
    found: Market = vorgang.store.repository.get(market)
    return found


def selected(
    vorgang: Vorgang, clock: FixedClock, scores: dict[str, int]
) -> tuple[Market, dict[str, UUID]]:
    """A Kerb with two pitches, an application per name scored as given, then selected."""
    market = publish(vorgang, clock).id
    cases = {name: apply(vorgang, market, name) for name in scores}
    clock.advance(timedelta(days=11))
    for name, points in scores.items():
        score(vorgang, cases[name], points)
    return vorgang.markets.select(CLERK, market), cases


# ------------------------------------------------------------------ tenant isolation


@pytest.mark.parametrize(
    "read", ["selection_record", "replay", "applications", "score_sheets", "pitches", "select"]
)
def test_another_towns_staff_and_auditors_find_no_market(
    vorgang: Vorgang, clock: FixedClock, read: str
) -> None:
    market, _cases = selected(vorgang, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    for stranger in (FOREIGN_CLERK, FOREIGN_AUDITOR):
        with pytest.raises(MarketRecordNotFound):
            getattr(vorgang.markets, read)(stranger, market.id)


def test_the_towns_auditor_reads_and_replays_the_selection_but_runs_nothing(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market, _cases = selected(vorgang, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    assert vorgang.markets.replay(AUDITOR, market.id)["verdict"] == "same"
    assert vorgang.markets.selection_record(AUDITOR, market.id)["seed"] == (
        market.selection_record or {}
    ).get("seed")
    with pytest.raises(InvalidCommand) as refused:
        vorgang.markets.applications(AUDITOR, market.id)
    assert refused.value.field == "actor"


# ------------------------------------------------------------------ the selection


def test_every_case_decides_with_its_score_the_criteria_version_and_the_weights(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market, cases = selected(vorgang, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    stored = market_now(vorgang, market.id)
    assert stored.selection_record is not None
    assert replay(stored.selection_record).verdict == "same"  # read back from the store
    for name, case_id in cases.items():
        case = stall(vorgang, case_id)
        assert case.decision is not None, name
        selection = next(r for r in case.decision.rules if r.rules_id == "market_selection")
        assert selection.inputs["criteria_version"] == "2026-1"
        assert selection.inputs["weights"] == {"quality": "3", "known": "1"}
        assert selection.inputs["points"]["quality"] in (9, 5, 3)
        assert selection.inputs["total"] not in (None, "None")
    refused = stall(vorgang, cases["Cem"])
    assert refused.decision is not None
    assert refused.decision.outcome is DecisionOutcome.REJECTED
    assert "Rang 3 von 3" in str(plain(refused.decision.justification))
    admitted = stall(vorgang, cases["Anna"])
    assert admitted.decision is not None
    assert admitted.decision.outcome.is_approval
    assert admitted.decision.fee == Decimal("154.00")  # 3 m x 18.00 + deposit 100.00


def test_the_selection_waits_for_every_score_sheet_and_names_the_one_missing(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market = publish(vorgang, clock).id
    anna, bert = apply(vorgang, market, "Anna"), apply(vorgang, market, "Bert")
    clock.advance(timedelta(days=11))
    score(vorgang, anna, 5)
    with pytest.raises(InvalidCommand) as refused:
        vorgang.markets.select(CLERK, market)
    assert refused.value.field == f"sheets[{bert}].quality"
    assert market_now(vorgang, market).selected_at is None
    assert stall(vorgang, anna).decision is None


def test_a_selection_before_the_deadline_is_refused(vorgang: Vorgang, clock: FixedClock) -> None:
    market = publish(vorgang, clock).id
    apply(vorgang, market, "Anna")
    with pytest.raises(InvalidCommand) as refused:
        vorgang.markets.select(CLERK, market)
    assert refused.value.field == "window"


def test_no_application_after_the_deadline(vorgang: Vorgang, clock: FixedClock) -> None:
    market = publish(vorgang, clock).id
    clock.advance(timedelta(days=10))
    with pytest.raises(InvalidCommand) as refused:
        apply(vorgang, market, "Spät")
    assert refused.value.field == "data.market"
    assert not market_now(vorgang, market).applications


# ------------------------------------------------------------------ fairness


def test_one_trader_applies_once_per_market(vorgang: Vorgang, clock: FixedClock) -> None:
    market = publish(vorgang, clock).id
    same = trader("Anna")
    apply(vorgang, market, "Anna", applicant=same)
    with pytest.raises(InvalidCommand):
        apply(vorgang, market, "Anna", applicant=same)


def test_two_traders_whose_businesses_share_a_common_name_both_apply(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market = publish(vorgang, clock).id
    apply(vorgang, market, "Anna", business="Crêperie", address="Obergasse 12, 61250 Usingen")
    apply(vorgang, market, "Bert", business="Crêperie", address="Hauptstraße 3, 60311 Frankfurt")
    assert len(market_now(vorgang, market).applications) == 2


# ------------------------------------------------------------------ move-up


def test_a_give_up_offers_the_pitch_to_the_next_and_only_they_accept_while_it_runs(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market, cases = selected(vorgang, clock, {"Anna": 9, "Bert": 5, "Cem": 3, "Dora": 1})
    take(vorgang.commands, cases["Anna"], "give_up_pitch", trader("Anna"), reason="krank")
    cem = stall(vorgang, cases["Cem"])
    assert cem.offer is not None
    # Dora, refused as well, cannot take Cem's offer (not her case), nor can Anna.
    for other in ("Dora", "Anna"):
        with pytest.raises((CaseNotFound, InvalidCommand)):
            take(vorgang.commands, cases["Cem"], "accept_pitch_offer", trader(other))
    clock.set(cem.offer["until"] + timedelta(seconds=1))
    with pytest.raises(InvalidCommand):
        take(vorgang.commands, cases["Cem"], "accept_pitch_offer", trader("Cem"))
    now = market_now(vorgang, market.id)
    assert now.pitch_of(cases["Cem"]) is None
    assert now.offer_of(cases["Cem"]) is not None  # the timer lets it lapse next


def test_a_give_up_racing_the_offers_acceptance_never_gives_a_pitch_twice(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    market, cases = selected(vorgang, clock, {"Anna": 9, "Bert": 5, "Cem": 3, "Dora": 1})
    take(vorgang.commands, cases["Anna"], "give_up_pitch", trader("Anna"), reason="krank")
    lost = held_saves(2)
    results = in_threads(
        [
            lambda: take(vorgang.commands, cases["Cem"], "accept_pitch_offer", trader("Cem")),
            lambda: take(
                vorgang.commands, cases["Bert"], "give_up_pitch", trader("Bert"), reason="weg"
            ),
        ]
    )
    held_saves(0)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert len(lost) == 1  # one lost on the market and was decided again from a fresh load
    now = market_now(vorgang, market.id)
    holders = list(now.assigned.values())
    assert len(holders) == len(set(holders))
    assert now.pitch_of(cases["Cem"]) is not None
    assert now.offer_of(cases["Dora"]) is not None  # Bert's pitch went on to Dora
    assert stall(vorgang, cases["Dora"]).offer is not None
    assert stall(vorgang, cases["Cem"]).standing == Standing.ADMITTED


def test_a_score_sheet_racing_the_selection_is_in_it_or_refused(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    market = publish(vorgang, clock).id
    anna, bert = apply(vorgang, market, "Anna"), apply(vorgang, market, "Bert")
    clock.advance(timedelta(days=11))
    score(vorgang, anna, 5)
    score(vorgang, bert, 5)
    lost = held_saves(2)
    results = in_threads(
        [lambda: vorgang.markets.select(CLERK, market), lambda: score(vorgang, bert, 10)]
    )
    held_saves(0)
    assert len(lost) == 1
    record = market_now(vorgang, market).selection_record
    assert record is not None
    sheet = stall(vorgang, bert).score_sheet
    assert sheet is not None
    # Whichever saved first: the selection ran on the sheet the case holds now.
    assert record["sheets"][str(bert)] == sheet["points"], results


def test_two_selections_at_once_are_one_selection_and_one_refusal(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    market = publish(vorgang, clock).id
    cases = [apply(vorgang, market, name) for name in ("Anna", "Bert", "Cem")]
    clock.advance(timedelta(days=11))
    for case_id, points in zip(cases, (9, 5, 3), strict=True):
        score(vorgang, case_id, points)
    lost = held_saves(2)
    results = in_threads([lambda: vorgang.markets.select(CLERK, market)] * 2)
    held_saves(0)
    assert sorted(type(r).__name__ for r in results) == ["AlreadySelected", "Market"], results
    assert len(lost) == 1
    now = market_now(vorgang, market)
    assert len(now.assigned) == 2
    for case_id in cases:
        assert len(stall(vorgang, case_id).decisions) == 1  # decided once, not twice

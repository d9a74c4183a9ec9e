"""Review of the market stall allocation (#28) as a clerk, an auditor, a trader and an attacker.

Each test is a finding: a plain test guards what holds; a strict xfail names a defect found
(its reason says what goes wrong) and turns into a plain test once the defect is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

import pytest

from domain.actor import Actor, Role
from domain.commands import Acting
from domain.errors import InvalidCommand, InvalidTransition, WrongTenant
from domain.markets.market import (
    AlreadySelected,
    CriteriaSet,
    Criterion,
    Market,
    Pitch,
)
from domain.personal_data import PersonalData
from domain.rules import market_fees
from domain.rules.market_selection import (
    StallApplication,
    replay,
)
from domain.rules.market_selection import select as select_traders
from domain.rules.notification import Delivery
from domain.services.market_stall import MarketStallApplication, Standing
from domain.services.market_stall_steps import STEPS, ScoreSheet, StallReason
from tests.domain.market_stall_fixtures import (
    AFTER,
    DAYS,
    DEADLINE,
    DECISIONS_BY,
    DURING,
    LATE,
    MARKT,
    OPENS,
    PUBLISHED,
    SEED,
    SELECTED,
    TOWN,
    Shared,
    applicant_of,
    applied,
    form,
    market,
)

TRADER = Actor("haendler-1", "Hans Händler", Role.APPLICANT, TOWN)
SCORED_ONLY = CriteriaSet(
    "r-1", (Criterion("quality", "Qualität des Angebots", Decimal(1), "scored", 10),)
)

WITH_NEED = CriteriaSet(
    "n-1",
    (
        Criterion("quality", "Qualität des Angebots", Decimal(1), "scored", 10),
        Criterion("need", "Bedarf der Warengruppe", Decimal(2), "category_need", 1),
    ),
)


def case(n: int) -> UUID:
    return UUID(int=n)


def stall(
    n: int,
    category: str = "crafts",
    frontage: str = "3.00",
    *,
    electricity: bool = False,
    water: bool = False,
    years: int = 0,
) -> StallApplication:
    return StallApplication(case(n), category, Decimal(frontage), electricity, water, years)


def published(
    *,
    pitches: Sequence[Pitch],
    criteria: CriteriaSet = SCORED_ONLY,
    newcomer_share: Decimal = Decimal(0),
    categories: Sequence[str] = ("crafts",),
    **more: Any,
) -> Market:
    facts: dict[str, Any] = {
        "tenant": TOWN,
        "year": 2026,
        "code": "rev-26",
        "name": "Prüfmarkt",
        "kind": "christmas_market",
        "regime": "festgesetzt",
        "days": DAYS,
        "site": "Marktplatz",
        "pitches": list(pitches),
        "categories": list(categories),
        "criteria": criteria,
        "newcomer_share": newcomer_share,
        "applications_from": OPENS,
        "deadline": DEADLINE,
        "decisions_by": DECISIONS_BY,
        "offer_days": 7,
        "staff": [MARKT.id],
        "actor": MARKT,
        "at": PUBLISHED,
    }
    facts.update(more)
    return Market.publish(**facts)


def record(
    at_market: Market,
    n: int,
    category: str = "crafts",
    frontage: str = "3.00",
    *,
    electricity: bool = False,
    water: bool = False,
    years: int = 0,
) -> UUID:
    at_market.record_application(
        case_id=case(n),
        category=category,
        frontage_m=Decimal(frontage),
        electricity=electricity,
        water=water,
        years=years,
        actor=TRADER,
        at=DURING,
    )
    return case(n)


def sheets_of(points: dict[UUID, int]) -> dict[UUID, dict[str, int]]:
    return {case_id: {"quality": given} for case_id, given in points.items()}


# ------------------------------------------------------------------ the trader: reasons


def test_a_refusal_caused_by_the_newcomer_share_says_so_not_better_ranked() -> None:
    pitches = (Pitch("1", Decimal("3.00"), False, False, ("crafts",)),)
    applications = (stall(1, years=10), stall(2, years=0))
    result = select_traders(
        SCORED_ONLY,
        pitches,
        applications,
        sheets_of({case(1): 10, case(2): 1}),
        Decimal("0.5"),
        SEED,
        wanted=("crafts",),
    )
    first, second = result.ranked
    assert (first.application.case_id, first.pitch) == (case(1), None)  # rank 1, refused
    assert (second.application.case_id, second.pitch) == (case(2), "1")  # the newcomer
    text = first.refusals[0].text
    assert "besser bewertete" not in text
    assert "Neubewerber" in text


def test_a_refusal_by_rank_names_rank_count_and_total() -> None:
    pitches = (Pitch("1", Decimal("3.00"), False, False, ("crafts",)),)
    result = select_traders(
        SCORED_ONLY,
        pitches,
        (stall(1, years=3), stall(2, years=3)),
        sheets_of({case(1): 9, case(2): 4}),
        Decimal(0),
        SEED,
        wanted=("crafts",),
    )
    refused = result.ranked[1]
    assert refused.pitch is None
    assert refused.refusals[0].reason == "category_full"
    assert "Rang 2 von 2 mit 0.4000 Punkten" in refused.refusals[0].text


# ------------------------------------------------------------------ the trader: capacity


def test_a_pitch_with_water_is_kept_for_a_stall_that_needs_it_when_another_fits() -> None:
    pitches = (
        Pitch("1", Decimal("3.00"), True, True, ("food",)),
        Pitch("2", Decimal("3.00"), True, False, ("food",)),
    )
    applications = (
        stall(1, "food", electricity=True, years=2),
        stall(2, "food", electricity=True, water=True, years=2),
    )
    result = select_traders(
        SCORED_ONLY,
        pitches,
        applications,
        sheets_of({case(1): 9, case(2): 5}),
        Decimal(0),
        SEED,
        wanted=("food",),
    )
    assert [r.pitch for r in result.ranked] == ["2", "1"]


def test_a_pitch_of_two_categories_is_kept_for_the_category_only_it_holds() -> None:
    pitches = (
        Pitch("1", Decimal("3.00"), False, False, ("crafts", "food")),
        Pitch("2", Decimal("3.00"), False, False, ("crafts",)),
    )
    result = select_traders(
        SCORED_ONLY,
        pitches,
        (stall(1, "crafts", years=1), stall(2, "food", years=1)),
        sheets_of({case(1): 9, case(2): 5}),
        Decimal(0),
        SEED,
        wanted=("crafts", "food"),
    )
    assert all(r.pitch is not None for r in result.ranked)


def test_a_water_pitch_is_kept_for_the_stall_that_needs_it_when_a_longer_one_fits() -> None:
    pitches = (
        Pitch("1", Decimal("3.00"), True, True, ("food",)),
        Pitch("2", Decimal("3.50"), True, False, ("food",)),
    )
    applications = (
        stall(1, "food", electricity=True, years=2),
        stall(2, "food", electricity=True, water=True, years=2),
    )
    result = select_traders(
        SCORED_ONLY,
        pitches,
        applications,
        sheets_of({case(1): 9, case(2): 5}),
        Decimal(0),
        SEED,
        wanted=("food",),
    )
    assert [r.pitch for r in result.ranked] == ["2", "1"]


def test_the_newcomers_share_takes_no_pitch_a_better_ranked_stall_alone_fits() -> None:
    pitches = (
        Pitch("1", Decimal("3.00"), True, True, ("food",)),
        Pitch("2", Decimal("3.50"), True, False, ("food",)),
    )
    applications = (
        stall(1, "food", electricity=True, water=True, years=8),
        stall(2, "food", electricity=True, years=0),
    )
    result = select_traders(
        SCORED_ONLY,
        pitches,
        applications,
        sheets_of({case(1): 9, case(2): 5}),
        Decimal("0.5"),
        SEED,
        wanted=("food",),
    )
    assert [r.pitch for r in result.ranked] == ["1", "2"]


# ------------------------------------------------------------------ the trader: newcomers


def test_newcomers_get_their_share_even_when_scored_lowest() -> None:
    at_market = published(
        pitches=[Pitch(str(n), Decimal("3.00"), False, False, ("crafts",)) for n in (1, 2, 3, 4)],
        newcomer_share=Decimal("0.25"),
    )
    old = [record(at_market, n, years=10) for n in (1, 2, 3, 4)]
    new = record(at_market, 5, years=0)
    points = dict.fromkeys(old, 10) | {new: 0}
    at_market.select(seed=SEED, sheets=sheets_of(points), actor=MARKT, at=AFTER)
    assert at_market.pitch_of(new) is not None
    result = at_market.result_of(new)
    assert result is not None
    assert result["newcomer_share"] is True


def test_a_market_where_newcomers_can_never_win_is_not_published() -> None:
    only_known = CriteriaSet(
        "k-1", (Criterion("known", "Bekannt und bewährt", Decimal(1), "attendance", 10),)
    )
    with pytest.raises(InvalidCommand):
        published(
            pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))],
            criteria=only_known,
            newcomer_share=Decimal(0),
        )


@pytest.mark.parametrize(("pitches", "share"), [(1, "0.2"), (3, "0.4")])
def test_the_newcomers_share_never_reserves_more_than_half_the_pitches(
    pitches: int, share: str
) -> None:
    field: str | None = None
    try:
        at_market = published(
            pitches=[
                Pitch(str(n), Decimal("3.00"), False, False, ("crafts",))
                for n in range(1, pitches + 1)
            ],
            newcomer_share=Decimal(share),
        )
    except InvalidCommand as refused:
        field = refused.field
    if field is not None:
        assert field == "newcomer_share"
        return
    cases = [record(at_market, n, years=5) for n in range(1, pitches + 1)]
    cases += [record(at_market, n, years=0) for n in range(100, 100 + pitches)]
    made = at_market.select(
        seed=SEED, sheets=sheets_of(dict.fromkeys(cases, 5)), actor=MARKT, at=AFTER
    )
    assert made["reserved_for_newcomers"] <= pitches * Decimal("0.5")


@pytest.mark.parametrize(("pitches", "share"), [(1, "0.2"), (2, "0.2")])
def test_a_share_that_reserves_no_pitch_does_not_stand_for_the_newcomers_chance(
    pitches: int, share: str
) -> None:
    only_known = CriteriaSet(
        "k-1", (Criterion("known", "Bekannt und bewährt", Decimal(1), "attendance", 10),)
    )
    with pytest.raises(InvalidCommand) as refused:
        published(
            pitches=[
                Pitch(str(n), Decimal("3.00"), False, False, ("crafts",))
                for n in range(1, pitches + 1)
            ],
            criteria=only_known,
            newcomer_share=Decimal(share),
        )
    assert refused.value.field == "newcomer_share"


# ------------------------------------------------------------------ the clerk: interim relief


def test_no_selection_after_the_published_decisions_by_day() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    one = record(at_market, 1)
    too_late = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert too_late.date() > DECISIONS_BY
    with pytest.raises(InvalidCommand) as refused:
        at_market.select(seed=SEED, sheets=sheets_of({one: 5}), actor=MARKT, at=too_late)
    assert refused.value.field == "at"


def test_the_selection_waits_for_the_deadline_and_is_never_run_twice() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    one = record(at_market, 1)
    with pytest.raises(InvalidCommand):
        at_market.select(
            seed=SEED, sheets=sheets_of({one: 5}), actor=MARKT, at=DEADLINE - timedelta(seconds=1)
        )
    at_market.select(seed=SEED, sheets=sheets_of({one: 5}), actor=MARKT, at=AFTER)
    with pytest.raises(AlreadySelected):
        at_market.select(seed="f" * 64, sheets=sheets_of({one: 9}), actor=MARKT, at=AFTER)


# ------------------------------------------------------------------ the auditor: replay


def selected_market() -> tuple[Market, dict[str, Any]]:
    at_market = published(
        pitches=[
            Pitch("1", Decimal("3.00"), False, False, ("crafts",)),
            Pitch("2", Decimal("4.00"), True, False, ("crafts", "food")),
        ],
        newcomer_share=Decimal("0.5"),
        categories=("crafts", "food"),
        criteria=WITH_NEED,
    )
    cases = [
        record(at_market, 1, years=4),
        record(at_market, 2, years=0),
        record(at_market, 3, "food", electricity=True, years=2),
        record(at_market, 4, years=0),
    ]
    made = at_market.select(
        seed=SEED,
        sheets=sheets_of(dict(zip(cases, (7, 7, 3, 7), strict=True))),
        actor=MARKT,
        at=AFTER,
    )
    return at_market, made


def test_a_selection_replays_the_same_after_a_round_trip_through_json() -> None:
    _at_market, made = selected_market()
    assert replay(json.loads(json.dumps(made))).verdict == "same"


def test_every_result_keeps_points_total_and_the_record_the_criteria_version_and_weights() -> None:
    at_market, made = selected_market()
    assert made["criteria_version"] == "n-1"
    assert made["weights"] == {"quality": "1", "need": "2"}
    for result in made["results"]:
        assert set(result) >= {"points", "total", "lot", "rank", "outcome", "reasons"}
        if result["outcome"] == "refused":
            assert result["reasons"]
    assert at_market.selection_record == made


@pytest.mark.parametrize(
    ("tamper", "value"),
    [("weights", {"quality": "5", "need": "2"}), ("criteria_version", "n-2")],
)
def test_a_record_whose_weights_or_version_differ_from_its_criteria_does_not_replay_same(
    tamper: str, value: Any
) -> None:
    _at_market, made = selected_market()
    altered = json.loads(json.dumps(made))
    altered[tamper] = value
    assert replay(altered).verdict != "same"


@pytest.mark.parametrize(
    ("tamper", "value"),
    [
        ("seed", "a" * 64),
        ("newcomer_share", "0"),
        ("wanted", ["crafts"]),
    ],
)
def test_a_record_with_other_inputs_does_not_replay_same(tamper: str, value: Any) -> None:
    _at_market, made = selected_market()
    altered = json.loads(json.dumps(made))
    altered[tamper] = value
    assert replay(altered).verdict == "differs"


def test_a_record_with_a_score_changed_does_not_replay_same() -> None:
    _at_market, made = selected_market()
    altered = json.loads(json.dumps(made))
    first = next(iter(altered["sheets"]))
    altered["sheets"][first]["quality"] = 0
    assert replay(altered).verdict == "differs"


def test_a_record_with_a_pitch_moved_does_not_replay_same() -> None:
    _at_market, made = selected_market()
    altered = json.loads(json.dumps(made))
    admitted = [r for r in altered["results"] if r["pitch"] is not None]
    admitted[0]["pitch"], admitted[1]["pitch"] = admitted[1]["pitch"], admitted[0]["pitch"]
    assert replay(altered).verdict == "differs"


def test_a_broken_record_is_not_replayable_and_never_raises() -> None:
    _at_market, made = selected_market()
    for broken in (
        {**made, "algorithm": "standplatzvergabe-99"},
        {**made, "criteria": {"version": "x", "criteria": [{"key": "quality"}]}},
        {**made, "seed": "not hex"},
        {**made, "pitches": [{"number": "1", "frontage_m": "abc"}]},
        {k: v for k, v in made.items() if k != "sheets"},
    ):
        assert replay(broken).verdict == "not_replayable"


# ------------------------------------------------------------------ the attacker: inputs


@pytest.mark.parametrize(
    "frontage", ["0", "-1", "0.001", "NaN", "sNaN", "Infinity", "-Infinity", "1E+30", "1e-30"]
)
def test_a_frontage_of_no_length_or_beyond_reason_is_refused_naming_it(frontage: str) -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    with pytest.raises(InvalidCommand) as refused:
        record(at_market, 1, frontage=frontage)
    assert refused.value.field == "data.frontage_m"
    assert not at_market.applications


def test_a_frontage_longer_than_every_pitch_is_refused() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    with pytest.raises(InvalidCommand) as refused:
        record(at_market, 1, frontage="3.01")
    assert refused.value.field == "data.frontage_m"


def test_a_frontage_in_exponent_notation_is_recorded_as_metres_with_two_places() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("10.00"), False, False, ("crafts",))])
    one = record(at_market, 1, frontage="1E+1")
    assert str(at_market.applications[one].frontage_m) == "10.00"


@pytest.mark.parametrize("numbers", [("A1", "a1"), ("7", " 7 ")])
def test_a_pitch_number_listed_twice_is_refused(numbers: tuple[str, str]) -> None:
    pitches = [Pitch(n, Decimal("3.00"), False, False, ("crafts",)) for n in numbers]
    with pytest.raises(InvalidCommand) as refused:
        published(pitches=pitches)
    assert refused.value.field == "pitches[1].number"


def test_pitch_numbers_people_read_as_the_same_number_are_refused() -> None:
    pitches = [Pitch(n, Decimal("3.00"), False, False, ("crafts",)) for n in ("1", "01")]
    with pytest.raises(InvalidCommand) as refused:
        published(pitches=pitches)
    assert refused.value.field == "pitches[1].number"


@pytest.mark.parametrize(
    "criteria",
    [
        CriteriaSet("v", ()),
        CriteriaSet("v", (Criterion("q", "Q", Decimal(0), "scored", 10),)),
        CriteriaSet("v", (Criterion("q", "Q", Decimal(-1), "scored", 10),)),
        CriteriaSet("v", (Criterion("q", "Q", Decimal("NaN"), "scored", 10),)),
        CriteriaSet("v", (Criterion("q", "Q", Decimal(1), "scored", 0),)),
        CriteriaSet("v", (Criterion("q", "Q", Decimal(1), "lottery", 10),)),
        CriteriaSet(
            "v",
            (
                Criterion("q", "Q", Decimal(1), "scored", 10),
                Criterion("q", "Q again", Decimal(1), "scored", 10),
            ),
        ),
        CriteriaSet("", (Criterion("q", "Q", Decimal(1), "scored", 10),)),
    ],
)
def test_criteria_that_cannot_be_applied_are_never_published(criteria: CriteriaSet) -> None:
    with pytest.raises(InvalidCommand) as refused:
        published(
            pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))], criteria=criteria
        )
    assert refused.value.field.startswith("criteria")


@pytest.mark.parametrize(
    "share", [Decimal("-0.1"), Decimal("0.51"), Decimal("NaN"), Decimal("0.12345")]
)
def test_a_newcomer_share_outside_0_to_half_is_refused(share: Decimal) -> None:
    with pytest.raises(InvalidCommand) as refused:
        published(
            pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))],
            newcomer_share=share,
        )
    assert refused.value.field == "newcomer_share"


def test_an_application_after_the_deadline_or_a_second_time_is_refused() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    record(at_market, 1)
    with pytest.raises(InvalidCommand) as twice:
        record(at_market, 1)
    assert twice.value.field == "case_id"
    with pytest.raises(InvalidCommand) as late:
        at_market.record_application(
            case_id=case(2),
            category="crafts",
            frontage_m=Decimal("3.00"),
            electricity=False,
            water=False,
            years=0,
            actor=TRADER,
            at=DEADLINE,
        )
    assert late.value.field == "data.market"


def test_a_selection_with_a_missing_sheet_or_a_stranger_sheet_is_refused() -> None:
    at_market = published(pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))])
    one, two = record(at_market, 1), record(at_market, 2)
    with pytest.raises(InvalidCommand) as missing:
        at_market.select(seed=SEED, sheets=sheets_of({one: 5}), actor=MARKT, at=AFTER)
    assert missing.value.field == f"sheets[{two}].quality"
    with pytest.raises(InvalidCommand) as stranger:
        at_market.select(
            seed=SEED, sheets=sheets_of({one: 5, two: 5, case(99): 5}), actor=MARKT, at=AFTER
        )
    assert stranger.value.field == "sheets"
    with pytest.raises(InvalidCommand):
        at_market.select(
            seed=SEED, sheets={one: {"quality": 11}, two: {"quality": 5}}, actor=MARKT, at=AFTER
        )
    with pytest.raises(InvalidCommand):
        at_market.select(
            seed=SEED, sheets={one: {"quality": True}, two: {"quality": 5}}, actor=MARKT, at=AFTER
        )
    assert at_market.selected_at is None


# ------------------------------------------------------------------ the attacker: pitches


def full_market() -> tuple[Market, list[UUID]]:
    """Two crafts pitches, four crafts stalls: 1 and 2 admitted, 3 and 4 refused."""
    at_market = published(
        pitches=[
            Pitch("1", Decimal("3.00"), False, False, ("crafts",)),
            Pitch("2", Decimal("3.00"), False, False, ("crafts",)),
        ]
    )
    cases = [record(at_market, n, years=1) for n in (1, 2, 3, 4)]
    at_market.select(
        seed=SEED,
        sheets=sheets_of(dict(zip(cases, (9, 8, 7, 6), strict=True))),
        actor=MARKT,
        at=AFTER,
    )
    return at_market, cases


def test_an_offer_lapsed_is_never_accepted_and_someone_elses_offer_neither() -> None:
    at_market, (one, _two, three, four) = full_market()
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert at_market.give_up_pitch(case_id=one, actor=TRADER, at=at, reason="krank") == three
    offer = at_market.offer_of(three)
    assert offer is not None
    with pytest.raises(InvalidCommand):
        at_market.accept_offer(case_id=four, actor=TRADER, at=at)  # not offered to four
    with pytest.raises(InvalidCommand) as lapsed:
        at_market.accept_offer(case_id=three, actor=TRADER, at=offer.until + timedelta(seconds=1))
    assert lapsed.value.field == "at"
    with pytest.raises(InvalidCommand):
        at_market.expire_offer(case_id=three, actor=MARKT, at=offer.until)  # still open
    assert at_market.pitch_of(three) is None


def test_two_give_ups_offer_two_pitches_to_two_traders_and_each_holds_one() -> None:
    at_market, (one, two, three, four) = full_market()
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    at_market.give_up_pitch(case_id=one, actor=TRADER, at=at, reason="krank")
    at_market.give_up_pitch(case_id=two, actor=TRADER, at=at, reason="krank")
    assert {o.case_id for o in at_market.open_offers.values()} == {three, four}
    at_market.accept_offer(case_id=three, actor=TRADER, at=at)
    at_market.accept_offer(case_id=four, actor=TRADER, at=at)
    assert sorted(at_market.assigned.values()) == sorted([three, four])
    with pytest.raises(InvalidCommand):
        at_market.accept_offer(case_id=three, actor=TRADER, at=at)
    assert at_market.next_in_rank("1") is None  # the ones who gave up never come back


def test_a_pitch_is_never_given_up_twice_or_by_a_case_not_holding_it() -> None:
    at_market, (one, _two, three, _four) = full_market()
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with pytest.raises(InvalidCommand):
        at_market.give_up_pitch(case_id=three, actor=TRADER, at=at, reason="nicht meiner")
    at_market.give_up_pitch(case_id=one, actor=TRADER, at=at, reason="krank")
    with pytest.raises(InvalidCommand):
        at_market.give_up_pitch(case_id=one, actor=TRADER, at=at, reason="nochmal")


def test_a_withdrawal_after_the_selection_never_frees_or_takes_a_pitch() -> None:
    at_market, (one, _two, three, _four) = full_market()
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with pytest.raises(InvalidCommand):
        at_market.withdraw_application(case_id=one, actor=TRADER, at=at, reason="weg")
    at_market.give_up_pitch(case_id=one, actor=TRADER, at=at, reason="krank")
    with pytest.raises(InvalidCommand):  # three has the offer: it declines instead
        at_market.withdraw_application(case_id=three, actor=TRADER, at=at, reason="weg")


# ------------------------------------------------------------------ the case: scoring


def sheet_of(application: MarketStallApplication) -> dict[str, int]:
    assert application.score_sheet is not None
    return dict(application.score_sheet["points"])


def _scored_market() -> tuple[Market, Shared, MarketStallApplication]:
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    one = applied(shared, form(at_market.id, "crafts"))
    return at_market, shared, one


def test_a_score_of_a_fraction_of_a_point_is_refused_not_cut_off() -> None:
    at_market, _shared, one = _scored_market()
    fraction: dict[str, Any] = {"attractiveness": 5.7}
    with pytest.raises(InvalidCommand) as refused:
        one.score_application(actor=MARKT, at=AFTER, market=at_market, points=fraction, note="gut")
    assert refused.value.field == "points.attractiveness"


def test_nobody_scores_before_the_deadline_nor_after_the_selection() -> None:
    at_market, shared, one = _scored_market()
    with pytest.raises(InvalidCommand):
        one.score_application(
            actor=MARKT, at=DURING, market=at_market, points={"attractiveness": 5}, note="früh"
        )
    one.score_application(
        actor=MARKT, at=AFTER, market=at_market, points={"attractiveness": 5}, note="gut"
    )
    at_market.select(seed=SEED, sheets={one.id: sheet_of(one)}, actor=MARKT, at=SELECTED)
    one.note_selection(at_market, actor=MARKT, at=SELECTED)
    with pytest.raises((InvalidCommand, InvalidTransition)):
        STEPS.named("score_application").execute(
            one,
            ScoreSheet(points={"attractiveness": 9}, note="nachträglich"),
            Acting(MARKT, SELECTED + timedelta(hours=1), shared),
        )


def test_another_towns_clerk_does_not_score() -> None:
    _at_market, shared, one = _scored_market()
    stranger = replace(MARKT, tenant="schmitten")
    with pytest.raises(WrongTenant):
        STEPS.named("score_application").execute(
            one,
            ScoreSheet(points={"attractiveness": 9}, note="fremd"),
            Acting(stranger, AFTER, shared),
        )
    assert one.score_sheet is None


def crafts_selected() -> tuple[Market, Shared, list[MarketStallApplication]]:
    """Four crafts stalls of 2.50 m scored 9, 8, 7, 6 for the market's two crafts pitches."""
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    cases = [applied(shared, form(at_market.id, "crafts", frontage_m="2.50")) for _ in range(4)]
    for case_, points in zip(cases, (9, 8, 7, 6), strict=True):
        case_.score_application(
            actor=MARKT, at=AFTER, market=at_market, points={"attractiveness": points}, note="n"
        )
    at_market.select(
        seed=SEED,
        sheets={c.id: sheet_of(c) for c in cases},
        actor=MARKT,
        at=SELECTED,
    )
    for case_ in cases:
        case_.note_selection(at_market, actor=MARKT, at=SELECTED)
    return at_market, shared, cases


def test_a_trader_cannot_accept_another_traders_offer() -> None:
    at_market, shared, cases = crafts_selected()
    holder = next(c for c in cases if c.standing == Standing.ADMITTED)
    STEPS.named("give_up_pitch").execute(
        holder, StallReason(reason="krank"), Acting(applicant_of(holder), LATE, shared)
    )
    offered = next(c for c in cases if c.offer is not None)
    other = next(c for c in cases if c.standing == Standing.REFUSED and c.offer is None)
    with pytest.raises(InvalidCommand):
        STEPS.named("accept_pitch_offer").execute(
            offered, None, Acting(applicant_of(other), LATE, shared)
        )
    assert offered.offer is not None
    assert at_market.offer_of(offered.id) is not None


def test_the_town_takes_a_pitch_back_only_by_a_revocation_with_hearing_and_remedy() -> None:
    _at_market, shared, cases = crafts_selected()
    holder = next(c for c in cases if c.standing == Standing.ADMITTED)
    with pytest.raises(InvalidCommand):
        STEPS.named("give_up_pitch").execute(
            holder, StallReason(reason="Stand passt nicht"), Acting(MARKT, LATE, shared)
        )
    assert holder.pitch is not None


def test_an_objection_to_the_refusal_is_settled_when_the_trader_takes_a_pitch_offered() -> None:
    _at_market, shared, cases = crafts_selected()
    holder = next(c for c in cases if c.standing == Standing.ADMITTED)
    refused = sorted(
        (c for c in cases if c.standing == Standing.REFUSED),
        key=lambda c: c.selection["rank"] if c.selection else 0,
    )[0]
    refused.notify(actor=MARKT, at=SELECTED, delivery=Delivery.COUNTER)
    refused.lodge_objection(actor=MARKT, at=SELECTED + timedelta(days=2), grounds="Bewährt.")
    STEPS.named("give_up_pitch").execute(
        holder,
        StallReason(reason="krank"),
        Acting(applicant_of(holder), SELECTED + timedelta(days=3), shared),
    )
    assert refused.offer is not None
    STEPS.named("accept_pitch_offer").execute(
        refused, None, Acting(applicant_of(refused), SELECTED + timedelta(days=4), shared)
    )
    assert refused.decision is not None
    assert refused.decision.outcome.is_approval
    refused.notify(actor=MARKT, at=SELECTED + timedelta(days=5), delivery=Delivery.COUNTER)
    assert refused.open_objection is None
    refused.lodge_objection(
        actor=MARKT, at=SELECTED + timedelta(days=6), grounds="Die Auflage ist zu streng."
    )


def test_the_reasons_never_claim_the_criteria_were_published_before_the_window_opened() -> None:
    try:
        at_market = Market.publish(
            tenant=TOWN,
            year=2026,
            code="spaet-26",
            name="Spät veröffentlichter Markt",
            kind="christmas_market",
            regime="festgesetzt",
            days=DAYS,
            site="Marktplatz",
            pitches=[Pitch("1", Decimal("3.00"), False, False, ("crafts",))],
            categories=["crafts"],
            criteria=SCORED_ONLY,
            newcomer_share=Decimal("0.5"),
            applications_from=DURING - timedelta(days=5),
            deadline=DEADLINE,
            decisions_by=DECISIONS_BY,
            offer_days=7,
            staff=[MARKT.id],
            actor=MARKT,
            at=DURING,  # published while the window was open already
        )
    except InvalidCommand:
        return  # refused: the reasons stay true
    shared = Shared(at_market)
    one = applied(shared, form(at_market.id, "crafts"), at=DURING + timedelta(hours=1))
    one.score_application(
        actor=MARKT, at=AFTER, market=at_market, points={"quality": 5}, note="gut"
    )
    at_market.select(seed=SEED, sheets={one.id: sheet_of(one)}, actor=MARKT, at=SELECTED)
    one.note_selection(at_market, actor=MARKT, at=SELECTED)
    assert one.decision is not None
    discretion = one.decision.discretion
    assert isinstance(discretion, PersonalData)
    assert "vor Beginn der Bewerbungsfrist" not in str(discretion.value)


def test_the_reasons_say_pitches_were_short_only_when_they_were() -> None:
    at_market, _shared, one = _scored_market()  # four pitches, one application
    one.score_application(
        actor=MARKT, at=AFTER, market=at_market, points={"attractiveness": 5}, note="gut"
    )
    at_market.select(seed=SEED, sheets={one.id: sheet_of(one)}, actor=MARKT, at=SELECTED)
    one.note_selection(at_market, actor=MARKT, at=SELECTED)
    assert one.decision is not None
    assert one.decision.outcome.is_approval
    discretion = one.decision.discretion
    assert isinstance(discretion, PersonalData)
    assert "reicht nicht für alle Bewerbungen" not in str(discretion.value)


def test_a_refused_trader_leaves_the_waiting_list_by_withdrawing() -> None:
    at_market, shared, cases = crafts_selected()
    refused = next(c for c in cases if c.standing == Standing.REFUSED)
    STEPS.named("withdraw_application").execute(
        refused, None, Acting(applicant_of(refused), LATE, shared)
    )
    assert refused.id in at_market.withdrawn


# ------------------------------------------------------------------ the fee


def test_the_fee_is_frontage_times_rate_plus_utilities_plus_deposit() -> None:
    tariff = market_fees.tariff_in_force("usingen", date(2026, 12, 4))
    fee = market_fees.pitch_fee(tariff, Decimal("2.50"), True, True, kind="christmas_market")
    assert fee.on(market_fees.PITCH_FEE) == Decimal("60.00")  # 2.5 m x 24.00
    assert fee.on(market_fees.ELECTRICITY) == Decimal("35.00")
    assert fee.on(market_fees.WATER) == Decimal("15.00")
    assert fee.deposit == Decimal("100.00")
    assert fee.total == Decimal("210.00")
    assert market_fees.replay_fee("usingen", fee.rules).lines == fee.lines


@pytest.mark.parametrize("frontage", ["0", "-2", "NaN", "Infinity"])
def test_a_fee_of_no_frontage_is_refused(frontage: str) -> None:
    tariff = market_fees.tariff_in_force("usingen", date(2026, 12, 4))
    with pytest.raises(InvalidCommand):
        market_fees.pitch_fee(tariff, Decimal(frontage), False, False, kind="kerb")


def test_a_fee_rounds_a_third_of_a_cent_half_up() -> None:
    tariff = replace(
        market_fees.tariff_in_force("usingen", date(2026, 12, 4)),
        per_metre=(("christmas_market", Decimal("3.335")),),
    )
    fee = market_fees.pitch_fee(tariff, Decimal("1.00"), False, False, kind="christmas_market")
    assert fee.on(market_fees.PITCH_FEE) == Decimal("3.34")


def test_an_admission_charges_by_the_tariff_the_market_was_published_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_market = market(newcomer_share=Decimal(0))
    shared = Shared(at_market)
    published_with = at_market.tariff_version
    one = applied(shared, form(at_market.id, "crafts"))
    one.score_application(
        actor=MARKT, at=AFTER, market=at_market, points={"attractiveness": 5}, note="gut"
    )
    dearer = replace(
        market_fees.tariff_by_version(TOWN, published_with),
        version="usingen-2026-11",
        valid_from=date(2026, 11, 1),
        per_metre=(
            ("kerb", Decimal(99)),
            ("christmas_market", Decimal(99)),
            ("other", Decimal(99)),
        ),
    )
    tariffs = dict(market_fees.TARIFFS)
    tariffs[TOWN] = (*tariffs[TOWN], dearer)
    monkeypatch.setattr(market_fees, "TARIFFS", MappingProxyType(tariffs))
    at_market.select(seed=SEED, sheets={one.id: sheet_of(one)}, actor=MARKT, at=SELECTED)
    one.note_selection(at_market, actor=MARKT, at=SELECTED)
    assert one.decision is not None
    fee_rules = next(r for r in one.decision.rules if r.rules_id == market_fees.MARKET_FEE_RULES_ID)
    assert fee_rules.version == published_with

"""A market: publishing, the window, applications, the selection, give-up and move-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import DomainError, InvalidCommand
from domain.markets.calendar import MarketCalendar, MarketCodeTaken, calendar_id
from domain.markets.market import (
    MIN_RELIEF_DAYS,
    AlreadySelected,
    CriteriaSet,
    Criterion,
    Market,
    Offer,
    Pitch,
    market_id,
    required_documents,
)
from domain.personal_data import PersonalData
from domain.rules.market_fees import tariff_in_force
from domain.rules.market_selection import replay
from persistence.transcodings import PersonalDataInClear

TOWN = "usingen"
CLERK = Actor("mara.markt", "Mara Marktmeisterin", Role.CLERK, TOWN)
TRADER = Actor("haendler-1", "Hans Händler", Role.APPLICANT, TOWN)
SYSTEM = Actor("system", "Vorgang", Role.SYSTEM, TOWN)
SEED = "0123456789abcdef" * 4
PUBLISHED = datetime(2026, 8, 3, 9, tzinfo=UTC)
OPENS = datetime(2026, 8, 10, 8, tzinfo=UTC)  # 10:00 in Berlin
DEADLINE = datetime(2026, 9, 30, 22, tzinfo=UTC)  # midnight in Berlin
DURING = datetime(2026, 9, 1, 9, tzinfo=UTC)
AFTER = datetime(2026, 10, 5, 9, tzinfo=UTC)
DAYS = [date(2026, 11, 27) + timedelta(days=n) for n in range(3)]  # Fri to Sun
DECISIONS_BY = date(2026, 10, 23)
BEGINS = datetime(2026, 11, 26, 23, tzinfo=UTC)  # midnight in Berlin on the first day

CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("attractiveness", "Attraktivität des Standes", Decimal(40), "scored", 10),
        Criterion("known", "Bekannt und bewährt", Decimal(30), "attendance", 5),
        Criterion("newcomer", "Neubewerber", Decimal(10), "newcomer", 1),
        Criterion("need", "Bedarf der Kategorie", Decimal(20), "category_need", 1),
    ),
)


def pitch(
    number: str, frontage: str, *categories: str, power: bool = True, tap: bool = False
) -> Pitch:
    return Pitch(number, Decimal(frontage), power, tap, categories or ("crafts",))


def published(*, pitches: Sequence[Pitch] | None = None, **more: Any) -> Market:
    """Usingen's Christmas market of 2026: 27 to 29 November on the Marktplatz."""
    facts: dict[str, Any] = {
        "tenant": TOWN,
        "year": 2026,
        "code": "wm-26",
        "name": "Usinger Weihnachtsmarkt",
        "kind": "christmas_market",
        "regime": "festgesetzt",
        "days": DAYS,
        "site": "Marktplatz Usingen",
        "pitches": pitches
        if pitches is not None
        else [
            pitch("1", "3", "crafts", "christmas_goods"),
            pitch("2", "4", "crafts", "christmas_goods"),
            pitch("3", "6", "food", "drinks", tap=True),
        ],
        "categories": ["crafts", "christmas_goods", "food", "drinks"],
        "criteria": CRITERIA,
        "newcomer_share": Decimal("0.2"),
        "applications_from": OPENS,
        "deadline": DEADLINE,
        "decisions_by": DECISIONS_BY,
        "offer_days": 5,
        "staff": ["mara.markt"],
        "actor": CLERK,
        "at": PUBLISHED,
    }
    facts.update(more)
    return Market.publish(**facts)


def apply(
    market: Market,
    *,
    category: str = "crafts",
    frontage: str = "3",
    electricity: bool = False,
    water: bool = False,
    years: int = 0,
    case_id: UUID | None = None,
    at: datetime = DURING,
) -> UUID:
    case_id = case_id or uuid4()
    market.record_application(
        case_id=case_id,
        category=category,
        frontage_m=Decimal(frontage),
        electricity=electricity,
        water=water,
        years=years,
        actor=TRADER,
        at=at,
    )
    return case_id


def selected(market: Market, points: dict[UUID, int] | None = None) -> dict[str, Any]:
    sheets = {
        case_id: {"attractiveness": (points or {}).get(case_id, 5)}
        for case_id in market.applications
    }
    return market.select(seed=SEED, sheets=sheets, actor=CLERK, at=AFTER)


# ------------------------------------------------------------------ publishing


def test_a_market_has_the_id_of_its_town_year_and_normalised_code() -> None:
    market = published(code=" wm-26 ")
    assert market.id == market_id(TOWN, 2026, "WM-26")
    assert market.code == "WM-26"
    assert (market.first_day, market.last_day) == (date(2026, 11, 27), date(2026, 11, 29))
    assert [p.number for p in market.pitches] == ["1", "2", "3"]
    assert market.criteria == CRITERIA
    assert market.tariff_version == tariff_in_force(TOWN, DAYS[0]).version
    assert market.free_pitches == ("1", "2", "3")


def test_pitches_are_kept_in_the_order_people_number_them() -> None:
    market = published(
        pitches=[pitch("10", "3"), pitch("2", "3"), pitch("1a", "3")], categories=["crafts"]
    )
    assert [p.number for p in market.pitches] == ["1a", "2", "10"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "fair"}, "kind"),
        ({"regime": "free"}, "regime"),
        ({"days": []}, "days"),
        ({"days": [date(2027, 1, 2)]}, "days"),
        ({"pitches": []}, "pitches"),
        ({"pitches": [pitch("1", "0")]}, "pitches[0].frontage_m"),
        ({"pitches": [pitch("1", "3"), pitch("1", "4")]}, "pitches[1].number"),
        ({"pitches": [Pitch("1", Decimal(3), True, True, ())]}, "pitches[0].categories"),
        ({"pitches": [pitch("1", "3", "jewels")]}, "pitches[0].categories"),
        ({"categories": ["ride"]}, "categories"),
        ({"categories": []}, "categories"),
        ({"criteria": CriteriaSet("v", ())}, "criteria.criteria"),
        (
            {"criteria": CriteriaSet("v", (Criterion("a", "A", Decimal(0), "scored", 5),))},
            "criteria.criteria[0].weight",
        ),
        (
            {"criteria": CriteriaSet("v", (Criterion("a", "A", Decimal(1), "luck", 5),))},
            "criteria.criteria[0].kind",
        ),
        ({"newcomer_share": Decimal("0.6")}, "newcomer_share"),
        ({"deadline": OPENS}, "deadline"),
        ({"at": DEADLINE}, "deadline"),
        ({"decisions_by": date(2026, 9, 30)}, "decisions_by"),
        ({"decisions_by": DAYS[0] - timedelta(days=MIN_RELIEF_DAYS - 1)}, "decisions_by"),
        ({"offer_days": 0}, "offer_days"),
        ({"offer_days": 15}, "offer_days"),
        ({"code": "x"}, "code"),
        ({"name": " "}, "name"),
        ({"id": uuid4()}, "id"),
    ],
)
def test_publishing_refuses_what_cannot_be_held_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        published(**change)
    assert refused.value.field == field


def test_decisions_are_due_at_least_three_weeks_before_the_market() -> None:
    latest = DAYS[0] - timedelta(days=MIN_RELIEF_DAYS)
    assert published(decisions_by=latest).decisions_by == latest


def test_a_calendar_lists_markets_and_refuses_a_code_taken() -> None:
    calendar = MarketCalendar.start(tenant=TOWN, year=2026, actor=CLERK, at=PUBLISHED)
    assert calendar.id == calendar_id(TOWN, 2026)
    market = published()
    calendar.list_market(market_id=market.id, code="wm-26", actor=CLERK, at=PUBLISHED)
    with pytest.raises(MarketCodeTaken) as refused:
        calendar.list_market(market_id=uuid4(), code="WM-26 ", actor=CLERK, at=PUBLISHED)
    assert refused.value.field == "code"
    foreign = market_id("schmitten", 2026, "KERB")
    with pytest.raises(InvalidCommand) as not_ours:
        calendar.list_market(market_id=foreign, code="KERB", actor=CLERK, at=PUBLISHED)
    assert not_ours.value.field == "market_id"
    assert calendar.codes == {"WM-26": market.id}


@pytest.mark.parametrize(
    ("category", "regime", "documents"),
    [
        ("crafts", "festgesetzt", ("liability_insurance",)),
        ("crafts", "town_rules", ("trade_licence", "liability_insurance")),
        ("food", "festgesetzt", ("liability_insurance", "food_hygiene")),
        ("drinks", "town_rules", ("trade_licence", "liability_insurance", "food_hygiene")),
        ("ride", "festgesetzt", ("liability_insurance", "ride_approval")),
    ],
)
def test_the_documents_required_follow_the_category_and_the_market_privilege(
    category: str, regime: str, documents: tuple[str, ...]
) -> None:
    assert required_documents(category, regime) == documents


# ------------------------------------------------------------------ the window


def test_the_window_is_not_yet_open_then_open_then_closed_at_the_final_deadline() -> None:
    market = published()
    assert market.window_state(OPENS - timedelta(seconds=1)) == "not_yet_open"
    assert market.window_state(OPENS) == "open"
    assert market.window_state(DEADLINE - timedelta(seconds=1)) == "open"
    assert market.window_state(DEADLINE) == "closed"


def test_an_application_outside_the_window_is_refused_saying_when() -> None:
    market = published()
    with pytest.raises(InvalidCommand) as early:
        apply(market, at=OPENS - timedelta(minutes=1))
    assert early.value.field == "data.market"
    assert "open at 2026-08-10 10:00" in early.value.message
    with pytest.raises(InvalidCommand) as late:
        apply(market, at=DEADLINE)
    assert late.value.field == "data.market"
    assert "passed at 2026-10-01 00:00" in late.value.message
    assert not market.applications


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"category": "ride"}, "data.category"),
        ({"frontage": "4.5"}, "data.frontage_m"),
        ({"frontage": "0"}, "data.frontage_m"),
        ({"category": "food", "frontage": "7"}, "data.frontage_m"),
        ({"category": "food", "electricity": True}, "data.electricity"),
        ({"water": True}, "data.water"),
        ({"years": 51}, "data.years_of_attendance"),
    ],
)
def test_an_application_no_pitch_can_hold_is_refused_naming_the_field(
    facts: dict[str, Any], field: str
) -> None:
    market = published(
        pitches=[
            pitch("1", "3", "crafts", "christmas_goods"),
            pitch("2", "4", "crafts", "christmas_goods"),
            pitch("3", "6", "food", "drinks", power=False, tap=True),
        ]
    )
    with pytest.raises(InvalidCommand) as refused:
        apply(market, **facts)
    assert refused.value.field == field
    assert not market.applications


def test_a_case_is_recorded_once() -> None:
    market = published()
    case_id = apply(market)
    with pytest.raises(InvalidCommand) as again:
        apply(market, case_id=case_id)
    assert again.value.field == "case_id"
    assert list(market.applications) == [case_id]
    assert market.recorded(case_id)


def test_a_trader_applies_once_a_market_until_the_application_is_withdrawn() -> None:
    market = published()

    def by(*traders: str) -> UUID:
        case_id = uuid4()
        market.record_application(
            case_id=case_id,
            category="crafts",
            frontage_m=Decimal(3),
            electricity=False,
            water=False,
            years=0,
            actor=TRADER,
            at=DURING,
            traders=traders,
        )
        return case_id

    first = by("account-a", "business-x")
    for again in (("account-a", "business-y"), ("account-b", "business-x")):
        with pytest.raises(InvalidCommand) as refused:
            by(*again)
        assert refused.value.field == "data.business"
    assert list(market.applications) == [first]
    market.withdraw_application(case_id=first, actor=TRADER, at=DURING, reason="neu")
    second = by("account-a", "business-x")  # withdrawn: the trader may apply anew
    assert second in market.applications


# ------------------------------------------------------------------ the selection


def test_the_selection_waits_for_the_deadline_and_runs_once() -> None:
    market = published()
    apply(market)
    with pytest.raises(InvalidCommand) as early:
        market.select(seed=SEED, sheets={}, actor=CLERK, at=DURING)
    assert early.value.field == "window"
    record = selected(market)
    with pytest.raises(AlreadySelected):
        selected(market)
    assert market.selection_record == record
    assert market.selected_at == AFTER
    assert market.window_state(DURING) == "closed"


def test_a_missing_score_is_refused_naming_the_case_and_criterion() -> None:
    market = published()
    case_id = apply(market)
    with pytest.raises(InvalidCommand) as refused:
        market.select(seed=SEED, sheets={}, actor=CLERK, at=AFTER)
    assert refused.value.field == f"sheets[{case_id}].attractiveness"
    assert market.selected_at is None
    assert not any(isinstance(e, Market.SelectionMade) for e in market.pending_events)


def test_the_best_scored_get_the_smallest_pitch_that_fits_and_the_rest_are_told_why() -> None:
    market = published(newcomer_share=Decimal(0))
    strong = apply(market, years=5)
    middle = apply(market, years=2)
    weak = apply(market, years=1)
    cook = apply(market, category="food", frontage="5", water=True, years=3)
    record = selected(market, {strong: 10, middle: 8, weak: 2, cook: 5})
    assert market.pitch_of(strong) == "1"
    assert market.pitch_of(middle) == "2"
    assert market.pitch_of(cook) == "3"
    assert market.pitch_of(weak) is None
    assert market.assigned == {"1": strong, "2": middle, "3": cook}
    refused = market.result_of(weak)
    assert refused is not None
    assert refused["outcome"] == "refused"
    assert refused["reasons"][0]["reason"] == "category_full"
    assert f"Rang {market.rank_of(weak)} von 4" in refused["reasons"][0]["text"]
    assert record["criteria_version"] == "2026-1"
    assert record["weights"] == {
        "attractiveness": "40",
        "known": "30",
        "newcomer": "10",
        "need": "20",
    }
    assert replay(record).verdict == "same"


def test_newcomers_keep_their_share_of_the_pitches() -> None:
    market = published(newcomer_share=Decimal("0.2"))  # ceil(0.2 * 3) = 1 pitch
    veterans = [apply(market, years=5) for _ in range(2)]
    newcomer = apply(market, years=0)
    veteran_cook = apply(market, category="food", years=5)
    record = selected(market, {newcomer: 0})
    assert record["reserved_for_newcomers"] == 1
    assert market.pitch_of(newcomer) is not None
    result = market.result_of(newcomer)
    assert result is not None
    assert result["newcomer_share"] is True
    assert result["rank"] == 4
    assert sum(market.pitch_of(v) is not None for v in veterans) == 1
    assert market.pitch_of(veteran_cook) == "3"


def test_withdrawn_applications_are_no_inputs_of_the_selection() -> None:
    market = published()
    gone = apply(market)
    stays = apply(market)
    market.withdraw_application(case_id=gone, actor=TRADER, at=DURING, reason="krank")
    with pytest.raises(InvalidCommand):
        market.withdraw_application(case_id=gone, actor=TRADER, at=DURING, reason="nochmal")
    record = market.select(seed=SEED, sheets={stays: {"attractiveness": 3}}, actor=CLERK, at=AFTER)
    assert [a["case_id"] for a in record["applications"]] == [str(stays)]
    assert market.rank_of(gone) is None
    assert market.rank_of(stays) == 1


# ------------------------------------------------------------------ give-up and move-up


def _full_market() -> tuple[Market, list[UUID]]:
    """Two craft pitches (3 m, 4 m), five craft traders ranked by their scores."""
    market = published(
        pitches=[pitch("1", "3"), pitch("2", "4"), pitch("3", "6", "food")],
        categories=["crafts", "food"],
        newcomer_share=Decimal(0),
    )
    cases = [
        apply(market, years=3),
        apply(market, years=3),
        apply(market, years=3, frontage="4"),
        apply(market, years=3, frontage="3.5", electricity=True),
        apply(market, years=3),
    ]
    selected(market, dict(zip(cases, (10, 9, 8, 7, 6), strict=True)))
    return market, cases


def test_a_pitch_given_up_is_offered_to_the_next_in_rank_it_fits() -> None:
    market, cases = _full_market()
    assert [market.rank_of(c) for c in cases] == [1, 2, 3, 4, 5]
    assert market.assigned == {"1": cases[0], "2": cases[1]}
    offered = market.give_up_pitch(case_id=cases[0], actor=TRADER, at=AFTER, reason="Umzug")
    # the 3 m pitch: rank 3 (4 m) and rank 4 (3.5 m) do not fit; rank 5 does
    assert offered == cases[4]
    assert market.open_offer == Offer(cases[4], "1", AFTER + timedelta(days=5))
    assert market.pitch_of(cases[0]) is None
    assert market.free_pitches == ("3",)  # the food pitch: nobody applied for it
    assert market.accept_offer(case_id=cases[4], actor=TRADER, at=AFTER) == "1"
    assert market.assigned == {"1": cases[4], "2": cases[1]}
    assert market.open_offer is None


def test_a_declined_or_expired_offer_goes_on_down_the_ranks_and_never_back() -> None:
    market, cases = _full_market()
    first = market.give_up_pitch(case_id=cases[1], actor=CLERK, at=AFTER, reason="entzogen")
    assert first == cases[2]  # the 4 m pitch fits rank 3's 4 m stall
    second = market.decline_offer(case_id=cases[2], actor=TRADER, at=AFTER, reason="zu teuer")
    assert second == cases[3]
    with pytest.raises(InvalidCommand) as early:
        market.expire_offer(case_id=cases[3], actor=SYSTEM, at=AFTER)
    assert early.value.field == "at"
    third = market.expire_offer(case_id=cases[3], actor=SYSTEM, at=AFTER + timedelta(days=6))
    assert third == cases[4]
    with pytest.raises(InvalidCommand) as late:
        market.accept_offer(case_id=cases[4], actor=TRADER, at=AFTER + timedelta(days=12))
    assert late.value.field == "at"
    nobody = market.decline_offer(case_id=cases[4], actor=TRADER, at=AFTER, reason="nein")
    assert nobody is None
    assert market.free_pitches == ("2", "3")
    assert market.next_in_rank("2") is None


def test_an_offer_runs_out_by_the_market_at_the_latest() -> None:
    market, cases = _full_market()
    late = BEGINS - timedelta(days=2)
    market.give_up_pitch(case_id=cases[0], actor=TRADER, at=late, reason="krank")
    assert market.open_offer is not None
    assert market.open_offer.until == BEGINS
    with pytest.raises(InvalidCommand) as begun:
        market.give_up_pitch(case_id=cases[1], actor=TRADER, at=BEGINS, reason="krank")
    assert begun.value.field == "at"


def test_two_pitches_may_be_on_offer_at_once_to_different_traders() -> None:
    market, cases = _full_market()
    market.give_up_pitch(case_id=cases[1], actor=TRADER, at=AFTER, reason="a")
    market.give_up_pitch(case_id=cases[0], actor=TRADER, at=AFTER, reason="b")
    assert {o.case_id for o in market.open_offers.values()} == {cases[2], cases[4]}
    assert market.offer_of(cases[2]) == Offer(cases[2], "2", AFTER + timedelta(days=5))
    with pytest.raises(InvalidCommand):
        market.withdraw_application(case_id=cases[2], actor=TRADER, at=AFTER, reason="x")


def test_a_refused_trader_who_withdraws_is_never_offered_a_pitch() -> None:
    market, cases = _full_market()
    market.withdraw_application(case_id=cases[4], actor=TRADER, at=AFTER, reason="anderer Markt")
    assert market.give_up_pitch(case_id=cases[0], actor=TRADER, at=AFTER, reason="x") is None
    assert market.free_pitches == ("1", "3")


def test_only_a_case_holding_a_pitch_gives_it_up_and_only_an_offered_one_accepts() -> None:
    market, cases = _full_market()
    with pytest.raises(InvalidCommand):
        market.give_up_pitch(case_id=cases[3], actor=TRADER, at=AFTER, reason="x")
    with pytest.raises(InvalidCommand):
        market.accept_offer(case_id=cases[3], actor=TRADER, at=AFTER)
    with pytest.raises(InvalidCommand):
        market.decline_offer(case_id=cases[3], actor=TRADER, at=AFTER, reason="x")
    with pytest.raises(DomainError):
        market.withdraw_application(case_id=cases[0], actor=TRADER, at=AFTER, reason="x")


def test_reasons_are_the_cases_personal_data() -> None:
    market, cases = _full_market()
    market.give_up_pitch(case_id=cases[0], actor=TRADER, at=AFTER, reason="Umzug")
    given_up = next(e for e in market.pending_events if isinstance(e, Market.PitchGivenUp))
    assert isinstance(given_up.reason, PersonalData)
    assert given_up.reason.case_id == cases[0]


# ------------------------------------------------------------------ storage


def test_a_market_reads_back_from_the_store_as_it_was_saved() -> None:
    market, cases = _full_market()
    market.give_up_pitch(case_id=cases[1], actor=TRADER, at=AFTER, reason="krank")
    calendar = MarketCalendar.start(tenant=TOWN, year=2026, actor=CLERK, at=PUBLISHED)
    calendar.list_market(market_id=market.id, code=market.code, actor=CLERK, at=PUBLISHED)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:market-{uuid4()}?mode=memory&cache=shared",
    }
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        store.save(calendar, market)
        again: Aggregate = store.repository.get(market.id)
        listed: Aggregate = store.repository.get(calendar.id)
    finally:
        store.close()
    assert isinstance(again, Market)
    assert again.assigned == market.assigned
    assert again.open_offers == market.open_offers
    assert again.selection_record == market.selection_record
    assert again.pitches == market.pitches
    assert again.criteria == market.criteria
    assert again.applications == market.applications
    assert (again.days, again.decisions_by, again.newcomer_share) == (
        market.days,
        market.decisions_by,
        market.newcomer_share,
    )
    assert replay(again.selection_record or {}).verdict == "same"
    assert isinstance(listed, MarketCalendar)
    assert listed.codes == calendar.codes


# ------------------------------------------------------------------ fairness and form


def test_a_market_where_newcomers_could_never_win_is_not_published() -> None:
    known = Criterion("known", "Bekannt und bewährt", Decimal(3), "attendance", 5)
    look = Criterion("look", "Attraktivität", Decimal(3), "scored", 10)
    with pytest.raises(InvalidCommand) as refused:
        published(criteria=CriteriaSet("k", (known, look)), newcomer_share=Decimal(0))
    assert refused.value.field == "newcomer_share"
    heavier = replace(look, weight=Decimal(4))
    assert published(criteria=CriteriaSet("k", (known, heavier)), newcomer_share=Decimal(0))
    assert published(criteria=CriteriaSet("k", (known,)), newcomer_share=Decimal("0.5"))
    with pytest.raises(InvalidCommand) as none_reserved:  # rounds to no pitch at all
        published(criteria=CriteriaSet("k", (known,)), newcomer_share=Decimal("0.01"))
    assert none_reserved.value.field == "newcomer_share"


def test_no_selection_after_the_published_decisions_by_day() -> None:
    market = published()
    case_id = apply(market)
    too_late = datetime(2026, 10, 23, 22, 30, tzinfo=UTC)  # 24 October in Berlin
    with pytest.raises(InvalidCommand) as refused:
        market.select(seed=SEED, sheets={case_id: {"attractiveness": 5}}, actor=CLERK, at=too_late)
    assert refused.value.field == "at"
    in_time = datetime(2026, 10, 23, 21, 30, tzinfo=UTC)  # 23:30 on the 23rd in Berlin
    market.select(seed=SEED, sheets={case_id: {"attractiveness": 5}}, actor=CLERK, at=in_time)


def test_frontages_are_metres_to_the_centimetre_however_written() -> None:
    market = published(pitches=[pitch("1", "1E+1")], categories=["crafts"])
    assert str(market.pitches[0].frontage_m) == "10.00"
    case_id = apply(market, frontage="1E+1")
    assert str(market.applications[case_id].frontage_m) == "10.00"
    with pytest.raises(InvalidCommand) as absurd:
        apply(market, frontage="1E+30")
    assert absurd.value.field == "data.frontage_m"


@pytest.mark.parametrize("numbers", [("1", "01"), ("A1", "a1"), ("7", " 7 ")])
def test_pitch_numbers_people_read_as_one_are_refused(numbers: tuple[str, str]) -> None:
    with pytest.raises(InvalidCommand) as refused:
        published(pitches=[pitch(n, "3") for n in numbers], categories=["crafts"])
    assert refused.value.field == "pitches[1].number"

"""The feed publishes a town's markets (Kerb, Weihnachtsmarkt, #28) for trade and booking
systems: published, the selection's counts, a pitch given up, offered to the next in rank
and assigned; under the town and the stall application service, ids, pitch numbers and
counts only: never a trader, a score, the selection's seed or lots, a free-text reason or
the staff who did it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from api.feed_market_data import MarketEventData
from api.routes.feed import CaseEventData, feed_types
from domain.markets.market import Market
from infrastructure.demo import TOWNS
from infrastructure.demo_markets import CHRISTMAS, GAVE_UP_BECAUSE, KERB, market_of, seed_markets
from infrastructure.wiring import Vorgang
from projections.feed import DESCRIPTIONS, HOLIDAY_OFFERING_TYPES, PUBLIC_TYPES, TYPE_PREFIX, Feed
from projections.feed_markets import MARKET_TYPES
from projections.feed_query import FeedFilter, FeedQuery
from tests.projections.test_feed_water import feed, short
from tests.projections.test_markets_view import (
    CASES,
    CRITERIA,
    DAYS,
    DEADLINE,
    DECISIONS_BY,
    OPENS,
    PITCHES,
    SEED,
    STAFF,
    TRADER,
    active,
    apply,
    publish,
    sheets,
)

# An application and its withdrawal are the stall case's own events; the answers to an offer
# are followed by the next offer or the assignment; the staff are the town's business.
UNPUBLISHED = {
    "ApplicationRecorded",
    "ApplicationWithdrawn",
    "OfferDeclined",
    "OfferExpired",
}


def test_every_market_event_but_the_applications_and_answers_is_published_and_described() -> None:
    names = {
        klass.__name__
        for klass in vars(Market).values()
        if isinstance(klass, type) and issubclass(klass, Market.Event)
    } - {"Event", "Created"}
    assert {key.split(".")[1] for key in MARKET_TYPES} == names - UNPUBLISHED
    for key, (public, _) in MARKET_TYPES.items():
        assert PUBLIC_TYPES[key] == public
        assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
        assert public.startswith("market_")  # the feed's style
        assert not public.startswith("market_stall_")  # the cases' events are named so
    others = {public for key, public in PUBLIC_TYPES.items() if key not in MARKET_TYPES}
    assert others.isdisjoint(public for public, _ in MARKET_TYPES.values())
    assert not set(MARKET_TYPES) & set(HOLIDAY_OFFERING_TYPES)
    topics = set(Feed().topics())
    for event in names:  # the unpublished ones too: none is missed by accident
        assert f"domain.markets.market:Market.{event}" in topics or event in UNPUBLISHED


def a_market_through_every_step(vorgang: Vorgang) -> Market:
    """Published; four crafts stalls and a food stall apply for three pitches; selected;
    an admitted crafts stall gives up, the next in rank is offered the pitch and takes it."""
    market = publish()
    vorgang.store.save(market)
    feed(vorgang)  # the market's town, year and code are kept between batches
    for number, years in enumerate((4, 0, 2, 1)):
        apply(market, CASES[number], years=years, hours=number + 1)
    apply(market, CASES[4], "food", "5.50", hours=6, electricity=True)
    vorgang.store.save(market)
    market.select(seed=SEED, sheets=sheets(market), actor=STAFF, at=DEADLINE + timedelta(days=1))
    vorgang.store.save(market)
    feed(vorgang)
    holder = next(case for case in active(market) if market.pitch_of(case) in ("1", "2"))
    market.give_up_pitch(
        case_id=holder,
        actor=TRADER,
        at=DEADLINE + timedelta(days=2),
        reason="Herr Brenner liegt im Krankenhaus.",
    )
    vorgang.store.save(market)
    offer = market.open_offer
    assert offer is not None
    market.accept_offer(case_id=offer.case_id, actor=TRADER, at=DEADLINE + timedelta(days=3))
    vorgang.store.save(market)
    return market


def test_a_market_is_published_selected_and_a_pitch_moves_up(vorgang: Vorgang) -> None:
    market = a_market_through_every_step(vorgang)
    events = feed(vorgang)
    mine = [e for e in events if e["subject"] == str(market.id)]
    assert [short(e) for e in mine] == [
        "market_published",
        "market_selection_made",
        "market_pitch_given_up",
        "market_pitch_offered",
        "market_pitch_assigned",
    ]
    versions = []
    for event in mine:
        assert event["source"] == "/tenants/usingen"
        data = event["data"]
        MarketEventData.model_validate(data)  # the schema /feed/types documents
        assert set(data) <= set(MarketEventData.model_fields)
        assert (data["tenant"], data["market_id"], data["year"], data["code"]) == (
            "usingen",
            str(market.id),
            2027,
            "WEIHNACHTSMARKT",
        )
        assert (data["kind"], data["first_day"], data["last_day"], data["pitches"]) == (
            "christmas_market",
            DAYS[0].isoformat(),
            DAYS[-1].isoformat(),
            3,
        )
        assert data["service"] == "market-stall"
        assert data["links"]["market"] == f"/api/v1/markets/{market.id}"
        versions.append(data["version"])
    assert versions == sorted(versions)
    assert len({e["id"] for e in mine}) == len(mine)
    published, selected, given_up, offered, assigned = (e["data"] for e in mine)
    assert (
        published
        | {
            "name": "Weihnachtsmarkt am Schlossplatz",
            "regime": "festgesetzt",
            "site": "Schlossplatz",
            "days": [d.isoformat() for d in DAYS],
            "categories": ["crafts", "christmas_goods", "food"],
            "criteria_version": "2027-1",
            "newcomer_share": "0.2",
            "applications_from": OPENS.isoformat(),
            "deadline": DEADLINE.isoformat(),
            "decisions_by": DECISIONS_BY.isoformat(),
            "offer_days": 5,
        }
        == published
    )
    assert published["pitch_plan"] == [p.as_dict() for p in PITCHES]
    assert published["criteria"] == CRITERIA.as_dict()["criteria"]
    record = market.selection_record
    assert record is not None
    assert selected == selected | {
        "algorithm": "standplatzvergabe-2",
        "criteria_version": "2027-1",
        "applications": 5,
        "admitted": 3,
        "refused": 2,
        "pitches_free": 0,
        "selected_at": (DEADLINE + timedelta(days=1)).isoformat(),
    }
    offer_case = assigned["case_id"]
    assert given_up["case_id"] != offer_case
    assert given_up["pitch"] == offered["pitch"] == assigned["pitch"]
    assert "reason" not in given_up  # the case's text stays out
    assert offered["case_id"] == offer_case
    assert offered["because_of"] == given_up["case_id"]
    assert offered["until"] > given_up_time(mine[2])
    for data in (given_up, offered, assigned):
        assert data["links"]["case"] == f"/api/v1/cases/{data['case_id']}"
    assert market.pitch_of(CASES_BY_ID[offer_case]) == assigned["pitch"]

    text = json.dumps(mine, ensure_ascii=False)
    assert SEED not in text  # the seed stays with the record
    assert "lot" not in text
    assert "Brenner" not in text  # the give-up's reason is the case's
    assert "Krankenhaus" not in text
    assert STAFF.id not in text
    assert TRADER.id not in text
    assert "angebot" not in json.dumps([selected, given_up, offered, assigned])  # no scores


def given_up_time(event: dict[str, Any]) -> str:
    return str(event["time"])


CASES_BY_ID = {str(case): case for case in CASES}
DEMO_NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def test_a_towns_markets_are_published_to_that_town_only(vorgang: Vorgang) -> None:
    ours = publish()
    theirs = publish(tenant="schmitten")
    vorgang.store.save(ours, theirs)
    vorgang.projections.catch_up()
    apply(theirs, CASES[0])
    vorgang.store.save(theirs)
    theirs.select(seed=SEED, sheets=sheets(theirs), actor=STAFF, at=DEADLINE)
    vorgang.store.save(theirs)  # a later batch: the town comes from the kept market
    usingen = feed(vorgang, "usingen")
    schmitten = feed(vorgang, "schmitten")
    assert [e["subject"] for e in usingen] == [str(ours.id)]
    assert [(short(e), e["subject"], e["source"]) for e in schmitten] == [
        ("market_published", str(theirs.id), "/tenants/schmitten"),
        ("market_selection_made", str(theirs.id), "/tenants/schmitten"),
    ]
    only: Any = FeedFilter(tenants=("usingen",), service="market-stall")
    rows: list[dict[str, Any]] = FeedQuery(vorgang.views).page(only, after=0, limit=100)
    assert [e["subject"] for e in rows] == [str(ours.id)]


def test_the_feed_types_give_the_market_types_their_own_schema() -> None:
    types = {t.type: t for t in feed_types()}
    schema = MarketEventData.model_json_schema()
    for public, _ in MARKET_TYPES.values():
        listed = types[f"{TYPE_PREFIX}{public}.v1"]
        assert listed.dataschema == schema
        assert listed.description == DESCRIPTIONS[public]
    assert types[f"{TYPE_PREFIX}submitted.v1"].dataschema != schema


STALL_FIELDS = {
    "market_stall_applied": {"market_id", "category", "frontage_m"},
    "market_stall_selected": {"selection_outcome", "pitch", "rank", "ranked", "algorithm"},
    "market_stall_pitch_given_up": {"pitch", "by_the_town"},
    "market_stall_pitch_offered": {"pitch", "until"},
    "market_stall_offer_accepted": {"pitch"},
}


def test_the_stall_cases_events_name_market_pitch_and_rank_never_the_trader(
    vorgang: Vorgang,
) -> None:
    town = TOWNS[0]
    cases = seed_markets(vorgang, town, DEMO_NOW)
    kerb = market_of(vorgang, town, KERB.code, DEMO_NOW)
    christmas = market_of(vorgang, town, CHRISTMAS.code, DEMO_NOW)
    markets = {str(kerb.id), str(christmas.id)}
    events = [e for e in feed(vorgang) if e["subject"] in {str(c) for c in cases}]
    stall = [e for e in events if short(e).startswith("market_stall_")]
    assert Counter(short(e) for e in stall) == {
        "market_stall_applied": len(KERB.traders) + len(CHRISTMAS.traders),
        "market_stall_selected": len(KERB.traders),
        "market_stall_pitch_given_up": 1,
        "market_stall_pitch_offered": 1,
        "market_stall_offer_accepted": 1,
    }
    for event in stall:
        data = event["data"]
        CaseEventData.model_validate(data)  # the schema /feed/types documents
        assert set(data) <= set(CaseEventData.model_fields)
        public = short(event)
        assert STALL_FIELDS[public] <= set(data), public
        assert data["service"] == "market-stall"
        case = UUID(event["subject"])
        if public == "market_stall_selected":
            assert (data["rank"], data["pitch"], data["ranked"]) == (
                kerb.rank_of(case),
                (kerb.result_of(case) or {}).get("pitch"),
                len(KERB.traders),
            )
            assert data["selection_outcome"] == ("admitted" if data["pitch"] else "refused")
        if public == "market_stall_applied":
            assert data["market_id"] in markets
    [given_up] = [e["data"] for e in stall if short(e) == "market_stall_pitch_given_up"]
    assert given_up["by_the_town"] is False
    [accepted] = [e["data"] for e in stall if short(e) == "market_stall_offer_accepted"]
    assert accepted["pitch"] == given_up["pitch"]

    text = json.dumps(events, ensure_ascii=False)
    for trader in (*KERB.traders, *CHRISTMAS.traders):
        assert trader.business not in text
        assert trader.contact not in text
        assert trader.product_range not in text
    assert GAVE_UP_BECAUSE not in text
    assert "attraktivitaet" not in text  # no score sheet
    assert "lot" not in text
    assert "Reisegewerbekarte" not in text

"""The markets view lists a town's markets (Kerb, Weihnachtsmarkt) with where each stands at
the hour asked (published, open, closed, selected, ended) and how many applications there
are, admitted, refused, given up and on offer, and how many pitches are free, through the
selection, a give-up and the move-up after it, as the market itself counts them; each
application by its case id, rank, total and pitch; each town apart, nothing personal, and a
rebuild gives the same rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.actor import Actor, Role
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch, market_id
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.market_query import (
    applications_of,
    market_of,
    markets_of,
    open_offers,
    state_at,
    window_at,
)
from projections.markets import Markets

TOWN = "usingen"
STAFF = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
OTHER_STAFF = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
TRADER = Actor("portal:haendler-1", "Hans Brenner", Role.APPLICANT, TOWN)
YEAR = 2027
OPENS = datetime(2027, 8, 2, 6, tzinfo=UTC)  # eight o'clock in Berlin
DEADLINE = datetime(2027, 9, 15, 6, tzinfo=UTC)
DECISIONS_BY = date(2027, 10, 15)
DAYS = [date(2027, 12, 3), date(2027, 12, 4), date(2027, 12, 5)]
CASES = [UUID(f"00000000-0000-4000-8000-{n:012d}") for n in range(1, 12)]
SEED = "5eed" * 16
PITCHES = [
    Pitch("1", Decimal("3.00"), False, False, ("crafts", "christmas_goods")),
    Pitch("2", Decimal("4.00"), True, False, ("crafts", "christmas_goods", "food")),
    Pitch("10", Decimal("6.00"), True, True, ("food", "drinks")),
]
CRITERIA = CriteriaSet(
    "2027-1",
    (
        Criterion("angebot", "Attraktivität des Angebots", Decimal(3), "scored", 10),
        Criterion("bewaehrt", "Bekannt und bewährt", Decimal(1), "attendance", 5),
        Criterion("neu", "Neubewerber", Decimal(1), "newcomer", 1),
    ),
)


def publish(tenant: str = TOWN, code: str = "WEIHNACHTSMARKT", **changes: Any) -> Market:
    facts: dict[str, Any] = {
        "tenant": tenant,
        "year": YEAR,
        "code": code,
        "name": "Weihnachtsmarkt am Schlossplatz",
        "kind": "christmas_market",
        "regime": "festgesetzt",
        "days": DAYS,
        "site": "Schlossplatz",
        "pitches": PITCHES,
        "categories": ["crafts", "christmas_goods", "food"],
        "criteria": CRITERIA,
        "newcomer_share": Decimal("0.2"),
        "applications_from": OPENS,
        "deadline": DEADLINE,
        "decisions_by": DECISIONS_BY,
        "offer_days": 5,
        "staff": [STAFF.id],
        "actor": STAFF if tenant == TOWN else OTHER_STAFF,
        "at": OPENS - timedelta(days=14),
    }
    return Market.publish(**(facts | changes))


def apply(
    market: Market,
    case_id: UUID,
    category: str = "crafts",
    frontage: str = "3.00",
    years: int = 0,
    hours: int = 1,
    *,
    electricity: bool = False,
) -> None:
    """A trader's application, recorded while the window is open."""
    market.record_application(
        case_id=case_id,
        category=category,
        frontage_m=Decimal(frontage),
        electricity=electricity,
        water=False,
        years=years,
        actor=TRADER,
        at=OPENS + timedelta(hours=hours),
    )


def active(market: Market) -> list[UUID]:
    """The applications recorded and not withdrawn, in the order recorded."""
    return [case for case in market.applications if case not in market.withdrawn]


def sheets(market: Market, points: int = 5) -> dict[UUID, dict[str, int]]:
    """Every application still standing scored alike on the one scored criterion."""
    return {case: {"angebot": points} for case in active(market)}


COUNTED = ("state", "applications", "withdrawn", "admitted", "refused", "given_up", "offered")


def counts(vorgang: Vorgang, market: Market, now: datetime) -> dict[str, Any]:
    vorgang.projections.catch_up()
    row = market_of(vorgang.views, market.id, now=now)
    assert row is not None
    return {name: row[name] for name in (*COUNTED, "pitches_free")}


def as_the_market_counts(market: Market) -> dict[str, Any]:
    """What the market itself says: applications standing, pitches held, on offer, free."""
    return {
        "applications": len(active(market)),
        "admitted": len(market.assigned),
        "offered": len(market.open_offers),
        "pitches_free": len(market.free_pitches),
    }


def test_a_market_counts_its_applications_through_selection_give_up_and_move_up(
    vorgang: Vorgang,
) -> None:
    market = publish()
    vorgang.store.save(market)
    before = OPENS - timedelta(minutes=1)
    assert counts(vorgang, market, before) == dict.fromkeys(COUNTED[1:], 0) | {
        "state": "published",
        "pitches_free": 3,
    }
    # five crafts stalls of 3 m for the two pitches that hold crafts, one food stall
    for number, years in enumerate((4, 0, 2, 1, 3)):
        apply(market, CASES[number], years=years, hours=number + 1)
    apply(market, CASES[5], "food", "5.50", hours=7, electricity=True)
    market.withdraw_application(
        case_id=CASES[3], actor=TRADER, at=OPENS + timedelta(days=1), reason="Krank."
    )
    vorgang.store.save(market)
    assert counts(vorgang, market, OPENS + timedelta(days=2)) == {
        "state": "open",
        "applications": 5,
        "withdrawn": 1,
        "admitted": 0,
        "refused": 0,
        "given_up": 0,
        "offered": 0,
        "pitches_free": 3,
    }
    assert counts(vorgang, market, DEADLINE)["state"] == "closed"  # by the hour

    selected = DEADLINE + timedelta(days=2)
    market.select(seed=SEED, sheets=sheets(market), actor=STAFF, at=selected)
    vorgang.store.save(market)
    after = counts(vorgang, market, selected)
    assert after == after | as_the_market_counts(market) | {"state": "selected"}
    assert after["admitted"] == 3  # every pitch went: the food stall to the long one
    assert after["refused"] == 2
    rows = applications_of(vorgang.views, market.id)
    assert [r["case_id"] for r in rows if r["rank"] is not None] == sorted(
        active(market), key=lambda case: market.rank_of(case) or 0
    )
    for row in rows:
        case = row["case_id"]
        if case == CASES[3]:
            assert (row["status"], row["rank"], row["pitch"]) == ("withdrawn", None, None)
            continue
        assert row["rank"] == market.rank_of(case)
        assert row["pitch"] == market.pitch_of(case)
        assert row["status"] == ("admitted" if market.pitch_of(case) else "refused")
        outcome = market.result_of(case)
        assert outcome is not None
        assert row["total"] == Decimal(outcome["total"])
    market_row = market_of(vorgang.views, market.id, now=selected)
    assert market_row is not None
    assert market_row["selected_at"] == selected

    # the best-ranked crafts stall gives its pitch up: the next in rank that fits is offered it
    given_up = next(case for case in active(market) if market.pitch_of(case) in ("1", "2"))
    pitch = market.pitch_of(given_up)
    market.give_up_pitch(
        case_id=given_up, actor=TRADER, at=selected + timedelta(days=1), reason="verhindert"
    )
    vorgang.store.save(market)
    offer = market.open_offer
    assert offer is not None
    assert offer.pitch == pitch
    later = selected + timedelta(days=1)
    after = counts(vorgang, market, later)
    assert after == after | as_the_market_counts(market)
    assert (after["given_up"], after["offered"], after["refused"]) == (1, 1, 1)
    assert open_offers(vorgang.views, market.id) == [
        {"case_id": offer.case_id, "pitch": pitch, "until": offer.until}
    ]

    # the one offered declines; the last refused that fits is offered it and accepts
    market.decline_offer(
        case_id=offer.case_id, actor=TRADER, at=later + timedelta(hours=1), reason="zu spät"
    )
    vorgang.store.save(market)
    second = market.open_offer
    assert second is not None
    assert second.case_id != offer.case_id
    market.accept_offer(case_id=second.case_id, actor=TRADER, at=later + timedelta(hours=2))
    vorgang.store.save(market)
    after = counts(vorgang, market, later + timedelta(hours=3))
    assert after == after | as_the_market_counts(market)
    assert after == {
        "state": "selected",
        "applications": 5,
        "withdrawn": 1,
        "admitted": 3,
        "refused": 1,  # the one who declined
        "given_up": 1,
        "offered": 0,
        "pitches_free": 0,
    }
    assert open_offers(vorgang.views, market.id) == []
    statuses = {r["case_id"]: r["status"] for r in applications_of(vorgang.views, market.id)}
    assert statuses[given_up] == "given_up"
    assert statuses[offer.case_id] == "declined"
    assert statuses[second.case_id] == "admitted"
    [moved_up] = [
        r
        for r in applications_of(vorgang.views, market.id, status="admitted")
        if r["case_id"] == second.case_id
    ]
    assert moved_up["pitch"] == pitch

    ended = datetime(2027, 12, 5, 23, 0, tzinfo=UTC)  # midnight in Berlin
    assert counts(vorgang, market, ended)["state"] == "ended"


def test_the_market_as_published(vorgang: Vorgang) -> None:
    market = publish(code=" kerb-2027 ", kind="kerb", regime="town_rules", name="Kerb")
    apply(market, CASES[0], "crafts", "2.50", years=3)
    vorgang.store.save(market)
    vorgang.projections.catch_up()
    row = market_of(vorgang.views, market.id, now=OPENS + timedelta(days=3))
    assert row is not None
    assert row == row | {
        "market_id": market.id,
        "tenant": TOWN,
        "year": YEAR,
        "code": market.code,
        "name": "Kerb",
        "kind": "kerb",
        "regime": "town_rules",
        "first_day": DAYS[0],
        "last_day": DAYS[-1],
        "days": DAYS,
        "site": "Schlossplatz",
        "pitches": 3,
        "categories": ["crafts", "christmas_goods", "food"],
        "criteria_version": "2027-1",
        "newcomer_share": Decimal("0.2"),
        "applications_from": OPENS,
        "deadline": DEADLINE,
        "decisions_by": DECISIONS_BY,
        "offer_days": 5,
        "selected_at": None,
        "state": "open",
        "window": "open",
        "applications": 1,
    }
    assert row["pitch_plan"] == [p.as_dict() for p in PITCHES]
    assert row["criteria"] == CRITERIA.as_dict()
    [application] = applications_of(vorgang.views, market.id)
    assert application == application | {
        "case_id": CASES[0],
        "category": "crafts",
        "frontage_m": Decimal("2.50"),
        "electricity": False,
        "water": False,
        "status": "applied",
        "pitch": None,
        "rank": None,
    }
    # nothing of the trader but the case: no name, no years of attendance, no staff
    text = json.dumps(
        [
            vorgang.views.query(f"SELECT * FROM {name}")  # noqa: S608
            for name in Markets().tables()
        ],
        default=str,
    )
    assert "Hans Brenner" not in text
    assert TRADER.id not in text
    assert STAFF.id not in text


def test_a_towns_markets_are_listed_by_year_and_code_and_state(vorgang: Vorgang) -> None:
    kerb = publish(code="KERB", kind="kerb", applications_from=OPENS + timedelta(days=5))
    christmas = publish()
    theirs = publish(tenant="schmitten")
    vorgang.store.save(kerb, christmas, theirs)
    vorgang.projections.catch_up()
    now = OPENS + timedelta(days=1)
    listed = markets_of(vorgang.views, TOWN, YEAR, now=now)
    assert [(m["code"], m["state"], m["window"]) for m in listed] == [
        ("KERB", "published", "not_yet_open"),
        ("WEIHNACHTSMARKT", "open", "open"),
    ]
    assert markets_of(vorgang.views, TOWN, YEAR - 1, now=now) == []
    assert [m["code"] for m in markets_of(vorgang.views, TOWN, now=now, state="open")] == [
        "WEIHNACHTSMARKT"
    ]
    [other] = markets_of(vorgang.views, "schmitten", YEAR, now=now)
    assert other["market_id"] == theirs.id == market_id("schmitten", YEAR, "WEIHNACHTSMARKT")


def test_the_state_follows_the_hour_asked() -> None:
    row: dict[str, object] = {
        "applications_from": OPENS,
        "deadline": DEADLINE,
        "selected_at": None,
        "last_day": DAYS[-1],
    }
    assert (state_at(row, OPENS - timedelta(seconds=1)), window_at(row, OPENS)) == (
        "published",
        "open",
    )
    assert state_at(row, OPENS) == "open"
    assert (state_at(row, DEADLINE), window_at(row, DEADLINE)) == ("closed", "closed")
    assert state_at(row | {"selected_at": DEADLINE}, DEADLINE) == "selected"
    # the last day ends at midnight in Berlin (23:00 UTC in winter)
    assert state_at(row, datetime(2027, 12, 5, 22, 59, tzinfo=UTC)) == "closed"
    assert state_at(row, datetime(2027, 12, 5, 23, 0, tzinfo=UTC)) == "ended"


class OneByOne(Markets):
    """The same view under a version of its own, filled one event per batch."""

    version = 98


class AllAtOnce(Markets):
    """The same view under another version, filled in one batch."""

    version = 99


def test_a_rebuild_gives_the_same_rows_whatever_the_batches(vorgang: Vorgang) -> None:
    market, kerb = publish(), publish(code="KERB", kind="kerb")
    for number in range(4):
        apply(market, CASES[number], years=number, hours=number + 1)
        apply(kerb, CASES[number + 4], hours=number + 1)
    vorgang.store.save(market, kerb)
    market.select(seed=SEED, sheets=sheets(market), actor=STAFF, at=DEADLINE)
    vorgang.store.save(market)
    holder = next(case for case in active(market) if market.pitch_of(case) is not None)
    market.give_up_pitch(case_id=holder, actor=STAFF, at=DEADLINE, reason="Widerruf")
    vorgang.store.save(market)
    vorgang.projections.catch_up()
    live, one, many = Markets(), OneByOne(), AllAtOnce()
    ProjectionRunner(vorgang.store, vorgang.views, one, batch_size=1).catch_up()
    ProjectionRunner(vorgang.store, vorgang.views, many, batch_size=1000).catch_up()
    for tables in zip(live.tables(), one.tables(), many.tables(), strict=True):
        rows = [
            vorgang.views.query(f"SELECT * FROM {name} ORDER BY 1")  # noqa: S608
            for name in tables
        ]
        assert rows[0], tables[0]
        assert rows[0] == rows[1] == rows[2], tables[0]


def test_the_view_reads_the_markets_events() -> None:
    view = Markets()
    assert view.tables() == ["markets_v1", "markets_v1_applications"]
    topics = view.topics()
    names = {
        klass.__name__
        for klass in vars(Market).values()
        if isinstance(klass, type) and issubclass(klass, Market.Event)
    } - {"Event", "Created"}
    for event in names:  # none is missed by accident
        assert f"domain.markets.market:Market.{event}" in topics

"""The markets demo: in every town a Kerb already selected (admissions with a pitch and fee,
refusals with reasons, a pitch given up and the move-up accepted) and a Christmas market
open for applications now with a few applications; each through the real services; the
markets view and the feed show them; running it again creates nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.decision import DecisionOutcome
from domain.markets.market import Market
from domain.tenants import TENANTS
from domain.working_days import berlin_date
from infrastructure.demo import TOWNS
from infrastructure.demo_markets import CHRISTMAS, KERB, market_of, seed_markets
from infrastructure.wiring import Vorgang
from projections.market_query import markets_of
from tests.projections.test_feed_water import feed, short

NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def test_every_town_has_a_kerb_selected_with_a_move_up_and_a_christmas_market_open(
    vorgang: Vorgang,
) -> None:
    first = [i for town in TOWNS for i in seed_markets(vorgang, town, NOW)]
    position = vorgang.store.recorder.max_notification_id()
    again = [i for town in TOWNS for i in seed_markets(vorgang, town, NOW)]
    assert again == first
    assert vorgang.store.recorder.max_notification_id() == position  # nothing new stored
    # and on a later day (the open window closed meanwhile): the town is left as it was
    later = [i for town in TOWNS for i in seed_markets(vorgang, town, NOW + timedelta(days=45))]
    assert later == first
    assert vorgang.store.recorder.max_notification_id() == position

    traders = len(KERB.traders) + len(CHRISTMAS.traders)
    assert len(first) == len(set(first)) == traders * len(TENANTS)
    cases: list[Any] = [vorgang.store.repository.get(case_id) for case_id in first]
    assert {c.service for c in cases} == {"market-stall"}
    assert Counter(c.tenant for c in cases) == dict.fromkeys(TENANTS, traders)
    for town in TOWNS:
        kerb = market_of(vorgang, town, KERB.code, NOW)
        christmas = market_of(vorgang, town, CHRISTMAS.code, NOW)
        assert {kerb.tenant, christmas.tenant} == {town.tenant}

        # the Kerb: selected after its deadline, every pitch held by one case, no case twice
        assert kerb.selected_at is not None
        assert kerb.window_state(NOW) == "closed"
        assert len(kerb.applications) == len(KERB.traders)
        held = list(kerb.assigned.values())
        assert len(kerb.assigned) == len(KERB.pitches) == len(set(held))
        assert kerb.open_offers == {}
        mine = {c.id: c for c in cases if c.id in kerb.applications}
        standings = Counter(c.standing for c in mine.values())
        assert standings == {"admitted": 4, "refused": 2, "given_up": 1}, town.tenant
        statuses = Counter(c.status for c in mine.values())
        assert statuses == {"notified": 6, "pitch_given_up": 1}, town.tenant
        for case in mine.values():
            decision = case.decision
            assert decision is not None
            if case.standing == "refused":  # with reasons, by decisions_by
                assert decision.outcome is DecisionOutcome.REJECTED
                assert decision.particulars["reasons"]
                assert berlin_date(decision.decided_at) <= kerb.decisions_by
                assert case.notified_on is not None  # in time for interim relief
                assert case.notified_on <= kerb.decisions_by
            if case.standing == "admitted":
                assert case.pitch == kerb.pitch_of(case.id)
                assert decision.outcome in (
                    DecisionOutcome.APPROVED,
                    DecisionOutcome.APPROVED_WITH_CONDITIONS,
                )
        events = [
            vorgang.store.mapper.to_domain_event(e)
            for e in vorgang.store.recorder.select_events(kerb.id)
        ]
        [given_up] = [e for e in events if isinstance(e, Market.PitchGivenUp)]
        [offered] = [e for e in events if isinstance(e, Market.PitchOffered)]
        [assigned] = [e for e in events if isinstance(e, Market.PitchAssigned)]
        assert given_up.pitch == offered.pitch == assigned.pitch
        assert offered.case_id == assigned.case_id != given_up.case_id
        assert kerb.pitch_of(assigned.case_id) == assigned.pitch
        assert mine[given_up.case_id].standing == "given_up"
        assert (kerb.rank_of(given_up.case_id) or 0) < (kerb.rank_of(assigned.case_id) or 0)

        # the Christmas market: open for applications now, a few recorded, not selected
        assert christmas.window_state(NOW) == "open"
        assert christmas.selected_at is None
        assert len(christmas.applications) == len(CHRISTMAS.traders)
        assert christmas.assigned == {}
        waiting = [c for c in cases if c.id in christmas.applications]
        assert {c.status for c in waiting} == {"applied"}

    # the read model and the feed show both markets of every town
    vorgang.projections.catch_up()
    for town in TOWNS:
        listed = markets_of(vorgang.views, town.tenant, now=NOW)
        assert {(m["code"], m["state"]) for m in listed} == {
            (KERB.code, "selected"),
            (CHRISTMAS.code, "open"),
        }
        [kerb_row] = [m for m in listed if m["code"] == KERB.code]
        assert (kerb_row["admitted"], kerb_row["refused"], kerb_row["given_up"]) == (4, 2, 1)
        assert (kerb_row["offered"], kerb_row["pitches_free"]) == (0, 0)
        published = Counter(short(e) for e in feed(vorgang, town.tenant))
        assert published["market_published"] == 2
        assert published["market_selection_made"] == 1
        assert published["market_pitch_assigned"] == 1
        assert published["market_stall_applied"] == len(KERB.traders) + len(CHRISTMAS.traders)

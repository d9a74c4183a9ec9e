"""The feed publishes a town's reading campaigns, so a fee system learns when a year's
readings are complete: opened with its start and deadline, each run of the estimates with
its counts, closed; under the town and the reading service, never naming the staff."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from domain.actor import Actor, Role
from domain.water.campaign import ReadingCampaign, campaign_id
from infrastructure.wiring import Vorgang
from projections.feed import (
    DESCRIPTIONS,
    PUBLIC_TYPES,
    WATER_CAMPAIGN_TYPES,
    WATER_METER_TYPES,
    Feed,
)
from projections.feed_query import FeedFilter, FeedQuery
from tests.projections.test_feed_water import feed, short

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
SCHMITTEN = Actor("bernd.kurz", "Bernd Kurz", Role.CLERK, "schmitten")


def open_campaign(tenant: str, year: int, actor: Actor = CLERK) -> ReadingCampaign:
    return ReadingCampaign.open(
        tenant=tenant,
        year=year,
        starts_on=date(year, 11, 15),
        deadline=date(year + 1, 1, 15),
        actor=actor,
        at=datetime(year, 11, 1, 8, tzinfo=UTC),
    )


def test_every_campaign_event_is_published_and_described() -> None:
    names = {
        klass.__name__
        for klass in vars(ReadingCampaign).values()
        if isinstance(klass, type) and issubclass(klass, ReadingCampaign.Event)
    } - {"Event", "Created"}
    assert {key.split(".")[1] for key in WATER_CAMPAIGN_TYPES} == names
    for key, (public, _) in WATER_CAMPAIGN_TYPES.items():
        assert PUBLIC_TYPES[key] == public
        assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
        assert public.startswith("water_campaign_")  # the feed's style
    # A campaign's type is its own: no case's or meter's event shares it.
    others = {public for key, public in PUBLIC_TYPES.items() if key not in WATER_CAMPAIGN_TYPES}
    assert others.isdisjoint(public for public, _ in WATER_CAMPAIGN_TYPES.values())
    assert not set(WATER_CAMPAIGN_TYPES) & set(WATER_METER_TYPES)
    topics = set(Feed().topics())
    for event in ("Opened", "EstimatesMade", "Closed"):
        assert f"domain.water.campaign:ReadingCampaign.{event}" in topics


def test_a_campaign_is_published_opened_estimated_and_closed(vorgang: Vorgang) -> None:
    campaign = open_campaign("usingen", 2025)
    vorgang.store.save(campaign)
    feed(vorgang)  # the campaign's town and year are kept between batches
    campaign.record_estimates(
        estimated=12, not_estimable=2, actor=CLERK, at=datetime(2026, 1, 20, 7, tzinfo=UTC)
    )
    campaign.record_estimates(  # a later run: a meter installed late
        estimated=1, not_estimable=0, actor=CLERK, at=datetime(2026, 1, 27, 7, tzinfo=UTC)
    )
    vorgang.store.save(campaign)
    feed(vorgang)
    campaign.close(actor=CLERK, at=datetime(2026, 2, 1, 10, 30, tzinfo=UTC))
    vorgang.store.save(campaign)

    events = feed(vorgang)
    text = json.dumps(events, ensure_ascii=False)
    assert CLERK.id not in text  # who did it is the town's business
    assert "Schmidt" not in text
    mine = [e for e in events if e["subject"] == str(campaign_id("usingen", 2025))]
    assert [short(e) for e in mine] == [
        "water_campaign_opened",
        "water_campaign_estimates_made",
        "water_campaign_estimates_made",
        "water_campaign_closed",
    ]
    for number, event in enumerate(mine, start=1):
        assert event["source"] == "/tenants/usingen"
        data = event["data"]
        assert data["tenant"] == "usingen"
        assert data["campaign_id"] == str(campaign.id)
        assert (data["year"], data["starts_on"], data["deadline"]) == (
            2025,
            "2025-11-15",
            "2026-01-15",
        )
        assert data["service"] == "water-meter-reading"
        assert data["version"] == number
        assert data["links"] == {"campaign": "/api/v1/water-campaigns/2025"}
        assert "actor_id" not in data
    opened, first, second, closed = (e["data"] for e in mine)
    assert mine[0]["time"] == "2025-11-01T08:00:00+00:00"  # when it was opened
    assert "estimated" not in opened
    assert "closed_at" not in opened
    assert (first["estimated"], first["not_estimable"], first["estimated_at"]) == (
        12,
        2,
        "2026-01-20T07:00:00+00:00",
    )
    assert (second["estimated"], second["not_estimable"]) == (1, 0)
    assert closed["closed_at"] == "2026-02-01T10:30:00+00:00"
    assert mine[-1]["time"] == "2026-02-01T10:30:00+00:00"
    assert len({e["id"] for e in mine}) == len(mine)


def test_a_towns_campaigns_are_published_to_that_town_only(vorgang: Vorgang) -> None:
    ours = open_campaign("usingen", 2025)
    theirs = open_campaign("schmitten", 2025, SCHMITTEN)  # the same year elsewhere
    vorgang.store.save(ours, theirs)
    vorgang.projections.catch_up()
    theirs.close(actor=SCHMITTEN, at=datetime(2026, 2, 1, 9, tzinfo=UTC))
    vorgang.store.save(theirs)  # a later batch: the town comes from the kept campaign
    usingen = feed(vorgang, "usingen")
    schmitten = feed(vorgang, "schmitten")
    assert str(ours.id) in {e["subject"] for e in usingen}
    assert str(theirs.id) not in {e["subject"] for e in usingen}
    assert [(short(e), e["subject"], e["source"]) for e in schmitten] == [
        ("water_campaign_opened", str(theirs.id), "/tenants/schmitten"),
        ("water_campaign_closed", str(theirs.id), "/tenants/schmitten"),
    ]
    only_water = FeedFilter(tenants=("usingen",), service="water-meter-reading")
    rows: list[dict[str, Any]] = FeedQuery(vorgang.views).page(only_water, after=0, limit=100)
    assert [e["subject"] for e in rows] == [str(ours.id)]

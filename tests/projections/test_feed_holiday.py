"""The feed publishes a town's holiday offerings (Ferienspiele, #27) for youth welfare and
booking systems: published, its window closed early, its places drawn, a place moved up
after a cancellation and its health notes erased after it ended; under the town and the
holiday registration service, ids and counts only: never a child's key or age, a health
note, the draw's seed or lots, a free-text reason or the staff who did it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from api.routes.feed import HolidayOfferingEventData, feed_types
from domain.holiday.offering import HolidayOffering
from infrastructure.wiring import Vorgang
from projections.feed import (
    DESCRIPTIONS,
    HOLIDAY_OFFERING_TYPES,
    PUBLIC_TYPES,
    TYPE_PREFIX,
    WATER_CAMPAIGN_TYPES,
    Feed,
)
from projections.feed_query import FeedFilter, FeedQuery
from tests.projections.test_feed_water import feed, short
from tests.projections.test_holiday_offerings_view import (
    CASES,
    CLOSES,
    ENDS,
    OPENS,
    STAFF,
    publish,
    register,
)

SEED = "5eed" * 16
UNPUBLISHED = {"RegistrationRecorded", "RegistrationCancelled", "StaffChanged"}


def test_every_offering_event_but_the_registrations_and_staff_is_published_and_described() -> None:
    names = {
        klass.__name__
        for klass in vars(HolidayOffering).values()
        if isinstance(klass, type) and issubclass(klass, HolidayOffering.Event)
    } - {"Event", "Created"}
    assert {key.split(".")[1] for key in HOLIDAY_OFFERING_TYPES} == names - UNPUBLISHED
    for key, (public, _) in HOLIDAY_OFFERING_TYPES.items():
        assert PUBLIC_TYPES[key] == public
        assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
        assert public.startswith("holiday_offering_")  # the feed's style
    others = {public for key, public in PUBLIC_TYPES.items() if key not in HOLIDAY_OFFERING_TYPES}
    assert others.isdisjoint(public for public, _ in HOLIDAY_OFFERING_TYPES.values())
    assert not set(HOLIDAY_OFFERING_TYPES) & set(WATER_CAMPAIGN_TYPES)
    topics = set(Feed().topics())
    for event in names:  # the unpublished ones too: none is missed by accident
        assert f"domain.holiday.offering:HolidayOffering.{event}" in topics or event in UNPUBLISHED


def an_offering_through_every_step(vorgang: Vorgang) -> HolidayOffering:
    """Published; four children register for three places; closed early,
    drawn, an allocated family cancels and the next waiting moves up; ended, health erased."""
    offering = publish(places=3)
    vorgang.store.save(offering)
    feed(vorgang)  # the offering's town, year and code are kept between batches
    for number in range(4):
        register(offering, CASES[number], 1, hours=number + 1)
    offering.close_window(actor=STAFF, at=OPENS + timedelta(days=1), reason="ausgebucht")
    vorgang.store.save(offering)
    offering.draw(seed=SEED, places_held={}, actor=STAFF, at=OPENS + timedelta(days=2))
    vorgang.store.save(offering)
    feed(vorgang)
    allocated = next(e.case_id for e in offering.entries() if e.status == "allocated")
    moved = offering.cancel(
        case_id=allocated,
        children=None,
        actor=STAFF,
        at=CLOSES,
        reason="Familie Sommer zieht nach Hamburg.",
    )
    assert len(moved) == 1  # the one waiting moved up
    vorgang.store.save(offering)
    ended = CLOSES.replace(year=2027, month=7, day=20)
    offering.note_health_erased(cases=CASES[:4], actor=STAFF, at=ended)
    vorgang.store.save(offering)
    return offering


def test_an_offering_is_published_drawn_moved_up_and_its_health_notes_erased(
    vorgang: Vorgang,
) -> None:
    offering = an_offering_through_every_step(vorgang)
    events = feed(vorgang)
    mine = [e for e in events if e["subject"] == str(offering.id)]
    moved_up = [e for e in mine if short(e) == "holiday_offering_place_moved_up"]
    assert [short(e) for e in mine] == [
        "holiday_offering_published",
        "holiday_offering_window_closed",
        "holiday_offering_places_drawn",
        *(["holiday_offering_place_moved_up"] * len(moved_up)),
        "holiday_offering_health_notes_erased",
    ]
    assert len(moved_up) == 1
    versions = []
    for event in mine:
        assert event["source"] == "/tenants/usingen"
        data = event["data"]
        HolidayOfferingEventData.model_validate(data)  # the schema /feed/types documents
        assert set(data) <= set(HolidayOfferingEventData.model_fields)
        assert (data["tenant"], data["offering_id"], data["year"], data["code"]) == (
            "usingen",
            str(offering.id),
            2027,
            "KLETTERN-1",
        )
        assert (data["starts_on"], data["ends_on"], data["places"]) == (
            "2027-07-12",
            "2027-07-16",
            3,
        )
        assert data["service"] == "holiday-registration"
        assert data["links"]["offering"] == f"/api/v1/holiday-offerings/{offering.id}"
        versions.append(data["version"])
    assert versions == sorted(versions)
    assert len({e["id"] for e in mine}) == len(mine)
    published, closed, drawn = (e["data"] for e in mine[:3])
    assert (
        published
        | {
            "activity": "Klettern im Hochseilgarten",
            "location": "Hochseilgarten am Hattstein",
            "min_age": 8,
            "max_age": 12,
            "fee": "25.00",
            "currency": "EUR",
            "registration_opens_at": OPENS.isoformat(),
            "registration_closes_at": CLOSES.isoformat(),
        }
        == published
    )
    assert published["rules"] == offering.rules.as_dict()
    assert closed["closed_at"] == (OPENS + timedelta(days=1)).isoformat()
    assert closed["reason"] == "ausgebucht"  # a keyword
    record = offering.draw_record
    assert record is not None
    assert (drawn["algorithm"], drawn["children"], drawn["allocated"], drawn["waiting"]) == (
        record["algorithm"],
        4,
        len(record["allocated"]),
        len(record["waiting"]),
    )
    assert drawn["drawn_at"] == (OPENS + timedelta(days=2)).isoformat()
    for event in moved_up:
        data = event["data"]
        assert data["because_of"] != data["case_id"]
        assert data["from_position"] >= 1
        assert data["links"]["case"] == f"/api/v1/cases/{data['case_id']}"
        assert offering.status_of(CASES_BY_ID[data["case_id"]], data["child"]) == "allocated"
    erased = mine[-1]["data"]
    assert erased["registrations"] == 4
    assert erased["erased_at"].startswith("2027-07-20")
    assert str(ENDS) < erased["erased_at"]

    text = json.dumps(mine, ensure_ascii=False)
    assert SEED not in text  # the seed stays with the decision
    assert "lots" not in text
    for entry in offering.entries():
        assert entry.key not in text  # a child's keyed id is never published
    assert "Hamburg" not in text  # the cancellation's reason is the case's
    assert STAFF.id not in text
    assert "Schmidt" not in text
    assert "Drei Tage" not in text  # the description stays on the offering's page


CASES_BY_ID = {str(case): case for case in CASES}


def test_a_towns_offerings_are_published_to_that_town_only(vorgang: Vorgang) -> None:
    ours = publish()
    theirs = publish(tenant="schmitten")
    vorgang.store.save(ours, theirs)
    vorgang.projections.catch_up()
    theirs.close_window(
        actor=STAFF, at=OPENS + timedelta(hours=1), reason="Die Betreuerin ist krank."
    )
    vorgang.store.save(theirs)  # a later batch: the town comes from the kept offering
    usingen = feed(vorgang, "usingen")
    schmitten = feed(vorgang, "schmitten")
    assert [e["subject"] for e in usingen] == [str(ours.id)]
    assert [(short(e), e["subject"], e["source"]) for e in schmitten] == [
        ("holiday_offering_published", str(theirs.id), "/tenants/schmitten"),
        ("holiday_offering_window_closed", str(theirs.id), "/tenants/schmitten"),
    ]
    assert "reason" not in schmitten[1]["data"]  # free text stays out
    only: Any = FeedFilter(tenants=("usingen",), service="holiday-registration")
    rows: list[dict[str, Any]] = FeedQuery(vorgang.views).page(only, after=0, limit=100)
    assert [e["subject"] for e in rows] == [str(ours.id)]


def test_the_feed_types_give_the_offering_types_their_own_schema() -> None:
    types = {t.type: t for t in feed_types()}
    schema = HolidayOfferingEventData.model_json_schema()
    for public, _ in HOLIDAY_OFFERING_TYPES.values():
        listed = types[f"{TYPE_PREFIX}{public}.v1"]
        assert listed.dataschema == schema
        assert listed.description == DESCRIPTIONS[public]
    assert types[f"{TYPE_PREFIX}submitted.v1"].dataschema != schema

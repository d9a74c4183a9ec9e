"""The holiday demo: in every town an offering that ended (drawn by the watch, its health
notes erased), one drawn with a waiting list, a cancellation and the move-up after it, and
one open for registration now; each registered through the real services; running it again
creates nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from application.holiday import holiday_actor
from domain.holiday.offering import HolidayOffering
from domain.personal_data import Erased, PersonalData
from domain.tenants import TENANTS
from infrastructure.demo import TOWNS
from infrastructure.demo_holiday import DRAWN, ENDED, OPEN, offering_of, seed_holiday
from infrastructure.wiring import Vorgang
from projections.holiday_query import offerings_of

NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def moved_up(offering: HolidayOffering) -> list[Any]:
    """The children holding a place they waited for after the draw."""
    record = offering.draw_record
    assert record is not None
    waited = {(str(case_id), int(child)) for case_id, child in record["waiting"]}
    return [
        e
        for e in offering.entries()
        if e.status == "allocated" and (str(e.case_id), e.child) in waited
    ]


def test_every_town_has_an_ended_a_drawn_and_an_open_offering(vorgang: Vorgang) -> None:
    first = [i for town in TOWNS for i in seed_holiday(vorgang, town, NOW)]
    position = vorgang.store.recorder.max_notification_id()
    again = [i for town in TOWNS for i in seed_holiday(vorgang, town, NOW)]
    assert again == first
    assert vorgang.store.recorder.max_notification_id() == position  # nothing new stored
    # and on a later day (the open window closed meanwhile): the town is left as it was
    later = [i for town in TOWNS for i in seed_holiday(vorgang, town, NOW + timedelta(days=45))]
    assert later == first
    assert vorgang.store.recorder.max_notification_id() == position

    families = sum(len(o.families) for o in (ENDED, DRAWN, OPEN))
    assert len(first) == len(set(first)) == families * len(TENANTS)
    cases: list[Any] = [vorgang.store.repository.get(case_id) for case_id in first]
    assert {c.service for c in cases} == {"holiday-registration"}
    assert Counter(c.tenant for c in cases) == dict.fromkeys(TENANTS, families)
    for town in TOWNS:
        ended = offering_of(vorgang, town, ENDED.code, NOW)
        drawn = offering_of(vorgang, town, DRAWN.code, NOW)
        open_ = offering_of(vorgang, town, OPEN.code, NOW)
        assert {ended.tenant, drawn.tenant, open_.tenant} == {town.tenant}

        # ended: drawn by the watch (five children for three places), health notes erased
        assert ended.drawn_at is not None
        assert ended.allocated_count == ended.places == 3
        assert len(ended.waiting_list) == 2
        assert ended.health_erased_at is not None
        assert ended.health_erased_at.date() > ended.ends_on
        stored = vorgang.store.recorder.select_events(ended.id)
        *_, drawn_by, erased_by = [vorgang.store.mapper.to_domain_event(e) for e in stored]
        assert isinstance(drawn_by, HolidayOffering.PlacesDrawn)
        assert isinstance(erased_by, HolidayOffering.HealthNotesErased)
        watch = holiday_actor(town.tenant).id  # both in the holiday watch's rounds
        assert drawn_by.actor_id == erased_by.actor_id == watch

        # drawn: eight children for four places; a family with a place cancelled, and the
        # next waiting moved up into its places
        assert drawn.drawn_at is not None
        assert drawn.window_state(NOW) == "closed"
        statuses = Counter(e.status for e in drawn.entries())
        assert statuses["cancelled"] >= 1
        assert drawn.allocated_count == drawn.places == 4
        assert statuses["waiting"] == 8 - 4 - statuses["cancelled"] >= 1
        assert moved_up(drawn), town.tenant
        assert drawn.health_erased_at is None

        # open now, by the app clock: three children registered so far, nothing drawn
        assert open_.window_state(NOW) == "open"
        assert open_.registered_count == 3
        assert open_.drawn_at is None

    # the health notes and allergies given: erased for the offering that ended, kept (sealed)
    # for the others
    for case in cases:
        given = [
            value
            for child in case.data["children"]
            for value in (child.get("health_notes"), child.get("allergies"))
            if value is not None
        ]
        ended_case = case.service_state()["offering_code"] == ENDED.code
        kind = Erased if ended_case else PersonalData
        assert all(isinstance(value, kind) for value in given), case.service_state()
    assert {c.service_state()["offering_code"] for c in cases if c.data["health_consent"]} == {
        ENDED.code,
        DRAWN.code,
        OPEN.code,
    }

    # the read model says the same
    vorgang.projections.catch_up()
    for tenant in TENANTS:
        listed = offerings_of(vorgang.views, tenant, now=NOW)
        assert {o["code"]: o["state"] for o in listed} == {
            ENDED.code: "ended",
            DRAWN.code: "drawn",
            OPEN.code: "open",
        }, tenant
        by_code = {o["code"]: o for o in listed}
        assert (by_code[DRAWN.code]["allocated"], by_code[OPEN.code]["registered"]) == (4, 3)
        assert by_code[ENDED.code]["health_erased_at"] is not None

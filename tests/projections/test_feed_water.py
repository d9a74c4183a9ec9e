"""The feed publishes water meters' readings for the water and wastewater fees: each reading
the meter's history records, numbered as there, with value, consumption, kind, flags and
campaign year, under the meter's town, number and property; never a reader, a customer or
a correction's free-text reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.water.meter import WaterMeter
from infrastructure.wiring import Vorgang
from projections.feed import (
    DESCRIPTIONS,
    PUBLIC_TYPES,
    TYPE_PREFIX,
    WATER_METER_TYPES,
    Feed,
)
from projections.feed_query import FeedFilter, FeedQuery

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
CASE_A = UUID("00000000-0000-4000-8000-00000000000a")
CASE_B = UUID("00000000-0000-4000-8000-00000000000b")
CASE_C = UUID("00000000-0000-4000-8000-00000000000c")
CASE_G = UUID("00000000-0000-4000-8000-00000000000d")
RULES_FROM = date(2025, 1, 1)  # Usingen's example rules: earlier readings are checked later
D = Decimal


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def feed(v: Vorgang, tenant: str = "usingen") -> list[dict[str, Any]]:
    v.projections.catch_up()
    return FeedQuery(v.views).page(FeedFilter(tenants=(tenant,)), after=0, limit=1000)


def short(event: dict[str, Any]) -> str:
    return str(event["type"][len(TYPE_PREFIX) : -len(".v1")])


def install(
    tenant: str, number: str, on: date, *, main_meter: UUID | None = None, calibrated: int = 2029
) -> WaterMeter:
    return WaterMeter.install(
        tenant=tenant,
        meter_number=number,
        property_id=f"VS-{number}",
        installed_on=on,
        calibration_valid_until=date(calibrated, 12, 31),
        digits=5,
        start_value=D("0.000"),
        main_meter=main_meter,
        actor=CLERK,
        at=at(on),
    )


def report(meter: WaterMeter, read_on: date, value: str, case_id: UUID, year: int) -> None:
    today = max(read_on, RULES_FROM)
    meter.record_reported(
        case_id=case_id,
        value=D(value),
        read_on=read_on,
        rollover_declared=False,
        today=today,
        actor=CLERK,
        at=at(today),
        campaign_year=year,
    )


def test_every_water_meter_event_is_published_and_described() -> None:
    names = {
        klass.__name__
        for klass in vars(WaterMeter).values()
        if isinstance(klass, type) and issubclass(klass, WaterMeter.Event)
    } - {"Event", "Created"}
    assert {key.split(".")[1] for key in WATER_METER_TYPES} == names
    for key, (public, _) in WATER_METER_TYPES.items():
        assert PUBLIC_TYPES[key] == public
        assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
        assert public.startswith("water_meter_")  # the feed's style
    # A meter's type is its own: no case event (the reading case's among them) shares it.
    others = {public for key, public in PUBLIC_TYPES.items() if key not in WATER_METER_TYPES}
    assert others.isdisjoint(public for public, _ in WATER_METER_TYPES.values())
    topics = set(Feed().topics())
    assert "domain.water.meter:WaterMeter.ReadingRecorded" in topics
    assert "domain.water.meter:WaterMeter.Installed" in topics


def test_a_meters_readings_are_published_numbered_as_in_its_history(vorgang: Vorgang) -> None:
    main = install("usingen", "WZ-USI-0001", date(2023, 1, 1))
    garden = install("usingen", "GW-USI-0001", date(2023, 4, 1), main_meter=main.id)
    vorgang.store.save(main, garden)
    feed(vorgang)  # the meters' state is kept between batches
    report(main, date(2023, 12, 31), "100.000", CASE_A, 2023)
    report(main, date(2024, 12, 31), "200.000", CASE_B, 2024)
    report(garden, date(2024, 12, 31), "40.000", CASE_G, 2024)
    vorgang.store.save(main, garden)
    feed(vorgang)
    report(main, date(2025, 12, 31), "520.000", CASE_C, 2025)  # far above two years' history
    estimate = garden.record_estimate(
        on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
    )
    vorgang.store.save(main, garden)
    main.correct(
        read_on=date(2025, 12, 31),
        value=D("320.000"),
        reason="Ablesefehler, Rückruf bei Frau Meier",  # free text: never published
        actor=CLERK,
        at=at(date(2026, 1, 21)),
    )
    garden.correct(
        read_on=date(2024, 12, 31),
        value=D("41.000"),
        reason="photo_checked",  # a keyword is published
        actor=CLERK,
        at=at(date(2026, 1, 21)),
    )
    main.remove(
        removed_on=date(2026, 2, 1), final_value=D("330.000"), actor=CLERK, at=at(date(2026, 2, 1))
    )
    garden.recalibrate(
        calibration_valid_until=date(2031, 12, 31), actor=CLERK, at=at(date(2026, 2, 2))
    )
    vorgang.store.save(main, garden)

    events = feed(vorgang)
    text = json.dumps(events, ensure_ascii=False)
    assert "Meier" not in text
    assert "Ablesefehler" not in text
    assert CLERK.id not in text  # who recorded it is the town's business
    mine = [e for e in events if e["subject"] == str(main.id)]
    assert [short(e) for e in mine] == [
        "water_meter_installed",
        "water_meter_reading_recorded",
        "water_meter_reading_recorded",
        "water_meter_reading_recorded",
        "water_meter_correction_recorded",
        "water_meter_removed",
    ]
    for event in mine:
        assert event["source"] == "/tenants/usingen"
        assert event["data"]["tenant"] == "usingen"
        assert event["data"]["meter_number"] == "WZ-USI-0001"
        assert event["data"]["property_id"] == "VS-WZ-USI-0001"
        assert event["data"]["links"]["meter"] == f"/api/v1/water-meters/{main.id}"
    reading = ("number", "read_on", "value", "kind", "consumption", "flags", "campaign_year")
    assert [tuple(e["data"][k] for k in reading) for e in mine] == [
        (1, "2023-01-01", "0.000", "installed", None, [], None),
        (2, "2023-12-31", "100.000", "reported", "100.000", [], 2023),
        (3, "2024-12-31", "200.000", "reported", "100.000", [], 2024),
        (4, "2025-12-31", "520.000", "reported", "320.000", ["far_above_history"], 2025),
        (5, "2025-12-31", "320.000", "corrected", "120.000", [], 2025),
        (6, "2026-02-01", "330.000", "removed", "10.000", [], None),
    ]
    installed, first, _, flagged, corrected, removed = mine
    assert [r.number for r in main.readings] == [1, 2, 3, 4, 5, 6]  # as the meter numbers them
    assert installed["data"]["installed_on"] == "2023-01-01"
    assert installed["data"]["calibration_valid_until"] == "2029-12-31"
    assert installed["data"]["main_meter"] is None
    assert first["data"]["case_id"] == str(CASE_A)
    assert first["data"]["links"]["case"] == f"/api/v1/cases/{CASE_A}"
    assert first["data"]["service"] == "water-meter-reading"
    assert flagged["time"] == "2025-12-31T09:00:00+00:00"  # when it was recorded
    assert (corrected["data"]["corrects"], corrected["data"]["corrected_value"]) == (4, "520.000")
    assert corrected["data"]["case_id"] == str(CASE_C)  # the corrected reading's case
    assert "reason" not in corrected["data"]
    assert removed["data"]["removed_on"] == "2026-02-01"
    assert removed["data"]["case_id"] is None
    assert len({e["id"] for e in mine}) == len(mine)

    sub = [e for e in events if e["subject"] == str(garden.id)]
    assert [short(e) for e in sub] == [
        "water_meter_installed",
        "water_meter_reading_recorded",
        "water_meter_reading_estimated",
        "water_meter_correction_recorded",
        "water_meter_recalibrated",
    ]
    assert {e["data"]["main_meter"] for e in sub} == {str(main.id)}  # a garden sub-meter
    estimated, correction = sub[2]["data"], sub[3]["data"]
    assert (estimated["number"], estimated["kind"], estimated["campaign_year"]) == (
        3,
        "estimated",
        2025,
    )
    assert (estimated["value"], estimated["consumption"]) == (
        str(estimate.value),
        str(estimate.consumption),
    )
    assert estimated["case_id"] is None
    assert (correction["number"], correction["corrects"], correction["reason"]) == (
        4,
        2,
        "photo_checked",
    )
    assert (correction["consumption"], correction["campaign_year"]) == ("41.000", 2024)
    assert sub[4]["data"]["calibration_valid_until"] == "2031-12-31"
    assert "number" not in sub[4]["data"]  # a recalibration records no reading


def test_a_towns_meters_are_published_to_that_town_only(vorgang: Vorgang) -> None:
    ours = install("usingen", "WZ-4711", date(2024, 1, 1))
    theirs = install("schmitten", "WZ-4711", date(2024, 1, 1))  # the same number elsewhere
    vorgang.store.save(ours, theirs)
    usingen = {e["subject"] for e in feed(vorgang, "usingen")}
    schmitten = feed(vorgang, "schmitten")
    assert str(ours.id) in usingen
    assert str(theirs.id) not in usingen
    assert [(e["subject"], e["source"]) for e in schmitten if short(e).startswith("water_")] == [
        (str(theirs.id), "/tenants/schmitten")
    ]
    only_meters = FeedFilter(tenants=("usingen",), service="water-meter-reading")
    rows = FeedQuery(vorgang.views).page(only_meters, after=0, limit=100)
    assert [e["subject"] for e in rows] == [str(ours.id)]


def test_a_reading_case_and_the_reading_it_recorded_are_published_together(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    meter = install("usingen", "WZ-USI-4242", date(2024, 12, 31))
    report(meter, date(2025, 12, 31), "100.000", CASE_A, 2025)
    vorgang.store.save(meter)
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    customer = Actor("portal:4242", "Zelda Wasser-Feedtest", Role.APPLICANT, "usingen")
    submitted = cases.submit(
        actor=customer,
        tenant="usingen",
        service="water-meter-reading",
        applicant={"name": "Zelda Wasser-Feedtest"},
        data={
            "meter_number": "wz-usi-4242",
            "reading": "118.250",
            "read_on": "2026-03-01",
            "read_by": "meter_reader",
            "reader_name": "Rita Ableserin",
        },
    )

    events = feed(vorgang)
    text = json.dumps(events, ensure_ascii=False)
    assert "Zelda" not in text
    assert "Rita" not in text
    case_id = str(submitted.case_id)
    [recorded] = [e for e in events if short(e) == "water_meter_reading_recorded"][-1:]
    assert recorded["subject"] == str(meter.id)
    assert recorded["data"]["case_id"] == case_id
    assert (recorded["data"]["number"], recorded["data"]["value"]) == (3, "118.250")
    assert (recorded["data"]["consumption"], recorded["data"]["flags"]) == ("18.250", [])
    assert recorded["data"]["campaign_year"] is None  # the town opened no campaign
    of_the_case = [e for e in events if e["subject"] == case_id]
    assert [(short(e), e["data"]["status"]) for e in of_the_case] == [
        ("submitted", "submitted"),
        ("water_meter_reading_checked", "closed"),  # accepted: nobody needs to look at it
    ]
    # the case's check and the meter's reading were stored in one save, side by side
    assert abs(int(recorded["sequence"]) - int(of_the_case[-1]["sequence"])) == 1

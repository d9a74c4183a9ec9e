"""Water meters and campaigns as the town's staff keep them: install, correct, exchange,
estimate after the deadline (by hand and by the scheduler's round), replay."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.clock import FixedClock
from application.errors import CaseNotFound
from application.store import VorgangStore
from application.water_meters import (
    CampaignExists,
    MeterNumberTaken,
    WaterCampaignWatch,
    WaterMeterService,
    water_campaigns_actor,
)
from domain.errors import InvalidCommand, WrongTenant
from domain.rules.water_meters import ReadingKind
from domain.water.campaign import ReadingCampaign, campaign_id
from domain.water.meter import WaterMeter, meter_id
from infrastructure.wiring import Vorgang
from tests.conftest import APPLICANT, CLERK, DELEGATED_CLERK, FOREIGN_CLERK, SUPERVISOR

DEADLINE = date(2026, 1, 15)  # the campaign of 2025 ends on 15 January 2026


@pytest.fixture
def meters(store: VorgangStore, clock: FixedClock) -> WaterMeterService:
    return WaterMeterService(store, clock)


def install(
    meters: WaterMeterService, number: str, on: date = date(2023, 1, 1), **more: Any
) -> WaterMeter:
    return meters.install(
        CLERK,
        meter_number=number,
        property_id=more.pop("property_id", "USI-0815"),
        installed_on=on,
        calibration_valid_until=date(2028, 12, 31),
        digits=5,
        start_value=Decimal("0.000"),
        **more,
    )


def read(store: VorgangStore, meter: UUID, on: date, value: str) -> None:
    """A reported reading, as the reading case records it (checked on its day, or on the
    first day of the towns' rules for readings of days before them)."""
    found: WaterMeter = store.repository.get(meter)
    found.record_reported(
        case_id=uuid4(),
        value=Decimal(value),
        read_on=on,
        rollover_declared=False,
        today=max(on, date(2025, 1, 2)),
        actor=CLERK,
        at=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
    )
    store.save(found)


def open_2025(meters: WaterMeterService) -> ReadingCampaign:
    return meters.open_campaign(CLERK, year=2025, starts_on=date(2025, 11, 1), deadline=DEADLINE)


# ------------------------------------------------------------------ meters


def test_an_installed_meter_shows_its_facts_calibration_and_installation_reading(
    meters: WaterMeterService,
) -> None:
    meter = install(meters, "wz-usi 0001")

    view = meters.view(CLERK, meter.id)
    assert view["meter_number"] == "WZ-USI0001"
    assert view["id"] == meter_id("usingen", "WZ-USI0001")
    assert view["calibration"] == {
        "valid_until": date(2028, 12, 31),
        "expired": False,
        "days_left": (date(2028, 12, 31) - date(2026, 3, 2)).days,
    }
    assert [(r["number"], r["kind"], r["value"]) for r in view["readings"]] == [
        (1, "installed", Decimal("0.000"))
    ]


def test_a_meter_number_the_town_has_is_refused_and_another_town_may_have_it(
    meters: WaterMeterService,
) -> None:
    install(meters, "WZ-0001")
    with pytest.raises(MeterNumberTaken) as taken:
        install(meters, "wz-0001")
    assert taken.value.field == "meter_number"
    other = meters.install(
        FOREIGN_CLERK,
        meter_number="WZ-0001",
        property_id="SCH-1",
        installed_on=date(2023, 1, 1),
        calibration_valid_until=date(2028, 12, 31),
        digits=5,
        start_value=Decimal(0),
    )
    assert other.tenant == "schmitten"


def test_a_garden_sub_meter_names_its_main_meter_and_the_main_meter_lists_it(
    meters: WaterMeterService,
) -> None:
    main = install(meters, "WZ-MAIN")
    sub = install(meters, "WZ-GARDEN", main_meter="wz-main")
    assert sub.main_meter == main.id
    assert meters.view(CLERK, main.id)["sub_meters"] == [
        {"id": sub.id, "meter_number": "WZ-GARDEN"}
    ]
    assert meters.view(CLERK, sub.id)["main_meter"] == "WZ-MAIN"
    with pytest.raises(InvalidCommand) as unknown:
        install(meters, "WZ-OTHER", main_meter="WZ-NONE")
    assert unknown.value.field == "main_meter"


def test_another_towns_staff_do_not_find_the_meter_and_applicants_keep_none(
    meters: WaterMeterService,
) -> None:
    meter = install(meters, "WZ-0001")
    for stranger in (FOREIGN_CLERK, APPLICANT):
        with pytest.raises(CaseNotFound):
            meters.view(stranger, meter.id)
        with pytest.raises(CaseNotFound):
            meters.correct(
                stranger, meter.id, read_on=date(2023, 1, 1), value=Decimal(1), reason="x"
            )
    assert meters.view(DELEGATED_CLERK, meter.id)["tenant"] == "usingen"
    with pytest.raises(InvalidCommand) as refused:
        install_as(meters, APPLICANT)
    assert refused.value.field == "actor"


def install_as(meters: WaterMeterService, actor: Any) -> WaterMeter:
    return meters.install(
        actor,
        meter_number="WZ-APPL",
        property_id="USI-1",
        installed_on=date(2023, 1, 1),
        calibration_valid_until=date(2028, 12, 31),
        digits=5,
        start_value=Decimal(0),
    )


def test_a_correction_keeps_the_original_and_names_it(
    meters: WaterMeterService, store: VorgangStore
) -> None:
    meter = install(meters, "WZ-0001")
    read(store, meter.id, date(2024, 12, 1), "110.000")

    corrected = meters.correct(
        SUPERVISOR,
        meter.id,
        read_on=date(2024, 12, 1),
        value=Decimal("101.000"),
        reason="Zahlendreher",
    )

    readings = meters.view(CLERK, corrected.id)["readings"]
    assert [(r["number"], r["kind"], r["value"], r["corrects"]) for r in readings] == [
        (1, "installed", Decimal("0.000"), None),
        (2, "reported", Decimal("110.000"), None),
        (3, "corrected", Decimal("101.000"), 2),
    ]
    assert readings[2]["reason"] == "Zahlendreher"
    assert corrected.last_reading.value == Decimal("101.000")


def test_an_exchange_removes_the_old_meter_and_installs_the_new_in_one_save(
    meters: WaterMeterService, store: VorgangStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = install(meters, "WZ-OLD")
    read(store, old.id, date(2024, 12, 1), "100.000")
    install(meters, "WZ-TAKEN", property_id="USI-4711")
    saves: list[tuple[Any, ...]] = []
    save = store.save

    def counted(*objs: Any, **kw: Any) -> Any:
        saves.append(objs)
        return save(*objs, **kw)

    monkeypatch.setattr(store, "save", counted)

    with pytest.raises(MeterNumberTaken) as taken:
        exchange(meters, old.id, "WZ-TAKEN")
    assert taken.value.field == "new.meter_number"
    assert saves == []
    assert meters.meter(CLERK, old.id).removed_on is None  # nothing saved

    removed, new = exchange(meters, old.id, "WZ-NEW")

    assert len(saves) == 1
    assert {o.id for o in saves[0]} == {old.id, new.id}
    assert meters.meter(CLERK, old.id).removed_on == date(2026, 2, 27)
    assert removed.readings[-1].kind == ReadingKind.REMOVED
    installed = meters.meter(CLERK, new.id)
    assert (installed.property_id, installed.facts.installed_on) == ("USI-0815", date(2026, 2, 27))
    with pytest.raises(InvalidCommand) as again:
        exchange(meters, old.id, "WZ-NEWER")
    assert again.value.field == "meter"


def exchange(meters: WaterMeterService, meter: UUID, number: str) -> tuple[WaterMeter, WaterMeter]:
    return meters.exchange(
        CLERK,
        meter,
        removed_on=date(2026, 2, 27),
        final_value=Decimal("212.500"),
        meter_number=number,
        calibration_valid_until=date(2031, 12, 31),
        digits=5,
        start_value=Decimal("0.000"),
    )


def test_recalibration_and_removal_are_recorded(meters: WaterMeterService) -> None:
    meter = install(meters, "WZ-0001")
    meters.recalibrate(CLERK, meter.id, calibration_valid_until=date(2030, 12, 31))
    assert meters.view(CLERK, meter.id)["calibration"]["valid_until"] == date(2030, 12, 31)
    meters.remove(CLERK, meter.id, removed_on=date(2026, 3, 1), final_value=Decimal("3.000"))
    assert meters.view(CLERK, meter.id)["removed_on"] == date(2026, 3, 1)


# ------------------------------------------------------------------ campaigns and estimates


def three_meters(meters: WaterMeterService, store: VorgangStore) -> tuple[UUID, UUID, UUID]:
    """A: read in 2023 and 2024, not in 2025; B: read for 2025; C: installed in 2025, no history."""
    a = install(meters, "WZ-A").id
    read(store, a, date(2023, 12, 1), "100.000")
    read(store, a, date(2024, 12, 1), "210.000")
    b = install(meters, "WZ-B").id
    read(store, b, date(2024, 12, 1), "90.000")
    read(store, b, date(2025, 12, 5), "180.000")
    c = install(meters, "WZ-C", on=date(2025, 6, 1)).id
    install(meters, "WZ-D", on=date(2026, 2, 1))  # after the deadline: not the campaign's
    return a, b, c


def test_estimates_only_after_the_deadline_for_meters_without_a_reading_and_once(
    meters: WaterMeterService, store: VorgangStore, clock: FixedClock
) -> None:
    a, b, c = three_meters(meters, store)
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    with pytest.raises(CampaignExists):
        open_2025(meters)
    clock.set(datetime(2026, 1, 15, 20, tzinfo=UTC))  # the deadline's evening
    with pytest.raises(InvalidCommand) as early:
        meters.make_estimates(CLERK, 2025)
    assert early.value.field == "deadline"
    assert len(meters.meter(CLERK, a).readings) == 3

    clock.set(datetime(2026, 1, 16, 7, tzinfo=UTC))
    run = meters.make_estimates(CLERK, 2025)

    assert (run.estimated, run.not_estimable, run.already_read, run.already_estimated) == (
        1,
        1,
        1,
        0,
    )
    estimate = meters.meter(CLERK, a).readings[-1]
    assert (estimate.kind, estimate.read_on, estimate.campaign_year) == (
        ReadingKind.ESTIMATED,
        DEADLINE,
        2025,
    )
    assert estimate.value > Decimal("210.000")
    assert meters.meter(CLERK, b).readings[-1].kind == ReadingKind.REPORTED
    assert len(meters.meter(CLERK, c).readings) == 1

    again = meters.make_estimates(CLERK, 2025)
    assert (again.estimated, again.already_estimated, again.already_read) == (0, 1, 1)
    assert len(meters.meter(CLERK, a).readings) == 4  # not estimated twice
    campaign = meters.campaign(CLERK, 2025)
    assert [(r.estimated, r.not_estimable) for r in campaign.estimates] == [(1, 1), (0, 1)]

    meters.close_campaign(CLERK, 2025)
    with pytest.raises(InvalidCommand) as closed:
        meters.make_estimates(CLERK, 2025)
    assert closed.value.field == "campaign"


def test_a_campaign_of_another_town_is_not_found_and_staff_of_another_town_open_their_own(
    meters: WaterMeterService, clock: FixedClock
) -> None:
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    with pytest.raises(CaseNotFound):
        meters.campaign(FOREIGN_CLERK, 2025)
    assert meters.campaign(DELEGATED_CLERK, 2025).tenant == "usingen"
    with pytest.raises(InvalidCommand):
        meters.campaign(APPLICANT, 2025)
    with pytest.raises(WrongTenant):
        meters.check_keeps_meters(FOREIGN_CLERK, "usingen")


def test_replay_of_a_recorded_check_and_estimate_gives_what_was_recorded(
    meters: WaterMeterService, store: VorgangStore, clock: FixedClock
) -> None:
    a, _, _ = three_meters(meters, store)
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    clock.set(datetime(2026, 1, 16, 7, tzinfo=UTC))
    meters.make_estimates(CLERK, 2025)

    check = meters.replay(CLERK, a, 3)
    assert (check.kind, check.matches) == ("reported", True)
    assert check.recorded["consumption"] == Decimal("110.000")
    estimate = meters.replay(CLERK, a, 4)
    assert (estimate.kind, estimate.matches) == ("estimated", True)
    assert estimate.replayed["value"] == meters.meter(CLERK, a).readings[3].value
    with pytest.raises(InvalidCommand) as installation:
        meters.replay(CLERK, a, 1)
    assert installation.value.field == "number"
    with pytest.raises(CaseNotFound):
        meters.replay(CLERK, a, 5)


def test_a_replay_that_differs_from_the_record_does_not_match(
    meters: WaterMeterService, store: VorgangStore
) -> None:
    a = install(meters, "WZ-A").id
    read(store, a, date(2023, 12, 1), "100.000")
    read(store, a, date(2024, 12, 1), "210.000")
    tampered: WaterMeter = store.repository.get(a)
    reading = tampered.readings[2]
    tampered.readings = (
        *tampered.readings[:2],
        type(reading)(**{**_fields(reading), "consumption": Decimal("1.000")}),
    )
    monkey_meter = tampered

    class Stub(WaterMeterService):
        def meter(self, actor: Any, meter: UUID) -> WaterMeter:
            return monkey_meter

    assert Stub(store, meters.clock).replay(CLERK, a, 3).matches is False


def _fields(reading: Any) -> dict[str, Any]:
    return {name: getattr(reading, name) for name in reading.__slots__}


# ------------------------------------------------------------------ the scheduler's round


def test_the_scheduler_estimates_by_itself_the_day_after_the_deadline(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    meters = vorgang.water_meters
    a, _, _ = three_meters(meters, vorgang.store)
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    watch = WaterCampaignWatch(meters)

    clock.set(datetime(2026, 1, 15, 22, tzinfo=UTC))  # 23:00 in Germany: still the deadline
    vorgang.scheduler.tick()
    assert len(meters.meter(CLERK, a).readings) == 3
    assert meters.campaign(CLERK, 2025).estimates_made_at is None

    clock.advance(timedelta(hours=2))  # 16 January in Germany
    report = vorgang.scheduler.tick()

    beside: Any = report.beside  # one entry per round: the water campaigns' runs among them
    runs = [r for r in beside if isinstance(r, list) and r]
    assert [(run.tenant, run.year, run.estimated) for run in runs[0]] == [("usingen", 2025, 1)]
    assert meters.meter(CLERK, a).readings[-1].kind == ReadingKind.ESTIMATED
    assert meters.campaign(CLERK, 2025).estimates_made_at == clock.now()
    assert watch.due(date(2026, 1, 17)) == []  # made: the next ticks leave it
    vorgang.scheduler.tick()
    assert len(meters.campaign(CLERK, 2025).estimates) == 1
    assert vorgang.store.repository.get(campaign_id("usingen", 2025)).version == 2


# ------------------------------------------------------------------ races


def test_two_runs_of_the_estimates_at_once_estimate_each_meter_once(
    meters: WaterMeterService,
    store: VorgangStore,
    clock: FixedClock,
    collide: Callable[[int], Any],
) -> None:
    a, _, _ = three_meters(meters, store)
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    clock.set(datetime(2026, 1, 16, 7, tzinfo=UTC))
    collide(2)
    actors = [CLERK, water_campaigns_actor("usingen")]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda actor: meters.make_estimates(actor, 2025), actors))

    assert sorted((r.estimated, r.already_estimated) for r in runs) == [(0, 1), (1, 0)]
    kinds = [r.kind for r in meters.meter(CLERK, a).readings]
    assert kinds.count(ReadingKind.ESTIMATED) == 1
    assert len(meters.campaign(CLERK, 2025).estimates) == 2  # both runs recorded


def test_two_installations_of_one_number_at_once_install_one_meter(
    meters: WaterMeterService, collide: Callable[[int], Any]
) -> None:
    collide(2)

    def attempt(property_id: str) -> str:
        try:
            install(meters, "WZ-RACE", property_id=property_id)
        except MeterNumberTaken:
            return "taken"
        return "installed"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, ["USI-1", "USI-2"]))

    assert outcomes == ["installed", "taken"]
    assert meters.meter(CLERK, meter_id("usingen", "WZ-RACE")).version == 1


def test_one_towns_failing_estimates_do_not_stop_the_others_and_are_tried_next_tick(
    meters: WaterMeterService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.set(datetime(2025, 10, 1, 8, tzinfo=UTC))
    open_2025(meters)
    meters.open_campaign(FOREIGN_CLERK, year=2025, starts_on=date(2025, 11, 1), deadline=DEADLINE)
    clock.set(datetime(2026, 1, 16, 7, tzinfo=UTC))
    make = meters.make_estimates

    def failing_in_usingen(actor: Any, year: int) -> Any:
        if actor.tenant == "usingen":
            raise OSError("the view cannot be read")
        return make(actor, year)

    monkeypatch.setattr(meters, "make_estimates", failing_in_usingen)
    watch = WaterCampaignWatch(meters)

    assert [(r.tenant, r.year) for r in watch.tick(date(2026, 1, 16))] == [("schmitten", 2025)]
    assert watch.due(date(2026, 1, 16)) == [("usingen", 2025)]
    monkeypatch.setattr(meters, "make_estimates", make)
    assert [(r.tenant, r.year) for r in watch.tick(date(2026, 1, 16))] == [("usingen", 2025)]
    assert watch.due(date(2026, 1, 16)) == []

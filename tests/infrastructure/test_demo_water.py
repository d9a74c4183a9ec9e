"""The water demo: in every town meters with years of readings, last year's campaign estimated
and closed, this year's open with readings accepted, flagged, corrected and of an unknown
meter; running it again creates nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.rules.water_meters import Flag, ReadingKind
from domain.tenants import TENANTS
from domain.water.campaign import ReadingCampaign, campaign_id
from domain.water.meter import WaterMeter, meter_id
from infrastructure.demo import TOWNS
from infrastructure.demo_water import MISREAD, REASON, seed_water
from infrastructure.wiring import Vorgang

NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)  # this year's campaign: 6 Nov 2026 to 5 Jan 2027


def test_every_town_has_meters_with_a_history_and_this_years_campaign(vorgang: Vorgang) -> None:
    first = [i for town in TOWNS for i in seed_water(vorgang, town, NOW)]
    position = vorgang.store.recorder.max_notification_id()
    again = [i for town in TOWNS for i in seed_water(vorgang, town, NOW)]
    assert again == first
    assert vorgang.store.recorder.max_notification_id() == position  # nothing new stored
    # and on a later day (after this year's deadline): the town is left as it was
    later = [i for town in TOWNS for i in seed_water(vorgang, town, NOW + timedelta(days=45))]
    assert later == first
    assert vorgang.store.recorder.max_notification_id() == position

    get = vorgang.store.repository.get
    cases: list[Any] = [get(case_id) for case_id in first]
    assert {c.service for c in cases} == {"water-meter-reading"}
    for tenant in TENANTS:
        prefix = TENANTS[tenant].reference_prefix
        mine = [c for c in cases if c.tenant == tenant]
        # two years of five meters' readings (the garden meter estimated last year), and
        # this year's: three accepted, one corrected by the clerk, one waiting, one unknown
        assert Counter(c.status for c in mine) == {
            "closed": 13,
            "reading_flagged": 1,
            "meter_unknown": 1,
        }, tenant
        [unknown] = [c for c in mine if c.status == "meter_unknown"]
        assert unknown.meter_number == f"WZ-{prefix}-0099"

        def meter(number: str, tenant: str = tenant) -> WaterMeter:
            found: Any = get(meter_id(tenant, number))
            assert isinstance(found, WaterMeter)
            return found

        main, garden = meter(f"WZ-{prefix}-0001"), meter(f"GW-{prefix}-0001")
        assert garden.main_meter == main.id
        assert garden.property_id == main.property_id
        kinds = [r.kind for r in garden.readings]
        assert kinds == [
            ReadingKind.INSTALLED,
            ReadingKind.REPORTED,
            ReadingKind.ESTIMATED,  # not read for last year's campaign
            ReadingKind.REPORTED,
        ], tenant
        assert [r.campaign_year for r in garden.readings[2:]] == [2025, 2026]
        assert all(not r.flags for r in main.readings + garden.readings), tenant
        expiring = meter(f"WZ-{prefix}-0002")
        assert expiring.facts.calibration_valid_until == date(2026, 12, 31)
        assert not expiring.calibration(date(2026, 12, 6)).expired
        flagged = meter(f"WZ-{prefix}-0003")
        assert flagged.last_reading.flags == (Flag.FAR_ABOVE_HISTORY,), tenant
        corrected = meter(f"WZ-{prefix}-0004")
        *_, misread, correction = corrected.readings
        assert misread.flags == (Flag.FAR_ABOVE_HISTORY,), tenant
        assert (correction.kind, correction.corrects, correction.reason) == (
            ReadingKind.CORRECTED,
            misread.number,
            REASON,
        )
        assert misread.value - correction.value == MISREAD
        assert correction.consumption is None  # the meter computes none; the feed does
        assert correction.value > Decimal(0)

        last_year: Any = get(campaign_id(tenant, 2025))
        this_year: Any = get(campaign_id(tenant, 2026))
        assert isinstance(last_year, ReadingCampaign)
        assert isinstance(this_year, ReadingCampaign)
        assert last_year.closed
        assert [run.estimated for run in last_year.estimates] == [1]
        assert not this_year.closed
        assert (this_year.starts_on, this_year.deadline) == (date(2026, 11, 6), date(2027, 1, 5))

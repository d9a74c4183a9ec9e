"""A water meter's history of readings and a town's reading campaign of a year.

The numbers are worked out by hand from Usingen's example rules (usingen-2025-01: far above
at twice the history's average per day, far below at a quarter, 180 days of history before
comparing, estimates from up to three years back).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest
from eventsourcing.domain import Aggregate

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.rules.water_meters import (
    EstimateMethod,
    Flag,
    Reading,
    ReadingKind,
    replay_check,
    replay_estimate,
)
from domain.water.campaign import EstimatesRun, ReadingCampaign, campaign_id
from domain.water.meter import WaterMeter, meter_id, normalised_meter_number
from persistence.transcodings import PersonalDataInClear

TOWN = "usingen"
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
CASE_A = UUID("00000000-0000-4000-8000-00000000000a")
CASE_B = UUID("00000000-0000-4000-8000-00000000000b")
CASE_C = UUID("00000000-0000-4000-8000-00000000000c")
D = Decimal
ZERO = D("0.000")
RULES_FROM = date(2025, 1, 1)  # Usingen's example rules: earlier readings are checked later


def at(day: date) -> datetime:
    """Nine o'clock UTC on the day (ten in Berlin: the same calendar day)."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def installed(
    *,
    number: str = "WZ-100123",
    on: date = date(2024, 1, 1),
    start: Decimal = ZERO,
    digits: int = 5,
    calibration_until: date = date(2029, 12, 31),
    main_meter: UUID | None = None,
) -> WaterMeter:
    """A meter of a property in Usingen, installed with its start value."""
    return WaterMeter.install(
        tenant=TOWN,
        meter_number=number,
        property_id="USI-VS-000123",
        installed_on=on,
        calibration_valid_until=calibration_until,
        digits=digits,
        start_value=start,
        main_meter=main_meter,
        actor=CLERK,
        at=at(on),
    )


def report(
    meter: WaterMeter,
    read_on: date,
    value: str,
    *,
    case_id: UUID = CASE_A,
    rollover: bool = False,
    today: date | None = None,
) -> None:
    """Record a reported reading, checked today (the day read or 1 Jan 2025, unless given)."""
    today = today or max(read_on, RULES_FROM)
    meter.record_reported(
        case_id=case_id,
        value=D(value),
        read_on=read_on,
        rollover_declared=rollover,
        today=today,
        actor=CLERK,
        at=at(today),
    )


def read_for_two_years() -> WaterMeter:
    """Installed on 1 January 2024 at zero; 120 m³ read at the end of 2024, 250 at 2025's."""
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000", case_id=CASE_A)
    report(meter, date(2025, 12, 31), "250.000", case_id=CASE_B)
    return meter


# ------------------------------------------------------------------ numbers and ids


@pytest.mark.parametrize("text", ["WZ-100123", "wz-100123", " WZ - 100 123 ", "wz\t-100123"])
def test_a_meter_number_is_upper_case_without_blanks(text: str) -> None:
    assert normalised_meter_number(text) == "WZ-100123"


@pytest.mark.parametrize("text", ["", "AB1", "A" * 21, "WZ_100123", "ÄB-1234", "WZ/100123"])
def test_a_meter_number_other_than_4_to_20_letters_digits_or_dashes_is_refused(
    text: str,
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        normalised_meter_number(text)
    assert refused.value.field == "meter_number"


def test_a_meters_id_derives_from_the_town_and_its_normalised_number() -> None:
    assert meter_id(TOWN, "wz-100123") == uuid5(
        NAMESPACE_URL, "vorgang:water-meter:usingen:WZ-100123"
    )
    assert meter_id(TOWN, " WZ-100 123") == meter_id(TOWN, "WZ-100123")
    assert meter_id("schmitten", "WZ-100123") != meter_id(TOWN, "WZ-100123")


# ------------------------------------------------------------------ installation


def test_an_installed_meter_holds_its_facts_and_its_start_value_as_first_reading() -> None:
    meter = installed(number="wz-100123", start=D("12.345"))
    assert meter.id == meter_id(TOWN, "WZ-100123")
    assert (meter.tenant, meter.meter_number, meter.property_id) == (
        TOWN,
        "WZ-100123",
        "USI-VS-000123",
    )
    assert (meter.facts.installed_on, meter.facts.digits, meter.facts.start_value) == (
        date(2024, 1, 1),
        5,
        D("12.345"),
    )
    assert meter.history() == (Reading(date(2024, 1, 1), D("12.345"), ReadingKind.INSTALLED),)
    assert meter.last_reading.case_id is None
    assert meter.removed_on is None
    assert meter.main_meter is None
    (created,) = meter.collect_events()
    assert isinstance(created, WaterMeter.Installed)
    assert (created.actor_id, created.at) == (CLERK.id, at(date(2024, 1, 1)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"digits": 0}, "meter.digits"),
        ({"start": D("100000")}, "meter.start_value"),  # five digits show up to 99999.999
        ({"start": D("-1")}, "meter.start_value"),
        ({"start": D("1.0001")}, "meter.start_value"),
        ({"calibration_until": date(2023, 12, 31)}, "meter.calibration_valid_until"),
        ({"number": "X"}, "meter_number"),
    ],
)
def test_a_meter_no_meter_can_be_is_not_installed(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        installed(**changes)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_garden_sub_meter_names_its_main_meter() -> None:
    main = installed(number="WZ-100123")
    garden = installed(number="GW-200456", main_meter=main.id)
    assert garden.main_meter == main.id
    assert garden.id != main.id
    with pytest.raises(InvalidCommand) as refused:
        installed(number="GW-200456", main_meter=meter_id(TOWN, "GW-200456"))
    assert refused.value.field == "main_meter"


# ------------------------------------------------------------------ reported readings


def test_a_first_reading_records_its_consumption_since_installation_and_no_flags() -> None:
    meter = installed()
    meter.collect_events()
    check = meter.record_reported(
        case_id=CASE_A,
        value=D("120.000"),
        read_on=date(2024, 12, 31),
        rollover_declared=False,
        today=date(2025, 1, 3),
        actor=CLERK,
        at=at(date(2025, 1, 3)),
    )
    assert (check.consumption, check.flags, check.rejected) == (D("120.000"), (), False)
    (recorded,) = meter.collect_events()
    assert isinstance(recorded, WaterMeter.ReadingRecorded)
    assert (recorded.case_id, recorded.actor_id, recorded.at) == (
        CASE_A,
        CLERK.id,
        at(date(2025, 1, 3)),
    )
    last = meter.last_reading
    assert (last.number, last.read_on, last.value, last.kind, last.case_id) == (
        2,
        date(2024, 12, 31),
        D("120.000"),
        ReadingKind.REPORTED,
        CASE_A,
    )
    assert (last.consumption, last.flags, last.rules) == (D("120.000"), (), check.rules)


def test_a_reading_in_line_with_the_history_is_not_flagged() -> None:
    # history: 120 m³ in 365 days, 0.329 a day; 130 m³ in 365 days is 0.356 a day
    meter = read_for_two_years()
    assert meter.last_reading.consumption == D("130.000")
    assert meter.last_reading.flags == ()


def test_a_reading_far_above_the_history_is_flagged_not_refused() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    # 280 m³ in 365 days is 0.767 a day, above twice 0.329
    report(meter, date(2025, 12, 31), "400.000", case_id=CASE_B)
    assert meter.last_reading.consumption == D("280.000")
    assert meter.last_reading.flags == (Flag.FAR_ABOVE_HISTORY,)


def test_a_lower_reading_without_a_rollover_is_refused_and_records_nothing() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    meter.collect_events()
    before = meter.readings
    with pytest.raises(InvalidCommand) as refused:
        report(meter, date(2025, 12, 31), "100.000", case_id=CASE_B)
    assert refused.value.field == "reading"
    assert "lower than the previous reading" in str(refused.value)
    assert meter.readings == before
    assert not meter.pending_events


@pytest.mark.parametrize(
    ("read_on", "today", "reason"),
    [
        (date(2023, 12, 31), date(2025, 6, 1), "before the meter was installed"),
        (date(2025, 6, 2), date(2025, 6, 1), "in the future"),
    ],
)
def test_a_reading_before_installation_or_in_the_future_is_refused(
    read_on: date, today: date, reason: str
) -> None:
    meter = installed()
    meter.collect_events()
    with pytest.raises(InvalidCommand) as refused:
        report(meter, read_on, "10.000", today=today)
    assert refused.value.field == "reading"
    assert reason in str(refused.value)
    assert len(meter.readings) == 1
    assert not meter.pending_events


def test_a_declared_rollover_counts_to_the_counters_end_and_on_from_zero() -> None:
    meter = installed(digits=3, start=D("950.000"))  # the counter rolls over at 1000 m³
    report(meter, date(2024, 12, 31), "70.000", rollover=True)
    assert meter.last_reading.consumption == D("120.000")  # 50 to the end, 70 from zero
    assert meter.last_reading.flags == (Flag.ROLLOVER,)


def test_a_rollover_declared_for_a_higher_reading_is_refused() -> None:
    meter = installed(digits=3, start=D("950.000"))
    with pytest.raises(InvalidCommand) as refused:
        report(meter, date(2024, 12, 31), "990.000", rollover=True)
    assert "not lower" in str(refused.value)


def test_a_reading_after_the_calibration_expired_is_flagged() -> None:
    meter = installed(calibration_until=date(2024, 6, 30))
    report(meter, date(2024, 12, 31), "120.000")
    assert meter.last_reading.flags == (Flag.CALIBRATION_EXPIRED,)
    assert meter.calibration(date(2024, 6, 30)).expired is False
    assert meter.calibration(date(2024, 7, 1)).expired is True
    assert meter.calibration(date(2024, 7, 1)).days_left == -1


def test_every_recorded_check_replays_from_its_record() -> None:
    meter = read_for_two_years()
    report(meter, date(2026, 12, 31), "520.000", case_id=CASE_C)  # 270 m³: far above
    for reading in meter.readings[1:]:
        assert reading.rules is not None
        again = replay_check(reading.rules)
        assert (again.consumption, again.flags) == (reading.consumption, reading.flags)


# ------------------------------------------------------------------ estimates


def test_an_estimate_without_the_same_period_in_the_history_takes_the_average() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    meter.collect_events()
    estimate = meter.record_estimate(
        on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
    )
    # 120 m³ in 365 days, for 365 days: 120 m³ again
    assert estimate.method == EstimateMethod.AVERAGE
    assert (estimate.consumption, estimate.value, estimate.per_day) == (
        D("120.000"),
        D("240.000"),
        D("0.329"),
    )
    (recorded,) = meter.collect_events()
    assert isinstance(recorded, WaterMeter.ReadingEstimated)
    last = meter.last_reading
    assert (last.kind, last.value, last.case_id, last.campaign_year) == (
        ReadingKind.ESTIMATED,
        D("240.000"),
        None,
        2025,
    )
    assert last.rules is not None
    assert replay_estimate(last.rules) == estimate


def test_an_estimate_takes_the_same_period_of_the_year_before_where_the_history_has_it() -> None:
    meter = installed(on=date(2023, 6, 30))
    report(meter, date(2024, 6, 30), "200.000")  # 200 m³ in 366 days
    report(meter, date(2024, 12, 31), "260.000")
    estimate = meter.record_estimate(
        on=date(2025, 6, 30), campaign_year=2025, actor=CLERK, at=at(date(2025, 7, 15))
    )
    # the same period a year before, 31 Dec 2023 to 30 Jun 2024, on the straight line of
    # 200 m³ in 366 days: 200/366 a day, for the 181 days since the last reading
    assert estimate.method == EstimateMethod.SAME_PERIOD
    assert (estimate.basis_from, estimate.basis_until) == (date(2023, 12, 31), date(2024, 6, 30))
    assert (estimate.consumption, estimate.value, estimate.per_day) == (
        D("98.907"),
        D("358.907"),
        D("0.546"),
    )


def test_no_estimate_where_the_campaign_year_has_a_reported_reading() -> None:
    meter = read_for_two_years()
    meter.collect_events()
    with pytest.raises(InvalidCommand) as refused:
        meter.record_estimate(
            on=date(2026, 1, 10), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
        )
    assert (refused.value.field, len(meter.readings)) == ("campaign_year", 3)
    assert not meter.pending_events


def test_no_estimate_where_the_campaigns_reading_was_read_early_in_the_next_year() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    meter.record_reported(
        case_id=CASE_B,
        value=D("250.000"),
        read_on=date(2026, 1, 5),
        rollover_declared=False,
        today=date(2026, 1, 5),
        actor=CLERK,
        at=at(date(2026, 1, 5)),
        campaign_year=2025,
    )
    assert meter.last_reading.campaign_year == 2025
    with pytest.raises(InvalidCommand) as refused:
        meter.record_estimate(
            on=date(2026, 1, 10), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
        )
    assert refused.value.field == "campaign_year"


def test_a_campaign_year_is_estimated_once() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    meter.record_estimate(
        on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
    )
    with pytest.raises(InvalidCommand) as refused:
        meter.record_estimate(
            on=date(2026, 1, 15), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
        )
    assert refused.value.field == "campaign_year"


def test_no_estimate_for_a_day_still_to_come_or_without_history() -> None:
    meter = installed(on=date(2025, 1, 1))
    with pytest.raises(InvalidCommand) as future:
        meter.record_estimate(
            on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2025, 12, 30))
        )
    assert "passed" in str(future.value)
    with pytest.raises(InvalidCommand) as nothing:
        meter.record_estimate(
            on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
        )
    assert nothing.value.field == "history"
    assert len(meter.readings) == 1


def test_a_reported_reading_after_an_estimate_counts_from_the_estimate() -> None:
    meter = installed()
    report(meter, date(2024, 12, 31), "120.000")
    meter.record_estimate(
        on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
    )
    report(meter, date(2026, 2, 1), "250.000", case_id=CASE_B)
    assert meter.last_reading.consumption == D("10.000")  # from the estimated 240


# ------------------------------------------------------------------ corrections


def test_a_correction_replaces_the_days_reading_and_keeps_the_original() -> None:
    meter = read_for_two_years()
    meter.collect_events()
    corrected = meter.correct(
        read_on=date(2024, 12, 31),
        value=D("125.000"),
        reason="Zahlendreher auf der Ablesekarte",
        actor=CLERK,
        at=at(date(2026, 1, 20)),
    )
    assert (corrected.number, corrected.value) == (2, D("120.000"))
    (recorded,) = meter.collect_events()
    assert isinstance(recorded, WaterMeter.ReadingCorrected)
    assert (recorded.corrects, recorded.reason) == (2, "Zahlendreher auf der Ablesekarte")
    assert [(r.read_on, r.value, r.kind) for r in meter.readings_in(2024)] == [
        (date(2024, 1, 1), D("0.000"), ReadingKind.INSTALLED),
        (date(2024, 12, 31), D("120.000"), ReadingKind.REPORTED),  # the original stays
        (date(2024, 12, 31), D("125.000"), ReadingKind.CORRECTED),
    ]
    correction = meter.readings[-1]
    assert (correction.number, correction.corrects, correction.case_id) == (4, 2, CASE_A)
    assert meter.last_reading.value == D("250.000")  # the latest day's reading still stands
    # the next reading is checked against the corrected history
    report(meter, date(2026, 12, 31), "380.000", case_id=CASE_C)
    assert meter.last_reading.consumption == D("130.000")
    assert meter.readings[-1].rules is not None
    assert meter.readings[-1].rules.inputs["history"][3] == {
        "read_on": "2024-12-31",
        "value": "125.000",
        "kind": "corrected",
    }


def test_a_correction_of_the_latest_day_is_what_the_next_reading_counts_from() -> None:
    meter = read_for_two_years()
    meter.correct(
        read_on=date(2025, 12, 31),
        value=D("240.000"),
        reason="Foto",
        actor=CLERK,
        at=at(date(2026, 1, 5)),
    )
    assert meter.last_reading.value == D("240.000")
    report(meter, date(2026, 12, 31), "370.000", case_id=CASE_C)
    assert meter.last_reading.consumption == D("130.000")


@pytest.mark.parametrize(
    ("read_on", "value", "reason", "field"),
    [
        (date(2024, 12, 31), "125.000", "  ", "reason"),
        (date(2024, 6, 30), "60.000", "Foto", "read_on"),  # no reading that day
        (date(2024, 12, 31), "260.000", "Foto", "value"),  # above the next day's 250
        (date(2025, 12, 31), "110.000", "Foto", "value"),  # below the day before's 120
        (date(2024, 12, 31), "12.3456", "Foto", "value"),
        (date(2024, 12, 31), "100000", "Foto", "value"),
    ],
)
def test_a_correction_is_refused(read_on: date, value: str, reason: str, field: str) -> None:
    meter = read_for_two_years()
    meter.collect_events()
    with pytest.raises(InvalidCommand) as refused:
        meter.correct(read_on=read_on, value=D(value), reason=reason, actor=CLERK, at=at(read_on))
    assert refused.value.field == field
    assert len(meter.readings) == 3
    assert not meter.pending_events


def test_a_correction_across_a_rollover_may_lie_below_the_reading_before() -> None:
    meter = installed(digits=3, start=D("950.000"))
    report(meter, date(2024, 12, 31), "70.000", rollover=True)
    meter.correct(
        read_on=date(2024, 12, 31),
        value=D("60.000"),
        reason="Foto",
        actor=CLERK,
        at=at(date(2025, 1, 5)),
    )
    assert meter.last_reading.value == D("60.000")


# ------------------------------------------------------------------ removal


def test_a_removed_meter_keeps_its_final_reading_and_records_nothing_after() -> None:
    meter = read_for_two_years()
    check = meter.remove(
        removed_on=date(2026, 3, 31), final_value=D("280.000"), actor=CLERK, at=at(date(2026, 4, 1))
    )
    assert check.consumption == D("30.000")
    assert meter.removed_on == date(2026, 3, 31)
    final = meter.last_reading
    assert (final.kind, final.value, final.consumption) == (
        ReadingKind.REMOVED,
        D("280.000"),
        D("30.000"),
    )
    assert final.rules is not None
    assert replay_check(final.rules).consumption == D("30.000")
    meter.collect_events()
    refusals: list[Callable[[], object]] = [
        lambda: report(meter, date(2026, 4, 2), "281.000", case_id=CASE_C),
        lambda: meter.record_estimate(
            on=date(2026, 12, 31), campaign_year=2026, actor=CLERK, at=at(date(2027, 1, 20))
        ),
        lambda: meter.remove(
            removed_on=date(2026, 4, 2),
            final_value=D("281.000"),
            actor=CLERK,
            at=at(date(2026, 4, 2)),
        ),
        lambda: meter.recalibrate(
            calibration_valid_until=date(2035, 12, 31), actor=CLERK, at=at(date(2026, 4, 2))
        ),
    ]
    for refused in refusals:
        with pytest.raises(InvalidCommand) as error:
            refused()
        assert error.value.field == "meter"
    assert len(meter.readings) == 4
    assert not meter.pending_events
    # a clerk may still correct the final reading
    meter.correct(
        read_on=date(2026, 3, 31),
        value=D("279.000"),
        reason="Ausbauprotokoll",
        actor=CLERK,
        at=at(date(2026, 4, 10)),
    )
    assert meter.last_reading.value == D("279.000")


def test_a_final_reading_lower_than_the_last_is_refused() -> None:
    meter = read_for_two_years()
    with pytest.raises(InvalidCommand) as refused:
        meter.remove(
            removed_on=date(2026, 3, 31),
            final_value=D("200.000"),
            actor=CLERK,
            at=at(date(2026, 4, 1)),
        )
    assert refused.value.field == "final_value"
    assert meter.removed_on is None


def test_a_recalibrated_meter_is_read_without_the_calibration_flag() -> None:
    meter = installed(calibration_until=date(2024, 6, 30))
    meter.recalibrate(
        calibration_valid_until=date(2030, 12, 31), actor=CLERK, at=at(date(2024, 6, 1))
    )
    assert meter.calibration(date(2024, 12, 31)).expired is False
    report(meter, date(2024, 12, 31), "120.000")
    assert meter.last_reading.flags == ()
    with pytest.raises(InvalidCommand):
        meter.recalibrate(
            calibration_valid_until=date(2023, 12, 31), actor=CLERK, at=at(date(2024, 6, 1))
        )


# ------------------------------------------------------------------ the campaign

START, DEADLINE = date(2025, 12, 1), date(2026, 1, 15)


def opened() -> ReadingCampaign:
    """Usingen's campaign of 2025: from 1 December to 15 January."""
    return ReadingCampaign.open(
        tenant=TOWN, year=2025, starts_on=START, deadline=DEADLINE, actor=CLERK, at=at(START)
    )


def test_a_campaigns_id_derives_from_the_town_and_the_year() -> None:
    campaign = opened()
    assert campaign.id == campaign_id(TOWN, 2025)
    assert campaign.id == uuid5(NAMESPACE_URL, "vorgang:reading-campaign:usingen:2025")
    assert (campaign.year, campaign.starts_on, campaign.deadline) == (2025, START, DEADLINE)
    assert (campaign.estimates, campaign.estimates_made_at, campaign.closed) == ((), None, False)


@pytest.mark.parametrize(
    ("starts_on", "deadline", "field"),
    [
        (date(2025, 12, 1), date(2025, 12, 1), "deadline"),
        (date(2025, 12, 1), date(2025, 11, 30), "deadline"),
        (date(2025, 12, 1), date(2027, 1, 1), "deadline"),
        (date(2024, 12, 1), date(2025, 1, 15), "starts_on"),
    ],
)
def test_a_campaign_with_a_deadline_not_after_its_start_or_too_late_is_refused(
    starts_on: date, deadline: date, field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        ReadingCampaign.open(
            tenant=TOWN,
            year=2025,
            starts_on=starts_on,
            deadline=deadline,
            actor=CLERK,
            at=at(starts_on),
        )
    assert refused.value.field == field


def test_a_campaign_takes_readings_from_its_start_until_it_is_closed() -> None:
    campaign = opened()
    assert not campaign.takes_reading(START - timedelta(days=1))
    assert campaign.takes_reading(START)
    assert campaign.takes_reading(DEADLINE + timedelta(days=10))  # late, but answers it
    campaign.close(actor=CLERK, at=at(date(2026, 2, 1)))
    assert not campaign.takes_reading(DEADLINE)


def test_estimates_are_recorded_after_the_deadline_each_run_with_its_counts() -> None:
    campaign = opened()
    with pytest.raises(InvalidCommand) as early:
        campaign.record_estimates(estimated=3, not_estimable=0, actor=CLERK, at=at(DEADLINE))
    assert early.value.field == "deadline"
    with pytest.raises(InvalidCommand) as negative:
        campaign.record_estimates(
            estimated=-1, not_estimable=0, actor=CLERK, at=at(date(2026, 1, 16))
        )
    assert negative.value.field == "estimated"
    assert not campaign.pending_events[1:]
    first, second = at(date(2026, 1, 16)), at(date(2026, 1, 20))
    campaign.record_estimates(estimated=3, not_estimable=1, actor=CLERK, at=first)
    campaign.record_estimates(estimated=1, not_estimable=0, actor=CLERK, at=second)
    assert campaign.estimates == (
        EstimatesRun(first, 3, 1, CLERK.id),
        EstimatesRun(second, 1, 0, CLERK.id),
    )
    assert campaign.estimates_made_at == second


def test_a_closed_campaign_takes_nothing_more() -> None:
    campaign = opened()
    with pytest.raises(InvalidCommand) as early:
        campaign.close(actor=CLERK, at=at(DEADLINE))
    assert early.value.field == "deadline"
    campaign.close(actor=CLERK, at=at(date(2026, 2, 1)))
    assert campaign.closed
    assert campaign.closed_at == at(date(2026, 2, 1))
    campaign.collect_events()
    later = at(date(2026, 2, 2))
    refusals: list[Callable[[], object]] = [
        lambda: campaign.record_estimates(estimated=1, not_estimable=0, actor=CLERK, at=later),
        lambda: campaign.close(actor=CLERK, at=later),
    ]
    for refused in refusals:
        with pytest.raises(InvalidCommand) as error:
            refused()
        assert error.value.field == "campaign"
    assert not campaign.pending_events


# ------------------------------------------------------------------ stored and read back


def test_meter_and_campaign_read_back_from_the_store_as_they_were_saved() -> None:
    main = read_for_two_years()
    main.correct(
        read_on=date(2024, 12, 31),
        value=D("125.000"),
        reason="Foto",
        actor=CLERK,
        at=at(date(2026, 1, 5)),
    )
    main.remove(
        removed_on=date(2026, 3, 31), final_value=D("280.000"), actor=CLERK, at=at(date(2026, 4, 1))
    )
    garden = installed(number="GW-200456", main_meter=main.id, digits=3, start=D("990.000"))
    report(garden, date(2024, 12, 31), "20.500", rollover=True)
    garden.record_estimate(
        on=date(2025, 12, 31), campaign_year=2025, actor=CLERK, at=at(date(2026, 1, 20))
    )
    garden.recalibrate(
        calibration_valid_until=date(2031, 12, 31), actor=CLERK, at=at(date(2026, 1, 20))
    )
    campaign = opened()
    campaign.record_estimates(estimated=1, not_estimable=0, actor=CLERK, at=at(date(2026, 1, 20)))
    campaign.close(actor=CLERK, at=at(date(2026, 1, 21)))
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:water-meter-{uuid4()}?mode=memory&cache=shared",
    }
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        store.save(main, garden, campaign)
        read: list[Aggregate] = [store.repository.get(a.id) for a in (main, garden, campaign)]
    finally:
        store.close()
    for meter, again in zip((main, garden), read[:2], strict=True):
        assert isinstance(again, WaterMeter)
        assert (again.facts, again.readings, again.removed_on, again.main_meter) == (
            meter.facts,
            meter.readings,
            meter.removed_on,
            meter.main_meter,
        )
        assert (again.tenant, again.property_id, again.version) == (
            meter.tenant,
            meter.property_id,
            meter.version,
        )
    assert isinstance(read[2], ReadingCampaign)
    assert (read[2].estimates, read[2].closed_at, read[2].version) == (
        campaign.estimates,
        campaign.closed_at,
        campaign.version,
    )

"""A water meter reading, submitted like every application and checked against its meter
in the same save, on SQLite and on PostgreSQL.

The reading is accepted (the file closes), flagged for a clerk, left for a clerk when the
meter number is unknown, or refused naming ``data.reading`` with nothing stored. Readings of
one meter at once are forced to collide; each loser is checked again against the winner.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from application.cases import CaseService
from application.commands import CommandHandler
from application.errors import CaseNotFound
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case_steps import OptionalReason, Reason
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus
from domain.rules.water_meters import Flag, ReadingKind
from domain.services.water_reading import (
    SERVICE_ID,
    STEPS,
    MeterAssignment,
    ReadingCorrection,
    ReadingStatus,
    WaterMeterReading,
    example,
)
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter, meter_id
from domain.working_days import berlin_date
from tests.conftest import CLERK, FOREIGN_CLERK

TOWN = "usingen"
NUMBER = "WZ-USI-000123"
CUSTOMER = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, TOWN)


@pytest.fixture
def steps(cases: CaseService) -> CommandHandler:
    """The one command pipeline, as the API runs it."""
    return CommandHandler(cases)


def install(store: VorgangStore, number: str = NUMBER, town: str = TOWN) -> WaterMeter:
    """A meter installed in 2024 and read at the end of 2025 (one year of history)."""
    meter = WaterMeter.install(
        tenant=town,
        meter_number=number,
        property_id="USI-VS-000123",
        installed_on=date(2024, 12, 31),
        calibration_valid_until=date(2030, 12, 31),
        digits=5,
        start_value=Decimal("100.000"),
        main_meter=None,
        actor=CLERK,
        at=datetime(2025, 1, 2, 9, tzinfo=UTC),
    )
    meter.record_reported(
        case_id=UUID(int=1),
        value=Decimal("200.000"),
        read_on=date(2025, 12, 31),
        rollover_declared=False,
        today=date(2026, 1, 2),
        actor=CLERK,
        at=datetime(2026, 1, 2, 9, tzinfo=UTC),
    )
    store.save(meter)
    return meter


def submit(
    cases: CaseService, value: str, *, number: str = NUMBER, town: str = TOWN, **more: Any
) -> Any:
    """A customer's reading of today."""
    data = {
        **example(berlin_date(cases.clock.now())),
        "meter_number": number,
        "reading": value,
        **more,
    }
    customer = Actor(CUSTOMER.id, CUSTOMER.display_name, Role.APPLICANT, town)
    return cases.submit(
        actor=customer,
        tenant=town,
        service=SERVICE_ID,
        applicant={"name": "Max Mustermann"},
        data=data,
    )


def reading(store: VorgangStore, case_id: UUID) -> WaterMeterReading:
    case: object = store.repository.get(case_id)
    assert isinstance(case, WaterMeterReading)
    return case


def meter_of(store: VorgangStore, number: str = NUMBER, town: str = TOWN) -> WaterMeter:
    meter: object = store.repository.get(meter_id(town, number))
    assert isinstance(meter, WaterMeter)
    return meter


def test_a_reading_in_line_is_recorded_on_its_meter_and_the_file_closes(
    cases: CaseService, store: VorgangStore
) -> None:
    install(store)
    result = submit(cases, "222.500")  # 22.5 m³ in two months: in line with the year before
    case = reading(store, result.case_id)
    assert case.status == CaseStatus.CLOSED
    assert (case.outcome, case.flags, case.consumption) == ("accepted", (), Decimal("22.500"))
    recorded = meter_of(store).readings[-1]
    assert (recorded.kind, recorded.value, recorded.case_id) == (
        ReadingKind.REPORTED,
        Decimal("222.500"),
        result.case_id,
    )
    assert recorded.campaign_year is None  # no campaign is open
    state = cases.get(result.case_id, actor=CLERK)
    assert state.service_state["outcome"] == "accepted"


def test_a_reading_answers_the_campaign_open_for_its_day(
    cases: CaseService, store: VorgangStore
) -> None:
    install(store)
    campaign = ReadingCampaign.open(
        tenant=TOWN,
        year=2026,
        starts_on=date(2026, 2, 1),
        deadline=date(2026, 3, 31),
        actor=CLERK,
        at=datetime(2026, 1, 20, 9, tzinfo=UTC),
    )
    store.save(campaign)
    result = submit(cases, "222.500")
    assert reading(store, result.case_id).campaign_year == 2026
    assert meter_of(store).readings[-1].campaign_year == 2026
    # a reading of a number the town does not know answers the campaign all the same
    unknown = submit(cases, "222.500", number="WZ-USI-999999")
    assert reading(store, unknown.case_id).campaign_year == 2026


def test_a_lower_reading_is_refused_naming_the_field_and_nothing_is_stored(
    cases: CaseService, store: VorgangStore
) -> None:
    install(store)
    version = meter_of(store).version
    with pytest.raises(InvalidCommand) as refused:
        submit(cases, "150.000")
    assert refused.value.field == "data.reading"
    assert "lower than the previous reading" in str(refused.value)
    assert meter_of(store).version == version
    # declared as a rollover of the five-digit counter: accepted, flagged for a clerk
    submit(cases, "150.000", rollover_declared=True)
    assert Flag.ROLLOVER in meter_of(store).readings[-1].flags


def test_a_reading_in_the_future_is_refused_at_submission(cases: CaseService) -> None:
    with pytest.raises(InvalidCommand) as refused:
        submit(cases, "222.000", read_on="2026-03-03")
    assert refused.value.field == "data.read_on"


def test_a_flagged_reading_waits_for_a_clerk_who_confirms_it(
    cases: CaseService, store: VorgangStore, steps: CommandHandler
) -> None:
    install(store)
    result = submit(cases, "500.000")  # 300 m³ in two months: far above the year's 100
    case = reading(store, result.case_id)
    assert case.status == ReadingStatus.FLAGGED
    assert case.flags == (Flag.FAR_ABOVE_HISTORY.value,)
    step = STEPS.named("confirm_reading")
    with pytest.raises(InvalidCommand):
        steps.handle(result.case_id, step(OptionalReason()), CUSTOMER, None)
    steps.handle(result.case_id, step(OptionalReason(reason="Pool befüllt")), CLERK, None)
    assert reading(store, result.case_id).status == CaseStatus.CLOSED
    assert meter_of(store).last_reading.value == Decimal("500.000")


def test_a_clerk_corrects_a_flagged_reading_on_its_meter_and_the_original_stays(
    cases: CaseService, store: VorgangStore, steps: CommandHandler
) -> None:
    install(store)
    result = submit(cases, "500.000")
    body = ReadingCorrection(value=Decimal("215.000"), reason="Ziffer verlesen (Foto)")
    steps.handle(result.case_id, STEPS.named("correct_reading")(body), CLERK, None)
    case = reading(store, result.case_id)
    assert (case.status, case.corrected_value) == (CaseStatus.CLOSED, Decimal("215.000"))
    meter = meter_of(store)
    original, correction = meter.readings[-2:]
    assert (original.kind, original.value) == (ReadingKind.REPORTED, Decimal("500.000"))
    assert (correction.kind, correction.value, correction.corrects, correction.case_id) == (
        ReadingKind.CORRECTED,
        Decimal("215.000"),
        original.number,
        result.case_id,
    )
    assert meter.last_reading == correction


def test_an_unknown_meter_waits_for_a_clerk_who_names_the_meter(
    cases: CaseService, store: VorgangStore, steps: CommandHandler
) -> None:
    install(store)
    result = submit(cases, "222.000", number="WZ-USI-000132")  # digits swapped
    case = reading(store, result.case_id)
    assert (case.status, case.outcome, case.meter_id) == (
        ReadingStatus.METER_UNKNOWN,
        "meter_unknown",
        None,
    )
    assign = STEPS.named("assign_meter")
    with pytest.raises(InvalidCommand) as unknown:
        steps.handle(
            result.case_id,
            assign(MeterAssignment(meter_number="WZ-0000", reason="Foto")),
            CLERK,
            None,
        )
    assert unknown.value.field == "meter_number"
    body = MeterAssignment(meter_number="wz-usi-000123 ", reason="Zahlendreher laut Foto")
    steps.handle(result.case_id, assign(body), CLERK, None)
    case = reading(store, result.case_id)
    assert (case.status, case.meter_id, case.meter_number) == (
        CaseStatus.CLOSED,
        meter_id(TOWN, NUMBER),
        NUMBER,
    )
    assert meter_of(store).readings[-1].case_id == result.case_id


def test_an_unknown_meter_is_rejected_with_a_reason(
    cases: CaseService, store: VorgangStore, steps: CommandHandler
) -> None:
    result = submit(cases, "222.000", number="WZ-UNBEKANNT")
    steps.handle(
        result.case_id,
        STEPS.named("reject_reading")(Reason(reason="Kein Zähler der Stadt Usingen")),
        CLERK,
        None,
    )
    assert reading(store, result.case_id).status == CaseStatus.CLOSED


def test_a_meter_of_another_town_is_not_found_and_its_clerks_cannot_act(
    cases: CaseService, store: VorgangStore, steps: CommandHandler
) -> None:
    install(store)  # Usingen's meter
    result = submit(cases, "222.000", town="schmitten")
    assert reading(store, result.case_id).status == ReadingStatus.METER_UNKNOWN
    assert len(meter_of(store).readings) == 2  # Usingen's meter untouched
    usingen = submit(cases, "500.000")
    with pytest.raises(CaseNotFound):
        steps.handle(
            usingen.case_id, STEPS.named("confirm_reading")(OptionalReason()), FOREIGN_CLERK, None
        )
    assert reading(store, usingen.case_id).status == ReadingStatus.FLAGGED


def test_readings_of_one_meter_at_once_are_each_checked_against_the_others(
    cases: CaseService, store: VorgangStore, collide: Callable[[int], Any]
) -> None:
    install(store)
    n = 5
    collide(n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(submit, cases, "230.000") for _ in range(n)]
        results = [f.result() for f in futures]
    meter = meter_of(store)
    reported = [r for r in meter.readings if r.kind == ReadingKind.REPORTED][1:]
    assert sorted(r.case_id for r in reported if r.case_id) == sorted(r.case_id for r in results)
    # the first saved is in line; each after it is a second reading of the day
    assert [Flag.SAME_DAY_TWICE in r.flags for r in reported] == [False] + [True] * (n - 1)
    assert meter.version == 2 + n


def test_readings_of_one_meter_in_one_process_are_decided_in_turn_without_a_lost_race(
    cases: CaseService, store: VorgangStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within a process, submissions meeting at one meter wait for each other instead of
    racing: every save succeeds at the first try (no reload of the meter per lost race)."""
    install(store)
    original = store.save
    lost: list[int] = []

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        try:
            return original(*aggregates, **kwargs)
        except IntegrityError:
            if any(isinstance(a, WaterMeter) for a in aggregates):
                lost.append(1)
            raise

    monkeypatch.setattr(store, "save", save)
    n = 6
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(lambda _i: submit(cases, "230.000"), range(n)))
    assert len({r.case_id for r in results}) == n
    assert lost == []  # nobody decided on a stale meter
    assert meter_of(store).version == 2 + n

"""The water meters view lists a town's meters and counts its reading campaigns from the
meters' own events: reported, flagged, estimated, corrected and missing meters per year,
a late reading after its estimate counted as reported, the reading cases still waiting for
a clerk, each town apart, and a rebuild gives the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.case_steps import OptionalReason, Reason
from domain.lifecycle import CaseStatus
from domain.rules.water_meters import ReadingKind
from domain.services import water_reading
from domain.services.water_reading import STEPS, ReadingCorrection, ReadingStatus
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter, meter_id
from domain.working_days import berlin_date
from infrastructure.projection_rebuild import rebuild, table_indexes
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.cursors import InvalidCursor
from projections.water_meters import WaterMeters
from projections.water_query import (
    active_meters,
    campaign_of,
    campaign_statistics,
    meters_of,
)

TOWN = "usingen"
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
OTHER_CLERK = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
D = Decimal
DEADLINE = date(2027, 1, 15)
RULES_FROM = date(2025, 1, 1)  # the example rules' first day: earlier readings checked then


def at(day: date) -> datetime:
    """Nine o'clock UTC on the day (ten in Berlin: the same calendar day)."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


@dataclass
class Town:
    """A town's meters and campaign, saved straight to the store as the services would."""

    vorgang: Vorgang
    tenant: str = TOWN

    @property
    def actor(self) -> Actor:
        return CLERK if self.tenant == TOWN else OTHER_CLERK

    def install(
        self,
        number: str,
        *,
        on: date = date(2024, 1, 1),
        property_id: str = "USI-VS-000123",
        main_meter: UUID | None = None,
    ) -> WaterMeter:
        meter = WaterMeter.install(
            tenant=self.tenant,
            meter_number=number,
            property_id=property_id,
            installed_on=on,
            calibration_valid_until=date(2029, 12, 31),
            digits=5,
            start_value=D("0.000"),
            main_meter=main_meter,
            actor=self.actor,
            at=at(on),
        )
        self.vorgang.store.save(meter)
        return meter

    def meter(self, number: str) -> WaterMeter:
        found: WaterMeter = self.vorgang.store.repository.get(meter_id(self.tenant, number))
        return found

    def report(self, number: str, read_on: date, value: str, year: int | None = None) -> UUID:
        meter, case_id = self.meter(number), uuid4()
        meter.record_reported(
            case_id=case_id,
            value=D(value),
            read_on=read_on,
            rollover_declared=False,
            today=max(read_on, RULES_FROM),
            actor=self.actor,
            at=at(max(read_on, RULES_FROM)),
            campaign_year=year,
        )
        self.vorgang.store.save(meter)
        return case_id

    def estimate(self, number: str, year: int = 2026) -> None:
        meter = self.meter(number)
        meter.record_estimate(
            on=DEADLINE, campaign_year=year, actor=self.actor, at=at(date(2027, 1, 16))
        )
        self.vorgang.store.save(meter)

    def correct(self, number: str, read_on: date, value: str) -> None:
        meter = self.meter(number)
        meter.correct(
            read_on=read_on, value=D(value), reason="Ablesefehler", actor=self.actor, at=at(read_on)
        )
        self.vorgang.store.save(meter)

    def remove(self, number: str, on: date, value: str) -> None:
        meter = self.meter(number)
        meter.remove(removed_on=on, final_value=D(value), actor=self.actor, at=at(on))
        self.vorgang.store.save(meter)

    def open_campaign(self, year: int = 2026) -> ReadingCampaign:
        campaign = ReadingCampaign.open(
            tenant=self.tenant,
            year=year,
            starts_on=date(year, 12, 1),
            deadline=date(year + 1, 1, 15),
            actor=self.actor,
            at=at(date(year, 11, 20)),
        )
        self.vorgang.store.save(campaign)
        return campaign


def caught_up(v: Vorgang) -> None:
    v.projections.catch_up()


def a_town_read_for_2026(vorgang: Vorgang) -> Town:
    """Usingen's meters, each read at the end of 2024, and what became of them in 2026:

    WZ-A read in line, WZ-B read far above its history (flagged), WZ-C estimated, WZ-D
    estimated and read late after the deadline, WZ-E read and corrected by a clerk, WZ-F
    never read (missing), WZ-G removed in June, WZ-H installed after the deadline.
    """
    town = Town(vorgang)
    town.open_campaign()
    for number in ("WZ-A", "WZ-B", "WZ-C", "WZ-D", "WZ-E", "WZ-F", "WZ-G"):
        town.install(number)
        town.report(number, date(2024, 12, 31), "120.000")
    town.report("WZ-A", date(2026, 12, 10), "350.000", 2026)
    town.report("WZ-B", date(2026, 12, 10), "900.000", 2026)
    town.estimate("WZ-C")
    town.estimate("WZ-D")
    town.report("WZ-D", date(2027, 1, 20), "366.500", 2026)
    town.report("WZ-E", date(2026, 12, 10), "350.000", 2026)
    town.correct("WZ-E", date(2026, 12, 10), "340.000")
    town.remove("WZ-G", date(2026, 6, 30), "180.000")
    town.install("WZ-H", on=date(2027, 2, 1), property_id="USI-VS-000999")
    return town


def test_a_campaigns_statistics_count_reported_flagged_estimated_corrected_and_missing_meters(
    vorgang: Vorgang,
) -> None:
    a_town_read_for_2026(vorgang)
    caught_up(vorgang)
    assert campaign_statistics(vorgang.views, TOWN, 2026) == {
        "meters": 6,  # A to F: G was removed before the deadline, H installed after it
        "reported": 4,  # A, B, D (late, after its estimate), E
        "flagged": 1,  # B
        "flagged_open": 0,
        "meter_unknown_open": 0,
        "estimated": 1,  # C
        "corrected": 1,  # E
        "missing": 1,  # F
    }
    assert campaign_statistics(vorgang.views, TOWN, 2025) is None


def test_a_late_reading_after_an_estimate_counts_the_meter_as_reported(vorgang: Vorgang) -> None:
    town = Town(vorgang)
    town.open_campaign()
    town.install("WZ-D")
    town.report("WZ-D", date(2024, 12, 31), "120.000")
    town.estimate("WZ-D")
    caught_up(vorgang)
    before = campaign_statistics(vorgang.views, TOWN, 2026)
    assert before is not None
    assert (before["reported"], before["estimated"], before["missing"]) == (0, 1, 0)
    town.report("WZ-D", date(2027, 1, 20), "366.500", 2026)
    caught_up(vorgang)
    after = campaign_statistics(vorgang.views, TOWN, 2026)
    assert after is not None
    assert (after["reported"], after["estimated"], after["missing"]) == (1, 0, 0)


def test_the_statistics_count_only_the_towns_own_meters(vorgang: Vorgang) -> None:
    a_town_read_for_2026(vorgang)
    other = Town(vorgang, tenant="schmitten")
    other.open_campaign()
    other.install("WZ-A", property_id="SCH-1")  # the same number, another town's meter
    other.report("WZ-A", date(2024, 12, 31), "120.000")
    other.report("WZ-A", date(2026, 12, 10), "900.000", 2026)
    caught_up(vorgang)
    usingen = campaign_statistics(vorgang.views, TOWN, 2026)
    schmitten = campaign_statistics(vorgang.views, "schmitten", 2026)
    assert usingen is not None
    assert schmitten is not None
    assert (usingen["meters"], usingen["reported"], usingen["flagged"]) == (6, 4, 1)
    assert (schmitten["meters"], schmitten["reported"], schmitten["flagged"]) == (1, 1, 1)
    assert schmitten["missing"] == 0
    assert campaign_statistics(vorgang.views, "neu-anspach", 2026) is None
    assert [m["meter_number"] for m in meters_of(vorgang.views, "schmitten", limit=10)] == ["WZ-A"]
    assert meters_of(vorgang.views, "neu-anspach", limit=10) == []


def test_a_towns_meters_list_by_number_with_the_reading_that_stands_last(
    vorgang: Vorgang,
) -> None:
    town = a_town_read_for_2026(vorgang)
    caught_up(vorgang)
    meters = meters_of(vorgang.views, TOWN, limit=100)
    assert [m["meter_number"] for m in meters] == [f"WZ-{c}" for c in "ABCDEFGH"]
    by_number = {m["meter_number"]: m for m in meters}
    e = by_number["WZ-E"]  # the correction stands before the original of its day
    assert (e["last_read_on"], e["last_value"], e["last_kind"], e["readings"]) == (
        date(2026, 12, 10),
        D("340.000"),
        ReadingKind.CORRECTED,
        4,
    )
    assert e["meter_id"] == town.meter("WZ-E").id
    assert e["installed_on"] == date(2024, 1, 1)
    assert e["calibration_valid_until"] == date(2029, 12, 31)
    d = by_number["WZ-D"]  # the late reading after the estimate
    assert (d["last_read_on"], d["last_value"], d["last_kind"]) == (
        date(2027, 1, 20),
        D("366.500"),
        ReadingKind.REPORTED,
    )
    g = by_number["WZ-G"]
    assert (g["removed_on"], g["last_kind"], g["last_value"]) == (
        date(2026, 6, 30),
        ReadingKind.REMOVED,
        D("180.000"),
    )
    h = by_number["WZ-H"]
    assert (h["last_kind"], h["readings"], h["removed_on"]) == (ReadingKind.INSTALLED, 1, None)
    for meter in meters:  # as the aggregate has it
        aggregate = town.meter(meter["meter_number"])
        last = aggregate.last_reading
        assert (meter["last_read_on"], meter["last_value"], meter["last_kind"]) == (
            last.read_on,
            last.value,
            last.kind,
        )
        assert meter["readings"] == len(aggregate.readings)


def test_meters_page_by_number_and_filter_by_property_or_number(vorgang: Vorgang) -> None:
    town = Town(vorgang)
    main = town.install("WZ-100")
    town.install("GW-200", main_meter=main.id)
    town.install("WZ-300", property_id="USI-VS-000777")
    caught_up(vorgang)
    first = meters_of(vorgang.views, TOWN, limit=2)
    assert [m["meter_number"] for m in first] == ["GW-200", "WZ-100"]
    assert first[0]["main_meter"] == main.id
    rest = meters_of(vorgang.views, TOWN, limit=2, after=first[-1]["cursor"])
    assert [m["meter_number"] for m in rest] == ["WZ-300"]
    at_property = meters_of(vorgang.views, TOWN, property_id="USI-VS-000123", limit=10)
    assert [m["meter_number"] for m in at_property] == ["GW-200", "WZ-100"]
    by_number = meters_of(vorgang.views, TOWN, meter_number=" wz-300 ", limit=10)
    assert [m["property_id"] for m in by_number] == ["USI-VS-000777"]
    with pytest.raises(InvalidCursor):
        meters_of(vorgang.views, TOWN, limit=2, after="not-ours")


def test_active_meters_are_those_in_place_on_the_day(vorgang: Vorgang) -> None:
    a_town_read_for_2026(vorgang)
    caught_up(vorgang)

    def numbers(on: date) -> list[str]:
        return [m["meter_number"] for m in active_meters(vorgang.views, TOWN, on)]

    assert numbers(DEADLINE) == [f"WZ-{c}" for c in "ABCDEF"]
    assert numbers(date(2026, 6, 30)) == [f"WZ-{c}" for c in "ABCDEFG"]  # removed that day
    assert numbers(date(2027, 2, 1)) == [f"WZ-{c}" for c in "ABCDEFH"]
    assert numbers(date(2023, 12, 31)) == []
    assert active_meters(vorgang.views, "schmitten", DEADLINE) == []


def test_a_campaign_shows_when_it_was_estimated_and_closed(vorgang: Vorgang) -> None:
    town = Town(vorgang)
    campaign = town.open_campaign()
    caught_up(vorgang)
    opened = campaign_of(vorgang.views, TOWN, 2026)
    assert opened == {
        "year": 2026,
        "starts_on": date(2026, 12, 1),
        "deadline": DEADLINE,
        "closed_at": None,
        "estimates_made_at": None,
    }
    made, closed = at(date(2027, 1, 16)), at(date(2027, 2, 1))
    campaign.record_estimates(estimated=3, not_estimable=1, actor=CLERK, at=made)
    campaign.close(actor=CLERK, at=closed)
    vorgang.store.save(campaign)
    caught_up(vorgang)
    shown = campaign_of(vorgang.views, TOWN, 2026)
    assert shown is not None
    assert datetime.fromisoformat(shown["estimates_made_at"]) == made
    assert datetime.fromisoformat(shown["closed_at"]) == closed
    assert campaign_of(vorgang.views, "schmitten", 2026) is None


def submit_reading(vorgang: Vorgang, number: str, value: str, tenant: str = TOWN) -> UUID:
    """A customer's reading of today, submitted as every application."""
    customer = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, tenant)
    data = {
        **water_reading.example(berlin_date(vorgang.cases.clock.now())),
        "meter_number": number,
        "reading": value,
    }
    result = vorgang.cases.submit(
        actor=customer,
        tenant=tenant,
        service=water_reading.SERVICE_ID,
        applicant={"name": "Max Mustermann"},
        data=data,
    )
    case_id: UUID = result.case_id
    return case_id


def read_by_year_end(town: Town, number: str) -> None:
    """A meter installed at the end of 2024 at 100 m³, read at 200 at the end of 2025."""
    town.install(number, on=date(2024, 12, 31))
    meter = town.meter(number)
    meter.record_reported(
        case_id=uuid4(),
        value=D("200.000"),
        read_on=date(2025, 12, 31),
        rollover_declared=False,
        today=date(2026, 1, 2),
        actor=CLERK,
        at=at(date(2026, 1, 2)),
    )
    town.vorgang.store.save(meter)


def test_reading_cases_waiting_for_a_clerk_are_counted_until_a_clerk_acts(
    vorgang: Vorgang,
) -> None:
    """Monday 2 March 2026: the campaign runs through March. A reading in line closes at
    once; flagged ones wait until a clerk confirms or corrects them; an unknown meter's
    waits until the clerk names the meter or rejects it."""
    town = Town(vorgang)
    campaign = ReadingCampaign.open(
        tenant=TOWN,
        year=2026,
        starts_on=date(2026, 3, 1),
        deadline=date(2026, 3, 31),
        actor=CLERK,
        at=at(date(2026, 2, 20)),
    )
    vorgang.store.save(campaign)
    for number in ("WZ-1", "WZ-2", "WZ-3", "WZ-4", "WZ-5"):
        read_by_year_end(town, number)
    steps = CommandHandler(vorgang.cases)
    closed = submit_reading(vorgang, "WZ-1", "216.000")  # in line with the year before
    waiting = submit_reading(vorgang, "WZ-2", "500.000")  # far above: flagged
    confirmed = submit_reading(vorgang, "WZ-3", "500.000")
    corrected = submit_reading(vorgang, "WZ-4", "500.000")
    unknown = submit_reading(vorgang, "WZ-UNBEKANNT", "222.000")
    rejected = submit_reading(vorgang, "WZ-FALSCH", "222.000")
    submit_reading(vorgang, "WZ-1", "222.000", tenant="schmitten")  # another town's unknown
    vorgang.cases.submit(  # another service's case: not a reading
        actor=Actor("portal:4711", "Max Mustermann", Role.APPLICANT, TOWN),
        tenant=TOWN,
        service="general",
        applicant={"name": "Max Mustermann"},
        data={"subject": "Anliegen"},
    )
    caught_up(vorgang)
    before = campaign_statistics(vorgang.views, TOWN, 2026)
    assert before is not None
    assert (before["flagged"], before["flagged_open"], before["meter_unknown_open"]) == (3, 3, 2)
    steps.handle(confirmed, STEPS.named("confirm_reading")(OptionalReason()), CLERK, None)
    body = ReadingCorrection(value=D("215.000"), reason="Ziffer verlesen (Foto)")
    steps.handle(corrected, STEPS.named("correct_reading")(body), CLERK, None)
    reject = STEPS.named("reject_reading")(Reason(reason="Kein Zähler der Stadt"))
    steps.handle(rejected, reject, CLERK, None)
    caught_up(vorgang)
    assert campaign_statistics(vorgang.views, TOWN, 2026) == {
        "meters": 5,
        "reported": 4,  # WZ-1 to WZ-4
        "flagged": 3,  # WZ-2, WZ-3, WZ-4: their readings as reported
        "flagged_open": 1,  # WZ-2
        "meter_unknown_open": 1,
        "estimated": 0,
        "corrected": 1,  # WZ-4
        "missing": 1,  # WZ-5
    }
    other = campaign_statistics(vorgang.views, "schmitten", 2026)
    assert other is None  # no campaign there; its unknown meter's case is its own
    rows = vorgang.views.query(
        f"SELECT case_id, status FROM {WaterMeters().cases_table} WHERE tenant = ?",  # noqa: S608
        (TOWN,),
    )
    assert dict(rows) == {
        str(closed): CaseStatus.CLOSED,
        str(waiting): ReadingStatus.FLAGGED,
        str(confirmed): CaseStatus.CLOSED,
        str(corrected): CaseStatus.CLOSED,
        str(unknown): ReadingStatus.METER_UNKNOWN,
        str(rejected): CaseStatus.CLOSED,
    }


class OneByOne(WaterMeters):
    """The same view under a version of its own, filled one event per batch."""

    version = 98


class AllAtOnce(WaterMeters):
    """The same view under another version, filled in one batch."""

    version = 99


def test_a_rebuild_gives_the_same_rows_whatever_the_batches(vorgang: Vorgang) -> None:
    a_town_read_for_2026(vorgang)
    Town(vorgang, tenant="schmitten").install("WZ-A")
    read_by_year_end(Town(vorgang), "WZ-9")
    submit_reading(vorgang, "WZ-9", "500.000")  # flagged
    submit_reading(vorgang, "WZ-UNBEKANNT", "222.000")
    caught_up(vorgang)
    live, one, many = WaterMeters(), OneByOne(), AllAtOnce()
    ProjectionRunner(vorgang.store, vorgang.views, one, batch_size=1).catch_up()
    ProjectionRunner(vorgang.store, vorgang.views, many, batch_size=1000).catch_up()
    keys = ("meter_id", "reading_key", "state_key", "campaign_id", "case_id")
    for tables in zip(live.tables(), one.tables(), many.tables(), keys, strict=True):
        *names, key = tables
        rows = [
            vorgang.views.query(f"SELECT * FROM {name} ORDER BY {key}")  # noqa: S608
            for name in names
        ]
        assert rows[0], names[0]
        assert rows[0] == rows[1] == rows[2], names[0]


def test_a_rebuild_switched_in_place_keeps_the_statistics_and_the_indexes(
    vorgang: Vorgang,
) -> None:
    a_town_read_for_2026(vorgang)
    caught_up(vorgang)
    before = campaign_statistics(vorgang.views, TOWN, 2026)
    pages = meters_of(vorgang.views, TOWN, limit=100)
    live = vorgang.projections.runners[WaterMeters.name].projection
    with vorgang.views.transaction() as tx:
        indexes = {t: table_indexes(tx, vorgang.views.dialect, t) for t in live.tables()}
    done = rebuild(vorgang.store, vorgang.views, live, batch_size=3)
    assert done.events > 0
    assert campaign_statistics(vorgang.views, TOWN, 2026) == before
    assert meters_of(vorgang.views, TOWN, limit=100) == pages
    with vorgang.views.transaction() as tx:
        after = {t: table_indexes(tx, vorgang.views.dialect, t) for t in live.tables()}
    assert {t: sorted(i.name for i in found) for t, found in after.items()} == {
        t: sorted(i.name for i in found) for t, found in indexes.items()
    }


def test_the_view_reads_meter_campaign_and_reading_case_events() -> None:
    view = WaterMeters()
    assert view.tables()[0] == "water_meters_v1"
    assert "domain.services.water_reading:WaterMeterReading.ReadingChecked" in view.topics()
    assert "domain.services.water_reading:WaterMeterReading.ReadingConfirmed" in view.topics()
    assert "domain.water.meter:WaterMeter.ReadingCorrected" in view.topics()
    assert "domain.water.campaign:ReadingCampaign.EstimatesMade" in view.topics()

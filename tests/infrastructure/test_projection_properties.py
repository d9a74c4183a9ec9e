"""Incrementally maintained views equal a fresh rebuild of the same log, row for row.

The steps include the legal track (objections lodged, withdrawn, remedied and decided;
finality), and the inbox's status and open objection agree with the aggregates; and water
meters with their readings, estimates and corrections, and a reading campaign; and holiday
offerings with their registrations, draw, cancellations and move-ups; and markets with their
applications, withdrawals, selection, give-ups and the offers, acceptances, refusals and
lapses of the move-up.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import DomainError
from domain.holiday.offering import AllocationRules, ChildEntry, HolidayOffering, offering_id
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch, market_id
from domain.rules.notification import Delivery
from domain.water.campaign import ReadingCampaign, campaign_id
from domain.water.meter import WaterMeter, meter_id
from domain.working_days import berlin_date
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.audit_trail import AuditTrail
from projections.case_stats import CaseStats
from projections.feed import Feed
from projections.holiday_offerings import HolidayOfferings
from projections.inbox import Inbox
from projections.markets import Markets
from projections.projection import Projection
from projections.water_meters import WaterMeters
from tests.conftest import drop_postgres_schema, fresh_postgres_target
from tests.steps import take

CLERKS = [Actor(f"clerk-{i}", f"Clerk {i}", Role.CLERK, "usingen") for i in range(2)]
APPLICANT = Actor("portal:1", "Max", Role.APPLICANT, "usingen")
ADMIN = Actor("dsb", "DSB", Role.ADMIN, "usingen")


class FreshInbox(Inbox):
    version = 99


class FreshAuditTrail(AuditTrail):
    version = 99


class FreshCaseStats(CaseStats):
    version = 99


class FreshFeed(Feed):
    version = 99


class FreshWaterMeters(WaterMeters):
    version = 99


class FreshHolidayOfferings(HolidayOfferings):
    version = 99


class FreshMarkets(Markets):
    version = 99


LIVE: tuple[Projection, ...] = (
    Inbox(),
    AuditTrail(),
    CaseStats(),
    Feed(),
    WaterMeters(),
    HolidayOfferings(),
    Markets(),
)
FRESH: tuple[Projection, ...] = (
    FreshInbox(),
    FreshAuditTrail(),
    FreshCaseStats(),
    FreshFeed(),
    FreshWaterMeters(),
    FreshHolidayOfferings(),
    FreshMarkets(),
)
ORDER = {
    "inbox": "case_id",
    "audit_trail": "position",
    "case_stats": "case_id",
    "feed": "sequence",
    "water_meters": "meter_id",
    "holiday_offerings": "offering_id",
    "markets": "market_id",
}


@contextmanager
def fresh_vorgang(backend: str) -> Iterator[Vorgang]:
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/views.db"
        v = build(Settings(database_url=url), clock=clock)
        try:
            yield v
        finally:
            v.close()
        return
    target = fresh_postgres_target()
    v = build(Settings(database_url=target.display), clock=clock)
    try:
        yield v
    finally:
        v.close()
        drop_postgres_schema(target)


# One step that takes a case as far as its notification (each part may be refused), so
# short sequences reach the legal track too.
TO_NOTIFICATION = ("complete", "claim", "decide", "notify")


def act(v: Vorgang, ids: list[Any], index: int, action: str, who: int) -> None:
    if action == "to_notification":
        for part in TO_NOTIFICATION:
            act(v, ids, index, part, who)
        return
    if action.startswith(("meter", "campaign")):
        water(v, index, action, who)
        return
    if action.startswith("holiday"):
        holiday(v, index, action, who)
        return
    if action.startswith("market"):
        market_step(v, index, action, who)
        return
    c = v.cases
    clock: FixedClock = c.clock  # type: ignore[assignment]
    clock.advance(timedelta(hours=7))
    if action == "submit" or not ids:
        ids.append(
            c.submit(
                actor=APPLICANT,
                tenant="usingen",
                service="general",
                applicant={"name": f"Person {len(ids)}"},
                data={"subject": "Anliegen"},
            ).case_id
        )
        return
    case_id = ids[index % len(ids)]
    clerk = CLERKS[who]
    try:
        match action:
            case "claim":
                take(c, case_id, "claim", actor=clerk)
            case "release":
                take(c, case_id, "release", actor=clerk)
            case "complete":
                take(c, case_id, "confirm_complete", actor=clerk)
            case "ask":
                take(
                    c,
                    case_id,
                    "request_information",
                    actor=clerk,
                    questions=["?"],
                    reply_by=date(2027, 1, 1),
                    missing_documents=who == 1,
                )
            case "answer":
                take(c, case_id, "provide_information", actor=APPLICANT, answer="anbei")
            case "decide":
                take(
                    c,
                    case_id,
                    "decide",
                    actor=clerk,
                    outcome=DecisionOutcome.REJECTED,
                    justification="nein",
                    legal_basis="§ 1",
                )
            case "notify":
                delivery = Delivery.LETTER if who else Delivery.COUNTER
                take(c, case_id, "notify", actor=clerk, delivery=delivery)
            case "object":
                take(c, case_id, "lodge_objection", actor=clerk, grounds="Ich widerspreche.")
            case "withdraw_objection":
                take(c, case_id, "withdraw_objection", actor=APPLICANT)
            case "remedy":
                take(c, case_id, "remedy_objection", actor=clerk, reason="Abhilfe")
            case "decide_objection":
                take(
                    c,
                    case_id,
                    "decide_objection",
                    actor=clerk,
                    outcome="inadmissible" if who else "dismissed",
                    reasons="unbegründet",
                    costs_borne_by="objector",
                    served_on=berlin_date(clock.now()),
                )
            case "final":
                take(c, case_id, "mark_final", actor=clerk)
            case "weeks_later":  # past periods: overdue cases, late objections, finality
                clock.advance(timedelta(days=20))
            case "withdraw":
                take(c, case_id, "withdraw", actor=APPLICANT, reason="erledigt")
            case "note":
                take(c, case_id, "add_note", actor=clerk, text="Vermerk")
            case "erase":
                v.privacy.erase(case_id, actor=ADMIN, reason="Frist", legal_basis="Art. 17 DSGVO")
    except DomainError:
        pass  # an invalid command stores nothing; the views must not notice either


def water(v: Vorgang, index: int, action: str, who: int) -> None:
    """A step of a town's water meters: installed, read, estimated, corrected; its campaign."""
    clock: FixedClock = v.cases.clock  # type: ignore[assignment]
    clock.advance(timedelta(hours=7))
    now = clock.now()
    today = berlin_date(now)
    clerk = CLERKS[who]
    number = f"WZ-{index % 3:04d}"
    try:
        if action == "campaign":
            if campaign_id("usingen", today.year) in v.store.repository:
                return  # a town has one campaign a year
            campaign = ReadingCampaign.open(
                tenant="usingen",
                year=today.year,
                starts_on=today,
                deadline=today + timedelta(days=3),
                actor=clerk,
                at=now,
            )
            v.store.save(campaign)
            return
        try:
            meter: WaterMeter = v.store.repository.get(meter_id("usingen", number))
        except AggregateNotFoundError:
            meter = WaterMeter.install(
                tenant="usingen",
                meter_number=number,
                property_id=f"USI-VS-{index % 2}",
                installed_on=today - timedelta(days=400),
                calibration_valid_until=date(2031, 12, 31),
                digits=5,
                start_value=Decimal("0.000"),
                main_meter=None,
                actor=clerk,
                at=now,
            )
        last = meter.last_reading
        match action:
            case "meter_read":
                meter.record_reported(
                    case_id=uuid4(),
                    value=last.value + Decimal(1 + 40 * who),  # a large one is flagged
                    read_on=today,
                    rollover_declared=False,
                    today=today,
                    actor=clerk,
                    at=now,
                    campaign_year=today.year - who,
                )
            case "meter_estimate":
                meter.record_estimate(
                    on=today,
                    campaign_year=today.year - 1 - who,  # a year not read yet
                    actor=clerk,
                    at=now,
                )
            case "meter_correct":
                meter.correct(
                    read_on=last.read_on,
                    value=last.value + Decimal("0.5"),
                    reason="Ablesefehler",
                    actor=clerk,
                    at=now,
                )
        v.store.save(meter)
    except DomainError:
        pass  # an invalid command stores nothing; the views must not notice either


def holiday(v: Vorgang, index: int, action: str, who: int) -> None:
    """A step of a town's holiday offerings: published, registered for, closed early,
    drawn, cancelled (moving the waiting up), its health notes erased after it ended."""
    clock: FixedClock = v.cases.clock  # type: ignore[assignment]
    clock.advance(timedelta(hours=7))
    if action == "holiday_erase":
        clock.advance(timedelta(days=6))  # the offerings published before have ended
    now = clock.now()
    today = berlin_date(now)
    clerk = CLERKS[who]
    code = f"KURS-{index % 2}"
    try:
        if action == "holiday_publish":
            starts_on = today + timedelta(days=4)
            if _offering(v, offering_id("usingen", starts_on.year, code)) is not None:
                return  # the code is taken in that year's programme: one offering per code
            v.store.save(
                HolidayOffering.publish(
                    tenant="usingen",
                    year=starts_on.year,
                    code=code,
                    activity="Basteln",
                    description="Basteln mit Holz",
                    location="Jugendhaus",
                    starts_on=starts_on,
                    ends_on=starts_on + timedelta(days=1),
                    min_age=3,
                    max_age=17,
                    places=2,
                    fee=Decimal("5.00"),
                    registration_opens_at=now,
                    registration_closes_at=now + timedelta(days=2),
                    rules=AllocationRules(),
                    staff=[clerk.id],
                    actor=clerk,
                    at=now,
                )
            )
            return
        found = [
            o
            for year in (today.year - 1, today.year, today.year + 1)
            if (o := _offering(v, offering_id("usingen", year, code))) is not None
        ]
        if not found:
            return
        offering = found[-1]
        match action:
            case "holiday_register":
                offering.register(
                    case_id=uuid4(),
                    children=[
                        ChildEntry(key=uuid4().hex, born_on=date(2017, 5, 1))
                        for _ in range(1 + who)
                    ],
                    resident=bool(who),
                    friends_group=None,
                    actor=APPLICANT,
                    at=now,
                )
            case "holiday_close":
                offering.close_window(actor=clerk, at=now, reason="ausgebucht")
            case "holiday_draw":
                offering.draw(seed=uuid4().hex, places_held={}, actor=clerk, at=now)
            case "holiday_cancel":
                active = [e.case_id for e in offering.entries() if e.status != "cancelled"]
                if not active:
                    return
                offering.cancel(
                    case_id=active[0], children=None, actor=clerk, at=now, reason="krank"
                )
            case "holiday_erase":
                cases = sorted({e.case_id for e in offering.entries()}, key=str)
                offering.note_health_erased(cases=cases, actor=clerk, at=now)
        v.store.save(offering)
    except DomainError:
        pass  # an invalid command stores nothing; the views must not notice either


def _offering(v: Vorgang, aggregate_id: UUID) -> HolidayOffering | None:
    try:
        found: HolidayOffering = v.store.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


MARKET_PITCHES = (
    Pitch("1", Decimal("3.00"), False, False, ("crafts", "food")),
    Pitch("2", Decimal("5.00"), True, False, ("crafts", "food")),
)
MARKET_CRITERIA = CriteriaSet(
    "1",
    (
        Criterion("angebot", "Angebot", Decimal(2), "scored", 3),
        Criterion("bewaehrt", "Bekannt und bewährt", Decimal(1), "attendance", 5),
    ),
)


def market_step(v: Vorgang, index: int, action: str, who: int) -> None:
    """A step of a town's markets: published, applied to, an application withdrawn, the
    selection, a pitch given up (offered to the next in rank), the offer accepted, declined
    or let run out."""
    clock: FixedClock = v.cases.clock  # type: ignore[assignment]
    clock.advance(timedelta(hours=7))
    now = clock.now()
    clerk = CLERKS[who]
    code = f"MARKT-{index % 2}"
    year = berlin_date(now).year + 1
    try:
        if action == "market_publish":
            if _market(v, market_id("usingen", year, code)) is not None:
                return  # the code is taken in that year's calendar
            v.store.save(
                Market.publish(
                    tenant="usingen",
                    year=year,
                    code=code,
                    name="Kerb",
                    kind="kerb",
                    regime="festgesetzt",
                    days=[date(year, 9, 5), date(year, 9, 6)],
                    site="Marktplatz",
                    pitches=MARKET_PITCHES,
                    categories=["crafts", "food"],
                    criteria=MARKET_CRITERIA,
                    newcomer_share=Decimal("0.5"),
                    applications_from=now,
                    deadline=now + timedelta(days=2),
                    decisions_by=date(year, 8, 1),
                    offer_days=2,
                    staff=[clerk.id],
                    actor=clerk,
                    at=now,
                )
            )
            return
        found = [
            m
            for y in (year - 1, year)
            if (m := _market(v, market_id("usingen", y, code))) is not None
        ]
        if not found:
            return
        market = found[-1]
        standing = [c for c in market.applications if c not in market.withdrawn]
        match action:
            case "market_apply":
                market.record_application(
                    case_id=uuid4(),
                    category=("crafts", "food")[who],
                    frontage_m=Decimal(("2.50", "4.00")[index % 2]),
                    electricity=bool(index % 3 == 0),
                    water=False,
                    years=index % 4,
                    actor=APPLICANT,
                    at=now,
                )
            case "market_withdraw":
                if not standing:
                    return
                market.withdraw_application(
                    case_id=standing[index % len(standing)], actor=APPLICANT, at=now, reason="krank"
                )
            case "market_select":
                clock.advance(timedelta(days=2))
                sheets = {case: {"angebot": (index + n) % 4} for n, case in enumerate(standing)}
                market.select(seed=uuid4().hex * 2, sheets=sheets, actor=clerk, at=clock.now())
            case "market_give_up":
                holders = sorted(market.assigned.values(), key=str)
                if not holders:
                    return
                market.give_up_pitch(
                    case_id=holders[index % len(holders)], actor=clerk, at=now, reason="verzichtet"
                )
            case "market_answer":  # a lapsed offer runs out first; else one is answered
                offers = sorted(market.open_offers.values(), key=lambda o: o.until)
                if not offers:
                    return
                offer = offers[0]
                if offer.until < now or (who == 0 and index % 3 == 0):
                    clock.set(max(now, offer.until + timedelta(minutes=1)))
                    market.expire_offer(case_id=offer.case_id, actor=clerk, at=clock.now())
                elif who == 0:
                    market.accept_offer(case_id=offer.case_id, actor=APPLICANT, at=now)
                else:
                    market.decline_offer(
                        case_id=offer.case_id, actor=APPLICANT, at=now, reason="zu teuer"
                    )
        v.store.save(market)
    except DomainError:
        pass  # an invalid command stores nothing; the views must not notice either


def _market(v: Vorgang, aggregate_id: UUID) -> Market | None:
    try:
        found: Market = v.store.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def table(v: Vorgang, name: str, order: str) -> list[tuple[Any, ...]]:
    return v.views.query(f"SELECT * FROM {name} ORDER BY {order}")  # noqa: S608


steps = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.sampled_from(
            [
                "submit",
                "claim",
                "release",
                "complete",
                "ask",
                "answer",
                "decide",
                "notify",
                "to_notification",
                "object",
                "withdraw_objection",
                "remedy",
                "decide_objection",
                "final",
                "weeks_later",
                "withdraw",
                "note",
                "erase",
                "meter_read",
                "meter_estimate",
                "meter_correct",
                "campaign",
                "holiday_publish",
                "holiday_register",
                "holiday_close",
                "holiday_draw",
                "holiday_cancel",
                "holiday_erase",
                "market_publish",
                "market_apply",
                "market_withdraw",
                "market_select",
                "market_give_up",
                "market_answer",
            ]
        ),
        st.integers(0, 1),
        st.booleans(),  # catch up incrementally after this step
    ),
    min_size=1,
    max_size=40,
)


# Every way through the legal track, whatever the examples drawn: an objection in time
# decided and the decision final; one remedied back into review and overdue there; a late
# one decided inadmissible; one withdrawn by the applicant.
LEGAL_TRACK = [
    (0, "submit", 0, False),
    (1, "submit", 0, False),
    (2, "submit", 0, True),
    (0, "to_notification", 0, False),
    (0, "object", 0, True),
    (0, "weeks_later", 0, False),
    (0, "decide_objection", 0, False),
    (1, "to_notification", 1, True),
    (1, "object", 1, False),
    (1, "remedy", 1, True),
    (2, "to_notification", 0, False),
    (0, "weeks_later", 0, True),
    (0, "weeks_later", 0, False),
    (0, "final", 0, True),
    (2, "object", 0, False),
    (2, "decide_objection", 1, True),
    (2, "object", 0, False),
    (2, "withdraw_objection", 0, False),
    (2, "final", 1, False),
]


# A town's water meters: read, estimated for the year before and read late for it (flagged:
# far above), corrected; a second meter read and corrected; a campaign opened.
WATER_TRACK = [
    (0, "campaign", 0, False),
    (0, "meter_read", 0, True),
    (0, "meter_estimate", 0, False),
    (0, "meter_read", 1, True),
    (0, "meter_correct", 0, False),
    (1, "meter_read", 0, False),
    (1, "meter_correct", 1, True),
    (2, "meter_estimate", 0, False),
]


# A town's holiday offering: published, five children of three families registered for
# two places, closed early, drawn, a family cancelled (the next waiting moves up); a second
# offering published and registered for; days later the first one's health notes erased.
HOLIDAY_TRACK = [
    (0, "holiday_publish", 0, False),
    (0, "holiday_register", 1, True),
    (0, "holiday_register", 0, False),
    (0, "holiday_register", 1, False),
    (1, "holiday_publish", 1, True),
    (1, "holiday_register", 0, False),
    (0, "holiday_close", 0, False),
    (0, "holiday_draw", 1, True),
    (0, "holiday_cancel", 0, False),
    (0, "holiday_cancel", 1, True),
    (0, "holiday_erase", 0, True),
]


# A town's market: published, five stalls apply (one withdraws), selected; pitches given up
# and offered on, one offer accepted, one declined, one let run out; a second market.
MARKET_TRACK = [
    (0, "market_publish", 0, False),
    (0, "market_apply", 0, True),
    (2, "market_apply", 1, False),
    (4, "market_apply", 0, False),
    (6, "market_apply", 0, True),
    (8, "market_apply", 1, False),
    (0, "market_withdraw", 0, False),
    (1, "market_publish", 1, True),
    (1, "market_apply", 0, False),
    (0, "market_select", 0, True),
    (0, "market_give_up", 0, False),
    (1, "market_answer", 0, False),
    (0, "market_give_up", 1, True),
    (0, "market_answer", 1, False),
    (0, "market_answer", 0, True),
    (2, "market_answer", 0, False),
    (2, "market_answer", 0, True),
    (4, "market_give_up", 1, False),
]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@example(steps=LEGAL_TRACK, batch=2)
@example(steps=WATER_TRACK, batch=3)
@example(steps=HOLIDAY_TRACK, batch=2)
@example(steps=MARKET_TRACK, batch=2)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, batch=st.integers(1, 9))
def test_incremental_views_equal_a_fresh_rebuild(backend: str, steps, batch: int) -> None:  # type: ignore[no-untyped-def]
    with fresh_vorgang(backend) as v:
        incremental = [
            ProjectionRunner(v.store, v.views, projection, batch_size=batch) for projection in LIVE
        ]
        ids: list[Any] = []
        for index, action, who, catch_up in steps:
            act(v, ids, index, action, who)
            if catch_up:
                for runner in incremental:
                    runner.catch_up()
        for runner in incremental:
            runner.catch_up()
        for projection in FRESH:
            ProjectionRunner(v.store, v.views, projection, batch_size=1000).catch_up()

        for live, fresh in zip(LIVE, FRESH, strict=True):
            for live_table, fresh_table in zip(live.tables(), fresh.tables(), strict=True):
                by_suffix = {
                    "_cases": "case_id",
                    "_days": "office_day",
                    "_bookings": "reference",
                    "_receivables": "receivable_id",
                    "_requests": "request_id",
                    "_meters": "meter_id",  # the feed's water meters
                    "_readings": "reading_key",
                    "_states": "state_key",
                    "_campaigns": "campaign_id",
                    "_offerings": "offering_id",  # the feed's holiday offerings
                    "_registrations": "registration_key",
                    "_markets": "market_id",  # the feed's markets
                    "_applications": "application_key",
                }
                order = by_suffix.get(live_table[live_table.rfind("_") :], ORDER[live.name])
                assert table(v, live_table, order) == table(v, fresh_table, order), live_table
        # the views' copy of the lifecycle agrees with the aggregates themselves
        inbox = Inbox().table
        for case_id, status, objection_open, decided_on in v.views.query(
            f"SELECT case_id, status, objection_open, decided_on FROM {inbox}"  # noqa: S608
        ):
            case: Case = v.store.repository.get(UUID(case_id))
            assert case.status == status
            assert bool(objection_open) == (case.open_objection is not None)
            decided = case.clock.decided_on
            assert decided_on == (decided.isoformat() if decided else None)
        stored = sum(len(v.store.recorder.select_events(i)) for i in ids)
        audited = v.views.query(f"SELECT COUNT(*) FROM {AuditTrail().table}")[0][0]  # noqa: S608
        assert audited == stored

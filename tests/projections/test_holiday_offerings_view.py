"""The holiday offerings view lists a town's offerings of its holiday programme with where
each stands at the hour asked (published, open, closed, drawn, ended) and how many children
are registered, allocated a place and waiting, through the draw, a cancellation and the
move-up after it, as the offering itself counts them; each town apart, nothing personal,
and a rebuild gives the same rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from domain.actor import Actor, Role
from domain.holiday.offering import AllocationRules, ChildEntry, HolidayOffering, offering_id
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.holiday_offerings import HolidayOfferings
from projections.holiday_query import offering_of, offerings_of, state_at

TOWN = "usingen"
STAFF = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
OTHER_STAFF = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
GUARDIAN = Actor("portal:familie-1", "Eva Sommer", Role.APPLICANT, TOWN)
YEAR = 2027
OPENS = datetime(2027, 5, 3, 6, tzinfo=UTC)  # eight o'clock in Berlin
CLOSES = datetime(2027, 6, 1, 6, tzinfo=UTC)
STARTS, ENDS = date(2027, 7, 12), date(2027, 7, 16)
CASES = [UUID(f"00000000-0000-4000-8000-{n:012d}") for n in range(1, 10)]


def publish(tenant: str = TOWN, code: str = "KLETTERN-1", places: int = 3) -> HolidayOffering:
    return HolidayOffering.publish(
        id=offering_id(tenant, YEAR, code),
        tenant=tenant,
        year=YEAR,
        code=code,
        activity="Klettern im Hochseilgarten",
        description="Drei Tage im Hochseilgarten, mit Mittagessen.",
        location="Hochseilgarten am Hattstein",
        starts_on=STARTS,
        ends_on=ENDS,
        min_age=8,
        max_age=12,
        places=places,
        fee=Decimal("25.00"),
        registration_opens_at=OPENS,
        registration_closes_at=CLOSES,
        rules=AllocationRules(),
        staff=[STAFF.id],
        actor=STAFF if tenant == TOWN else OTHER_STAFF,
        at=OPENS - timedelta(days=14),
    )


def register(offering: HolidayOffering, case_id: UUID, children: int, hours: int = 1) -> None:
    """A family's children (aged 9 on the first day), registered while the window is open."""
    offering.register(
        case_id=case_id,
        children=[
            ChildEntry(key=uuid5(case_id, str(i)).hex, born_on=date(2018, 1, 10 + i))
            for i in range(children)
        ],
        resident=True,
        friends_group=None,
        actor=GUARDIAN,
        at=OPENS + timedelta(hours=hours),
    )


def counts(vorgang: Vorgang, offering: HolidayOffering, now: datetime) -> tuple[object, ...]:
    vorgang.projections.catch_up()
    row = offering_of(vorgang.views, offering.id, now=now)
    assert row is not None
    return (row["state"], row["registered"], row["allocated"], row["waiting"])


def as_the_offering_counts(offering: HolidayOffering) -> tuple[int, int, int]:
    return offering.registered_count, offering.allocated_count, len(offering.waiting_list)


def test_an_offering_counts_its_children_through_draw_cancellation_and_move_up(
    vorgang: Vorgang,
) -> None:
    offering = publish(places=3)
    vorgang.store.save(offering)
    before = OPENS - timedelta(minutes=1)
    assert counts(vorgang, offering, before) == ("published", 0, 0, 0)
    for number, children in enumerate((1, 2, 1, 1)):  # five children in four families
        register(offering, CASES[number], children, hours=number + 1)
    vorgang.store.save(offering)
    assert counts(vorgang, offering, OPENS) == ("open", 5, 0, 0)
    assert counts(vorgang, offering, CLOSES) == ("closed", 5, 0, 0)  # by the hour

    offering.draw(seed="ab" * 32, places_held={}, actor=STAFF, at=CLOSES + timedelta(hours=1))
    vorgang.store.save(offering)
    drawn = CLOSES + timedelta(hours=2)
    registered, allocated, waiting = as_the_offering_counts(offering)
    assert allocated <= 3
    assert waiting > 0  # five children for three places
    assert counts(vorgang, offering, drawn) == ("drawn", registered, allocated, waiting)

    # the family of two allocated cancels: the two waiting move up into its places
    allocated_case = max(
        {e.case_id for e in offering.entries() if e.status == "allocated"},
        key=lambda case: len(offering.entries_of(case)),
    )
    moved = offering.cancel(
        case_id=allocated_case, children=None, actor=STAFF, at=drawn, reason="verreist"
    )
    assert moved
    vorgang.store.save(offering)
    after = as_the_offering_counts(offering)
    assert after[0] < registered  # the cancelled children no longer count
    assert after[1] == allocated  # their places taken by those moved up
    assert counts(vorgang, offering, drawn) == ("drawn", *after)
    row = offering_of(vorgang.views, offering.id, now=drawn)
    assert row is not None
    assert row["drawn_at"] == CLOSES + timedelta(hours=1)
    assert row["health_erased_at"] is None

    ended = datetime(2027, 7, 17, 6, tzinfo=UTC)
    assert counts(vorgang, offering, ended)[0] == "ended"
    offering.note_health_erased(cases=[CASES[0]], actor=STAFF, at=ended)
    vorgang.store.save(offering)
    vorgang.projections.catch_up()
    row = offering_of(vorgang.views, offering.id, now=ended)
    assert row is not None
    assert row["health_erased_at"] == ended


def test_the_offering_as_published_and_closed_early(vorgang: Vorgang) -> None:
    offering = publish(code=" ferien-kochen ")
    register(offering, CASES[0], 1)
    offering.close_window(actor=STAFF, at=OPENS + timedelta(days=2), reason="Ausgebucht")
    vorgang.store.save(offering)
    vorgang.projections.catch_up()
    row = offering_of(vorgang.views, offering.id, now=OPENS + timedelta(days=3))
    assert row is not None
    assert row == row | {
        "offering_id": offering.id,
        "tenant": TOWN,
        "year": YEAR,
        "code": offering.code,
        "activity": "Klettern im Hochseilgarten",
        "location": "Hochseilgarten am Hattstein",
        "starts_on": STARTS,
        "ends_on": ENDS,
        "min_age": 8,
        "max_age": 12,
        "places": 3,
        "fee": Decimal("25.00"),
        "registration_opens_at": OPENS,
        "registration_closes_at": CLOSES,
        "window_closed_at": OPENS + timedelta(days=2),
        "drawn_at": None,
        "state": "closed",  # before its hour: closed early
        "registered": 1,
    }
    # nothing of the children but their number: no key, no day of birth
    text = json.dumps(
        vorgang.views.query(f"SELECT * FROM {HolidayOfferings().registrations_table}"),  # noqa: S608
        default=str,
    )
    assert uuid5(CASES[0], "0").hex not in text
    assert "2018-01-10" not in text


def test_a_towns_offerings_are_listed_by_year_and_code_and_state(vorgang: Vorgang) -> None:
    second, first = publish(code="ZIRKUS"), publish(code="BASTELN")
    theirs = publish(tenant="schmitten", code="BASTELN")
    vorgang.store.save(second, first, theirs)
    second.close_window(actor=STAFF, at=OPENS + timedelta(hours=1), reason="Ausfall")
    vorgang.store.save(second)
    vorgang.projections.catch_up()
    now = OPENS + timedelta(days=1)
    listed = offerings_of(vorgang.views, TOWN, YEAR, now=now)
    assert [(o["code"], o["state"]) for o in listed] == [("BASTELN", "open"), ("ZIRKUS", "closed")]
    assert offerings_of(vorgang.views, TOWN, YEAR - 1, now=now) == []
    assert [o["code"] for o in offerings_of(vorgang.views, TOWN, now=now, state="open")] == [
        "BASTELN"
    ]
    [other] = offerings_of(vorgang.views, "schmitten", YEAR, now=now)
    assert other["offering_id"] == theirs.id


def test_the_state_follows_the_hour_asked() -> None:
    row: dict[str, object] = {
        "registration_opens_at": OPENS,
        "registration_closes_at": CLOSES,
        "window_closed_at": None,
        "drawn_at": None,
        "ends_on": ENDS,
    }
    assert state_at(row, OPENS - timedelta(seconds=1)) == "published"
    assert state_at(row, OPENS) == "open"
    assert state_at(row, CLOSES) == "closed"
    assert state_at(row | {"drawn_at": CLOSES}, CLOSES) == "drawn"
    # the last day ends at midnight in Berlin (22:00 UTC in summer)
    assert state_at(row, datetime(2027, 7, 16, 21, 59, tzinfo=UTC)) == "closed"
    assert state_at(row, datetime(2027, 7, 16, 22, 0, tzinfo=UTC)) == "ended"


class OneByOne(HolidayOfferings):
    """The same view under a version of its own, filled one event per batch."""

    version = 98


class AllAtOnce(HolidayOfferings):
    """The same view under another version, filled in one batch."""

    version = 99


def test_a_rebuild_gives_the_same_rows_whatever_the_batches(vorgang: Vorgang) -> None:
    offering, other = publish(places=2), publish(code="ZIRKUS", places=5)
    for number, children in enumerate((2, 1, 1)):
        register(offering, CASES[number], children, hours=number + 1)
        register(other, CASES[number + 3], 1, hours=number + 1)
    vorgang.store.save(offering, other)
    offering.draw(seed="cd" * 32, places_held={}, actor=STAFF, at=CLOSES)
    vorgang.store.save(offering)
    allocated_case = next(e.case_id for e in offering.entries() if e.status == "allocated")
    offering.cancel(case_id=allocated_case, children=None, actor=STAFF, at=CLOSES, reason="krank")
    vorgang.store.save(offering)
    vorgang.projections.catch_up()
    live, one, many = HolidayOfferings(), OneByOne(), AllAtOnce()
    ProjectionRunner(vorgang.store, vorgang.views, one, batch_size=1).catch_up()
    ProjectionRunner(vorgang.store, vorgang.views, many, batch_size=1000).catch_up()
    for tables in zip(live.tables(), one.tables(), many.tables(), strict=True):
        rows = [
            vorgang.views.query(f"SELECT * FROM {name} ORDER BY 1")  # noqa: S608
            for name in tables
        ]
        assert rows[0], tables[0]
        assert rows[0] == rows[1] == rows[2], tables[0]


def test_the_view_reads_the_offerings_events() -> None:
    view = HolidayOfferings()
    assert view.tables() == ["holiday_offerings_v2", "holiday_offerings_v2_registrations"]
    topics = view.topics()
    for event in ("Published", "PlacesDrawn", "RegistrationCancelled", "PlaceMovedUp"):
        assert f"domain.holiday.offering:HolidayOffering.{event}" in topics

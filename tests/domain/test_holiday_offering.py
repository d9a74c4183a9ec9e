"""A holiday offering: publishing, the window, registration, the draw, cancellation, move-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.holiday.offering import (
    AllocationRules,
    AlreadyDrawn,
    ChildEntry,
    EntryStatus,
    HolidayOffering,
    offering_id,
)
from domain.holiday.programme import HolidayProgramme, OfferingCodeTaken, programme_id
from domain.rules.holiday_draw import replay
from persistence.transcodings import PersonalDataInClear

TOWN = "usingen"
CLERK = Actor("jana.jugend", "Jana Jugendpflege", Role.CLERK, TOWN)
PARENT = Actor("eltern-1", "Eva Eltern", Role.APPLICANT, TOWN)
SEED = "0123456789abcdef" * 4
OPENS = datetime(2026, 5, 4, 8, tzinfo=UTC)  # 10:00 in Berlin
CLOSES = datetime(2026, 5, 31, 22, tzinfo=UTC)  # midnight in Berlin
PUBLISHED = datetime(2026, 4, 20, 9, tzinfo=UTC)
DURING = datetime(2026, 5, 10, 9, tzinfo=UTC)
AFTER = datetime(2026, 6, 2, 9, tzinfo=UTC)
BORN_8 = date(2018, 3, 1)  # 8 on 2026-07-20


def published(
    *, places: int = 3, rules: AllocationRules | None = None, **more: Any
) -> HolidayOffering:
    """Usingen's canoe days of 2026: 20 to 24 July, ages 8 to 12."""
    facts: dict[str, Any] = {
        "tenant": TOWN,
        "year": 2026,
        "code": "kanu-1",
        "activity": "Kanutour auf der Usa",
        "description": "Drei Tage mit Boot und Zelt.",
        "location": "Bootshaus Usingen",
        "starts_on": date(2026, 7, 20),
        "ends_on": date(2026, 7, 24),
        "min_age": 8,
        "max_age": 12,
        "places": places,
        "fee": Decimal("25.00"),
        "registration_opens_at": OPENS,
        "registration_closes_at": CLOSES,
        "rules": rules or AllocationRules(),
        "staff": ["jana.jugend", "tom.betreuer"],
        "actor": CLERK,
        "at": PUBLISHED,
    }
    facts.update(more)
    return HolidayOffering.publish(**facts)


def register(
    offering: HolidayOffering,
    n_children: int = 1,
    *,
    case_id: UUID | None = None,
    resident: bool = True,
    group: str | None = None,
    born_on: date = BORN_8,
    at: datetime = DURING,
) -> UUID:
    case_id = case_id or uuid4()
    offering.register(
        case_id=case_id,
        children=[ChildEntry(uuid4().hex, born_on) for _ in range(n_children)],
        resident=resident,
        friends_group=group,
        actor=PARENT,
        at=at,
    )
    return case_id


def drawn(offering: HolidayOffering) -> dict[str, Any]:
    return offering.draw(seed=SEED, places_held={}, actor=CLERK, at=AFTER)


# ------------------------------------------------------------------ publishing


def test_an_offering_has_the_id_of_its_town_year_and_normalised_code() -> None:
    offering = published(code=" kanu-1 ")
    assert offering.id == offering_id(TOWN, 2026, "KANU-1")
    assert offering.code == "KANU-1"
    assert offering.staff == frozenset({"jana.jugend", "tom.betreuer"})
    assert offering.rules == AllocationRules()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"places": 0}, "places"),
        ({"places": 501}, "places"),
        ({"min_age": 2}, "min_age"),
        ({"max_age": 18}, "max_age"),
        ({"min_age": 12, "max_age": 10}, "min_age"),
        ({"ends_on": date(2026, 7, 19)}, "ends_on"),
        ({"registration_closes_at": OPENS}, "registration_closes_at"),
        (
            {"registration_closes_at": datetime(2026, 7, 20, 8, tzinfo=UTC)},
            "registration_closes_at",
        ),
        ({"fee": Decimal("-1")}, "fee"),
        ({"fee": Decimal("1.001")}, "fee"),
        ({"code": "x"}, "code"),
        ({"activity": "  "}, "activity"),
        ({"at": AFTER}, "registration_closes_at"),
        ({"id": uuid4()}, "id"),
    ],
)
def test_publishing_refuses_what_cannot_be_offered_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        published(**change)
    assert refused.value.field == field


def test_a_programme_lists_offerings_and_refuses_a_code_taken() -> None:
    programme = HolidayProgramme.start(tenant=TOWN, year=2026, actor=CLERK, at=PUBLISHED)
    assert programme.id == programme_id(TOWN, 2026)
    offering = published()
    programme.list_offering(offering_id=offering.id, code="kanu-1", actor=CLERK, at=PUBLISHED)
    with pytest.raises(OfferingCodeTaken) as refused:
        programme.list_offering(offering_id=uuid4(), code="KANU-1 ", actor=CLERK, at=PUBLISHED)
    assert refused.value.field == "code"
    assert "taken" in refused.value.message
    assert programme.offerings == (offering.id,)
    assert programme.codes == {"KANU-1": offering.id}
    for foreign in (offering_id("schmitten", 2026, "ZIRKUS"), offering_id(TOWN, 2025, "ZIRKUS")):
        with pytest.raises(InvalidCommand) as not_ours:
            programme.list_offering(offering_id=foreign, code="ZIRKUS", actor=CLERK, at=PUBLISHED)
        assert not_ours.value.field == "offering_id"
    assert programme.codes == {"KANU-1": offering.id}


# ------------------------------------------------------------------ the window


def test_the_window_is_not_yet_open_then_open_then_closed() -> None:
    offering = published()
    assert offering.window_state(OPENS - timedelta(seconds=1)) == "not_yet_open"
    assert offering.window_state(OPENS) == "open"
    assert offering.window_state(CLOSES - timedelta(seconds=1)) == "open"
    assert offering.window_state(CLOSES) == "closed"


def test_registration_outside_the_window_is_refused_saying_when() -> None:
    offering = published()
    with pytest.raises(InvalidCommand) as early:
        register(offering, at=OPENS - timedelta(minutes=1))
    assert early.value.field == "data.offering"
    assert "opens at 2026-05-04 10:00" in early.value.message
    with pytest.raises(InvalidCommand) as late:
        register(offering, at=CLOSES)
    assert late.value.field == "data.offering"
    assert "closed at 2026-06-01 00:00" in late.value.message


def test_staff_close_the_window_early_once() -> None:
    offering = published()
    offering.close_window(actor=CLERK, at=DURING, reason="Bus fällt aus")
    assert offering.window_state(DURING) == "closed"
    with pytest.raises(InvalidCommand) as refused:
        register(offering, at=DURING + timedelta(minutes=1))
    assert "closed at 2026-05-10 11:00" in refused.value.message
    with pytest.raises(InvalidCommand) as again:
        offering.close_window(actor=CLERK, at=DURING, reason="nochmal")
    assert again.value.field == "window"


# ------------------------------------------------------------------ registration


def test_a_child_outside_the_age_range_on_the_first_day_is_refused_naming_it() -> None:
    offering = published()
    case_id = uuid4()
    with pytest.raises(InvalidCommand) as refused:
        offering.register(
            case_id=case_id,
            children=[ChildEntry("a1", BORN_8), ChildEntry("b2", date(2019, 7, 21))],
            resident=True,
            friends_group=None,
            actor=PARENT,
            at=DURING,
        )
    assert refused.value.field == "data.children[1].born_on"
    assert refused.value.message == (
        "aged 6 on 2026-07-20; this offering takes children aged 8 to 12"
    )
    assert not offering.registered(case_id)
    assert offering.age_on_start(date(2018, 7, 20)) == 8
    assert offering.age_on_start(date(2018, 7, 21)) == 7


def test_a_child_registered_already_is_refused_until_cancelled() -> None:
    offering = published()
    first = uuid4()
    offering.register(
        case_id=first,
        children=[ChildEntry("k1", BORN_8)],
        resident=True,
        friends_group=None,
        actor=PARENT,
        at=DURING,
    )
    with pytest.raises(InvalidCommand) as refused:
        offering.register(
            case_id=uuid4(),
            children=[ChildEntry("k2", BORN_8), ChildEntry("k1", BORN_8)],
            resident=True,
            friends_group=None,
            actor=PARENT,
            at=DURING,
        )
    assert refused.value.field == "data.children[1]"
    offering.cancel(case_id=first, children=None, actor=PARENT, at=DURING, reason="krank")
    offering.register(
        case_id=uuid4(),
        children=[ChildEntry("k1", BORN_8)],
        resident=True,
        friends_group=None,
        actor=PARENT,
        at=DURING,
    )
    assert offering.registered_count == 1


# ------------------------------------------------------------------ the draw


def test_the_draw_waits_for_the_window_and_is_made_once() -> None:
    offering = published()
    register(offering)
    with pytest.raises(InvalidCommand) as open_window:
        offering.draw(seed=SEED, places_held={}, actor=CLERK, at=DURING)
    assert open_window.value.field == "window"
    with pytest.raises(InvalidCommand) as negative:
        offering.draw(seed=SEED, places_held={"k": -1}, actor=CLERK, at=AFTER)
    assert negative.value.field == "places_held"
    record = drawn(offering)
    assert record["algorithm"] == "ferienspiele-los-2"
    assert record["seed"] == SEED
    with pytest.raises(AlreadyDrawn):
        drawn(offering)
    late = published(code="kanu-2")
    register(late)
    with pytest.raises(InvalidCommand) as ended:
        late.draw(
            seed=SEED, places_held={}, actor=CLERK, at=datetime(2026, 7, 24, 22, 30, tzinfo=UTC)
        )
    assert ended.value.field == "at"  # 00:30 in Berlin the day after the last
    late.draw(seed=SEED, places_held={}, actor=CLERK, at=datetime(2026, 7, 24, 21, 30, tzinfo=UTC))
    assert replay(record).verdict == "consistent"


def test_the_draw_allocates_the_places_and_the_rest_wait_in_draw_order() -> None:
    offering = published(places=3)
    cases = [register(offering) for _ in range(5)]
    cancelled = register(offering)
    offering.cancel(case_id=cancelled, children=None, actor=PARENT, at=DURING, reason="doch nicht")
    record = drawn(offering)
    assert offering.allocated_count == 3
    assert offering.free_places == 0
    assert [UUID(c) for c, _ in record["waiting"]] == [c for c, _ in offering.waiting_list]
    assert {c for c, _ in offering.waiting_list} | {UUID(c) for c, _ in record["allocated"]} == set(
        cases
    )
    assert all(lot["case_id"] != str(cancelled) for lot in record["lots"])
    positions = {e.case_id: e.waiting_position for e in offering.entries() if e.waiting_position}
    assert sorted(positions.values()) == [1, 2]
    assert offering.status_of(cancelled, 0) == EntryStatus.CANCELLED


def test_a_cancelled_place_goes_to_the_next_waiting_lot_that_fits() -> None:
    offering = published(places=2, rules=AllocationRules(residents_first=True))
    singles = [register(offering) for _ in range(3)]
    family = register(offering, 2, resident=False)  # drawn after the residents
    drawn(offering)
    holders = [c for c in singles if offering.status_of(c, 0) == EntryStatus.ALLOCATED]
    (waiting,) = set(singles) - set(holders)
    assert [e.waiting_position for e in offering.entries_of(waiting)] == [1]
    assert [e.waiting_position for e in offering.entries_of(family)] == [2, 2]
    moved = offering.cancel(case_id=holders[0], children=None, actor=PARENT, at=AFTER, reason="x")
    assert moved == [(waiting, 0)]
    assert [e.waiting_position for e in offering.entries_of(family)] == [1, 1]
    nothing = offering.cancel(case_id=holders[1], children=None, actor=PARENT, at=AFTER, reason="y")
    assert nothing == []  # one place free: the family of two waits on
    assert offering.allocated_count == 1
    assert offering.free_places == 1


def test_a_family_moves_up_when_places_for_all_its_waiting_children_are_free() -> None:
    offering = published(places=2, rules=AllocationRules(residents_first=True))
    family = register(offering, 2, resident=False)
    first, second = register(offering), register(offering)
    drawn(offering)
    assert offering.status_of(family, 0) == EntryStatus.WAITING
    assert offering.cancel(case_id=first, children=None, actor=PARENT, at=AFTER, reason="x") == []
    moved = offering.cancel(case_id=second, children=[0], actor=CLERK, at=AFTER, reason="y")
    assert sorted(moved) == [(family, 0), (family, 1)]
    assert offering.allocated_count == 2
    assert offering.waiting_list == []


def test_cancellation_is_refused_for_what_is_not_registered_and_after_the_offering() -> None:
    offering = published()
    case_id = register(offering, 2)
    with pytest.raises(InvalidCommand) as unknown:
        offering.cancel(case_id=uuid4(), children=None, actor=PARENT, at=DURING, reason="x")
    assert unknown.value.field == "case_id"
    with pytest.raises(InvalidCommand) as no_child:
        offering.cancel(case_id=case_id, children=[2], actor=PARENT, at=DURING, reason="x")
    assert no_child.value.field == "children"
    with pytest.raises(InvalidCommand) as no_reason:
        offering.cancel(case_id=case_id, children=None, actor=PARENT, at=DURING, reason=" ")
    assert no_reason.value.field == "reason"
    with pytest.raises(InvalidCommand) as ended:
        offering.cancel(
            case_id=case_id,
            children=None,
            actor=PARENT,
            at=datetime(2026, 7, 25, 9, tzinfo=UTC),
            reason="x",
        )
    assert ended.value.field == "at"


# ------------------------------------------------------------------ staff and health notes


def test_the_offering_names_who_acted_by_id_and_role_never_by_name() -> None:
    offering = published(places=1)
    first, second = register(offering), register(offering)
    drawn(offering)
    holder = first if offering.status_of(first, 0) == EntryStatus.ALLOCATED else second
    offering.cancel(case_id=holder, children=None, actor=PARENT, at=AFTER, reason="krank")
    events = offering.collect_events()
    assert {type(e).__name__ for e in events} >= {"RegistrationRecorded", "PlaceMovedUp"}
    for stored in events:
        assert "actor" not in vars(stored)
        assert vars(stored)["actor_id"] in (CLERK.id, PARENT.id)
        assert "Eva Eltern" not in repr(vars(stored))


def test_staff_change_and_health_notes_are_erased_only_after_the_offering() -> None:
    offering = published()
    case_id = register(offering)
    offering.change_staff(staff=["tom.betreuer"], actor=CLERK, at=DURING, reason="Urlaub")
    assert offering.staff == frozenset({"tom.betreuer"})
    with pytest.raises(InvalidCommand) as early:
        offering.note_health_erased(
            cases=[case_id], actor=CLERK, at=datetime(2026, 7, 24, 20, tzinfo=UTC)
        )
    assert early.value.field == "at"
    after = datetime(2026, 7, 25, 1, tzinfo=UTC)
    offering.note_health_erased(cases=[case_id], actor=CLERK, at=after)
    assert offering.health_erased_at == after
    with pytest.raises(InvalidCommand):
        offering.note_health_erased(cases=[case_id], actor=CLERK, at=after)


# ------------------------------------------------------------------ stored


def rebuilt(events: Sequence[Any]) -> Any:
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


def test_an_offering_reads_back_from_the_store_as_it_was_saved() -> None:
    offering = published(places=2, rules=AllocationRules(places_per_child=2))
    programme = HolidayProgramme.start(tenant=TOWN, year=2026, actor=CLERK, at=PUBLISHED)
    programme.list_offering(offering_id=offering.id, code=offering.code, actor=CLERK, at=PUBLISHED)
    cases = [register(offering, 1 + n % 2, group="g" if n < 2 else None) for n in range(4)]
    offering.close_window(actor=CLERK, at=DURING, reason="voll")
    offering.draw(seed=SEED, places_held={}, actor=CLERK, at=AFTER)
    offering.cancel(case_id=cases[0], children=None, actor=PARENT, at=AFTER, reason="krank")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:holiday-{uuid4()}?mode=memory&cache=shared",
    }
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        store.save(programme, offering)
        again: Aggregate = store.repository.get(offering.id)
        listed: Aggregate = store.repository.get(programme.id)
    finally:
        store.close()
    assert isinstance(again, HolidayOffering)
    assert again.entries() == offering.entries()
    assert again.waiting_list == offering.waiting_list
    assert again.draw_record == offering.draw_record
    assert again.rules == offering.rules
    assert (again.fee, again.staff, again.window_closed_at) == (
        offering.fee,
        offering.staff,
        offering.window_closed_at,
    )
    assert isinstance(listed, HolidayProgramme)
    assert listed.codes == programme.codes

"""One grave: places, burials with their rest periods, and the grave right of a Wahlgrab."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.cemeteries import BurialKind, GraveAddress, UnknownGrave
from domain.errors import InvalidCommand, WrongTenant
from domain.personal_data import Erased, PersonalData, Subjects
from domain.rules.cemetery import NoGraveRight
from domain.services.grave import (
    Grave,
    GraveFull,
    NoRightInForce,
    NoSuchPlace,
    NotReserved,
    PlaceOccupied,
    RestPeriodRuns,
    RightDoesNotCover,
    RightInForce,
    grave_id,
)
from persistence.transcodings import PersonalDataInClear

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
FOREIGN_CLERK = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Germany
TODAY = date(2026, 3, 2)
WAHLGRAB = GraveAddress("usingen-friedhof", "A", "1", 3)  # 2 coffin, 4 urn places
REIHENGRAB = GraveAddress("usingen-friedhof", "B", "2", 7)  # 1 coffin place
URNENREIHENGRAB = GraveAddress("usingen-friedhof", "C", "1", 1)  # 1 urn place


def years_later(years: int, days: int = 0) -> datetime:
    return AT.replace(year=AT.year + years) + timedelta(days=days)


def holder(case_id: UUID, name: str = "Erika Weber") -> PersonalData:
    return PersonalData(case_id, Subjects.APPLICANT, name)


def bury(
    grave: Grave,
    *,
    kind: BurialKind = BurialKind.COFFIN,
    on: date = TODAY,
    age: int = 80,
    at: datetime = AT,
    place: int | None = None,
    case_id: UUID | None = None,
) -> int:
    return grave.record_burial(
        case_id=case_id or uuid4(),
        kind=kind,
        buried_on=on,
        age_at_death=age,
        actor=CLERK,
        at=at,
        place=place,
    )


def granted(address: GraveAddress = WAHLGRAB, at: datetime = AT) -> tuple[Grave, UUID]:
    grave = Grave.open(tenant="usingen", address=address)
    case_id = uuid4()
    grave.grant_right(case_id=case_id, holder=holder(case_id), actor=CLERK, at=at)
    return grave, case_id


def refused_without_change(grave: Grave, command: Any, error: type[Exception]) -> Exception:
    before = grave.version
    with pytest.raises(error) as refused:
        command()
    assert grave.version == before
    return refused.value


def replayed(grave: Grave) -> Grave:
    rebuilt = None
    for stored in grave.collect_events():
        rebuilt = stored.mutate(rebuilt)
    assert isinstance(rebuilt, Grave)
    return rebuilt


# ------------------------------------------------------------------ identity and opening


def test_a_graves_id_is_the_same_for_its_town_and_address_and_differs_otherwise() -> None:
    assert grave_id("usingen", WAHLGRAB) == grave_id("usingen", WAHLGRAB)
    assert grave_id("usingen", WAHLGRAB) != grave_id("usingen", REIHENGRAB)
    assert grave_id("usingen", WAHLGRAB) != grave_id("schmitten", WAHLGRAB)
    assert Grave.open(tenant="usingen", address=WAHLGRAB).id == grave_id("usingen", WAHLGRAB)


def test_a_grave_that_is_not_configured_cannot_be_opened() -> None:
    with pytest.raises(UnknownGrave) as refused:
        Grave.open(tenant="usingen", address=GraveAddress("usingen-friedhof", "A", "1", 99))
    assert refused.value.field == "grave"


def test_a_new_grave_has_all_its_places_free_and_no_right() -> None:
    grave = Grave.open(tenant="usingen", address=WAHLGRAB)
    assert grave.free_places(BurialKind.COFFIN, TODAY) == (1, 2)
    assert grave.free_places(BurialKind.URN, TODAY) == (1, 2, 3, 4)
    assert grave.right is None
    assert not grave.right_covers(TODAY)


# ------------------------------------------------------------------ burials


def test_a_burial_records_the_rest_period_the_rules_set_with_their_version() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    case_id = uuid4()
    place = bury(grave, case_id=case_id)
    (burial,) = grave.burials
    assert (place, burial.case_id, burial.rest_years) == (1, case_id, 25)
    assert burial.rest_ends_on == date(2051, 3, 2)
    assert burial.rules_version == "usingen-2025-01"
    recorded = grave.pending_events[-1]
    assert isinstance(recorded, Grave.BurialRecorded)
    assert recorded.rest_ends_on == date(2051, 3, 2)
    assert recorded.actor.id == CLERK.id


def test_a_child_rests_for_the_childrens_period() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    bury(grave, age=3)
    assert grave.burials[0].rest_ends_on == date(2041, 3, 2)


def test_a_place_whose_rest_period_runs_takes_no_burial_and_nothing_is_recorded() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    bury(grave)
    later = AT + timedelta(days=400)
    error = refused_without_change(
        grave, lambda: bury(grave, on=later.date(), at=later, place=1), PlaceOccupied
    )
    assert isinstance(error, PlaceOccupied)
    assert error.field == "place"
    assert error.until == date(2051, 3, 2)


def test_a_full_grave_refuses_another_burial_naming_the_place() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    bury(grave)
    error = refused_without_change(grave, lambda: bury(grave), GraveFull)
    assert error.field == "place"


def test_a_grave_without_places_of_a_kind_refuses_that_kind_naming_it() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    error = refused_without_change(grave, lambda: bury(grave, kind=BurialKind.URN), GraveFull)
    assert error.field == "kind"


def test_a_place_the_grave_does_not_have_is_refused() -> None:
    grave = Grave.open(tenant="usingen", address=URNENREIHENGRAB)
    error = refused_without_change(
        grave, lambda: bury(grave, kind=BurialKind.URN, place=2), NoSuchPlace
    )
    assert error.field == "place"


def test_a_place_is_free_again_the_day_after_its_rest_period_ended() -> None:
    grave = Grave.open(tenant="usingen", address=URNENREIHENGRAB)
    bury(grave, kind=BurialKind.URN)  # rests until 2046-03-02
    assert grave.free_places(BurialKind.URN, date(2046, 3, 2)) == ()
    assert grave.free_places(BurialKind.URN, date(2046, 3, 3)) == (1,)
    with pytest.raises(PlaceOccupied):
        bury(grave, kind=BurialKind.URN, on=date(2046, 3, 2), at=years_later(20), place=1)
    bury(grave, kind=BurialKind.URN, on=date(2046, 3, 3), at=years_later(20, 1))
    assert len(grave.burials) == 2


def test_an_earlier_burial_may_not_reach_into_a_later_ones_rest_period() -> None:
    grave = Grave.open(tenant="usingen", address=URNENREIHENGRAB)
    later = years_later(4)
    bury(grave, kind=BurialKind.URN, on=later.date(), at=later)
    with pytest.raises(PlaceOccupied):
        bury(grave, kind=BurialKind.URN, on=TODAY, at=later, place=1)


def test_a_burial_is_recorded_only_once_it_took_place() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    error = refused_without_change(
        grave, lambda: bury(grave, on=TODAY + timedelta(days=1)), InvalidCommand
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == "buried_on"


def test_the_occupancy_names_the_case_and_the_end_of_its_rest_period() -> None:
    grave, _ = granted()
    case_id = uuid4()
    bury(grave, kind=BurialKind.URN, place=3, case_id=case_id)
    urn_places = [p for p in grave.occupancy(TODAY) if p.kind is BurialKind.URN]
    assert [p.free for p in urn_places] == [True, True, False, True]
    assert urn_places[2].case_id == case_id
    assert urn_places[2].until == date(2046, 3, 2)


# ------------------------------------------------------------------ reservations


def test_a_reserved_place_is_held_against_another_case_until_released() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    first = uuid4()
    planned = TODAY + timedelta(days=4)
    assert (
        grave.reserve_place(
            case_id=first,
            kind=BurialKind.COFFIN,
            planned_on=planned,
            age_at_death=70,
            actor=CLERK,
            at=AT,
        )
        == 1
    )
    assert grave.reservations[0].rest_ends_on == date(2051, 3, 6)
    with pytest.raises(GraveFull):
        grave.reserve_place(
            case_id=uuid4(),
            kind=BurialKind.COFFIN,
            planned_on=planned,
            age_at_death=70,
            actor=CLERK,
            at=AT,
        )
    with pytest.raises(InvalidCommand) as no_reason:
        grave.release_place(case_id=first, actor=CLERK, at=AT, reason="  ")
    assert no_reason.value.field == "reason"
    grave.release_place(case_id=first, actor=CLERK, at=AT, reason="Antrag zurückgenommen")
    assert grave.free_places(BurialKind.COFFIN, planned) == (1,)
    with pytest.raises(NotReserved):
        grave.release_place(case_id=first, actor=CLERK, at=AT, reason="noch einmal")


def test_the_burial_of_a_reserving_case_goes_into_its_place_with_the_actual_date() -> None:
    grave, _ = granted()
    case_id = uuid4()
    place = grave.reserve_place(
        case_id=case_id,
        kind=BurialKind.URN,
        planned_on=TODAY + timedelta(days=5),
        age_at_death=70,
        actor=CLERK,
        at=AT,
        place=2,
    )
    later = AT + timedelta(days=6)
    assert bury(grave, kind=BurialKind.URN, on=later.date(), at=later, case_id=case_id) == place
    assert grave.reservations == ()
    (burial,) = grave.burials
    assert (burial.place, burial.starts_on) == (2, later.date())
    with pytest.raises(InvalidCommand):
        bury(grave, kind=BurialKind.URN, at=later, case_id=case_id)  # recorded once


def test_a_reservation_in_the_past_is_refused() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    with pytest.raises(InvalidCommand) as refused:
        grave.reserve_place(
            case_id=uuid4(),
            kind=BurialKind.COFFIN,
            planned_on=TODAY - timedelta(days=1),
            age_at_death=70,
            actor=CLERK,
            at=AT,
        )
    assert refused.value.field == "planned_on"


# ------------------------------------------------------------------ grave rights


def test_a_wahlgrab_takes_a_burial_only_under_a_grave_right() -> None:
    grave = Grave.open(tenant="usingen", address=WAHLGRAB)
    error = refused_without_change(grave, lambda: bury(grave), NoRightInForce)
    assert error.field == "grave_right"


def test_a_grant_runs_for_the_term_the_rules_set_and_is_recorded_in_the_history() -> None:
    grave, case_id = granted()
    assert grave.right is not None
    assert (grave.right.granted_on, grave.right.ends_on) == (TODAY, date(2056, 3, 2))
    assert grave.right.holder == holder(case_id)
    assert [c.change for c in grave.right_history] == ["granted"]
    assert grave.right_covers(date(2056, 3, 2))
    assert not grave.right_covers(date(2056, 3, 3))


@pytest.mark.parametrize("address", [REIHENGRAB, URNENREIHENGRAB])
def test_a_grave_given_out_in_turn_has_no_grave_right(address: GraveAddress) -> None:
    grave = Grave.open(tenant="usingen", address=address)
    case_id = uuid4()
    error = refused_without_change(
        grave,
        lambda: grave.grant_right(case_id=case_id, holder=holder(case_id), actor=CLERK, at=AT),
        NoGraveRight,
    )
    assert error.field == "grave_type"


def test_a_second_grant_while_the_right_holds_is_refused() -> None:
    grave, _ = granted()
    case_id = uuid4()
    error = refused_without_change(
        grave,
        lambda: grave.grant_right(case_id=case_id, holder=holder(case_id), actor=CLERK, at=AT),
        RightInForce,
    )
    assert error.field == "grave_right"


def test_the_holder_must_be_personal_data_of_the_granting_case() -> None:
    grave = Grave.open(tenant="usingen", address=WAHLGRAB)
    with pytest.raises(InvalidCommand) as refused:
        grave.grant_right(case_id=uuid4(), holder=holder(uuid4()), actor=CLERK, at=AT)
    assert refused.value.field == "holder"


def test_a_burial_the_right_would_not_outlast_needs_an_extension_first() -> None:
    at = years_later(10)  # the right ends 2056-03-02; a coffin buried 2036 rests until 2061
    grave, _ = granted()
    needed = grave.extension_needed(kind=BurialKind.COFFIN, buried_on=at.date(), age_at_death=80)
    assert needed == 5
    error = refused_without_change(
        grave, lambda: bury(grave, on=at.date(), at=at), RightDoesNotCover
    )
    assert isinstance(error, RightDoesNotCover)
    assert (error.field, error.extension_years) == ("grave_right", 5)
    extension = uuid4()
    assert grave.extend_right(case_id=extension, years=needed, actor=CLERK, at=at) == date(
        2061, 3, 2
    )
    bury(grave, on=at.date(), at=at)
    assert grave.extension_needed(kind=BurialKind.URN, buried_on=at.date(), age_at_death=80) == 0


def test_an_extension_is_by_whole_years_of_a_right_in_force() -> None:
    grave, _ = granted()
    with pytest.raises(InvalidCommand) as none:
        grave.extend_right(case_id=uuid4(), years=0, actor=CLERK, at=AT)
    assert none.value.field == "years"
    with pytest.raises(NoRightInForce):
        grave.extend_right(case_id=uuid4(), years=1, actor=CLERK, at=years_later(31))


def test_a_transfer_names_the_successor_and_keeps_the_term() -> None:
    grave, _ = granted()
    case_id = uuid4()
    successor = holder(case_id, "Jonas Weber")
    grave.transfer_right(
        case_id=case_id, successor=successor, actor=CLERK, at=AT, reason="Tod der Inhaberin"
    )
    assert grave.right is not None
    assert grave.right.holder == successor
    assert grave.right.ends_on == date(2056, 3, 2)
    assert [(c.change, c.holder) for c in grave.right_history][-1] == ("transferred", successor)


def test_a_right_is_returned_only_after_every_rest_period_has_ended() -> None:
    grave, _ = granted()
    bury(grave, kind=BurialKind.URN)  # rests until 2046-03-02
    case_id = uuid4()
    early = years_later(20)
    error = refused_without_change(
        grave,
        lambda: grave.return_right(case_id=case_id, actor=CLERK, at=early, reason="Umzug"),
        RestPeriodRuns,
    )
    assert isinstance(error, RestPeriodRuns)
    assert (error.field, error.until) == ("grave_right", date(2046, 3, 2))
    after = years_later(20, 1)
    grave.return_right(case_id=case_id, actor=CLERK, at=after, reason="Umzug")
    assert grave.right is not None
    assert grave.right.returned
    assert not grave.right.in_force_on(after.date())
    assert [c.change for c in grave.right_history] == ["granted", "returned"]
    with pytest.raises(NoRightInForce):
        bury(grave, kind=BurialKind.URN, on=after.date(), at=after)
    new_case = uuid4()
    grave.grant_right(case_id=new_case, holder=holder(new_case), actor=CLERK, at=after)
    assert grave.right.ends_on == date(2076, 3, 3)
    assert [c.change for c in grave.right_history] == ["granted", "returned", "granted"]


def test_an_actor_of_another_town_cannot_change_the_grave() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    with pytest.raises(WrongTenant):
        grave.record_burial(
            case_id=uuid4(),
            kind=BurialKind.COFFIN,
            buried_on=TODAY,
            age_at_death=80,
            actor=FOREIGN_CLERK,
            at=AT,
        )
    assert grave.burials == ()


def test_business_time_must_be_aware() -> None:
    grave = Grave.open(tenant="usingen", address=REIHENGRAB)
    with pytest.raises(InvalidCommand) as refused:
        bury(grave, at=datetime(2026, 3, 2, 9, 0))
    assert refused.value.field == "at"


# ------------------------------------------------------------------ replay and storage


def test_replaying_the_events_gives_the_same_grave() -> None:
    grave, _ = granted()
    bury(grave, kind=BurialKind.URN)
    grave.extend_right(case_id=uuid4(), years=2, actor=CLERK, at=AT)
    case_id = uuid4()
    grave.transfer_right(
        case_id=case_id, successor=holder(case_id, "Jonas"), actor=CLERK, at=AT, reason="Erbe"
    )
    state = (grave.occupations, grave.right, grave.right_history)
    again = replayed(grave)
    assert (again.occupations, again.right, again.right_history) == state


def test_an_erased_holder_and_reason_replay_as_erased() -> None:
    grave, first = granted()
    case_id = uuid4()
    grave.transfer_right(
        case_id=case_id, successor=holder(case_id), actor=CLERK, at=AT, reason="Erbe"
    )
    erased = []
    for stored in grave.collect_events():
        values = dict(stored.__dict__)
        for name in ("holder", "successor", "reason"):
            if isinstance(values.get(name), PersonalData):
                values[name] = Erased(values[name].case_id, values[name].subject)
        erased.append(type(stored)(**values))
    rebuilt = None
    for stored in erased:
        rebuilt = stored.mutate(rebuilt)
    assert isinstance(rebuilt, Grave)
    assert rebuilt.right is not None
    assert rebuilt.right.holder == Erased(case_id, Subjects.APPLICANT)
    assert rebuilt.right_history[0].holder == Erased(first, Subjects.APPLICANT)


def test_a_grave_is_stored_and_loaded_with_every_event(tmp_path: Path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "g.db")}
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        grave, _ = granted()
        bury(grave, kind=BurialKind.URN)
        case_id = uuid4()
        grave.transfer_right(
            case_id=case_id, successor=holder(case_id), actor=CLERK, at=AT, reason="Erbe"
        )
        store.save(grave)
        loaded: Grave = store.repository.get(grave.id)
        assert dataclasses.astuple(loaded.spec) == dataclasses.astuple(grave.spec)
        assert (loaded.occupations, loaded.right, loaded.right_history) == (
            grave.occupations,
            grave.right,
            grave.right_history,
        )
    finally:
        store.close()

"""The holiday programme's use cases on SQLite and PostgreSQL: one code per programme even
when published twice at once, the places a child holds in the programme's earlier draws,
the health notes of every registration erased after the offering, and the scheduler's round
going on past an offering that fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.holiday import HolidayRecordNotFound, HolidayWatch
from domain.actor import Actor, Role
from domain.holiday.offering import AllocationRules, EntryStatus, HolidayOffering
from domain.holiday.programme import HolidayProgramme, OfferingCodeTaken, programme_id
from domain.personal_data import Erased
from domain.services.holiday_registration import HEALTH, SERVICE_ID, HolidayRegistration
from infrastructure.wiring import Vorgang
from tests.application.test_holiday_races import held_saves, in_threads
from tests.conftest import CLERK, FOREIGN_CLERK
from tests.steps import take

__all__ = ["held_saves"]  # the fixture, shared with the barrier tests


def publish(
    vorgang: Vorgang, clock: FixedClock, code: str, places: int = 5, **rules: Any
) -> HolidayOffering:
    """An offering of Usingen in July, its window open since yesterday for three weeks."""
    now = clock.now()
    return vorgang.holiday.publish(
        CLERK,
        year=2026,
        code=code,
        activity="Waldtag",
        description="Ein Tag im Wald.",
        location="Hattsteinweiher",
        starts_on=date(2026, 7, 13),
        ends_on=date(2026, 7, 15),
        min_age=6,
        max_age=10,
        places=places,
        fee=Decimal("0.00"),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=now + timedelta(days=21),
        rules=AllocationRules(**rules),
        staff=[CLERK.id],
    )


def register(
    vorgang: Vorgang, offering: UUID, family: str, *names: str, notes: str | None = None
) -> UUID:
    """A family's registration of its children (born 2017) for the offering."""
    children = [
        {"given_name": name, "family_name": family, "born_on": "2017-05-01"} for name in names
    ]
    data: dict[str, Any] = {
        "offering": str(offering),
        "children": children,
        "guardians": [{"name": f"Eva {family}", "phone": "06081 1", "email": "e@example.org"}],
        "pickup_persons": [],
        "address": "Hauptstraße 1, 61250 Usingen",
        "municipality": "usingen",
    }
    if notes:
        children[0]["health_notes"] = notes
        data["health_consent"] = {"given": True, "wording_version": "2026-1"}
    guardian = Actor(f"portal:{family}", f"Eva {family}", Role.APPLICANT, "usingen")
    return vorgang.cases.submit(
        actor=guardian,
        tenant="usingen",
        service=SERVICE_ID,
        applicant={"name": f"Eva {family}"},
        data=data,
    ).case_id


def closed_and_drawn(vorgang: Vorgang, offering: UUID) -> HolidayOffering:
    vorgang.holiday.close_window(CLERK, offering, "Anmeldeschluss")
    return vorgang.holiday.draw(CLERK, offering)


def test_one_code_published_twice_at_once_is_one_offering_and_one_409(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    lost = held_saves(2)
    results = in_threads([lambda: publish(vorgang, clock, "wald-1")] * 2)
    assert sorted(type(r).__name__ for r in results) == ["HolidayOffering", "OfferingCodeTaken"]
    assert len(lost) == 1  # both had started the programme: one save lost, decided again
    taken = next(r for r in results if isinstance(r, OfferingCodeTaken))
    assert (taken.field, taken.code) == ("code", "WALD-1")
    programme: HolidayProgramme = vorgang.store.repository.get(programme_id("usingen", 2026))
    assert list(programme.codes) == ["WALD-1"]
    held_saves(0)
    # Another code joins the same programme; the town's list has both in order.
    publish(vorgang, clock, "wald-2")
    assert [o.code for o in vorgang.holiday.offerings("usingen", 2026)] == ["WALD-1", "WALD-2"]


def test_a_child_at_its_limit_of_places_waits_in_the_programmes_next_draw(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    first = publish(vorgang, clock, "wald-1", places_per_child=1).id
    second = publish(vorgang, clock, "wald-2", places=1, places_per_child=1).id
    register(vorgang, first, "Muster", "Mia")
    mia = register(vorgang, second, "Muster", "Mia")  # the same child, in the second as well
    leo = register(vorgang, second, "Beispiel", "Leo")
    assert closed_and_drawn(vorgang, first).allocated_count == 1
    drawn = closed_and_drawn(vorgang, second)
    # Whatever the draw numbers, Mia holds a place in the programme already: Leo's place.
    assert (drawn.status_of(leo, 0), drawn.status_of(mia, 0)) == (
        EntryStatus.ALLOCATED,
        EntryStatus.WAITING,
    )
    record = drawn.draw_record
    assert record is not None
    held = {lot["case_id"]: lot["places_held"] for lot in record["lots"]}
    assert held == {str(mia): 1, str(leo): 0}


def test_two_offerings_of_a_programme_drawn_at_once_keep_a_childs_limit_of_places(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    first = publish(vorgang, clock, "wald-1", places=1, places_per_child=1).id
    second = publish(vorgang, clock, "wald-2", places=1, places_per_child=1).id
    mia = [register(vorgang, offering, "Muster", "Mia") for offering in (first, second)]
    for offering in (first, second):
        vorgang.holiday.close_window(CLERK, offering, "Anmeldeschluss")
    lost = held_saves(2)  # both draws counted the places held before either saved
    results = in_threads(
        [lambda: vorgang.holiday.draw(CLERK, first), lambda: vorgang.holiday.draw(CLERK, second)]
    )
    assert all(isinstance(r, HolidayOffering) for r in results), results
    assert len(lost) == 1  # one draw lost on the programme and was drawn again
    drawn = [r for r in results if isinstance(r, HolidayOffering)]
    statuses = sorted(d.status_of(case, 0) for d, case in zip(drawn, mia, strict=True))
    assert statuses == [EntryStatus.ALLOCATED, EntryStatus.WAITING]  # one place, not two
    programme: HolidayProgramme = vorgang.store.repository.get(programme_id("usingen", 2026))
    assert sorted(programme.drawn) == sorted([first, second])


def test_every_registrations_health_notes_are_erased_after_the_offering_ended(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    offering = publish(vorgang, clock, "wald-1").id
    placed = register(vorgang, offering, "Muster", "Mia", notes="Asthma")
    cancelled = register(vorgang, offering, "Beispiel", "Leo", notes="Bienenstich-Allergie")
    guardian = Actor("portal:Beispiel", "Eva Beispiel", Role.APPLICANT, "usingen")
    take(vorgang.commands, cancelled, "cancel_registration", guardian, reason="verreist")
    closed_and_drawn(vorgang, offering)
    watch = HolidayWatch(vorgang.holiday)

    clock.set(datetime(2026, 7, 15, 12, 0, tzinfo=UTC))
    assert watch.tick(date(2026, 7, 15)) == []  # the last day: the carers still read them
    clock.set(datetime(2026, 7, 16, 6, 0, tzinfo=UTC))
    assert watch.tick(date(2026, 7, 16)) == [("erase", offering)]
    assert watch.tick(date(2026, 7, 16)) == []
    assert watch.finished == {offering}  # done for good: the next ticks do not read it

    found: HolidayOffering = vorgang.store.repository.get(offering)
    assert found.health_erased_at == clock.now()
    for case_id in (placed, cancelled):
        case: HolidayRegistration = vorgang.store.repository.get(case_id)
        child = case.data["children"][0]
        assert isinstance(child["health_notes"], Erased), case_id
        assert child["given_name"].value in ("Mia", "Leo")  # the rest is kept (retention)
        assert case.health_erased_at == clock.now()
        assert vorgang.keys.erased_subjects_of(case_id) == [HEALTH]
    notes = vorgang.holiday.health_notes(CLERK, offering)
    assert [(n["given_name"], n["health_notes"]) for n in notes] == [("Mia", "[gelöscht]")]


def test_the_round_goes_on_past_an_offering_that_fails(
    vorgang: Vorgang, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = publish(vorgang, clock, "wald-1").id
    working = publish(vorgang, clock, "wald-2").id
    draw = vorgang.holiday.draw

    def draw_but_the_first(actor: Actor, offering: UUID) -> HolidayOffering:
        if offering == failing:
            raise RuntimeError("the database went away")
        return draw(actor, offering)

    monkeypatch.setattr(vorgang.holiday, "draw", draw_but_the_first)
    clock.advance(timedelta(days=22))  # both windows closed at their set end
    watch = HolidayWatch(vorgang.holiday)
    assert watch.tick(date(2026, 3, 24)) == [("draw", working)]
    monkeypatch.setattr(vorgang.holiday, "draw", draw)
    assert watch.tick(date(2026, 3, 24)) == [("draw", failing)]  # the next tick tries again


def test_another_towns_staff_find_no_offering(vorgang: Vorgang, clock: FixedClock) -> None:
    offering = publish(vorgang, clock, "wald-1").id
    for read in (
        vorgang.holiday.registrations,
        vorgang.holiday.health_notes,
        vorgang.holiday.draw_record,
    ):
        with pytest.raises(HolidayRecordNotFound):
            read(FOREIGN_CLERK, offering)
    with pytest.raises(HolidayRecordNotFound):
        vorgang.holiday.close_window(FOREIGN_CLERK, offering, "fremd")
    assert vorgang.holiday.published(offering).version == 1  # nothing happened to it

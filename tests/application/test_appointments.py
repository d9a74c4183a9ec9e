"""Booking use cases over a real store: rebooking to another day changes both days in one save."""

from __future__ import annotations

from datetime import date

import pytest

from application.appointments import AppointmentService, online_booking
from application.cases import CaseService
from domain.errors import InvalidCommand

WEDNESDAY = date(2026, 3, 4)  # the clock stands at Monday 2 March 2026
THURSDAY = date(2026, 3, 5)
CITIZEN = online_booking("usingen")


@pytest.fixture
def appointments(cases: CaseService) -> AppointmentService:
    return AppointmentService(cases.store, cases.clock, cases.identities)


def first_free(appointments: AppointmentService, day: date) -> str:
    found = appointments.day("usingen", "buergerbuero", day)
    return found.free_slots("reisepass", appointments.clock.now())[0].id


def test_rebooking_to_another_day_frees_the_old_slot_and_books_the_new_one_at_once(
    appointments: AppointmentService,
) -> None:
    old_slot = first_free(appointments, WEDNESDAY)
    held = appointments.hold(
        "usingen", "buergerbuero", WEDNESDAY, old_slot, actor=CITIZEN, online=True
    )
    contact = {"name": "Max Mustermann", "email": "max@example.org"}
    booked = appointments.confirm(
        "usingen", "buergerbuero", WEDNESDAY, held.hold, contact, actor=CITIZEN
    )
    new_slot = first_free(appointments, THURSDAY)
    later = appointments.hold(
        "usingen", "buergerbuero", THURSDAY, new_slot, actor=CITIZEN, online=True
    )

    with pytest.raises(InvalidCommand) as refused:
        appointments.rebook(
            "usingen",
            "buergerbuero",
            WEDNESDAY,
            booked.code,
            token="not-the-token",
            to_day=THURSDAY,
            hold=later.hold,
            actor=CITIZEN,
        )
    assert refused.value.field == "token"
    assert appointments.day("usingen", "buergerbuero", THURSDAY).booked == {}

    moved = appointments.rebook(
        "usingen",
        "buergerbuero",
        WEDNESDAY,
        booked.code,
        token=booked.token,
        to_day=THURSDAY,
        hold=later.hold,
        actor=CITIZEN,
    )
    wednesday = appointments.day("usingen", "buergerbuero", WEDNESDAY)
    thursday = appointments.day("usingen", "buergerbuero", THURSDAY)
    assert wednesday.booking(booked.code).status == "cancelled"
    assert old_slot in {s.id for s in wednesday.free_slots("reisepass", appointments.clock.now())}
    assert thursday.booked == {new_slot: moved.code}
    assert {k: v.reveal() for k, v in thursday.booking(moved.code).contact.items()} == contact
    assert moved.token != booked.token

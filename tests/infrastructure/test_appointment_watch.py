"""The worker raises a booking's reminder once it is due, and erases its contact after the day."""

from __future__ import annotations

from datetime import date, timedelta

from application.appointments import AppointmentService, online_booking
from application.clock import FixedClock
from domain.appointments.office_day import OfficeDay
from domain.personal_data import Erased, PersonalData
from infrastructure.appointment_watch import AppointmentWatch
from infrastructure.wiring import Vorgang

DAY = date(2026, 3, 4)  # the clock stands at Monday 2 March 2026, 09:00


def test_the_reminder_is_raised_once_when_due_and_the_contact_erased_after_the_day(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    appointments = AppointmentService(
        vorgang.store, clock, vorgang.cases.identities, keys=vorgang.keys
    )
    watch = AppointmentWatch(vorgang.views, appointments, clock)
    citizen = online_booking("usingen")
    slot = appointments.day("usingen", "buergerbuero", DAY).free_slots("reisepass", clock.now())[0]
    held = appointments.hold("usingen", "buergerbuero", DAY, slot.id, actor=citizen, online=True)
    booked = appointments.confirm(
        "usingen",
        "buergerbuero",
        DAY,
        held.hold,
        {"name": "Max Mustermann", "email": "max@example.org"},
        actor=citizen,
    )

    def tick() -> tuple[int, int]:
        vorgang.projections.catch_up()
        report = watch.tick(appointments.today())
        assert report.failed == []
        return report.reminded, report.erased

    assert tick() == (0, 0)  # Monday: the reminder falls due 24 hours before Wednesday 08:00
    clock.set(slot.starts - timedelta(hours=24))
    assert tick() == (1, 0)
    assert tick() == (0, 0)  # raised once
    day = appointments.day("usingen", "buergerbuero", DAY)
    assert day.booking(booked.code).reminded
    assert isinstance(day.booking(booked.code).contact["name"], PersonalData)

    clock.set(slot.starts + timedelta(days=13))
    assert tick() == (0, 0)  # kept 14 days after the day in Usingen
    clock.set(slot.starts + timedelta(days=14))
    assert tick() == (0, 1)
    assert tick() == (0, 0)
    erased = vorgang.store.repository.get(day.id)
    assert isinstance(erased, OfficeDay)
    assert erased.booking(booked.code).erased
    assert all(isinstance(v, Erased) for v in erased.booking(booked.code).contact.values())

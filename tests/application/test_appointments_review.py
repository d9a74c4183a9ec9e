"""The day's statistics as an auditor reads them: erasing a contact changes none of them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from application.appointments import AppointmentService, kiosk, online_booking
from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.working_days import BERLIN
from infrastructure.projection_rebuild import rebuild
from infrastructure.wiring import Vorgang
from projections.appointment_stats import AppointmentStats, percentile, stats

DAY = date(2026, 3, 4)  # a Wednesday; the clock stands at Monday 2 March 2026, 09:00
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def test_erasing_a_contact_leaves_the_days_statistics_as_they_were_even_rebuilt(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    appointments = AppointmentService(
        vorgang.store, clock, vorgang.cases.identities, keys=vorgang.keys
    )
    citizen = online_booking("usingen")
    slot = next(
        s
        for s in appointments.day("usingen", "buergerbuero", DAY).free_slots(
            "reisepass", clock.now()
        )
        if s.starts == at(9)
    )
    held = appointments.hold("usingen", "buergerbuero", DAY, slot.id, actor=citizen, online=True)
    booked = appointments.confirm(
        "usingen",
        "buergerbuero",
        DAY,
        held.hold,
        {"name": "Max Mustermann", "email": "max@example.org"},
        actor=citizen,
    )
    clock.set(at(8, 20))  # forty minutes early
    appointments.check_in("usingen", "buergerbuero", booked.code, actor=kiosk("usingen"))
    appointments.draw_walk_in("usingen", "buergerbuero", "meldebescheinigung", actor=CLERK)
    clock.set(at(8, 30))
    assert appointments.call_next("usingen", "buergerbuero", "Schalter 1", actor=CLERK).ticket == (
        "W001"
    )
    clock.set(at(9, 5))  # called five minutes after its time
    assert appointments.call_next("usingen", "buergerbuero", "Schalter 2", actor=CLERK).ticket == (
        "T001"
    )
    appointments.serve("usingen", "buergerbuero", "T001", actor=CLERK)
    appointments.serve("usingen", "buergerbuero", "W001", actor=CLERK)
    vorgang.projections.catch_up()

    def counted() -> dict[str, tuple[object, ...]]:
        rows = stats(vorgang.views, "usingen", since=DAY, until=DAY, office="buergerbuero")
        return {
            r["service"]: (r["booked"], r["tickets"], r["served"], r["average_wait_minutes"])
            for r in rows
        }

    day_stats = counted()
    # the documented wait runs from drawing the ticket: 45 minutes, though called 5 after 09:00
    assert day_stats["reisepass"] == (1, 1, 1, 45.0)
    assert day_stats["meldebescheinigung"] == (0, 1, 1, 10.0)

    clock.set(at(9) + timedelta(days=14))  # Usingen keeps the contact 14 days
    appointments.erase_contact("usingen", "buergerbuero", DAY, booked.code, actor=CLERK)
    erased = appointments.day("usingen", "buergerbuero", DAY).booking(booked.code)
    assert erased.person == ""  # the sealed fingerprint went with the contact's key
    vorgang.projections.catch_up()
    rebuild(vorgang.store, vorgang.views, AppointmentStats())  # read again, contact erased
    assert counted() == day_stats


def test_the_p90_wait_is_the_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([7], 0.9) == 7
    assert percentile(list(range(10, 0, -1)), 0.9) == 9  # rank ceil(9.0) = 9, not 10
    assert percentile(list(range(1, 12)), 0.9) == 10  # rank ceil(9.9) = 10
    assert percentile(list(range(1, 71)), 0.9) == 63  # 0.9 * 70 stays 63 in floating point

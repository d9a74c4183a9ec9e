"""The demo seeds today's queue in every town's citizens' office, once."""

from __future__ import annotations

from datetime import UTC, datetime

from application.appointments import AppointmentService
from domain.appointments.offices import OFFICES
from infrastructure.demo_appointments import seed_appointments
from infrastructure.wiring import Vorgang

WEDNESDAY = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def test_every_open_office_has_a_queue_with_called_served_and_waiting_tickets(
    vorgang: Vorgang,
) -> None:
    seeded = seed_appointments(vorgang, WEDNESDAY)
    assert len(seeded) == len(OFFICES)
    use = AppointmentService(vorgang.store, vorgang.cases.clock, vorgang.cases.identities)
    for tenant, office_id in OFFICES:
        day = use.day(tenant, office_id, WEDNESDAY.date())
        states = sorted(t.status for t in day.tickets.values())
        assert "served" in states, tenant
        assert "called" in states, tenant
        assert "waiting" in states, tenant
        assert len(day.bookings) == 4
    assert seed_appointments(vorgang, WEDNESDAY) == []  # seeded once


def test_no_queue_on_a_sunday(vorgang: Vorgang) -> None:
    assert seed_appointments(vorgang, datetime(2026, 3, 8, 10, 0, tzinfo=UTC)) == []

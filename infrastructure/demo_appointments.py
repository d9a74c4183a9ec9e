"""Demo: today's queue in every town's citizens' office, as the Bürgermonitor shows it.

For each configured office open today: four appointments booked online the day before,
three of them checked in at the kiosk, two walk-ins, one appointment served at counter 1,
the first walk-in served at the last counter, the next ticket called and waiting at its
counter, the rest still waiting. Business times run from the office's opening; a demo
started before the office opens records them a little ahead (demo data). An office closed
today (weekend, Hessian holiday) is left out, and a day that already has tickets is left as
it is, so seeding twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from application.appointments import AppointmentService, kiosk, online_booking
from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.appointments.offices import OFFICES, Office
from domain.working_days import BERLIN, berlin_date
from infrastructure.wiring import Vorgang

CITIZENS = (
    ("Erika Musterfrau", "erika.musterfrau@example.org"),
    ("Hans Beispiel", "hans.beispiel@example.org"),
    ("Leyla Demir", "leyla.demir@example.org"),
    ("Jonas Weber", "jonas.weber@example.org"),
)


def seed_appointments(vorgang: Vorgang, now: datetime) -> list[UUID]:
    """Seed today's queue of every office open today; the ids of the office days seeded."""
    seeded = []
    for configured in OFFICES.values():
        day_id = _seed_office(vorgang, configured, now)
        if day_id is not None:
            seeded.append(day_id)
    return seeded


def _seed_office(vorgang: Vorgang, configured: Office, now: datetime) -> UUID | None:
    today = berlin_date(now)
    if not configured.is_open_on(today):
        return None
    opens = datetime.combine(today, configured.hours[today.weekday()][0][0], tzinfo=BERLIN)
    clock = FixedClock(opens - timedelta(hours=22))  # the day before: online booking is open
    use = AppointmentService(vorgang.store, clock, vorgang.cases.identities, keys=vorgang.keys)
    tenant, office_id = configured.tenant, configured.id
    if use.day(tenant, office_id, today).tickets:
        return None  # seeded before
    clerk = Actor(f"demo.buergerbuero.{tenant}", "Bürgerbüro (Demo)", Role.CLERK, tenant)
    services = [s.id for s in configured.services[:2]]
    codes = []
    for index, (name, email) in enumerate(CITIZENS):
        service = services[index % len(services)]
        free = use.day(tenant, office_id, today).free_slots(service, clock.now())
        held = use.hold(
            tenant, office_id, today, free[0].id, actor=online_booking(tenant), online=True
        )
        contact = {"name": name, "email": email}
        booked = use.confirm(
            tenant, office_id, today, held.hold, contact, actor=online_booking(tenant)
        )
        codes.append(booked.code)
    clock.set(opens + timedelta(minutes=2))
    for code in codes[:3]:
        use.check_in(tenant, office_id, code, actor=kiosk(tenant))
    walk_in = configured.services[-1].id
    use.draw_walk_in(tenant, office_id, walk_in, actor=kiosk(tenant))
    use.draw_walk_in(tenant, office_id, services[0], actor=kiosk(tenant))
    first, last = configured.counters[0], configured.counters[-1]
    clock.set(opens + timedelta(minutes=5))
    called = use.call_next(tenant, office_id, first, actor=clerk)
    clock.set(opens + timedelta(minutes=17))
    use.serve(tenant, office_id, called.ticket, actor=clerk)
    if last != first:
        called = use.call_next(tenant, office_id, last, actor=clerk)
        clock.set(opens + timedelta(minutes=25))
        use.serve(tenant, office_id, called.ticket, actor=clerk)
    clock.set(opens + timedelta(minutes=26))
    use.call_next(tenant, office_id, first, actor=clerk)  # on the screen, waiting at counter 1
    return use.day(tenant, office_id, today).id

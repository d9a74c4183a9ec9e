"""The feed publishes citizens' offices' days without personal data and without capabilities.

A booking is named by its reference (the id of its appointment_booked event), never by its
confirmation code or its cancellation token; the contact stays sealed in the view, for the
service account that sends the reminder, until it is erased.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from application.appointments import AppointmentService, Booked, kiosk, online_booking
from application.clock import FixedClock
from domain.appointments.office_day import OfficeDay
from domain.personal_data import PersonalData
from domain.timers import scheduler_actor
from infrastructure.wiring import Vorgang
from projections.case_events import case_event_topics
from projections.feed import (
    APPOINTMENT_TYPES,
    DESCRIPTIONS,
    PUBLIC_TYPES,
    TYPE_PREFIX,
    Feed,
    reminded_booking,
)
from projections.feed_query import FeedFilter, FeedQuery
from tests.conftest import CLERK

DAY = date(2026, 3, 4)  # a Wednesday; the clock stands at Monday 2 March 2026, 09:00
OFFICE = ("usingen", "buergerbuero")
# Internal to the office: holds, the day's opening, tickets drawn (a code's arrival), erasure.
NOT_PUBLISHED = {"Opened", "SlotHeld", "TicketDrawn", "ContactErased"}


def booked(appointments: AppointmentService, slot: str, name: str) -> Booked:
    citizen = online_booking("usingen")
    held = appointments.hold(*OFFICE, DAY, slot, actor=citizen, online=True)
    contact = {"name": name, "email": f"{name.lower()}@example.org", "phone": "06081 1234"}
    return appointments.confirm(*OFFICE, DAY, held.hold, contact, actor=citizen)


def published(vorgang: Vorgang, tenant: str = "usingen") -> list[dict[str, Any]]:
    vorgang.projections.catch_up()
    events = FeedQuery(vorgang.views).page(FeedFilter(tenants=(tenant,)), after=0, limit=500)
    return [
        e for e in events if e["type"][len(TYPE_PREFIX) :].startswith(("appointment", "ticket"))
    ]


def short(event: dict[str, Any]) -> str:
    return str(event["type"][len(TYPE_PREFIX) : -len(".v1")])


def test_every_office_day_event_is_published_or_deliberately_internal() -> None:
    names = {
        klass.__name__
        for klass in vars(OfficeDay).values()
        if isinstance(klass, type) and issubclass(klass, OfficeDay.Event)
    } - {"Event", "Created"}
    assert {n.split(".")[1] for n in APPOINTMENT_TYPES} == names - NOT_PUBLISHED
    for key, (public, _) in APPOINTMENT_TYPES.items():
        assert PUBLIC_TYPES[key] == public
        assert DESCRIPTIONS[public]  # /api/v1/feed/types describes each type
    topics = set(Feed().topics())
    assert set(case_event_topics()) <= topics  # the case events are read as before


def test_bookings_reminders_and_calls_are_published_without_codes_or_contacts(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    appointments = AppointmentService(
        vorgang.store, clock, vorgang.cases.identities, keys=vorgang.keys
    )
    day = appointments.day(*OFFICE, DAY)
    slots, counter = day.free_slots("reisepass", clock.now()), day.counters[0]
    anna = booked(appointments, slots[0].id, "Anna")
    ben = booked(appointments, slots[1].id, "Ben")
    appointments.cancel(
        *OFFICE, DAY, ben.code, token=ben.token, actor=online_booking("usingen"), reason="cancelled"
    )
    worker = scheduler_actor("usingen")
    appointments.remind(*OFFICE, DAY, anna.code, actor=worker)
    clock.set(slots[0].starts - timedelta(minutes=5))
    appointments.check_in(*OFFICE, anna.code, actor=kiosk("usingen"))
    called = appointments.call_next(*OFFICE, counter, actor=CLERK)
    appointments.serve(*OFFICE, called.ticket, actor=CLERK)

    events = published(vorgang)
    assert [short(e) for e in events] == [
        "appointment_booked",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_reminder_due",
        "ticket_called",
        "ticket_served",
    ]
    text = json.dumps(events)
    for secret in (anna.code, ben.code, anna.token, ben.token, "Anna", "anna@example.org", "1234"):
        assert secret not in text  # capabilities and personal data stay out
    booked_anna, booked_ben, cancelled, reminder, call, served = events
    reference = booked_anna["id"]  # a booking's reference: its appointment_booked event's id
    assert booked_anna["subject"] == reminder["subject"] == reference
    assert cancelled["subject"] == booked_ben["id"] != reference
    assert reminder["data"] == {
        "office": "buergerbuero",
        "day": "2026-03-04",
        "starts": slots[0].starts.isoformat(),
        "service": "reisepass",
        "booking": reference,
        "links": {
            "contact": f"/api/v1/appointments/usingen/buergerbuero/reminders/{reference}/contact"
        },
    }
    assert cancelled["data"]["reason"] == "cancelled"  # a keyword, never free text
    assert call["data"] | {"call": 1} == call["data"]
    assert (call["data"]["ticket"], call["data"]["counter"]) == (called.ticket, counter)
    assert served["data"]["ticket"] == called.ticket
    assert {e["source"] for e in events} == {"/tenants/usingen"}
    assert published(vorgang, "schmitten") == []  # another town's integrator sees none

    found = reminded_booking(vorgang.views, *OFFICE, reference)
    assert found is not None
    contact = vorgang.projections.open_sealed(found[3])
    assert contact["email"] == PersonalData(
        contact["email"].case_id, f"booking:{anna.code}", "anna@example.org"
    )
    assert reminded_booking(vorgang.views, "schmitten", "buergerbuero", reference) is None
    assert reminded_booking(vorgang.views, *OFFICE, booked_ben["id"]) is None  # cancelled

    clock.set(slots[0].starts + timedelta(days=14))  # Usingen keeps contacts 14 days
    appointments.erase_contact(*OFFICE, DAY, anna.code, actor=worker)
    vorgang.projections.catch_up()
    assert reminded_booking(vorgang.views, *OFFICE, reference) is None

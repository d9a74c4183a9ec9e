"""The office day: slots held and booked once, tickets numbered once, calls in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.actor import Actor, Role
from domain.appointments.office_day import (
    APPOINTMENT,
    WALK_IN,
    OfficeDay,
    QueueEmpty,
    SlotTaken,
    booking_subject,
    office_day_id,
)
from domain.appointments.offices import OFFICES, office
from domain.errors import InvalidCommand, WrongTenant
from domain.personal_data import Erased, PersonalData

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
CITIZEN = Actor("online-booking", "Online-Terminvergabe", Role.APPLICANT, "usingen")
FOREIGN = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
DAY = date(2026, 3, 4)  # a Wednesday
BOOKED_AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # two days ahead
OPENS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 08:00 in Germany
USINGEN = office("usingen", "buergerbuero")


def fresh(day: date = DAY) -> OfficeDay:
    return OfficeDay.open(USINGEN, day)


def book(d: OfficeDay, slot: str, code: str, *, email: str = "max@example.org") -> str:
    d.hold(slot=slot, hold=f"h-{code}", online=True, actor=CITIZEN, at=BOOKED_AT)
    return d.confirm(
        hold=f"h-{code}",
        contact={"name": "Max Mustermann", "email": email},
        person=email,
        code=code,
        token_digest=f"digest-{code}",
        actor=CITIZEN,
        at=BOOKED_AT,
    )


def replayed(d: OfficeDay) -> OfficeDay:
    copy = None
    for e in d.collect_events():
        copy = e.mutate(copy)
    assert isinstance(copy, OfficeDay)
    return copy


def test_every_office_of_every_town_opens_on_a_working_day_with_slots() -> None:
    assert {t for t, _ in OFFICES} == {"usingen", "neu-anspach", "schmitten", "glashuetten"}
    for configured in OFFICES.values():
        assert fresh(DAY).slots if configured is USINGEN else OfficeDay.open(configured, DAY).slots


def test_a_hessian_holiday_and_a_sunday_have_no_slots() -> None:
    assert OfficeDay.open(USINGEN, date(2026, 4, 6)).slots == {}  # Ostermontag
    assert OfficeDay.open(USINGEN, date(2026, 6, 4)).slots == {}  # Fronleichnam (Hessen)
    assert OfficeDay.open(USINGEN, date(2026, 3, 8)).slots == {}  # a Sunday


def test_only_the_released_slots_are_offered_online_the_desk_sees_all() -> None:
    d = fresh()
    online = d.free_slots("reisepass", BOOKED_AT)
    desk = d.free_slots("reisepass", BOOKED_AT, online=False)
    assert len(online) == USINGEN.service("reisepass").online_slots < len(desk)


def test_a_booked_slot_is_neither_offered_nor_held_again() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    book(d, slot, "AAAA1111")
    assert slot not in {s.id for s in d.free_slots("reisepass", BOOKED_AT)}
    with pytest.raises(SlotTaken):
        d.hold(slot=slot, hold="other", online=True, actor=CITIZEN, at=BOOKED_AT)


def test_a_held_slot_is_free_again_once_the_hold_lapses() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    until = d.hold(slot=slot, hold="h1", online=True, actor=CITIZEN, at=BOOKED_AT)
    with pytest.raises(SlotTaken):
        d.hold(slot=slot, hold="h2", online=True, actor=CITIZEN, at=BOOKED_AT)
    later = until + timedelta(seconds=1)
    d.hold(slot=slot, hold="h2", online=True, actor=CITIZEN, at=later)
    with pytest.raises(InvalidCommand) as refused:  # the first hold was taken over
        d.confirm(
            hold="h1",
            contact={"name": "A", "email": "a@b"},
            person="a",
            code="X",
            token_digest="t",
            actor=CITIZEN,
            at=later,
        )
    assert refused.value.field == "hold"


def test_online_booking_keeps_to_the_window() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", OPENS, online=False)[-1].id
    with pytest.raises(InvalidCommand) as refused:  # the same day: below the minimum
        d.hold(slot=slot, hold="h", online=True, actor=CITIZEN, at=OPENS)
    assert refused.value.field == "day"
    d.hold(slot=slot, hold="h", online=False, actor=CLERK, at=OPENS)  # the desk may
    assert d.free_slots("reisepass", OPENS) == ()  # nothing offered online that day
    far = OfficeDay.open(USINGEN, date(2026, 5, 4))  # a Monday, 63 days after BOOKED_AT
    assert far.slots
    assert far.free_slots("reisepass", BOOKED_AT) == ()  # beyond the window


def test_the_confirmation_seals_the_contact_under_the_bookings_subject() -> None:
    d = fresh()
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001")
    contact = d.booking(code).contact
    assert all(isinstance(v, PersonalData) for v in contact.values())
    assert {v.subject for v in contact.values() if isinstance(v, PersonalData)} == {
        booking_subject(code)
    }
    assert d.booking(code).reminder_due == d.slots[d.booking(code).slot].starts - timedelta(
        hours=24
    )
    assert d.booking(code).erase_on == DAY + timedelta(days=USINGEN.rules.erase_after_days)


def test_a_contact_without_email_or_phone_is_refused_naming_the_field() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    d.hold(slot=slot, hold="h", online=True, actor=CITIZEN, at=BOOKED_AT)
    with pytest.raises(InvalidCommand) as refused:
        d.confirm(
            hold="h",
            contact={"name": "A"},
            person="a",
            code="X",
            token_digest="t",
            actor=CITIZEN,
            at=BOOKED_AT,
        )
    assert refused.value.field == "contact.email"


def test_one_person_books_at_most_the_limit_per_day() -> None:
    d = fresh()
    slots = [s.id for s in d.free_slots("meldebescheinigung", BOOKED_AT)]
    for i in range(USINGEN.rules.per_person_per_day):
        book(d, slots[i], f"CODE000{i}")
    with pytest.raises(InvalidCommand) as refused:
        book(d, slots[5], "CODE0099")
    assert refused.value.field == "contact"
    book(d, slots[6], "CODE0098", email="other@example.org")


def test_a_cancelled_slot_is_bookable_again_and_needs_the_token() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    code = book(d, slot, "CODE0001")
    with pytest.raises(InvalidCommand) as refused:
        d.cancel(code=code, token_digest="wrong", actor=CITIZEN, at=BOOKED_AT)
    assert refused.value.field == "token"
    d.cancel(code=code, token_digest=f"digest-{code}", actor=CITIZEN, at=BOOKED_AT)
    assert slot in {s.id for s in d.free_slots("reisepass", BOOKED_AT)}
    book(d, slot, "CODE0002")


def test_staff_of_another_town_cannot_touch_the_day() -> None:
    d = fresh()
    with pytest.raises(WrongTenant):
        d.draw_walk_in(service="reisepass", actor=FOREIGN, at=OPENS)


def test_tickets_are_numbered_per_queue_and_called_appointments_due_first() -> None:
    d = fresh()
    first = d.free_slots("reisepass", BOOKED_AT)[0]
    code = book(d, first.id, "CODE0001")
    w1 = d.draw_walk_in(service="meldebescheinigung", actor=CLERK, at=OPENS)
    w2 = d.draw_walk_in(service="anmeldung", actor=CLERK, at=OPENS)
    t1 = d.check_in(code=code, actor=CITIZEN, at=OPENS)
    assert (w1, w2, t1) == ("W001", "W002", "T001")
    assert d.tickets[t1].queue == APPOINTMENT
    assert d.tickets[w1].queue == WALK_IN
    due = max(first.starts, OPENS)
    assert d.call_next(counter="Schalter 1", actor=CLERK, at=due) == "T001"
    assert d.call_next(counter="Schalter 2", actor=CLERK, at=due) == "W001"
    with pytest.raises(InvalidCommand) as refused:  # the counter's ticket is still open
        d.call_next(counter="Schalter 1", actor=CLERK, at=due)
    assert refused.value.field == "counter"


def test_an_early_appointment_waits_behind_the_walk_ins() -> None:
    d = fresh()
    late = d.free_slots("reisepass", BOOKED_AT)[-1]
    code = book(d, late.id, "CODE0001")
    d.check_in(code=code, actor=CITIZEN, at=OPENS)
    d.draw_walk_in(service="reisepass", actor=CLERK, at=OPENS)
    assert d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS) == "W001"
    assert d.call_next(counter="Schalter 2", actor=CLERK, at=OPENS) == "T001"


def test_a_no_show_needs_every_call_and_releases_the_slot() -> None:
    d = fresh()
    slot = d.free_slots("reisepass", OPENS, online=False)[-1]
    d.hold(slot=slot.id, hold="h", online=False, actor=CLERK, at=OPENS)
    d.confirm(
        hold="h",
        contact={"name": "A", "phone": "0600"},
        person="p",
        code="C1",
        token_digest="t",
        actor=CLERK,
        at=OPENS,
    )
    ticket = d.check_in(code="C1", actor=CITIZEN, at=OPENS)
    d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS)
    with pytest.raises(InvalidCommand):
        d.miss(ticket=ticket, actor=CLERK, at=OPENS)
    assert d.call_again(ticket=ticket, actor=CLERK, at=OPENS) == 2
    with pytest.raises(InvalidCommand):  # two calls are the most in Usingen
        d.call_again(ticket=ticket, actor=CLERK, at=OPENS)
    d.miss(ticket=ticket, actor=CLERK, at=OPENS)
    assert slot.id in {s.id for s in d.free_slots("reisepass", OPENS, online=False)}
    with pytest.raises(InvalidCommand):
        d.serve(ticket=ticket, actor=CLERK, at=OPENS)


def test_a_ticket_is_served_once() -> None:
    d = fresh()
    d.draw_walk_in(service="reisepass", actor=CLERK, at=OPENS)
    d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS)
    d.serve(ticket="W001", actor=CLERK, at=OPENS)
    with pytest.raises(InvalidCommand):
        d.serve(ticket="W001", actor=CLERK, at=OPENS)
    with pytest.raises(QueueEmpty):
        d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS)


def test_tickets_are_drawn_on_the_day_only() -> None:
    d = fresh()
    with pytest.raises(InvalidCommand) as refused:
        d.draw_walk_in(service="reisepass", actor=CLERK, at=BOOKED_AT)
    assert refused.value.field == "day"


def test_the_estimated_wait_grows_with_the_queue_and_shrinks_with_counters() -> None:
    d = fresh()
    assert d.estimated_wait_minutes(WALK_IN) == 0
    for _ in range(3):
        d.draw_walk_in(service="reisepass", actor=CLERK, at=OPENS)
    assert d.estimated_wait_minutes(WALK_IN) == 20  # 3 x 20 minutes over 3 counters


def test_a_reminder_falls_due_once_and_erasure_waits_for_its_day() -> None:
    d = fresh()
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001")
    d.remind(code=code, actor=CLERK, at=BOOKED_AT)
    with pytest.raises(InvalidCommand):
        d.remind(code=code, actor=CLERK, at=BOOKED_AT)
    with pytest.raises(InvalidCommand):
        d.erase_contact(code=code, actor=CLERK, at=OPENS)
    erase_at = OPENS + timedelta(days=USINGEN.rules.erase_after_days)
    d.erase_contact(code=code, actor=CLERK, at=erase_at)
    assert d.booking(code).erased


def test_replay_accepts_an_erased_contact() -> None:
    d = fresh()
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001")
    events = d.collect_events()
    confirmed = events[-1]
    assert isinstance(confirmed, OfficeDay.BookingConfirmed)
    erased = {k: Erased(d.id, booking_subject(code)) for k in confirmed.contact}
    object.__setattr__(confirmed, "contact", erased)
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert isinstance(copy, OfficeDay)
    assert copy.booking(code).contact == erased


def test_the_day_id_follows_from_town_office_and_day() -> None:
    assert fresh().id == office_day_id("usingen", "buergerbuero", DAY)
    assert office_day_id("usingen", "buergerbuero", DAY) != office_day_id(
        "usingen", "buergerbuero", DAY + timedelta(days=1)
    )


def test_an_unknown_service_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidCommand) as refused:
        USINGEN.service("hundesteuer")
    assert refused.value.field == "service"


def test_replay_gives_the_same_day() -> None:
    d = fresh()
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001")
    d.check_in(code=code, actor=CITIZEN, at=OPENS)
    d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS)
    copy = replayed(d)
    assert (copy.tickets, copy.bookings, copy.booked) == (d.tickets, d.bookings, d.booked)

"""The office day as a clerk, a citizen and an auditor expect it: calendar, window, calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import pytest

from domain.actor import Actor, Role
from domain.appointments.office_day import WALK_IN, OfficeDay, booking_subject
from domain.appointments.offices import BookingRules, Office, office
from domain.errors import InvalidCommand
from domain.personal_data import Erased, PersonalData
from domain.working_days import BERLIN

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
CITIZEN = Actor("online-booking", "Online-Terminvergabe", Role.APPLICANT, "usingen")
USINGEN = office("usingen", "buergerbuero")
DAY = date(2026, 3, 4)  # a Wednesday
BOOKED_AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OPENS = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 08:00 in Germany


def book(d: OfficeDay, slot: str, code: str, at: datetime, *, online: bool = True) -> str:
    d.hold(slot=slot, hold=f"h-{code}", online=online, actor=CITIZEN, at=at)
    return d.confirm(
        hold=f"h-{code}",
        contact={"name": "Max Mustermann", "email": "max@example.org"},
        person=f"p-{code}",
        code=code,
        token_digest=f"digest-{code}",
        actor=CITIZEN,
        at=at,
    )


def with_rules(**rules: int) -> Office:
    return replace(USINGEN, rules=BookingRules(**rules))


# ------------------------------------------------------------------ calendar


def test_a_hessian_holiday_on_a_saturday_has_no_slots_where_saturdays_open() -> None:
    assert OfficeDay.open(USINGEN, date(2026, 10, 10)).slots  # an ordinary Saturday opens
    assert OfficeDay.open(USINGEN, date(2026, 10, 3)).slots == {}  # Tag der Deutschen Einheit
    assert OfficeDay.open(USINGEN, date(2026, 12, 26)).slots == {}  # 2. Weihnachtstag
    assert not USINGEN.is_open_on(date(2026, 10, 3))


def test_an_office_with_sunday_hours_still_never_opens_on_a_sunday() -> None:
    sundays = replace(USINGEN, hours=MappingProxyType({**USINGEN.hours, 6: USINGEN.hours[0]}))
    assert OfficeDay.open(sundays, date(2026, 3, 8)).slots == {}


def test_slots_keep_to_the_opening_hours_and_the_lunch_break() -> None:
    thursday = OfficeDay.open(USINGEN, date(2026, 3, 5))
    starts = sorted(
        s.starts.astimezone(BERLIN).time() for s in thursday.slots.values() if s.minutes == 20
    )
    assert starts[0].isoformat() == "08:00:00"
    assert all(s.hour < 12 or s.hour >= 14 for s in starts)  # nothing begins in the break
    last = max(s.starts for s in thursday.slots.values() if s.minutes == 20)
    assert (last + timedelta(minutes=20)).astimezone(BERLIN).hour == 18  # ends at closing


# ------------------------------------------------------------------ the booking window


def test_the_booking_window_turns_at_midnight_in_germany_not_in_utc() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    late_evening_utc = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # already 4 March in Germany
    assert d.free_slots("reisepass", late_evening_utc) == ()
    with pytest.raises(InvalidCommand) as refused:
        d.hold(slot=slot, hold="h", online=True, actor=CITIZEN, at=late_evening_utc)
    assert refused.value.field == "day"


def test_an_online_hold_confirmed_after_midnight_books_no_same_day_appointment() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    slot = d.free_slots("reisepass", BOOKED_AT)[0].id
    before_midnight = datetime(2026, 3, 3, 22, 55, tzinfo=UTC)  # 23:55 on the 3rd in Germany
    d.hold(slot=slot, hold="h", online=True, actor=CITIZEN, at=before_midnight)
    after_midnight = before_midnight + timedelta(minutes=7)  # the hold holds, the day turned
    with pytest.raises(InvalidCommand) as refused:
        d.confirm(
            hold="h",
            contact={"name": "Max Mustermann", "email": "max@example.org"},
            person="p",
            code="CODE0001",
            token_digest="t",
            actor=CITIZEN,
            at=after_midnight,
        )
    assert refused.value.field == "day"
    assert slot not in d.booked


@pytest.mark.parametrize(
    ("monday", "hours_between"),
    [
        (date(2026, 3, 30), 48),  # the clocks went forward on Sunday 29 March
        (date(2026, 10, 26), 48),  # and back on Sunday 25 October
    ],
)
def test_the_reminder_falls_due_the_configured_hours_before_across_a_dst_change(
    monday: date, hours_between: int
) -> None:
    d = OfficeDay.open(with_rules(reminder_hours=hours_between), monday)
    booked_at = datetime.combine(monday - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    first = d.free_slots("reisepass", booked_at)[0]
    code = book(d, first.id, "CODE0001", booked_at)
    # real hours, not wall-clock hours: aware datetimes of one zone subtract by the wall
    real = first.starts.timestamp() - d.booking(code).reminder_due.timestamp()
    assert real == hours_between * 3600


# ------------------------------------------------------------------ calls


def _walk_in_called_to(d: OfficeDay, counter: str) -> str:
    ticket = d.draw_walk_in(service="reisepass", actor=CLERK, at=OPENS)
    assert d.call_next(counter=counter, actor=CLERK, at=OPENS) == ticket
    return ticket


def test_a_counter_marks_only_its_own_ticket_served_or_missed() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    ticket = _walk_in_called_to(d, "Schalter 1")
    with pytest.raises(InvalidCommand) as refused:
        d.serve(ticket=ticket, counter="Schalter 2", actor=CLERK, at=OPENS)
    assert refused.value.field == "counter"
    d.call_again(ticket=ticket, actor=CLERK, at=OPENS)
    with pytest.raises(InvalidCommand) as refused:
        d.miss(ticket=ticket, counter="Schalter 2", actor=CLERK, at=OPENS)
    assert refused.value.field == "counter"
    d.miss(ticket=ticket, counter="Schalter 1", actor=CLERK, at=OPENS)
    assert d.tickets[ticket].status == "missed"


def test_ticket_numbers_run_on_after_a_cancellation_and_a_no_show() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    slots = [s.id for s in d.free_slots("reisepass", OPENS, online=False)]
    first = book(d, slots[0], "CODE0001", OPENS, online=False)
    second = book(d, slots[1], "CODE0002", OPENS, online=False)
    d.cancel(code=first, token_digest=None, actor=CLERK, at=OPENS)
    with pytest.raises(InvalidCommand):  # a cancelled booking draws no ticket
        d.check_in(code=first, actor=CITIZEN, at=OPENS)
    assert d.check_in(code=second, actor=CITIZEN, at=OPENS) == "T001"
    d.call_next(counter="Schalter 1", actor=CLERK, at=OPENS)
    d.call_again(ticket="T001", actor=CLERK, at=OPENS)
    d.miss(ticket="T001", actor=CLERK, at=OPENS)
    third = book(d, slots[1], "CODE0003", OPENS, online=False)  # the missed slot, later on
    assert d.check_in(code=third, actor=CITIZEN, at=OPENS) == "T002"  # T001 is never reused


def test_a_missed_appointment_releases_no_slot_that_has_begun() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    slot = d.free_slots("reisepass", BOOKED_AT)[0]
    code = book(d, slot.id, "CODE0001", BOOKED_AT)
    at = slot.starts + timedelta(minutes=5)
    d.check_in(code=code, actor=CITIZEN, at=at)
    d.call_next(counter="Schalter 1", actor=CLERK, at=at)
    d.call_again(ticket="T001", actor=CLERK, at=at)
    d.miss(ticket="T001", actor=CLERK, at=at)
    assert slot.id not in {s.id for s in d.free_slots("reisepass", at, online=False)}
    with pytest.raises(InvalidCommand):
        d.hold(slot=slot.id, hold="again", online=False, actor=CLERK, at=at)


def test_a_walk_in_estimate_leaves_out_appointments_checked_in_early() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    late = d.free_slots("reisepass", BOOKED_AT)[-1]
    code = book(d, late.id, "CODE0001", BOOKED_AT)
    d.check_in(code=code, actor=CITIZEN, at=OPENS)  # hours before its time
    d.draw_walk_in(service="reisepass", actor=CLERK, at=OPENS)
    called_first = d.next_ticket(OPENS)
    assert called_first is not None
    assert called_first.queue == WALK_IN
    # one walk-in (20 minutes) ahead over three counters: the early appointment goes after
    assert d.estimated_wait_minutes(WALK_IN, at=OPENS) == 7
    assert d.estimated_wait_minutes(WALK_IN, at=late.starts) == 14  # now it is due: ahead


def test_a_cancellation_records_a_keyword_never_free_text_that_may_name_someone() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001", BOOKED_AT)
    recorded = len(d.pending_events)
    with pytest.raises(InvalidCommand) as refused:
        d.cancel(code=code, token_digest=None, actor=CLERK, at=BOOKED_AT, reason="Herr Meier krank")
    assert refused.value.field == "reason"
    assert len(d.pending_events) == recorded
    d.cancel(code=code, token_digest=None, actor=CLERK, at=BOOKED_AT, reason="staff_absence")
    assert d.bookings[code].status == "cancelled"


def test_the_person_fingerprint_is_sealed_with_the_contact_and_erased_with_it() -> None:
    # a keyed hash of the e-mail still singles the citizen out: pseudonymous, not anonymous
    d = OfficeDay.open(USINGEN, DAY)
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001", BOOKED_AT)
    events = d.collect_events()
    confirmed = events[-1]
    assert isinstance(confirmed, OfficeDay.BookingConfirmed)
    assert isinstance(confirmed.person, PersonalData)
    assert confirmed.person.subject == booking_subject(code)
    assert d.booking(code).person == f"p-{code}"  # the day still counts it
    object.__setattr__(confirmed, "person", Erased(d.id, booking_subject(code)))
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert isinstance(copy, OfficeDay)
    assert copy.booking(code).person == ""  # erased: counts for nobody


def test_a_booking_stored_with_a_plain_fingerprint_still_counts_for_the_limit() -> None:
    d = OfficeDay.open(USINGEN, DAY)
    code = book(d, d.free_slots("reisepass", BOOKED_AT)[0].id, "CODE0001", BOOKED_AT)
    events = d.collect_events()
    object.__setattr__(events[-1], "person", "p-old")  # as written before the seal
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert isinstance(copy, OfficeDay)
    assert copy.booking(code).person == "p-old"

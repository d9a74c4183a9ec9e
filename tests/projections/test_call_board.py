"""The call board: the last calls newest first, who still waits per queue, the board's position."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from application.clock import FixedClock
from domain.appointments.office_day import OfficeDay, office_day_id
from domain.appointments.offices import office
from domain.working_days import berlin_date
from infrastructure.wiring import Vorgang
from projections.call_board_query import Board, CallBoardQuery
from tests.conftest import CLERK


class Counter:
    """A clerk at the Usingen office, working on the office day through the aggregate."""

    def __init__(self, vorgang: Vorgang, clock: FixedClock) -> None:
        self.vorgang = vorgang
        self.clock = clock
        self.day: date = berlin_date(clock.now())
        self.vorgang.store.save(OfficeDay.open(office("usingen", "buergerbuero"), self.day))

    def office_day(self) -> OfficeDay:
        wanted = office_day_id("usingen", "buergerbuero", self.day)
        day: OfficeDay = self.vorgang.store.repository.get(wanted)
        return day

    def walk_in(self) -> str:
        day = self.office_day()
        ticket = day.draw_walk_in(service="meldebescheinigung", actor=CLERK, at=self.now())
        self.vorgang.store.save(day)
        return ticket

    def call_next(self, counter: str) -> str:
        day = self.office_day()
        ticket = day.call_next(counter=counter, actor=CLERK, at=self.now())
        self.vorgang.store.save(day)
        return ticket

    def call_again(self, ticket: str) -> None:
        day = self.office_day()
        day.call_again(ticket=ticket, actor=CLERK, at=self.now())
        self.vorgang.store.save(day)

    def serve(self, ticket: str) -> None:
        day = self.office_day()
        day.serve(ticket=ticket, actor=CLERK, at=self.now())
        self.vorgang.store.save(day)

    def miss(self, ticket: str) -> None:
        day = self.office_day()
        day.miss(ticket=ticket, actor=CLERK, at=self.now())
        self.vorgang.store.save(day)

    def now(self) -> datetime:
        return self.clock.advance(timedelta(minutes=1))

    def board(self) -> Board:
        self.vorgang.projections.catch_up()
        query = CallBoardQuery(self.vorgang.views)
        return query.board("usingen", "buergerbuero", self.day.isoformat())


def test_an_office_day_before_its_first_ticket_shows_an_empty_board_with_both_queues(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    board = CallBoardQuery(vorgang.views).board("usingen", "buergerbuero", "2026-03-02")
    assert board.calls == []
    assert board.sequence == 0
    assert board.waiting == {"appointment": 0, "walk_in": 0}


def test_the_board_lists_calls_newest_first_and_counts_who_still_waits(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    desk = Counter(vorgang, clock)
    first, second, third, fourth = (desk.walk_in() for _ in range(4))
    assert desk.board().waiting == {"appointment": 0, "walk_in": 4}

    assert desk.call_next("Schalter 1") == first
    assert desk.call_next("Schalter 2") == second
    desk.call_again(second)  # called twice: still not waiting again, and shown again
    desk.serve(first)
    board = desk.board()
    assert [(c.ticket, c.counter, c.call) for c in board.calls] == [
        (second, "Schalter 2", 2),
        (second, "Schalter 2", 1),
        (first, "Schalter 1", 1),
    ]
    assert board.waiting == {"appointment": 0, "walk_in": 2}
    assert board.sequence == vorgang.store.recorder.max_notification_id()

    desk.miss(second)
    desk.call_next("Schalter 2")
    board = desk.board()
    assert board.calls[0].ticket == third
    assert board.waiting == {"appointment": 0, "walk_in": 1}  # only the fourth waits
    assert fourth not in {c.ticket for c in board.calls}


def test_the_board_position_moves_with_every_change_and_names_what_changed(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    desk = Counter(vorgang, clock)
    desk.walk_in()
    before = desk.board().sequence
    desk.call_next("Schalter 3")
    after = desk.board().sequence
    assert after > before
    query = CallBoardQuery(vorgang.views)
    changed = query.changed_after(before)
    assert [(c.position, c.tenant, c.office, c.day) for c in changed] == [
        (after, "usingen", "buergerbuero", desk.day.isoformat())
    ]
    assert query.changed_after(after) == []
    assert query.head() == after
    assert query.offices("usingen") == ["buergerbuero"]


def test_the_board_carries_no_personal_data_of_the_actor_or_the_booking(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    desk = Counter(vorgang, clock)
    desk.walk_in()
    desk.call_next("Schalter 1")
    text = str(desk.board().as_json())
    assert CLERK.display_name not in text
    assert CLERK.id not in text

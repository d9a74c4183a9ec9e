"""The delivery watch records what the postbox and the print service report in the cases:
each outcome once, whatever runs twice; stale and unknown reports are told apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.document_ports import PostalAddress, Report
from domain.case import Case
from domain.documents import Channel, DocumentKind, Outcome
from domain.timers import scheduler_actor
from infrastructure.documents.delivery_watch import DeliveryWatch
from infrastructure.documents.postbox import NOT_RETRIEVED, PostboxSimulator
from infrastructure.documents.print_service import PrintBatches, PrintServiceSimulator
from infrastructure.scheduler import Scheduler
from infrastructure.view_database import SQLiteViews
from infrastructure.wiring import Vorgang
from projections.open_dispatches import OpenDispatches, open_sendings
from projections.projection import Applied
from tests.domain.case_fixtures import CLERK, START, decided, noon
from tests.infrastructure.test_print_batches import pdf

DAY = (START + timedelta(days=1)).date()  # Tuesday 3 March 2026: decided, issued, sent
ADDRESS = PostalAddress("Erika Mustermann", ("Hauptstraße 1", "61250 Usingen"))
VIEW = OpenDispatches()


class Town:
    """Cases built with the domain, the view fed from their events, and a ``record`` that
    reports in the case as the system does (refusing what the case refuses)."""

    def __init__(self, directory: Path) -> None:
        self.views = SQLiteViews(str(directory / "views.db"))
        self.postbox = PostboxSimulator(directory / "postbox")
        self.batches = PrintBatches(directory / "print")
        self.cases: dict[UUID, Case] = {}
        self.position = 0
        self.recorded: list[tuple[UUID, int, Report]] = []
        self.today = DAY
        with self.views.transaction() as tx:
            VIEW.create_tables(tx)

    def watch(self) -> DeliveryWatch:
        return DeliveryWatch(self.views, self.postbox, self.batches, self.record)

    def record(self, case_id: UUID, number: int, report: Report) -> None:
        case = self.cases[case_id]
        case.report_delivery(
            actor=scheduler_actor(case.tenant),
            at=noon(self.today),
            number=number,
            outcome=report.outcome,
            on=report.on,
            failure=report.failure,
        )
        self.recorded.append((case_id, number, report))

    def case_with_decision_issued(self) -> Case:
        case = decided()
        case.issue_document(
            actor=CLERK,
            at=noon(DAY),
            kind=DocumentKind.DECISION,
            sha256="ab" * 32,
            size=1234,
            template="vorgang-letters-test",
            seal="test seal",
            subjects=("applicant",),
        )
        self.cases[UUID(str(case.id))] = case
        return case

    def to_postbox(self, on: date = DAY) -> tuple[Case, str]:
        case = self.case_with_decision_issued()
        message = self.postbox.send(
            key=f"{case.id}/1/1", account="portal:4711", subject="Bescheid", pdf=b"%PDF", on=on
        )
        case.send_document(
            actor=CLERK, at=noon(on), number=1, channel=Channel.POSTBOX, reference=message
        )
        return case, message

    def by_letter(self, case: Case | None = None, on: date = DAY) -> tuple[Case, str]:
        case = case or self.case_with_decision_issued()
        key = f"{case.id}/1/{len(case.document(1).dispatches) + 1}"
        reference = self.batches.enqueue(
            key=key, tenant="usingen", address=ADDRESS, pdf=pdf(), on=on
        )
        case.send_document(
            actor=CLERK, at=noon(on), number=1, channel=Channel.LETTER, reference=reference
        )
        return case, reference

    def apply(self) -> None:
        """The view catches up with every case's new events."""
        batch = []
        for case in self.cases.values():
            for event in case.collect_events():
                self.position += 1
                batch.append(Applied(self.position, event))
        with self.views.transaction() as tx:
            VIEW.apply(tx, batch)


@pytest.fixture
def town(tmp_path: Path) -> Iterator[Town]:
    built = Town(tmp_path)
    try:
        yield built
    finally:
        built.views.close()


def test_a_retrieved_message_is_recorded_once_and_one_not_retrieved_fails_after_ten_days(
    town: Town,
) -> None:
    retrieved, first = town.to_postbox()
    waiting, second = town.to_postbox()
    town.apply()
    town.postbox.retrieve(first, DAY + timedelta(days=2))
    town.today = DAY + timedelta(days=3)
    report = town.watch().tick(town.today)
    assert (report.recorded, report.already, report.expired) == (1, 0, 0)
    latest = retrieved.document(1).latest
    assert latest is not None
    assert latest.completed
    assert retrieved.notification is not None  # the Bekanntgabe followed
    town.apply()
    assert [s.reference for s in open_sendings(town.views, Channel.POSTBOX)] == [second]
    assert town.watch().tick(town.today).recorded == 0  # nothing new
    town.today = DAY + timedelta(days=11)
    report = town.watch().tick(town.today)
    assert (report.expired, report.recorded) == (1, 1)
    assert town.recorded[-1] == (
        waiting.id,
        1,
        Report(second, Outcome.FAILED, DAY + timedelta(days=11), NOT_RETRIEVED),
    )
    town.apply()
    assert open_sendings(town.views, Channel.POSTBOX) == []


def test_a_report_seen_twice_before_the_view_moves_is_recorded_once(town: Town) -> None:
    case, message = town.to_postbox()
    town.apply()
    town.postbox.retrieve(message, DAY + timedelta(days=1))
    town.today = DAY + timedelta(days=1)
    first, second = town.watch(), town.watch()  # two processes
    assert first.tick(town.today).recorded == 1
    again = second.tick(town.today)  # the view still shows the sending open
    assert (again.recorded, again.already) == (0, 1)
    assert len(town.recorded) == 1
    assert [type(e).__name__ for e in case.collect_events()].count("DeliveryReported") == 1


def test_a_retrieval_dated_after_today_waits_for_its_day(town: Town) -> None:
    _, message = town.to_postbox()
    town.apply()
    town.postbox.retrieve(message, DAY + timedelta(days=2))
    town.today = DAY + timedelta(days=1)
    report = town.watch().tick(town.today)
    assert (report.recorded, report.waiting) == (0, 1)
    town.today = DAY + timedelta(days=2)
    assert town.watch().tick(town.today).recorded == 1


def test_posted_letters_are_recorded_and_their_report_acknowledged(town: Town) -> None:
    posted, _first = town.by_letter()
    also_posted, _second = town.by_letter()
    town.apply()
    PrintServiceSimulator(town.batches.directory).post(DAY, on=DAY + timedelta(days=1))
    town.today = DAY + timedelta(days=1)
    report = town.watch().tick(town.today)
    assert (report.recorded, report.waiting) == (2, 0)
    assert {(r[0], r[2].outcome) for r in town.recorded} == {
        (posted.id, Outcome.POSTED),
        (also_posted.id, Outcome.POSTED),
    }
    assert posted.notification is not None
    assert town.batches.reports() == []
    assert len(list((town.batches.inbox / "done").iterdir())) == 1


def test_a_report_recorded_before_a_crash_is_acknowledged_as_done(town: Town) -> None:
    case, _reference = town.by_letter()
    town.apply()
    PrintServiceSimulator(town.batches.directory).post(DAY, on=DAY)
    (posted,) = town.batches.reports()
    town.record(UUID(str(case.id)), 1, posted)  # recorded, then the process died
    town.apply()
    report = town.watch().tick(town.today)
    assert (report.recorded, report.stale) == (0, 1)  # the sending is no longer open
    assert town.batches.reports() == []


def test_unknown_references_wait_and_a_return_of_an_earlier_sending_is_stale(
    town: Town,
) -> None:
    case, first = town.by_letter()
    town.apply()
    simulator = PrintServiceSimulator(town.batches.directory)
    simulator.return_letter(first, DAY + timedelta(days=5), "Empfänger unbekannt")
    town.today = DAY + timedelta(days=5)
    assert town.watch().tick(town.today).recorded == 1
    town.apply()
    _, second = town.by_letter(case, on=town.today)  # sent again
    simulator.return_letter(first, town.today, "noch einmal zurück")  # the old one, again
    simulator.return_letter("usingen/2026-01-01/0007", town.today, "unbekannt")
    report = town.watch().tick(town.today)  # the view has not seen the new sending yet
    assert (report.recorded, report.stale, report.waiting) == (0, 1, 1)
    assert [r.reference for r in town.batches.reports()] == ["usingen/2026-01-01/0007"]
    latest = case.document(1).latest
    assert latest is not None
    assert (latest.reference, latest.open) == (second, True)


def test_an_unexpected_error_leaves_the_report_for_the_next_tick(town: Town) -> None:
    town.by_letter()
    town.apply()
    PrintServiceSimulator(town.batches.directory).post(DAY, on=DAY)

    def broken(case_id: UUID, number: int, report: Report) -> None:
        raise ConnectionError("the database is gone")

    watch = DeliveryWatch(town.views, town.postbox, town.batches, broken)
    assert watch.tick(DAY).failed == 1
    assert len(town.batches.reports()) == 1
    assert town.watch().tick(DAY).recorded == 1
    assert town.batches.reports() == []


def test_the_scheduler_runs_the_work_beside_its_timers_each_tick(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    days: list[date] = []

    def failing(today: date) -> None:
        days.append(today)
        raise RuntimeError("the print share is gone")

    scheduler = Scheduler(views=vorgang.views, commands=vorgang.commands, clock=clock)
    assert scheduler.tick().beside is None
    scheduler = Scheduler(
        views=vorgang.views, commands=vorgang.commands, clock=clock, beside=days.append
    )
    scheduler.tick()
    assert days == [DAY - timedelta(days=1)]  # the clock's business day, 2 March
    failing_scheduler = Scheduler(
        views=vorgang.views, commands=vorgang.commands, clock=clock, beside=failing
    )
    report = failing_scheduler.tick()  # the timers' tick goes on
    assert report.today == days[-1]
    assert report.beside is None

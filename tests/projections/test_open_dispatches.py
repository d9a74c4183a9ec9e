"""The open dispatches view: per document, its latest sending while a channel has still to
report; gone once the outcome completes or fails it; every sending's reference kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.case import Case
from domain.documents import Channel, DocumentKind, Outcome
from infrastructure.view_database import SQLiteViews
from infrastructure.wiring import Vorgang
from projections.open_dispatches import OpenDispatches, OpenSending, open_sendings, sending_with
from projections.projection import Applied
from tests.domain.case_fixtures import CLERK, START, decided, noon

VIEW = OpenDispatches()
DAY = (START + timedelta(days=1)).date()  # the decision's day, Tuesday 3 March 2026
ADMIN = Actor("admin", "Ada Admin", Role.ADMIN, "usingen")


class Log:
    """Feeds the events of cases built with the domain to the view, in log order."""

    def __init__(self, views: SQLiteViews) -> None:
        self.views = views
        self.position = 0
        with views.transaction() as tx:
            VIEW.create_tables(tx)

    def apply(self, *cases: Case) -> None:
        batch = []
        for case in cases:
            for event in case.collect_events():
                self.position += 1
                batch.append(Applied(self.position, event))
        with self.views.transaction() as tx:
            VIEW.apply(tx, batch)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    views = SQLiteViews(str(tmp_path / "views.db"))
    try:
        yield Log(views)
    finally:
        views.close()


def with_decision_issued() -> Case:
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
    return case


def send(case: Case, channel: Channel, reference: str, on: date = DAY) -> None:
    case.send_document(actor=CLERK, at=noon(on), number=1, channel=channel, reference=reference)


def report(case: Case, outcome: Outcome, on: date, failure: str | None = None) -> None:
    case.report_delivery(
        actor=CLERK, at=noon(on), number=1, outcome=outcome, on=on, failure=failure
    )


def sending(case: Case, channel: Channel, reference: str, on: date = DAY) -> OpenSending:
    return OpenSending(UUID(str(case.id)), "usingen", 1, channel, reference, on)


def test_a_sending_is_open_until_its_channel_completes_or_fails_it(log: Log) -> None:
    postbox, letter, returned = (with_decision_issued() for _ in range(3))
    send(postbox, Channel.POSTBOX, "message-1")
    send(letter, Channel.LETTER, "usingen/2026-03-03/0001")
    send(returned, Channel.LETTER, "usingen/2026-03-03/0002")
    log.apply(postbox, letter, returned)
    assert open_sendings(log.views, Channel.POSTBOX) == [
        sending(postbox, Channel.POSTBOX, "message-1")
    ]
    assert len(open_sendings(log.views, Channel.LETTER)) == 2
    report(postbox, Outcome.ACCEPTED, DAY)  # accepted: still awaiting retrieval
    report(letter, Outcome.POSTED, DAY + timedelta(days=1))
    log.apply(postbox, letter)
    assert open_sendings(log.views, Channel.POSTBOX) == [
        sending(postbox, Channel.POSTBOX, "message-1")
    ]
    assert open_sendings(log.views, Channel.LETTER) == [
        sending(returned, Channel.LETTER, "usingen/2026-03-03/0002")
    ]
    report(postbox, Outcome.RETRIEVED, DAY + timedelta(days=2))
    report(returned, Outcome.FAILED, DAY + timedelta(days=6), "Empfänger unbekannt")
    log.apply(postbox, returned)
    assert open_sendings(log.views, Channel.POSTBOX) == []
    assert open_sendings(log.views, Channel.LETTER) == []


def test_a_document_sent_again_replaces_its_row_and_an_old_reference_is_no_longer_open(
    log: Log,
) -> None:
    case = with_decision_issued()
    send(case, Channel.POSTBOX, "message-1")
    report(case, Outcome.FAILED, DAY + timedelta(days=11), "nicht abgerufen")
    log.apply(case)
    assert open_sendings(log.views, Channel.POSTBOX) == []
    case_id = UUID(str(case.id))
    assert sending_with(log.views, Channel.POSTBOX, "message-1") == (case_id, 1, False)
    send(case, Channel.LETTER, "usingen/2026-03-14/0001", on=DAY + timedelta(days=11))
    log.apply(case)
    assert open_sendings(log.views, Channel.LETTER) == [
        sending(case, Channel.LETTER, "usingen/2026-03-14/0001", DAY + timedelta(days=11))
    ]
    assert sending_with(log.views, Channel.LETTER, "usingen/2026-03-14/0001") == (
        case_id,
        1,
        True,
    )
    assert sending_with(log.views, Channel.LETTER, "never sent") is None


def test_erasing_personal_data_leaves_the_open_sending(log: Log) -> None:
    case = with_decision_issued()
    send(case, Channel.LETTER, "usingen/2026-03-03/0001")
    log.apply(case)
    case.record_erasure(
        actor=ADMIN,
        at=noon(DAY + timedelta(days=1)),
        subjects=["applicant"],
        reason="Widerruf der Einwilligung",
        legal_basis="Art. 17 DSGVO",
    )
    events: list[Any] = case.collect_events()
    assert [type(e) for e in events] == [Case.PersonalDataErased]
    with log.views.transaction() as tx:
        VIEW.apply(tx, [Applied(log.position + 1, events[0])])
    assert open_sendings(log.views, Channel.LETTER) == [
        sending(case, Channel.LETTER, "usingen/2026-03-03/0001")
    ]


def test_the_host_keeps_the_view_from_the_stored_log(vorgang: Vorgang, clock: FixedClock) -> None:
    case = with_decision_issued()
    send(case, Channel.POSTBOX, "message-1")
    vorgang.store.save(case)
    vorgang.projections.catch_up()
    assert open_sendings(vorgang.views, Channel.POSTBOX) == [
        sending(case, Channel.POSTBOX, "message-1")
    ]
    report(case, Outcome.RETRIEVED, DAY + timedelta(days=1))  # the decision is notified too
    vorgang.store.save(case)
    vorgang.projections.catch_up()
    assert open_sendings(vorgang.views, Channel.POSTBOX) == []
    assert sending_with(vorgang.views, Channel.POSTBOX, "message-1") == (case.id, 1, False)

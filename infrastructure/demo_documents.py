"""Demo Bescheide as documents: road opening permits issued as the town's sealed PDF/A letter.

In every town one permit goes into the applicant's postbox and is retrieved two days later,
which sets its Bekanntgabe (the day after retrieval); in Usingen also one goes by letter
(the print service posts it the next working day) and one waits in the portal for its
download. The postbox and the print service are the simulators the demo runs with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from application.document_ports import Report
from application.documents import DocumentService
from domain.documents import Channel, DocumentKind, Outcome
from domain.working_days import next_working_day
from infrastructure.demo_road_opening import permitted
from infrastructure.demo_steps import Office, Step, today
from infrastructure.documents.postbox import PostboxSimulator
from infrastructure.documents.print_service import PrintServiceSimulator
from infrastructure.wiring import Vorgang

CHANNELS_BY_TOWN: dict[str, tuple[Channel, ...]] = {
    "usingen": (Channel.POSTBOX, Channel.LETTER, Channel.PORTAL),
    "neu-anspach": (Channel.POSTBOX,),
    "schmitten": (Channel.POSTBOX,),
    "glashuetten": (Channel.POSTBOX,),
}


def delivered_by(vorgang: Vorgang, channel: Channel) -> Step:
    """Permitted, the Bescheid issued the next day and sent by ``channel``; what follows."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        permitted(h, case_id, town, clock)
        clock.advance(timedelta(days=1))
        documents = DocumentService(vorgang.store, clock, vorgang.documents.ports)
        issued = documents.issue(
            case_id, actor=town.clerk, kind=DocumentKind.DECISION, channel=channel
        )
        number = issued.document["number"]
        reference = issued.document["dispatches"][-1]["reference"]
        outcome = _OUTCOMES.get(channel)
        if outcome is not None:
            outcome(vorgang, documents, clock, case_id, number, reference)

    return step


def _retrieved(
    vorgang: Vorgang,
    documents: DocumentService,
    clock: FixedClock,
    case_id: UUID,
    number: int,
    reference: str,
) -> None:
    """The applicant opens the message in the postbox two days later."""
    clock.advance(timedelta(days=2))
    postbox = vorgang.documents.ports.postbox
    if isinstance(postbox, PostboxSimulator):
        postbox.retrieve(reference, today(clock))
    for report in postbox.status([reference]):
        documents.record_report(case_id, number, report)


def _posted(
    vorgang: Vorgang,
    documents: DocumentService,
    clock: FixedClock,
    case_id: UUID,
    number: int,
    reference: str,
) -> None:
    """The print service posts the day's batch on the next working day and reports it."""
    sent_on = today(clock)
    posted_on = next_working_day(sent_on + timedelta(days=1))
    clock.advance(timedelta(days=(posted_on - sent_on).days))
    PrintServiceSimulator(vorgang.settings.print_dir).post(sent_on, posted_on)
    documents.record_report(case_id, number, Report(reference, Outcome.POSTED, posted_on))


_OUTCOMES: dict[Channel, Callable[[Vorgang, DocumentService, FixedClock, UUID, int, str], None]] = {
    Channel.POSTBOX: _retrieved,
    Channel.LETTER: _posted,
}

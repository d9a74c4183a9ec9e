"""The delivery watch: asks the channels what became of open sendings and records it.

Each tick (run beside the scheduler's timers, ``infrastructure/scheduler.py``):

1. the postbox simulator fails its messages not retrieved within ten days (the real
   postbox does this itself);
2. the postbox is asked about every open postbox sending of the open dispatches view
   (``projections/open_dispatches.py``), and each message retrieved or failed is recorded
   in its case;
3. the print service's reports are read; each is recorded in its case and acknowledged, so
   the next tick does not read it again.

Recording goes through ``record`` — the application's use case that records the outcome in
the case as the system; where a completed delivery of a decision sets its Bekanntgabe, that
follows in the same save. A case refuses an outcome recorded already (``InvalidCommand``),
and that refusal counts as done: two processes may run the watch at once, a report read
twice is recorded once, and a crash between recording and acknowledging costs nothing but
a refusal on the next tick. A report dated after today waits for its day (a case refuses
outcomes in the future). A print report of a reference the view has not seen waits too
(the sending may not be applied to the view yet); one of a sending no longer open — the
document was sent again since — is acknowledged without recording (stale).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final
from uuid import UUID

import structlog

from application.document_ports import ChannelUnavailable, Postbox, PrintService, Report
from domain.documents import Channel, Outcome
from domain.errors import InvalidCommand
from infrastructure.documents.postbox import PostboxSimulator
from projections.open_dispatches import OpenDispatches, open_sendings, sending_with
from projections.view_store import ViewDatabase

log = structlog.get_logger(__name__)

STATUS_CHUNK: Final = 200  # message ids per status question to the postbox

# Records a channel's report in its case, as the system (the application supplies it).
Record = Callable[[UUID, int, Report], None]


class Recorded(StrEnum):
    """What came of recording one report."""

    RECORDED = "recorded"
    ALREADY = "already"  # the case refused it: recorded before (another process, a retry)
    FAILED = "failed"  # an unexpected error: tried again on the next tick


@dataclass
class WatchReport:
    """What one tick of the watch did (for logs and tests)."""

    today: date
    expired: int = 0  # postbox messages failed as not retrieved in time (simulator)
    recorded: int = 0  # outcomes recorded in their cases
    already: int = 0  # refused by the case as recorded already: counted as done
    waiting: int = 0  # reports dated after today, or of a reference not in the view yet
    stale: int = 0  # print reports of a sending no longer open: acknowledged, not recorded
    failed: int = 0  # recording failed unexpectedly: the report is read again next tick
    unavailable: bool = False  # the postbox could not be reached this tick

    @property
    def done(self) -> int:
        """Reports dealt with for good."""
        return self.recorded + self.already + self.stale


class DeliveryWatch:
    """Brings what the postbox and the print service report into the cases."""

    def __init__(
        self,
        views: ViewDatabase,
        postbox: Postbox,
        print_service: PrintService,
        record: Record,
        *,
        view: OpenDispatches | None = None,
    ) -> None:
        self.views = views
        self.postbox = postbox
        self.print_service = print_service
        self.record = record
        self.view = view or OpenDispatches()

    def tick(self, today: date) -> WatchReport:
        """Expire, ask and record the postbox's outcomes, then the print service's."""
        report = WatchReport(today)
        if isinstance(self.postbox, PostboxSimulator):
            report.expired = self.postbox.expire(today)
        try:
            self._postbox(today, report)
        except ChannelUnavailable:
            report.unavailable = True
            log.warning("postbox unavailable; asking again next tick")
        self._print_service(today, report)
        if report.done or report.failed:
            log.info(
                "delivery outcomes recorded",
                day=today.isoformat(),
                recorded=report.recorded,
                already=report.already,
                stale=report.stale,
                failed=report.failed,
            )
        return report

    def _postbox(self, today: date, report: WatchReport) -> None:
        sendings = {s.reference: s for s in open_sendings(self.views, Channel.POSTBOX, self.view)}
        references = list(sendings)
        for start in range(0, len(references), STATUS_CHUNK):
            for status in self.postbox.status(references[start : start + STATUS_CHUNK]):
                sending = sendings.get(status.reference)
                if sending is None or status.outcome is Outcome.ACCEPTED:
                    continue  # nothing new to record
                if status.on > today:
                    report.waiting += 1
                    continue
                self._count(report, self._record(sending.case_id, sending.number, status))

    def _print_service(self, today: date, report: WatchReport) -> None:
        done: list[Report] = []
        for posted in self.print_service.reports():
            found = sending_with(self.views, Channel.LETTER, posted.reference, self.view)
            if found is None or posted.on > today:
                report.waiting += 1  # not in the view yet, or its day has not come
                if found is None:
                    log.info(
                        "print report of a reference no sending in the view has",
                        reference=posted.reference,
                    )
                continue
            case_id, number, is_open = found
            if not is_open:
                report.stale += 1
                done.append(posted)
                continue
            outcome = self._record(case_id, number, posted)
            self._count(report, outcome)
            if outcome is not Recorded.FAILED:
                done.append(posted)
        self._acknowledge(done)

    def _acknowledge(self, done: Sequence[Report]) -> None:
        # Also with nothing done: files of malformed lines only move aside then.
        self.print_service.acknowledge(done)

    def _record(self, case_id: UUID, number: int, report: Report) -> Recorded:
        try:
            self.record(case_id, number, report)
        except InvalidCommand as refused:
            log.info(
                "delivery outcome refused by the case: done",
                case_id=str(case_id),
                number=number,
                field=refused.field,
            )
            return Recorded.ALREADY
        except Exception as error:  # one report must not hold up the others
            log.warning(
                "recording a delivery outcome failed; trying again next tick",
                case_id=str(case_id),
                number=number,
                error=type(error).__name__,
            )
            return Recorded.FAILED
        return Recorded.RECORDED

    @staticmethod
    def _count(report: WatchReport, outcome: Recorded) -> None:
        if outcome is Recorded.RECORDED:
            report.recorded += 1
        elif outcome is Recorded.ALREADY:
            report.already += 1
        else:
            report.failed += 1

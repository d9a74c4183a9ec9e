"""The worker's round through the payment requests still waiting: poll, then expire.

A callback can come late or never (the provider gave up, a network split): the watch asks the
provider about every request that has waited longer than ``poll_after`` and applies whatever
it reports (``PaymentService.expire_due``: the poll, then the expiry of a request with no
money past its end). It runs beside the timers (``Scheduler(beside=...)``), as the
appointment and delivery watches do. Applying is idempotent by the provider's event id, so
a request polled twice, or polled while its callback arrives, does no harm. One request's
failure (the provider unreachable, a lost race) never stops the others; only the error's
type is logged, never a body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID

import structlog

from application.clock import Clock
from application.payments import PaymentService
from domain.payments.payment_request import WAITING
from projections.receivables_query import waiting_requests
from projections.view_store import ViewDatabase

log = structlog.get_logger(__name__)

ROUND_LIMIT: Final = 200  # requests per round; the rest wait for the next tick

Waiting = Callable[[datetime], Iterable[UUID]]


def waiting_in_view(views: ViewDatabase, limit: int = ROUND_LIMIT) -> Waiting:
    """The waiting requests whose last event lies before a moment, from the receivables view.

    Each round continues behind the last request of the round before, and starts over once
    it reached the end: requests that keep waiting (partly paid, a provider that fails for
    one of them) never crowd out newer ones.
    """
    behind: list[tuple[str, str] | None] = [None]

    def waiting(started_before: datetime) -> list[UUID]:
        rows = waiting_requests(views, started_before=started_before, limit=limit, after=behind[0])
        if len(rows) < limit and behind[0] is not None:  # the end: round again from the start
            seen = {str(row["id"]) for row in rows}
            more = waiting_requests(views, started_before=started_before, limit=limit)
            rows += [row for row in more if str(row["id"]) not in seen][: limit - len(rows)]
        last = rows[-1] if len(rows) == limit else None
        behind[0] = None if last is None else (str(last["last_event_at"]), str(last["id"]))
        return [row["id"] if isinstance(row["id"], UUID) else UUID(str(row["id"])) for row in rows]

    return waiting


class PaymentWatch:
    """Polls the provider for the requests whose callback did not come, and expires them."""

    def __init__(
        self,
        views: ViewDatabase,
        payments: PaymentService,
        clock: Clock,
        *,
        poll_after: timedelta = timedelta(minutes=2),
        waiting: Waiting | None = None,
    ) -> None:
        self.views = views
        self.payments = payments
        self.clock = clock
        self.poll_after = poll_after
        self.waiting = waiting or waiting_in_view(views)

    def tick(self, today: date) -> int:
        """One round; returns how many of the requests it polled wait no more (paid, failed or
        expired)."""
        settled = failed = 0
        for request_id in self.waiting(self.clock.now() - self.poll_after):
            try:
                request = self.payments.expire_due(request_id)
            except Exception as error:  # one request's failure never stops the round
                failed += 1
                log.warning(
                    "payment request not polled",
                    request=str(request_id),
                    error=type(error).__name__,
                )
                continue
            if request.status not in WAITING:
                settled += 1
        if settled or failed:
            log.info(
                "payment requests polled", day=today.isoformat(), settled=settled, failed=failed
            )
        return settled

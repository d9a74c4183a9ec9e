"""Reconciling a day's payments: the provider's settlement report against what was recorded.

The provider says what it settled on a day (``PaymentProvider.settlement_report``); Vorgang
recorded what it was told (each ``PaymentRequest.PaymentReceived``). Both sides are put into
the same rows — one per payment (provider reference), Kassenzeichen and Europe/Berlin day,
same-day payments of a checkout summed — and compared per town by its ``Reconciliation``
aggregate, which records every run (``Reconciled``) for the auditors.

The recorded side mirrors the provider's settlement rule (docs: the provider simulator): a
payment is split over the request's Kassenzeichen in order, each up to its amount less what
earlier payments gave it — exactly the request's ``allocations`` — and an overpayment falls to
the last Kassenzeichen. So a run where every payment arrived and was applied is balanced;
a payment the provider settled but Vorgang never recorded (a callback that never came, no
poll since) is ``unexpected``; a payment recorded here the provider did not settle that day
is ``missing``.

The recorded side is read from the notification log, filtered to ``PaymentReceived`` events
(as ``ReferencesInTheLog`` reads submissions): linear in the payments ever received, which a
daily run affords; a projection of payments by day replaces it when that grows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from application.clock import Clock
from application.payment_ports import PaymentProvider, SettlementRow
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import is_valid_kassenzeichen
from domain.payments.payment_request import PaymentRequest
from domain.payments.reconciliation import Reconciliation, Row, reconciliation_id, settlement_row
from domain.tenants import TENANTS
from domain.working_days import berlin_date

log = structlog.get_logger(__name__)

LOG_BATCH: Final = 500
RECONCILERS: Final = (Role.CASH_OFFICE, Role.SYSTEM)


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    """One town's run: rows matched, missing (recorded, not settled), unexpected (settled,
    not recorded), and the run's number (the first run of the day is 1)."""

    tenant: str
    provider: str
    day: date
    matched: list[Row]
    missing: list[Row]
    unexpected: list[Row]
    run: int
    report_digest: str

    @property
    def balanced(self) -> bool:
        """Nothing missing and nothing unexpected."""
        return not self.missing and not self.unexpected

    @property
    def matched_sum(self) -> Decimal:
        """The money of the matched rows."""
        return sum((Decimal(r["amount"]) for r in self.matched), Decimal(0))


def town_of(kassenzeichen: str) -> str | None:
    """The town whose Kassenzeichen this is (its first three digits are the last three of the
    town's official key), or None for one of no town served (or not a Kassenzeichen)."""
    if not is_valid_kassenzeichen(kassenzeichen):
        return None
    prefix = kassenzeichen[:3]
    return next((t.id for t in TENANTS.values() if t.official_key[-3:] == prefix), None)


class Reconciler:
    """Compares a provider's settlement report of a day with the payments recorded, per town."""

    def __init__(self, store: VorgangStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def reconcile(
        self,
        day: date,
        provider: PaymentProvider,
        actor: Actor,
        towns: Sequence[str] | None = None,
    ) -> list[ReconciliationResult]:
        """Reconcile the day for the actor's towns (or those named, each one of the actor's);
        every run is recorded. ``ProviderUnavailable`` propagates: nothing is recorded then."""
        own = tuple(t for t in (actor.tenant, actor.on_behalf_of) if t)
        for town in towns or ():
            if town not in own:
                raise InvalidCommand("town", f"{town!r} is not a town you act for")
        return self.reconcile_each(day, provider, dict.fromkeys(towns or own, actor))

    def reconcile_each(
        self, day: date, provider: PaymentProvider, actors: Mapping[str, Actor]
    ) -> list[ReconciliationResult]:
        """Reconcile the day for each town by the actor given for it, from one report and
        one read of the log (the command line acts as each town's cash office in turn)."""
        if day > berlin_date(self.clock.now()):
            raise InvalidCommand("date", "a day in the future has no settlement yet")
        for town, actor in actors.items():
            if town not in TENANTS:
                raise InvalidCommand("town", f"{town!r} is not a town served")
            if not actor.acts_as(*RECONCILERS):
                raise InvalidCommand("actor", "the cash office reconciles payments")
        if not actors:
            return []
        report = provider.settlement_report(day)  # ProviderUnavailable: nothing recorded
        settled = _by_town(settlement_row(*_fields(r)) for r in report)
        recorded = _by_town(self.recorded_rows(day, provider.name))
        unassigned = len(settled.get(None, [])) + len(recorded.get(None, []))
        if unassigned:
            log.warning("settlement rows of no town served", rows=unassigned, day=day.isoformat())
        results = []
        for town, actor in actors.items():
            results.append(
                self._run(
                    town,
                    day,
                    provider.name,
                    actor.acting_in(RECONCILERS),
                    settled.get(town, []),
                    recorded.get(town, []),
                )
            )
        return results

    def _run(
        self,
        town: str,
        day: date,
        provider: str,
        actor: Actor,
        report: list[Row],
        recorded: list[Row],
    ) -> ReconciliationResult:
        try:
            found: object = self.store.repository.get(reconciliation_id(town, provider, day))
        except AggregateNotFoundError:
            found = None
        reconciliation = (
            found
            if isinstance(found, Reconciliation)
            else Reconciliation.open(tenant=town, provider=provider, day=day)
        )
        matched, missing, unexpected = reconciliation.reconcile(
            actor=actor.recorded_in(reconciliation.id),
            at=self.clock.now(),
            report_rows=report,
            recorded_rows=recorded,
        )
        self.store.save(reconciliation)
        assert reconciliation.report_digest is not None  # set by the run just recorded
        return ReconciliationResult(
            tenant=town,
            provider=provider,
            day=day,
            matched=matched,
            missing=missing,
            unexpected=unexpected,
            run=reconciliation.runs,
            report_digest=reconciliation.report_digest,
        )

    def recorded_rows(self, day: date, provider: str) -> list[Row]:
        """What Vorgang recorded as paid through the provider on the day (Europe/Berlin date
        of the provider's ``paid_at``), in the rows the provider's report has."""
        sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        requests: dict[UUID, PaymentRequest | None] = {}
        for received in self._payments_received():
            if berlin_date(received.paid_at) != day:
                continue
            request_id = UUID(str(received.originator_id))
            if request_id not in requests:
                requests[request_id] = self._request(request_id)
            request = requests[request_id]
            if request is None or request.provider != provider or not request.items:
                continue
            reference = request.provider_reference or ""
            for allocation in received.allocations:
                sums[(reference, allocation.kassenzeichen)] += allocation.amount
            if received.overpaid > 0:
                # the provider books money beyond every item's amount to the last one
                sums[(reference, request.items[-1].kassenzeichen)] += received.overpaid
        return [
            settlement_row(reference, kz, amount, day)
            for (reference, kz), amount in sorted(sums.items())
            if amount > 0
        ]

    def _payments_received(self) -> Iterator[PaymentRequest.PaymentReceived]:
        topics = [get_topic(PaymentRequest.PaymentReceived)]
        start = 1
        while True:
            batch = self.store.recorder.select_notifications(start, LOG_BATCH, topics=topics)
            for notification in batch:
                received = self.store.mapper.to_domain_event(notification)
                if isinstance(received, PaymentRequest.PaymentReceived):
                    yield received
            if len(batch) < LOG_BATCH:
                return
            start = batch[-1].id + 1

    def _request(self, request_id: UUID) -> PaymentRequest | None:
        try:
            found: object = self.store.repository.get(request_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, PaymentRequest) else None


def _fields(row: SettlementRow) -> tuple[str, str, Decimal, date]:
    return (row.provider_reference, row.kassenzeichen, row.amount, row.day)


def _by_town(rows: Iterable[Row]) -> dict[str | None, list[Row]]:
    grouped: dict[str | None, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[town_of(row["kassenzeichen"])].append(row)
    return grouped

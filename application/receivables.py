"""Receivables follow the cases that charge them, in the same save.

A case that charges a fee (``Case.FeeCharged``) opens its receivable — the town's claim under
the Kassenzeichen, which the cash office and the municipal accounting (HKR) book — in the
very transaction that records the charge; the notification (``Notified``) sets the due date
of a charge that falls due a month after it; a withdrawal before the Bekanntgabe cancels the
case's receivables (the official act was never completed; what was paid already stays on them
as a refund due, for the cash office to decide), while a fee of a decision made known is kept.
Whatever path saves the case — a clerk's command, a delivery that completes the Bekanntgabe,
a timer — the store runs this policy (``VorgangStore.follow_with``), so a charge never
exists without its receivable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.store import VorgangStore
from domain.case import Case
from domain.case_charges import CaseCharges, Charge, ChargesMadeKnown
from domain.lifecycle import CaseStatus, ChangesStatus
from domain.payments.receivable import Receivable, receivable_id

CASE_WITHDRAWN: Final = "case_withdrawn"


class ReceivablesOfCases:
    """The store's policy: the receivables a save of cases opens, dates or cancels."""

    def __init__(self, store: VorgangStore) -> None:
        self.store = store

    def __call__(self, saved: Sequence[Any]) -> Sequence[Aggregate]:
        """The receivables to save with these aggregates (those already among them aside)."""
        present = {getattr(obj, "id", None) for obj in saved}
        followers: list[Aggregate] = []
        for case in saved:
            if not isinstance(case, Case) or not case.pending_events:
                continue
            for receivable in self._follow(case):
                if receivable.id not in present and receivable.pending_events:
                    followers.append(receivable)
                    present.add(receivable.id)
        return followers

    def _follow(self, case: Case) -> list[Receivable]:
        events = case.pending_events
        changed: dict[Any, Receivable] = {}
        replaced = case.withdrawn_charges  # replaced by a later assessment: never dated
        for pending in events:
            if isinstance(pending, CaseCharges.FeeCharged):
                opened = self._open(case, pending)
                changed[opened.id] = opened
            elif isinstance(pending, ChargesMadeKnown):
                for kassenzeichen in pending.kassenzeichen:
                    known = case.charge_under(kassenzeichen)
                    receivable = self._load(case, known, changed) if known else None
                    if receivable is not None and receivable.status != "cancelled":
                        receivable.set_due_date(
                            due_on=pending.due_on, at=pending.at, actor=pending.actor
                        )
            elif isinstance(pending, Case.Notified) and pending.fee_due_on is not None:
                for charge in case.charges:
                    if charge.due_on is None and charge.kassenzeichen not in replaced:
                        receivable = self._load(case, charge, changed)
                        if receivable is not None and receivable.due_on is None:
                            receivable.set_due_date(
                                due_on=pending.fee_due_on, at=pending.at, actor=pending.actor
                            )
            elif isinstance(pending, CaseCharges.ChargeWithdrawn):
                withdrawn_charge = case.charge_under(pending.kassenzeichen)
                receivable = (
                    self._load(case, withdrawn_charge, changed) if withdrawn_charge else None
                )
                if receivable is not None and receivable.status != "cancelled":
                    receivable.cancel(actor=pending.actor, at=pending.at, reason=pending.reason)
            elif (
                isinstance(pending, ChangesStatus)
                and pending.status == CaseStatus.WITHDRAWN
                and case.notified_on is None  # a Bescheid made known keeps its fee
            ):
                withdrawn: Any = pending  # every withdrawal records who and when
                for charge in case.charges:
                    receivable = self._load(case, charge, changed)
                    if receivable is not None and receivable.status != "cancelled":
                        receivable.cancel(
                            actor=withdrawn.actor, at=withdrawn.at, reason=CASE_WITHDRAWN
                        )
        return list(changed.values())

    def _open(self, case: Case, charged: CaseCharges.FeeCharged) -> Receivable:
        charge = charged.charge
        decision = case.decision
        costs = decision.costs if decision is not None else None
        debtor = costs.debtor if costs is not None else case.applicant["name"]
        return Receivable.open(
            tenant=case.tenant,
            kassenzeichen=charge.kassenzeichen,
            case_id=case.id,
            case_reference=case.reference,
            service=case.service,
            debtor=debtor,
            business_customer=case.business_customer,
            amount=charge.amount,
            ledger=charge.ledger,
            legal_basis=charge.legal_basis,
            due_on=charge.due_on,
            prepaid=charge.prepaid,
            ordered_by=charged.actor,
            at=charged.at,
        )

    def _load(
        self, case: Case, charge: Charge, changed: dict[Any, Receivable]
    ) -> Receivable | None:
        """The charge's receivable (one opened in this save, or as stored)."""
        key = receivable_id(case.tenant, charge.kassenzeichen)
        if key in changed:
            return changed[key]
        try:
            found: Aggregate = self.store.repository.get(key)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, Receivable):
            return None
        changed[key] = found
        return found

"""Plain data that queries return: never the aggregate itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final
from uuid import UUID

from domain.actor import ActorRecord
from domain.case import Case
from domain.decision import Decision
from domain.objection import Objection
from domain.personal_data import Erased, PersonalData, reveal

NOTIFICATION_FIELDS: Final = ("delivery", "sent_on", "received_on")
WITHHELD: Final = "[nicht sichtbar]"  # a third party's personal data, not shown to this reader


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command changed: the case, its new version and the log position of its event.

    ``state`` is a changed case as the actor may see it, from the aggregate just saved (no
    second load); None for other aggregate types.
    """

    case_id: UUID
    version: int
    position: int | None
    state: CaseState | None = None


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """A submission: the case, and whether this call created it or found it (a retry).

    ``state`` is the case as the submitter may see it, from the aggregate just saved (no
    second load).
    """

    case_id: UUID
    reference: str
    version: int
    created: bool
    position: int | None
    state: CaseState


@dataclass(frozen=True, slots=True)
class CaseState:
    """A case as a clerk sees it; personal data revealed.

    The main track (status, processing clock, holder, decision) and the legal track beside
    it: the notification, the objection period, the objections and finality.
    """

    id: UUID
    reference: str
    tenant: str
    service: str
    status: str
    version: int
    submitted_at: datetime
    submitted_by: str
    last_activity_at: datetime
    channel: str
    applicant: dict[str, str]
    data: dict[str, Any]
    holder_id: str | None
    clock_started_on: date | None
    clock_stopped_since: date | None
    due_on: date | None
    period_extended: bool
    deemed_approval: bool  # a § 42a HVwVfG period rather than the service's target
    decided_on: date | None  # the decision stopped the clock
    overdue: bool | None  # past due without a decision on ``today``; None: no day given
    decision: dict[str, Any] | None
    pending_decision: dict[str, Any] | None
    notification: dict[str, Any] | None  # delivery, sent_on, received_on
    notified_on: date | None
    objection_deadline: date | None
    final_on: date | None
    expired_on: date | None  # the approval ceased to be effective (§ 43 (2) HVwVfG)
    objections: list[dict[str, Any]]
    # § 42a HVwVfG: the approval deemed granted and the certificates issued (None: not deemed)
    deemed_approved: dict[str, Any] | None
    allowed_commands: tuple[str, ...]
    service_state: dict[str, Any]
    payment: dict[str, Any] | None = None  # the account billed and the fees charged

    @classmethod
    def of(
        cls, case: Case, *, today: date | None = None, withheld: frozenset[str] = frozenset()
    ) -> CaseState:
        """The state of a loaded aggregate as plain data.

        ``today`` is the business day the caller reads on (from the application's clock):
        whether the processing period is overdue depends on it, so without one ``overdue``
        is None rather than a guess. Personal data of the ``withheld`` data subjects reads
        as ``WITHHELD`` (third parties the reader is not to see).
        """
        clock = case.clock
        return cls(
            id=case.id,
            reference=case.reference,
            tenant=case.tenant,
            service=case.service,
            status=case.status,
            version=case.version,
            submitted_at=case.submitted_at,
            submitted_by=case.submitted_by,
            last_activity_at=case.last_activity_at,
            channel=case.channel,
            applicant={k: v.reveal() for k, v in case.applicant.items()},
            data=plain(case.data, withheld),
            holder_id=case.holder.id if case.holder else None,
            clock_started_on=clock.started_on,
            clock_stopped_since=clock.stopped_since,
            due_on=clock.due_on,
            period_extended=clock.is_extended,
            deemed_approval=clock.deemed_approval,
            decided_on=clock.decided_on,
            overdue=None if today is None else clock.overdue_on(today),
            decision=decision_view(case.decision),
            pending_decision=decision_view(case.pending_decision),
            notification=notification_view(case.notification),
            notified_on=case.notified_on,
            objection_deadline=case.objection_deadline,
            final_on=case.final_on,
            expired_on=case.expired_on,
            objections=[objection_view(o) for o in case.objections],
            deemed_approved=deemed_approval_view(case),
            allowed_commands=tuple(sorted(case.allowed_commands())),
            service_state=plain(case.service_state(), withheld),
            payment=payment_view(case),
        )


def payment_view(case: Case) -> dict[str, Any] | None:
    """The account the case is billed to and the fees it charged (None: neither)."""
    if case.business_customer is None and not case.charges:
        return None
    return {
        "business_customer": case.business_customer,
        "payment_before_issue": case.payment_before_issue(),
        "charges": [
            {
                "kassenzeichen": c.kassenzeichen,
                "amount": c.amount,
                "currency": "EUR",
                "ledger": c.ledger,
                "legal_basis": c.legal_basis,
                "refers_to": c.refers_to,
                "prepaid": c.prepaid,
                "due_on": c.due_on,
                "settled": c.kassenzeichen in case.settled_charges,
                "withdrawn": c.kassenzeichen in case.withdrawn_charges,
            }
            for c in case.charges
        ],
    }


def deemed_approval_view(case: Case) -> dict[str, Any] | None:
    """The deemed approval (§ 42a HVwVfG) and its certificates as plain data, if any."""
    deemed = case.deemed_approval
    if deemed is None:
        return None
    return {
        "period_ended_on": deemed.period_ended_on,
        "took_effect_on": deemed.took_effect_on,
        "legal_basis": deemed.legal_basis,
        "recorded_by": {"id": deemed.recorded_by},
        "certificates": [
            {
                "number": c.number,
                "issued_on": c.issued_on,
                "town": c.town,
                "authority": c.authority,
                "reference": c.reference,
                "subject": c.subject,
                "took_effect_on": c.took_effect_on,
                "legal_basis": c.legal_basis,
                "text": c.text,
            }
            for c in case.certificates
        ],
    }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One stored event of a case as an auditor reads it."""

    version: int
    type: str
    at: datetime | None
    recorded_at: datetime
    actor: dict[str, Any] | None
    reason: str | None
    data: dict[str, Any]


def decision_view(decision: Decision | None) -> dict[str, Any] | None:
    """A decision record as plain data, with the provisions' texts and the notice's text.

    ``conditions`` and ``legal_remedy_notice`` are properties of the record now (derived from
    ``provisions`` and ``remedy_notice``), which ``plain`` does not see; readers used to them
    still find them.
    """
    if decision is None:
        return None
    view: dict[str, Any] = plain(decision)
    view["conditions"] = [plain(text) for text in decision.conditions]
    view["legal_remedy_notice"] = decision.legal_remedy_notice
    return view


def notification_view(notification: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """How the decision was notified: delivery, sent_on, received_on."""
    if notification is None:
        return None
    return {key: plain(notification.get(key)) for key in NOTIFICATION_FIELDS}


def objection_view(objection: Objection) -> dict[str, Any]:
    """An objection and where its procedure stands, grounds revealed, ``timely`` included."""
    view: dict[str, Any] = plain(objection)
    view["timely"] = objection.timely
    return view


def actor_view(actor: ActorRecord) -> dict[str, Any]:
    """An actor record as plain data (the display name revealed, or ``[gelöscht]``)."""
    return {
        "id": actor.id,
        "name": actor.display_name.reveal(),
        "role": actor.role.value,
        "tenant": actor.tenant,
        "on_behalf_of": actor.on_behalf_of,
    }


def plain(value: Any, withheld: frozenset[str] = frozenset()) -> Any:
    """Any stored value as JSON-compatible data: personal values revealed or ``[gelöscht]``.

    Personal data of a ``withheld`` data subject reads as ``WITHHELD`` instead.
    """
    if isinstance(value, PersonalData) and value.subject in withheld:
        return WITHHELD
    if isinstance(value, PersonalData | Erased):
        return reveal(value)
    if isinstance(value, ActorRecord):
        return actor_view(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | datetime | date | Decimal):
        return value if not isinstance(value, Decimal) else str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), withheld) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v, withheld) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, withheld) for v in value]
    return value

"""Plain data that queries return: never the aggregate itself."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.actor import ActorRecord
from domain.case import Case
from domain.decision import Decision
from domain.personal_data import Erased, PersonalData, reveal


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
    """A case as a clerk sees it: status, clock, holder, decision; personal data revealed."""

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
    decision: dict[str, Any] | None
    pending_decision: dict[str, Any] | None
    notified_on: date | None
    objection_deadline: date | None
    allowed_commands: tuple[str, ...]
    service_state: dict[str, Any]

    @classmethod
    def of(cls, case: Case) -> CaseState:
        """The state of a loaded aggregate as plain data."""
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
            data=plain(case.data),
            holder_id=case.holder.id if case.holder else None,
            clock_started_on=clock.started_on,
            clock_stopped_since=clock.stopped_since,
            due_on=clock.due_on,
            period_extended=clock.is_extended,
            decision=decision_view(case.decision),
            pending_decision=decision_view(case.pending_decision),
            notified_on=case.notified_on,
            objection_deadline=case.objection_deadline,
            allowed_commands=tuple(sorted(case.allowed_commands())),
            service_state=plain(case.service_state()),
        )


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
    """A decision record as plain data."""
    return None if decision is None else plain(decision)


def actor_view(actor: ActorRecord) -> dict[str, Any]:
    """An actor record as plain data (the display name revealed, or ``[gelöscht]``)."""
    return {
        "id": actor.id,
        "name": actor.display_name.reveal(),
        "role": actor.role.value,
        "tenant": actor.tenant,
        "on_behalf_of": actor.on_behalf_of,
    }


def plain(value: Any) -> Any:
    """Any stored value as JSON-compatible data: personal values revealed or ``[gelöscht]``."""
    if isinstance(value, PersonalData | Erased):
        return reveal(value)
    if isinstance(value, ActorRecord):
        return actor_view(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | datetime | date | Decimal):
        return value if not isinstance(value, Decimal) else str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value

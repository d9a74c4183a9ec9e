"""What an applicant sees of their own case: a filtered projection of the full view.

No internal notes, no drafts awaiting a countersignature, no claims and releases, and no
names or ids of staff (only their role); the commands offered are the applicant's own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from application.views import CaseState, HistoryEntry
from domain.actor import Actor, Role
from domain.case import APPLICANT_COMMANDS
from domain.lifecycle import CaseStatus

SHOWN_EVENTS: Final = frozenset(
    {
        "Submitted",
        "CompletenessConfirmed",
        "InformationRequested",
        "InformationProvided",
        "PeriodExtended",
        "Decided",
        "Countersigned",
        "PaymentRecorded",
        "Notified",
        "ObjectionLodged",
        "ObjectionRemedied",
        "ObjectionForwarded",
        "BecameFinal",
        "Withdrawn",
        "Closed",
        "WorksStarted",
        "WorksCompleted",
        "RestorationInspected",
        "PermitRenewed",
        "NumberPlateChanged",
        "PermitReturned",
        "PermitRevoked",
    }
)
STAFF_FIELDS: Final = ("decided_by", "countersigned_by", "requested_by", "lodged_by")


def without_staff(value: Any) -> Any:
    """Staff records reduced to their role, anywhere in a structure."""
    if isinstance(value, dict):
        if {"id", "name", "role", "tenant"} <= value.keys() and value.get("role") != "applicant":
            return {"role": value["role"]}
        return {k: without_staff(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_staff(v) for v in value]
    return value


def case_for_applicant(state: CaseState) -> CaseState:
    """The case as its applicant sees it."""
    return replace(
        state,
        holder_id=None,
        decision=without_staff(state.decision),
        pending_decision=None,
        allowed_commands=tuple(c for c in state.allowed_commands if c in APPLICANT_COMMANDS),
        service_state=without_staff(state.service_state),
    )


def history_for_applicant(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The events meant for the applicant, staff shown by role only."""
    shown = []
    for entry in entries:
        if entry.type not in SHOWN_EVENTS:
            continue
        if entry.type == "Decided" and entry.data.get("status") == CaseStatus.PENDING_COUNTERSIGN:
            continue  # a draft is not a decision yet
        reason = entry.reason if entry.type in ("Withdrawn", "Closed") else None
        shown.append(
            replace(
                entry,
                actor=without_staff(entry.actor),
                reason=reason,
                data=without_staff(entry.data),
            )
        )
    return shown


def case_as_seen_by(actor: Actor, state: CaseState) -> CaseState:
    """The case as this actor may see it: filtered for an applicant, whole for staff."""
    return case_for_applicant(state) if actor.role is Role.APPLICANT else state


def history_as_seen_by(actor: Actor, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The history as this actor may see it: filtered for an applicant, whole for staff."""
    return history_for_applicant(entries) if actor.role is Role.APPLICANT else entries

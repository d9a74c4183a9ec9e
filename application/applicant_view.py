"""What an applicant sees of their own case: a filtered projection of the full view.

No internal notes, no drafts awaiting a countersignature, no claims and releases, and no
names or ids of staff — only their role, and their name where the town chose to show it
(``Tenant.applicants_see_staff_names``); the commands offered are the applicant's own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from application.views import CaseState, HistoryEntry
from domain.actor import Actor, Role
from domain.case import APPLICANT_COMMANDS
from domain.lifecycle import CaseStatus
from domain.services.catalogue import SERVICES
from domain.tenants import TENANTS

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
) | {  # and every service's steps it publishes to integrators
    name for definition in SERVICES.values() for name in definition.case_class.PUBLIC_EVENTS
}
STAFF_FIELDS: Final = ("decided_by", "countersigned_by", "requested_by", "lodged_by")


def without_staff(value: Any, *, names: bool = False) -> Any:
    """Staff records reduced to their role (and name, if shown), anywhere in a structure."""
    if isinstance(value, dict):
        if {"id", "name", "role", "tenant"} <= value.keys() and value.get("role") != "applicant":
            return (
                {"role": value["role"], "name": value["name"]} if names else {"role": value["role"]}
            )
        return {k: without_staff(v, names=names) for k, v in value.items()}
    if isinstance(value, list):
        return [without_staff(v, names=names) for v in value]
    return value


def shows_staff_names(tenant_id: str) -> bool:
    """Whether the town shows its staff's names to applicants."""
    town = TENANTS.get(tenant_id)
    return town is not None and town.applicants_see_staff_names


def applicant_commands(service: str) -> frozenset[str]:
    """The commands an applicant may give in a case of this service (its own steps too)."""
    definition = SERVICES.get(service)
    return definition.case_class.APPLICANT_COMMANDS if definition else APPLICANT_COMMANDS


def case_for_applicant(state: CaseState, *, names: bool = False) -> CaseState:
    """The case as its applicant sees it."""
    return replace(
        state,
        holder_id=None,
        decision=without_staff(state.decision, names=names),
        pending_decision=None,
        allowed_commands=tuple(
            c for c in state.allowed_commands if c in applicant_commands(state.service)
        ),
        service_state=without_staff(state.service_state, names=names),
    )


def history_for_applicant(
    entries: list[HistoryEntry], *, names: bool = False
) -> list[HistoryEntry]:
    """The events meant for the applicant, staff shown by role (and name, if the town shows it)."""
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
                actor=without_staff(entry.actor, names=names),
                reason=reason,
                data=without_staff(entry.data, names=names),
            )
        )
    return shown


def case_as_seen_by(actor: Actor, state: CaseState) -> CaseState:
    """The case as this actor may see it: filtered for an applicant, whole for staff."""
    if actor.role is not Role.APPLICANT:
        return state
    return case_for_applicant(state, names=shows_staff_names(actor.tenant))


def history_as_seen_by(actor: Actor, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The history as this actor may see it: filtered for an applicant, whole for staff."""
    if actor.role is not Role.APPLICANT:
        return entries
    return history_for_applicant(entries, names=shows_staff_names(actor.tenant))

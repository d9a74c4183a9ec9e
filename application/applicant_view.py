"""What an applicant sees of their own case: a filtered projection of the full view.

No internal notes, no drafts awaiting a countersignature, no claims and releases, and no
names or ids of staff — only their role, and their name where the town chose to show it
(``Tenant.applicants_see_staff_names``); the commands offered are the applicant's own.
The legal track is theirs to see: the day of notification and how it was sent, the remedy
notice, the objection period, each objection's state and its decision, and finality. Third
parties' personal data (``THIRD_PARTIES``) reads as withheld.

The applicant's view has a version of its own: the number of events shown to them. Their
ETag, ``version``, history numbers and ``last_activity_at`` move only with what they see,
so an internal note or an assignment neither tells them something happened nor makes their
If-Match stale; an applicant's If-Match is checked against this view version, while the
save still uses the case's own version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from application.views import CaseState, HistoryEntry
from domain.actor import Actor, Role
from domain.case import APPLICANT_COMMANDS
from domain.lifecycle import CaseStatus
from domain.services.catalogue import SERVICES
from domain.services.sewer_connection import DEBTOR
from domain.services.traffic_sign_order import PARKED_VEHICLES
from domain.tenants import TENANTS

THIRD_PARTIES: Final = frozenset({DEBTOR, PARKED_VEHICLES})
"""Data subjects a clerk or a report names besides the applicant's side: the owner who owes a
sewer connection charge after buying the plot, the keepers of cars parked where signs went up.
The applicant is not shown their personal data (data minimisation, Art. 5 (1) (c) DSGVO)."""

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
        "BilledTo",  # the applicant billed the fees to their business customer account
        "FeeCharged",  # the fee to pay, under its Kassenzeichen
        "ChargeSettled",  # the fee arrived: the case goes on
        "ChargeWithdrawn",  # a later assessment replaced the charge (a new one follows)
        "Notified",
        "RemedyNoticeFoundDefective",  # the objection period they see becomes a year
        "ObjectionLodged",
        "ReinstatementGranted",
        "ObjectionHeard",
        "ObjectionRemedied",
        "ObjectionForwarded",
        "ObjectionWithdrawn",
        "ObjectionDecided",
        "BecameFinal",
        "DeemedApproved",  # § 42a HVwVfG: the approval is deemed granted
        "ApprovalExpired",  # § 43 (2) HVwVfG: the approval ceased to be effective
        "DeemedApprovalCertified",  # its certificate (§ 42a (3)) is the applicant's document
        "Withdrawn",
        "Closed",
        "WorksStarted",
        "WorksCompleted",
        "RestorationInspected",
        "PermitRenewed",
        "NumberPlateChanged",
        "PermitReturned",
        "PermitRevoked",
        "TagReplaced",  # the keeper reported the dog's tax tag lost: its new number and fee
    }
) | {  # and every service's steps it publishes to integrators
    name for definition in SERVICES.values() for name in definition.case_class.PUBLIC_EVENTS
}
STAFF_FIELDS: Final = ("decided_by", "countersigned_by", "requested_by", "lodged_by")
# Events whose reason the applicant sees: their own (a withdrawal) or the file's closing.
# Staff's reasons for other steps are internal; the decisions they lead to are shown.
OWN_REASONS: Final = frozenset({"Withdrawn", "ObjectionWithdrawn", "Closed"})


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


def sees_applicant_view(actor: Actor) -> bool:
    """Whether the actor sees the applicant's view of a case (and its version)."""
    return actor.role is Role.APPLICANT


def shown_to_applicant(entry: HistoryEntry) -> bool:
    """Whether this event is meant for the applicant (a draft decision is not)."""
    if entry.type not in SHOWN_EVENTS:
        return False
    return not (
        entry.type == "Decided" and entry.data.get("status") == CaseStatus.PENDING_COUNTERSIGN
    )


def applicant_version(entries: Iterable[HistoryEntry]) -> int:
    """The version of the applicant's view: how many of these events they are shown."""
    return sum(1 for entry in entries if shown_to_applicant(entry))


def case_version_of(entries: Iterable[HistoryEntry], view_version: int) -> int | None:
    """The case's own version at the applicant's view version (None past the view's head)."""
    shown = [entry.version for entry in entries if shown_to_applicant(entry)]
    return shown[view_version - 1] if 1 <= view_version <= len(shown) else None


def case_for_applicant(
    state: CaseState, *, names: bool = False, entries: Iterable[HistoryEntry] = ()
) -> CaseState:
    """The case as its applicant sees it, versioned by the events up to it they are shown."""
    shown = [e for e in entries if e.version <= state.version and shown_to_applicant(e)]
    last_seen = max((e.at for e in shown if e.at is not None), default=state.submitted_at)
    return replace(
        state,
        version=len(shown),
        last_activity_at=last_seen,
        holder_id=None,
        decision=without_staff(state.decision, names=names),
        pending_decision=None,
        objections=without_staff(state.objections, names=names),
        deemed_approved=without_staff(state.deemed_approved, names=names),
        allowed_commands=tuple(
            c for c in state.allowed_commands if c in applicant_commands(state.service)
        ),
        service_state=without_staff(state.service_state, names=names),
    )


def history_for_applicant(
    entries: list[HistoryEntry], *, names: bool = False
) -> list[HistoryEntry]:
    """The events meant for the applicant, staff shown by role (and name, if the town shows it)."""
    shown: list[HistoryEntry] = []
    for entry in entries:
        if not shown_to_applicant(entry):
            continue  # internal, or a draft that is not a decision yet
        reason = entry.reason if entry.type in OWN_REASONS else None
        shown.append(
            replace(
                entry,
                version=len(shown) + 1,  # numbered as the applicant's view counts
                actor=without_staff(entry.actor, names=names),
                reason=reason,
                data=without_staff(entry.data, names=names),
            )
        )
    return shown


def case_as_seen_by(
    actor: Actor, state: CaseState, entries: Iterable[HistoryEntry] = ()
) -> CaseState:
    """The case as this actor may see it: filtered for an applicant, whole for staff.

    For an applicant, ``entries`` are the case's events (for the view's version).
    """
    if not sees_applicant_view(actor):
        return state
    return case_for_applicant(state, names=shows_staff_names(actor.tenant), entries=entries)


def history_as_seen_by(actor: Actor, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The history as this actor may see it: filtered for an applicant, whole for staff."""
    if not sees_applicant_view(actor):
        return entries
    return history_for_applicant(entries, names=shows_staff_names(actor.tenant))

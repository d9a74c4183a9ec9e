"""Case statuses and which commands each allows: the table services extend.

This is the case's main track: where the work stands. The legal track beside it —
notification, objection, finality, withdrawal until final — is not a status: the case
offers its commands whatever service step it has reached (``Case.allowed_commands``).

A service adds steps by extending the table in its subclass (``LIFECYCLE = Case.LIFECYCLE |
{...}``) rather than copying the lifecycle; the command guards read it, and an invalid
transition names the current status and the commands it allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from eventsourcing.domain import Aggregate


class CaseStatus:
    """Statuses of the shared lifecycle (plain strings, so services can add their own)."""

    SUBMITTED: Final = "submitted"
    IN_REVIEW: Final = "in_review"
    INFORMATION_REQUESTED: Final = "information_requested"
    PENDING_COUNTERSIGN: Final = "pending_countersign"
    AWAITING_PAYMENT: Final = "awaiting_payment"
    DECIDED: Final = "decided"
    NOTIFIED: Final = "notified"
    FINAL: Final = "final"
    CLOSED: Final = "closed"
    WITHDRAWN: Final = "withdrawn"
    # § 42a HVwVfG: the period ended without a decision; the approval is deemed granted.
    DEEMED_APPROVED: Final = "deemed_approved"


_BEFORE_DECISION = (
    CaseStatus.SUBMITTED,
    CaseStatus.IN_REVIEW,
    CaseStatus.INFORMATION_REQUESTED,
    CaseStatus.PENDING_COUNTERSIGN,
)
_WORKED_ON = (
    CaseStatus.SUBMITTED,
    CaseStatus.IN_REVIEW,
    CaseStatus.INFORMATION_REQUESTED,
)
WITHDRAWABLE = frozenset(
    {
        *_BEFORE_DECISION,
        CaseStatus.AWAITING_PAYMENT,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.DEEMED_APPROVED,
    }
)
"""Where the applicant may still withdraw: until the decision is final, before it was used."""

BEFORE_DEEMED_APPROVAL = frozenset(_WORKED_ON)
"""Where a § 42a period may end without a decision (``record_deemed_approval``)."""


def _table(rows: dict[str, set[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({status: frozenset(commands) for status, commands in rows.items()})


def commands_by_status() -> dict[str, set[str]]:
    """The shared lifecycle as status → commands allowed in it."""
    rows: dict[str, set[str]] = {
        CaseStatus.SUBMITTED: {"confirm_complete", "request_information"},
        CaseStatus.IN_REVIEW: {
            "confirm_complete",
            "request_information",
            "decide",
            "extend_period",
        },
        CaseStatus.INFORMATION_REQUESTED: {"provide_information", "extend_period"},
        CaseStatus.PENDING_COUNTERSIGN: {"countersign", "refuse_countersign"},
        CaseStatus.AWAITING_PAYMENT: set(),  # settle_charge, while a charge is open
        CaseStatus.DECIDED: {"notify"},
        CaseStatus.NOTIFIED: set(),
        CaseStatus.FINAL: {"close"},
        CaseStatus.WITHDRAWN: {"close"},
        CaseStatus.CLOSED: set(),
        CaseStatus.DEEMED_APPROVED: {"certify_deemed_approval", "close"},
    }
    for status in _BEFORE_DECISION:
        rows[status].add("withdraw")
    for status in _WORKED_ON:
        rows[status] |= {"claim", "release", "assign", "bill_to"}
    for status, commands in rows.items():
        if status != CaseStatus.CLOSED:
            commands.add("add_note")
    return rows


LIFECYCLE: Final = _table(commands_by_status())
"""The shared lifecycle. Services build theirs with ``extend_lifecycle``."""


def extend_lifecycle(
    base: Mapping[str, frozenset[str]], additions: Mapping[str, set[str]]
) -> Mapping[str, frozenset[str]]:
    """A lifecycle with more statuses or more commands per status; nothing is removed."""
    rows = {status: set(commands) for status, commands in base.items()}
    for status, commands in additions.items():
        rows.setdefault(status, {"add_note"}).update(commands)
    return _table(rows)


class ChangesStatus(Aggregate.Event):
    """An event that leads a case into a status; it records which, so views need no rules.

    Events that carried no status before (``class_version`` 1) are upcast with the status
    they always led to; where the status depends on the case, the event always recorded it —
    except three whose first shapes never moved the case (``ObjectionLodged``,
    ``ObjectionDecided``, ``RemedyNoticeFoundDefective`` as Procedure law 1 first stored
    them): those are read with no status (``domain.case.STATUS_KEPT``), the case's own kept.
    """

    status: str


def leads_to(status: str) -> Any:
    """The ``upcast_v1_v2`` of an event that always led to ``status``."""

    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["status"] = status

    return staticmethod(upcast_v1_v2)

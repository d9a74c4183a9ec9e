"""The objection track (Widerspruchsverfahren): beside the case, never a status that blocks it.

An objection (§ 68 ff. VwGO) is lodged while the service's own steps go on (works, signs,
construction): lodging it changes nothing on the case's main track. A late objection is
recorded and decided too, never refused at input: as inadmissible, or, where the objector
was prevented without fault, after reinstatement (Wiedereinsetzung, § 70 (2) with § 60
VwGO). It ends in one of three ways:

* Abhilfe by the issuing authority (§ 72 VwGO), in full or in part, with a costs decision and
  the refund of a fee paid where it is due;
* withdrawal by the objector;
* a Widerspruchsbescheid of the objection authority (§ 73 VwGO): outcome, reasons and costs
  (§ 73 (3) sentence 3 VwGO), served on the objector; it becomes unappealable when the
  month for an action (§ 74 (1) VwGO) ends without one.

The decision becomes final (bestandskräftig) when the objection period ends without
objection, or when the objection is finally disposed of.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Final

from domain.actor import ActorRecord
from domain.errors import InvalidCommand
from domain.personal_data import PersonalValue


class ObjectionState:
    """Where an objection stands."""

    PENDING: Final = "pending"  # lodged; the issuing authority considers a remedy
    HEARD: Final = "heard"  # heard before the Anhörungsausschuss
    FORWARDED: Final = "forwarded"  # with the objection authority (road traffic matters)
    PARTLY_REMEDIED: Final = "partly_remedied"  # remedied in part; the rest goes on
    REMEDIED: Final = "remedied"
    WITHDRAWN: Final = "withdrawn"
    DECIDED: Final = "decided"  # Widerspruchsbescheid served


OPEN_STATES: Final = frozenset(
    {
        ObjectionState.PENDING,
        ObjectionState.HEARD,
        ObjectionState.FORWARDED,
        ObjectionState.PARTLY_REMEDIED,
    }
)


class ObjectionOutcome:
    """The outcome of a Widerspruchsbescheid."""

    GRANTED: Final = "granted"  # stattgegeben
    PARTLY_GRANTED: Final = "partly_granted"
    DISMISSED: Final = "dismissed"  # zurückgewiesen als unbegründet
    INADMISSIBLE: Final = "inadmissible"  # zurückgewiesen als unzulässig (e.g. late)

    ALL: Final = (GRANTED, PARTLY_GRANTED, DISMISSED, INADMISSIBLE)


class CostsBorneBy:
    """Who bears the costs of the objection procedure (§ 73 (3) sentence 3, § 72 VwGO)."""

    OBJECTOR: Final = "objector"
    AUTHORITY: Final = "authority"  # the town refunds the objector's necessary expenses
    SHARED: Final = "shared"

    ALL: Final = (OBJECTOR, AUTHORITY, SHARED)


@dataclass(frozen=True, slots=True)
class ObjectionCosts:
    """The costs decision of a remedy or a Widerspruchsbescheid."""

    borne_by: str
    legal_basis: str
    fee: Decimal | None = None  # the objection fee charged, if any
    fee_refund: Decimal | None = None  # a fee paid for the decision, refunded where due

    def __post_init__(self) -> None:
        # Named as the commands name them (costs_borne_by, fee, fee_refund).
        if self.borne_by not in CostsBorneBy.ALL:
            raise InvalidCommand("costs_borne_by", f"must be one of {', '.join(CostsBorneBy.ALL)}")
        for name, amount in (("fee", self.fee), ("fee_refund", self.fee_refund)):
            if amount is not None and amount < 0:
                raise InvalidCommand(name, "must not be negative")


@dataclass(frozen=True, slots=True)
class ObjectionDecision:
    """A remedy (Abhilfe) or a Widerspruchsbescheid, as recorded."""

    outcome: str  # an ObjectionOutcome, or "remedied"/"partly_remedied" for Abhilfe
    reasons: PersonalValue
    costs: ObjectionCosts
    decided_by: str  # the authority
    decided_on: date
    served_on: date | None = None  # a Widerspruchsbescheid is served (§ 73 (3) VwGO)
    action_deadline: date | None = None  # § 74 (1) VwGO: one month after service
    operative_part: PersonalValue | None = None  # what it decides (Tenor)


@dataclass(frozen=True, slots=True)
class Objection:
    """A Widerspruch against the decision, and where its procedure stands."""

    received_on: date
    grounds: PersonalValue
    lodged_by: ActorRecord
    deadline: date | None = None  # the period's last day when it was lodged
    state: str = ObjectionState.PENDING
    reinstated: bool = False
    heard_on: date | None = None
    hearing_committee: str | None = None
    forwarded_to: str | None = None
    remedy: ObjectionDecision | None = None  # the latest remedy
    remedies: tuple[ObjectionDecision, ...] = ()  # every remedy, a partial one first
    decision: ObjectionDecision | None = None
    withdrawn_on: date | None = None

    @property
    def timely(self) -> bool:
        """Received within the period, or treated so after reinstatement."""
        return self.reinstated or self.deadline is None or self.received_on <= self.deadline

    @property
    def is_open(self) -> bool:
        """Not yet disposed of."""
        return self.state in OPEN_STATES

    def with_state(self, state: str, **changes: object) -> Objection:
        """The same objection, moved on."""
        return replace(self, state=state, **changes)  # type: ignore[arg-type]

"""Who holds a resident parking permit for one number plate, or for one resident, in a town.

The rule spans cases: one valid permit per resident and one per number plate per tenant at a
time. A ``PermitHolding`` aggregate per plate (and per resident) holds the validity periods
of the permits that claim it. It is saved in the same atomic save as the permit case that
takes or releases it, so of two concurrent decisions for the same plate one save fails on
the holding's version; the retry then sees the other permit and refuses.

The holding never stores the plate or the name: its id is an HMAC of the normalised plate
(or resident) under a per-tenant secret (docs/architecture.md, decision 8), computed by the
application. It records only case ids, periods, and who changed it, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidCommand


class HoldingKind(StrEnum):
    """What a holding is for."""

    RESIDENT = "resident"
    NUMBER_PLATE = "number_plate"


@dataclass(frozen=True, slots=True)
class HeldPeriod:
    """One permit's claim: its case and validity (first and last day)."""

    case_id: UUID
    valid_from: date
    valid_until: date

    def overlaps(self, valid_from: date, valid_until: date) -> bool:
        """True if the two periods share a day."""
        return self.valid_from <= valid_until and valid_from <= self.valid_until


class PermitHeld(InvalidCommand):
    """Another valid permit already holds this plate or resident for an overlapping period."""

    def __init__(self, field: str, kind: HoldingKind, until: date) -> None:
        self.kind = kind
        self.until = until
        what = "the vehicle" if kind is HoldingKind.NUMBER_PLATE else "the resident"
        super().__init__(field, f"{what} already holds a resident parking permit until {until}")


class PermitHolding(Aggregate):
    """The permits that hold one number plate, or one resident, in one tenant."""

    @classmethod
    def start(cls, *, id: UUID, tenant: str, kind: HoldingKind) -> PermitHolding:
        """A holding nobody claimed yet (the application derives its id)."""
        return cls(id=id, tenant=tenant, kind=kind.value)

    class Started(Aggregate.Created):
        """A holding nobody claimed yet."""

        tenant: str
        kind: str

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str, kind: str) -> None:
        self.tenant = tenant
        self.kind = HoldingKind(kind)  # stored as plain text: no enum transcoding needed
        self.periods: dict[UUID, tuple[date, date]] = {}

    def blocking(self, case_id: UUID, valid_from: date, valid_until: date) -> HeldPeriod | None:
        """Another permit's claim that overlaps the period, if any."""
        for other, (start, end) in sorted(self.periods.items(), key=lambda kv: kv[1]):
            claim = HeldPeriod(other, start, end)
            if other != case_id and claim.overlaps(valid_from, valid_until):
                return claim
        return None

    def held_by(self, case_id: UUID) -> HeldPeriod | None:
        """This permit's own claim, if it holds one."""
        found = self.periods.get(case_id)
        return HeldPeriod(case_id, *found) if found else None

    def take(
        self,
        *,
        case_id: UUID,
        valid_from: date,
        valid_until: date,
        actor: Actor,
        at: datetime,
        why: str,
        field: str,
    ) -> None:
        """Claim the period for this permit (or move its own claim); refused if another holds it."""
        if valid_until < valid_from:
            raise InvalidCommand("valid_until", "must not lie before valid_from")
        other = self.blocking(case_id, valid_from, valid_until)
        if other is not None:
            raise PermitHeld(field, self.kind, other.valid_until)
        self._taken(
            case_id=case_id,
            valid_from=valid_from,
            valid_until=valid_until,
            actor_id=actor.id,
            at=at,
            why=why,
        )

    class Taken(Aggregate.Event):
        """A permit claimed its validity period (or moved its own claim)."""

        case_id: UUID
        valid_from: date
        valid_until: date
        actor_id: str
        at: datetime
        why: str

    @event(Taken)
    def _taken(
        self,
        *,
        case_id: UUID,
        valid_from: date,
        valid_until: date,
        actor_id: str,
        at: datetime,
        why: str,
    ) -> None:
        # Claims that ended before this one starts can never block again: forget them.
        self.periods = {
            other: period for other, period in self.periods.items() if period[1] >= valid_from
        }
        self.periods[case_id] = (valid_from, valid_until)

    def release(self, *, case_id: UUID, actor: Actor, at: datetime, why: str) -> bool:
        """Give up this permit's claim; False (and nothing recorded) if it holds none."""
        if case_id not in self.periods:
            return False
        self._released(case_id=case_id, actor_id=actor.id, at=at, why=why)
        return True

    class Released(Aggregate.Event):
        """A permit gave up its claim."""

        case_id: UUID
        actor_id: str
        at: datetime
        why: str

    @event(Released)
    def _released(self, *, case_id: UUID, actor_id: str, at: datetime, why: str) -> None:
        self.periods.pop(case_id, None)

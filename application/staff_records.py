"""Records a town's staff keep outside cases (meters, holiday offerings, markets): who may,
and loading.

Services that keep aggregates of their own beside the cases (``WaterMeterService``,
``HolidayService``, ``MarketService``) share three things: only the town's clerks and
supervisors serving the service (and the system, for the scheduler's rounds) act on them,
another town's record does not exist for them, and a record is loaded by its id and type,
else reported as not found in the service's own words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case import check_acts_for
from domain.errors import InvalidCommand
from domain.teams import check_serves

STAFF_ROLES: Final = (Role.CLERK, Role.SUPERVISOR)

A = TypeVar("A", bound=Aggregate)


def town_of(actor: Actor) -> str:
    """The town a member of staff acts for: the delegating one, else their own."""
    return actor.on_behalf_of or actor.tenant


def sees_town(actor: Actor, tenant: str) -> bool:
    """Whether a record of ``tenant`` exists for the actor: one of the town they act for
    (their own or the delegating one), or any for the system; another town's is not found."""
    return actor.role is Role.SYSTEM or tenant in (actor.tenant, actor.on_behalf_of)


def check_keeps_records(actor: Actor, tenant: str, service: str, refusal: str) -> None:
    """The actor is the town's clerk or supervisor serving ``service``, or the system (else
    refused naming ``actor`` with ``refusal``, or as the tenant and team checks refuse)."""
    if actor.role not in (*STAFF_ROLES, Role.SYSTEM):
        raise InvalidCommand("actor", refusal)
    check_acts_for(actor, tenant)
    check_serves(actor, tenant, service)


def stored(store: VorgangStore, aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate of this id if it is stored and of this type, else None."""
    try:
        found: Aggregate = store.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, kind) else None


def stored_or(
    store: VorgangStore, aggregate_id: UUID, kind: type[A], not_found: Callable[[], Exception]
) -> A:
    """The aggregate of this id and type; else the service's ``not_found()`` is raised."""
    found = stored(store, aggregate_id, kind)
    if found is None:
        raise not_found()
    return found


__all__ = [
    "STAFF_ROLES",
    "check_keeps_records",
    "sees_town",
    "stored",
    "stored_or",
    "town_of",
]

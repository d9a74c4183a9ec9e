"""Aggregates that cases share, loaded for a step or a submission that changes them.

A step of one case may change aggregates other cases share: the holdings of resident
parking, a grave, a town's register of dogs, a water meter. Each is found by its type and
either a key of its town (``keyed``: the id is keyed so the key itself is never stored) or
an id derived from public facts (``identified``: a grave's address, a meter's number); when
none is stored yet, ``start`` makes it. Whatever is changed is saved with the case in one
atomic save by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.errors import CaseNotFound
from application.identities import CaseIdentities
from application.store import VorgangStore

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True, slots=True)
class SharedInStore:
    """Shared aggregates as the store holds them (``domain.commands.SharedAggregates``)."""

    store: VorgangStore
    identities: CaseIdentities

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        """The town's aggregate of this type and key (ids keyed so the key is never stored)."""
        aggregate_id = self.identities.keyed_id(
            aggregate_type=aggregate_type.__name__, tenant=tenant, key=key
        )
        return self.identified(aggregate_type, aggregate_id, start)

    def key_of(self, tenant: str, kind: str, key: str) -> UUID:
        """The town's keyed id of a personal identifier of a kind (never stored itself)."""
        return self.identities.keyed_id(aggregate_type=kind, tenant=tenant, key=key)

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        """The aggregate of this type and id (an id derived from public facts, e.g. a grave's)."""
        try:
            found: Aggregate = self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return start(aggregate_id)
        if not isinstance(found, aggregate_type):
            raise CaseNotFound(aggregate_id)
        return found

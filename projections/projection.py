"""What a projection is: a named, versioned view with its tables, topics and batch apply."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol

from persistence.chain import StoredRecord
from projections.view_store import ViewTransaction


@dataclass(frozen=True, slots=True)
class Applied:
    """An event with its log position, as a projection receives it."""

    position: int
    event: DomainEventProtocol[Any]


class Projection(ABC):
    """A read model: tables of its own, fed in batches of events in log order."""

    name: ClassVar[str]
    version: ClassVar[int]
    shadow: str = ""  # set on a copy being rebuilt side by side: its tables get this suffix

    @property
    def key(self) -> str:
        """Name and version: a new version is a new view, rebuilt from the log."""
        return f"{self.name}_v{self.version}{self.shadow}"

    @property
    def table(self) -> str:
        """The view's (main) table: its key, so each version has tables of its own."""
        return self.key

    def tables(self) -> list[str]:
        """The view's tables (a rebuild swaps them all at once): by default its one table."""
        return [self.table]

    @abstractmethod
    def create_tables(self, tx: ViewTransaction) -> None:
        """Create the view's tables and indexes if they do not exist."""

    @abstractmethod
    def topics(self) -> list[str]:
        """The event topics it reads, derived from the event classes."""

    @abstractmethod
    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Apply a batch of events with set-based writes, inside the caller's transaction."""

    def fill_begins(self) -> None:
        """A rebuild starts filling this copy from the log, which nobody else writes or reads.

        Until ``fill_ends`` the copy may keep state that later batches read in memory
        (bounded) instead of writing it back with every batch: the copy is only read once
        the fill has ended, and a rebuild that fails is never resumed. By default nothing
        is kept.
        """
        return

    def fill_ends(self, tx: ViewTransaction) -> None:
        """Write back whatever the fill kept in memory; from here on, every batch writes all."""
        return


class RecordProjection(Projection):
    """A view of the stored records themselves, never decoded: every topic, the bytes as stored.

    The runner hands it ``StoredRecord`` values (position, topic, originator, version and
    the state exactly as stored) instead of events; the hash chain over the log is one
    (docs/architecture.md, decision 35). A rebuild would recompute it from the records as
    they are now, so it is never rebuilt.
    """

    rebuildable: ClassVar[bool] = False

    def topics(self) -> list[str]:
        """Every topic: no filter."""
        return []

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Never called: the runner calls ``apply_records``."""
        raise TypeError(f"{self.name} reads stored records, not events")

    @abstractmethod
    def apply_records(self, tx: ViewTransaction, records: Sequence[StoredRecord]) -> None:
        """Apply a batch of stored records in log order, inside the caller's transaction."""

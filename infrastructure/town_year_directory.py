"""What the public lists of a town's year read: a view caught up with the log, or the log.

A town's markets and its holiday offerings are listed publicly per year and offered as the
catalogue's example (one open now). Both are read by index from their view instead of
replaying the town's register of the year and every listed aggregate (which holds an event
per application or registration). A view behind the log would miss one just published, or
count an application less; so the directory first waits (bounded) for the view to reach
the log's head, and where it does not in time it answers from the aggregates themselves:
slower, never wrong.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Generic, Protocol, TypeVar

from application.store import VorgangStore
from domain.working_days import berlin_date
from infrastructure.projection_host import ProjectionHost
from infrastructure.view_database import ViewDatabase

CATCH_UP_SECONDS: Final = 5.0  # then the aggregates themselves answer

Summary = TypeVar("Summary", covariant=True)


class InTheLog(Protocol[Summary]):
    """The same answers from the aggregates in the log (where the view is not in time)."""

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's year as everybody reads it, in the order published."""
        ...

    def open_in(self, tenant: str, at: datetime) -> Sequence[Summary]:
        """What is open at ``at`` (this year's and the next's)."""
        ...


class TownYearDirectory(ABC, Generic[Summary]):
    """A town's listings of a year from a view, caught up with the log first."""

    view_name: str  # the projection the rows come from

    def __init__(
        self,
        store: VorgangStore,
        views: ViewDatabase,
        projections: ProjectionHost,
        in_the_log: InTheLog[Summary],
    ) -> None:
        self.views = views
        self.store = store
        self.projections = projections
        self.in_the_log = in_the_log

    @abstractmethod
    def rows_of(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The view's rows of the town's year."""

    @abstractmethod
    def public_view(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A row as the application's public view shows it."""

    @abstractmethod
    def is_open(self, row: dict[str, Any], at: datetime) -> bool:
        """Whether a row is open at ``at`` (applications or registrations taken)."""

    @abstractmethod
    def summary(self, row: dict[str, Any]) -> Summary:
        """A row open now as the catalogue's example needs it."""

    def caught_up(self) -> bool:
        """Whether the view reached the log's head (as of now) in time."""
        return self.projections.caught_up(self.view_name, CATCH_UP_SECONDS)

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's year in the order published, as everybody reads it."""
        if not self.caught_up():
            return self.in_the_log.listed(tenant, year, now)
        rows = self.rows_of(tenant, year, now)
        rows.sort(key=lambda row: row["published_position"])
        return [self.public_view(row, now) for row in rows]

    def open_in(self, tenant: str, at: datetime) -> list[Summary]:
        """What is open at ``at``, this year's and the next's, at its version now."""
        if not self.caught_up():
            return list(self.in_the_log.open_in(tenant, at))
        year = berlin_date(at).year
        rows = (*self.rows_of(tenant, year, at), *self.rows_of(tenant, year + 1, at))
        return [self.summary(row) for row in rows if self.is_open(row, at)]

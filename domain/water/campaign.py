"""A town's reading campaign of a year: its start, its deadline, its estimates, its close.

Each year the water supply asks every customer for the meter's reading (Ablesung, § 20 (1)
AVBWasserV) between the campaign's start and its deadline. A reading answers the town's open
campaign it falls in (``WaterMeter.record_reported`` records the campaign's year); the
campaign itself is not written by readings, so the thousands of a campaign's last days never
wait for one another. After the deadline the meters still missing are estimated (§ 20 (2)
AVBWasserV), each in its meter's history; the campaign records each run of the estimates
(how many meters were estimated, how many could not be), then it is closed. What the
campaign counted (reported, flagged, estimated, missing) is a read model of the meters'
events. Its id is a UUIDv5 of the town and the year (``campaign_id``): public. It holds
no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidCommand
from domain.working_days import berlin_date

__all__ = ["EstimatesRun", "ReadingCampaign", "campaign_id"]


@dataclass(frozen=True, slots=True)
class EstimatesRun:
    """One run of the estimates: when, by whom, and how many meters it estimated."""

    at: datetime
    estimated: int
    not_estimable: int
    actor_id: str


def campaign_id(tenant: str, year: int) -> UUID:
    """The id of a town's reading campaign of a year (public: town and year alone)."""
    return uuid5(NAMESPACE_URL, f"vorgang:reading-campaign:{tenant}:{year}")


class ReadingCampaign(Aggregate):
    """One town's meter reading campaign of one year."""

    @classmethod
    def open(
        cls,
        *,
        tenant: str,
        year: int,
        starts_on: date,
        deadline: date,
        actor: Actor,
        at: datetime,
    ) -> ReadingCampaign:
        """A campaign that starts in its year, with a deadline after its start in that year or
        the next."""
        if starts_on.year != year:
            raise InvalidCommand("starts_on", f"a campaign of {year} starts in {year}")
        if deadline <= starts_on:
            raise InvalidCommand("deadline", "the deadline lies after the campaign's start")
        if deadline.year not in (year, year + 1):
            raise InvalidCommand("deadline", f"the deadline lies in {year} or {year + 1}")
        return cls(
            id=campaign_id(tenant, year),
            tenant=tenant,
            year=year,
            starts_on=starts_on,
            deadline=deadline,
            actor_id=actor.id,
            at=at,
        )

    class Opened(Aggregate.Created):
        """A campaign was opened with its start and deadline."""

        tenant: str
        year: int
        starts_on: date
        deadline: date
        actor_id: str
        at: datetime

    @event(Opened)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        year: int,
        starts_on: date,
        deadline: date,
        actor_id: str,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.year = year
        self.starts_on = starts_on
        self.deadline = deadline
        self.estimates: tuple[EstimatesRun, ...] = ()
        self.closed_at: datetime | None = None

    # -------------------------------------------------------------- queries

    @property
    def closed(self) -> bool:
        """Whether the campaign was closed (estimates are no longer made)."""
        return self.closed_at is not None

    @property
    def estimates_made_at(self) -> datetime | None:
        """When the estimates were last made, if ever."""
        return self.estimates[-1].at if self.estimates else None

    def takes_reading(self, read_on: date) -> bool:
        """Whether a reading of this day answers the campaign: open, and read from its start
        (a reading after the deadline is late but still answers it, until it is closed)."""
        return self.closed_at is None and read_on >= self.starts_on

    def _check_open(self) -> None:
        if self.closed_at is not None:
            raise InvalidCommand("campaign", f"the campaign of {self.year} is closed")

    def _check_deadline_passed(self, at: datetime, command: str) -> None:
        if berlin_date(at) <= self.deadline:
            raise InvalidCommand("deadline", f"{command} after the deadline, {self.deadline}")

    # -------------------------------------------------------------- commands

    def record_estimates(
        self, *, estimated: int, not_estimable: int, actor: Actor, at: datetime
    ) -> None:
        """Record a run of the estimates after the deadline: how many meters were estimated
        and how many could not be (nothing to estimate from); refused before the deadline and
        once closed. A later run (a meter installed late, a run cut short) is recorded too."""
        self._check_open()
        self._check_deadline_passed(at, "meters are estimated")
        if estimated < 0 or not_estimable < 0:
            raise InvalidCommand("estimated", "counts of meters are not negative")
        self._estimates_made(
            estimated=estimated, not_estimable=not_estimable, actor_id=actor.id, at=at
        )

    class EstimatesMade(Aggregate.Event):
        """The meters without a reading were estimated after the deadline (one run)."""

        estimated: int
        not_estimable: int
        actor_id: str
        at: datetime

    @event(EstimatesMade)
    def _estimates_made(
        self, *, estimated: int, not_estimable: int, actor_id: str, at: datetime
    ) -> None:
        self.estimates = (*self.estimates, EstimatesRun(at, estimated, not_estimable, actor_id))

    def close(self, *, actor: Actor, at: datetime) -> None:
        """Close the campaign after its deadline: readings after it answer no campaign."""
        self._check_open()
        self._check_deadline_passed(at, "a campaign is closed")
        self._closed(actor_id=actor.id, at=at)

    class Closed(Aggregate.Event):
        """The campaign was closed."""

        actor_id: str
        at: datetime

    @event(Closed)
    def _closed(self, *, actor_id: str, at: datetime) -> None:
        self.closed_at = at

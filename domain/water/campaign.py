"""A town's reading campaign of a year: its start, its deadline and what it counted.

Each year the water supply asks every customer for the meter's reading (Ablesung, § 20 (1)
AVBWasserV) between the campaign's start and its deadline. A reading case notes each
accepted reading here (flagged or not); after the deadline the meters still missing are
estimated (§ 20 (2) AVBWasserV) and noted as such; then the campaign is closed and takes no
more notes. Its id is a UUIDv5 of the town and the year (``campaign_id``): public.

The campaign counts meters, not notes: a meter is reported (its latest note says whether
it was flagged) or estimated, never both: a reading reported late, after its estimate,
counts the meter as reported. The campaign holds meter and case ids only: no personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidCommand
from domain.working_days import berlin_date

__all__ = ["ReadingCampaign", "campaign_id"]


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
        self.reported: dict[UUID, UUID] = {}  # meter: the case of its latest reading
        self.flagged: frozenset[UUID] = frozenset()  # meters whose latest reading was flagged
        self.estimated: frozenset[UUID] = frozenset()
        self.closed_at: datetime | None = None

    # -------------------------------------------------------------- counts

    @property
    def closed(self) -> bool:
        """Whether the campaign was closed (it takes no more notes)."""
        return self.closed_at is not None

    @property
    def reported_count(self) -> int:
        """How many meters a reading was reported for."""
        return len(self.reported)

    @property
    def flagged_count(self) -> int:
        """How many of those meters' latest reading was flagged for a clerk."""
        return len(self.flagged)

    @property
    def estimated_count(self) -> int:
        """How many meters were estimated (and not reported since)."""
        return len(self.estimated)

    def _check_open(self) -> None:
        if self.closed_at is not None:
            raise InvalidCommand("campaign", f"the campaign of {self.year} is closed")

    def _check_deadline_passed(self, at: datetime, command: str) -> None:
        if berlin_date(at) <= self.deadline:
            raise InvalidCommand("deadline", f"{command} after the deadline, {self.deadline}")

    # -------------------------------------------------------------- notes

    def note_reported(
        self, *, meter_id: UUID, case_id: UUID, flagged: bool, actor: Actor, at: datetime
    ) -> None:
        """Count a meter's accepted reading, flagged for a clerk or not; refused once closed."""
        self._check_open()
        self._reading_noted(
            meter_id=meter_id, case_id=case_id, flagged=flagged, actor_id=actor.id, at=at
        )

    class ReadingNoted(Aggregate.Event):
        """A meter's reading was accepted in the campaign."""

        meter_id: UUID
        case_id: UUID
        flagged: bool
        actor_id: str
        at: datetime

    @event(ReadingNoted)
    def _reading_noted(
        self, *, meter_id: UUID, case_id: UUID, flagged: bool, actor_id: str, at: datetime
    ) -> None:
        self.reported = {**self.reported, meter_id: case_id}
        self.flagged = self.flagged | {meter_id} if flagged else self.flagged - {meter_id}
        self.estimated = self.estimated - {meter_id}

    def note_estimated(self, *, meter_id: UUID, actor: Actor, at: datetime) -> None:
        """Count a meter estimated after the deadline; refused before it, once closed, and for
        a meter reported or estimated already."""
        self._check_open()
        self._check_deadline_passed(at, "meters are estimated")
        if meter_id in self.reported:
            raise InvalidCommand("meter", "a reading of the meter was reported")
        if meter_id in self.estimated:
            raise InvalidCommand("meter", "the meter is estimated already")
        self._estimate_noted(meter_id=meter_id, actor_id=actor.id, at=at)

    class EstimateNoted(Aggregate.Event):
        """A meter without a reading was estimated after the deadline."""

        meter_id: UUID
        actor_id: str
        at: datetime

    @event(EstimateNoted)
    def _estimate_noted(self, *, meter_id: UUID, actor_id: str, at: datetime) -> None:
        self.estimated = self.estimated | {meter_id}

    def close(self, *, actor: Actor, at: datetime) -> None:
        """Close the campaign after its deadline; it takes no more notes."""
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

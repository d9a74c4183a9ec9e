"""Teams as the application uses them: the towns' rosters, and a person's services.

A request's actor names their teams (from the identity provider); ``resolve`` adds the
services those teams handle in the roster of each town the person acts for, so the case
can refuse anything else. Rosters are read from the store and kept for a few seconds; a
change made in this process is seen at once, one made in another within that time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.errors import ConcurrentUpdate
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.services.catalogue import SERVICES
from domain.team_roster import TeamRoster
from domain.teams import DEFAULT_TEAMS, Team, services_served, teams_claimed
from domain.tenants import tenant as tenant_by_id

CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class RosterChange:
    """One change of a roster, for the history an auditor reads."""

    version: int
    type: str
    at: Any
    actor_id: str
    details: dict[str, Any]


class TeamDirectory:
    """The rosters of the towns, and what a member of staff serves."""

    def __init__(self, store: VorgangStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._cache: dict[str, tuple[float, tuple[Team, ...]]] = {}
        self._lock = threading.Lock()

    def teams_of(self, tenant: str) -> tuple[Team, ...]:
        """A town's teams: its roster, or the default configuration until it has one."""
        with self._lock:
            cached = self._cache.get(tenant)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        roster = self._roster(tenant)
        teams = tuple(roster.teams.values()) if roster else DEFAULT_TEAMS.get(tenant, ())
        with self._lock:
            self._cache[tenant] = (time.monotonic(), teams)
        return teams

    def resolve(self, actor: Actor) -> Actor:
        """The actor with their teams and the services those handle (unchanged without).

        A claim naming teams none of which is a team of a town the person acts for
        resolves to no team and no service: they act on no case (fail closed).
        """
        claim = actor.team_claim or actor.teams
        if not actor.acts_as(Role.CLERK, Role.SUPERVISOR) or not claim:
            return actor
        rosters = {t: self.teams_of(t) for t in (actor.tenant, actor.on_behalf_of) if t}
        named = teams_claimed(claim, rosters)
        serves = frozenset().union(
            *(services_served(rosters[town], ids) for town, ids in named.items())
        )
        teams = frozenset().union(*named.values())
        return replace(actor, teams=teams, serves=serves, team_claim=frozenset(claim))

    def configure(self, team: Team, *, actor: Actor, reason: str) -> tuple[Team, ...]:
        """Form a team or change what it handles; return the town's teams after."""
        return self._change(
            actor,
            lambda r: r.configure(
                team, actor=actor, at=self.clock.now(), reason=reason, required_services=SERVICES
            ),
        )

    def dissolve(self, team_id: str, *, actor: Actor, reason: str) -> tuple[Team, ...]:
        """Dissolve a team; return the town's teams after."""
        return self._change(
            actor,
            lambda r: r.dissolve(
                team_id, actor=actor, at=self.clock.now(), reason=reason, required_services=SERVICES
            ),
        )

    def history(self, tenant: str) -> list[RosterChange]:
        """Every change of the town's roster: what, when, by whom (reasons included)."""
        changes = []
        for stored in self.store.events.get(TeamRoster.id_for(tenant)):
            attributes = vars(stored)
            actor = attributes.get("actor")
            details = {
                k: v
                for k, v in attributes.items()
                if k not in ("originator_id", "originator_version", "timestamp", "actor", "at")
            }
            changes.append(
                RosterChange(
                    version=stored.originator_version,
                    type=type(stored).__name__,
                    at=attributes.get("at", attributes.get("timestamp")),
                    actor_id=actor.id if actor is not None else "system",
                    details=details,
                )
            )
        return changes

    def _roster(self, tenant: str) -> TeamRoster | None:
        try:
            roster: Any = self.store.repository.get(TeamRoster.id_for(tenant))
        except AggregateNotFoundError:
            return None
        assert isinstance(roster, TeamRoster)
        return roster

    def _change(self, actor: Actor, change: Any) -> tuple[Team, ...]:
        tenant_by_id(actor.tenant)
        roster = self._roster(actor.tenant) or TeamRoster.start(actor.tenant)
        change(roster)
        try:
            self.store.save(roster)
        except IntegrityError:
            raise ConcurrentUpdate(roster.id) from None
        teams = tuple(roster.teams.values())
        with self._lock:
            self._cache[actor.tenant] = (time.monotonic(), teams)
        return teams

"""A town's roster: its teams and the services each handles, kept by its administrators.

One roster per town, started from the default configuration the first time an
administrator changes it. Every change is an event naming who, when and why. A change that
would leave a service of the catalogue without a team is refused: someone must always be
able to process every application the town accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role
from domain.case import clean_text
from domain.errors import InvalidCommand, WrongTenant
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.teams import DEFAULT_TEAMS, EVERY_SERVICE, Team
from domain.tenants import tenant as tenant_by_id

_NAMESPACE = uuid5(NAMESPACE_URL, "https://vorgang.example/team-roster")
TEAM_ID = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def team_as_dict(team: Team) -> dict[str, Any]:
    """A team as an event records it."""
    return {
        "id": team.id,
        "label_de": team.label_de,
        "label_en": team.label_en,
        "services": sorted(team.services),
    }


def team_from(recorded: dict[str, Any]) -> Team:
    """A team from an event."""
    return Team(
        recorded["id"],
        recorded["label_de"],
        recorded["label_en"],
        frozenset(recorded["services"]),
    )


class TeamRoster(Aggregate):
    """The teams of one town and the services each handles."""

    @staticmethod
    def id_for(tenant: str) -> UUID:
        """The roster's id: one per town."""
        return uuid5(_NAMESPACE, tenant)

    class Started(Aggregate.Created):
        """The town's roster, started from the default configuration."""

        tenant: str
        teams: list[dict[str, Any]]

    @event(Started)
    def __init__(self, *, id: UUID, tenant: str, teams: list[dict[str, Any]]) -> None:
        self.tenant = tenant
        self.teams = {t["id"]: team_from(t) for t in teams}

    @classmethod
    def start(cls, tenant: str) -> TeamRoster:
        """The town's roster as the default configuration has it."""
        tenant_by_id(tenant)
        defaults = [team_as_dict(t) for t in DEFAULT_TEAMS.get(tenant, ())]
        return cls(id=cls.id_for(tenant), tenant=tenant, teams=defaults)

    # ----------------------------------------------------------------- commands

    def configure(
        self,
        team: Team,
        *,
        actor: Actor,
        at: datetime,
        reason: str,
        required_services: Iterable[str],
    ) -> None:
        """Form a team or change what it handles; every required service stays handled."""
        self._check_admin(actor)
        if not TEAM_ID.match(team.id):
            raise InvalidCommand("team_id", "lowercase letters, digits and hyphens, 2-40 long")
        if not team.services:
            raise InvalidCommand("services", "a team handles at least one service")
        unknown = sorted(set(team.services) - set(required_services) - {EVERY_SERVICE})
        if unknown:
            raise InvalidCommand("services", f"not services of the catalogue: {', '.join(unknown)}")
        if self.teams.get(team.id) == team:
            raise InvalidCommand("services", f"team {team.id} is configured like this already")
        after = {**self.teams, team.id: team}
        self._check_coverage(after.values(), required_services, "services")
        self._team_configured(
            actor=actor.acting_in((Role.ADMIN,)).recorded_in(self.id),
            at=at,
            team=team_as_dict(team),
            reason=self._reason(reason),
        )

    class TeamConfigured(Aggregate.Event):
        """A team was formed or now handles other services."""

        actor: ActorRecord
        at: datetime
        team: dict[str, Any]
        reason: PersonalValue

    @event(TeamConfigured)
    def _team_configured(
        self, *, actor: ActorRecord, at: datetime, team: dict[str, Any], reason: PersonalValue
    ) -> None:
        self.teams = {**self.teams, team["id"]: team_from(team)}

    def dissolve(
        self,
        team_id: str,
        *,
        actor: Actor,
        at: datetime,
        reason: str,
        required_services: Iterable[str],
    ) -> None:
        """Dissolve a team, unless a service would be left without one."""
        self._check_admin(actor)
        if team_id not in self.teams:
            raise InvalidCommand("team_id", f"{self.tenant} has no team {team_id}")
        after = {k: v for k, v in self.teams.items() if k != team_id}
        self._check_coverage(after.values(), required_services, "team_id")
        self._team_dissolved(
            actor=actor.acting_in((Role.ADMIN,)).recorded_in(self.id),
            at=at,
            team_id=team_id,
            reason=self._reason(reason),
        )

    class TeamDissolved(Aggregate.Event):
        """A team was dissolved; every service stays handled."""

        actor: ActorRecord
        at: datetime
        team_id: str
        reason: PersonalValue

    @event(TeamDissolved)
    def _team_dissolved(
        self, *, actor: ActorRecord, at: datetime, team_id: str, reason: PersonalValue
    ) -> None:
        self.teams = {k: v for k, v in self.teams.items() if k != team_id}

    # ----------------------------------------------------------------- guards

    def _check_admin(self, actor: Actor) -> None:
        if not actor.acts_as(Role.ADMIN):
            raise InvalidCommand("actor", "only an administrator of the town changes its teams")
        if actor.tenant != self.tenant:
            raise WrongTenant(actor.tenant, self.tenant)

    def _reason(self, reason: str) -> PersonalValue:
        return PersonalData(
            case_id=self.id, subject=Subjects.CASE_TEXT, value=clean_text(reason, "reason")
        )

    @staticmethod
    def _check_coverage(teams: Iterable[Team], required: Iterable[str], field: str) -> None:
        teams = list(teams)
        orphaned = sorted(s for s in required if not any(t.handles(s) for t in teams))
        if orphaned:
            raise InvalidCommand(field, f"no team would handle {', '.join(orphaned)}")
